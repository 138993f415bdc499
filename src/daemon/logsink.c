/* Log sinks for the daemon. Rotation renames file -> file.1 -> ... -> file.N
 * and drops the oldest, so disk use stays bounded at size x (N+1); with N = 0
 * logging stops at the limit, as the guide specifies for LOG_MAX_ROTATE_COUNT. */
#include "daemon/logsink.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "openfm/log.h"

static struct {
    FILE *f;
    char path[OFM_CFG_STR_MAX + 1];
    long max_bytes;
    int keep;
    long size;
    bool stopped; /* reached the limit with rotation disabled */
} g;

/* syslog client: RFC 3164 datagrams to /dev/log, or to $OPENFM_SYSLOG_SOCKET
 * (tests point it at a socket they read). Written here rather than with
 * syslog(3) so that the destination is observable. */
static struct {
    int fd;
    bool file_too; /* LOG_USE_SYSLOG=1 with a LOG_FILE_NAME: alerts go there too */
} sl = {-1, false};

static void syslog_send(ofm_log_level level, const char *msg)
{
    static const int prio[] = {LOG_INFO, LOG_CRIT, LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
    const char *path = getenv("OPENFM_SYSLOG_SOCKET");
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path && *path ? path : "/dev/log");
    if (sl.fd < 0) {
        sl.fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        struct timeval tv = {0, 500 * 1000};
        if (sl.fd >= 0)
            setsockopt(sl.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    }
    if (sl.fd < 0)
        return;
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    char ts[32], dgram[2400];
    strftime(ts, sizeof ts, "%b %e %H:%M:%S", &tm);
    int n = snprintf(dgram, sizeof dgram, "<%d>%s nv-fabricmanager[%ld]: %s",
                     LOG_DAEMON | prio[level <= OFM_LOG_DEBUG ? level : OFM_LOG_INFO], ts,
                     (long)getpid(), msg);
    if (n < 0)
        return;
    size_t len = (size_t)n < sizeof dgram ? (size_t)n : sizeof dgram - 1;
    /* A missing or slow syslog daemon must never stop the fabric manager:
     * ordinary lines are dropped when its queue is full, alerts wait for
     * room at most half a second. */
    int flags = MSG_NOSIGNAL | (ofm_log_is_alert() ? 0 : MSG_DONTWAIT);
    (void)!sendto(sl.fd, dgram, len, flags, (struct sockaddr *)&sa, sizeof sa);
}

static void format_line(ofm_log_level level, const char *msg, char *out, size_t len)
{
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    char ts[32];
    strftime(ts, sizeof ts, "%b %d %Y %H:%M:%S", &tm);
    snprintf(out, len, "[%s] [%s] [tid %ld] %s\n", ts, ofm_log_level_name(level),
             (long)syscall(SYS_gettid), msg);
}

static void rotate(void)
{
    fclose(g.f);
    g.f = NULL;
    char from[OFM_CFG_STR_MAX + 16], to[OFM_CFG_STR_MAX + 16];
    for (int i = g.keep; i >= 1; i--) {
        snprintf(to, sizeof to, "%s.%d", g.path, i);
        if (i == 1)
            snprintf(from, sizeof from, "%s", g.path);
        else
            snprintf(from, sizeof from, "%s.%d", g.path, i - 1);
        rename(from, to); /* missing files are fine */
    }
    g.f = fopen(g.path, "w");
    g.size = 0;
}

static void file_write(ofm_log_level level, const char *msg)
{
    char line[2300];
    format_line(level, msg, line, sizeof line);
    long n = (long)strlen(line);
    if (!g.f || g.stopped)
        return;
    if (g.size + n > g.max_bytes) {
        if (g.keep == 0) {
            g.stopped = true;
            return;
        }
        rotate();
        if (!g.f)
            return;
    }
    fputs(line, g.f);
    fflush(g.f);
    g.size += n;
}

static void file_sink(void *ctx, ofm_log_level level, const char *msg)
{
    (void)ctx;
    file_write(level, msg);
    if (ofm_log_is_alert())
        syslog_send(level, msg);
}

static void stderr_sink(void *ctx, ofm_log_level level, const char *msg)
{
    (void)ctx;
    char line[2300];
    format_line(level, msg, line, sizeof line);
    fputs(line, stderr);
    if (ofm_log_is_alert())
        syslog_send(level, msg);
}

static void syslog_sink(void *ctx, ofm_log_level level, const char *msg)
{
    (void)ctx;
    syslog_send(level, msg);
    if (sl.file_too && ofm_log_is_alert())
        file_write(level, msg);
}

int ofm_logsink_setup(const ofm_config *c)
{
    ofm_logsink_close();
    ofm_log_set_level((ofm_log_level)c->log_level);
    if (c->log_use_syslog) {
        /* FM §3.3.1: fatal SXid/Xid handling is logged in the log file and
         * in syslog, so the file stays open for those lines alone */
        snprintf(g.path, sizeof g.path, "%s", c->log_file_name);
        g.max_bytes = ofm_config_log_max_bytes(c);
        g.keep = c->log_max_rotate_count;
        g.stopped = false;
        g.f = c->log_file_name[0] ? fopen(g.path, c->log_append ? "a" : "w") : NULL;
        if (g.f) {
            fseek(g.f, 0, SEEK_END);
            g.size = ftell(g.f);
        }
        sl.file_too = g.f != NULL;
        ofm_log_set_sink(syslog_sink, NULL);
        return 0;
    }
    if (!c->log_file_name[0]) {
        ofm_log_set_sink(stderr_sink, NULL);
        return 0;
    }
    snprintf(g.path, sizeof g.path, "%s", c->log_file_name);
    g.max_bytes = ofm_config_log_max_bytes(c);
    g.keep = c->log_max_rotate_count;
    g.stopped = false;
    g.f = fopen(g.path, c->log_append ? "a" : "w");
    if (!g.f) {
        int e = errno;
        ofm_log_set_sink(stderr_sink, NULL);
        OFM_WARN("cannot open log file %s: %s; logging to stderr instead", g.path, strerror(e));
        return -1;
    }
    fseek(g.f, 0, SEEK_END);
    g.size = ftell(g.f);
    ofm_log_set_sink(file_sink, NULL);
    return 0;
}

void ofm_logsink_close(void)
{
    ofm_log_set_sink(NULL, NULL);
    if (g.f)
        fclose(g.f);
    g.f = NULL;
    sl.file_too = false;
    if (sl.fd >= 0)
        close(sl.fd);
    sl.fd = -1;
}
