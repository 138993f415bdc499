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
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon_harness.h"
#include "openfm/emu.h"

/* Daemons a failed assertion would otherwise leave running. */
static dh_daemon *live[4];

static void track(dh_daemon *d)
{
    for (size_t i = 0; i < 4; i++)
        if (!live[i]) {
            live[i] = d;
            return;
        }
}

static int reap(void **state)
{
    (void)state;
    for (size_t i = 0; i < 4; i++)
        if (live[i]) {
            dh_cleanup(live[i]);
            live[i] = NULL;
        }
    return 0;
}

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
    static dh_daemon d;
    track(&d);
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
}


/* ---------------------------------------------------------------- item 1 */

static void put(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static char *slurp(const char *path)
{
    static char buf[4096];
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
    return buf;
}

static void expect_log(const dh_daemon *d, const char *want)
{
    char *log = dh_read_log(d);
    if (!log || !strstr(log, want))
        fail_msg("log lacks '%s':\n%s", want, log ? log : "(no log)");
    free(log);
}

/* The attack of the issue: another user pre-creates the emulated system's
 * directory with topology.topo linked to a file root owns, and waits for root
 * to create the system there. */
static void test_emu_dir_prepared_by_another_user(void **state)
{
    (void)state;
    if (geteuid() != 0)
        skip(); /* needs chown to another uid */
    static dh_daemon d;
    track(&d);
    assert_int_equal(dh_init(&d, NULL), 0);
    char victim[200], link[200];
    snprintf(victim, sizeof victim, "%s/root-secret", d.dir);
    put(victim, "only root writes this\n", 0600);
    assert_int_equal(mkdir(d.emu, 0755), 0);
    snprintf(link, sizeof link, "%s/topology.topo", d.emu);
    assert_int_equal(symlink(victim, link), 0);
    assert_int_equal(lchown(link, 65534, 65534), 0);
    assert_int_equal(chown(d.emu, 65534, 65534), 0);
    assert_int_equal(dh_write_config(&d, "OPENFM_EMULATE=hgx-h100\n"), 0);
    int st = -1;
    assert_int_equal(dh_start(&d, NULL, 20000, &st), -1);
    assert_int_equal(st, 1);
    expect_log(&d, "owner uid 65534");
    expect_log(&d, "owned by another user");
    assert_string_equal(slurp(victim), "only root writes this\n");
    /* fmctl refuses the same directory */
    char cmd[600];
    snprintf(cmd, sizeof cmd, "%s emu create --emu-dir %s --platform hgx-h100 --force 2>&1",
             dh_bin("fmctl"), d.emu);
    expect_out(cmd, 1, "owned by another user");
    assert_string_equal(slurp(victim), "only root writes this\n");
}

static void test_emu_dir_writable_by_others(void **state)
{
    (void)state;
    static dh_daemon d;
    track(&d);
    assert_int_equal(dh_init(&d, "hgx-h100"), 0);
    assert_int_equal(chmod(d.emu, 0777), 0);
    assert_int_equal(dh_write_config(&d, NULL), 0);
    int st = -1;
    assert_int_equal(dh_start(&d, NULL, 20000, &st), -1);
    assert_int_equal(st, 1);
    char want[300];
    snprintf(want, sizeof want, "%s: refusing this directory (owner uid %ld, mode 0777): is "
             "writable by group or others", d.emu, (long)geteuid());
    expect_log(&d, want);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "%s emu show --emu-dir %s 2>&1", dh_bin("fmctl"), d.emu);
    expect_out(cmd, 2, "mode 0777");
}

