/*
 * sdk_rtt — round-trip cost of the SDK compared with a raw socket
 * ping-pong moving the same bytes over the same transport.
 *
 *   sdk_rtt [-n LIST_ITERS] [-m PAIR_ITERS] [--unix]
 *           [--connect ADDR | --daemon BINARY]
 *
 * Without --connect/--daemon it serves the SDK itself (the real API server
 * on a libevent thread) with an in-process stand-in for an emulated HGX
 * H100 in shared NVSwitch mode: the 15 default partitions. --daemon starts
 * the openfm daemon BINARY on a fresh emulated hgx-h100 (FABRIC_MODE=1, in
 * a temporary directory) and measures it; --connect ADDR (a.b.c.d[:port],
 * or a socket path with --unix) measures a daemon already running. With a
 * daemon, the activate/deactivate pair uses the highest-numbered inactive
 * partition.
 *
 * Prints p50/p99 in microseconds for fmGetSupportedFabricPartitions, for an
 * fmActivateFabricPartition + fmDeactivateFabricPartition pair, and for raw
 * ping-pongs with the identical request/reply byte counts, then the ratios.
 *
 * Each acknowledged partition change costs the daemon one appended record
 * and one fdatasync of its state file, so the pair's baseline is what that
 * floor costs here, measured in the same run on the same filesystem as the
 * daemon's state file: two raw ping-pongs each followed by an 80-byte
 * append + fdatasync. With --daemon the pair is measured twice: on the
 * highest-numbered inactive single-GPU partition (no routes to program) and
 * on the highest-numbered inactive two-GPU partition (two emulated route
 * transactions per pair); each must stay within 1.5x of that baseline.
 * The SDK pairs are taken between the baseline's samples, so both see the
 * same load on a shared machine.
 *
 * With --daemon it then measures one partition change on a partition
 * defined live (ofmCreateFabricPartition), on the emulated hgx-h100 and on
 * the emulated gb200-nvl72 in the same run: each sample is one
 * ofmActivateFabricPartitionAny and one ofmDeactivateFabricPartitionAny,
 * timed separately (each is one SDK round trip, one batched route write
 * and one durable state-file record). H100: a 4-GPU partition; NVL72: a
 * tray (4 GPUs), a 36-GPU partition (9 compute trays) and the whole rack. The NVL72 change
 * is reported against the H100 one and against the durable floor (append +
 * fdatasync on the state file's filesystem), with the target of under
 * 5 ms per change on NVL72.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "api/api_server.h"
#include "nv_fm_agent.h"
#include "sdk/nvfm_ext.h"
#include "wire/wire.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: sdk_rtt [options]\n"
            "  -n N            fmGetSupportedFabricPartitions iterations (default 2000)\n"
            "  -m N            activate+deactivate pairs (default 500)\n"
            "  --unix          use a Unix socket instead of TCP on 127.0.0.1\n"
            "  --connect ADDR  measure a running daemon at ADDR (a.b.c.d[:port], or a\n"
            "                  socket path with --unix) instead of the built-in stand-in\n"
            "  --daemon BIN    start daemon BIN (-c CONFIG) on a fresh emulated hgx-h100 in\n"
            "                  FABRIC_MODE=1 under a temporary directory and measure it;\n"
            "                  the pair is then also compared with two ping-pongs each\n"
            "                  followed by an append + fdatasync on that filesystem\n"
            "  -c N            live partition changes per platform with --daemon (default 100)\n"
            "  -h, --help      this text\n");
}

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double *v, unsigned n, double p)
{
    qsort(v, n, sizeof *v, cmp_d);
    unsigned i = (unsigned)(p * (n - 1) + 0.5);
    return v[i];
}

/* ---- stand-in for an emulated H100 in FABRIC_MODE=1 ------------------ */

typedef struct {
    fmFabricPartitionInfo_t parts[15];
    unsigned n;
} h100_model;

static void h100_init(h100_model *m)
{
    /* Default HGX H100 partitions: one of 8 GPUs, two of 4, four of 2,
     * eight of 1. */
    static const unsigned sizes[] = {8, 4, 4, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1};
    unsigned first[] = {0, 0, 4, 0, 2, 4, 6, 0, 1, 2, 3, 4, 5, 6, 7};
    memset(m, 0, sizeof *m);
    m->n = 15;
    for (unsigned p = 0; p < 15; p++) {
        fmFabricPartitionInfo_t *pi = &m->parts[p];
        pi->partitionId = p;
        pi->numGpus = sizes[p];
        for (unsigned g = 0; g < sizes[p]; g++) {
            pi->gpuInfo[g].physicalId = first[p] + g + 1;
            pi->gpuInfo[g].numNvLinksAvailable = sizes[p] > 1 ? 18 : 0;
            pi->gpuInfo[g].maxNumNvLinks = sizes[p] > 1 ? 18 : 0;
            pi->gpuInfo[g].nvlinkLineRateMBps = sizes[p] > 1 ? 25000 : 0;
        }
    }
}

