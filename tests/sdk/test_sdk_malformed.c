/* Hostile bytes on the SDK socket: each bad frame is logged with the
 * peer and closes only that connection; the daemon keeps serving others.
 * Also the server's answers to well-framed but unusual requests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "fake_server.h"
#include "nv_fm_agent.h"
#include "sdk_util.h"
#include "wire/wire.h"

typedef struct {
    fake_server fs;
    char *dir;
    int use_unix;
    fmHandle_t bystander; /* connected before the attack, must survive */
} fixture;

static int open_raw(fixture *f)
{
    int fd = f->use_unix ? raw_connect_unix(f->fs.unix_path) : raw_connect_tcp(f->fs.port);
    struct timeval tv = {.tv_sec = 10};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

static fmReturn_t sdk_open(fixture *f, fmHandle_t *h)
{
    return f->use_unix ? sdk_connect_unix(f->fs.unix_path, 5000, h)
                       : sdk_connect_tcp(f->fs.port, 5000, h);
}

static int setup_common(void **state, int use_unix)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->use_unix = use_unix;
    char path[108];
    if (use_unix) {
        f->dir = tmpdir_make();
        path_join(path, sizeof path, f->dir, "sdk.sock");
    }
    fake_server_start(&f->fs, use_unix ? path : NULL, 0);
    assert_int_equal(fmLibInit(), FM_ST_SUCCESS);
    assert_int_equal(sdk_open(f, &f->bystander), FM_ST_SUCCESS);
    log_clear();
    *state = f;
    return 0;
}

static int setup_tcp(void **state) { return setup_common(state, 0); }
static int setup_unix(void **state) { return setup_common(state, 1); }

static int teardown(void **state)
{
    fixture *f = *state;
    fmLibShutdown();
    fake_server_stop(&f->fs);
    if (f->dir)
        tmpdir_remove(f->dir);
    free(f);
    return 0;
}

/* The daemon still serves the client that was already connected and a
 * brand-new one. */
static void assert_still_serving(fixture *f)
{
    assert_int_equal(fmActivateFabricPartition(f->bystander, 1), FM_ST_SUCCESS);
    fmHandle_t h;
    assert_int_equal(sdk_open(f, &h), FM_ST_SUCCESS);
    assert_int_equal(fmDeactivateFabricPartition(h, 1), FM_ST_SUCCESS);
    assert_int_equal(fmDisconnect(h), FM_ST_SUCCESS);
}

/* The close is handled by the loop asynchronously; round trips on another
 * connection give the loop its turns, without sleeping. */
static int log_eventually(fixture *f, const char *a, const char *b)
{
    for (int i = 0; i < 200; i++) {
        if (log_contains(a, b, NULL))
            return 1;
        assert_int_equal(fmActivateFabricPartition(f->bystander, 1), FM_ST_SUCCESS);
    }
    return log_contains(a, b, NULL);
}

static void send_frame(int fd, uint16_t version, uint16_t flags, uint32_t len,
                       const void *payload, size_t plen)
{
    uint8_t hdr[OFM_WIRE_HEADER_LEN];
    ofm_wire_header_encode(hdr, flags, len);
    hdr[4] = (uint8_t)(version >> 8);
    hdr[5] = (uint8_t)version;
    raw_send(fd, hdr, sizeof hdr);
    if (plen)
        raw_send(fd, payload, plen);
}

