/* The installed layout NVIDIA's packages have, so existing units and scripts
 * run openfm unchanged: the nv-fabricmanager command (build tree and
 * installed link), the configuration read without -c (the guide's
 * /usr/share/nvidia/nvswitch/fabricmanager.cfg, redirected here through
 * $OPENFM_DEFAULT_CONFIG so the host does not matter), and the service
 * unit's lines from FM §2.9. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon_harness.h"

static char out[1 << 16];

static void nv_fabricmanager_in_build_tree(void **s)
{
    (void)s;
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s' --version 2>&1", dh_bin("nv-fabricmanager"));
    assert_int_equal(dh_run(cmd, out, sizeof out), 0);
    if (!strstr(out, "openfm "))
        fail_msg("nv-fabricmanager --version: %s", out);
}

/* Without -c the packaged configuration is read when it exists: a daemon
 * started as plain `nv-fabricmanager` comes up with its settings. */
static void default_config_is_read(void **s)
{
    (void)s;
    dh_daemon d;
    assert_int_equal(dh_init(&d, "hgx-h100"), 0);
    assert_int_equal(dh_write_config(&d, NULL), 0);
    assert_int_equal(setenv("OPENFM_DEFAULT_CONFIG", d.cfg, 1), 0);
    const char *argv[] = {dh_bin("nv-fabricmanager"), NULL};
    int st = -1;
    if (dh_start_cmd(&d, argv, 20000, &st))
        fail_msg("nv-fabricmanager without -c did not become ready (exit %d)", st);
    char *log = dh_read_log(&d); /* LOG_FILE_NAME came from that file */
    assert_non_null(log);
    char want[300];
    snprintf(want, sizeof want, "config %s)", d.cfg);
    if (!strstr(log, want))
        fail_msg("log does not name %s:\n%s", d.cfg, log);
    free(log);
    assert_int_equal(dh_stop(&d, 0), 0);
    dh_cleanup(&d);

    /* a broken packaged file is an error naming it, as with -c */
    char bad[] = "/tmp/ofm-default-cfg-XXXXXX";
    int fd = mkstemp(bad);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "FABRIC_MODE=7\n", 14), 14);
    close(fd);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "OPENFM_DEFAULT_CONFIG='%s' '%s' 2>&1", bad, dh_bin("nv-fabricmanager"));
    assert_int_equal(dh_run(cmd, out, sizeof out), 1);
    snprintf(want, sizeof want, "%s:1: FABRIC_MODE: value '7' out of range 0-2", bad);
    if (!strstr(out, want))
        fail_msg("want '%s', got: %s", want, out);
    unlink(bad);
    unsetenv("OPENFM_DEFAULT_CONFIG");
}

/* No packaged file: built-in defaults, and the operator is told. (--restart
 * with the default FABRIC_MODE=0 stops right after the configuration is
 * settled, before anything touches the host.) */
static void no_default_config_notice(void **s)
{
    (void)s;
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "OPENFM_DEFAULT_CONFIG=/nonexistent/fabricmanager.cfg '%s' --restart 2>&1",
             dh_bin("nv-fabricmanager"));
    assert_int_equal(dh_run(cmd, out, sizeof out), 2);
    if (!strstr(out, "no -c given and /nonexistent/fabricmanager.cfg does not exist: running with "
                     "the built-in defaults"))
        fail_msg("no notice: %s", out);
    assert_non_null(strstr(out, "this configuration has FABRIC_MODE=0"));
}

/* cmake --install puts bin/nv-fabricmanager next to sbin/openfm. */
static void installed_link(void **s)
{
    (void)s;
    char dir[] = "/tmp/ofm-install-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "DESTDIR='%s/stage' cmake --install '%s' --prefix /usr >/dev/null 2>&1",
             dir, getenv("OPENFM_BUILD_DIR"));
    assert_int_equal(dh_run(cmd, out, sizeof out), 0);
    char link[512], target[512], real[PATH_MAX], sbin[PATH_MAX];
    snprintf(link, sizeof link, "%s/stage/usr/bin/nv-fabricmanager", dir);
    ssize_t n = readlink(link, target, sizeof target - 1);
    if (n <= 0)
        fail_msg("%s is not a link", link);
    target[n] = '\0';
    assert_int_equal(target[0] == '/', 0); /* relative: survives DESTDIR staging */
    snprintf(cmd, sizeof cmd, "%s/stage/usr/sbin/openfm", dir);
    assert_non_null(realpath(link, real));
    assert_non_null(realpath(cmd, sbin));
    assert_string_equal(real, sbin);
    snprintf(cmd, sizeof cmd, "'%s' --version 2>&1", link);
    assert_int_equal(dh_run(cmd, out, sizeof out), 0);
    assert_non_null(strstr(out, "openfm "));
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* The unit keeps the guide's lines (FM §2.9). */
static void unit_matches_guide(void **s)
{
    (void)s;
    char path[512];
    snprintf(path, sizeof path, "%s/systemd/nvidia-fabricmanager.service", getenv("OPENFM_SOURCE_DIR"));
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(out, 1, sizeof out - 1, f);
    out[n] = '\0';
    fclose(f);
    const char *lines[] = {"\nAfter=network-online.target\n", "\nRequires=network-online.target\n",
                           "\nUser=root\n", "\nPrivateTmp=false\n", "\nType=forking\n",
                           "\nWantedBy=multi-user.target\n"};
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
        if (!strstr(out, lines[i]))
            fail_msg("%s lacks the line %s", path, lines[i] + 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(nv_fabricmanager_in_build_tree),
        cmocka_unit_test(default_config_is_read),
        cmocka_unit_test(no_default_config_notice),
        cmocka_unit_test(installed_link),
        cmocka_unit_test(unit_matches_guide),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
