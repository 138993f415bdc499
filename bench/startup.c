/* Start-up benchmark: time from exec() of openfm to the READY=1 datagram it
 * sends on NOTIFY_SOCKET (what systemd waits for), on an emulated HGX H100
 * and on the two-board HGX A100, against a baseline measured in the same
 * run: exec() of `openfm --version` to its exit, i.e. the cost of starting
 * the process at all. Also reports the daemon's peak resident memory
 * (VmHWM, read from /proc before it is stopped).
 *
 *   bench_startup [--bin DIR] [--runs N] [--platform NAME]...
 *
 * Each platform's emulated system is created once per run set in a fresh
 * temporary directory; every run starts a new daemon on it (foreground,
 * DAEMONIZE=0, logging to a file as in production) and stops it with
 * SIGTERM. Targets (issue 4): median H100 ready time < 20 ms, VmHWM < 8 MiB.
 *
 * The GB200 NVL72 rack (72 GPUs, 18 chips, 92016 routing entries) is measured
 * in the same run as the H100 and reported as a ratio to the H100's median
 * (issue 13 target: NVL72 ready < 100 ms on the emulator); asking for
 * gb200-nvl72 alone measures hgx-h100 first for that ratio.
 *
 * The H100 is measured a second time through the real NVSwitch backend under
 * the driver model (scripts/with-driver-model; not in ASan builds, which have
 * no model), beside the emulator backend in the same run: the daemon then
 * programs the LS10 tables with ioctls and answers each GPU's probe.
 *
 * After the last run on each emulator platform the daemon is left idle for
 * --idle SECONDS (default 5; 0 skips it) and the CPU time it used meanwhile
 * is read from /proc/PID/schedstat (nanoseconds, where /proc/PID/stat
 * counts 10 ms ticks): the cost of its periodic monitor polls and status
 * refresh, reported per second of wall time and as a ratio to hgx-h100's. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "openfm/emu.h"

#define MAX_RUNS 1000
#define READY_TIMEOUT_MS 10000

static const char *bin_dir = "build/bin";
static int idle_secs = 5;

static void usage(FILE *f)
{
    fprintf(f, "usage: bench_startup [--bin DIR] [--runs N] [--idle SECONDS] [--platform NAME]...\n"
               "\n"
               "Times exec -> READY=1 (sd_notify) of the openfm daemon on emulated systems,\n"
               "relative to exec -> exit of 'openfm --version' measured in the same run, and\n"
               "reports the daemon's peak resident memory (VmHWM).\n"
               "\n"
               "  --bin DIR        directory holding the openfm binary (default build/bin)\n"
               "  --runs N         runs per measurement, 1-%d (default 30)\n"
               "  --idle SECONDS   CPU time of the idle daemon after the last run, 0-60\n"
               "                   (default 5; 0: not measured)\n"
               "  --platform NAME  emulated platform to measure; repeatable\n"
               "                   (default: hgx-h100, hgx-a100-2b and gb200-nvl72;\n"
               "                   gb200-nvl72 is always measured with hgx-h100 before it)\n"
               "  -h, --help       this text\n"
               "\n"
               "Exit status: 0 measured, 1 a daemon failed to start, 2 usage error.\n",
            MAX_RUNS);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of a sorted array. */
static double pct(const double *v, int n, double p)
{
    int k = (int)(p / 100.0 * n + 0.999999);
    if (k < 1)
        k = 1;
    if (k > n)
        k = n;
    return v[k - 1];
}

static char build_dir[4200]; /* parent of --bin, for the driver model */

static pid_t spawn(const char *const *argv, const char *notify)
{
    pid_t pid = fork();
    if (pid == 0) {
        setenv("OPENFM_BUILD_DIR", build_dir, 1);
        if (notify)
            setenv("NOTIFY_SOCKET", notify, 1);
        else
            unsetenv("NOTIFY_SOCKET");
        int null = open("/dev/null", O_RDWR);
        if (null >= 0) {
            dup2(null, STDOUT_FILENO);
            dup2(null, STDERR_FILENO);
        }
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    return pid;
}

static int reap(pid_t pid)
{
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Peak resident set of a live process, in KiB (0 if unreadable). */
static long vm_hwm_kib(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    long kib = 0;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "VmHWM:", 6)) {
            kib = strtol(line + 6, NULL, 10);
            break;
        }
    fclose(f);
    return kib;
}

