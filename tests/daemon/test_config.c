/* The configuration file: every key with its documented default, the shipped
 * file, and one case per class of malformed input with file, line and key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/config.h"

static void test_defaults(void **state)
{
    (void)state;
    ofm_config c, d;
    ofm_config_defaults(&c);
    /* the documented defaults of FM §2.11 and the shipped fabricmanager.cfg */
    assert_int_equal(c.log_level, 4);
    assert_string_equal(c.log_file_name, "/var/log/fabricmanager.log");
    assert_true(c.log_append);
    assert_int_equal(c.log_file_max_size_mb, 1024);
    assert_int_equal(c.log_max_rotate_count, 3);
    assert_false(c.log_use_syslog);
    assert_true(c.daemonize);
    assert_string_equal(c.bind_interface_ip, "127.0.0.1");
    assert_int_equal(c.starting_tcp_port, 16000);
    assert_string_equal(c.unix_socket_path, "");
    assert_int_equal(c.fabric_mode, 0);
    assert_false(c.fabric_mode_restart);
    assert_string_equal(c.state_file_name, "/tmp/fabricmanager.state");
    assert_string_equal(c.fm_cmd_bind_interface, "127.0.0.1");
    assert_int_equal(c.fm_cmd_port_number, 6666);
    assert_string_equal(c.fm_cmd_unix_socket_path, "");
    assert_false(c.fm_stay_resident_on_failures);
    assert_int_equal(c.access_link_failure_mode, 0);
    assert_int_equal(c.trunk_link_failure_mode, 0);
    assert_int_equal(c.nvswitch_failure_mode, 0);
    assert_true(c.abort_cuda_jobs_on_fm_exit);
    assert_string_equal(c.topology_file_path, "/usr/share/nvidia/nvswitch");
    assert_string_equal(c.database_path, "/usr/share/nvidia/nvswitch");
    assert_int_equal(c.restart_timeout_s, 60);
    /* an empty file changes nothing */
    ofm_config_defaults(&d);
    ofm_error e;
    assert_int_equal(ofm_config_parse("", 0, "empty.cfg", &d, &e), 0);
    assert_memory_equal(&c, &d, sizeof c);
    /* the shipped file spells out exactly the defaults */
    char path[512];
    snprintf(path, sizeof path, "%s/etc/fabricmanager.cfg", getenv("OPENFM_SOURCE_DIR"));
    ofm_config_defaults(&d);
    assert_int_equal(ofm_config_load_file(path, &d, &e), 0);
    assert_memory_equal(&c, &d, sizeof c);
    /* and every key of the table is in it */
    size_t n;
    const ofm_cfg_key *k = ofm_config_keys(&n);
    FILE *f = fopen(path, "r");
    static char text[65536];
    size_t len = fread(text, 1, sizeof text - 1, f);
    text[len] = '\0';
    fclose(f);
    for (size_t i = 0; i < n; i++) {
        char want[128];
        snprintf(want, sizeof want, "\n%s=%s\n", k[i].key, k[i].def);
        if (!strstr(text, want))
            fail_msg("%s missing from etc/fabricmanager.cfg", k[i].key);
    }
}

static void test_every_key_settable(void **state)
{
    (void)state;
    const char *text = "LOG_LEVEL=2\nFABRIC_MODE = 1\n  DAEMONIZE=0  \n# comment\n\n"
                       "FM_CMD_PORT_NUMBER=7000\nFM_CMD_BIND_INTERFACE=10.0.0.1\n"
                       "STATE_FILE_NAME=/var/tmp/x.state\nOPENFM_RESTART_TIMEOUT_S=1\r\n";
    ofm_config c;
    ofm_config_defaults(&c);
    ofm_error e;
    assert_int_equal(ofm_config_parse(text, strlen(text), "t.cfg", &c, &e), 0);
    assert_int_equal(c.log_level, 2);
    assert_int_equal(c.fabric_mode, 1);
    assert_false(c.daemonize);
    assert_int_equal(c.fm_cmd_port_number, 7000);
    assert_string_equal(c.fm_cmd_bind_interface, "10.0.0.1");
    assert_string_equal(c.state_file_name, "/var/tmp/x.state");
    assert_int_equal(c.restart_timeout_s, 1);
}

static const struct {
    const char *text;
    unsigned line;
    const char *msg;
} bad[] = {
    {"LOG_LEVEL=4\nLOG_LEVLE=3\n", 2, "unknown key 'LOG_LEVLE'"},
    {"LOG_LEVEL=9\n", 1, "LOG_LEVEL: value '9' out of range 0-4"},
    {"FABRIC_MODE=one\n", 1, "FABRIC_MODE: value 'one' is not a number"},
    {"FM_CMD_PORT_NUMBER=70000\n", 1, "FM_CMD_PORT_NUMBER: value '70000' out of range 0-65535"},
    {"DAEMONIZE=yes\n", 1, "DAEMONIZE: value 'yes' must be 0 or 1"},
    {"BIND_INTERFACE_IP=300.1.1.1\n", 1, "BIND_INTERFACE_IP: value '300.1.1.1' is not an IPv4 address"},
    {"DAEMONIZE=1\n# x\nDAEMONIZE=0\n", 3, "duplicate key 'DAEMONIZE' (first set on line 1)"},
    {"DAEMONIZE\n", 1, "expected KEY=VALUE, got 'DAEMONIZE'"},
    {"=1\n", 1, "missing key before '='"},
    {"LOG_LEVEL=-1\n", 1, "LOG_LEVEL: value '-1' is not a number"},
};

static void test_malformed(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ofm_config c;
        ofm_config_defaults(&c);
        ofm_error e;
        assert_int_equal(ofm_config_parse(bad[i].text, strlen(bad[i].text), "fm.cfg", &c, &e), -1);
        if (e.line != bad[i].line || strcmp(e.msg, bad[i].msg))
            fail_msg("case %zu: got %u '%s', want %u '%s'", i, e.line, e.msg, bad[i].line, bad[i].msg);
        assert_string_equal(e.origin, "fm.cfg");
    }
    ofm_config c;
    ofm_error e;
    char longv[600];
    memset(longv, 'a', sizeof longv);
    memcpy(longv, "LOG_FILE_NAME=/", 15);
    longv[sizeof longv - 1] = '\n';
    assert_int_equal(ofm_config_parse(longv, sizeof longv, "fm.cfg", &c, &e), -1);
    assert_string_equal(e.msg, "LOG_FILE_NAME: value is longer than 256 characters");
    const char nul[] = "LOG_LEVEL=4\0\n";
    assert_int_equal(ofm_config_parse(nul, sizeof nul - 1, "fm.cfg", &c, &e), -1);
    assert_string_equal(e.msg, "NUL byte in line");
    assert_int_equal(ofm_config_load_file("/nonexistent.cfg", &c, &e), -1);
    assert_string_equal(e.msg, "cannot open configuration file: No such file or directory");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_every_key_settable),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
