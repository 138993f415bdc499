/* Hostile bytes in the configuration file: each class is refused with the
 * file, line and what was wrong; well-formed UTF-8 in comments is fine. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/config.h"

static void expect_error(const char *text, size_t len, unsigned line, const char *msg)
{
    ofm_config c;
    ofm_config_defaults(&c);
    ofm_error e;
    assert_int_equal(ofm_config_parse(text, len, "fabricmanager.cfg", &c, &e), -1);
    if (e.line != line || strcmp(e.msg, msg))
        fail_msg("got %u '%s', want %u '%s'", e.line, e.msg, line, msg);
    assert_string_equal(e.origin, "fabricmanager.cfg");
    char buf[700];
    char want[300];
    snprintf(want, sizeof want, "fabricmanager.cfg:%u: %s", line, msg);
    assert_string_equal(ofm_error_format(&e, buf, sizeof buf), want);
}

static void test_non_utf8(void **state)
{
    (void)state;
    const char latin1[] = "# ok\nLOG_FILE_NAME=/var/log/fm\xe9.log\n";
    expect_error(latin1, sizeof latin1 - 1, 2, "invalid UTF-8 byte 0xe9 at column 26");
    const char overlong[] = "\xc0\xaf\n";
    expect_error(overlong, sizeof overlong - 1, 1, "invalid UTF-8 byte 0xc0 at column 1");
    const char surrogate[] = "# \xed\xa0\x80\n";
    expect_error(surrogate, sizeof surrogate - 1, 1, "invalid UTF-8 byte 0xed at column 3");
    const char truncated[] = "LOG_LEVEL=4\n# \xe2\x82";
    expect_error(truncated, sizeof truncated - 1, 2, "invalid UTF-8 byte 0xe2 at column 3");
    /* valid multi-byte text in a comment is accepted */
    const char ok[] = "# Fabric Manager 配置 \xe2\x82\xac \xf0\x9f\x98\x80\nLOG_LEVEL=3\n";
    ofm_config c;
    ofm_config_defaults(&c);
    ofm_error e;
    assert_int_equal(ofm_config_parse(ok, sizeof ok - 1, "fabricmanager.cfg", &c, &e), 0);
    assert_int_equal(c.log_level, 3);
}

static void test_long_line_and_controls(void **state)
{
    (void)state;
    char text[1100];
    memset(text, '#', sizeof text);
    memcpy(text, "LOG_LEVEL=4\n", 12);
    text[sizeof text - 1] = '\n';
    expect_error(text, sizeof text, 2, "line longer than 1023 characters");
    const char tab[] = "LOG_FILE_NAME=/tmp/a\x01" "b\n";
    expect_error(tab, sizeof tab - 1, 1, "LOG_FILE_NAME: control character in value");
    const char key_only_spaces[] = "   =  4\n";
    expect_error(key_only_spaces, sizeof key_only_spaces - 1, 1, "missing key before '='");
}

static void test_empty_and_blank(void **state)
{
    (void)state;
    ofm_config a, b;
    ofm_config_defaults(&a);
    ofm_config_defaults(&b);
    ofm_error e;
    const char blank[] = "\n\n   \n\t\n# only comments\r\n";
    assert_int_equal(ofm_config_parse(blank, sizeof blank - 1, "x.cfg", &b, &e), 0);
    assert_memory_equal(&a, &b, sizeof a);
    /* a last line without a newline still counts */
    const char last[] = "FABRIC_MODE=2";
    assert_int_equal(ofm_config_parse(last, sizeof last - 1, "x.cfg", &b, &e), 0);
    assert_int_equal(b.fabric_mode, 2);
    /* an empty value clears a path (log to stderr) */
    ofm_config_defaults(&b);
    const char empty[] = "LOG_FILE_NAME=\n";
    assert_int_equal(ofm_config_parse(empty, sizeof empty - 1, "x.cfg", &b, &e), 0);
    assert_string_equal(b.log_file_name, "");
}

/* Command-line overrides go through the same validation. */
static void test_set_validates(void **state)
{
    (void)state;
    ofm_config c;
    ofm_config_defaults(&c);
    ofm_error e;
    assert_int_equal(ofm_config_set(&c, "OPENFM_EMU_DIR", "/tmp/emu", &e), 0);
    assert_string_equal(c.emu_dir, "/tmp/emu");
    char longp[300];
    memset(longp, 'x', sizeof longp - 1);
    longp[0] = '/';
    longp[sizeof longp - 1] = '\0';
    assert_int_equal(ofm_config_set(&c, "OPENFM_EMU_DIR", longp, &e), -1);
    assert_string_equal(e.msg, "OPENFM_EMU_DIR: value is longer than 256 characters");
    assert_string_equal(c.emu_dir, "/tmp/emu");
    assert_int_equal(ofm_config_set(&c, "NO_SUCH_KEY", "1", &e), -1);
    assert_string_equal(e.msg, "unknown key 'NO_SUCH_KEY'");
}