static fmReturn_t m_list(void *ctx, fmFabricPartitionList_t *out)
{
    h100_model *m = ctx;
    out->numPartitions = m->n;
    out->maxNumPartitions = FM_MAX_FABRIC_PARTITIONS;
    memcpy(out->partitionInfo, m->parts, m->n * sizeof m->parts[0]);
    return FM_ST_SUCCESS;
}

static fmReturn_t m_activate(void *ctx, fmFabricPartitionId_t id)
{
    h100_model *m = ctx;
    if (id >= m->n)
        return FM_ST_BADPARAM;
    if (m->parts[id].isActive)
        return FM_ST_IN_USE;
    m->parts[id].isActive = 1;
    return FM_ST_SUCCESS;
}

static fmReturn_t m_deactivate(void *ctx, fmFabricPartitionId_t id)
{
    h100_model *m = ctx;
    if (id >= m->n)
        return FM_ST_BADPARAM;
    if (!m->parts[id].isActive)
        return FM_ST_UNINITIALIZED;
    m->parts[id].isActive = 0;
    return FM_ST_SUCCESS;
}

static void *loop_main(void *base)
{
    event_base_dispatch(base);
    return NULL;
}

static ofm_api_server *g_srv;

static void on_stop(evutil_socket_t fd, short what, void *base)
{
    char b;
    (void)what;
    if (read(fd, &b, 1) == 1) {
        ofm_api_server_stop(g_srv);
        event_base_loopbreak(base);
    }
}

/* ---- raw ping-pong peer ---------------------------------------------- */

typedef struct {
    int lfd;
    size_t req_a, rep_a, req_b, rep_b; /* two alternating exchange shapes */
    unsigned count_a, count_b;         /* how many of each, a's first */
} raw_peer;

static int read_full(int fd, void *buf, size_t n)
{
    size_t off = 0;
    while (off < n) {
        ssize_t r = read(fd, (char *)buf + off, n - off);
        if (r <= 0) {
            if (r < 0 && errno == EINTR)
                continue;
            return -1;
        }
        off += (size_t)r;
    }
    return 0;
}

static int write_full(int fd, const void *buf, size_t n)
{
    size_t off = 0;
    while (off < n) {
        ssize_t r = send(fd, (const char *)buf + off, n - off, MSG_NOSIGNAL);
        if (r <= 0) {
            if (r < 0 && errno == EINTR)
                continue;
            return -1;
        }
        off += (size_t)r;
    }
    return 0;
}

static void *raw_main(void *p)
{
    raw_peer *r = p;
    int fd = accept(r->lfd, NULL, NULL);
    if (fd < 0)
        return NULL;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    static uint8_t buf[OFM_WIRE_HEADER_LEN + OFM_WIRE_MAX_REPLY];
    for (unsigned i = 0; i < r->count_a; i++)
        if (read_full(fd, buf, r->req_a) || write_full(fd, buf, r->rep_a))
            break;
    for (unsigned i = 0; i < r->count_b; i++)
        if (read_full(fd, buf, r->req_b) || write_full(fd, buf, r->rep_b))
            break;
    close(fd);
    return NULL;
}

static int listen_on(int use_unix, const char *path, struct sockaddr_storage *ss, socklen_t *sl)
{
    int fd;
    if (use_unix) {
        struct sockaddr_un *sun = (struct sockaddr_un *)ss;
        memset(sun, 0, sizeof *sun);
        sun->sun_family = AF_UNIX;
        if (strlen(path) >= sizeof sun->sun_path) {
            fprintf(stderr, "sdk_rtt: socket path '%s' too long\n", path);
            exit(1);
        }
        memcpy(sun->sun_path, path, strlen(path) + 1);
        unlink(path);
        fd = socket(AF_UNIX, SOCK_STREAM, 0);
        *sl = sizeof *sun;
    } else {
        struct sockaddr_in *sin = (struct sockaddr_in *)ss;
        memset(sin, 0, sizeof *sin);
        sin->sin_family = AF_INET;
        sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        fd = socket(AF_INET, SOCK_STREAM, 0);
        *sl = sizeof *sin;
    }
    if (fd < 0 || bind(fd, (struct sockaddr *)ss, *sl) != 0 || listen(fd, 4) != 0) {
        perror("sdk_rtt: raw listener");
        exit(1);
    }
    getsockname(fd, (struct sockaddr *)ss, sl);
    return fd;
}

/* The durable part of one acknowledged change: an append the size of a
 * state-file change record, then fdatasync. */
static int append_sync(int fd)
{
    static const char rec[80] = "record 2 change 41 5e10c2f7\npartition 14 supported=1 active=1 vfs=-\n";
    return write(fd, rec, sizeof rec) != (ssize_t)sizeof rec || fdatasync(fd) ? -1 : 0;
}

