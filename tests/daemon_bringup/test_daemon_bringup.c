/* End-to-end: the real `openfm` binary on every built-in emulated platform.
 * The daemon is started the way an init script would (DAEMONIZE=1: the
 * command returns 0 only once the fabric is ready), then the emulator's
 * traffic probe - not the daemon - says which GPU pairs reach each other and
 * over how many links. Fault cases assert on the daemon's log file. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/model_mode.h"
#include "openfm/emu.h"

typedef struct {
    char dir[64];
    char emu[128];
    char cfg[128];
    char log[128];
    char pidfile[128];
    pid_t pid;
    int pid_fd;
    ofm_hal *h;
    ofm_platform p;
} daemon_fx;

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

/* Start openfm on a fresh emulated `platform`; returns its exit status
 * (0: ready). Extra config lines are appended. */
static int start(daemon_fx *d, const char *platform, const char *extra)
{
    memset(d, 0, sizeof *d);
    d->pid_fd = -1;
    snprintf(d->dir, sizeof d->dir, "/tmp/ofm-daemon-test-XXXXXX");
    assert_non_null(mkdtemp(d->dir));
    snprintf(d->emu, sizeof d->emu, "%s/emu", d->dir);
    snprintf(d->cfg, sizeof d->cfg, "%s/fabricmanager.cfg", d->dir);
    snprintf(d->log, sizeof d->log, "%s/fm.log", d->dir);
    snprintf(d->pidfile, sizeof d->pidfile, "%s/fm.pid", d->dir);
    char err[512];
    if (ofm_emu_create(d->emu, platform, true, err, sizeof err) != OFM_HAL_OK)
        fail_msg("create %s: %s", platform, err);
    char cfg[2048];
    snprintf(cfg, sizeof cfg,
             "# written by test_daemon_bringup\n"
             "DAEMONIZE=1\nLOG_LEVEL=4\nLOG_FILE_NAME=%s\n"
             "FM_CMD_UNIX_SOCKET_PATH=%s/fm.sock\nSTATE_FILE_NAME=%s/fm.state\n"
             "TOPOLOGY_FILE_PATH=%s\n%s=%s\nOPENFM_PID_FILE=%s\n"
             "OPENFM_STATUS_FILE=%s/status.json\nOPENFM_MONITOR_INTERVAL_MS=10\n%s",
             d->log, d->dir, d->dir, d->dir, mm_emu_key(), d->emu, d->pidfile, d->dir, extra ? extra : "");
    write_file(d->cfg, cfg);
    if (ofm_emu_open(d->emu, &d->h, err, sizeof err) != OFM_HAL_OK)
        fail_msg("open: %s", err);
    ofm_error perr;
    assert_int_equal(ofm_platform_load(platform, NULL, &d->p, &perr), 0);
    return 0;
}

/* Daemons started and not yet stopped. A failed assertion longjmps past
 * stop(); the daemon (it daemonized, so it is no child of ours) would then
 * outlive the test program, spin its monitor and hold ctest's pipe. At exit
 * each one whose PID-file lock is still held is killed. */
static struct {
    pid_t pid;
    int fd;
} g_live[64];

static void kill_leftovers(void)
{
    for (size_t i = 0; i < sizeof g_live / sizeof g_live[0]; i++)
        if (g_live[i].pid > 0 && flock(g_live[i].fd, LOCK_EX | LOCK_NB) != 0)
            kill(g_live[i].pid, SIGKILL);
}

static void track(pid_t pid, int fd, bool on)
{
    for (size_t i = 0; i < sizeof g_live / sizeof g_live[0]; i++)
        if (on ? g_live[i].pid <= 0 : g_live[i].pid == pid) {
            g_live[i].pid = on ? pid : 0;
            g_live[i].fd = fd;
            return;
        }
}

