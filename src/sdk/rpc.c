/* One request/reply exchange on a handle, bounded by the handle's timeout.
 * Bytes that arrive after a call gave up stay in the handle's buffer and
 * the late reply is recognised by its request id and skipped, so a timeout
 * does not desynchronise the stream. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "sdk/sdk_internal.h"

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for `events`; 1 ready, 0 deadline passed, -1 error. */
static int wait_fd(int fd, short events, long deadline)
{
    for (;;) {
        long left = deadline - now_ms();
        if (left <= 0)
            return 0;
        struct pollfd pfd = {.fd = fd, .events = events};
        int n = poll(&pfd, 1, (int)(left > 1000000 ? 1000000 : left));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n > 0)
            return 1;
    }
}

static fmReturn_t send_all(nvfm_handle *h, const uint8_t *buf, size_t len, long deadline)
{
    size_t off = 0;
    while (off < len) {
        ssize_t n = send(h->fd, buf + off, len - off, MSG_NOSIGNAL);
        if (n > 0) {
            off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int w = wait_fd(h->fd, POLLOUT, deadline);
            if (w == 1)
                continue;
            /* Part of a frame may be out: the stream cannot be resumed. */
            if (off > 0)
                h->dead = 1;
            return w == 0 ? FM_ST_TIMEOUT : FM_ST_CONNECTION_NOT_VALID;
        }
        h->dead = 1;
        return FM_ST_CONNECTION_NOT_VALID;
    }
    return FM_ST_SUCCESS;
}

#define SPIN_NS 50000L

static int spin_until_readable(int fd)
{
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        char c;
        ssize_t n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n != -1 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
            return 1; /* data, EOF or an error: let recv() report it */
        clock_gettime(CLOCK_MONOTONIC, &t);
    } while ((t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) < SPIN_NS);
    return 0;
}

/* Reads until the buffer holds at least `want` bytes. */
static fmReturn_t fill(nvfm_handle *h, size_t want, long deadline)
{
    if (h->rcap < want) {
        size_t cap = want < 4096 ? 4096 : want;
        uint8_t *nb = realloc(h->rbuf, cap);
        if (!nb)
            return FM_ST_GENERIC_ERROR;
        h->rbuf = nb;
        h->rcap = cap;
    }
    while (h->rlen < want) {
        ssize_t n = recv(h->fd, h->rbuf + h->rlen, h->rcap - h->rlen, 0);
        if (n > 0) {
            h->rlen += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            /* A reply usually comes back within tens of microseconds. Blocking
             * at once puts this thread (and on VMs the vCPU) to sleep, and
             * the wake-up then costs more than the whole call; so retry
             * briefly before blocking. Bounded: at most SPIN_NS of CPU. */
            if (spin_until_readable(h->fd))
                continue;
            int w = wait_fd(h->fd, POLLIN, deadline);
            if (w == 1)
                continue;
            if (w == 0)
                return FM_ST_TIMEOUT;
        }
        /* EOF or a hard error: the daemon went away. */
        h->dead = 1;
        return FM_ST_CONNECTION_NOT_VALID;
    }
    return FM_ST_SUCCESS;
}

static void consume(nvfm_handle *h, size_t n)
{
    memmove(h->rbuf, h->rbuf + n, h->rlen - n);
    h->rlen -= n;
}

fmReturn_t nvfm_call(nvfm_handle *h, ofm_wire_request *rq, ofm_wire_reply *rp)
{
    pthread_mutex_lock(&h->lock);
    fmReturn_t rc = FM_ST_CONNECTION_NOT_VALID;
    uint8_t *frame = NULL;
    size_t flen = 0;
    if (h->dead)
        goto out;
    long deadline = now_ms() + (long)h->timeout_ms;
    if (++h->next_id == 0) /* 0 means "any id" to the decoder */
        h->next_id = 1;
    rq->request_id = h->next_id;
    if (ofm_wire_encode_request(rq, &frame, &flen, NULL) != 0) {
        rc = FM_ST_BADPARAM;
        goto out;
    }
    rc = send_all(h, frame, flen, deadline);
    if (rc != FM_ST_SUCCESS)
        goto out;
    for (;;) {
        rc = fill(h, OFM_WIRE_HEADER_LEN, deadline);
        if (rc != FM_ST_SUCCESS)
            goto out;
        ofm_wire_header hdr;
        if (ofm_wire_header_decode(h->rbuf, OFM_WIRE_FLAG_REPLY, OFM_WIRE_MAX_REPLY, &hdr) !=
            OFM_WIRE_OK) {
            /* Not an openfm daemon, or an incompatible one. */
            h->dead = 1;
            rc = FM_ST_CONNECTION_NOT_VALID;
            goto out;
        }
        size_t total = OFM_WIRE_HEADER_LEN + (size_t)hdr.length;
        rc = fill(h, total, deadline);
        if (rc != FM_ST_SUCCESS)
            goto out;
        ofm_wire_reply tmp = *rp;
        tmp.request_id = rq->request_id;
        int bad = ofm_wire_decode_reply(h->rbuf + OFM_WIRE_HEADER_LEN, hdr.length, rq->op, &tmp,
                                        NULL);
        consume(h, total);
        if (tmp.request_id != rq->request_id) {
            free(tmp.json);
            continue; /* late reply to a call that timed out */
        }
        if (bad) {
            free(tmp.json);
            rc = FM_ST_GENERIC_ERROR;
            goto out;
        }
        *rp = tmp;
        rc = rp->status;
        break;
    }
out:
    pthread_mutex_unlock(&h->lock);
    free(frame);
    return rc;
}