/* SDK samples taken between durable-baseline samples, so that both see the
 * same machine load (a shared machine's load drifts over a run). */
typedef void (*interleave_fn)(void *ctx, unsigned i);

/* n_single exchanges of req_a/rep_a bytes, then n_pairs samples of two
 * req_b/rep_b exchanges (activate and deactivate frames have the same
 * size), then (sync_fd >= 0) n_pairs samples of the same two exchanges each
 * followed by append_sync(sync_fd), calling between(ctx, i) after each. */
static void raw_measure(int use_unix, const char *path, size_t req_a, size_t rep_a,
                        unsigned n_single, size_t req_b, size_t rep_b, unsigned n_pairs,
                        double *single, double *pairs, int sync_fd, double *durable,
                        interleave_fn between, void *ctx)
{
    raw_peer r = {0};
    struct sockaddr_storage ss;
    socklen_t sl;
    r.lfd = listen_on(use_unix, path, &ss, &sl);
    r.req_a = req_a;
    r.rep_a = rep_a;
    r.count_a = n_single;
    r.req_b = req_b;
    r.rep_b = rep_b;
    r.count_b = (sync_fd >= 0 ? 4 : 2) * n_pairs;
    /* The peer is a separate process, as the daemon is: a thread in this
     * process would skip the cross-process wakeup every SDK call pays and
     * make the baseline unfairly fast. */
    fflush(NULL);
    pid_t peer = fork();
    if (peer == 0) {
        raw_main(&r);
        _exit(0);
    }
    int fd = socket(ss.ss_family, SOCK_STREAM, 0);
    if (connect(fd, (struct sockaddr *)&ss, sl) != 0) {
        perror("sdk_rtt: raw connect");
        exit(1);
    }
    int one = 1;
    if (!use_unix)
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    static uint8_t buf[OFM_WIRE_HEADER_LEN + OFM_WIRE_MAX_REPLY];
    memset(buf, 0x5a, sizeof buf);
    for (unsigned i = 0; i < n_single; i++) {
        double t0 = now_us();
        if (write_full(fd, buf, req_a) || read_full(fd, buf, rep_a))
            exit(1);
        single[i] = now_us() - t0;
    }
    for (unsigned i = 0; i < n_pairs; i++) {
        double t0 = now_us();
        if (write_full(fd, buf, req_b) || read_full(fd, buf, rep_b) ||
            write_full(fd, buf, req_b) || read_full(fd, buf, rep_b))
            exit(1);
        pairs[i] = now_us() - t0;
    }
    for (unsigned i = 0; sync_fd >= 0 && i < n_pairs; i++) {
        double t0 = now_us();
        if (write_full(fd, buf, req_b) || read_full(fd, buf, rep_b) || append_sync(sync_fd) ||
            write_full(fd, buf, req_b) || read_full(fd, buf, rep_b) || append_sync(sync_fd)) {
            perror("sdk_rtt: durable baseline");
            exit(1);
        }
        durable[i] = now_us() - t0;
        if (between)
            between(ctx, i);
    }
    close(fd);
    waitpid(peer, NULL, 0);
    close(r.lfd);
    if (use_unix)
        unlink(path);
}

/* ---- a real daemon on an emulated H100 ------------------------------- */

extern char **environ;

/* Every exit path, including the error ones, must take the daemon down. */
static pid_t g_daemon = -1;

static void stop_daemon(void)
{
    if (g_daemon > 0) {
        kill(g_daemon, SIGTERM);
        waitpid(g_daemon, NULL, 0);
        g_daemon = -1;
    }
}

static uint16_t free_tcp_port(void)
{
    struct sockaddr_in sin = {.sin_family = AF_INET};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof sin;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof sin) != 0 ||
        getsockname(fd, (struct sockaddr *)&sin, &sl) != 0) {
        perror("sdk_rtt: free port");
        exit(1);
    }
    close(fd);
    return ntohs(sin.sin_port);
}

/* Where the emulated system and the daemon's PID and status files live: a
 * tmpfs when there is one, as the defaults put them (/run, or
 * $XDG_RUNTIME_DIR). The emulator's route transactions stand in for register
 * writes through the driver, which never touch a disk, and the status
 * document is a view; on the state file's disk their writes would compete
 * with the fdatasync being measured. The state file stays on disk. */
static char g_emu_dir[160];

static int is_tmpfs(const char *path)
{
    struct statfs sf;
    return statfs(path, &sf) == 0 && sf.f_type == TMPFS_MAGIC;
}

static void pick_emu_dir(const char *dir)
{
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    const char *base = xdg && *xdg && is_tmpfs(xdg) ? xdg : is_tmpfs("/dev/shm") ? "/dev/shm" : NULL;
    if (base && snprintf(g_emu_dir, sizeof g_emu_dir, "%s/sdk_rtt-emu-XXXXXX", base) <
                    (int)sizeof g_emu_dir && mkdtemp(g_emu_dir))
        return;
    snprintf(g_emu_dir, sizeof g_emu_dir, "%s", dir);
}

