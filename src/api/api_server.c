/* The SDK server: accepts connections, reassembles frames from each
 * client's byte stream, dispatches to the handler table and queues the
 * reply. All on one libevent loop, so a slow or idle client only ever
 * costs its own buffers. */
#include "api/api_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "api/peer_id.h"
#include "openfm/log.h"
#include "wire/wire.h"

#define DEFAULT_MAX_CLIENTS 64u
#define DEFAULT_FRAME_TIMEOUT_MS 10000u
/* A well-behaved client has at most one reply outstanding; one that keeps
 * sending without reading is cut off before it can pin daemon memory. */
#define MAX_PENDING_OUTPUT (4u * 1024u * 1024u)
/* Frames one connection may have served before every other ready
 * connection gets its turn: a client pipelining thousands of requests
 * delays another's call by at most this many handler runs per round. */
#define FRAMES_PER_TURN 4u
/* accept() failures (fd exhaustion) pause the listener, doubling from the
 * first to the last value while they persist. */
#define ACCEPT_BACKOFF_MIN_MS 50u
#define ACCEPT_BACKOFF_MAX_MS 2000u
/* Repeated log lines of one kind: at most one per interval, with a count. */
#define ACCEPT_LOG_INTERVAL_MS 10000u
#define REFUSE_LOG_INTERVAL_MS 1000u

typedef struct {
    uint64_t last_ms;
    unsigned suppressed;
    bool used;
} ratelimit;

/* True when a line may be written now; *skipped is how many were not
 * written since the last one. */
static bool ratelimit_ok(ratelimit *r, uint64_t now, uint64_t interval, unsigned *skipped)
{
    if (r->used && now - r->last_ms < interval) {
        r->suppressed++;
        return false;
    }
    *skipped = r->suppressed;
    r->suppressed = 0;
    r->last_ms = now;
    r->used = true;
    return true;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static struct timeval ms_tv(unsigned ms)
{
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};
    return tv;
}

typedef enum { TIMER_NONE, TIMER_FRAME, TIMER_IDLE } timer_kind;

typedef struct conn {
    struct conn *next, *prev;
    ofm_api_server *srv;
    struct bufferevent *bev;
    struct event *timer;  /* the frame deadline or the idle timeout */
    struct event *resume; /* the next turn of a pipelined backlog */
    timer_kind timer_for;
    bool backlog;         /* complete frames wait for the next turn */
    uint64_t idle_since_ms;
    uint64_t idle_seq;    /* orders idle connections: smaller went idle first */
    ofm_peer_id id;
    int admin;            /* may change partitions: -1 not yet asked, 0, 1 */
    char peer[200];
} conn;