static void report(const char *what, double *v, int n, double base_median)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    double med = pct(v, n, 50);
    printf("  %-28s median %7.2f ms  p90 %7.2f ms  min %7.2f ms", what, med, pct(v, n, 90), v[0]);
    if (base_median > 0)
        printf("  x%.1f baseline", med / base_median);
    printf("\n");
}

static double baseline(const char *openfm, int runs, double *v)
{
    const char *argv[] = {openfm, "--version", NULL};
    for (int i = 0; i < runs; i++) {
        double t0 = now_ms();
        pid_t pid = spawn(argv, NULL);
        if (pid < 0 || reap(pid) != 0) {
            fprintf(stderr, "bench_startup: '%s --version' failed; build openfm first\n", openfm);
            return -1;
        }
        v[i] = now_ms() - t0;
    }
    double tmp[MAX_RUNS];
    memcpy(tmp, v, sizeof *v * (size_t)runs);
    qsort(tmp, (size_t)runs, sizeof *tmp, cmp_double);
    return pct(tmp, runs, 50);
}

/* One platform: create the emulated system once, then `runs` starts. */
/* CPU time the process has used, in ns (scheduler accounting); -1 if unknown. */
static long long cpu_ns(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/schedstat", (long)pid);
    FILE *f = fopen(path, "r");
    long long ns = -1;
    if (f) {
        if (fscanf(f, "%lld", &ns) != 1)
            ns = -1;
        fclose(f);
    }
    return ns;
}

/* The idle daemon's CPU use over idle_secs, in ms per s; -1 if unknown. */
static double idle_cpu(pid_t pid)
{
    long long a = cpu_ns(pid);
    double t0 = now_ms();
    struct timespec ts = {idle_secs, 0};
    while (nanosleep(&ts, &ts) && errno == EINTR) {
    }
    long long b = cpu_ns(pid);
    double wall_s = (now_ms() - t0) / 1000.0;
    return a < 0 || b < a || wall_s <= 0 ? -1 : (double)(b - a) / 1e6 / wall_s;
}

