/* Who may change partitions (issue 14, item 6), against the real daemon in
 * shared NVSwitch mode. The attack: a non-root local user activated and
 * wiped tenants over loopback TCP. Clients run as uid 65534 in forked
 * children (the tests run as root); whether a partition is active is judged
 * by the emulator's traffic probe, not by the daemon's answers. Also the
 * start-up refusals: a non-loopback bind without OPENFM_API_ALLOW_REMOTE,
 * and a port already taken (the error names the holder). */
#include <arpa/inet.h>
#include <grp.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon_harness.h"
#include "nv_fm_agent.h"
#include "openfm/emu.h"
#include "sdk/nvfm_ext.h"

#define NOBODY 65534
#define TEST_GID 4242

static uint16_t free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t l = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &l), 0);
    close(fd);
    return ntohs(a.sin_port);
}

/* Config of the harness's keys, but the SDK on TCP `port` when non-zero. */
static void write_cfg(dh_daemon *d, uint16_t port, const char *extra)
{
    FILE *f = fopen(d->cfg, "w");
    assert_non_null(f);
    fprintf(f,
            "DAEMONIZE=0\nLOG_FILE_NAME=%s\nLOG_LEVEL=4\nFABRIC_MODE=1\nSTATE_FILE_NAME=%s\n"
            "OPENFM_PID_FILE=%s/fm.pid\nOPENFM_EMU_DIR=%s\nOPENFM_MONITOR_INTERVAL_MS=20\n%s",
            d->log, d->state, d->dir, d->emu, extra ? extra : "");
    if (port)
        fprintf(f, "FM_CMD_PORT_NUMBER=%u\n", (unsigned)port);
    else
        fprintf(f, "FM_CMD_UNIX_SOCKET_PATH=%s\n", d->sock);
    assert_int_equal(fclose(f), 0);
}

static void start(dh_daemon *d, uint16_t port, const char *extra)
{
    assert_int_equal(dh_init(d, "hgx-h100"), 0);
    write_cfg(d, port, extra);
    int st = -1;
    if (dh_start(d, NULL, 20000, &st)) {
        char *log = dh_read_log(d);
        fail_msg("daemon not ready (exit %d)\n%s", st, log ? log : "");
    }
}

static fmReturn_t sdk_open(const dh_daemon *d, uint16_t port, fmHandle_t *h)
{
    fmConnectParams_t cp;
    memset(&cp, 0, sizeof cp);
    cp.version = fmConnectParams_version;
    cp.timeoutMs = 5000;
    if (port) {
        snprintf(cp.addressInfo, sizeof cp.addressInfo, "127.0.0.1:%u", (unsigned)port);
    } else {
        cp.addressType = FM_ADDRESS_TYPE_UNIX;
        snprintf(cp.addressInfo, sizeof cp.addressInfo, "%s", d->sock);
    }
    return fmConnect(&cp, h);
}

/* A partition of at least two GPUs, and two of its GPUs. */
static fmFabricPartitionId_t pick(fmHandle_t h, uint32_t *ga, uint32_t *gb)
{
    static fmFabricPartitionList_t l;
    memset(&l, 0, sizeof l);
    l.version = fmFabricPartitionList_version;
    assert_int_equal(fmGetSupportedFabricPartitions(h, &l), FM_ST_SUCCESS);
    for (unsigned i = 0; i < l.numPartitions; i++)
        if (l.partitionInfo[i].numGpus >= 2) {
            *ga = l.partitionInfo[i].gpuInfo[0].physicalId;
            *gb = l.partitionInfo[i].gpuInfo[1].physicalId;
            return l.partitionInfo[i].partitionId;
        }
    fail_msg("no partition with two GPUs");
    return 0;
}

/* Does GPU a reach GPU b through the programmed switches? */
static bool reaches(const dh_daemon *d, uint32_t a, uint32_t b)
{
    ofm_hal *hal = NULL;
    char err[512];
    assert_int_equal(ofm_emu_open(d->emu, &hal, err, sizeof err), OFM_HAL_OK);
    ofm_emu_probe_result r;
    assert_int_equal(ofm_emu_probe(hal, a, b, true, &r), OFM_HAL_OK);
    ofm_hal_close(hal);
    return r.arrives;
}

enum { TRY_ACTIVATE, TRY_DEACTIVATE, TRY_SET_EMPTY, TRY_CREATE, TRY_DELETE, TRY_ACTIVATE_ANY };

/* In a child running as uid/gid NOBODY (with `groups`): connect, read the
 * partition list, then try `op` on `pid`. Exit status: 10 + the fmReturn_t
 * negated of the mutating call, 1 if connecting failed, 2 if reading was
 * refused. */