/* Inside a directory that passes, a planted link is still never followed. */
static void test_emu_files_not_followed(void **state)
{
    (void)state;
    static dh_daemon d;
    track(&d);
    assert_int_equal(dh_init(&d, "hgx-h100"), 0);
    char victim[200], path[200], tmp[220];
    snprintf(victim, sizeof victim, "%s/victim", d.dir);
    put(victim, "untouched\n", 0600);
    /* state.bin's temp file: the next commit must not write through it */
    snprintf(path, sizeof path, "%s/state.bin", d.emu);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    assert_int_equal(symlink(victim, tmp), 0);
    ofm_hal *h;
    char err[700];
    assert_int_equal(ofm_emu_open(d.emu, &h, err, sizeof err), OFM_HAL_OK);
    const ofm_platform *p = ofm_hal_platform(h);
    assert_int_equal(ofm_emu_inject_port_down(h, p->access[0].sw, p->access[0].sw_port), OFM_HAL_OK);
    ofm_hal_close(h);
    assert_string_equal(slurp(victim), "untouched\n");
    struct stat sb;
    assert_int_equal(lstat(path, &sb), 0);
    assert_true(S_ISREG(sb.st_mode));
    /* a linked topology.topo is refused at open */
    snprintf(path, sizeof path, "%s/topology.topo", d.emu);
    char copy[220];
    snprintf(copy, sizeof copy, "%s/copy.topo", d.dir);
    assert_int_equal(rename(path, copy), 0);
    assert_int_equal(symlink(copy, path), 0);
    assert_int_not_equal(ofm_emu_open(d.emu, &h, err, sizeof err), OFM_HAL_OK);
    assert_non_null(strstr(err, "topology file is a symbolic link; refusing to follow it"));
}

static void test_root_default_emu_dir(void **state)
{
    (void)state;
    char dir[4096];
    const char *saved[3] = {getenv("OPENFM_EMU_DIR"), getenv("OPENFM_EMU_ROOT"),
                            getenv("XDG_RUNTIME_DIR")};
    char keep[3][512];
    for (int i = 0; i < 3; i++)
        snprintf(keep[i], sizeof keep[i], "%s", saved[i] ? saved[i] : "");
    unsetenv("OPENFM_EMU_DIR");
    unsetenv("OPENFM_EMU_ROOT");
    setenv("XDG_RUNTIME_DIR", "/tmp", 1); /* must not matter for root */
    assert_int_equal(ofm_emu_resolve_dir(NULL, dir, sizeof dir), 0);
    if (geteuid() == 0)
        assert_string_equal(dir, "/var/lib/openfm/emu/default");
    else
        assert_string_equal(dir, "/tmp/openfm-emu/default");
    unsetenv("XDG_RUNTIME_DIR");
    assert_int_equal(ofm_emu_resolve_dir(NULL, dir, sizeof dir), 0);
    if (geteuid() != 0) {
        char want[64];
        snprintf(want, sizeof want, "/tmp/openfm-emu-%ld/default", (long)getuid());
        assert_string_equal(dir, want);
    }
    const char *names[3] = {"OPENFM_EMU_DIR", "OPENFM_EMU_ROOT", "XDG_RUNTIME_DIR"};
    for (int i = 0; i < 3; i++)
        if (saved[i])
            setenv(names[i], keep[i], 1);
}

/* A second manager on a system a daemon manages: refused with the holder's
 * PID, while fault injection by others stays allowed. */