static int measure(const char *openfm, const char *platform, bool model, int runs, double *v,
                   long *hwm_kib, double *idle_ms_per_s)
{
    *idle_ms_per_s = -1;
    char dir[] = "/tmp/ofm-bench-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("bench_startup: mkdtemp");
        return -1;
    }
    char emu[128], cfg[128], notify[128], err[512];
    snprintf(emu, sizeof emu, "%s/emu", dir);
    snprintf(cfg, sizeof cfg, "%s/fm.cfg", dir);
    snprintf(notify, sizeof notify, "%s/notify", dir);
    int rc = -1, nfd = -1;
    if (ofm_emu_create(emu, platform, false, err, sizeof err)) {
        fprintf(stderr, "bench_startup: cannot create an emulated %s: %s\n", platform, err);
        goto out;
    }
    FILE *f = fopen(cfg, "w");
    if (!f) {
        perror("bench_startup: config");
        goto out;
    }
    fprintf(f,
            "DAEMONIZE=0\nLOG_FILE_NAME=%s/fm.log\nLOG_APPEND_TO_LOG=0\n"
            "FM_CMD_UNIX_SOCKET_PATH=%s/fm.sock\nSTATE_FILE_NAME=%s/fm.state\n"
            "OPENFM_PID_FILE=%s/fm.pid\n%s=%s\n",
            dir, dir, dir, dir, model ? "# OPENFM_EMU_DIR" : "OPENFM_EMU_DIR", emu);
    fclose(f);
    nfd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if (strlen(notify) >= sizeof a.sun_path) {
        fprintf(stderr, "bench_startup: notify socket path %s too long\n", notify);
        goto out;
    }
    memcpy(a.sun_path, notify, strlen(notify) + 1);
    if (nfd < 0 || bind(nfd, (struct sockaddr *)&a, sizeof a)) {
        perror("bench_startup: notify socket");
        goto out;
    }
    const char *plain[] = {openfm, "-c", cfg, NULL};
    const char *wrapped[] = {OFM_WITH_DRIVER_MODEL, emu, "--", openfm, "-c", cfg, NULL};
    const char *const *argv = model ? wrapped : plain;
    *hwm_kib = 0;
    for (int i = 0; i < runs; i++) {
        double t0 = now_ms();
        pid_t pid = spawn(argv, notify);
        if (pid < 0)
            goto out;
        bool ready = false;
        while (!ready) {
            int left = (int)(t0 + READY_TIMEOUT_MS - now_ms());
            struct pollfd p = {.fd = nfd, .events = POLLIN};
            /* slices of 100 ms so a daemon that died is noticed */
            int pr = left > 0 ? poll(&p, 1, left < 100 ? left : 100) : 0;
            if (pr > 0) {
                char buf[512];
                ssize_t r = recv(nfd, buf, sizeof buf - 1, 0);
                if (r > 0) {
                    buf[r] = '\0';
                    ready = strstr(buf, "READY=1") != NULL;
                }
                continue;
            }
            int st;
            if (left <= 0 || waitpid(pid, &st, WNOHANG) == pid) {
                fprintf(stderr, "bench_startup: openfm on %s did not become ready; see %s/fm.log\n",
                        platform, dir);
                if (left <= 0) {
                    kill(pid, SIGKILL);
                    reap(pid);
                }
                goto out_keep;
            }
        }
        v[i] = now_ms() - t0;
        long kib = vm_hwm_kib(pid);
        if (kib > *hwm_kib)
            *hwm_kib = kib;
        if (i == runs - 1 && !model && idle_secs > 0)
            *idle_ms_per_s = idle_cpu(pid);
        kill(pid, SIGTERM);
        if (reap(pid) != 0) {
            fprintf(stderr, "bench_startup: openfm on %s did not exit cleanly; see %s/fm.log\n",
                    platform, dir);
            goto out_keep;
        }
    }
    rc = 0;
out:
    if (nfd >= 0)
        close(nfd);
    {
        char cmd[160];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd)) {
            /* best effort */
        }
    }
    return rc;
out_keep: /* leave the directory for the operator to inspect */
    if (nfd >= 0)
        close(nfd);
    return -1;
}