/* Every key of the table has a parseable default, a doc line, and a
 * non-colliding name (NVIDIA's keys, or openfm's own OPENFM_ prefix). */
static void test_table_consistent(void **state)
{
    (void)state;
    size_t n;
    const ofm_cfg_key *k = ofm_config_keys(&n);
    assert_true(n >= 29);
    for (size_t i = 0; i < n; i++) {
        ofm_config c;
        ofm_config_defaults(&c);
        ofm_error e;
        if (ofm_config_set(&c, k[i].key, k[i].def, &e))
            fail_msg("%s: default '%s' rejected: %s", k[i].key, k[i].def, e.msg);
        assert_true(k[i].doc && *k[i].doc);
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(k[i].key, k[j].key);
    }
}

/* docs/configuration.md has a row for every key, with its default. */
static void test_documented(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s/docs/configuration.md", getenv("OPENFM_SOURCE_DIR"));
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char text[1 << 16];
    size_t len = fread(text, 1, sizeof text - 1, f);
    text[len] = '\0';
    fclose(f);
    size_t n;
    const ofm_cfg_key *k = ofm_config_keys(&n);
    for (size_t i = 0; i < n; i++) {
        char row[128], def[300];
        snprintf(row, sizeof row, "| `%s` |", k[i].key);
        const char *at = strstr(text, row);
        if (!at)
            fail_msg("%s is not documented in docs/configuration.md", k[i].key);
        const char *eol = strchr(at, '\n');
        if (k[i].def[0])
            snprintf(def, sizeof def, "| `%s` |", k[i].def);
        else
            snprintf(def, sizeof def, "| (empty) |");
        const char *d = strstr(at, def);
        if (!d || (eol && d > eol))
            fail_msg("%s: default '%s' not in its docs/configuration.md row", k[i].key, k[i].def);
    }
}

static void test_absolute_paths(void **state)
{
    (void)state;
    ofm_config c;
    ofm_config_defaults(&c);
    ofm_error e;
    assert_int_equal(ofm_config_set(&c, "LOG_FILE_NAME", "logs/fm.log", &e), 0);
    assert_int_equal(ofm_config_set(&c, "OPENFM_EMU_DIR", "emu", &e), 0);
    assert_int_equal(ofm_config_set(&c, "OPENFM_EMULATE", "hgx-h100", &e), 0);
    assert_int_equal(ofm_config_absolute_paths(&c, "/srv/fm", &e), 0);
    assert_string_equal(c.log_file_name, "/srv/fm/logs/fm.log");
    assert_string_equal(c.emu_dir, "/srv/fm/emu");
    assert_string_equal(c.emulate, "hgx-h100");            /* a platform name stays */
    assert_string_equal(c.state_file_name, "/tmp/fabricmanager.state"); /* absolute stays */
    assert_string_equal(c.fm_cmd_unix_socket_path, "");     /* empty stays */
    assert_int_equal(ofm_config_set(&c, "OPENFM_EMULATE", "topo/x.topo", &e), 0);
    assert_int_equal(ofm_config_absolute_paths(&c, "/srv/fm", &e), 0);
    assert_string_equal(c.emulate, "/srv/fm/topo/x.topo");
    /* too long once absolute: refused, naming the key */
    char cwd[300];
    memset(cwd, 'd', sizeof cwd - 1);
    cwd[0] = '/';
    cwd[sizeof cwd - 1] = '\0';
    assert_int_equal(ofm_config_set(&c, "OPENFM_PID_FILE", "fm.pid", &e), 0);
    assert_int_equal(ofm_config_absolute_paths(&c, cwd, &e), -1);
    assert_non_null(strstr(e.msg, "OPENFM_PID_FILE: relative path 'fm.pid' is longer than 256"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_non_utf8),
        cmocka_unit_test(test_long_line_and_controls),
        cmocka_unit_test(test_empty_and_blank),
        cmocka_unit_test(test_set_validates),
        cmocka_unit_test(test_table_consistent),
        cmocka_unit_test(test_documented),
        cmocka_unit_test(test_absolute_paths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
