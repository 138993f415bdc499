/* fmConnect(): address validation, Unix sockets, unreachable daemons,
 * connect and call timeouts, dead connections and the client cap. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netdb.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "fake_server.h"
#include "nv_fm_agent.h"
#include "sdk/nvfm_ext.h"
#include "sdk/sdk_internal.h"
#include "sdk_util.h"
#include "wire/wire.h"

/* ---- resolver stand-ins: a name server that knows nothing, one that is
 * unreachable, and one that answers only when the test lets it ---- */
static pthread_mutex_t r_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t r_cv = PTHREAD_COND_INITIALIZER;
static unsigned r_calls, r_returned;
static int r_release;

static int resolver_noname(const char *h, const char *s, const struct addrinfo *hi,
                           struct addrinfo **res)
{
    (void)h, (void)s, (void)hi, (void)res;
    pthread_mutex_lock(&r_lock);
    r_calls++;
    pthread_mutex_unlock(&r_lock);
    return EAI_NONAME;
}

static int resolver_again(const char *h, const char *s, const struct addrinfo *hi,
                          struct addrinfo **res)
{
    (void)h, (void)s, (void)hi, (void)res;
    return EAI_AGAIN;
}

/* Blocks until r_release, then resolves to 127.0.0.1. */
static int resolver_stuck(const char *h, const char *s, const struct addrinfo *hi,
                          struct addrinfo **res)
{
    (void)h;
    pthread_mutex_lock(&r_lock);
    r_calls++;
    while (!r_release)
        pthread_cond_wait(&r_cv, &r_lock);
    pthread_mutex_unlock(&r_lock);
    int rc = getaddrinfo("127.0.0.1", s, hi, res);
    pthread_mutex_lock(&r_lock);
    r_returned++;
    pthread_cond_broadcast(&r_cv);
    pthread_mutex_unlock(&r_lock);
    return rc;
}

static long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int setup(void **state)
{
    (void)state;
    assert_int_equal(fmLibInit(), FM_ST_SUCCESS);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    nvfm_getaddrinfo = getaddrinfo;
    fmLibShutdown();
    return 0;
}

static fmReturn_t connect_str(const char *addr, fmHandle_t *h)
{
    fmConnectParams_t p;
    memset(&p, 0, sizeof p);
    p.version = fmConnectParams_version;
    snprintf(p.addressInfo, sizeof p.addressInfo, "%s", addr);
    p.timeoutMs = 1000;
    return fmConnect(&p, h);
}

static void test_bad_addresses(void **state)
{
    (void)state;
    const char *bad[] = {"1.2.3", "1.2.3.4:0", ":6666", "", "1.2.3.4:", "1.2.3.4:65536",
                         "256.1.1.1", "1.2.3.4.5", "a.b.c.d", "1.2.3.4:66x", " 1.2.3.4",
                         "1.2.3.4 ", "1..3.4", "-1.2.3.4", "1.2.3.4:+80", "1.2.3.4:-1",
                         "1234.1.1.1", "::1", "[::1]:6666", "host name", "host:", "host:0",
                         "host:65536", "-host", "h_st", "host:6666:1", "1host", "0x7f.0.0.1",
                         "0177.0.0.1", "no-such-host"};
    fmHandle_t h = NULL;
    /* Names that pass the syntax check meet a name server that knows none. */
    nvfm_getaddrinfo = resolver_noname;
    r_calls = 0;
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (connect_str(bad[i], &h) != FM_ST_BADPARAM)
            fail_msg("address '%s' was not rejected with FM_ST_BADPARAM", bad[i]);
    }
    /* Only the two well-formed names were looked up: anything starting
     * with a digit is a dotted quad or nothing. */
    assert_int_equal(r_calls, 2);
    nvfm_getaddrinfo = getaddrinfo;
    char longname[256];
    memset(longname, 'a', 254);
    longname[254] = '\0';
    assert_int_equal(connect_str(longname, &h), FM_ST_BADPARAM);
    /* No terminator inside the 256-byte field. */
    fmConnectParams_t p;
    memset(&p, 0, sizeof p);
    p.version = fmConnectParams_version;
    memset(p.addressInfo, '1', sizeof p.addressInfo);
    assert_int_equal(fmConnect(&p, &h), FM_ST_BADPARAM);
    /* A Unix path longer than sun_path can hold. */
    memset(p.addressInfo, 0, sizeof p.addressInfo);
    p.addressInfo[0] = '/';
    memset(p.addressInfo + 1, 'x', 150);
    p.addressIsUnixSocket = 1;
    assert_int_equal(fmConnect(&p, &h), FM_ST_BADPARAM);
    /* Unknown address type. */
    p.addressType = 9;
    snprintf(p.addressInfo, sizeof p.addressInfo, "/tmp/x");
    assert_int_equal(fmConnect(&p, &h), FM_ST_BADPARAM);
    /* VSOCK needs cid:port. */
    p.addressType = NV_FM_API_ADDR_TYPE_VSOCK;
    assert_int_equal(fmConnect(&p, &h), FM_ST_BADPARAM);
}

