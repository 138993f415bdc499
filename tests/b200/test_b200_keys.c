/* FM_SM_IPC_INTERFACE and FM_SM_MGMT_PORT_GUID: parsed and validated through
 * the key table, overridden by -g, checked by `openfm -n`, and at start-up
 * said to apply on HGX B200 (where TOPOLOGY_FILE_PATH, BIND_INTERFACE_IP,
 * STARTING_TCP_PORT and UNIX_SOCKET_PATH are said not to) and to be inert
 * elsewhere. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/config.h"
#include "daemon_harness.h"

static void test_parse(void **s)
{
    (void)s;
    ofm_config c;
    ofm_config_defaults(&c);
    assert_string_equal(c.fm_sm_ipc_interface, "/var/run/nvidia-fabricmanager/fm_sm_ipc.socket");
    assert_true(c.fm_sm_mgmt_port_guid == 0);
    ofm_error e;
    const char ok[] = "FM_SM_IPC_INTERFACE=192.168.0.7:6000\nFM_SM_MGMT_PORT_GUID=0x7C8C0903005c5a00\n";
    assert_int_equal(ofm_config_parse(ok, sizeof ok - 1, "fm.cfg", &c, &e), 0);
    assert_string_equal(c.fm_sm_ipc_interface, "192.168.0.7:6000");
    assert_true(c.fm_sm_mgmt_port_guid == 0x7c8c0903005c5a00ull);
    assert_int_equal(ofm_config_set(&c, "FM_SM_MGMT_PORT_GUID", "ffffffffffffffff", &e), 0);
    assert_true(c.fm_sm_mgmt_port_guid == UINT64_MAX);
    assert_int_equal(ofm_config_set(&c, "FM_SM_IPC_INTERFACE", "/run/x.sock", &e), 0);

    static const struct {
        const char *line, *msg;
    } bad[] = {
        {"FM_SM_IPC_INTERFACE=", "FM_SM_IPC_INTERFACE: value '' is neither an absolute Unix socket "
                                 "path nor IPV4:PORT"},
        {"FM_SM_IPC_INTERFACE=fm.sock", "FM_SM_IPC_INTERFACE: value 'fm.sock' is neither an absolute "
                                        "Unix socket path nor IPV4:PORT"},
        {"FM_SM_IPC_INTERFACE=10.0.0.300:80", "FM_SM_IPC_INTERFACE: value '10.0.0.300:80' is neither "
                                              "an absolute Unix socket path nor IPV4:PORT"},
        {"FM_SM_IPC_INTERFACE=10.0.0.1:0", "FM_SM_IPC_INTERFACE: value '10.0.0.1:0' has no TCP port "
                                           "1-65535 after the ':'"},
        {"FM_SM_IPC_INTERFACE=10.0.0.1:65536", "FM_SM_IPC_INTERFACE: value '10.0.0.1:65536' has no "
                                               "TCP port 1-65535 after the ':'"},
        {"FM_SM_IPC_INTERFACE=10.0.0.1:", "FM_SM_IPC_INTERFACE: value '10.0.0.1:' has no TCP port "
                                          "1-65535 after the ':'"},
        {"FM_SM_MGMT_PORT_GUID=", "FM_SM_MGMT_PORT_GUID: value '' is not a 64-bit hex GUID (0x and "
                                  "1-16 hex digits)"},
        {"FM_SM_MGMT_PORT_GUID=0x", "FM_SM_MGMT_PORT_GUID: value '0x' is not a 64-bit hex GUID (0x "
                                    "and 1-16 hex digits)"},
        {"FM_SM_MGMT_PORT_GUID=0x1ffffffffffffffff", "FM_SM_MGMT_PORT_GUID: value "
                                                     "'0x1ffffffffffffffff' is not a 64-bit hex GUID "
                                                     "(0x and 1-16 hex digits)"},
        {"FM_SM_MGMT_PORT_GUID=0xabg", "FM_SM_MGMT_PORT_GUID: value '0xabg' is not a 64-bit hex "
                                       "GUID (0x and 1-16 hex digits)"},
        {"FM_SM_MGMT_PORT_GUID=-1", "FM_SM_MGMT_PORT_GUID: value '-1' is not a 64-bit hex GUID (0x "
                                    "and 1-16 hex digits)"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[200];
        snprintf(text, sizeof text, "LOG_LEVEL=4\n%s\n", bad[i].line);
        ofm_config_defaults(&c);
        assert_int_equal(ofm_config_parse(text, strlen(text), "fm.cfg", &c, &e), -1);
        if (e.line != 2 || strcmp(e.msg, bad[i].msg))
            fail_msg("'%s': got line %u '%s', want line 2 '%s'", bad[i].line, e.line, e.msg,
                     bad[i].msg);
    }
    char longp[140] = "FM_SM_IPC_INTERFACE=/";
    memset(longp + strlen(longp), 'a', 108);
    ofm_config_defaults(&c);
    assert_int_equal(ofm_config_parse(longp, strlen(longp), "fm.cfg", &c, &e), -1);
    assert_non_null(strstr(e.msg, "is a Unix socket path longer than 107 characters"));
}

static char out[65536];

/* openfm -n names the keys' values and whether the platform uses them; a bad
 * -g is refused naming the value. */