static void test_second_manager_on_same_system(void **state)
{
    (void)state;
    static dh_daemon a, b;
    track(&a);
    track(&b);
    assert_int_equal(dh_init(&a, "hgx-h100"), 0);
    assert_int_equal(dh_write_config(&a, NULL), 0);
    assert_int_equal(dh_start(&a, NULL, 20000, NULL), 0);
    /* B: its own PID file, socket, state and log; A's emulated system */
    assert_int_equal(dh_init(&b, NULL), 0);
    snprintf(b.emu, sizeof b.emu, "%s", a.emu);
    assert_int_equal(dh_write_config(&b, NULL), 0);
    int st = -1;
    assert_int_equal(dh_start(&b, NULL, 20000, &st), -1);
    assert_int_equal(st, 1);
    char want[300];
    snprintf(want, sizeof want, "another fabric manager (pid %ld) already manages %s",
             (long)a.pid, a.emu);
    expect_log(&b, want);
    /* a process that is not the manager cannot program routes... */
    ofm_hal *h;
    char err[700];
    assert_int_equal(ofm_emu_open(a.emu, &h, err, sizeof err), OFM_HAL_OK);
    const ofm_platform *p = ofm_hal_platform(h);
    ofm_route_entry e = {.sw = p->switches[0].id, .in_port = p->access[0].sw_port,
                         .dst_gpu = p->gpus[1].phys_id, .egress = {{0, 0}}};
    assert_int_equal(h->ops->route_write(h, &e, 1), OFM_HAL_EBUSY);
    snprintf(want, sizeof want, "a fabric manager (pid %ld) manages", (long)a.pid);
    assert_non_null(strstr(ofm_hal_last_error(h), want));
    ofm_emu_probe_result r;
    assert_int_equal(ofm_emu_probe(h, p->gpus[0].phys_id, p->gpus[1].phys_id, true, &r), OFM_HAL_OK);
    assert_true(r.arrives);
    assert_int_equal(r.links, 18);
    /* ...but can inject faults */
    assert_int_equal(ofm_emu_inject_xid(h, p->gpus[0].phys_id, 31, "injected"), OFM_HAL_OK);
    ofm_hal_close(h);
    /* and cannot replace the system under the daemon */
    char cmd[600];
    snprintf(cmd, sizeof cmd, "%s emu create --emu-dir %s --platform hgx-a100 --force 2>&1",
             dh_bin("fmctl"), a.emu);
    snprintf(want, sizeof want, "a fabric manager (pid %ld) is running on this system",
             (long)a.pid);
    expect_out(cmd, 1, want);
    snprintf(cmd, sizeof cmd, "%s emu probe --emu-dir %s --quiet 1 2 2>&1", dh_bin("fmctl"), a.emu);
    expect_out(cmd, 0, "arrives over 18");
    assert_int_equal(dh_stop(&a, SIGTERM), 0);
}

/* ---------------------------------------------------------------- item 9 */

static void test_fmctl_emu_extra_arguments(void **state)
{
    (void)state;
    static dh_daemon d;
    track(&d);
    assert_int_equal(dh_init(&d, "hgx-h100"), 0);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "%s emu show --emu-dir %s extra 2>&1", dh_bin("fmctl"), d.emu);
    expect_out(cmd, 2, "fmctl emu show: unexpected argument 'extra'");
    snprintf(cmd, sizeof cmd, "%s emu probe --all --emu-dir %s 0 1 2>&1", dh_bin("fmctl"), d.emu);
    expect_out(cmd, 2, "--all takes no GPU IDs");
    snprintf(cmd, sizeof cmd, "%s emu inject gpu-failed --gpu 1 now --emu-dir %s 2>&1",
             dh_bin("fmctl"), d.emu);
    expect_out(cmd, 2, "unexpected argument 'now'");
    snprintf(cmd, sizeof cmd, "%s emu probe --all --quiet --emu-dir %s 2>&1", dh_bin("fmctl"), d.emu);
    expect_out(cmd, 0, "NV# = number of source NVLinks");
}

/* ---------------------------------------------------------------- item 7 */

/* Config of a second daemon `b` that shares one resource with `a`. */
static void write_second_config(dh_daemon *b, const char *sock, const char *state, int mode)
{
    FILE *f = fopen(b->cfg, "w");
    assert_non_null(f);
    fprintf(f,
            "DAEMONIZE=0\nLOG_FILE_NAME=%s\nLOG_LEVEL=4\nFM_CMD_UNIX_SOCKET_PATH=%s\n"
            "STATE_FILE_NAME=%s\nOPENFM_PID_FILE=%s/fm.pid\nOPENFM_EMU_DIR=%s\nFABRIC_MODE=%d\n",
            b->log, sock, state, b->dir, b->emu, mode);
    assert_int_equal(fclose(f), 0);
}

