#include "daemon_harness.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "openfm/emu.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include "model_mode.h"

const char *dh_bin(const char *name)
{
    static char path[4][512];
    static int k;
    k = (k + 1) % 4;
    const char *bd = getenv("OPENFM_BUILD_DIR");
    snprintf(path[k], sizeof path[k], "%s/bin/%s", bd ? bd : "build", name);
    return path[k];
}

int dh_init(dh_daemon *d, const char *platform)
{
    memset(d, 0, sizeof *d);
    d->pid = -1;
    d->nfd = -1;
    snprintf(d->dir, sizeof d->dir, "/tmp/ofm-dh-XXXXXX");
    if (!mkdtemp(d->dir))
        return -1;
    snprintf(d->emu, sizeof d->emu, "%s/emu", d->dir);
    snprintf(d->cfg, sizeof d->cfg, "%s/fm.cfg", d->dir);
    snprintf(d->log, sizeof d->log, "%s/fm.log", d->dir);
    snprintf(d->sock, sizeof d->sock, "%s/fm.sock", d->dir);
    snprintf(d->notify, sizeof d->notify, "%s/notify", d->dir);
    snprintf(d->state, sizeof d->state, "%s/fm.state", d->dir);
    if (platform) {
        char err[512];
        if (ofm_emu_create(d->emu, platform, false, err, sizeof err)) {
            fprintf(stderr, "dh_init: %s\n", err);
            return -1;
        }
    }
    return 0;
}

int dh_write_config(dh_daemon *d, const char *extra)
{
    FILE *f = fopen(d->cfg, "w");
    if (!f)
        return -1;
    fprintf(f,
            "DAEMONIZE=0\nLOG_FILE_NAME=%s\nLOG_LEVEL=4\nFM_CMD_UNIX_SOCKET_PATH=%s\n"
            "STATE_FILE_NAME=%s\nOPENFM_PID_FILE=%s/fm.pid\n%s=%s\n"
            "OPENFM_MONITOR_INTERVAL_MS=20\n%s",
            d->log, d->sock, d->state, d->dir, mm_emu_key(), d->emu, extra ? extra : "");
    return fclose(f);
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int dh_start(dh_daemon *d, const char *const *args, int timeout_ms, int *exit_status)
{
    const char *argv[20] = {dh_bin("openfm"), "-c", d->cfg};
    int n = 3;
    if (mm_enabled()) {
        /* the same command, under the driver model */
        argv[0] = mm_wrapper();
        argv[1] = d->emu;
        argv[2] = "--";
        argv[3] = dh_bin("openfm");
        argv[4] = "-c";
        argv[5] = d->cfg;
        n = 6;
    }
    for (int i = 0; args && args[i] && n < 19; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    return dh_start_cmd(d, argv, timeout_ms, exit_status);
}

int dh_start_cmd(dh_daemon *d, const char *const *argv, int timeout_ms, int *exit_status)
{
    if (d->nfd < 0) {
        unlink(d->notify);
        d->nfd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        snprintf(a.sun_path, sizeof a.sun_path, "%.100s", d->notify);
        if (d->nfd < 0 || bind(d->nfd, (struct sockaddr *)&a, sizeof a))
            return -1;
    }
    pid_t parent = getpid();
    d->pid = fork();
    if (d->pid == 0) {
        /* A failed assertion longjmps past dh_stop; a daemon outliving its
         * test program would keep ctest's output pipe open until ctest's
         * timeout. It dies with the program instead. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
            _exit(127);
        setenv("NOTIFY_SOCKET", d->notify, 1);
        int null = open("/dev/null", O_RDWR);
        dup2(null, STDOUT_FILENO);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    long long deadline = now_ms() + timeout_ms;
    for (;;) {
        int st;
        pid_t w = waitpid(d->pid, &st, WNOHANG);
        if (w == d->pid) {
            d->pid = -1;
            if (exit_status)
                *exit_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            return -1;
        }
        long long left = deadline - now_ms();
        if (left <= 0)
            return -1;
        struct pollfd p = {.fd = d->nfd, .events = POLLIN};
        /* short slices so an early exit is noticed; the datagram wakes us at once */
        if (poll(&p, 1, left < 50 ? (int)left : 50) > 0) {
            char buf[512];
            ssize_t r = recv(d->nfd, buf, sizeof buf - 1, 0);
            if (r > 0) {
                buf[r] = '\0';
                if (strstr(buf, "READY=1"))
                    return 0;
            }
        }
    }
}

int dh_stop(dh_daemon *d, int sig)
{
    if (d->pid <= 0)
        return -1;
    kill(d->pid, sig ? sig : SIGTERM);
    int st;
    while (waitpid(d->pid, &st, 0) < 0 && errno == EINTR)
        ;
    d->pid = -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

void dh_cleanup(dh_daemon *d)
{
    if (d->pid > 0)
        dh_stop(d, SIGKILL);
    if (d->nfd >= 0)
        close(d->nfd);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", d->dir);
    if (system(cmd)) {
        /* best effort */
    }
}

char *dh_read_log(const dh_daemon *d)
{
    FILE *f = fopen(d->log, "r");
    if (!f)
        return NULL;
    char *buf = malloc(1 << 20);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

int dh_run(const char *cmd, char *out, size_t len)
{
    FILE *f = popen(cmd, "r");
    if (!f)
        return -1;
    size_t n = fread(out, 1, len - 1, f);
    out[n] = '\0';
    int st = pclose(f);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}
