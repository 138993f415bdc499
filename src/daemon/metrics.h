/* Prometheus metrics of the daemon: a text endpoint (/metrics) and a
 * readiness probe (/healthz) on libevent's HTTP server, in the daemon's own
 * loop. A scrape renders the typed status document the other views use
 * (src/status) plus the API statistics kept here; it never touches the
 * hardware, so it costs the loop only the rendering (measured in bench/).
 * Metric names: docs/metrics.md. */
#ifndef OPENFM_DAEMON_METRICS_H
#define OPENFM_DAEMON_METRICS_H

#include <stdint.h>
#include <stdio.h>

#include "api/api_server.h"
#include "manager/manager.h"
#include "openfm/error.h"

struct ofm_daemon;
struct ofm_status_doc;
struct ofm_telemetry_table;

/* SDK calls counted per call and return code, with a latency histogram per
 * call. */
#define OFM_METRICS_CALLS 8
#define OFM_METRICS_BUCKETS 12
extern const double ofm_metrics_bucket_le[OFM_METRICS_BUCKETS]; /* seconds, last is +Inf */

typedef struct {
    uint64_t count;
    double sum_s;
    uint64_t bucket[OFM_METRICS_BUCKETS]; /* cumulative at render time, per-bucket here */
    uint64_t by_rc[32];                   /* index -rc for 0..-30; anything else in [31] */
} ofm_metrics_call;

typedef struct {
    ofm_metrics_call calls[OFM_METRICS_CALLS];
    uint64_t scrapes;
    /* How long a scrape held the event loop (status + rendering): the loop
     * serves nothing else meanwhile. */
    double render_last_s, render_max_s, render_sum_s;
} ofm_metrics_stats;

/* The handler table with every call timed and counted into `stats`. The
 * inner table must outlive the server. */
const ofm_api_handlers *ofm_metrics_instrument(const ofm_api_handlers *inner,
                                               ofm_metrics_stats *stats);

/* Render Prometheus text format 0.0.4 into f. `hostname` labels the series
 * as the DCGM exporter does. `tel` (may be NULL) holds the telemetry error
 * counters of switches that have them (HGX B200). */
void ofm_metrics_render(FILE *f, const struct ofm_status_doc *doc, const ofm_metrics_stats *stats,
                        const struct ofm_telemetry_table *tel, const char *hostname);

/* Rendering helpers for the modules that add series (link_counters.c):
 * the HELP/TYPE lines, a label value escaped as the format requires, and
 * the DCGM exporter's GPU label set ({gpu=...,UUID=...,...}). */
void ofm_metrics_head(FILE *f, const char *name, const char *type, const char *help);
void ofm_metrics_label_value(FILE *f, const char *s);
void ofm_metrics_gpu_labels(FILE *f, const ofm_gpu_status *g, size_t idx, const char *host);

/* Start serving on OPENFM_METRICS_LISTEN ("HOST:PORT"; "" = off). A bind
 * failure is reported in err (the daemon logs it and runs on without
 * metrics). */
int ofm_metrics_start(struct ofm_daemon *d, ofm_error *err);
void ofm_metrics_stop(struct ofm_daemon *d);

#endif