/* Writes the config, starts the daemon, and fills cp->addressInfo. */
static pid_t start_daemon(const char *bin, const char *dir, int use_unix, fmConnectParams_t *cp,
                          const char *platform)
{
    pick_emu_dir(dir);
    char cfg[256];
    snprintf(cfg, sizeof cfg, "%s/fabricmanager.cfg", dir);
    FILE *f = fopen(cfg, "w");
    if (!f) {
        perror(cfg);
        exit(1);
    }
    fprintf(f, "DAEMONIZE=0\nFABRIC_MODE=1\nLOG_LEVEL=3\nLOG_FILE_NAME=%s/fm.log\n"
               "STATE_FILE_NAME=%s/fm.state\nOPENFM_EMU_DIR=%s/emu\nOPENFM_EMULATE=%s\n"
               "OPENFM_PID_FILE=%s/fm.pid\n",
            dir, dir, g_emu_dir, platform, g_emu_dir);
    if (use_unix) {
        fprintf(f, "FM_CMD_UNIX_SOCKET_PATH=%s/daemon.sock\n", dir);
        snprintf(cp->addressInfo, sizeof cp->addressInfo, "%s/daemon.sock", dir);
    } else {
        uint16_t port = free_tcp_port();
        fprintf(f, "FM_CMD_BIND_INTERFACE=127.0.0.1\nFM_CMD_PORT_NUMBER=%u\n", (unsigned)port);
        snprintf(cp->addressInfo, sizeof cp->addressInfo, "127.0.0.1:%u", (unsigned)port);
    }
    fclose(f);
    char *argv[] = {(char *)bin, (char *)"-c", cfg, NULL};
    pid_t pid;
    int rc = posix_spawn(&pid, bin, NULL, NULL, argv, environ);
    if (rc != 0) {
        fprintf(stderr, "sdk_rtt: cannot start %s: %s\n", bin, strerror(rc));
        exit(1);
    }
    g_daemon = pid;
    atexit(stop_daemon);
    return pid;
}

