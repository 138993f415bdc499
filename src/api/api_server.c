/* The SDK server: accepts connections, reassembles frames from each
 * client's byte stream, dispatches to the handler table and queues the
 * reply. All on one libevent loop, so a slow or idle client only ever
 * costs its own buffers. */
#include "api/api_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "openfm/log.h"
#include "wire/wire.h"

#define DEFAULT_MAX_CLIENTS 64u
#define DEFAULT_FRAME_TIMEOUT_MS 10000u
/* A well-behaved client has at most one reply outstanding; one that keeps
 * sending without reading is cut off before it can pin daemon memory. */
#define MAX_PENDING_OUTPUT (4u * 1024u * 1024u)

typedef struct conn {
    struct conn *next, *prev;
    ofm_api_server *srv;
    struct bufferevent *bev;
    char peer[128];
} conn;

struct ofm_api_server {
    struct event_base *base;
    struct evconnlistener *listener;
    ofm_api_handlers h;
    void *ctx;
    unsigned max_clients;
    struct timeval frame_timeout;
    unsigned nclients;
    conn *clients;
    uint16_t port;
    char unix_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    /* Reused output storage: a partition list is 128 KiB. */
    union {
        fmFabricPartitionList_t partitions;
        fmNvlinkFailedDevices_t failed;
        fmUnsupportedFabricPartitionList_t unsupported;
    } scratch;
};

static void conn_close(conn *c, const char *why)
{
    ofm_api_server *srv = c->srv;
    if (why)
        OFM_WARN("SDK API: closing connection from %s: %s", c->peer, why);
    else
        OFM_DEBUG("SDK API: client %s disconnected", c->peer);
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->clients = c->next;
    if (c->next)
        c->next->prev = c->prev;
    srv->nclients--;
    bufferevent_free(c->bev);
    free(c);
}

static fmReturn_t dispatch(ofm_api_server *srv, const ofm_wire_request *rq, ofm_wire_reply *rp)
{
    const ofm_api_handlers *h = &srv->h;
    rp->op = rq->op;
    if (!ofm_wire_struct_version_ok(rq->op, rq->struct_version))
        return FM_ST_VERSION_MISMATCH;
    switch (rq->op) {
    case OFM_OP_GET_SUPPORTED:
        if (!h->get_supported)
            return FM_ST_NOT_SUPPORTED;
        memset(&srv->scratch.partitions, 0, sizeof srv->scratch.partitions);
        srv->scratch.partitions.version = rq->struct_version;
        rp->partitions = &srv->scratch.partitions;
        return h->get_supported(srv->ctx, rp->partitions);
    case OFM_OP_ACTIVATE:
        return h->activate ? h->activate(srv->ctx, rq->partition_id) : FM_ST_NOT_SUPPORTED;
    case OFM_OP_ACTIVATE_WITH_VFS:
        return h->activate_with_vfs
                   ? h->activate_with_vfs(srv->ctx, rq->partition_id, rq->vfs, rq->num_vfs)
                   : FM_ST_NOT_SUPPORTED;
    case OFM_OP_DEACTIVATE:
        return h->deactivate ? h->deactivate(srv->ctx, rq->partition_id) : FM_ST_NOT_SUPPORTED;
    case OFM_OP_SET_ACTIVATED: {
        if (!h->set_activated)
            return FM_ST_NOT_SUPPORTED;
        fmActivatedFabricPartitionList_t l;
        memset(&l, 0, sizeof l);
        l.version = rq->struct_version;
        l.numPartitions = rq->num_ids;
        memcpy(l.partitionIds, rq->ids, rq->num_ids * sizeof rq->ids[0]);
        return h->set_activated(srv->ctx, &l);
    }
    case OFM_OP_GET_NVLINK_FAILED:
        if (!h->get_nvlink_failed_devices)
            return FM_ST_NOT_SUPPORTED;
        memset(&srv->scratch.failed, 0, sizeof srv->scratch.failed);
        srv->scratch.failed.version = rq->struct_version;
        rp->failed = &srv->scratch.failed;
        return h->get_nvlink_failed_devices(srv->ctx, rp->failed);
    case OFM_OP_GET_UNSUPPORTED:
        if (!h->get_unsupported)
            return FM_ST_NOT_SUPPORTED;
        memset(&srv->scratch.unsupported, 0, sizeof srv->scratch.unsupported);
        srv->scratch.unsupported.version = rq->struct_version;
        rp->unsupported = &srv->scratch.unsupported;
        return h->get_unsupported(srv->ctx, rp->unsupported);
    case OFM_OP_GET_STATUS_JSON:
        return h->get_status_json ? h->get_status_json(srv->ctx, &rp->json) : FM_ST_NOT_SUPPORTED;
    case OFM_OP_NONE:
        break;
    }
    return FM_ST_NOT_SUPPORTED;
}