static int run_daemon(daemon_fx *d)
{
    const char *build = getenv("OPENFM_BUILD_DIR");
    assert_non_null(build);
    char bin[512];
    snprintf(bin, sizeof bin, "%s/bin/openfm", build);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (mm_enabled())
            execl(mm_wrapper(), mm_wrapper(), d->emu, "--", bin, "-c", d->cfg, (char *)NULL);
        else
            execl(bin, "openfm", "-c", d->cfg, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) == 0) {
        FILE *f = fopen(d->pidfile, "r");
        assert_non_null(f);
        long v = 0;
        assert_int_equal(fscanf(f, "%ld", &v), 1);
        fclose(f);
        d->pid = (pid_t)v;
        d->pid_fd = open(d->pidfile, O_RDONLY | O_CLOEXEC);
        assert_true(d->pid_fd >= 0);
        track(d->pid, d->pid_fd, true);
    } else {
        /* The daemonizing parent reports the failure before the daemon has
         * finished its cleanup; it holds the emulated system (fm.lock) until
         * it exits, so wait for that before the test removes its files. */
        struct timespec t0, now, nap = {0, 2 * 1000 * 1000};
        clock_gettime(CLOCK_MONOTONIC, &t0);
        while (ofm_emu_fm_running(d->h)) {
            clock_gettime(CLOCK_MONOTONIC, &now);
            if (now.tv_sec - t0.tv_sec > 10)
                fail_msg("the failed daemon still holds the emulated system after 10 s");
            nanosleep(&nap, NULL);
        }
    }
    return WEXITSTATUS(status);
}

/* Unlink the plain files (and sockets) directly in `dir`. */
static void remove_files(const char *dir)
{
    DIR *dp = opendir(dir);
    if (!dp)
        return;
    struct dirent *e;
    char path[512];
    while ((e = readdir(dp))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, e->d_name) < sizeof path)
            unlink(path); /* directories (the emulated system) fail here and are handled apart */
    }
    closedir(dp);
}

/* SIGTERM, then wait for the daemon's PID-file lock to be released: it holds
 * the lock for its whole life, so a blocking flock returns when it is gone. */
static void stop_daemon(daemon_fx *d)
{
    if (d->pid > 0) {
        track(d->pid, d->pid_fd, false);
        assert_int_equal(kill(d->pid, SIGTERM), 0);
        assert_int_equal(flock(d->pid_fd, LOCK_EX), 0);
        close(d->pid_fd);
        d->pid = 0;
    }
}

static void stop(daemon_fx *d)
{
    stop_daemon(d);
    char err[512];
    ofm_hal_close(d->h);
    ofm_emu_destroy(d->emu, err, sizeof err);
    /* Whatever the daemon, the driver model or the test left beside the
     * system goes, without a list to keep in step with them. */
    remove_files(d->emu);
    rmdir(d->emu);
    remove_files(d->dir);
    assert_int_equal(rmdir(d->dir), 0);
}

static char *read_log(const daemon_fx *d)
{
    FILE *f = fopen(d->log, "r");
    if (!f)
        return calloc(1, 1);
    char *buf = calloc(1, 1 << 20);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* Poll the log for `needle` with a bounded deadline (the daemon's monitor runs
 * on its own timer); returns the log text or fails. */
static char *wait_log(const daemon_fx *d, const char *needle)
{
    struct timespec t0, now, nap = {0, 5 * 1000 * 1000};
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        char *text = read_log(d);
        if (strstr(text, needle))
            return text;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - t0.tv_sec > 10) {
            fprintf(stderr, "log so far:\n%s\n", text);
            free(text);
            fail_msg("'%s' not logged within 10 s", needle);
        }
        free(text);
        nanosleep(&nap, NULL);
    }
}

/* The log line holding `needle` also holds `tag` (e.g. its level). */
static bool line_has(const char *log, const char *needle, const char *tag)
{
    const char *hit = strstr(log, needle);
    if (!hit)
        return false;
    const char *start = hit;
    while (start > log && start[-1] != '\n')
        start--;
    const char *t = strstr(start, tag);
    return t && t < hit;
}

static void check_mesh(daemon_fx *d, uint32_t want)
{
    for (size_t i = 0; i < d->p.ngpus; i++)
        for (size_t j = 0; j < d->p.ngpus; j++) {
            if (i == j)
                continue;
            ofm_emu_probe_result r;
            uint32_t a = d->p.gpus[i].phys_id, b = d->p.gpus[j].phys_id;
            assert_int_equal(ofm_emu_probe(d->h, a, b, true, &r), OFM_HAL_OK);
            if (!r.arrives || r.links != want)
                fail_msg("%s: GPU %u -> GPU %u: %s over %u links, expected %u", d->p.name, a, b,
                         r.arrives ? "arrives" : "dropped", r.links, want);
        }
}