static void test_bad_magic(void **state)
{
    fixture *f = *state;
    int fd = open_raw(f);
    const char http[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    raw_send(fd, http, sizeof http - 1);
    assert_true(raw_wait_closed(fd));
    close(fd);
    assert_true(log_contains("bad magic", f->use_unix ? "unix:" : "127.0.0.1:", NULL));
    assert_still_serving(f);
}

static void test_bad_version_and_flags(void **state)
{
    fixture *f = *state;
    int fd = open_raw(f);
    send_frame(fd, 2, 0, 0, NULL, 0);
    assert_true(raw_wait_closed(fd));
    close(fd);
    assert_true(log_contains("unsupported protocol version", "version 2", NULL));
    fd = open_raw(f);
    send_frame(fd, OFM_WIRE_VERSION, OFM_WIRE_FLAG_REPLY, 0, NULL, 0);
    assert_true(raw_wait_closed(fd));
    close(fd);
    assert_true(log_contains("unexpected frame flags", NULL));
    assert_still_serving(f);
}

static void test_oversize(void **state)
{
    fixture *f = *state;
    int fd = open_raw(f);
    /* Refused on the header alone: the server never waits for 2 GiB. */
    send_frame(fd, OFM_WIRE_VERSION, 0, 0x7fffffffu, NULL, 0);
    assert_true(raw_wait_closed(fd));
    close(fd);
    assert_true(log_contains("larger than the protocol limit", "length 2147483647", NULL));
    fd = open_raw(f);
    send_frame(fd, OFM_WIRE_VERSION, 0, OFM_WIRE_MAX_REQUEST + 1, NULL, 0);
    assert_true(raw_wait_closed(fd));
    close(fd);
    assert_still_serving(f);
}

static void test_garbage_payload(void **state)
{
    fixture *f = *state;
    uint8_t junk[40];
    memset(junk, 0xff, sizeof junk);
    int fd = open_raw(f);
    send_frame(fd, OFM_WIRE_VERSION, 0, sizeof junk, junk, sizeof junk);
    assert_true(raw_wait_closed(fd));
    close(fd);
    assert_true(log_contains("malformed request", NULL));
    assert_int_equal(fake_server_calls(&f->fs).count, 0);
    assert_still_serving(f);
}

static void test_truncated_then_close(void **state)
{
    fixture *f = *state;
    int fd = open_raw(f);
    uint8_t part[10] = {0x08, 0x01};
    send_frame(fd, OFM_WIRE_VERSION, 0, 100, part, sizeof part);
    close(fd);
    assert_true(log_eventually(f, "closing connection", "middle of a frame"));
    assert_still_serving(f);
}

static void test_stalled_frame_times_out(void **state)
{
    /* A sender that stops mid-frame is cut off; one that is merely idle
     * between frames is not. */
    fixture *f = *state;
    fake_server fs;
    fake_server_start_ex(&fs, NULL, 0, 100);
    int idle = raw_connect_tcp(fs.port);
    int stalled = raw_connect_tcp(fs.port);
    uint8_t part[5] = {0x4f, 0x46, 0x4d, 0x57, 0x00};
    raw_send(stalled, part, sizeof part);
    assert_true(raw_wait_closed(stalled));
    close(stalled);
    assert_true(log_contains("incomplete frame for 100 ms", NULL));
    /* The idle connection still works. */
    ofm_wire_request rq = {.request_id = 5, .op = OFM_OP_ACTIVATE, .partition_id = 1};
    uint8_t *frame;
    size_t flen;
    assert_int_equal(ofm_wire_encode_request(&rq, &frame, &flen, NULL), 0);
    raw_send(idle, frame, flen);
    free(frame);
    uint8_t hdr[OFM_WIRE_HEADER_LEN];
    assert_int_equal(recv(idle, hdr, sizeof hdr, MSG_WAITALL), (ssize_t)sizeof hdr);
    close(idle);
    fake_server_stop(&fs);
    (void)f;
}

/* Sends one request frame raw and decodes the reply. */
static fmReturn_t raw_call(fixture *f, const uint8_t *payload, size_t plen, uint32_t *reply_id)
{
    int fd = open_raw(f);
    send_frame(fd, OFM_WIRE_VERSION, 0, (uint32_t)plen, payload, plen);
    uint8_t hdr[OFM_WIRE_HEADER_LEN];
    assert_int_equal(recv(fd, hdr, sizeof hdr, MSG_WAITALL), (ssize_t)sizeof hdr);
    ofm_wire_header h;
    assert_int_equal(ofm_wire_header_decode(hdr, OFM_WIRE_FLAG_REPLY, OFM_WIRE_MAX_REPLY, &h),
                     OFM_WIRE_OK);
    uint8_t *body = malloc(h.length + 1);
    if (h.length)
        assert_int_equal(recv(fd, body, h.length, MSG_WAITALL), (ssize_t)h.length);
    ofm_wire_reply rp = {0};
    assert_int_equal(ofm_wire_decode_reply(body, h.length, OFM_OP_ACTIVATE, &rp, NULL), 0);
    free(body);
    close(fd);
    *reply_id = rp.request_id;
    return rp.status;
}

static void test_unknown_request_answered(void **state)
{
    /* A request with no body we know (e.g. from a newer client) is still
     * answered, with FM_ST_NOT_SUPPORTED and its request id. */
    fixture *f = *state;
    const uint8_t only_id[] = {0x08, 0x2a};
    uint32_t id = 0;
    assert_int_equal(raw_call(f, only_id, sizeof only_id, &id), FM_ST_NOT_SUPPORTED);
    assert_int_equal(id, 42);
    /* Unknown field numbers are skipped per protobuf rules. */
    const uint8_t future[] = {0x08, 0x07, 0xf8, 0x07, 0x01, 0x5a, 0x02, 0x08, 0x03};
    assert_int_equal(raw_call(f, future, sizeof future, &id), FM_ST_SUCCESS);
    assert_int_equal(id, 7);
    assert_int_equal(fake_server_calls(&f->fs).last_id, 3);
}

static void test_server_checks_struct_version(void **state)
{
    /* A client library that skips the local check still gets
     * FM_ST_VERSION_MISMATCH from the daemon. */
    fixture *f = *state;
    ofm_wire_request rq = {.request_id = 9, .op = OFM_OP_GET_SUPPORTED,
                           .struct_version = MAKE_FM_PARAM_VERSION(fmFabricPartitionList_v2, 7)};
    uint8_t *frame;
    size_t flen;
    assert_int_equal(ofm_wire_encode_request(&rq, &frame, &flen, NULL), 0);
    uint32_t id = 0;
    assert_int_equal(raw_call(f, frame + OFM_WIRE_HEADER_LEN, flen - OFM_WIRE_HEADER_LEN, &id),
                     FM_ST_VERSION_MISMATCH);
    assert_int_equal(id, 9);
    free(frame);
    assert_int_equal(fake_server_calls(&f->fs).count, 0);
}

static void test_pipelined_requests(void **state)
{
    fixture *f = *state;
    int fd = open_raw(f);
    uint8_t buf[256];
    size_t off = 0;
    for (uint32_t i = 1; i <= 3; i++) {
        ofm_wire_request rq = {.request_id = i, .op = OFM_OP_ACTIVATE, .partition_id = i};
        uint8_t *frame;
        size_t flen;
        assert_int_equal(ofm_wire_encode_request(&rq, &frame, &flen, NULL), 0);
        memcpy(buf + off, frame, flen);
        off += flen;
        free(frame);
    }
    raw_send(fd, buf, off);
    for (uint32_t i = 1; i <= 3; i++) {
        uint8_t hdr[OFM_WIRE_HEADER_LEN], body[64];
        ofm_wire_header h;
        assert_int_equal(recv(fd, hdr, sizeof hdr, MSG_WAITALL), (ssize_t)sizeof hdr);
        assert_int_equal(ofm_wire_header_decode(hdr, OFM_WIRE_FLAG_REPLY, sizeof body, &h),
                         OFM_WIRE_OK);
        assert_int_equal(recv(fd, body, h.length, MSG_WAITALL), (ssize_t)h.length);
        ofm_wire_reply rp = {0};
        assert_int_equal(ofm_wire_decode_reply(body, h.length, OFM_OP_ACTIVATE, &rp, NULL), 0);
        assert_int_equal(rp.request_id, i);
        assert_int_equal(rp.status, FM_ST_SUCCESS);
    }
    close(fd);
    assert_int_equal(fake_server_calls(&f->fs).count, 3);
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

#define BOTH(fn)                                              \
    cmocka_unit_test_setup_teardown(fn, setup_tcp, teardown), \
        cmocka_unit_test_setup_teardown(fn, setup_unix, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        BOTH(test_bad_magic),
        BOTH(test_bad_version_and_flags),
        BOTH(test_oversize),
        BOTH(test_garbage_payload),
        BOTH(test_truncated_then_close),
        BOTH(test_unknown_request_answered),
        BOTH(test_server_checks_struct_version),
        BOTH(test_pipelined_requests),
        cmocka_unit_test_setup_teardown(test_stalled_frame_times_out, setup_tcp, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