/* Handle one complete request payload; returns -1 if the connection must
 * be dropped (c is then already freed). */
static int serve_one(conn *c, const uint8_t *payload, size_t len)
{
    ofm_api_server *srv = c->srv;
    ofm_error err = {0};
    char why[OFM_ERROR_MSG_LEN + 64];
    ofm_wire_request rq;
    if (ofm_wire_decode_request(payload, len, &rq, &err) != 0) {
        snprintf(why, sizeof why, "malformed request: %s", err.msg);
        conn_close(c, why);
        return -1;
    }
    ofm_wire_reply rp;
    memset(&rp, 0, sizeof rp);
    rp.request_id = rq.request_id;
    rp.status = dispatch(srv, &rq, &rp);
    OFM_DEBUG("SDK API: %s from %s -> %d", ofm_wire_op_name(rq.op), c->peer, (int)rp.status);

    uint8_t *frame = NULL;
    size_t flen = 0;
    if (ofm_wire_encode_reply(&rp, &frame, &flen, &err) != 0) {
        OFM_ERR("SDK API: cannot encode the reply to %s for %s (%s); answering "
                "FM_ST_GENERIC_ERROR", ofm_wire_op_name(rq.op), c->peer, err.msg);
        ofm_wire_reply fail = {.request_id = rq.request_id, .op = rq.op,
                               .status = FM_ST_GENERIC_ERROR};
        if (ofm_wire_encode_reply(&fail, &frame, &flen, &err) != 0) {
            free(rp.json);
            conn_close(c, "cannot encode an error reply");
            return -1;
        }
    }
    free(rp.json);
    /* Fast path: with nothing queued, hand the reply to the kernel now. Going
     * through the bufferevent costs an epoll_ctl pair and an extra loop turn
     * per request (measured: 7 syscalls instead of 3 per round trip). What the
     * socket does not take at once is queued as before, keeping order. */
    size_t sent = 0;
    struct evbuffer *out = bufferevent_get_output(c->bev);
    if (evbuffer_get_length(out) == 0) {
        ssize_t n = send(bufferevent_getfd(c->bev), frame, flen, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0)
            sent = (size_t)n;
    }
    if (sent < flen)
        bufferevent_write(c->bev, frame + sent, flen - sent);
    free(frame);
    if (evbuffer_get_length(bufferevent_get_output(c->bev)) > MAX_PENDING_OUTPUT) {
        conn_close(c, "client does not read its replies");
        return -1;
    }
    return 0;
}