struct ofm_api_server {
    struct event_base *base;
    struct evconnlistener *listener;
    struct event *accept_retry;
    unsigned accept_backoff_ms;
    ratelimit accept_log, refuse_log;
    ofm_api_handlers h;
    void *ctx;
    unsigned max_clients;
    unsigned frame_timeout_ms, idle_timeout_ms;
    long admin_gid;
    unsigned allow_remote;
    unsigned nclients;
    conn *clients;
    uint64_t idle_seq;
    uint16_t port;
    char unix_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    /* Reused output storage: a partition list is 128 KiB. */
    union {
        fmFabricPartitionList_t partitions;
        fmNvlinkFailedDevices_t failed;
        fmUnsupportedFabricPartitionList_t unsupported;
        ofm_wire_events events;
        ofm_wire_partition_defs defs;
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
    event_free(c->timer);
    event_free(c->resume);
    bufferevent_free(c->bev);
    free(c);
}

static bool is_mutating(ofm_wire_op op)
{
    return op == OFM_OP_ACTIVATE || op == OFM_OP_ACTIVATE_WITH_VFS || op == OFM_OP_DEACTIVATE ||
           op == OFM_OP_SET_ACTIVATED || op == OFM_OP_DEFINE_PARTITION ||
           op == OFM_OP_DELETE_PARTITION || op == OFM_OP_ACTIVATE_ANY ||
           op == OFM_OP_DEACTIVATE_ANY;
}

/* Root or the admin group; a remote peer only where the operator said the
 * network is trusted. Decided once per connection: credentials are those
 * the peer connected with. */
static bool may_mutate(conn *c)
{
    if (c->admin < 0)
        c->admin = c->id.local ? ofm_peer_is_admin(&c->id, c->srv->admin_gid)
                               : c->srv->allow_remote >= 2;
    return c->admin == 1;
}

static void log_refusal(conn *c, ofm_wire_op op)
{
    ofm_api_server *srv = c->srv;
    unsigned skipped = 0;
    if (!ratelimit_ok(&srv->refuse_log, now_ms(), REFUSE_LOG_INTERVAL_MS, &skipped))
        return;
    char who[96], also[64] = "";
    if (c->id.local)
        snprintf(who, sizeof who, "uid %u", (unsigned)c->id.uid);
    else
        snprintf(who, sizeof who, "a remote peer (no identity; OPENFM_API_ALLOW_REMOTE=2 trusts "
                 "them)");
    if (skipped)
        snprintf(also, sizeof also, " (%u more refusals not logged)", skipped);
    if (srv->admin_gid > 0)
        OFM_WARN("SDK API: refused %s from %s: %s is neither root nor in the admin group (gid "
                 "%ld, OPENFM_API_ADMIN_GROUP); answered FM_ST_NOT_SUPPORTED%s",
                 ofm_wire_op_name(op), c->peer, who, srv->admin_gid, also);
    else
        OFM_WARN("SDK API: refused %s from %s: %s is not root and no OPENFM_API_ADMIN_GROUP is "
                 "configured; answered FM_ST_NOT_SUPPORTED%s",
                 ofm_wire_op_name(op), c->peer, who, also);
}

static fmReturn_t dispatch(conn *c, const ofm_wire_request *rq, ofm_wire_reply *rp)
{
    ofm_api_server *srv = c->srv;
    const ofm_api_handlers *h = &srv->h;
    rp->op = rq->op;
    if (is_mutating(rq->op) && !may_mutate(c)) {
        log_refusal(c, rq->op);
        return FM_ST_NOT_SUPPORTED;
    }
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
    case OFM_OP_GET_EVENTS:
        if (!h->get_events)
            return FM_ST_NOT_SUPPORTED;
        memset(&srv->scratch.events, 0, sizeof srv->scratch.events);
        rp->events = &srv->scratch.events;
        return h->get_events(srv->ctx, rq->after_seq, rq->max_events, rp->events);
    case OFM_OP_DEFINE_PARTITION:
        return h->define_partition
                   ? h->define_partition(srv->ctx, rq->gpus, rq->num_gpus, rq->has_id,
                                         rq->partition_id, &rp->defined_id, rp->detail,
                                         sizeof rp->detail)
                   : FM_ST_NOT_SUPPORTED;
    case OFM_OP_DELETE_PARTITION:
        return h->delete_partition ? h->delete_partition(srv->ctx, rq->partition_id, rp->detail,
                                                         sizeof rp->detail)
                                   : FM_ST_NOT_SUPPORTED;
    case OFM_OP_LIST_DEFINITIONS:
        if (!h->list_definitions)
            return FM_ST_NOT_SUPPORTED;
        memset(&srv->scratch.defs, 0, sizeof srv->scratch.defs);
        rp->defs = &srv->scratch.defs;
        return h->list_definitions(srv->ctx, rp->defs);
    case OFM_OP_ACTIVATE_ANY:
        return h->activate_any ? h->activate_any(srv->ctx, rq->partition_id) : FM_ST_NOT_SUPPORTED;
    case OFM_OP_DEACTIVATE_ANY:
        return h->deactivate_any ? h->deactivate_any(srv->ctx, rq->partition_id)
                                 : FM_ST_NOT_SUPPORTED;
    case OFM_OP_NONE:
        break;
    }
    return FM_ST_NOT_SUPPORTED;
}

/* Handle one complete request payload; returns -1 if the connection must
 * be dropped (c is then already freed). */