static void mesh(const char *platform, uint32_t links)
{
    daemon_fx d;
    start(&d, platform, NULL);
    assert_int_equal(run_daemon(&d), 0);
    check_mesh(&d, links);
    char *log = read_log(&d);
    assert_non_null(strstr(log, "fabric ready on"));
    free(log);
    stop(&d);
}

static void hgx_h100(void **s) { (void)s; mesh("hgx-h100", 18); }

/* Runtime SXids on H100 (no trunks): a fatal one on an access port names the
 * GPU and its recovery; a non-fatal one is a warning. */
static void hgx_h100_sxid(void **s);
static void hgx_h800(void **s) { (void)s; mesh("hgx-h800", 8); }
static void hgx_h200(void **s) { (void)s; mesh("hgx-h200", 18); }
static void hgx_b200(void **s) { (void)s; mesh("hgx-b200", 18); }
static void hgx_a100(void **s) { (void)s; mesh("hgx-a100", 12); }
static void hgx_a800(void **s) { (void)s; mesh("hgx-a800", 8); }
static void hgx_a100_2b(void **s) { (void)s; mesh("hgx-a100-2b", 12); }  /* within and across boards */
static void hgx_2(void **s) { (void)s; mesh("hgx-2", 6); }

/* Two-board A100 with a dead trunk and the default TRUNK_LINK_FAILURE_MODE=0:
 * the daemon refuses to declare the fabric ready (FM §9.3.2). */
static void trunk_failure_mode0_not_ready(void **s)
{
    (void)s;
    daemon_fx d;
    start(&d, "hgx-a100-2b", NULL);
    assert_int_equal(ofm_emu_inject_port_down(d.h, d.p.trunks[0].sw_a, d.p.trunks[0].port_a), 0);
    assert_int_equal(run_daemon(&d), 1);
    char *log = read_log(&d);
    assert_non_null(strstr(log, "TRUNK_LINK_FAILURE_MODE=0"));
    assert_non_null(strstr(log, "cudaErrorSystemNotReady"));
    free(log);
    ofm_emu_probe_result r;
    assert_int_equal(ofm_emu_probe(d.h, d.p.gpus[0].phys_id, d.p.gpus[1].phys_id, true, &r), 0);
    assert_false(r.arrives);
    stop(&d);
}

/* An A100 whose MIG mode is on when the fabric manager starts has its NVLinks
 * disabled by the driver: the daemon must leave them untrained and unrouted,
 * say why, and still mesh the other GPUs (FM §8.9). */
static void a100_mig_at_startup_keeps_links_down(void **s)
{
    (void)s;
    daemon_fx d;
    start(&d, "hgx-a100", NULL);
    uint32_t mig = d.p.gpus[0].phys_id;
    assert_int_equal(d.h->ops->mig_mode_set(d.h, mig, true), OFM_HAL_OK);
    assert_int_equal(d.h->ops->gpu_reset(d.h, mig), OFM_HAL_OK); /* Ampere: takes effect at reset */
    assert_int_equal(run_daemon(&d), 0);
    char *log = read_log(&d);
    assert_non_null(strstr(log, "MIG mode is enabled, so its NVLinks stay untrained and unrouted"));
    assert_null(strstr(log, "reseat or RMA")); /* not reported as a hardware failure */
    /* the HA policy line gives the real reason, not a link failure */
    char want[160];
    snprintf(want, sizeof want, "policy: GPU %u is in MIG mode, which keeps its NVLinks untrained "
                                "(FM §8.9): removed from NVLink peer-to-peer routing", mig);
    if (!strstr(log, want) || strstr(log, "has failed access links"))
        fail_msg("the policy line does not give MIG mode as the reason:\n%s", log);
    free(log);
    for (size_t i = 0; i < d.p.ngpus; i++)
        for (size_t j = 0; j < d.p.ngpus; j++) {
            if (i == j)
                continue;
            uint32_t a = d.p.gpus[i].phys_id, b = d.p.gpus[j].phys_id;
            ofm_emu_probe_result r;
            assert_int_equal(ofm_emu_probe(d.h, a, b, true, &r), OFM_HAL_OK);
            if (a == mig || b == mig) {
                if (r.arrives)
                    fail_msg("GPU %u -> GPU %u arrives over %u links with GPU %u in MIG mode", a, b,
                             r.links, mig);
            } else if (!r.arrives || r.links != 12) {
                fail_msg("GPU %u -> GPU %u: %s over %u links, expected 12", a, b,
                         r.arrives ? "arrives" : "dropped", r.links);
            }
        }
    /* the links of the MIG GPU were never trained */
    ofm_hal_link l;
    const ofm_access_link *al = NULL;
    for (size_t a = 0; a < d.p.naccess && !al; a++)
        if (d.p.access[a].gpu == mig)
            al = &d.p.access[a];
    assert_non_null(al);
    assert_int_equal(d.h->ops->switch_port(d.h, al->sw, al->sw_port, &l), OFM_HAL_OK);
    assert_int_not_equal(l.state, OFM_LINK_ACTIVE);
    stop(&d);
}

