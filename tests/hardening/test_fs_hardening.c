/* The real openfm and fmctl against files and processes a hostile local user
 * or a careless operator prepared: each test reproduces one attack from issue
 * 14 and checks it is refused with a clear message while whatever it aimed at
 * is untouched. Outcomes are judged on exit codes, stderr, the files
 * themselves and the emulator's probe. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon_harness.h"
#include "openfm/emu.h"

static void expect_out(const char *cmd, int want_rc, const char *want)
{
    char out[4096];
    int rc = dh_run(cmd, out, sizeof out);
    if (rc != want_rc || (want && !strstr(out, want)))
        fail_msg("'%s': exit %d (want %d), output:\n%s\n(want '%s')", cmd, rc, want_rc, out,
                 want ? want : "");
}

/* ---------------------------------------------------------------- item 2 */

static void test_config_not_regular_file(void **state)
{
    (void)state;
    dh_daemon d;
    assert_int_equal(dh_init(&d, NULL), 0);
    char cmd[600], fifo[200], want[300];
    /* a directory used to start with every default (TCP 6666, full mesh) */
    snprintf(cmd, sizeof cmd, "timeout 10 %s -c %s 2>&1", dh_bin("openfm"), d.dir);
    snprintf(want, sizeof want, "%s: configuration file is a directory, not a regular file", d.dir);
    expect_out(cmd, 1, want);
    /* a FIFO with no writer used to hang for ever (timeout gives 124) */
    snprintf(fifo, sizeof fifo, "%s/cfg.fifo", d.dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    snprintf(cmd, sizeof cmd, "timeout 10 %s -c %s 2>&1", dh_bin("openfm"), fifo);
    expect_out(cmd, 1, "configuration file is a FIFO, not a regular file");
    snprintf(cmd, sizeof cmd, "timeout 10 %s -c /dev/zero 2>&1", dh_bin("openfm"));
    expect_out(cmd, 1, "/dev/zero: configuration file is a character device");
    dh_cleanup(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_not_regular_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