int main(int argc, char **argv)
{
    int runs = 30;
    const char *platforms[16];
    int np = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--bin") && i + 1 < argc) {
            bin_dir = argv[++i];
        } else if (!strcmp(argv[i], "--runs") && i + 1 < argc) {
            char *end;
            long n = strtol(argv[++i], &end, 10);
            if (*end || n < 1 || n > MAX_RUNS) {
                fprintf(stderr, "bench_startup: --runs '%s': expected 1-%d\n", argv[i], MAX_RUNS);
                return 2;
            }
            runs = (int)n;
        } else if (!strcmp(argv[i], "--idle") && i + 1 < argc) {
            char *end;
            long n = strtol(argv[++i], &end, 10);
            if (*end || n < 0 || n > 60) {
                fprintf(stderr, "bench_startup: --idle '%s': expected 0-60 seconds\n", argv[i]);
                return 2;
            }
            idle_secs = (int)n;
        } else if (!strcmp(argv[i], "--platform") && i + 1 < argc) {
            if (np == (int)(sizeof platforms / sizeof platforms[0])) {
                fprintf(stderr, "bench_startup: too many --platform options\n");
                return 2;
            }
            platforms[np++] = argv[++i];
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (!np) {
        platforms[np++] = "hgx-h100";
        platforms[np++] = "hgx-a100-2b";
        platforms[np++] = "gb200-nvl72";
    }
    /* the rack's figure is a ratio to the H100 measured in the same run */
    bool want_rack = false, have_h100 = false;
    for (int i = 0; i < np; i++) {
        want_rack |= !strcmp(platforms[i], "gb200-nvl72");
        have_h100 |= !strcmp(platforms[i], "hgx-h100");
    }
    if (want_rack && !have_h100) {
        if (np == (int)(sizeof platforms / sizeof platforms[0])) {
            fprintf(stderr, "bench_startup: too many --platform options\n");
            return 2;
        }
        memmove(platforms + 1, platforms, sizeof platforms[0] * (size_t)np);
        platforms[0] = "hgx-h100";
        np++;
    }
    if (strlen(bin_dir) > 4000) {
        fprintf(stderr, "bench_startup: --bin path too long\n");
        return 2;
    }
    char openfm[4200];
    if (strlen(bin_dir) > 4000) {
        fprintf(stderr, "bench_startup: --bin path too long\n");
        return 2;
    }
    snprintf(openfm, sizeof openfm, "%s/openfm", bin_dir);
    signal(SIGPIPE, SIG_IGN);

    static double v[MAX_RUNS];
    printf("openfm start-up: exec -> READY=1, %d runs each (%s)\n", runs, openfm);
    double base = baseline(openfm, runs, v);
    if (base < 0)
        return 1;
    report("baseline: openfm --version", v, runs, 0);
    int failed = 0;
    snprintf(build_dir, sizeof build_dir, "%s/..", bin_dir);
    char model_lib[4300];
    snprintf(model_lib, sizeof model_lib, "%s/lib/libofm_drvmodel.so", build_dir);
    bool have_model = access(model_lib, R_OK) == 0;
    double emu_h100 = 0, idle_h100 = -1;
    for (int p = 0, pass = 0; p < np; pass = !pass, p += !pass) {
        bool model = pass == 1;
        if (model && (strcmp(platforms[p], "hgx-h100") || !have_model)) {
            pass = 1; /* only the H100 has a second, real-backend measurement */
            continue;
        }
        long hwm = 0;
        double idle = -1;
        if (measure(openfm, platforms[p], model, runs, v, &hwm, &idle)) {
            failed = 1;
            continue;
        }
        char what[64];
        snprintf(what, sizeof what, model ? "ready on %s (nvswitch+model)" : "ready on %s",
                 platforms[p]);
        double med;
        {
            double tmp[MAX_RUNS];
            memcpy(tmp, v, sizeof *v * (size_t)runs);
            qsort(tmp, (size_t)runs, sizeof *tmp, cmp_double);
            med = pct(tmp, runs, 50);
        }
        report(what, v, runs, base);
        printf("  %-28s peak RSS (VmHWM) %.2f MiB\n", "", (double)hwm / 1024.0);
        if (model) {
            if (emu_h100 > 0)
                printf("  %-28s x%.1f the emulator backend's median (%.2f ms): LS10 tables by "
                       "ioctl, GPU probes answered in band\n",
                       "", med / emu_h100, emu_h100);
            continue;
        }
        if (!strcmp(platforms[p], "hgx-h100"))
            emu_h100 = med, idle_h100 = idle;
        if (idle >= 0) {
            printf("  %-28s idle: %.2f ms CPU per s over %d s", "", idle, idle_secs);
            if (strcmp(platforms[p], "hgx-h100") && idle_h100 > 0)
                printf(" (x%.1f hgx-h100's %.2f)", idle / idle_h100, idle_h100);
            printf("\n");
        }
        if (!strcmp(platforms[p], "hgx-h100"))
            printf("  %-28s targets: median < 20 ms: %s; VmHWM < 8 MiB: %s\n", "",
                   med < 20.0 ? "met" : "MISSED", hwm < 8 * 1024 ? "met" : "MISSED");
        if (!strcmp(platforms[p], "gb200-nvl72") && emu_h100 > 0)
            printf("  %-28s x%.1f hgx-h100's median (%.2f ms) in this run: 72 GPUs x 18 chips, "
                   "92016 routing entries; target: median < 100 ms: %s\n",
                   "", med / emu_h100, emu_h100, med < 100.0 ? "met" : "MISSED");
    }
    return failed;
}
