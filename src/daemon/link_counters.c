/* See link_counters.h. */
#include "daemon/link_counters.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/daemon.h"
#include "daemon/metrics.h"
#include "daemon/telemetry.h"
#include "fabric/fabric.h"
#include "openfm/log.h"
#include "status/status.h"

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void add(ofm_link_counters *lc, uint32_t sw, uint32_t port, int32_t gpu)
{
    if (lc->n < OFM_LINK_COUNTERS_MAX) {
        lc->sw[lc->n] = sw;
        lc->port[lc->n] = port;
        lc->gpu[lc->n] = gpu;
        lc->n++;
    }
}

/* Read ports [from, to); a port that cannot be read keeps its last value
 * (a counter never goes back), said once per failure at debug level. */
static void read_range(ofm_daemon *d, size_t from, size_t to)
{
    ofm_link_counters *lc = d->link_counters;
    to = to < lc->n ? to : lc->n;
    /* in one read where the backend can (the emulator: one file read instead
     * of an open, lock and read per port), else port by port */
    static ofm_hal_link_errors got[OFM_LINK_COUNTERS_MAX];
    static int rcs[OFM_LINK_COUNTERS_MAX];
    bool many = from < to && d->hal->ops->link_errors_many &&
                d->hal->ops->link_errors_many(d->hal, lc->sw + from, lc->port + from, to - from,
                                              got, rcs) == OFM_HAL_OK;
    for (size_t i = from; i < to; i++) {
        ofm_hal_link_errors e;
        int rc = many ? rcs[i - from] : d->hal->ops->link_errors(d->hal, lc->sw[i], lc->port[i], &e);
        if (many)
            e = got[i - from];
        if (rc == OFM_HAL_OK) {
            const ofm_hal_link_errors *o = &lc->e[i];
            if (!lc->have[i] || e.crc_flit != o->crc_flit || e.crc_data != o->crc_data ||
                e.replay != o->replay || e.recovery != o->recovery)
                lc->changed = true;
            lc->e[i] = e;
            lc->have[i] = true;
        } else {
            OFM_DEBUG("link counters: switch %u port %u: %s", lc->sw[i], lc->port[i],
                      ofm_hal_last_error(d->hal));
        }
    }
}

void ofm_daemon_link_counters_init(ofm_daemon *d)
{
    if (!d->fctx || !d->hal || !d->hal->ops->link_errors)
        return;
    if (!d->link_counters && !(d->link_counters = calloc(1, sizeof *d->link_counters))) {
        OFM_ERR("out of memory for the NVLink error counter table; /metrics goes without it");
        return;
    }
    ofm_link_counters *lc = d->link_counters;
    const ofm_platform *p = &d->fctx->platform;
    lc->n = 0;
    for (size_t a = 0; a < p->naccess; a++)
        add(lc, p->access[a].sw, p->access[a].sw_port, ofm_fabric_gpu_index(p, p->access[a].gpu));
    for (size_t t = 0; t < p->ntrunks; t++) {
        add(lc, p->trunks[t].sw_a, p->trunks[t].port_a, -1);
        add(lc, p->trunks[t].sw_b, p->trunks[t].port_b, -1);
    }
    read_range(d, 0, lc->n);
    lc->sweeps = 1;
    lc->sweep_start_ns = mono_ns();
}

void ofm_daemon_link_counters_tick(ofm_daemon *d)
{
    ofm_link_counters *lc = d->link_counters;
    if (!lc || !lc->n)
        return;
    if (!lc->sweeping) {
        uint64_t now = mono_ns();
        if (now - lc->sweep_start_ns < OFM_LINK_COUNTERS_PERIOD_NS)
            return;
        lc->sweeping = true;
        lc->sweep_start_ns = now;
        lc->next = 0;
    }
    /* a backend that reads many ports at once does the sweep in one call */
    size_t to = lc->next + (d->hal->ops->link_errors_many ? lc->n : OFM_LINK_COUNTERS_BATCH);
    read_range(d, lc->next, to);
    lc->next = to;
    if (lc->next >= lc->n) {
        lc->sweeping = false;
        lc->sweeps++;
    }
}

/* DCGM's per-link NVSwitch fields and its per-GPU NVLink totals. */
static const struct {
    const char *sw_name, *gpu_name, *help;
} names[4] = {
    {"DCGM_FI_DEV_NVSWITCH_LINK_FLIT_ERRORS", "DCGM_FI_DEV_NVLINK_CRC_FLIT_ERROR_COUNT_TOTAL",
     "NVLink flits that failed their CRC"},
    {"DCGM_FI_DEV_NVSWITCH_LINK_CRC_ERRORS", "DCGM_FI_DEV_NVLINK_CRC_DATA_ERROR_COUNT_TOTAL",
     "NVLink data CRC errors"},
    {"DCGM_FI_DEV_NVSWITCH_LINK_REPLAY_ERRORS", "DCGM_FI_DEV_NVLINK_REPLAY_ERROR_COUNT_TOTAL",
     "NVLink replays"},
    {"DCGM_FI_DEV_NVSWITCH_LINK_RECOVERY_ERRORS", "DCGM_FI_DEV_NVLINK_RECOVERY_ERROR_COUNT_TOTAL",
     "NVLink recoveries (retrains)"},
};