static void on_read(struct bufferevent *bev, void *arg)
{
    conn *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    for (;;) {
        size_t have = evbuffer_get_length(in);
        if (have == 0) {
            bufferevent_set_timeouts(bev, NULL, NULL); /* idle is fine */
            return;
        }
        if (have < OFM_WIRE_HEADER_LEN) {
            bufferevent_set_timeouts(bev, &c->srv->frame_timeout, NULL);
            return;
        }
        uint8_t hdr[OFM_WIRE_HEADER_LEN];
        evbuffer_copyout(in, hdr, sizeof hdr);
        ofm_wire_header h;
        ofm_wire_status st = ofm_wire_header_decode(hdr, 0, OFM_WIRE_MAX_REQUEST, &h);
        if (st != OFM_WIRE_OK) {
            char why[160];
            snprintf(why, sizeof why, "%s (magic %02x%02x%02x%02x, version %u, length %u)",
                     ofm_wire_status_str(st), hdr[0], hdr[1], hdr[2], hdr[3],
                     (unsigned)((hdr[4] << 8) | hdr[5]),
                     (unsigned)(((uint32_t)hdr[8] << 24) | ((uint32_t)hdr[9] << 16) |
                                ((uint32_t)hdr[10] << 8) | hdr[11]));
            conn_close(c, why);
            return;
        }
        if (have < OFM_WIRE_HEADER_LEN + (size_t)h.length) {
            /* rest of the frame not here yet: it must come in time */
            bufferevent_set_timeouts(bev, &c->srv->frame_timeout, NULL);
            return;
        }
        evbuffer_drain(in, OFM_WIRE_HEADER_LEN);
        uint8_t *payload = evbuffer_pullup(in, (ev_ssize_t)h.length);
        if (h.length && !payload) {
            conn_close(c, "out of memory reading a request");
            return;
        }
        int rc = serve_one(c, payload, h.length);
        if (rc != 0)
            return;
        evbuffer_drain(in, h.length);
    }
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    conn *c = arg;
    (void)bev;
    if (what & BEV_EVENT_ERROR) {
        char why[128];
        snprintf(why, sizeof why, "socket error: %s", strerror(EVUTIL_SOCKET_ERROR()));
        conn_close(c, why);
    } else if (what & BEV_EVENT_TIMEOUT) {
        char why[128];
        snprintf(why, sizeof why, "incomplete frame for %ld ms",
                 (long)c->srv->frame_timeout.tv_sec * 1000 +
                     (long)c->srv->frame_timeout.tv_usec / 1000);
        conn_close(c, why);
    } else if (what & BEV_EVENT_EOF) {
        size_t left = evbuffer_get_length(bufferevent_get_input(c->bev));
        if (left)
            conn_close(c, "peer closed the connection in the middle of a frame");
        else
            conn_close(c, NULL);
    }
}

static void peer_name(const struct sockaddr *sa, int salen, const ofm_api_server *srv, char *buf,
                      size_t len)
{
    if (sa && salen >= (int)sizeof(struct sockaddr_in) && sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        char a[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &in->sin_addr, a, sizeof a);
        snprintf(buf, len, "%s:%u", a, (unsigned)ntohs(in->sin_port));
    } else {
        snprintf(buf, len, "unix:%s", srv->unix_path);
    }
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
                      void *arg)
{
    ofm_api_server *srv = arg;
    (void)l;
    char peer[128];
    peer_name(sa, salen, srv, peer, sizeof peer);
    if (srv->nclients >= srv->max_clients) {
        OFM_WARN("SDK API: refusing connection from %s: already %u clients (the limit); close "
                 "idle SDK handles", peer, srv->nclients);
        evutil_closesocket(fd);
        return;
    }
    conn *c = calloc(1, sizeof *c);
    if (!c) {
        evutil_closesocket(fd);
        return;
    }
    c->srv = srv;
    snprintf(c->peer, sizeof c->peer, "%s", peer);
    c->bev = bufferevent_socket_new(srv->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!c->bev) {
        evutil_closesocket(fd);
        free(c);
        return;
    }
    if (sa && sa->sa_family == AF_INET) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    /* Never buffer more than one maximal request per read burst. */
    bufferevent_setwatermark(c->bev, EV_READ, 0, OFM_WIRE_HEADER_LEN + OFM_WIRE_MAX_REQUEST);
    bufferevent_setcb(c->bev, on_read, NULL, on_event, c);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    c->next = srv->clients;
    if (c->next)
        c->next->prev = c;
    srv->clients = c;
    srv->nclients++;
    OFM_DEBUG("SDK API: client %s connected", c->peer);
}

static void on_listen_error(struct evconnlistener *l, void *arg)
{
    (void)l;
    (void)arg;
    /* EMFILE and friends: libevent retries on the next readable event. */
    OFM_ERR("SDK API: accept failed: %s", strerror(EVUTIL_SOCKET_ERROR()));
}