/* A datagram socket standing in for /dev/log (the daemon sends its syslog
 * lines to $OPENFM_SYSLOG_SOCKET when set). */
static int syslog_listen(const daemon_fx *d)
{
    char path[256];
    snprintf(path, sizeof path, "%s/syslog.sock", d->dir);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    assert_true(strlen(path) < sizeof sa.sun_path);
    memcpy(sa.sun_path, path, strlen(path) + 1);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(setenv("OPENFM_SYSLOG_SOCKET", path, 1), 0);
    return fd;
}

/* Wait (poll with a deadline) for a syslog datagram holding `needle`. */
static void wait_syslog(int fd, const char *needle, char *got, size_t len)
{
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        clock_gettime(CLOCK_MONOTONIC, &now);
        long left = 10000 - ((now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000);
        if (left <= 0)
            fail_msg("'%s' not sent to syslog within 10 s", needle);
        if (poll(&p, 1, (int)left) <= 0)
            continue;
        ssize_t n = recv(fd, got, len - 1, 0);
        if (n <= 0)
            continue;
        got[n] = '\0';
        if (strstr(got, needle))
            return;
    }
}

/* Injected fatal SXids at run time: access port, then trunk port. The lines
 * start with NVIDIA FM's words, carry the switch's and GPU's PCI addresses,
 * and reach both the log file and syslog although LOG_USE_SYSLOG=0. */
static void fatal_sxid_access_and_trunk(void **s)
{
    (void)s;
    daemon_fx d;
    start(&d, "hgx-a100-2b", NULL);
    int sfd = syslog_listen(&d);
    assert_int_equal(run_daemon(&d), 0);
    unsetenv("OPENFM_SYSLOG_SOCKET");

    const ofm_access_link *a = &d.p.access[3];
    ofm_hal_switch sws[OFM_MAX_SWITCHES];
    ofm_hal_gpu gpus[OFM_MAX_GPUS];
    size_t ns = 0, ng = 0;
    assert_int_equal(d.h->ops->list_switches(d.h, sws, OFM_MAX_SWITCHES, &ns), 0);
    assert_int_equal(d.h->ops->list_gpus(d.h, gpus, OFM_MAX_GPUS, &ng), 0);
    const char *spci = NULL, *gpci = NULL;
    for (size_t i = 0; i < ns; i++)
        if (sws[i].phys_id == a->sw)
            spci = sws[i].pci_bdf;
    for (size_t i = 0; i < ng; i++)
        if (gpus[i].phys_id == a->gpu)
            gpci = gpus[i].pci_bdf;
    assert_non_null(spci);
    assert_non_null(gpci);
    assert_int_equal(ofm_emu_inject_sxid(d.h, a->sw, a->sw_port, 12002, true, "egress packet route"), 0);
    char want[512];
    snprintf(want, sizeof want,
             "detected NVSwitch fatal error 12002 on fid 0 on NVSwitch pci bus id 0000%s physical id "
             "%u port %u: SXid 12002 (Egress packet route), fatal, on NVSwitch %u port %u, "
             "access port (GPU %u link %u, GPU pci bus id 0000%s), affected: GPU %u; NVSwitch UUID ",
             spci, a->sw, a->sw_port, a->sw, a->sw_port, a->gpu, a->gpu_link, gpci, a->gpu);
    char *log = wait_log(&d, want);
    assert_true(line_has(log, want, "[ERROR]"));
    assert_null(strstr(log, "fabric degraded"));
    free(log);
    log = wait_log(&d, "Recovery: reset the GPU");
    free(log);
    static char got[4096];
    wait_syslog(sfd, "detected NVSwitch fatal error 12002 on fid 0 on NVSwitch pci bus id ", got,
                sizeof got);
    assert_non_null(strstr(got, "nv-fabricmanager["));
    assert_non_null(strstr(got, want));

    const ofm_trunk_link *t = &d.p.trunks[0];
    assert_int_equal(ofm_emu_inject_sxid(d.h, t->sw_a, t->port_a, 19047, true, "ncisoc hdr ecc dbe"), 0);
    snprintf(want, sizeof want,
             "SXid 19047 (NCISOC header ECC DBE error), fatal, on NVSwitch %u port %u, trunk port "
             "(to switch %u port %u), affected: GPUs 1,",
             t->sw_a, t->port_a, t->sw_b, t->port_b);
    log = wait_log(&d, want);
    assert_non_null(strstr(log, "Recovery: stop the fabric manager, stop all applications using "
                                "the GPUs, reset all GPUs and NVSwitches with nvidia-smi -r (without -i)"));
    free(log);
    log = wait_log(&d, "[CRITICAL]");
    assert_non_null(strstr(log, "fabric degraded"));
    free(log);
    wait_syslog(sfd, "fabric degraded", got, sizeof got);
    close(sfd);
    stop(&d);
}

