/* The openfm process life cycle as an operator sees it, beyond what
 * test_process.c covers: daemonizing, stale PID files, fmctl status exit
 * codes, SIGINT, log level filter, line format, rotation disabled, append
 * mode, --emulate, option errors and --help. Readiness comes from the
 * sd_notify datagram or the daemonizing parent's exit; outcomes are judged by
 * exit codes, stderr, the log file and the files left behind. */
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
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon_harness.h"
#include "openfm/emu.h"
#include "openfm/hal.h"

#define START_MS 20000

/* Run a binary to completion in `cwd` (NULL: ours) with stdout+stderr
 * captured in `out_path`. */
static int run_capture_in(const char *cwd, const char *const *argv, const char *out_path)
{
    pid_t pid = fork();
    if (pid == 0) {
        if (cwd && chdir(cwd))
            _exit(125);
        int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0)
            _exit(126);
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        unsetenv("NOTIFY_SOCKET");
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int run_capture(const char *const *argv, const char *out_path)
{
    return run_capture_in(NULL, argv, out_path);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *buf = malloc(1 << 20);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static void assert_contains(const char *hay, const char *needle)
{
    if (!hay || !strstr(hay, needle))
        fail_msg("expected to find '%s' in:\n%s", needle, hay ? hay : "(nothing)");
}

static void test_ready_then_sigterm_exits_cleanly(void **state)
{
    (void)state;
    dh_daemon d;
    assert_int_equal(dh_init(&d, "hgx-h100"), 0);
    assert_int_equal(dh_write_config(&d, NULL), 0);
    assert_int_equal(dh_start(&d, NULL, START_MS, NULL), 0);
    char pid_path[256], status_path[256];
    snprintf(pid_path, sizeof pid_path, "%s/fm.pid", d.dir);
    snprintf(status_path, sizeof status_path, "%s/status.json", d.dir);
    char *pid_text = slurp(pid_path);
    assert_non_null(pid_text);
    assert_int_equal(atol(pid_text), d.pid);
    free(pid_text);
    char *status = slurp(status_path);
    assert_contains(status, "\"state\"");
    free(status);
    /* fmctl status agrees that the fabric is ready (exit 0) */
    char out[256];
    snprintf(out, sizeof out, "%s/status.out", d.dir);
    const char *st_argv[] = {dh_bin("fmctl"), "status", "--socket", d.sock, NULL};
    int rc = run_capture(st_argv, out);
    char *text = slurp(out);
    if (rc != 0)
        fail_msg("fmctl status exit %d:\n%s", rc, text ? text : "");
    assert_contains(text, "State");
    assert_contains(text, "Completed");
    free(text);

    assert_int_equal(dh_stop(&d, SIGTERM), 0);
    char *log = dh_read_log(&d);
    assert_contains(log, "[INFO]");
    assert_contains(log, "received SIGTERM: shutting down");
    assert_contains(log, "openfm stopped");
    free(log);
    assert_false(exists(pid_path));
    assert_false(exists(status_path));
    /* once it is gone, fmctl status says so with exit 2 */
    assert_int_equal(run_capture(st_argv, out), 2);
    dh_cleanup(&d);
}

/* FM_STAY_RESIDENT_ON_FAILURES=1 with a failed bring-up: the daemon stays up
 * (and reports READY=1 to systemd, as a started service) but scripts asking
 * fmctl status learn that the fabric is not ready: exit 1. */
static void test_status_not_ready_exit_1(void **state)
{
    (void)state;
    dh_daemon d;
    assert_int_equal(dh_init(&d, "hgx-a100-2b"), 0);
    ofm_hal *h = NULL;
    char err[512];
    assert_int_equal(ofm_emu_open(d.emu, &h, err, sizeof err), OFM_HAL_OK);
    const ofm_platform *p = ofm_hal_platform(h);
    assert_true(p->ntrunks > 0);
    assert_int_equal(ofm_emu_inject_port_down(h, p->trunks[0].sw_a, p->trunks[0].port_a), OFM_HAL_OK);
    ofm_hal_close(h);
    assert_int_equal(dh_write_config(&d, "FM_STAY_RESIDENT_ON_FAILURES=1\n"), 0);
    int st = -1;
    if (dh_start(&d, NULL, START_MS, &st)) {
        char *log = dh_read_log(&d);
        fail_msg("not started (exit %d)\n%s", st, log ? log : "");
    }
    char out[256];
    snprintf(out, sizeof out, "%s/status.out", d.dir);
    const char *st_argv[] = {dh_bin("fmctl"), "status", "--socket", d.sock, NULL};
    assert_int_equal(run_capture(st_argv, out), 1);
    const char *wait_argv[] = {dh_bin("fmctl"), "status", "--socket", d.sock, "--wait-ready",
                               "--wait-timeout", "0", NULL};
    assert_int_equal(run_capture(wait_argv, out), 1);
    char *text = slurp(out);
    assert_contains(text, "not ready after 0 s");
    free(text);
    char *log = dh_read_log(&d);
    assert_contains(log, "FM_STAY_RESIDENT_ON_FAILURES=1: staying up");
    free(log);
    assert_int_equal(dh_stop(&d, SIGTERM), 0);
    dh_cleanup(&d);
}

static void test_sigint_exits_cleanly(void **state)
{
    (void)state;
    dh_daemon d;
    assert_int_equal(dh_init(&d, "hgx-a100-2b"), 0);
    assert_int_equal(dh_write_config(&d, NULL), 0);
    assert_int_equal(dh_start(&d, NULL, START_MS, NULL), 0);
    assert_int_equal(dh_stop(&d, SIGINT), 0);
    char *log = dh_read_log(&d);
    assert_contains(log, "received SIGINT: shutting down");
    free(log);
    dh_cleanup(&d);
}

/* DAEMONIZE=1: the first process returns once the daemon is ready; a second
 * instance on the same PID file is refused with a message and exit 1. */
static void test_daemonize_and_second_instance_refused(void **state)
{
    (void)state;
    dh_daemon d;
    assert_int_equal(dh_init(&d, "hgx-h100"), 0);
    /* the harness config says DAEMONIZE=0; write this one by hand */
    FILE *f = fopen(d.cfg, "w");
    assert_non_null(f);
    fprintf(f, "DAEMONIZE=1\nLOG_FILE_NAME=%s\nFM_CMD_UNIX_SOCKET_PATH=%s\nOPENFM_PID_FILE=%s/fm.pid\n"
               "OPENFM_EMU_DIR=%s\n",
            d.log, d.sock, d.dir, d.emu);
    fclose(f);
    char out[256], pid_path[256];
    snprintf(out, sizeof out, "%s/first.out", d.dir);
    snprintf(pid_path, sizeof pid_path, "%s/fm.pid", d.dir);
    const char *argv[] = {dh_bin("openfm"), "-c", d.cfg, NULL};
    assert_int_equal(run_capture(argv, out), 0);
    char *pid_text = slurp(pid_path);
    assert_non_null(pid_text);
    pid_t daemon_pid = (pid_t)atol(pid_text);
    free(pid_text);
    assert_true(daemon_pid > 1);
    assert_int_equal(kill(daemon_pid, 0), 0);

    snprintf(out, sizeof out, "%s/second.out", d.dir);
    assert_int_equal(run_capture(argv, out), 1);
    char *text = slurp(out);
    assert_contains(text, "another instance is already running");
    assert_contains(text, pid_path);
    assert_null(strstr(text, "did not start"));
    free(text);
    /* the first one is unharmed */
    assert_int_equal(kill(daemon_pid, 0), 0);

    /* stop it; it is not our child, so wait on its PID file lock, which it
     * holds until it exits (the ctest timeout bounds a hang) */
    int fd = open(pid_path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(kill(daemon_pid, SIGTERM), 0);
    assert_int_equal(flock(fd, LOCK_EX), 0);
    close(fd);
    assert_false(exists(pid_path));
    char *log = dh_read_log(&d);
    assert_contains(log, "received SIGTERM: shutting down");
    assert_contains(log, "openfm stopped");
    free(log);
    dh_cleanup(&d);
}

/* DAEMONIZE=1 and bring-up refused: the first process exits 1 and tells the
 * operator where the reason went, since the daemon's stderr is gone. */
static void test_daemonized_failure_points_to_log(void **state)
{
    (void)state;
    dh_daemon d;
    assert_int_equal(dh_init(&d, "hgx-h100"), 0);
    ofm_hal *h = NULL;
    char err[512];
    assert_int_equal(ofm_emu_open(d.emu, &h, err, sizeof err), OFM_HAL_OK);
    assert_int_equal(ofm_emu_inject_driver_version(h, "470.57.02"), OFM_HAL_OK);
    ofm_hal_close(h);
    FILE *f = fopen(d.cfg, "w");
    assert_non_null(f);
    fprintf(f, "DAEMONIZE=1\nLOG_FILE_NAME=%s\nFM_CMD_UNIX_SOCKET_PATH=%s\nOPENFM_PID_FILE=%s/fm.pid\n"
               "OPENFM_EMU_DIR=%s\n",
            d.log, d.sock, d.dir, d.emu);
    fclose(f);
    char out[256];
    snprintf(out, sizeof out, "%s/out", d.dir);
    const char *argv[] = {dh_bin("openfm"), "-c", d.cfg, NULL};
    assert_int_equal(run_capture(argv, out), 1);
    char *text = slurp(out);
    char want[300];
    snprintf(want, sizeof want, "the fabric manager did not start; the reason is in %s", d.log);
    assert_contains(text, want);
    free(text);
    char *log = dh_read_log(&d);
    assert_contains(log, "driver version 470.57.02 is not compatible");
    free(log);
    dh_cleanup(&d);
}

/* Relative paths in the configuration mean relative to where openfm was
 * started, even though the daemon changes to "/". */
static void test_daemonized_relative_paths(void **state)
{
    (void)state;
    dh_daemon d;
    assert_int_equal(dh_init(&d, "hgx-h100"), 0);
    FILE *f = fopen(d.cfg, "w");
    assert_non_null(f);
    fputs("DAEMONIZE=1\nLOG_FILE_NAME=fm.log\nFM_CMD_UNIX_SOCKET_PATH=fm.sock\n"
          "OPENFM_PID_FILE=fm.pid\nOPENFM_EMU_DIR=emu\n", f);
    fclose(f);
    char out[256], pid_path[256];
    snprintf(out, sizeof out, "%s/out", d.dir);
    snprintf(pid_path, sizeof pid_path, "%s/fm.pid", d.dir);
    const char *argv[] = {dh_bin("openfm"), "-c", "fm.cfg", NULL};
    int rc = run_capture_in(d.dir, argv, out);
    if (rc != 0) {
        char *text = slurp(out);
        fail_msg("exit %d: %s", rc, text ? text : "");
    }
    char *pid_text = slurp(pid_path);
    assert_non_null(pid_text);
    pid_t daemon_pid = (pid_t)atol(pid_text);
    free(pid_text);
    assert_true(daemon_pid > 1);
    int fd = open(pid_path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(kill(daemon_pid, SIGTERM), 0);
    assert_int_equal(flock(fd, LOCK_EX), 0);
    close(fd);
    char *log = dh_read_log(&d);
    char want[300];
    snprintf(want, sizeof want, "using the emulated NVSwitch system in %s/emu", d.dir);
    assert_contains(log, want);
    assert_contains(log, "openfm stopped");
    free(log);
    dh_cleanup(&d);
}

/* A stale PID file left by a dead process is taken over. */
static void test_stale_pid_file_taken_over(void **state)
{
    (void)state;
    dh_daemon d;
    assert_int_equal(dh_init(&d, "hgx-h100"), 0);
    assert_int_equal(dh_write_config(&d, NULL), 0);
    char pid_path[256];
    snprintf(pid_path, sizeof pid_path, "%s/fm.pid", d.dir);
    FILE *f = fopen(pid_path, "w");
    assert_non_null(f);
    fputs("999999\n", f);
    fclose(f);
    assert_int_equal(dh_start(&d, NULL, START_MS, NULL), 0);
    char *pid_text = slurp(pid_path);
    assert_int_equal(atol(pid_text), d.pid);
    free(pid_text);
    assert_int_equal(dh_stop(&d, SIGTERM), 0);
    dh_cleanup(&d);
}

/* With rotation disabled (count 0) logging stops at the limit. */
static void test_log_limit_without_rotation(void **state)
{
    (void)state;
    dh_daemon d;
    assert_int_equal(dh_init(&d, "hgx-h100"), 0);
    assert_int_equal(dh_write_config(&d, "OPENFM_LOG_MAX_SIZE_BYTES=300\nLOG_MAX_ROTATE_COUNT=0\n"), 0);
    assert_int_equal(dh_start(&d, NULL, START_MS, NULL), 0);
    assert_int_equal(dh_stop(&d, SIGTERM), 0);
    struct stat st;
    assert_int_equal(stat(d.log, &st), 0);
    assert_true(st.st_size > 0 && st.st_size <= 300);
    char p[256];
    snprintf(p, sizeof p, "%s.1", d.log);
    assert_false(exists(p));
    dh_cleanup(&d);
}

static void run_with_old_log(dh_daemon *d, const char *extra)
{
    FILE *f = fopen(d->log, "w");
    assert_non_null(f);
    fputs("OLD LINE FROM A PREVIOUS RUN\n", f);
    fclose(f);
    assert_int_equal(dh_write_config(d, extra), 0);
    assert_int_equal(dh_start(d, NULL, START_MS, NULL), 0);
    assert_int_equal(dh_stop(d, SIGTERM), 0);
}

static void test_log_append_and_truncate(void **state)
{
    (void)state;
    dh_daemon d;
    assert_int_equal(dh_init(&d, "hgx-h100"), 0);
    run_with_old_log(&d, "LOG_APPEND_TO_LOG=0\n");
    char *log = dh_read_log(&d);
    assert_null(strstr(log, "OLD LINE"));
    assert_contains(log, "openfm stopped");
    free(log);
    run_with_old_log(&d, "LOG_APPEND_TO_LOG=1\n");
    log = dh_read_log(&d);
    assert_true(strstr(log, "OLD LINE") == log);
    assert_contains(log, "openfm stopped");
    free(log);
    dh_cleanup(&d);
}

static void test_log_level_filter(void **state)
{
    (void)state;
    dh_daemon d;
    assert_int_equal(dh_init(&d, "hgx-h100"), 0);
    /* the harness sets LOG_LEVEL=4; write the config by hand for level 1 */
    FILE *f = fopen(d.cfg, "w");
    assert_non_null(f);
    fprintf(f, "DAEMONIZE=0\nLOG_LEVEL=1\nLOG_FILE_NAME=%s\nFM_CMD_UNIX_SOCKET_PATH=%s\n"
               "OPENFM_PID_FILE=%s/fm.pid\nOPENFM_EMU_DIR=%s\n",
            d.log, d.sock, d.dir, d.emu);
    fclose(f);
    assert_int_equal(dh_start(&d, NULL, START_MS, NULL), 0);
    assert_int_equal(dh_stop(&d, SIGTERM), 0);
    char *log = dh_read_log(&d);
    if (log) {
        assert_null(strstr(log, "[INFO]"));
        assert_null(strstr(log, "[WARNING]"));
        assert_null(strstr(log, "[ERROR]"));
    }
    free(log);
    /* critical messages still get through at level 1 */
    ofm_hal *h = NULL;
    char err[512];
    assert_int_equal(ofm_emu_open(d.emu, &h, err, sizeof err), OFM_HAL_OK);
    assert_int_equal(ofm_emu_inject_driver_version(h, "470.57.02"), OFM_HAL_OK);
    ofm_hal_close(h);
    int status = 0;
    assert_int_equal(dh_start(&d, NULL, START_MS, &status), -1);
    assert_int_equal(status, 1);
    log = dh_read_log(&d);
    assert_contains(log, "[CRITICAL]");
    assert_null(strstr(log, "[INFO]"));
    free(log);
    dh_cleanup(&d);
}

static void test_log_line_format(void **state)
{
    (void)state;
    dh_daemon d;
    assert_int_equal(dh_init(&d, "hgx-h100"), 0);
    assert_int_equal(dh_write_config(&d, NULL), 0);
    assert_int_equal(dh_start(&d, NULL, START_MS, NULL), 0);
    assert_int_equal(dh_stop(&d, SIGTERM), 0);
    char *log = dh_read_log(&d);
    assert_non_null(log);
    /* [Mon DD YYYY HH:MM:SS] [LEVEL] [tid N] message */
    char mon[8], level[16];
    int day, year, hh, mm, ss;
    long tid;
    assert_int_equal(sscanf(log, "[%3s %d %d %d:%d:%d] [%15[A-Z]] [tid %ld]", mon, &day, &year, &hh,
                            &mm, &ss, level, &tid),
                     8);
    assert_string_equal(level, "INFO");
    assert_true(tid > 0);
    free(log);
    dh_cleanup(&d);
}

/* --emulate creates the system when the directory has none. */
static void test_emulate_creates_system(void **state)
{
    (void)state;
    dh_daemon d;
    assert_int_equal(dh_init(&d, NULL), 0);
    assert_int_equal(dh_write_config(&d, NULL), 0);
    const char *args[] = {"--emulate", "hgx-a100-2b", NULL};
    assert_int_equal(dh_start(&d, args, START_MS, NULL), 0);
    assert_int_equal(dh_stop(&d, SIGTERM), 0);
    char *log = dh_read_log(&d);
    assert_contains(log, "created an emulated hgx-a100-2b system");
    free(log);
    dh_cleanup(&d);
}

static void test_bad_config_and_options(void **state)
{
    (void)state;
    dh_daemon d;
    assert_int_equal(dh_init(&d, NULL), 0);
    assert_int_equal(dh_write_config(&d, "LOG_LEVLE=3\n"), 0);
    char out[256];
    snprintf(out, sizeof out, "%s/out", d.dir);
    const char *argv[] = {dh_bin("openfm"), "-c", d.cfg, NULL};
    assert_int_equal(run_capture(argv, out), 1);
    char *text = slurp(out);
    char want[300];
    snprintf(want, sizeof want, "%s:9: unknown key 'LOG_LEVLE'", d.cfg);
    assert_contains(text, want);
    free(text);

    const char *bogus[] = {dh_bin("openfm"), "--bogus", NULL};
    assert_int_equal(run_capture(bogus, out), 2);
    text = slurp(out);
    assert_contains(text, "usage: openfm");
    free(text);

    const char *extra[] = {dh_bin("openfm"), "stray", NULL};
    assert_int_equal(run_capture(extra, out), 2);
    text = slurp(out);
    assert_contains(text, "unexpected argument 'stray'");
    free(text);

    /* resiliency restart needs a shared mode */
    assert_int_equal(dh_write_config(&d, NULL), 0);
    const char *restart[] = {dh_bin("openfm"), "-c", d.cfg, "--restart", NULL};
    assert_int_equal(run_capture(restart, out), 2);
    text = slurp(out);
    assert_contains(text, "FABRIC_MODE=0");
    free(text);
    dh_cleanup(&d);
}

static void test_help_and_version(void **state)
{
    (void)state;
    dh_daemon d;
    assert_int_equal(dh_init(&d, NULL), 0);
    char out[256];
    snprintf(out, sizeof out, "%s/out", d.dir);
    const char *help[] = {dh_bin("openfm"), "--help", NULL};
    assert_int_equal(run_capture(help, out), 0);
    char *text = slurp(out);
    const char *opts[] = {"-c, --config FILE", "-r, --restart", "--emu-dir DIR", "--emulate PLATFORM",
                          "-h, --help", "-v, --version", "DAEMONIZE", "SIGTERM"};
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++)
        assert_contains(text, opts[i]);
    free(text);
    const char *ver[] = {dh_bin("openfm"), "-v", NULL};
    assert_int_equal(run_capture(ver, out), 0);
    text = slurp(out);
    assert_true(strncmp(text, "openfm ", 7) == 0);
    free(text);
    dh_cleanup(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ready_then_sigterm_exits_cleanly),
        cmocka_unit_test(test_status_not_ready_exit_1),
        cmocka_unit_test(test_sigint_exits_cleanly),
        cmocka_unit_test(test_daemonize_and_second_instance_refused),
        cmocka_unit_test(test_daemonized_failure_points_to_log),
        cmocka_unit_test(test_daemonized_relative_paths),
        cmocka_unit_test(test_stale_pid_file_taken_over),
        cmocka_unit_test(test_log_limit_without_rotation),
        cmocka_unit_test(test_log_append_and_truncate),
        cmocka_unit_test(test_log_level_filter),
        cmocka_unit_test(test_log_line_format),
        cmocka_unit_test(test_emulate_creates_system),
        cmocka_unit_test(test_bad_config_and_options),
        cmocka_unit_test(test_help_and_version),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