static void test_host_names(void **state)
{
    (void)state;
    fake_server fs;
    fake_server_start(&fs, NULL, 0);
    char addr[64];
    /* localhost comes from the hosts file: no name server needed. */
    snprintf(addr, sizeof addr, "localhost:%u", (unsigned)fs.port);
    fmHandle_t h = NULL;
    assert_int_equal(connect_str(addr, &h), FM_ST_SUCCESS);
    fmFabricPartitionList_t *l = calloc(1, sizeof *l);
    l->version = fmFabricPartitionList_version;
    assert_int_equal(fmGetSupportedFabricPartitions(h, l), FM_ST_SUCCESS);
    assert_int_equal(l->numPartitions, 3);
    free(l);
    assert_int_equal(fmDisconnect(h), FM_ST_SUCCESS);

    /* An unknown name: BADPARAM, and the reason names it. */
    nvfm_getaddrinfo = resolver_noname;
    assert_int_equal(connect_str("fm-head.example", &h), FM_ST_BADPARAM);
    const char *why = ofmReturnText(FM_ST_BADPARAM);
    if (!strstr(why, "'fm-head.example'") || !strstr(why, "does not resolve"))
        fail_msg("reason for an unresolvable name: '%s'", why);
    /* The reason belongs to that failure only. */
    assert_string_equal(ofmReturnText(FM_ST_IN_USE), "partition or its GPUs are already in use");
    snprintf(addr, sizeof addr, "127.0.0.1:%u", (unsigned)fs.port);
    assert_int_equal(connect_str(addr, &h), FM_ST_SUCCESS);
    assert_null(strstr(ofmReturnText(FM_ST_BADPARAM), "fm-head"));
    assert_int_equal(fmDisconnect(h), FM_ST_SUCCESS);

    /* A name server that cannot be reached: retry later, not a bad name. */
    nvfm_getaddrinfo = resolver_again;
    assert_int_equal(connect_str("fm-head.example", &h), FM_ST_CONNECTION_NOT_VALID);
    assert_non_null(strstr(ofmReturnText(FM_ST_CONNECTION_NOT_VALID), "name server"));

    /* A resolver that hangs: fmConnect returns at timeoutMs regardless. */
    nvfm_getaddrinfo = resolver_stuck;
    r_calls = r_returned = 0;
    r_release = 0;
    fmConnectParams_t p;
    memset(&p, 0, sizeof p);
    p.version = fmConnectParams_version;
    snprintf(p.addressInfo, sizeof p.addressInfo, "slow-dns.example:%u", (unsigned)fs.port);
    p.timeoutMs = 300;
    long t0 = mono_ms();
    assert_int_equal(fmConnect(&p, &h), FM_ST_CONNECTION_NOT_VALID);
    long took = mono_ms() - t0;
    /* The upper bound only tells "gave up" from "hung on the resolver" (which
     * never returns before r_release); it is generous for loaded CI boxes. */
    if (took < 250 || took > 10000)
        fail_msg("fmConnect with a stuck resolver took %ld ms for timeoutMs 300", took);
    assert_non_null(strstr(ofmReturnText(FM_ST_CONNECTION_NOT_VALID), "within timeoutMs"));
    /* The abandoned lookup finishes later and cleans up after itself
     * (ASan's leak check covers the job it frees). */
    pthread_mutex_lock(&r_lock);
    assert_int_equal(r_calls, 1);
    r_release = 1;
    pthread_cond_broadcast(&r_cv);
    while (r_returned == 0)
        pthread_cond_wait(&r_cv, &r_lock);
    pthread_mutex_unlock(&r_lock);
    /* With an answer in time, the name is used. */
    p.timeoutMs = 2000;
    assert_int_equal(fmConnect(&p, &h), FM_ST_SUCCESS);
    assert_int_equal(fmDisconnect(h), FM_ST_SUCCESS);
    nvfm_getaddrinfo = getaddrinfo;
    fake_server_stop(&fs);
}