/* Connect once the daemon listens and its partitions are configured. */
static fmHandle_t wait_for_daemon(fmConnectParams_t *cp, pid_t pid, const char *dir,
                                  fmFabricPartitionList_t *list)
{
    double deadline = now_us() + 60e6;
    while (now_us() < deadline) {
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            g_daemon = -1;
            fprintf(stderr, "sdk_rtt: the daemon exited (status %d); see %s/fm.log\n", st, dir);
            exit(1);
        }
        fmHandle_t h;
        if (fmConnect(cp, &h) == FM_ST_SUCCESS) {
            list->version = fmFabricPartitionList_version;
            fmReturn_t rc = fmGetSupportedFabricPartitions(h, list);
            if (rc == FM_ST_SUCCESS)
                return h;
            fmDisconnect(h);
            if (rc != FM_ST_NOT_CONFIGURED) {
                fprintf(stderr, "sdk_rtt: the daemon answers the partition list with %d\n",
                        (int)rc);
                exit(1);
            }
        }
        /* Start-up polling only; the measurement itself never sleeps. */
        struct timespec ts = {.tv_sec = 0, .tv_nsec = 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    fprintf(stderr, "sdk_rtt: the daemon did not serve partitions within 60 s; see %s/fm.log\n",
            dir);
    exit(1);
}

static size_t frame_size_request(ofm_wire_op op, fmFabricPartitionId_t id)
{
    ofm_wire_request rq = {.request_id = 1, .op = op, .partition_id = id};
    if (op == OFM_OP_GET_SUPPORTED)
        rq.struct_version = fmFabricPartitionList_version;
    uint8_t *f;
    size_t n;
    if (ofm_wire_encode_request(&rq, &f, &n, NULL) != 0)
        exit(1);
    free(f);
    return n;
}

static size_t frame_size_reply(ofm_wire_op op, fmFabricPartitionList_t *l)
{
    ofm_wire_reply rp = {.request_id = 1, .op = op, .status = FM_ST_SUCCESS, .partitions = l};
    uint8_t *f;
    size_t n;
    if (ofm_wire_encode_reply(&rp, &f, &n, NULL) != 0)
        exit(1);
    free(f);
    return n;
}

/* One activate+deactivate pair of partition `id`, timed. */
static double one_pair(fmHandle_t hd, fmFabricPartitionId_t id)
{
    double t0 = now_us();
    fmReturn_t a = fmActivateFabricPartition(hd, id);
    fmReturn_t d = fmDeactivateFabricPartition(hd, id);
    double t = now_us() - t0;
    if (a != FM_ST_SUCCESS || d != FM_ST_SUCCESS) {
        fprintf(stderr, "sdk_rtt: activate/deactivate of partition %u failed: %d/%d\n", id,
                (int)a, (int)d);
        exit(1);
    }
    return t;
}

typedef struct {
    fmHandle_t hd;
    fmFabricPartitionId_t single, routed;
    int have_routed;
    double *s_single, *s_routed;
} pair_ctx;

static void pairs_between(void *p, unsigned i)
{
    pair_ctx *c = p;
    c->s_single[i] = one_pair(c->hd, c->single);
    if (c->have_routed)
        c->s_routed[i] = one_pair(c->hd, c->routed);
}

/* ---- one partition change on a live partition, per platform ---------- */

typedef struct {
    const char *platform;
    const char *gpus;   /* human form, for the report */
    unsigned first, n;  /* GPUs first .. first+n-1 */
    double act50, act99, deact50, deact99;
    fmFabricPartitionId_t id;
} change_case;

/* Start `bin` on a fresh emulated `platform`, define the cases' partitions
 * live, and time n changes of each. */
static void live_changes(const char *bin, int use_unix, const char *platform, change_case *cases,
                         unsigned ncases, unsigned n)
{
    char dir[] = "/tmp/sdk_rtt-live-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("sdk_rtt: mkdtemp");
        exit(1);
    }
    fmConnectParams_t cp;
    memset(&cp, 0, sizeof cp);
    cp.version = fmConnectParams_version;
    cp.timeoutMs = 60000;
    cp.addressIsUnixSocket = (unsigned)use_unix;
    pid_t pid = start_daemon(bin, dir, use_unix, &cp, platform);
    fmLibInit();
    fmFabricPartitionList_t *list = calloc(1, sizeof *list);
    double *a = calloc(n, sizeof(double)), *d = calloc(n, sizeof(double));
    if (!list || !a || !d)
        exit(1);
    fmHandle_t h = wait_for_daemon(&cp, pid, dir, list);
    for (unsigned c = 0; c < ncases; c++) {
        unsigned g[OFM_WIRE_MAX_PARTITION_GPUS];
        for (unsigned k = 0; k < cases[c].n; k++)
            g[k] = cases[c].first + k;
        fmReturn_t rc = ofmCreateFabricPartition(h, g, cases[c].n, OFM_PARTITION_ID_ANY, &cases[c].id);
        if (rc == FM_ST_PARTITION_EXISTS) {
            /* the whole rack is the platform's own default partition */
            ofm_wire_partition_defs *defs = calloc(1, sizeof *defs);
            if (!defs || ofmListFabricPartitions(h, defs) != FM_ST_SUCCESS)
                exit(1);
            for (unsigned i = 0; i < defs->n; i++)
                if (defs->def[i].ngpus == cases[c].n && defs->def[i].gpus[0] == cases[c].first)
                    cases[c].id = defs->def[i].id, rc = FM_ST_SUCCESS;
            free(defs);
        }
        if (rc != FM_ST_SUCCESS) {
            fprintf(stderr, "sdk_rtt: defining GPUs %s on %s failed: %s (%s)\n", cases[c].gpus,
                    platform, ofmReturnName(rc), ofmReturnText(rc));
            exit(1);
        }
        for (unsigned i = 0; i < n; i++) {
            double t0 = now_us();
            fmReturn_t ra = ofmActivateFabricPartitionAny(h, cases[c].id);
            double t1 = now_us();
            fmReturn_t rd = ofmDeactivateFabricPartitionAny(h, cases[c].id);
            double t2 = now_us();
            if (ra != FM_ST_SUCCESS || rd != FM_ST_SUCCESS) {
                fprintf(stderr, "sdk_rtt: change of partition %u on %s failed: %s / %s\n",
                        cases[c].id, platform, ofmReturnName(ra), ofmReturnName(rd));
                exit(1);
            }
            a[i] = (t1 - t0) / 1000.0;
            d[i] = (t2 - t1) / 1000.0;
        }
        cases[c].act50 = pct(a, n, 0.50);
        cases[c].act99 = pct(a, n, 0.99);
        cases[c].deact50 = pct(d, n, 0.50);
        cases[c].deact99 = pct(d, n, 0.99);
    }
    fmDisconnect(h);
    fmLibShutdown();
    stop_daemon();
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", dir, g_emu_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "sdk_rtt: could not remove %s\n", dir);
    free(list);
    free(a);
    free(d);
}

/* The durable floor of one change: an append + fdatasync, n samples, in ms. */
static double floor_ms(unsigned n)
{
    char path[] = "/tmp/sdk_rtt-floor-XXXXXX";
    int fd = mkstemp(path);
    double *v = calloc(n, sizeof(double));
    if (fd < 0 || !v)
        exit(1);
    for (unsigned i = 0; i < n; i++) {
        double t0 = now_us();
        if (append_sync(fd))
            exit(1);
        v[i] = (now_us() - t0) / 1000.0;
    }
    double p = pct(v, n, 0.50);
    close(fd);
    unlink(path);
    free(v);
    return p;
}