static int as_user(const dh_daemon *d, uint16_t port, uid_t uid, const gid_t *groups, size_t ng,
                   int op, fmFabricPartitionId_t part)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (setgroups(ng, groups) || setgid(NOBODY) || setuid(uid))
            _exit(99);
        fmLibInit();
        fmHandle_t h;
        if (sdk_open(d, port, &h) != FM_ST_SUCCESS)
            _exit(1);
        static fmFabricPartitionList_t l;
        l.version = fmFabricPartitionList_version;
        if (fmGetSupportedFabricPartitions(h, &l) != FM_ST_SUCCESS)
            _exit(2);
        fmReturn_t rc;
        if (op == TRY_ACTIVATE) {
            rc = fmActivateFabricPartition(h, part);
        } else if (op == TRY_DEACTIVATE) {
            rc = fmDeactivateFabricPartition(h, part);
        } else if (op == TRY_CREATE) {
            /* partitions defined live: GPUs 1, 2 and 3 as partition `part` */
            unsigned g[] = {1, 2, 3};
            fmFabricPartitionId_t nid;
            rc = ofmCreateFabricPartition(h, g, 3, part, &nid);
        } else if (op == TRY_DELETE) {
            rc = ofmDeleteFabricPartition(h, part);
        } else if (op == TRY_ACTIVATE_ANY) {
            rc = ofmActivateFabricPartitionAny(h, part);
        } else {
            fmActivatedFabricPartitionList_t none;
            memset(&none, 0, sizeof none);
            none.version = fmActivatedFabricPartitionList_version;
            rc = fmSetActivatedFabricPartitions(h, &none);
        }
        fmDisconnect(h);
        _exit(10 - (int)rc);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    return WEXITSTATUS(st);
}

#define REFUSED (10 - FM_ST_NOT_SUPPORTED)
#define DONE (10 - FM_ST_SUCCESS)

static bool log_has(const dh_daemon *d, const char *a, const char *b)
{
    char *log = dh_read_log(d);
    bool found = false;
    for (char *line = log; line && *line && !found;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        found = strstr(line, a) && (!b || strstr(line, b));
        line = nl ? nl + 1 : NULL;
    }
    free(log);
    return found;
}

static void test_tcp_unprivileged_refused(void **state)
{
    (void)state;
    dh_daemon d;
    uint16_t port = free_port();
    start(&d, port, NULL);
    fmHandle_t root;
    assert_int_equal(sdk_open(&d, port, &root), FM_ST_SUCCESS);
    uint32_t a, b;
    fmFabricPartitionId_t p = pick(root, &a, &b);
    assert_false(reaches(&d, a, b));

    /* nobody can read, but not activate */
    assert_int_equal(as_user(&d, port, NOBODY, NULL, 0, TRY_ACTIVATE, p), REFUSED);
    assert_false(reaches(&d, a, b));
    assert_true(log_has(&d, "refused", "uid 65534"));

    /* root can; then nobody can neither deactivate it nor wipe everything */
    assert_int_equal(fmActivateFabricPartition(root, p), FM_ST_SUCCESS);
    assert_true(reaches(&d, a, b));
    assert_int_equal(as_user(&d, port, NOBODY, NULL, 0, TRY_DEACTIVATE, p), REFUSED);
    assert_int_equal(as_user(&d, port, NOBODY, NULL, 0, TRY_SET_EMPTY, p), REFUSED);
    assert_true(reaches(&d, a, b));

    /* the same for partitions defined live: nobody can neither define one
     * nor delete or activate root's */
    assert_int_equal(as_user(&d, port, NOBODY, NULL, 0, TRY_CREATE, 300), REFUSED);
    unsigned g3[] = {1, 2, 3};
    fmFabricPartitionId_t nid = 0;
    assert_int_equal(fmDeactivateFabricPartition(root, p), FM_ST_SUCCESS);
    assert_int_equal(ofmCreateFabricPartition(root, g3, 3, 301, &nid), FM_ST_SUCCESS);
    assert_int_equal(as_user(&d, port, NOBODY, NULL, 0, TRY_ACTIVATE_ANY, 301), REFUSED);
    assert_false(reaches(&d, 1, 2));
    assert_int_equal(as_user(&d, port, NOBODY, NULL, 0, TRY_DELETE, 301), REFUSED);
    assert_int_equal(ofmActivateFabricPartitionAny(root, 301), FM_ST_SUCCESS);
    assert_true(reaches(&d, 1, 2));
    ofm_wire_partition_defs *defs = calloc(1, sizeof *defs);
    assert_int_equal(ofmListFabricPartitions(root, defs), FM_ST_SUCCESS);
    bool have300 = false, have301 = false;
    for (unsigned i = 0; i < defs->n; i++) {
        have300 |= defs->def[i].id == 300;
        have301 |= defs->def[i].id == 301;
    }
    assert_false(have300);
    assert_true(have301);
    free(defs);

    fmDisconnect(root);
    assert_int_equal(dh_stop(&d, SIGTERM), 0);
    dh_cleanup(&d);
}