static void test_unreachable(void **state)
{
    (void)state;
    /* Find a free port, then connect to it with nothing listening. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
    socklen_t sl = sizeof sin;
    getsockname(fd, (struct sockaddr *)&sin, &sl);
    close(fd);
    fmHandle_t h;
    assert_int_equal(sdk_connect_tcp(ntohs(sin.sin_port), 1000, &h), FM_ST_CONNECTION_NOT_VALID);
    char *dir = tmpdir_make();
    char path[108];
    path_join(path, sizeof path, dir, "nothing");
    assert_int_equal(sdk_connect_unix(path, 1000, &h), FM_ST_CONNECTION_NOT_VALID);
    tmpdir_remove(dir);
}

static void test_unix_socket_and_versions(void **state)
{
    (void)state;
    char *dir = tmpdir_make();
    char path[108];
    path_join(path, sizeof path, dir, "fm.sock");
    /* A stale socket from an earlier run is replaced. */
    int stale = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    memcpy(sun.sun_path, path, strlen(path) + 1);
    assert_int_equal(bind(stale, (struct sockaddr *)&sun, sizeof sun), 0);
    close(stale);

    fake_server fs;
    fake_server_start(&fs, path, 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0660);

    /* v1 structure, as an old client compiled it. */
    fmConnectParams_v1 p1;
    memset(&p1, 0, sizeof p1);
    p1.version = fmConnectV1Params_version1;
    memcpy(p1.addressInfo, path, strlen(path) + 1);
    p1.addressIsUnixSocket = 1;
    p1.timeoutMs = 2000;
    fmHandle_t h1;
    assert_int_equal(fmConnect((fmConnectParams_t *)(void *)&p1, &h1), FM_ST_SUCCESS);
    assert_int_equal(fmActivateFabricPartition(h1, 3), FM_ST_SUCCESS);

    /* v2 with conflicting fields: addressType wins. */
    fmConnectParams_t p2;
    memset(&p2, 0, sizeof p2);
    p2.version = fmConnectV2Params_version2;
    memcpy(p2.addressInfo, path, strlen(path) + 1);
    p2.addressIsUnixSocket = 0;
    p2.addressType = NV_FM_API_ADDR_TYPE_UNIX;
    fmHandle_t h2;
    assert_int_equal(fmConnect(&p2, &h2), FM_ST_SUCCESS);
    fmFabricPartitionList_t *l = calloc(1, sizeof *l);
    l->version = fmFabricPartitionList_version;
    assert_int_equal(fmGetSupportedFabricPartitions(h2, l), FM_ST_SUCCESS);
    assert_int_equal(l->numPartitions, 3);
    free(l);
    assert_int_equal(fake_server_calls(&fs).count, 2);
    assert_int_equal(fmDisconnect(h1), FM_ST_SUCCESS);
    assert_int_equal(fmDisconnect(h2), FM_ST_SUCCESS);
    fake_server_stop(&fs);
    /* Stopping removes the socket file. */
    assert_int_not_equal(stat(path, &st), 0);
    tmpdir_remove(dir);
}

static void test_connect_timeout(void **state)
{
    (void)state;
    /* A listener whose accept queue is full never completes the handshake
     * of a further connection: fmConnect must give up after timeoutMs. */
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(lfd, (struct sockaddr *)&sin, sizeof sin), 0);
    assert_int_equal(listen(lfd, 0), 0);
    socklen_t sl = sizeof sin;
    getsockname(lfd, (struct sockaddr *)&sin, &sl);
    int fill[4];
    for (int i = 0; i < 4; i++) {
        fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        (void)connect(fill[i], (struct sockaddr *)&sin, sizeof sin);
    }
    fmHandle_t h = NULL;
    fmReturn_t rc = sdk_connect_tcp(ntohs(sin.sin_port), 200, &h);
    assert_int_equal(rc, FM_ST_CONNECTION_NOT_VALID);
    for (int i = 0; i < 4; i++)
        close(fill[i]);
    close(lfd);
}

/* A "daemon" that accepts and reads requests but never answers. */
typedef struct {
    int lfd;
    int conn;
    int release[2];
} mute_server;

static void *mute_main(void *p)
{
    mute_server *m = p;
    m->conn = accept(m->lfd, NULL, NULL);
    /* Requests pile up unread in the socket until the test says to hang
     * up; none is ever answered. */
    char x;
    if (read(m->release[0], &x, 1) < 0)
        return NULL;
    close(m->conn);
    return NULL;
}