static int serve_one(conn *c, const uint8_t *payload, size_t len)
{
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
    rp.status = dispatch(c, &rq, &rp);
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

static void arm(conn *c, timer_kind kind, unsigned ms)
{
    struct timeval tv = ms_tv(ms);
    c->timer_for = kind;
    evtimer_add(c->timer, &tv);
}

static void disarm(conn *c)
{
    c->timer_for = TIMER_NONE;
    evtimer_del(c->timer);
}

/* Nothing buffered: the connection is idle from now on. */
static void become_idle(conn *c)
{
    c->idle_since_ms = now_ms();
    c->idle_seq = ++c->srv->idle_seq;
    if (c->srv->idle_timeout_ms)
        arm(c, TIMER_IDLE, c->srv->idle_timeout_ms);
    else
        disarm(c);
}

/* Part of a frame is here. Its deadline runs from the first byte and is not
 * extended by later ones, so trickling cannot hold a slot. */
static void frame_started(conn *c)
{
    if (c->timer_for != TIMER_FRAME)
        arm(c, TIMER_FRAME, c->srv->frame_timeout_ms);
}

/* Serve at most FRAMES_PER_TURN complete frames, then yield to the loop.
 * A remaining backlog is resumed by a zero timer: libevent runs timers
 * after polling, so every connection that became readable meanwhile is
 * served first (round-robin). Reading stops while a backlog waits. */
static void serve_turn(conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    c->backlog = false;
    for (unsigned served = 0;; served++) {
        size_t have = evbuffer_get_length(in);
        if (have == 0) {
            become_idle(c);
            bufferevent_enable(c->bev, EV_READ);
            return;
        }
        if (have < OFM_WIRE_HEADER_LEN) {
            frame_started(c);
            bufferevent_enable(c->bev, EV_READ);
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
            frame_started(c);
            bufferevent_enable(c->bev, EV_READ);
            return;
        }
        if (served == FRAMES_PER_TURN) {
            static const struct timeval now = {0, 0};
            c->backlog = true;
            disarm(c);
            bufferevent_disable(c->bev, EV_READ);
            event_add(c->resume, &now);
            return;
        }
        disarm(c);
        evbuffer_drain(in, OFM_WIRE_HEADER_LEN);
        uint8_t *payload = evbuffer_pullup(in, (ev_ssize_t)h.length);
        if (h.length && !payload) {
            conn_close(c, "out of memory reading a request");
            return;
        }
        if (serve_one(c, payload, h.length) != 0)
            return;
        evbuffer_drain(in, h.length);
    }
}

static void on_read(struct bufferevent *bev, void *arg)
{
    conn *c = arg;
    (void)bev;
    if (!c->backlog) /* else the resume timer serves, in turn */
        serve_turn(c);
}

static void on_resume(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    serve_turn(arg);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    conn *c = arg;
    (void)fd;
    (void)what;
    char why[128];
    if (c->timer_for == TIMER_FRAME)
        snprintf(why, sizeof why, "incomplete frame for %u ms", c->srv->frame_timeout_ms);
    else
        snprintf(why, sizeof why, "idle for %u ms (OPENFM_API_IDLE_TIMEOUT_S)",
                 c->srv->idle_timeout_ms);
    conn_close(c, why);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    conn *c = arg;
    (void)bev;
    if (what & BEV_EVENT_ERROR) {
        char why[128];
        snprintf(why, sizeof why, "socket error: %s", strerror(EVUTIL_SOCKET_ERROR()));
        conn_close(c, why);
    } else if (what & BEV_EVENT_EOF) {
        size_t left = evbuffer_get_length(bufferevent_get_input(c->bev));
        if (left && !c->backlog)
            conn_close(c, "peer closed the connection in the middle of a frame");
        else
            conn_close(c, NULL);
    }
}

static bool conn_idle(const conn *c)
{
    return !c->backlog && evbuffer_get_length(bufferevent_get_input(c->bev)) == 0 &&
           evbuffer_get_length(bufferevent_get_output(c->bev)) == 0;
}

/* Peers are told apart by uid; every peer without an identity is one. */
static uid_t owner_of(const conn *c) { return c->id.local ? c->id.uid : (uid_t)-1; }

/* The idle connection to drop for a newcomer: of the peer holding the most
 * connections (so a user flooding the server evicts its own), the longest
 * idle. NULL when every connection is busy. */
static conn *pick_victim(ofm_api_server *srv)
{
    conn *best = NULL;
    unsigned best_count = 0;
    for (conn *c = srv->clients; c; c = c->next) {
        if (!conn_idle(c))
            continue;
        unsigned count = 0;
        for (conn *o = srv->clients; o; o = o->next)
            count += owner_of(o) == owner_of(c);
        if (!best || count > best_count ||
            (count == best_count && c->idle_seq < best->idle_seq)) {
            best = c;
            best_count = count;
        }
    }
    return best;
}

static void peer_name(const struct sockaddr *sa, int salen, const ofm_api_server *srv,
                      const ofm_peer_id *id, char *buf, size_t len)
{
    char who[64];
    if (id->local && id->pid)
        snprintf(who, sizeof who, "pid %ld, uid %u", (long)id->pid, (unsigned)id->uid);
    else if (id->local)
        snprintf(who, sizeof who, "uid %u", (unsigned)id->uid);
    else
        snprintf(who, sizeof who, "remote");
    if (sa && salen >= (int)sizeof(struct sockaddr_in) && sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        char a[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &in->sin_addr, a, sizeof a);
        snprintf(buf, len, "%s:%u (%s)", a, (unsigned)ntohs(in->sin_port), who);
    } else {
        snprintf(buf, len, "unix:%.80s (%s)", srv->unix_path, who);
    }
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
                      void *arg)
{
    ofm_api_server *srv = arg;
    (void)l;
    srv->accept_backoff_ms = 0;
    ofm_peer_id id;
    bool tcp = sa && sa->sa_family == AF_INET;
    if ((tcp ? ofm_peer_id_tcp(fd, &id) : ofm_peer_id_unix(fd, &id)) != 0)
        memset(&id, 0, sizeof id); /* unknown: read-only, like a remote peer */
    char peer[200];
    peer_name(sa, salen, srv, &id, peer, sizeof peer);
    if (srv->nclients >= srv->max_clients) {
        conn *victim = pick_victim(srv);
        if (!victim) {
            OFM_WARN("SDK API: refusing connection from %s: already %u clients (the limit), "
                     "none of them idle", peer, srv->nclients);
            evutil_closesocket(fd);
            return;
        }
        char why[400];
        snprintf(why, sizeof why, "idle for %llu ms while %u clients (the limit) are connected; "
                 "making room for %s",
                 (unsigned long long)(now_ms() - victim->idle_since_ms), srv->nclients, peer);
        conn_close(victim, why);
    }
    conn *c = calloc(1, sizeof *c);
    if (!c) {
        evutil_closesocket(fd);
        return;
    }
    c->srv = srv;
    c->id = id;
    c->admin = -1;
    snprintf(c->peer, sizeof c->peer, "%s", peer);
    c->bev = bufferevent_socket_new(srv->base, fd, BEV_OPT_CLOSE_ON_FREE);
    c->timer = evtimer_new(srv->base, on_timer, c);
    c->resume = evtimer_new(srv->base, on_resume, c);
    if (!c->bev || !c->timer || !c->resume) {
        if (c->bev)
            bufferevent_free(c->bev);
        else
            evutil_closesocket(fd);
        if (c->timer)
            event_free(c->timer);
        if (c->resume)
            event_free(c->resume);
        free(c);
        return;
    }
    if (tcp) {
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
    become_idle(c);
    OFM_DEBUG("SDK API: client %s connected", c->peer);
}

static void on_accept_retry(evutil_socket_t fd, short what, void *arg)
{
    ofm_api_server *srv = arg;
    (void)fd;
    (void)what;
    evconnlistener_enable(srv->listener);
}

/* accept() failed for a reason libevent does not retry by itself (fd
 * exhaustion above all). Left enabled, the still-readable listener would
 * fail again at once, forever: pause it, back off, and log rarely. Pending
 * clients wait in the kernel's backlog meanwhile. */
static void on_listen_error(struct evconnlistener *l, void *arg)
{
    ofm_api_server *srv = arg;
    int e = EVUTIL_SOCKET_ERROR();
    unsigned ms = srv->accept_backoff_ms ? srv->accept_backoff_ms * 2 : ACCEPT_BACKOFF_MIN_MS;
    if (ms > ACCEPT_BACKOFF_MAX_MS)
        ms = ACCEPT_BACKOFF_MAX_MS;
    srv->accept_backoff_ms = ms;
    evconnlistener_disable(l);
    struct timeval tv = ms_tv(ms);
    evtimer_add(srv->accept_retry, &tv);
    unsigned skipped = 0;
    if (!ratelimit_ok(&srv->accept_log, now_ms(), ACCEPT_LOG_INTERVAL_MS, &skipped))
        return;
    const char *hint = e == EMFILE   ? " (this process's open-file limit, RLIMIT_NOFILE / "
                                       "LimitNOFILE=, is reached)"
                       : e == ENFILE ? " (the system-wide open-file limit is reached)"
                                     : "";
    OFM_ERR("SDK API: cannot accept connections: %s%s; new clients wait, accepting again in "
            "%u ms (%u more failures since the last such message; at most one every %u s)",
            strerror(e), hint, ms, skipped, ACCEPT_LOG_INTERVAL_MS / 1000);
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
    /* The admin group may connect (and, per call, change partitions);
     * everyone else needs the operator to open the mode up. */
    if (bind(fd, (struct sockaddr *)&sun, sizeof sun) != 0 ||
        (srv->admin_gid > 0 && chown(path, (uid_t)-1, (gid_t)srv->admin_gid) != 0) ||
        chmod(path, 0660) != 0 || listen(fd, 64) != 0) {
        int e = errno;
        close(fd);
        return ofm_error_set(err, NULL, 0, "cannot listen on SDK socket '%s': %s", path,
                             strerror(e));
    }
    srv->listener = evconnlistener_new(srv->base, on_accept, srv,
                                       LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
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
    if ((ntohl(sin.sin_addr.s_addr) >> 24) != 127 && srv->allow_remote == 0)
        return ofm_error_set(err, NULL, 0,
                             "FM_CMD_BIND_INTERFACE %s is not a loopback address: other hosts "
                             "could reach the SDK. Set OPENFM_API_ALLOW_REMOTE=1 to allow it "
                             "(remote peers may then only read) or 2 (they may also change "
                             "partitions)", addr);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return ofm_error_set(err, NULL, 0, "socket(AF_INET): %s", strerror(errno));
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&sin, sizeof sin) != 0 || listen(fd, 64) != 0) {
        int e = errno;
        close(fd);
        char owner[200] = "";
        if (e == EADDRINUSE && port) {
            char who[160];
            ofm_tcp_port_owner(port, who, sizeof who);
            snprintf(owner, sizeof owner, " (port %u is %s)", (unsigned)port, who);
        }
        return ofm_error_set(err, NULL, 0, "cannot listen for SDK clients on %s:%u: %s%s; is "
                             "another fabric manager running? (FM_CMD_PORT_NUMBER)", addr,
                             (unsigned)port, strerror(e), owner);
    }
    srv->listener = evconnlistener_new(srv->base, on_accept, srv,
                                       LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
    if (!srv->listener) {
        close(fd);
        return ofm_error_set(err, NULL, 0, "cannot register the SDK listener with the event loop");
    }
    struct sockaddr_in bound;
    socklen_t bl = sizeof bound;
    if (getsockname(fd, (struct sockaddr *)&bound, &bl) == 0)
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
    srv->frame_timeout_ms = listen_cfg->frame_timeout_ms ? listen_cfg->frame_timeout_ms
                                                         : DEFAULT_FRAME_TIMEOUT_MS;
    srv->idle_timeout_ms = listen_cfg->idle_timeout_ms;
    srv->admin_gid = listen_cfg->admin_gid;
    srv->allow_remote = listen_cfg->allow_remote;
    srv->accept_retry = evtimer_new(base, on_accept_retry, srv);
    if (!srv->accept_retry) {
        free(srv);
        return ofm_error_set(err, NULL, 0, "out of memory starting the SDK server");
    }
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
        event_free(srv->accept_retry);
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
    event_free(srv->accept_retry);
    while (srv->clients)
        conn_close(srv->clients, NULL);
    if (srv->unix_path[0])
        unlink(srv->unix_path);
    free(srv);
}
