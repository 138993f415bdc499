/* The emulated hardware's state.bin is corrupted under a running daemon
 * (issue 14 item 9): the monitor can no longer read the fabric. The daemon
 * must say so once, not at every 20 ms poll, and show DEGRADED with the
 * reason in its status until the file is readable again, then say that once
 * and be READY again. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon_harness.h"

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; p && (p = strstr(p, needle)); p++)
        n++;
    return n;
}

static void poke(const char *path, off_t off, char c)
{
    int fd = open(path, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, &c, 1, off), 1);
    close(fd);
}

/* fmctl status until its output contains `want` (deadline 10 s). */
static void status_until(const dh_daemon *d, const char *want, char *out, size_t len)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "'%s' status --socket '%s' 2>&1", dh_bin("fmctl"), d->sock);
    long long end = now_ms() + 10000;
    do {
        dh_run(cmd, out, len);
        if (strstr(out, want))
            return;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL); /* polling interval, not synchronisation */
    } while (now_ms() < end);
    fail_msg("fmctl status never showed '%s'; last output:\n%s", want, out);
}

static void corrupted_backend_degrades_once_and_recovers(void **state)
{
    (void)state;
    dh_daemon d;
    assert_int_equal(dh_init(&d, "hgx-h100"), 0);
    assert_int_equal(dh_write_config(&d, NULL), 0); /* monitor polls every 20 ms */
    assert_int_equal(dh_start(&d, NULL, 20000, NULL), 0);
    char bin[256], out[8192];
    snprintf(bin, sizeof bin, "%s/state.bin", d.emu);
    status_until(&d, "READY", out, sizeof out);

    poke(bin, 0, 'X'); /* the magic: every read of the file now fails */
    status_until(&d, "DEGRADED", out, sizeof out);
    if (!strstr(out, "cannot be monitored") || !strstr(out, "state.bin") || !strstr(out, "bad magic"))
        fail_msg("status does not give the reason:\n%s", out);
    /* Let 25 polls go by: what is checked is that they do NOT each log. */
    struct timespec ts = {0, 500 * 1000 * 1000};
    nanosleep(&ts, NULL);
    char *log = dh_read_log(&d);
    if (count(log, "the fabric cannot be monitored") != 1 || count(log, "bad magic") != 1)
        fail_msg("the fault should be logged exactly once:\n%s",
                 log + (strlen(log) > 2000 ? strlen(log) - 2000 : 0));
    free(log);

    poke(bin, 0, 'O');
    status_until(&d, "READY", out, sizeof out);
    assert_null(strstr(out, "cannot be monitored"));
    assert_int_equal(dh_stop(&d, SIGTERM), 0);
    log = dh_read_log(&d);
    assert_int_equal(count(log, "the fabric cannot be monitored"), 1);
    assert_int_equal(count(log, "bad magic"), 1);
    assert_int_equal(count(log, "the backend can be read again: the fabric is READY"), 1);
    free(log);
    dh_cleanup(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(corrupted_backend_degrades_once_and_recovers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