static void test_call_timeout_then_dead_connection(void **state)
{
    (void)state;
    mute_server m = {0};
    m.lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(m.lfd, (struct sockaddr *)&sin, sizeof sin), 0);
    assert_int_equal(listen(m.lfd, 4), 0);
    socklen_t sl = sizeof sin;
    getsockname(m.lfd, (struct sockaddr *)&sin, &sl);
    assert_int_equal(pipe(m.release), 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, mute_main, &m), 0);

    fmHandle_t h;
    assert_int_equal(sdk_connect_tcp(ntohs(sin.sin_port), 200, &h), FM_ST_SUCCESS);
    assert_int_equal(fmActivateFabricPartition(h, 1), FM_ST_TIMEOUT);
    fmFabricPartitionList_t *l = calloc(1, sizeof *l);
    l->version = fmFabricPartitionList_version;
    assert_int_equal(fmGetSupportedFabricPartitions(h, l), FM_ST_TIMEOUT);
    /* The daemon goes away: the handle reports a dead connection. */
    assert_int_equal(write(m.release[1], "x", 1), 1);
    pthread_join(t, NULL);
    assert_int_equal(fmGetSupportedFabricPartitions(h, l), FM_ST_CONNECTION_NOT_VALID);
    assert_int_equal(fmActivateFabricPartition(h, 1), FM_ST_CONNECTION_NOT_VALID);
    assert_int_equal(fmDisconnect(h), FM_ST_SUCCESS);
    free(l);
    close(m.lfd);
    close(m.release[0]);
    close(m.release[1]);
}

/* A "daemon" that answers the first request only after the test allows
 * it (by then the client has timed out), then answers the second. */
typedef struct {
    int lfd;
    int go[2];
} late_server;

static uint32_t late_read_request(int fd)
{
    uint8_t hdr[OFM_WIRE_HEADER_LEN], body[256];
    ofm_wire_header h;
    if (recv(fd, hdr, sizeof hdr, MSG_WAITALL) != (ssize_t)sizeof hdr ||
        ofm_wire_header_decode(hdr, 0, sizeof body, &h) != OFM_WIRE_OK ||
        recv(fd, body, h.length, MSG_WAITALL) != (ssize_t)h.length)
        return 0;
    ofm_wire_request rq;
    return ofm_wire_decode_request(body, h.length, &rq, NULL) == 0 ? rq.request_id : 0;
}

static void late_reply(int fd, uint32_t id, fmReturn_t st)
{
    ofm_wire_reply rp = {.request_id = id, .op = OFM_OP_ACTIVATE, .status = st};
    uint8_t *frame;
    size_t len;
    if (ofm_wire_encode_reply(&rp, &frame, &len, NULL) == 0) {
        if (send(fd, frame, len, MSG_NOSIGNAL) != (ssize_t)len)
            fprintf(stderr, "late_server: short send\n");
        free(frame);
    }
}

static void *late_main(void *p)
{
    late_server *ls = p;
    int fd = accept(ls->lfd, NULL, NULL);
    uint32_t first = late_read_request(fd);
    char x;
    if (read(ls->go[0], &x, 1) == 1) {
        late_reply(fd, first, FM_ST_IN_USE);
        uint32_t second = late_read_request(fd);
        late_reply(fd, second, FM_ST_SUCCESS);
    }
    /* Wait for the client to hang up before closing. */
    late_read_request(fd);
    close(fd);
    return NULL;
}

static void test_late_reply_is_skipped(void **state)
{
    (void)state;
    late_server ls;
    ls.lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(ls.lfd, (struct sockaddr *)&sin, sizeof sin), 0);
    assert_int_equal(listen(ls.lfd, 4), 0);
    socklen_t sl = sizeof sin;
    getsockname(ls.lfd, (struct sockaddr *)&sin, &sl);
    assert_int_equal(pipe(ls.go), 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, late_main, &ls), 0);

    fmHandle_t h;
    assert_int_equal(sdk_connect_tcp(ntohs(sin.sin_port), 200, &h), FM_ST_SUCCESS);
    assert_int_equal(fmActivateFabricPartition(h, 1), FM_ST_TIMEOUT);
    assert_int_equal(write(ls.go[1], "x", 1), 1);
    /* The first call's late FM_ST_IN_USE must not be taken as this call's
     * answer. */
    assert_int_equal(fmActivateFabricPartition(h, 2), FM_ST_SUCCESS);
    assert_int_equal(fmDisconnect(h), FM_ST_SUCCESS);
    pthread_join(t, NULL);
    close(ls.lfd);
    close(ls.go[0]);
    close(ls.go[1]);
}

