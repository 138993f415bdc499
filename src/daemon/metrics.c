/* The metrics endpoint: libevent's HTTP server on the daemon's loop, and the
 * timing of SDK calls. */
#include "daemon/metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "daemon/link_counters.h"
#include "daemon/listen_addr.h"
#include "daemon/telemetry.h"
#include "daemon/daemon.h"
#include "api/peer_id.h"
#include "daemon/live_status.h"
#include "openfm/log.h"
#include "status/status.h"

const double ofm_metrics_bucket_le[OFM_METRICS_BUCKETS] = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 1.0, 1e300};

/* ---------------------------------------------------------------- API timing */

enum { C_SUPPORTED, C_ACTIVATE, C_ACTIVATE_VFS, C_DEACTIVATE, C_SET_ACTIVATED, C_FAILED,
       C_UNSUPPORTED, C_STATUS };

static const ofm_api_handlers *inner;
static ofm_metrics_stats *stats_of;
static ofm_api_handlers timed;

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static fmReturn_t record(int call, uint64_t t0, fmReturn_t rc)
{
    ofm_metrics_call *c = &stats_of->calls[call];
    double s = (double)(mono_ns() - t0) / 1e9;
    c->count++;
    c->sum_s += s;
    size_t b = 0;
    while (b + 1 < OFM_METRICS_BUCKETS && s > ofm_metrics_bucket_le[b])
        b++;
    c->bucket[b]++;
    c->by_rc[rc <= 0 && rc > -31 ? -rc : 31]++;
    return rc;
}

#define TIMED(call, expr)                                                                          \
    do {                                                                                           \
        uint64_t t0_ = mono_ns();                                                                  \
        return record((call), t0_, (expr));                                                        \
    } while (0)

static fmReturn_t t_supported(void *ctx, fmFabricPartitionList_t *o)
{
    TIMED(C_SUPPORTED, inner->get_supported ? inner->get_supported(ctx, o) : FM_ST_NOT_SUPPORTED);
}
static fmReturn_t t_activate(void *ctx, fmFabricPartitionId_t id)
{
    TIMED(C_ACTIVATE, inner->activate ? inner->activate(ctx, id) : FM_ST_NOT_SUPPORTED);
}
static fmReturn_t t_activate_vfs(void *ctx, fmFabricPartitionId_t id, const fmPciDevice_t *v,
                                 unsigned n)
{
    TIMED(C_ACTIVATE_VFS,
          inner->activate_with_vfs ? inner->activate_with_vfs(ctx, id, v, n) : FM_ST_NOT_SUPPORTED);
}
static fmReturn_t t_deactivate(void *ctx, fmFabricPartitionId_t id)
{
    TIMED(C_DEACTIVATE, inner->deactivate ? inner->deactivate(ctx, id) : FM_ST_NOT_SUPPORTED);
}
static fmReturn_t t_set_activated(void *ctx, const fmActivatedFabricPartitionList_t *l)
{
    TIMED(C_SET_ACTIVATED, inner->set_activated ? inner->set_activated(ctx, l) : FM_ST_NOT_SUPPORTED);
}
static fmReturn_t t_failed(void *ctx, fmNvlinkFailedDevices_t *o)
{
    TIMED(C_FAILED, inner->get_nvlink_failed_devices ? inner->get_nvlink_failed_devices(ctx, o)
                                                     : FM_ST_NOT_SUPPORTED);
}
static fmReturn_t t_unsupported(void *ctx, fmUnsupportedFabricPartitionList_t *o)
{
    TIMED(C_UNSUPPORTED, inner->get_unsupported ? inner->get_unsupported(ctx, o) : FM_ST_NOT_SUPPORTED);
}
static fmReturn_t t_status(void *ctx, char **json)
{
    TIMED(C_STATUS, inner->get_status_json ? inner->get_status_json(ctx, json) : FM_ST_NOT_SUPPORTED);
}

const ofm_api_handlers *ofm_metrics_instrument(const ofm_api_handlers *in, ofm_metrics_stats *st)
{
    inner = in;
    stats_of = st;
    timed = *in;
    timed.get_supported = t_supported;
    timed.activate = t_activate;
    timed.activate_with_vfs = t_activate_vfs;
    timed.deactivate = t_deactivate;
    timed.set_activated = t_set_activated;
    timed.get_nvlink_failed_devices = t_failed;
    timed.get_unsupported = t_unsupported;
    timed.get_status_json = t_status;
    return &timed;
}

/* ---------------------------------------------------------------- HTTP */

static void reply_text(struct evhttp_request *req, int code, const char *reason, const char *ctype,
                       const char *body, size_t len)
{
    struct evbuffer *b = evbuffer_new();
    if (!b) {
        evhttp_send_error(req, 500, "out of memory");
        return;
    }
    evbuffer_add(b, body, len);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", ctype);
    evhttp_send_reply(req, code, reason, b);
    evbuffer_free(b);
}