static int listen_unix(ofm_api_server *srv, const char *path, ofm_error *err)
{
    struct sockaddr_un sun;
    memset(&sun, 0, sizeof sun);
    sun.sun_family = AF_UNIX;
    size_t n = strlen(path);
    if (n >= sizeof sun.sun_path)
        return ofm_error_set(err, NULL, 0, "SDK socket path '%s' is %zu bytes; the limit is %zu",
                             path, n, sizeof sun.sun_path - 1);
    memcpy(sun.sun_path, path, n + 1);
    struct stat st;
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
            return ofm_error_set(err, NULL, 0, "SDK socket path '%s' exists and is not a socket; "
                                 "remove it or choose another FM_CMD_UNIX_SOCKET_PATH", path);
        unlink(path); /* stale socket of an earlier run */
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return ofm_error_set(err, NULL, 0, "socket(AF_UNIX): %s", strerror(errno));
    if (bind(fd, (struct sockaddr *)&sun, sizeof sun) != 0 || chmod(path, 0660) != 0 ||
        listen(fd, 64) != 0) {
        int e = errno;
        close(fd);
        return ofm_error_set(err, NULL, 0, "cannot listen on SDK socket '%s': %s", path,
                             strerror(e));
    }
    srv->listener = evconnlistener_new(srv->base, on_accept, srv, LEV_OPT_CLOSE_ON_FREE, -1, fd);
    if (!srv->listener) {
        close(fd);
        unlink(path);
        return ofm_error_set(err, NULL, 0, "cannot register SDK socket '%s' with the event loop",
                             path);
    }
    memcpy(srv->unix_path, path, n + 1);
    return 0;
}

static int listen_tcp(ofm_api_server *srv, const char *addr, uint16_t port, ofm_error *err)
{
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_port = htons(port);
    if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1)
        return ofm_error_set(err, NULL, 0, "FM_CMD_BIND_INTERFACE '%s' is not an IPv4 address",
                             addr);
    srv->listener = evconnlistener_new_bind(
        srv->base, on_accept, srv, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
        64, (struct sockaddr *)&sin, sizeof sin);
    if (!srv->listener)
        return ofm_error_set(err, NULL, 0, "cannot listen for SDK clients on %s:%u: %s; is "
                             "another fabric manager running?", addr, (unsigned)port,
                             strerror(errno));
    struct sockaddr_in bound;
    socklen_t bl = sizeof bound;
    if (getsockname(evconnlistener_get_fd(srv->listener), (struct sockaddr *)&bound, &bl) == 0)
        srv->port = ntohs(bound.sin_port);
    return 0;
}

int ofm_api_server_start(struct event_base *base, const ofm_api_listen *listen_cfg,
                         const ofm_api_handlers *handlers, void *ctx, ofm_api_server **out,
                         ofm_error *err)
{
    if (!base || !listen_cfg || !handlers || !out)
        return ofm_error_set(err, NULL, 0, "ofm_api_server_start: missing argument");
    ofm_api_server *srv = calloc(1, sizeof *srv);
    if (!srv)
        return ofm_error_set(err, NULL, 0, "out of memory starting the SDK server");
    srv->base = base;
    srv->h = *handlers;
    srv->ctx = ctx;
    srv->max_clients = listen_cfg->max_clients ? listen_cfg->max_clients : DEFAULT_MAX_CLIENTS;
    unsigned ft = listen_cfg->frame_timeout_ms ? listen_cfg->frame_timeout_ms
                                                : DEFAULT_FRAME_TIMEOUT_MS;
    srv->frame_timeout.tv_sec = ft / 1000;
    srv->frame_timeout.tv_usec = (ft % 1000) * 1000;
    struct sigaction sa;
    if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL) {
        sa.sa_handler = SIG_IGN;
        sigaction(SIGPIPE, &sa, NULL);
    }
    int rc;
    if (listen_cfg->unix_path && listen_cfg->unix_path[0])
        rc = listen_unix(srv, listen_cfg->unix_path, err);
    else
        rc = listen_tcp(srv, listen_cfg->bind_addr ? listen_cfg->bind_addr : "127.0.0.1",
                        listen_cfg->port, err);
    if (rc != 0) {
        free(srv);
        return -1;
    }
    evconnlistener_set_error_cb(srv->listener, on_listen_error);
    if (srv->unix_path[0])
        OFM_INFO("SDK API listening on unix socket %s", srv->unix_path);
    else
        OFM_INFO("SDK API listening on %s:%u",
                 listen_cfg->bind_addr ? listen_cfg->bind_addr : "127.0.0.1", srv->port);
    *out = srv;
    return 0;
}

uint16_t ofm_api_server_port(const ofm_api_server *srv) { return srv ? srv->port : 0; }

unsigned ofm_api_server_clients(const ofm_api_server *srv) { return srv ? srv->nclients : 0; }

void ofm_api_server_stop(ofm_api_server *srv)
{
    if (!srv)
        return;
    evconnlistener_free(srv->listener);
    while (srv->clients)
        conn_close(srv->clients, NULL);
    if (srv->unix_path[0])
        unlink(srv->unix_path);
    free(srv);
}