static void bench_live_changes(const char *bin, int use_unix, unsigned n)
{
    change_case h100[] = {{"hgx-h100", "1-4 (4 GPUs)", 1, 4, 0, 0, 0, 0, 0}};
    change_case nvl[] = {{"gb200-nvl72", "1-4 (4 GPUs, one tray)", 1, 4, 0, 0, 0, 0, 0},
                         {"gb200-nvl72", "1-36 (36 GPUs, 9 trays)", 1, 36, 0, 0, 0, 0, 0},
                         {"gb200-nvl72", "1-72 (the rack)", 1, 72, 0, 0, 0, 0, 0}};
    /* the H100 partition 1-4 is the platform's own partition 1: take 2-5 */
    h100[0].first = 2;
    h100[0].gpus = "2-5 (4 GPUs)";
    live_changes(bin, use_unix, "hgx-h100", h100, 1, n);
    live_changes(bin, use_unix, "gb200-nvl72", nvl, 3, n);
    double fl = floor_ms(n);
    printf("\npartition change on a live partition (one SDK call, one route write, one durable "
           "record), %u changes each, ms:\n", n);
    printf("%-12s %-26s %6s %9s %9s %9s %9s\n", "platform", "partition GPUs", "id", "act p50",
           "act p99", "deact p50", "deact p99");
    change_case *all[] = {&h100[0], &nvl[0], &nvl[1], &nvl[2]};
    for (unsigned i = 0; i < 4; i++)
        printf("%-12s %-26s %6u %9.3f %9.3f %9.3f %9.3f\n", all[i]->platform, all[i]->gpus,
               all[i]->id, all[i]->act50, all[i]->act99, all[i]->deact50, all[i]->deact99);
    printf("floor (append + fdatasync on /tmp) p50 %.3f ms\n", fl);
    printf("ratio NVL72 / H100 4-GPU change p50 (activate, deactivate): tray %.2fx %.2fx, "
           "9 trays %.2fx %.2fx, rack %.2fx %.2fx\n",
           nvl[0].act50 / h100[0].act50, nvl[0].deact50 / h100[0].deact50,
           nvl[1].act50 / h100[0].act50, nvl[1].deact50 / h100[0].deact50,
           nvl[2].act50 / h100[0].act50, nvl[2].deact50 / h100[0].deact50);
    for (unsigned i = 0; i < 3; i++) {
        double worst = nvl[i].act50 > nvl[i].deact50 ? nvl[i].act50 : nvl[i].deact50;
        printf("NVL72 %s: change p50 at most %.3f ms (target < 5 ms: %s)\n", nvl[i].gpus, worst,
               worst < 5.0 ? "met" : "MISSED");
    }
}