static void test_second_daemon_same_socket(void **state)
{
    (void)state;
    static dh_daemon a, b;
    track(&a);
    track(&b);
    assert_int_equal(dh_init(&a, "hgx-h100"), 0);
    assert_int_equal(dh_write_config(&a, NULL), 0);
    assert_int_equal(dh_start(&a, NULL, 20000, NULL), 0);
    assert_int_equal(dh_init(&b, "hgx-h100"), 0);
    write_second_config(&b, a.sock, b.state, 0);
    char cmd[700], want[400];
    snprintf(cmd, sizeof cmd, "timeout 20 %s -c %s 2>&1", dh_bin("openfm"), b.cfg);
    snprintf(want, sizeof want, "the SDK socket %s is in use by process %ld", a.sock, (long)a.pid);
    expect_out(cmd, 1, want);
    /* the first still answers on its socket */
    snprintf(cmd, sizeof cmd, "%s status --socket %s 2>&1", dh_bin("fmctl"), a.sock);
    expect_out(cmd, 0, NULL);
    assert_int_equal(dh_stop(&a, SIGTERM), 0);
}

static void test_second_daemon_same_state_file(void **state)
{
    (void)state;
    static dh_daemon a, b;
    track(&a);
    track(&b);
    assert_int_equal(dh_init(&a, "hgx-h100"), 0);
    assert_int_equal(dh_write_config(&a, "FABRIC_MODE=1\n"), 0);
    assert_int_equal(dh_start(&a, NULL, 20000, NULL), 0);
    char before[4096];
    snprintf(before, sizeof before, "%s", slurp(a.state));
    assert_true(strlen(before) > 0);
    assert_int_equal(dh_init(&b, "hgx-h100"), 0);
    write_second_config(&b, b.sock, a.state, 1);
    char cmd[700], want[400];
    snprintf(cmd, sizeof cmd, "timeout 20 %s -c %s 2>&1", dh_bin("openfm"), b.cfg);
    snprintf(want, sizeof want, "the state file %s is in use by process %ld", a.state, (long)a.pid);
    expect_out(cmd, 1, want);
    assert_string_equal(slurp(a.state), before);
    snprintf(cmd, sizeof cmd, "%s status --socket %s 2>&1", dh_bin("fmctl"), a.sock);
    expect_out(cmd, 0, NULL);
    assert_int_equal(dh_stop(&a, SIGTERM), 0);
}

/* ---------------------------------------------------------------- item 4 */

/* Started with umask 000, nothing the daemon writes is group/world-writable. */
static void test_files_not_world_writable(void **state)
{
    (void)state;
    static dh_daemon d;
    track(&d);
    assert_int_equal(dh_init(&d, "hgx-h100"), 0);
    FILE *f = fopen(d.cfg, "w");
    assert_non_null(f);
    fprintf(f,
            "DAEMONIZE=1\nLOG_FILE_NAME=%s\nFM_CMD_UNIX_SOCKET_PATH=%s\nSTATE_FILE_NAME=%s\n"
            "OPENFM_PID_FILE=%s/fm.pid\nOPENFM_EMU_DIR=%s\nFABRIC_MODE=1\n",
            d.log, d.sock, d.state, d.dir, d.emu);
    assert_int_equal(fclose(f), 0);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "umask 000; timeout 20 %s -c %s 2>&1", dh_bin("openfm"), d.cfg);
    expect_out(cmd, 0, NULL); /* returns once the daemon is ready */
    char pidpath[200];
    snprintf(pidpath, sizeof pidpath, "%s/fm.pid", d.dir);
    int pfd = open(pidpath, O_RDONLY | O_CLOEXEC);
    assert_true(pfd >= 0);
    long pid = strtol(slurp(pidpath), NULL, 10);
    assert_true(pid > 0);
    const char *files[] = {pidpath, d.log, d.state, NULL, NULL};
    char status[200];
    snprintf(status, sizeof status, "%s/status.json", d.dir);
    files[3] = status;
    for (size_t i = 0; files[i]; i++) {
        struct stat sb;
        assert_int_equal(stat(files[i], &sb), 0);
        if (sb.st_mode & 022)
            fail_msg("%s has mode %04o", files[i], (unsigned)(sb.st_mode & 07777));
    }
    assert_int_equal(kill((pid_t)pid, SIGTERM), 0);
    assert_int_equal(flock(pfd, LOCK_EX), 0); /* released when it has exited */
    close(pfd);
}

/* ---------------------------------------------------------------- item 9 */

