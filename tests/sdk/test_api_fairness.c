/* Connection limits, deadlines and fairness of the SDK server (issue 14,
 * item 5), each reproduced as the attack that broke them:
 *   - 64 connected, idle clients must not lock a new client out;
 *   - a client trickling one byte at a time must be cut off at the frame
 *     deadline, counted from the frame's first byte;
 *   - a client pipelining thousands of requests must not make another
 *     client's call wait behind its whole backlog;
 *   - with an idle timeout, a silent client is dropped. */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "fake_server.h"
#include "nv_fm_agent.h"
#include "sdk_util.h"
#include "wire/wire.h"

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static size_t encode(ofm_wire_op op, uint32_t id, fmFabricPartitionId_t pid, uint8_t *out,
                     size_t cap)
{
    ofm_wire_request rq = {.request_id = id, .op = op, .partition_id = pid};
    uint8_t *frame;
    size_t flen;
    assert_int_equal(ofm_wire_encode_request(&rq, &frame, &flen, NULL), 0);
    assert_true(flen <= cap);
    memcpy(out, frame, flen);
    free(frame);
    return flen;
}

/* Reads one reply (bounded by a 10 s poll deadline). */
static ofm_wire_reply read_reply(int fd, ofm_wire_op op)
{
    uint8_t hdr[OFM_WIRE_HEADER_LEN], body[256];
    struct pollfd p = {.fd = fd, .events = POLLIN};
    assert_int_equal(poll(&p, 1, 10000), 1);
    assert_int_equal(recv(fd, hdr, sizeof hdr, MSG_WAITALL), (ssize_t)sizeof hdr);
    ofm_wire_header h;
    assert_int_equal(ofm_wire_header_decode(hdr, OFM_WIRE_FLAG_REPLY, sizeof body, &h),
                     OFM_WIRE_OK);
    assert_int_equal(recv(fd, body, h.length, MSG_WAITALL), (ssize_t)h.length);
    ofm_wire_reply rp = {0};
    assert_int_equal(ofm_wire_decode_reply(body, h.length, op, &rp, NULL), 0);
    return rp;
}

static void test_idle_clients_do_not_lock_out(void **state)
{
    (void)state;
    log_clear();
    fake_server fs;
    fake_server_start(&fs, NULL, 0); /* the default limit, 64 */
    enum { N = 64 };
    fmHandle_t h[N];
    for (int i = 0; i < N; i++) {
        assert_int_equal(sdk_connect_tcp(fs.port, 5000, &h[i]), FM_ST_SUCCESS);
        assert_int_equal(fmActivateFabricPartition(h[i], 1), FM_ST_SUCCESS);
    }
    /* 64 clients connected and idle: a 65th still gets its call served */
    fmHandle_t late;
    assert_int_equal(sdk_connect_tcp(fs.port, 5000, &late), FM_ST_SUCCESS);
    assert_int_equal(fmActivateFabricPartition(late, 2), FM_ST_SUCCESS);
    assert_int_equal(fake_server_calls(&fs).last_id, 2);
    /* at the price of the connection idle the longest, and only that one */
    assert_int_equal(fmActivateFabricPartition(h[0], 1), FM_ST_CONNECTION_NOT_VALID);
    for (int i = 1; i < N; i++)
        assert_int_equal(fmActivateFabricPartition(h[i], 3), FM_ST_SUCCESS);
    assert_true(log_contains("closing connection from 127.0.0.1", "making room", NULL));
    for (int i = 0; i < N; i++)
        fmDisconnect(h[i]);
    fmDisconnect(late);
    fake_server_stop(&fs);
}

static void test_trickle_dropped_at_deadline(void **state)
{
    (void)state;
    log_clear();
    fake_server fs;
    ofm_api_listen l = {.frame_timeout_ms = 300};
    fake_server_start_cfg(&fs, &l);
    int fd = raw_connect_tcp(fs.port);
    /* a header announcing a 100-byte request, then one byte every 50 ms:
     * each byte arrives well within any per-read timeout */
    uint8_t hdr[OFM_WIRE_HEADER_LEN];
    ofm_wire_header_encode(hdr, 0, 100);
    raw_send(fd, hdr, sizeof hdr);
    long long start = mono_ms();
    int closed = 0;
    for (int sent = 0; sent < 100 && !closed; sent++) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 50) == 1) {
            char b;
            closed = recv(fd, &b, 1, 0) <= 0;
            break;
        }
        uint8_t byte = 0x08;
        if (send(fd, &byte, 1, MSG_NOSIGNAL) != 1)
            closed = 1;
    }
    long long took = mono_ms() - start;
    assert_true(closed);
    /* cut at the 300 ms deadline of the frame, not after the 5 s of bytes */
    assert_true(took < 3000);
    assert_true(log_contains("incomplete frame for 300 ms", NULL));
    close(fd);
    /* the server still serves others */
    fmHandle_t h;
    assert_int_equal(sdk_connect_tcp(fs.port, 5000, &h), FM_ST_SUCCESS);
    assert_int_equal(fmActivateFabricPartition(h, 4), FM_ST_SUCCESS);
    fmDisconnect(h);
    fake_server_stop(&fs);
}