/* LOG_USE_SYSLOG=1: everything goes to syslog, and the fatal handling lines
 * also to LOG_FILE_NAME (FM §3.3.1); ordinary lines stay out of the file. */
static void fatal_lines_reach_file_with_syslog_on(void **s)
{
    (void)s;
    daemon_fx d;
    start(&d, "hgx-a100", "LOG_USE_SYSLOG=1\n");
    int sfd = syslog_listen(&d);
    assert_int_equal(run_daemon(&d), 0);
    unsetenv("OPENFM_SYSLOG_SOCKET");
    static char got[4096];
    /* bring-up went to syslog (what the socket's small queue kept of it) */
    bool ready = false;
    ssize_t n;
    while ((n = recv(sfd, got, sizeof got - 1, MSG_DONTWAIT)) > 0) {
        got[n] = '\0';
        ready = ready || strstr(got, "nv-fabricmanager[");
    }
    assert_true(ready);
    const ofm_access_link *a = &d.p.access[0];
    /* the alert first: it waits for room in the socket's queue, so what
     * follows finds the queue empty */
    assert_int_equal(ofm_emu_inject_xid(d.h, a->gpu, 79, "fell off the bus"), 0);
    wait_syslog(sfd, "Xid 79 (GPU has fallen off the bus)", got, sizeof got);
    assert_int_equal(ofm_emu_inject_sxid(d.h, a->sw, a->sw_port, 20001, false, "tx replay"), 0);
    wait_syslog(sfd, "detected NVSwitch non-fatal error 20001", got, sizeof got);
    char *log = wait_log(&d, "Xid 79 (GPU has fallen off the bus)");
    assert_null(strstr(log, "fabric ready on"));
    assert_null(strstr(log, "error 20001"));
    free(log);
    close(sfd);
    stop(&d);
}

/* GPU 1 -> GPU 2 over NVLink, as the emulator's probe sees it. */
static bool traffic_flows(daemon_fx *d)
{
    ofm_emu_probe_result r;
    assert_int_equal(ofm_emu_probe(d->h, d->p.gpus[0].phys_id, d->p.gpus[1].phys_id, true, &r), 0);
    return r.arrives;
}

/* NVIDIA's keys without a subject in openfm are accepted and each says so
 * at start-up; ABORT_CUDA_JOBS_ON_FM_EXIT acts on A100-class bare metal:
 * 1 tears routing down when the manager exits (running jobs lose NVLink and
 * abort), 0 leaves it (they continue); no effect on H100. */