/* DAEMONIZE=1 with a log that cannot be opened used to detach with stderr on
 * /dev/null and log nothing at all. */
static void test_daemonize_unopenable_log(void **state)
{
    (void)state;
    static dh_daemon d;
    track(&d);
    assert_int_equal(dh_init(&d, "hgx-h100"), 0);
    FILE *f = fopen(d.cfg, "w");
    assert_non_null(f);
    fprintf(f,
            "DAEMONIZE=1\nLOG_FILE_NAME=%s/no-such-dir/fm.log\nFM_CMD_UNIX_SOCKET_PATH=%s\n"
            "OPENFM_PID_FILE=%s/fm.pid\nOPENFM_EMU_DIR=%s\n",
            d.dir, d.sock, d.dir, d.emu);
    assert_int_equal(fclose(f), 0);
    char cmd[700], want[300];
    snprintf(cmd, sizeof cmd, "timeout 20 %s -c %s 2>&1", dh_bin("openfm"), d.cfg);
    snprintf(want, sizeof want, "%s/no-such-dir/fm.log: cannot open the log file: No such file "
             "or directory. With DAEMONIZE=1 every message would be lost", d.dir);
    expect_out(cmd, 1, want);
    char pidpath[200];
    snprintf(pidpath, sizeof pidpath, "%s/fm.pid", d.dir);
    assert_int_not_equal(access(pidpath, F_OK), 0); /* nothing was started */
}

static bool probe_arrives(const char *emu, uint32_t a, uint32_t b)
{
    ofm_hal *h;
    char err[700];
    assert_int_equal(ofm_emu_open(emu, &h, err, sizeof err), OFM_HAL_OK);
    ofm_emu_probe_result r;
    assert_int_equal(ofm_emu_probe(h, a, b, true, &r), OFM_HAL_OK);
    ofm_hal_close(h);
    return r.arrives;
}

/* The IDs after "--" used to be dropped: the hypervisor's list arrived empty
 * and every running partition lost its routes. */
static void test_set_active_after_double_dash(void **state)
{
    (void)state;
    static dh_daemon d;
    track(&d);
    assert_int_equal(dh_init(&d, "hgx-h100"), 0);
    assert_int_equal(dh_write_config(&d, "FABRIC_MODE=1\n"), 0);
    assert_int_equal(dh_start(&d, NULL, 20000, NULL), 0);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "%s partition --socket %s activate 1 2>&1", dh_bin("fmctl"), d.sock);
    expect_out(cmd, 0, NULL);
    snprintf(cmd, sizeof cmd, "%s partition --socket %s activate 6 2>&1", dh_bin("fmctl"), d.sock);
    expect_out(cmd, 0, NULL);
    assert_int_equal(dh_stop(&d, SIGKILL), 128 + SIGKILL);
    const char *args[] = {"--restart", NULL};
    assert_int_equal(dh_start(&d, args, 20000, NULL), 0);
    snprintf(cmd, sizeof cmd, "%s partition --socket %s set-active -- 1 6 2>&1", dh_bin("fmctl"),
             d.sock);
    expect_out(cmd, 0, NULL);
    assert_true(probe_arrives(d.emu, 1, 4)); /* partition 1 kept */
    assert_true(probe_arrives(d.emu, 6, 8)); /* partition 6 kept */
    assert_false(probe_arrives(d.emu, 1, 6)); /* still isolated */
    /* extra operands elsewhere are errors, not ignored */
    snprintf(cmd, sizeof cmd, "%s partition --socket %s list extra 2>&1", dh_bin("fmctl"), d.sock);
    expect_out(cmd, 2, "fmctl partition list: unexpected argument 'extra'");
    snprintf(cmd, sizeof cmd, "%s status --socket %s extra 2>&1", dh_bin("fmctl"), d.sock);
    expect_out(cmd, 2, "fmctl status: unexpected argument 'extra'");
    snprintf(cmd, sizeof cmd, "%s audit --emu-dir %s extra 2>&1", dh_bin("fmctl"), d.emu);
    expect_out(cmd, 2, "fmctl audit: unexpected argument 'extra'");
    snprintf(cmd, sizeof cmd, "%s -c %s extra 2>&1", dh_bin("openfm"), d.cfg);
    expect_out(cmd, 2, "openfm: unexpected argument 'extra'");
    assert_int_equal(dh_stop(&d, SIGTERM), 0);
}