static bool method_ok(struct evhttp_request *req)
{
    enum evhttp_cmd_type m = evhttp_request_get_command(req);
    if (m == EVHTTP_REQ_GET || m == EVHTTP_REQ_HEAD)
        return true;
    evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
    evhttp_send_error(req, 405, "Method Not Allowed");
    return false;
}

static void on_metrics(struct evhttp_request *req, void *arg)
{
    ofm_daemon *d = arg;
    if (!method_ok(req))
        return;
    uint64_t t0 = mono_ns();
    d->metrics_stats.scrapes++;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    ofm_status_doc *doc = f ? ofm_daemon_status_doc(d, true) : NULL;
    if (!f || !doc) {
        if (f)
            fclose(f);
        free(text);
        evhttp_send_error(req, 500, "out of memory");
        return;
    }
    char host[256] = "";
    if (gethostname(host, sizeof host - 1))
        host[0] = '\0';
    ofm_metrics_render(f, doc, &d->metrics_stats, d->telemetry, host);
    /* per-port SXid counts, unless the switches' telemetry serves those names */
    bool tel_ports = false;
    for (size_t i = 0; d->telemetry && i < d->telemetry->n; i++)
        tel_ports |= d->telemetry->have[i];
    ofm_link_counters_render(f, d->link_counters, doc, host, !tel_ports);
    fclose(f);
    ofm_metrics_stats *ms = &d->metrics_stats;
    ms->render_last_s = (double)(mono_ns() - t0) / 1e9;
    ms->render_sum_s += ms->render_last_s;
    if (ms->render_last_s > ms->render_max_s)
        ms->render_max_s = ms->render_last_s;
    reply_text(req, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", text, len);
    free(text);
}

static void on_healthz(struct evhttp_request *req, void *arg)
{
    ofm_daemon *d = arg;
    if (!method_ok(req))
        return;
    char body[400];
    int n = snprintf(body, sizeof body, "%s: %s\n", ofm_system_state_name(d->status.state),
                     d->status.message);
    bool ready = ofm_fabric_status_ready(&d->status);
    reply_text(req, ready ? 200 : 503, ready ? "OK" : "Service Unavailable",
               "text/plain; charset=utf-8", body, n < 0 ? 0 : (size_t)n >= sizeof body ? sizeof body - 1 : (size_t)n);
}

static void on_other(struct evhttp_request *req, void *arg)
{
    (void)arg;
    static const char body[] = "openfm: /metrics (Prometheus text) and /healthz (200 when READY)\n";
    reply_text(req, 404, "Not Found", "text/plain; charset=utf-8", body, sizeof body - 1);
}

int ofm_metrics_start(ofm_daemon *d, ofm_error *err)
{
    if (!d->cfg.metrics_listen[0]) {
        OFM_INFO("metrics endpoint off (OPENFM_METRICS_LISTEN is empty)");
        return 0;
    }
    char ip[64];
    unsigned port = 0;
    if (ofm_listen_addr_parse(d->cfg.metrics_listen, ip, sizeof ip, &port, err))
        return -2;
    d->http = evhttp_new(d->base);
    if (!d->http)
        return ofm_error_set(err, NULL, 0, "cannot create the HTTP server");
    evhttp_set_allowed_methods(d->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
                                            EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE);
    evhttp_set_max_headers_size(d->http, 8192);
    evhttp_set_max_body_size(d->http, 0);
    evhttp_set_timeout(d->http, 10);
    evhttp_set_cb(d->http, "/metrics", on_metrics, d);
    evhttp_set_cb(d->http, "/healthz", on_healthz, d);
    evhttp_set_gencb(d->http, on_other, d);
    struct evhttp_bound_socket *bs = evhttp_bind_socket_with_handle(d->http, ip, (uint16_t)port);
    if (!bs) {
        int e = errno;
        evhttp_free(d->http);
        d->http = NULL;
        char owner[200] = "";
        if (e == EADDRINUSE && port) {
            char who[160];
            ofm_tcp_port_owner((uint16_t)port, who, sizeof who);
            snprintf(owner, sizeof owner, " (port %u is %s)", port, who);
        }
        return ofm_error_set(err, NULL, 0,
                             "cannot listen on %s:%u for metrics: %s%s; set OPENFM_METRICS_LISTEN to a "
                             "free IPV4:PORT, or empty to turn the endpoint off",
                             ip, port, e ? strerror(e) : "address in use or not available", owner);
    }
    struct sockaddr_in sa;
    socklen_t sl = sizeof sa;
    if (getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&sa, &sl) == 0)
        d->metrics_port = ntohs(sa.sin_port);
    OFM_INFO("metrics: serving http://%s:%u/metrics and /healthz", ip, d->metrics_port);
    return 0;
}

void ofm_metrics_stop(ofm_daemon *d)
{
    if (d->http)
        evhttp_free(d->http);
    d->http = NULL;
}