int main(int argc, char **argv)
{
    unsigned n_list = 2000, n_pairs = 500, n_changes = 100;
    int use_unix = 0;
    const char *connect_to = NULL;
    const char *daemon_bin = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--unix")) {
            use_unix = 1;
        } else if (!strcmp(argv[i], "--connect") && i + 1 < argc) {
            connect_to = argv[++i];
        } else if (!strcmp(argv[i], "--daemon") && i + 1 < argc) {
            daemon_bin = argv[++i];
        } else if ((!strcmp(argv[i], "-n") || !strcmp(argv[i], "-m") || !strcmp(argv[i], "-c")) &&
                   i + 1 < argc) {
            char *end;
            unsigned long v = strtoul(argv[i + 1], &end, 10);
            if (*end || v == 0 || v > 1000000) {
                fprintf(stderr, "sdk_rtt: %s wants a count from 1 to 1000000, got '%s'\n",
                        argv[i], argv[i + 1]);
                return 2;
            }
            if (argv[i][1] == 'n')
                n_list = (unsigned)v;
            else if (argv[i][1] == 'c')
                n_changes = (unsigned)v;
            else
                n_pairs = (unsigned)v;
            i++;
        } else {
            fprintf(stderr, "sdk_rtt: unknown argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }

    char dir[] = "/tmp/sdk_rtt-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("sdk_rtt: mkdtemp");
        return 1;
    }
    char sdk_path[128], raw_path[128];
    snprintf(sdk_path, sizeof sdk_path, "%s/sdk.sock", dir);
    snprintf(raw_path, sizeof raw_path, "%s/raw.sock", dir);

    struct event_base *base = NULL;
    ofm_api_server *srv = NULL;
    struct event *stop_ev = NULL;
    int stop_pipe[2] = {-1, -1};
    pthread_t loop;
    h100_model model;
    fmConnectParams_t cp;
    memset(&cp, 0, sizeof cp);
    cp.version = fmConnectParams_version;
    cp.timeoutMs = 10000;
    cp.addressIsUnixSocket = (unsigned)use_unix;
    pid_t daemon_pid = -1;
    if (connect_to && daemon_bin) {
        fprintf(stderr, "sdk_rtt: --connect and --daemon exclude each other\n");
        return 2;
    }
    if (daemon_bin) {
        daemon_pid = start_daemon(daemon_bin, dir, use_unix, &cp, "hgx-h100");
    } else if (connect_to) {
        snprintf(cp.addressInfo, sizeof cp.addressInfo, "%s", connect_to);
    } else {
        h100_init(&model);
        static const ofm_api_handlers h = {.get_supported = m_list, .activate = m_activate,
                                           .deactivate = m_deactivate};
        ofm_api_listen l = {.unix_path = use_unix ? sdk_path : NULL, .bind_addr = "127.0.0.1"};
        ofm_error err = {0};
        base = event_base_new();
        if (!base || ofm_api_server_start(base, &l, &h, &model, &srv, &err) != 0) {
            fprintf(stderr, "sdk_rtt: cannot start the SDK server: %s\n", err.msg);
            return 1;
        }
        if (use_unix)
            snprintf(cp.addressInfo, sizeof cp.addressInfo, "%s", sdk_path);
        else
            snprintf(cp.addressInfo, sizeof cp.addressInfo, "127.0.0.1:%u",
                     (unsigned)ofm_api_server_port(srv));
        g_srv = srv;
        if (pipe(stop_pipe) != 0)
            return 1;
        stop_ev = event_new(base, stop_pipe[0], EV_READ, on_stop, base);
        event_add(stop_ev, NULL);
        pthread_create(&loop, NULL, loop_main, base);
    }

    fmHandle_t hd;
    fmLibInit();
    fmFabricPartitionList_t *list = calloc(1, sizeof *list);
    fmReturn_t rc;
    if (!list)
        return 1;
    if (daemon_pid > 0) {
        hd = wait_for_daemon(&cp, daemon_pid, dir, list);
    } else {
        rc = fmConnect(&cp, &hd);
        if (rc != FM_ST_SUCCESS) {
            fprintf(stderr, "sdk_rtt: fmConnect(%s) failed: %d\n", cp.addressInfo, (int)rc);
            return 1;
        }
    }
    double *s_list = calloc(n_list, sizeof(double)), *s_pair = calloc(n_pairs, sizeof(double));
    double *r_list = calloc(n_list, sizeof(double)), *r_pair = calloc(n_pairs, sizeof(double));
    double *s_pair2 = calloc(n_pairs, sizeof(double)), *b_pair = calloc(n_pairs, sizeof(double));
    if (!s_list || !s_pair || !r_list || !r_pair || !s_pair2 || !b_pair)
        return 1;

    for (unsigned i = 0; i < n_list; i++) {
        list->version = fmFabricPartitionList_version;
        double t0 = now_us();
        rc = fmGetSupportedFabricPartitions(hd, list);
        s_list[i] = now_us() - t0;
        if (rc != FM_ST_SUCCESS) {
            fprintf(stderr, "sdk_rtt: fmGetSupportedFabricPartitions failed: %d\n", (int)rc);
            return 1;
        }
    }
    fmFabricPartitionId_t pid = 0;
    int found = 0;
    for (unsigned p = 0; p < list->numPartitions; p++)
        if (!list->partitionInfo[p].isActive) {
            pid = list->partitionInfo[p].partitionId;
            found = 1;
        }
    if (!found) {
        fprintf(stderr, "sdk_rtt: no inactive partition to activate\n");
        return 1;
    }
    /* without a daemon the pairs are measured here; with one, between the
     * samples of the durable baseline below */
    for (unsigned i = 0; daemon_pid <= 0 && i < n_pairs; i++)
        s_pair[i] = one_pair(hd, pid);
    /* with the real daemon: also a partition whose activation programs routes */
    fmFabricPartitionId_t pid2 = 0;
    int found2 = 0;
    for (unsigned p = 0; daemon_pid > 0 && p < list->numPartitions; p++)
        if (!list->partitionInfo[p].isActive && list->partitionInfo[p].numGpus == 2) {
            pid2 = list->partitionInfo[p].partitionId;
            found2 = 1;
        }
    pair_ctx pc = {hd, pid, pid2, found2, s_pair, s_pair2};

    size_t list_req = frame_size_request(OFM_OP_GET_SUPPORTED, 0);
    size_t list_rep = frame_size_reply(OFM_OP_GET_SUPPORTED, list);
    size_t act_req = frame_size_request(OFM_OP_ACTIVATE, pid);
    size_t act_rep = frame_size_reply(OFM_OP_ACTIVATE, NULL);
    /* the baseline's appends go to the filesystem of the daemon's state file */
    char sync_path[160];
    snprintf(sync_path, sizeof sync_path, "%s/baseline.journal", dir);
    int sync_fd = daemon_pid > 0 ? open(sync_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600) : -1;
    if (daemon_pid > 0 && sync_fd < 0) {
        perror(sync_path);
        return 1;
    }
    raw_measure(use_unix, raw_path, list_req, list_rep, n_list, act_req, act_rep, n_pairs,
                r_list, r_pair, sync_fd, b_pair, daemon_pid > 0 ? pairs_between : NULL, &pc);
    fmDisconnect(hd);
    fmLibShutdown();
    if (sync_fd >= 0) {
        close(sync_fd);
        unlink(sync_path);
    }

    double sl50 = pct(s_list, n_list, 0.50), sl99 = pct(s_list, n_list, 0.99);
    double rl50 = pct(r_list, n_list, 0.50), rl99 = pct(r_list, n_list, 0.99);
    double sp50 = pct(s_pair, n_pairs, 0.50), sp99 = pct(s_pair, n_pairs, 0.99);
    double rp50 = pct(r_pair, n_pairs, 0.50), rp99 = pct(r_pair, n_pairs, 0.99);
    printf("sdk_rtt: %s, %s, %u partitions listed, partition %u toggled\n",
           daemon_bin  ? "openfm daemon on emulated hgx-h100, FABRIC_MODE=1"
           : connect_to ? "running daemon"
                        : "built-in H100 stand-in (fake handlers)",
           use_unix ? "unix socket" : "tcp 127.0.0.1", list->numPartitions, pid);
    if (daemon_pid > 0)
        printf("state file and baseline appends in %s (%s); emulated system, PID and status "
               "files in %s (%s)\n", dir,
               is_tmpfs(dir) ? "tmpfs" : "disk", g_emu_dir, is_tmpfs(g_emu_dir) ? "tmpfs" : "disk");
    printf("%-28s %8s %8s %10s %10s\n", "measurement", "N", "bytes", "p50 us", "p99 us");
    printf("%-28s %8u %4zu/%-5zu %8.1f %10.1f\n", "sdk list", n_list, list_req, list_rep, sl50,
           sl99);
    printf("%-28s %8u %4zu/%-5zu %8.1f %10.1f\n", "raw ping-pong (list bytes)", n_list, list_req,
           list_rep, rl50, rl99);
    printf("%-28s %8u %4zu/%-5zu %8.1f %10.1f\n", "sdk activate+deactivate", n_pairs, act_req,
           act_rep, sp50, sp99);
    double s2p50 = found2 ? pct(s_pair2, n_pairs, 0.50) : 0, s2p99 = found2 ? pct(s_pair2, n_pairs, 0.99) : 0;
    if (found2)
        printf("%-28s %8u %4zu/%-5zu %8.1f %10.1f\n", "  same, 2-GPU (routes)", n_pairs, act_req,
               act_rep, s2p50, s2p99);
    printf("%-28s %8u %4zu/%-5zu %8.1f %10.1f\n", "raw 2x ping-pong (same)", n_pairs, act_req,
           act_rep, rp50, rp99);
    double bp50 = 0, bp99 = 0;
    if (daemon_pid > 0) {
        bp50 = pct(b_pair, n_pairs, 0.50);
        bp99 = pct(b_pair, n_pairs, 0.99);
        printf("%-28s %8u %4zu/%-5zu %8.1f %10.1f\n", "raw 2x ping-pong+append+sync", n_pairs,
               act_req, act_rep, bp50, bp99);
    }
    printf("ratio list p50 %.2fx (target <= 3x: %s), p99 %.2fx; pair p50 %.2fx, p99 %.2fx\n",
           sl50 / rl50, sl50 / rl50 <= 3.0 ? "met" : "MISSED", sl99 / rl99, sp50 / rp50,
           sp99 / rp99);
    if (daemon_pid > 0) {
        /* the durable floor: each change is one appended record + fdatasync */
        printf("ratio pair vs 2x (ping-pong + append+fdatasync), same filesystem as the state file: "
               "p50 %.2fx (target <= 1.5x: %s)", sp50 / bp50, sp50 / bp50 <= 1.5 ? "met" : "MISSED");
        if (found2)
            printf("; 2-GPU partition %u p50 %.2fx (%s)", pid2, s2p50 / bp50,
                   s2p50 / bp50 <= 1.5 ? "met" : "MISSED");
        printf("\n");
    }

    if (srv) {
        /* The server belongs to the loop thread: ask it to stop itself. */
        if (write(stop_pipe[1], "x", 1) != 1)
            return 1;
        pthread_join(loop, NULL);
        event_free(stop_ev);
        event_base_free(base);
        close(stop_pipe[0]);
        close(stop_pipe[1]);
    }
    if (daemon_pid > 0) {
        stop_daemon();
        char cmd[400];
        snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", dir, g_emu_dir);
        if (system(cmd) != 0)
            fprintf(stderr, "sdk_rtt: could not remove %s\n", dir);
        bench_live_changes(daemon_bin, use_unix, n_changes);
    }
    free(list);
    free(s_list);
    free(s_pair);
    free(s_pair2);
    free(b_pair);
    free(r_list);
    free(r_pair);
    rmdir(dir);
    return 0;
}