static void test_unix_group_member_allowed(void **state)
{
    (void)state;
    dh_daemon d;
    start(&d, 0, "OPENFM_API_ADMIN_GROUP=4242\n");
    assert_int_equal(chmod(d.dir, 0711), 0);
    struct stat st;
    assert_int_equal(stat(d.sock, &st), 0);
    assert_int_equal(st.st_gid, TEST_GID);
    assert_int_equal(st.st_mode & 0777, 0660);
    fmHandle_t root;
    assert_int_equal(sdk_open(&d, 0, &root), FM_ST_SUCCESS);
    uint32_t a, b;
    fmFabricPartitionId_t p = pick(root, &a, &b);
    fmDisconnect(root);

    /* a member (supplementary group, as SO_PEERCRED/SO_PEERGROUPS see it) */
    const gid_t member[] = {TEST_GID};
    assert_int_equal(as_user(&d, 0, NOBODY, member, 1, TRY_ACTIVATE, p), DONE);
    assert_true(reaches(&d, a, b));
    /* a non-member cannot even connect (socket mode 0660, group 4242) ... */
    assert_int_equal(as_user(&d, 0, NOBODY, NULL, 0, TRY_DEACTIVATE, p), 1);
    /* ... and where the operator opened the socket up, is refused per call */
    assert_int_equal(chmod(d.sock, 0666), 0);
    assert_int_equal(as_user(&d, 0, NOBODY, NULL, 0, TRY_DEACTIVATE, p), REFUSED);
    assert_true(reaches(&d, a, b));
    assert_true(log_has(&d, "refused", "uid 65534"));
    assert_int_equal(as_user(&d, 0, NOBODY, member, 1, TRY_DEACTIVATE, p), DONE);
    assert_false(reaches(&d, a, b));
    /* a member may define and delete partitions too; others may not */
    assert_int_equal(as_user(&d, 0, NOBODY, NULL, 0, TRY_CREATE, 300), REFUSED);
    assert_int_equal(as_user(&d, 0, NOBODY, member, 1, TRY_CREATE, 300), DONE);
    assert_int_equal(as_user(&d, 0, NOBODY, NULL, 0, TRY_DELETE, 300), REFUSED);
    assert_int_equal(as_user(&d, 0, NOBODY, member, 1, TRY_DELETE, 300), DONE);

    assert_int_equal(dh_stop(&d, SIGTERM), 0);
    dh_cleanup(&d);
}

static void test_tcp_group_from_database(void **state)
{
    /* Over TCP only the socket's uid is known: membership comes from the
     * group database. nobody's primary group is nogroup (65534); daemon
     * (uid 1) is not in it. */
    (void)state;
    struct group *g = getgrgid(NOBODY);
    if (!g)
        skip();
    char extra[128];
    snprintf(extra, sizeof extra, "OPENFM_API_ADMIN_GROUP=%s\n", g->gr_name);
    dh_daemon d;
    uint16_t port = free_port();
    start(&d, port, extra);
    fmHandle_t root;
    assert_int_equal(sdk_open(&d, port, &root), FM_ST_SUCCESS);
    uint32_t a, b;
    fmFabricPartitionId_t p = pick(root, &a, &b);
    fmDisconnect(root);
    assert_int_equal(as_user(&d, port, 1, NULL, 0, TRY_ACTIVATE, p), REFUSED);
    assert_false(reaches(&d, a, b));
    assert_int_equal(as_user(&d, port, NOBODY, NULL, 0, TRY_ACTIVATE, p), DONE);
    assert_true(reaches(&d, a, b));
    assert_int_equal(dh_stop(&d, SIGTERM), 0);
    dh_cleanup(&d);
}

static void test_non_loopback_needs_key(void **state)
{
    (void)state;
    dh_daemon d;
    assert_int_equal(dh_init(&d, "hgx-h100"), 0);
    write_cfg(&d, free_port(), "FM_CMD_BIND_INTERFACE=0.0.0.0\n");
    int st = -1;
    assert_int_equal(dh_start(&d, NULL, 20000, &st), -1);
    assert_int_equal(st, 1);
    assert_true(log_has(&d, "0.0.0.0 is not a loopback address", "OPENFM_API_ALLOW_REMOTE=1"));
    dh_cleanup(&d);
}

static void test_port_in_use_names_holder(void **state)
{
    (void)state;
    int holder = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t l = sizeof a;
    assert_int_equal(bind(holder, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(holder, 1), 0);
    assert_int_equal(getsockname(holder, (struct sockaddr *)&a, &l), 0);
    dh_daemon d;
    assert_int_equal(dh_init(&d, "hgx-h100"), 0);
    write_cfg(&d, ntohs(a.sin_port), NULL);
    int st = -1;
    assert_int_equal(dh_start(&d, NULL, 20000, &st), -1);
    assert_int_equal(st, 1);
    char want[64];
    snprintf(want, sizeof want, "held by pid %ld (", (long)getpid());
    if (!log_has(&d, "Address already in use", want)) {
        char *log = dh_read_log(&d);
        fail_msg("no '%s' in the log:\n%s", want, log ? log : "");
    }
    close(holder);
    dh_cleanup(&d);
}

int main(void)
{
    if (geteuid() != 0) {
        fprintf(stderr, "test_api_access: needs root (forks clients as uid 65534); skipped\n");
        return 0;
    }
    fmLibInit();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tcp_unprivileged_refused),
        cmocka_unit_test(test_unix_group_member_allowed),
        cmocka_unit_test(test_tcp_group_from_database),
        cmocka_unit_test(test_non_loopback_needs_key),
        cmocka_unit_test(test_port_in_use_names_holder),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    fmLibShutdown();
    return rc;
}
