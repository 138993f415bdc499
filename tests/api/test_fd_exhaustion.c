/* File-descriptor exhaustion (issue 14, item 8). The attack: with the
 * daemon's fds used up, every pending connection made accept() fail at
 * once, forever: 960k log lines in 8 s, and the failures read as "backend
 * state corrupted". Here the real daemon's RLIMIT_NOFILE is lowered to just
 * above what it uses (prlimit), clients pile up, and we check that the
 * accept failures are logged a bounded number of times, that nothing says
 * "corrupted", that an existing client is still served, and that the
 * daemon accepts again once descriptors are free. */
#include <dirent.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon_harness.h"
#include "nv_fm_agent.h"

#include <sys/socket.h>
#include <sys/un.h>

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int open_fds(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/fd", (long)pid);
    DIR *d = opendir(path);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static fmReturn_t sdk_open(const dh_daemon *d, fmHandle_t *h)
{
    fmConnectParams_t cp;
    memset(&cp, 0, sizeof cp);
    cp.version = fmConnectParams_version;
    cp.timeoutMs = 5000;
    cp.addressType = FM_ADDRESS_TYPE_UNIX;
    snprintf(cp.addressInfo, sizeof cp.addressInfo, "%s", d->sock);
    return fmConnect(&cp, h);
}

static int raw_unix(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%.100s", path);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

/* Lines of `log` containing both needles. */
static unsigned count_lines(const char *log, const char *a, const char *b)
{
    unsigned n = 0;
    for (const char *line = log; line && *line;) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        const char *pa = memmem(line, len, a, strlen(a)), *pb = memmem(line, len, b, strlen(b));
        n += pa && pb;
        line = nl ? nl + 1 : NULL;
    }
    return n;
}

static void test_accept_failures_back_off(void **state)
{
    (void)state;
    dh_daemon d;
    assert_int_equal(dh_init(&d, "hgx-h100"), 0);
    assert_int_equal(dh_write_config(&d, "FABRIC_MODE=1\n"), 0);
    int st = -1;
    if (dh_start(&d, NULL, 20000, &st))
        fail_msg("daemon not ready (exit %d)", st);
    fmHandle_t keeper;
    assert_int_equal(sdk_open(&d, &keeper), FM_ST_SUCCESS);
    static fmFabricPartitionList_t l;
    l.version = fmFabricPartitionList_version;
    assert_int_equal(fmGetSupportedFabricPartitions(keeper, &l), FM_ST_SUCCESS);

    /* room for two more descriptors, then accept() fails with EMFILE */
    int used = open_fds(d.pid);
    struct rlimit rl = {.rlim_cur = (rlim_t)used + 2, .rlim_max = 4096};
    assert_int_equal(prlimit(d.pid, RLIMIT_NOFILE, &rl, NULL), 0);
    enum { PILE = 12 };
    int pile[PILE];
    for (int i = 0; i < PILE; i++)
        pile[i] = raw_unix(d.sock); /* the kernel queues them: listen backlog 64 */

    /* for a while, the existing client keeps working while accepts fail */
    unsigned calls = 0;
    for (long long end = mono_ms() + 500; mono_ms() < end; calls++)
        assert_int_equal(fmGetSupportedFabricPartitions(keeper, &l), FM_ST_SUCCESS);
    char *log = dh_read_log(&d);
    unsigned fails = count_lines(log, "SDK API", "Too many open files");
    print_message("%u calls served; %u accept-failure log lines in 500 ms\n", calls, fails);
    if (fails < 1 || fails > 2)
        fail_msg("%u accept-failure lines (want 1, at most one per 10 s)", fails);
    assert_non_null(strstr(log, "RLIMIT_NOFILE"));
    assert_null(strstr(log, "corrupted"));
    free(log);

    /* descriptors come back: the daemon accepts again (after its back-off) */
    for (int i = 0; i < PILE; i++)
        close(pile[i]);
    rl.rlim_cur = 1024;
    assert_int_equal(prlimit(d.pid, RLIMIT_NOFILE, &rl, NULL), 0);
    fmReturn_t rc = FM_ST_CONNECTION_NOT_VALID;
    for (long long end = mono_ms() + 10000; rc != FM_ST_SUCCESS && mono_ms() < end;) {
        fmHandle_t late;
        if (sdk_open(&d, &late) != FM_ST_SUCCESS)
            continue;
        rc = fmGetSupportedFabricPartitions(late, &l);
        fmDisconnect(late);
    }
    assert_int_equal(rc, FM_ST_SUCCESS);
    fmDisconnect(keeper);
    assert_int_equal(dh_stop(&d, SIGTERM), 0);
    dh_cleanup(&d);
}

int main(void)
{
    fmLibInit();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accept_failures_back_off),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    fmLibShutdown();
    return rc;
}