static void test_check(void **s)
{
    (void)s;
    dh_daemon d;
    assert_int_equal(dh_init(&d, NULL), 0);
    char cfg[200], cmd[800];
    snprintf(cfg, sizeof cfg, "%s/b200.cfg", d.dir);
    FILE *f = fopen(cfg, "w");
    assert_non_null(f);
    fputs("FM_SM_IPC_INTERFACE=10.1.2.3:9000\n", f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "%s -n -c %s --emulate hgx-b200 -g 0x7c8c0903005c5a00 2>&1",
             dh_bin("openfm"), cfg);
    assert_int_equal(dh_run(cmd, out, sizeof out), 0);
    if (!strstr(out, "FM_SM_IPC_INTERFACE=10.1.2.3:9000 (TCP endpoint), "
                     "FM_SM_MGMT_PORT_GUID=0x7c8c0903005c5a00: apply on hgx-b200") ||
        !strstr(out, "TOPOLOGY_FILE_PATH, BIND_INTERFACE_IP, STARTING_TCP_PORT and "
                     "UNIX_SOCKET_PATH do not apply there"))
        fail_msg("openfm -n on hgx-b200 said:\n%s", out);
    snprintf(cmd, sizeof cmd, "%s -n -c %s --emulate hgx-h100 2>&1", dh_bin("openfm"), cfg);
    assert_int_equal(dh_run(cmd, out, sizeof out), 0);
    if (!strstr(out, "FM_SM_MGMT_PORT_GUID=0x0 (not set): inert on hgx-h100"))
        fail_msg("openfm -n on hgx-h100 said:\n%s", out);
    snprintf(cmd, sizeof cmd, "%s -n -c %s -g 0xnope 2>&1", dh_bin("openfm"), cfg);
    assert_int_equal(dh_run(cmd, out, sizeof out), 1);
    if (!strstr(out, "command line: FM_SM_MGMT_PORT_GUID: value '0xnope' is not a 64-bit hex GUID"))
        fail_msg("openfm -n -g 0xnope said:\n%s", out);
    f = fopen(cfg, "w");
    fputs("# B200\nFM_SM_IPC_INTERFACE=relative.sock\n", f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "%s -n -c %s 2>&1", dh_bin("openfm"), cfg);
    assert_int_equal(dh_run(cmd, out, sizeof out), 1);
    char want[300];
    snprintf(want, sizeof want, "%s:2: FM_SM_IPC_INTERFACE: value 'relative.sock' is neither", cfg);
    if (!strstr(out, want))
        fail_msg("openfm -n with a relative socket said:\n%s", out);
    dh_cleanup(&d);
}

static char *start_log(const char *platform, const char *extra, const char *const *args)
{
    dh_daemon d;
    assert_int_equal(dh_init(&d, platform), 0);
    assert_int_equal(dh_write_config(&d, extra), 0);
    int st = 0;
    if (dh_start(&d, args, 20000, &st))
        fail_msg("openfm did not become ready on %s (exit %d)", platform, st);
    assert_int_equal(dh_stop(&d, 0), 0);
    char *log = dh_read_log(&d);
    assert_non_null(log);
    dh_cleanup(&d);
    return log;
}

static void need(const char *log, const char *what)
{
    if (!strstr(log, what))
        fail_msg("log lacks '%s':\n%s", what, log);
}

static void test_startup_lines(void **s)
{
    (void)s;
    const char *args[] = {"-g", "0x1122334455667788", NULL};
    char *log = start_log("hgx-b200", "FM_SM_IPC_INTERFACE=127.0.0.1:7010\n", args);
    need(log, "FM_SM_IPC_INTERFACE=127.0.0.1:7010: applies on hgx-b200: the NVLink subnet "
              "manager's IPC TCP endpoint");
    need(log, "FM_SM_MGMT_PORT_GUID=0x1122334455667788: applies on hgx-b200: the NVSwitch "
              "management port to use");
    need(log, "TOPOLOGY_FILE_PATH=/usr/share/nvidia/nvswitch: accepted, does not apply: on "
              "hgx-b200 the fabric manager reaches the NVSwitches through the NVLink subnet manager");
    need(log, "BIND_INTERFACE_IP=127.0.0.1: accepted, does not apply: on hgx-b200");
    need(log, "STARTING_TCP_PORT=16000: accepted, does not apply: on hgx-b200");
    need(log, "UNIX_SOCKET_PATH=: accepted, does not apply: on hgx-b200");
    /* the classic reason for those keys is not given on B200 */
    assert_null(strstr(log, "BIND_INTERFACE_IP=127.0.0.1: accepted, not applicable to openfm"));
    free(log);

    log = start_log("hgx-h100", NULL, NULL);
    need(log, "FM_SM_IPC_INTERFACE=/var/run/nvidia-fabricmanager/fm_sm_ipc.socket: accepted, "
              "inert because hgx-h100's NVSwitches are managed by the fabric manager");
    need(log, "FM_SM_MGMT_PORT_GUID=0x0: accepted, inert because hgx-h100's");
    need(log, "BIND_INTERFACE_IP=127.0.0.1: accepted, not applicable to openfm because");
    assert_null(strstr(log, "does not apply: on"));
    free(log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_check),
        cmocka_unit_test(test_startup_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