static void nvidia_keys_accepted_and_abort_on_exit(void **s)
{
    (void)s;
    static const char keys[] = "BIND_INTERFACE_IP=127.0.0.1\nSTARTING_TCP_PORT=16000\n"
                               "UNIX_SOCKET_PATH=\nDATABASE_PATH=/usr/share/nvidia/nvswitch\n";
    char extra[512];
    daemon_fx d;
    snprintf(extra, sizeof extra, "%sABORT_CUDA_JOBS_ON_FM_EXIT=1\n", keys);
    start(&d, "hgx-a100", extra);
    assert_int_equal(run_daemon(&d), 0);
    assert_true(traffic_flows(&d));
    stop_daemon(&d);
    assert_false(traffic_flows(&d)); /* running jobs lose NVLink: aborted */
    char *log = read_log(&d);
    const char *inert[] = {"BIND_INTERFACE_IP=127.0.0.1: accepted, not applicable to openfm because ",
                           "STARTING_TCP_PORT=16000: accepted, not applicable to openfm because ",
                           "UNIX_SOCKET_PATH=: accepted, not applicable to openfm because ",
                           ("DATABASE_PATH=/usr/share/nvidia/nvswitch: accepted, not applicable to "
                            "openfm because ")};
    for (size_t i = 0; i < 4; i++)
        if (!strstr(log, inert[i]))
            fail_msg("no start-up line '%s'", inert[i]);
    assert_non_null(strstr(log, "ABORT_CUDA_JOBS_ON_FM_EXIT=1: when the fabric manager exits, "
                                "running CUDA jobs are aborted"));
    assert_non_null(strstr(log, "ABORT_CUDA_JOBS_ON_FM_EXIT=1: NVLink routing torn down"));
    free(log);
    stop(&d);

    snprintf(extra, sizeof extra, "%sABORT_CUDA_JOBS_ON_FM_EXIT=0\n", keys);
    start(&d, "hgx-a100", extra);
    assert_int_equal(run_daemon(&d), 0);
    stop_daemon(&d);
    assert_true(traffic_flows(&d)); /* running jobs continue */
    assert_false(ofm_emu_fm_running(d.h)); /* and nothing serves new launches */
    log = read_log(&d);
    assert_non_null(strstr(log, "new CUDA launches fail until a fabric manager runs again"));
    free(log);
    stop(&d);

    snprintf(extra, sizeof extra, "%sABORT_CUDA_JOBS_ON_FM_EXIT=1\n", keys);
    start(&d, "hgx-h100", extra);
    assert_int_equal(run_daemon(&d), 0);
    stop_daemon(&d);
    assert_true(traffic_flows(&d)); /* H100: no effect */
    log = read_log(&d);
    assert_non_null(strstr(log, "ABORT_CUDA_JOBS_ON_FM_EXIT=1: accepted, not applicable to openfm "
                                "because this system's links train autonomously"));
    free(log);
    stop(&d);
}

/* FABRIC_MODE=2 on HGX-2 is refused at start-up, naming the platform and the
 * modes it supports (FM §8.1); vGPU stays available on H100. */
static void vgpu_refused_on_hgx2_only(void **s)
{
    (void)s;
    daemon_fx d;
    start(&d, "hgx-2", "FABRIC_MODE=2\n");
    assert_int_equal(run_daemon(&d), 1);
    char *log = read_log(&d);
    assert_non_null(strstr(log, "FABRIC_MODE=2 (vGPU) is not supported on hgx-2"));
    assert_non_null(strstr(log, "the supported modes on this platform are FABRIC_MODE=0 (bare metal "
                                "or full passthrough) and FABRIC_MODE=1 (shared NVSwitch)"));
    free(log);
    stop(&d);

    start(&d, "hgx-h100", "FABRIC_MODE=2\n");
    assert_int_equal(run_daemon(&d), 0);
    log = read_log(&d);
    assert_null(strstr(log, "is not supported on"));
    assert_non_null(strstr(log, "vGPU mode:"));
    free(log);
    stop(&d);
}

/* An SXid the switch recorded before the fabric manager started (kernel log,
 * driver error buffer) is history: the monitor must not report it after
 * "ready" as a new runtime error with runtime advice. One raised after the
 * start is reported. Under the driver model this runs on the real NVSwitch
 * backend, whose read position lives in the driver's error buffer. */