static void test_server_stop_drops_clients(void **state)
{
    (void)state;
    fake_server fs;
    fake_server_start(&fs, NULL, 0);
    fmHandle_t h;
    assert_int_equal(sdk_connect_tcp(fs.port, 2000, &h), FM_ST_SUCCESS);
    assert_int_equal(fmActivateFabricPartition(h, 1), FM_ST_SUCCESS);
    fake_server_stop(&fs);
    assert_int_equal(fmActivateFabricPartition(h, 1), FM_ST_CONNECTION_NOT_VALID);
    assert_int_equal(fmDisconnect(h), FM_ST_SUCCESS);
}

static void test_client_cap(void **state)
{
    /* At the limit a newcomer takes the slot of the connection idle the
     * longest; it is refused only when no connection is idle. */
    (void)state;
    log_clear();
    fake_server fs;
    fake_server_start(&fs, NULL, 2);
    fmHandle_t h[3];
    for (int i = 0; i < 2; i++) {
        assert_int_equal(sdk_connect_tcp(fs.port, 2000, &h[i]), FM_ST_SUCCESS);
        assert_int_equal(fmActivateFabricPartition(h[i], 1), FM_ST_SUCCESS);
    }
    assert_int_equal(sdk_connect_tcp(fs.port, 2000, &h[2]), FM_ST_SUCCESS);
    assert_int_equal(fmActivateFabricPartition(h[2], 1), FM_ST_SUCCESS);
    assert_int_equal(fmActivateFabricPartition(h[1], 1), FM_ST_SUCCESS);
    assert_int_equal(fmActivateFabricPartition(h[0], 1), FM_ST_CONNECTION_NOT_VALID);
    assert_true(log_contains("closing connection from 127.0.0.1", "making room", NULL));
    for (int i = 0; i < 3; i++)
        assert_int_equal(fmDisconnect(h[i]), FM_ST_SUCCESS);

    /* Two clients in the middle of a frame are not idle: a third is refused.
     * Each sends a whole request and the start of the next in one segment
     * and waits for the reply: once it arrives, the server has buffered the
     * partial frame too. */
    int busy[2];
    ofm_wire_request rq = {.request_id = 1, .op = OFM_OP_ACTIVATE, .partition_id = 1};
    uint8_t *frame;
    size_t flen;
    assert_int_equal(ofm_wire_encode_request(&rq, &frame, &flen, NULL), 0);
    uint8_t burst[128];
    assert_true(flen + 5 <= sizeof burst);
    memcpy(burst, frame, flen);
    memcpy(burst + flen, frame, 5); /* the next frame's first bytes */
    free(frame);
    for (int i = 0; i < 2; i++) {
        busy[i] = raw_connect_tcp(fs.port);
        raw_send(busy[i], burst, flen + 5);
        uint8_t hdr[OFM_WIRE_HEADER_LEN], body[64];
        ofm_wire_header wh;
        assert_int_equal(recv(busy[i], hdr, sizeof hdr, MSG_WAITALL), (ssize_t)sizeof hdr);
        assert_int_equal(ofm_wire_header_decode(hdr, OFM_WIRE_FLAG_REPLY, sizeof body, &wh),
                         OFM_WIRE_OK);
        assert_int_equal(recv(busy[i], body, wh.length, MSG_WAITALL), (ssize_t)wh.length);
    }
    fmHandle_t late;
    assert_int_equal(sdk_connect_tcp(fs.port, 2000, &late), FM_ST_SUCCESS);
    assert_int_equal(fmActivateFabricPartition(late, 1), FM_ST_CONNECTION_NOT_VALID);
    fmDisconnect(late);
    assert_true(log_contains("refusing connection from 127.0.0.1", "limit", "none of them idle",
                             NULL));
    close(busy[0]);
    close(busy[1]);
    fake_server_stop(&fs);
}

static int group_setup(void **state)
{
    (void)state;
    log_capture_start();
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    log_capture_stop();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_bad_addresses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_host_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unreachable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unix_socket_and_versions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connect_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_call_timeout_then_dead_connection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_late_reply_is_skipped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_stop_drops_clients, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_cap, setup, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