static uint64_t value(const ofm_hal_link_errors *e, int k)
{
    switch (k) {
    case 0: return e->crc_flit;
    case 1: return e->crc_data;
    case 2: return e->replay;
    default: return e->recovery;
    }
}

void ofm_daemon_link_counters_on_event(void *arg, const ofm_hal_event *e,
                                       const ofm_fabric_error *rec)
{
    ofm_daemon *d = arg;
    ofm_link_counters *lc = d->link_counters;
    if (lc && e->kind == OFM_EVT_SXID)
        for (size_t i = 0; i < lc->n; i++)
            if (lc->sw[i] == e->sw && lc->port[i] == e->port) {
                ofm_sxid_class cls = ofm_sxid_classify(e->code, e->fatal);
                if (cls == OFM_SXID_FATAL || cls == OFM_SXID_ALWAYS_FATAL)
                    lc->sxid_fatal[i]++;
                else
                    lc->sxid_nonfatal[i]++;
                lc->changed = true;
            }
    ofm_daemon_on_hal_event(arg, e, rec);
}

static void sxid_ports(FILE *f, const ofm_link_counters *lc, const char *host, bool fatal)
{
    const char *name = fatal ? "DCGM_FI_DEV_NVSWITCH_LINK_FATAL_ERRORS"
                             : "DCGM_FI_DEV_NVSWITCH_LINK_NON_FATAL_ERRORS";
    ofm_metrics_head(f, name, "counter",
                     fatal ? "fatal SXids on the NVSwitch port since the fabric manager started"
                           : "non-fatal SXids on the NVSwitch port since the fabric manager started");
    for (size_t i = 0; i < lc->n; i++) {
        fprintf(f, "%s{nvswitch=\"%u\",nvlink=\"%u\",hostname=\"", name, lc->sw[i], lc->port[i]);
        ofm_metrics_label_value(f, host);
        fprintf(f, "\"} %" PRIu64 "\n", fatal ? lc->sxid_fatal[i] : lc->sxid_nonfatal[i]);
    }
}

static void build(FILE *f, const ofm_link_counters *lc, const ofm_status_doc *doc, const char *host,
                  bool with_sxid)
{
    if (with_sxid) {
        sxid_ports(f, lc, host, true);
        sxid_ports(f, lc, host, false);
    }
    char help[200];
    for (int k = 0; k < 4; k++) {
        snprintf(help, sizeof help, "%s on the NVSwitch port since the driver loaded (cached, "
                 "re-read about every second)", names[k].help);
        ofm_metrics_head(f, names[k].sw_name, "counter", help);
        for (size_t i = 0; i < lc->n; i++) {
            if (!lc->have[i])
                continue;
            fprintf(f, "%s{nvswitch=\"%u\",nvlink=\"%u\",hostname=\"", names[k].sw_name, lc->sw[i],
                    lc->port[i]);
            ofm_metrics_label_value(f, host);
            fprintf(f, "\"} %" PRIu64 "\n", value(&lc->e[i], k));
        }
    }
    /* per GPU: the sum over its access links (the same links seen from the
     * GPU's side, as DCGM totals them per GPU) */
    const ofm_fabric_status *st = &doc->fabric;
    for (int k = 0; k < 4; k++) {
        snprintf(help, sizeof help, "%s on the GPU's NVLinks since the driver loaded, summed over "
                 "its switch ports (cached)", names[k].help);
        ofm_metrics_head(f, names[k].gpu_name, "counter", help);
        uint64_t sum[OFM_MAX_GPUS] = {0};
        bool any[OFM_MAX_GPUS] = {false};
        for (size_t i = 0; i < lc->n; i++) {
            int32_t g = lc->gpu[i];
            if (g < 0 || (size_t)g >= st->ngpus || !lc->have[i])
                continue;
            uint64_t v = value(&lc->e[i], k);
            sum[g] = sum[g] + v < sum[g] ? UINT64_MAX : sum[g] + v;
            any[g] = true;
        }
        for (size_t g = 0; g < st->ngpus && g < OFM_MAX_GPUS; g++) {
            if (!any[g])
                continue;
            fputs(names[k].gpu_name, f);
            ofm_metrics_gpu_labels(f, &st->gpus[g], g, host);
            fprintf(f, " %" PRIu64 "\n", sum[g]);
        }
    }
}

void ofm_link_counters_render(FILE *f, ofm_link_counters *lc, const ofm_status_doc *doc,
                              const char *host, bool with_sxid)
{
    if (!lc || !lc->n)
        return;
    if (!lc->text || lc->changed || strcmp(host, lc->text_host) || lc->text_sxid != with_sxid) {
        char *text = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&text, &len);
        if (!m) {
            build(f, lc, doc, host, with_sxid); /* no cache this time */
            return;
        }
        build(m, lc, doc, host, with_sxid);
        if (fclose(m)) {
            free(text);
            build(f, lc, doc, host, with_sxid);
            return;
        }
        free(lc->text);
        lc->text = text;
        lc->text_len = len;
        lc->changed = false;
        lc->text_sxid = with_sxid;
        snprintf(lc->text_host, sizeof lc->text_host, "%s", host);
    }
    fwrite(lc->text, 1, lc->text_len, f);
}

void ofm_link_counters_free(ofm_link_counters *lc)
{
    if (lc)
        free(lc->text);
    free(lc);
}