/* ---------------------------------------------------------------- habits */

/* openfm -n: the configuration and the topologies it names, checked without
 * starting or creating anything. */
static void test_check_mode(void **state)
{
    (void)state;
    static dh_daemon d;
    track(&d);
    assert_int_equal(dh_init(&d, NULL), 0);
    char cfg[200], topo[200], cmd[800], want[400], logp[200];
    snprintf(cfg, sizeof cfg, "%s/check.cfg", d.dir);
    snprintf(logp, sizeof logp, "%s/never.log", d.dir);
    FILE *f = fopen(cfg, "w");
    assert_non_null(f);
    fprintf(f, "LOG_FILE_NAME=%s\nFABRIC_MODE=1\nOPENFM_EMULATE=hgx-h100\nOPENFM_EMU_DIR=%s\n",
            logp, d.emu);
    assert_int_equal(fclose(f), 0);
    snprintf(cmd, sizeof cmd, "%s -n -c %s 2>&1", dh_bin("openfm"), cfg);
    snprintf(want, sizeof want, "openfm: %s: configuration OK", cfg);
    expect_out(cmd, 0, want);
    /* nothing was created: no log, no emulated system */
    assert_int_not_equal(access(logp, F_OK), 0);
    assert_int_not_equal(access(d.emu, F_OK), 0);
    /* a bad value: file and line */
    f = fopen(cfg, "w");
    assert_non_null(f);
    fprintf(f, "LOG_LEVEL=4\nFABRIC_MODE=7\n");
    assert_int_equal(fclose(f), 0);
    snprintf(want, sizeof want, "openfm: %s:2: FABRIC_MODE: value '7' out of range 0-2", cfg);
    expect_out(cmd, 1, want);
    /* a metrics endpoint the daemon would refuse at start-up is not "OK" */
    f = fopen(cfg, "w");
    assert_non_null(f);
    fprintf(f, "OPENFM_METRICS_LISTEN=127.0.0.1\n");
    assert_int_equal(fclose(f), 0);
    snprintf(want, sizeof want, "openfm: %s: OPENFM_METRICS_LISTEN=127.0.0.1: expected IPV4:PORT", cfg);
    expect_out(cmd, 1, want);
    /* a broken topology file where the configuration looks for them */
    snprintf(topo, sizeof topo, "%s/topo", d.dir);
    assert_int_equal(mkdir(topo, 0755), 0);
    snprintf(topo, sizeof topo, "%s/topo/hgx-h100.topo", d.dir);
    put(topo, "# comment\nplatform hgx-h100\nbogus line\n", 0644);
    f = fopen(cfg, "w");
    assert_non_null(f);
    fprintf(f, "TOPOLOGY_FILE_PATH=%s/topo\n", d.dir);
    assert_int_equal(fclose(f), 0);
    snprintf(want, sizeof want, "%s:3: unknown keyword 'bogus'", topo);
    expect_out(cmd, 1, want);
    /* OPENFM_EMULATE naming a board that does not exist */
    snprintf(cmd, sizeof cmd, "%s -n --emulate no-such-board 2>&1", dh_bin("openfm"));
    expect_out(cmd, 1, "unknown platform 'no-such-board'");
    /* and the configuration must be a regular file */
    snprintf(cmd, sizeof cmd, "%s -n -c %s 2>&1", dh_bin("openfm"), d.dir);
    expect_out(cmd, 1, "configuration file is a directory");
}

/* fmctl emu probe --all used to probe pair by pair, each pair its own
 * transaction, so a writer between two pairs tore the matrix. While another
 * process alternates between "no routes" (a reboot) and "full mesh" (one batch
 * write), holding each state for a few dozen reads, every matrix must be all
 * arriving or all dropped. */