static void test_pipelining_does_not_starve(void **state)
{
    (void)state;
    fake_server fs;
    fake_server_start(&fs, NULL, 0);
    int a = raw_connect_tcp(fs.port), b = raw_connect_tcp(fs.port);
    uint8_t frame[64];
    /* B is connected and served once, so the server watches it */
    size_t n = encode(OFM_OP_GET_STATUS_JSON, 1, 0, frame, sizeof frame);
    raw_send(b, frame, n);
    ofm_wire_reply first = read_reply(b, OFM_OP_GET_STATUS_JSON);
    assert_int_equal(first.status, FM_ST_SUCCESS);
    free(first.json);
    unsigned before = fake_server_calls(&fs).count;

    /* A pipelines a backlog; the server blocks in A's first request, so the
     * backlog and B's request are both waiting when it resumes */
    enum { BACKLOG = 2000 };
    uint8_t *burst = malloc(BACKLOG * sizeof frame);
    size_t off = 0;
    for (uint32_t i = 0; i < BACKLOG; i++)
        off += encode(OFM_OP_ACTIVATE, i + 1, 1, burst + off, sizeof frame);
    fake_server_block_next_activate(&fs);
    raw_send(a, burst, off);
    fake_server_wait_blocked(&fs);
    n = encode(OFM_OP_DEACTIVATE, 2, 7, frame, sizeof frame);
    raw_send(b, frame, n);
    fake_server_release(&fs);

    ofm_wire_reply rp = read_reply(b, OFM_OP_DEACTIVATE);
    assert_int_equal(rp.request_id, 2);
    fake_calls c = fake_server_calls(&fs);
    unsigned a_first = c.count_at_first_deactivate - before;
    /* B waited for a few of A's requests (a turn or two), not for the
     * whole backlog: the server takes connections in turn */
    print_message("B's call was served after %u of A's %u pipelined calls\n", a_first, BACKLOG);
    if (a_first > 16)
        fail_msg("B's call was served after %u of A's %u pipelined calls", a_first, BACKLOG);
    /* and A lost nothing: every reply, in order */
    for (uint32_t i = 0; i < BACKLOG; i++) {
        rp = read_reply(a, OFM_OP_ACTIVATE);
        if (rp.request_id != i + 1)
            fail_msg("A's reply %u has id %u", i + 1, rp.request_id);
    }
    free(burst);
    close(a);
    close(b);
    fake_server_stop(&fs);
}

static void test_idle_timeout(void **state)
{
    (void)state;
    log_clear();
    fake_server fs;
    ofm_api_listen l = {.idle_timeout_ms = 200};
    fake_server_start_cfg(&fs, &l);
    int fd = raw_connect_tcp(fs.port);
    uint8_t frame[64];
    size_t n = encode(OFM_OP_ACTIVATE, 1, 1, frame, sizeof frame);
    raw_send(fd, frame, n);
    assert_int_equal(read_reply(fd, OFM_OP_ACTIVATE).status, FM_ST_SUCCESS);
    long long start = mono_ms();
    assert_true(raw_wait_closed(fd));
    assert_true(mono_ms() - start < 5000);
    assert_true(log_contains("closing connection from 127.0.0.1", "idle for 200 ms", NULL));
    close(fd);
    fake_server_stop(&fs);
}

static int group_setup(void **state)
{
    (void)state;
    log_capture_start();
    assert_int_equal(fmLibInit(), FM_ST_SUCCESS);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    fmLibShutdown();
    log_capture_stop();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idle_clients_do_not_lock_out),
        cmocka_unit_test(test_trickle_dropped_at_deadline),
        cmocka_unit_test(test_pipelining_does_not_starve),
        cmocka_unit_test(test_idle_timeout),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