static void hgx_h100_sxid_before_start(void **s)
{
    (void)s;
    daemon_fx d;
    start(&d, "hgx-h100", NULL);
    const ofm_access_link *a = &d.p.access[5];
    assert_int_equal(ofm_emu_inject_sxid(d.h, a->sw, a->sw_port, 12028, false, "before start"), 0);
    assert_int_equal(run_daemon(&d), 0);
    assert_int_equal(ofm_emu_inject_sxid(d.h, a->sw, a->sw_port, 20001, false, "after start"), 0);
    char *log = wait_log(&d, "error 20001");
    if (strstr(log, "error 12028"))
        fail_msg("an SXid from before the start was reported as new:\n%s", log);
    free(log);
    stop(&d);
}

static void hgx_h100_sxid(void **s)
{
    (void)s;
    daemon_fx d;
    start(&d, "hgx-h100", NULL);
    assert_int_equal(run_daemon(&d), 0);
    const ofm_access_link *a = &d.p.access[5];
    ofm_hal_switch sws[OFM_MAX_SWITCHES];
    ofm_hal_gpu gpus[OFM_MAX_GPUS];
    size_t ns = 0, ng = 0;
    assert_int_equal(d.h->ops->list_switches(d.h, sws, OFM_MAX_SWITCHES, &ns), 0);
    assert_int_equal(d.h->ops->list_gpus(d.h, gpus, OFM_MAX_GPUS, &ng), 0);
    const char *spci = NULL, *gpci = NULL;
    for (size_t i = 0; i < ns; i++)
        if (sws[i].phys_id == a->sw)
            spci = sws[i].pci_bdf;
    for (size_t i = 0; i < ng; i++)
        if (gpus[i].phys_id == a->gpu)
            gpci = gpus[i].pci_bdf;
    assert_non_null(spci);
    assert_non_null(gpci);
    assert_int_equal(ofm_emu_inject_sxid(d.h, a->sw, a->sw_port, 12002, true, "egress packet route"), 0);
    char want[512];
    snprintf(want, sizeof want,
             "detected NVSwitch fatal error 12002 on fid 0 on NVSwitch pci bus id 0000%s physical id "
             "%u port %u: SXid 12002 (Egress packet route), fatal, on NVSwitch %u port %u, "
             "access port (GPU %u link %u, GPU pci bus id 0000%s), affected: GPU %u; NVSwitch UUID ",
             spci, a->sw, a->sw_port, a->sw, a->sw_port, a->gpu, a->gpu_link, gpci, a->gpu);
    char *log = wait_log(&d, want);
    assert_true(line_has(log, want, "[ERROR]"));
    assert_non_null(strstr(log, "Recovery: reset the GPU"));
    free(log);
    const ofm_access_link *b = &d.p.access[40];
    assert_int_equal(ofm_emu_inject_sxid(d.h, b->sw, b->sw_port, 11004, false, "ingress invalid ACL"), 0);
    snprintf(want, sizeof want, "SXid 11004 (Ingress invalid ACL), non-fatal, on NVSwitch %u port %u",
             b->sw, b->sw_port);
    log = wait_log(&d, want);
    assert_true(line_has(log, want, "[WARNING]"));
    free(log);
    stop(&d);
}

int main(void)
{
    atexit(kill_leftovers);
    mm_apply_filter();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hgx_h100), cmocka_unit_test(hgx_h100_sxid), cmocka_unit_test(hgx_h100_sxid_before_start), cmocka_unit_test(hgx_h800), cmocka_unit_test(hgx_h200), cmocka_unit_test(hgx_b200), cmocka_unit_test(hgx_a100),
        cmocka_unit_test(hgx_a800), cmocka_unit_test(hgx_a100_2b), cmocka_unit_test(hgx_2),
        cmocka_unit_test(trunk_failure_mode0_not_ready),
        cmocka_unit_test(a100_mig_at_startup_keeps_links_down),
        cmocka_unit_test(fatal_sxid_access_and_trunk),
        cmocka_unit_test(fatal_lines_reach_file_with_syslog_on),
        cmocka_unit_test(vgpu_refused_on_hgx2_only),
        cmocka_unit_test(nvidia_keys_accepted_and_abort_on_exit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