static void test_probe_all_is_one_snapshot(void **state)
{
    (void)state;
    static dh_daemon d;
    track(&d);
    assert_int_equal(dh_init(&d, "hgx-h100"), 0);
    assert_int_equal(dh_write_config(&d, NULL), 0);
    assert_int_equal(dh_start(&d, NULL, 20000, NULL), 0);
    assert_int_equal(dh_stop(&d, SIGKILL), 128 + SIGKILL); /* routes stay programmed */
    ofm_hal *h;
    char err[700];
    assert_int_equal(ofm_emu_open(d.emu, &h, err, sizeof err), OFM_HAL_OK);
    const ofm_platform *p = ofm_hal_platform(h);
    size_t cap = p->nswitches * OFM_MAX_SWITCH_PORTS * p->ngpus, n = 0;
    ofm_route_entry *mesh = calloc(cap, sizeof *mesh);
    assert_non_null(mesh);
    for (size_t s = 0; s < p->nswitches; s++) {
        size_t got = 0;
        assert_int_equal(h->ops->route_read(h, p->switches[s].id, mesh + n, cap - n, &got), 0);
        n += got;
    }
    assert_true(n > 0);
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        close(pfd[1]);
        fcntl(pfd[0], F_SETFL, O_NONBLOCK);
        char c;
        ofm_emu_probe_result r;
        /* until the parent closes the pipe; the reads in between keep each
         * state for about as long as a whole matrix takes */
        for (unsigned k = 0; read(pfd[0], &c, 1) < 0 && errno == EAGAIN; k++) {
            if ((k & 1 ? h->ops->route_write(h, mesh, n) : ofm_emu_reboot(h)) != OFM_HAL_OK)
                _exit(1);
            for (int i = 0; i < 40; i++)
                ofm_emu_probe(h, p->gpus[0].phys_id, p->gpus[1].phys_id, true, &r);
        }
        _exit(0);
    }
    close(pfd[0]);
    char cmd[600], out[4096];
    snprintf(cmd, sizeof cmd, "%s emu probe --all --quiet --emu-dir %s", dh_bin("fmctl"), d.emu);
    unsigned all_arrive = 0, all_drop = 0;
    for (int i = 0; i < 40; i++) {
        assert_int_equal(dh_run(cmd, out, sizeof out), 0);
        unsigned arrive = 0, drop = 0;
        for (const char *row = strstr(out, "\nGPU"); row; row = strstr(row + 1, "\nGPU"))
            for (const char *q = row + 1; *q && *q != '\n'; q++) {
                arrive += !strncmp(q, "NV18", 4);
                drop += *q == '-';
            }
        if (arrive + drop != 56 || (arrive && drop))
            fail_msg("torn matrix (%u arriving, %u dropped):\n%s", arrive, drop, out);
        all_arrive += arrive != 0;
        all_drop += drop != 0;
    }
    /* both states are normally seen; neither is required (scheduling) */
    (void)all_arrive;
    (void)all_drop;
    close(pfd[1]);
    int st;
    assert_int_equal(waitpid(child, &st, 0), child);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    ofm_hal_close(h);
    free(mesh);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_config_not_regular_file, reap),
        cmocka_unit_test_teardown(test_emu_dir_prepared_by_another_user, reap),
        cmocka_unit_test_teardown(test_emu_dir_writable_by_others, reap),
        cmocka_unit_test_teardown(test_emu_files_not_followed, reap),
        cmocka_unit_test_teardown(test_root_default_emu_dir, reap),
        cmocka_unit_test_teardown(test_second_manager_on_same_system, reap),
        cmocka_unit_test_teardown(test_fmctl_emu_extra_arguments, reap),
        cmocka_unit_test_teardown(test_second_daemon_same_socket, reap),
        cmocka_unit_test_teardown(test_second_daemon_same_state_file, reap),
        cmocka_unit_test_teardown(test_files_not_world_writable, reap),
        cmocka_unit_test_teardown(test_daemonize_unopenable_log, reap),
        cmocka_unit_test_teardown(test_set_active_after_double_dash, reap),
        cmocka_unit_test_teardown(test_check_mode, reap),
        cmocka_unit_test_teardown(test_probe_all_is_one_snapshot, reap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
