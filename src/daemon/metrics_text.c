/* Prometheus text rendering of the status document and the API statistics.
 * Names follow NVIDIA's DCGM exporter where it has one (DCGM_FI_...), with
 * its label names; the rest are openfm_... (docs/metrics.md). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "daemon/metrics.h"
#include "daemon/telemetry.h"
#include "sdk/nvfm_ext.h"
#include "status/status.h"

static const char *call_name[OFM_METRICS_CALLS] = {
    "fmGetSupportedFabricPartitions", "fmActivateFabricPartition",
    "fmActivateFabricPartitionWithVFs", "fmDeactivateFabricPartition",
    "fmSetActivatedFabricPartitions", "fmGetNvlinkFailedDevices",
    "fmGetUnsupportedFabricPartitions", "status"};

/* Label values: escape backslash, quote and newline as the format requires. */
static void lv(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' || *s == '"')
            fputc('\\', f), fputc(*s, f);
        else if (*s == '\n')
            fputs("\\n", f);
        else
            fputc(*s, f);
    }
}

static void head(FILE *f, const char *name, const char *type, const char *help)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void gpu_labels(FILE *f, const ofm_gpu_status *g, size_t idx, const char *host)
{
    fprintf(f, "{gpu=\"%zu\",UUID=\"", idx);
    lv(f, g->uuid);
    fprintf(f, "\",pci_bus_id=\"");
    lv(f, g->pci_bdf);
    fprintf(f, "\",device=\"nvidia%zu\",physical_id=\"%u\",Hostname=\"", idx, g->phys_id);
    lv(f, host);
    fputs("\"}", f);
}

static void switch_labels(FILE *f, const ofm_switch_status_entry *s, const char *host)
{
    fprintf(f, "{nvswitch=\"%u\",pci_bus_id=\"", s->id);
    lv(f, s->pci_bdf);
    fprintf(f, "\",hostname=\"");
    lv(f, host);
    fputs("\"}", f);
}

/* DCGM_FI_DEV_FABRIC_MANAGER_STATUS: 0 not supported, 1 not started,
 * 2 in progress, 3 success, 4 failure. */
static int dcgm_fabric(const ofm_gpu_status *g)
{
    switch (g->fabric_state) {
    case OFM_FABRIC_NOT_SUPPORTED: return 0;
    case OFM_FABRIC_NOT_STARTED: return 1;
    case OFM_FABRIC_IN_PROGRESS: return 2;
    case OFM_FABRIC_COMPLETED: return g->fabric_status ? 4 : 3;
    }
    return 5;
}

/* The chip's telemetry counts of switch s, when it has them. */
static const ofm_hal_switch_telemetry *switch_tel(const ofm_telemetry_table *tel, uint32_t sw)
{
    for (size_t i = 0; tel && i < tel->n; i++)
        if (tel->id[i] == sw && tel->have[i])
            return &tel->t[i];
    return NULL;
}

/* Per-port telemetry error totals, as DCGM names its per-link NVSwitch
 * fields (label nvlink = the port). */
static void port_errors(FILE *f, const ofm_telemetry_table *tel, const char *host, bool fatal)
{
    const char *name = fatal ? "DCGM_FI_DEV_NVSWITCH_LINK_FATAL_ERRORS"
                             : "DCGM_FI_DEV_NVSWITCH_LINK_NON_FATAL_ERRORS";
    head(f, name, "counter",
         fatal ? "fatal errors of the NVSwitch port, from the switch's telemetry (fourth-generation "
                 "NVSwitch)"
               : "non-fatal errors of the NVSwitch port, from the switch's telemetry "
                 "(fourth-generation NVSwitch)");
    for (size_t i = 0; i < tel->n; i++) {
        if (!tel->have[i])
            continue;
        const ofm_hal_switch_telemetry *t = &tel->t[i];
        for (uint32_t p = 0; p < t->nports && p < OFM_MAX_SWITCH_PORTS; p++) {
            fprintf(f, "%s{nvswitch=\"%u\",nvlink=\"%u\",hostname=\"", name, tel->id[i], p);
            lv(f, host);
            fprintf(f, "\"} %" PRIu64 "\n", fatal ? t->port[p].fatal : t->port[p].nonfatal);
        }
    }
}

void ofm_metrics_render(FILE *f, const ofm_status_doc *doc, const ofm_metrics_stats *stats,
                        const ofm_telemetry_table *tel, const char *host)
{
    const ofm_fabric_status *st = &doc->fabric;
    head(f, "openfm_fabric_manager_state", "gauge",
         "1 for the fabric manager's current state (NOT_READY, INITIALIZING, READY, DEGRADED, FAILED)");
    for (int s = OFM_SYS_NOT_READY; s <= OFM_SYS_FAILED; s++)
        fprintf(f, "openfm_fabric_manager_state{state=\"%s\"} %d\n",
                ofm_system_state_name((ofm_system_state)s), st->state == (ofm_system_state)s);
    head(f, "openfm_fabric_manager_ready", "gauge", "1 when the fabric accepts CUDA work (READY)");
    fprintf(f, "openfm_fabric_manager_ready %d\n", ofm_fabric_status_ready(st));
    head(f, "openfm_fabric_mode", "gauge", "FABRIC_MODE: 0 bare metal, 1 shared NVSwitch, 2 vGPU");
    fprintf(f, "openfm_fabric_mode %d\n", (int)st->mode);
    if (st->domain_health != OFM_DOMAIN_NONE) { /* rack-scale domains only */
        head(f, "openfm_nvlink_domain_health", "gauge",
             "1 for the NVLink domain's current health (HEALTHY, DEGRADED, UNHEALTHY)");
        for (int h = OFM_DOMAIN_HEALTHY; h <= OFM_DOMAIN_UNHEALTHY; h++)
            fprintf(f, "openfm_nvlink_domain_health{state=\"%s\"} %d\n",
                    ofm_domain_health_name((ofm_domain_health)h), st->domain_health == (ofm_domain_health)h);
    }
    head(f, "openfm_bringup_duration_seconds", "gauge", "wall time of the last fabric bring-up");
    fprintf(f, "openfm_bringup_duration_seconds %.6f\n", (double)st->bringup_ns / 1e9);
    head(f, "openfm_status_generation_total", "counter", "changes of the live status since start");
    fprintf(f, "openfm_status_generation_total %" PRIu64 "\n", st->generation);
    head(f, "openfm_nvlinks_active", "gauge", "model NVLinks active now, by kind");
    fprintf(f, "openfm_nvlinks_active{kind=\"access\"} %u\nopenfm_nvlinks_active{kind=\"trunk\"} %u\n",
            st->access_active, st->trunk_active);
    head(f, "openfm_nvlinks_expected", "gauge", "NVLinks in the platform model, by kind");
    fprintf(f, "openfm_nvlinks_expected{kind=\"access\"} %u\nopenfm_nvlinks_expected{kind=\"trunk\"} %u\n",
            st->access_expected, st->trunk_expected);
    head(f, "openfm_runtime_errors_total", "counter", "SXids, Xids and NVLink failures seen since start");
    fprintf(f, "openfm_runtime_errors_total %" PRIu64 "\n", st->errors_total);

    size_t supported = 0, active = 0;
    for (size_t i = 0; i < doc->npartitions; i++) {
        supported += doc->partitions[i].supported;
        active += doc->partitions[i].active;
    }
    head(f, "openfm_partitions_supported", "gauge",
         "partitions the fabric supports now (shared NVSwitch / vGPU modes; 0 in bare metal)");
    fprintf(f, "openfm_partitions_supported %zu\n", doc->have_partitions ? supported : 0);
    head(f, "openfm_partitions_active", "gauge", "partitions active now");
    fprintf(f, "openfm_partitions_active %zu\n", doc->have_partitions ? active : 0);
    if (doc->have_partitions) {
        head(f, "openfm_partition_active", "gauge", "1 while the partition is active");
        for (size_t i = 0; i < doc->npartitions; i++) {
            const ofm_pm_entry *p = &doc->partitions[i];
            fprintf(f, "openfm_partition_active{partition_id=\"%u\",gpus=\"%u\",supported=\"%d\"} %d\n",
                    p->id, p->ngpus, p->supported, p->active);
        }
    }

#define PER_GPU(name, type, help, expr)                                                            \
    do {                                                                                           \
        head(f, name, type, help);                                                                 \
        for (size_t i = 0; i < st->ngpus; i++) {                                                   \
            const ofm_gpu_status *g = &st->gpus[i];                                                \
            fputs(name, f);                                                                        \
            gpu_labels(f, g, i, host);                                                             \
            fprintf(f, " %" PRId64 "\n", (int64_t)(expr));                                         \
        }                                                                                          \
    } while (0)
    PER_GPU("DCGM_FI_DEV_FABRIC_MANAGER_STATUS", "gauge",
            "GPU fabric registration: 0 not supported, 1 not started, 2 in progress, 3 success, 4 failure",
            dcgm_fabric(g));
    PER_GPU("DCGM_FI_DEV_FABRIC_MANAGER_ERROR_CODE", "gauge",
            "return code of a completed fabric registration (0 success)", g->fabric_status);
    PER_GPU("DCGM_FI_DEV_XID_ERRORS", "gauge", "last Xid seen on the GPU (0 none)", g->last_xid);
    PER_GPU("openfm_gpu_xid_errors_total", "counter", "Xids seen on the GPU since start", g->xids);
    PER_GPU("openfm_gpu_present", "gauge", "1 when the GPU is enumerated and healthy", g->present);
    PER_GPU("openfm_gpu_excluded", "gauge",
            "1 when the GPU is missing because the driver excluded it (NVreg_ExcludedGpus)", g->excluded);
    PER_GPU("openfm_gpu_nvlink_p2p", "gauge", "1 when the GPU has NVLink peer access", g->p2p);
    PER_GPU("openfm_gpu_nvlinks_usable", "gauge",
            "access NVLinks usable now (HA policy, peer access, link active)", g->links_usable);
    PER_GPU("openfm_gpu_nvlinks_active", "gauge", "access NVLinks active now", g->links_active);
    PER_GPU("openfm_gpu_nvlinks_expected", "gauge", "access NVLinks in the model", g->links_expected);
    PER_GPU("openfm_gpu_mig_enabled", "gauge", "1 MIG enabled, 0 disabled, -1 not supported",
            g->mig == OFM_MIG_ENABLED ? 1 : g->mig == OFM_MIG_DISABLED ? 0 : -1);
    PER_GPU("openfm_gpu_link_retrains_total", "counter",
            "GPU resets after which the fabric manager reset and retrained the GPU's switch-side "
            "NVLinks", g->link_retrains);
    PER_GPU("openfm_gpu_partition", "gauge", "active partition holding the GPU, -1 none",
            g->partition);
#undef PER_GPU

#define PER_SW(name, type, help, expr)                                                             \
    do {                                                                                           \
        head(f, name, type, help);                                                                 \
        for (size_t i = 0; i < st->nswitches; i++) {                                               \
            const ofm_switch_status_entry *s = &st->switches[i];                                   \
            fputs(name, f);                                                                        \
            switch_labels(f, s, host);                                                             \
            fprintf(f, " %" PRIu64 "\n", (uint64_t)(expr));                                        \
        }                                                                                          \
    } while (0)
    PER_SW("DCGM_FI_DEV_NVSWITCH_FATAL_ERRORS", "counter",
           "fatal SXids on the NVSwitch since start; on a fourth-generation NVSwitch (no SXids) "
           "the chip's telemetry count",
           s->sxid_fatal + (switch_tel(tel, s->id) ? switch_tel(tel, s->id)->chip.fatal : 0));
    PER_SW("DCGM_FI_DEV_NVSWITCH_NON_FATAL_ERRORS", "counter",
           "non-fatal SXids on the NVSwitch since start; on a fourth-generation NVSwitch the chip's "
           "telemetry count",
           s->sxid_nonfatal + (switch_tel(tel, s->id) ? switch_tel(tel, s->id)->chip.nonfatal : 0));
    PER_SW("openfm_nvswitch_up", "gauge", "1 when the NVSwitch is in use (not missing, failed or "
           "disabled by the HA policy)", s->status == OFM_SW_OK);
    PER_SW("openfm_nvswitch_excluded", "gauge",
           "1 when the NVSwitch is missing because the driver excluded it (NvSwitchExcludelist)",
           s->excluded);
    PER_SW("openfm_nvswitch_nvlinks_active", "gauge", "model NVLinks (access + trunk) active now",
           s->links_active);
    PER_SW("openfm_nvswitch_nvlinks_expected", "gauge", "model NVLinks (access + trunk) on the switch",
           s->links_expected);
#undef PER_SW
    bool any = false;
    for (size_t i = 0; tel && i < tel->n; i++)
        any |= tel->have[i];
    if (any) {
        port_errors(f, tel, host, true);
        port_errors(f, tel, host, false);
    }

    head(f, "openfm_api_requests_total", "counter", "SDK calls served, by call and return code");
    for (size_t c = 0; c < OFM_METRICS_CALLS; c++)
        for (size_t r = 0; r < 32; r++)
            if (stats->calls[c].by_rc[r] || r == 0)
                fprintf(f, "openfm_api_requests_total{call=\"%s\",code=\"%s\"} %" PRIu64 "\n",
                        call_name[c], r == 31 ? "other" : ofmReturnName(-(fmReturn_t)r),
                        stats->calls[c].by_rc[r]);
    head(f, "openfm_api_request_duration_seconds", "histogram",
         "time the daemon spent serving an SDK call");
    for (size_t c = 0; c < OFM_METRICS_CALLS; c++) {
        const ofm_metrics_call *k = &stats->calls[c];
        uint64_t cum = 0;
        for (size_t b = 0; b < OFM_METRICS_BUCKETS; b++) {
            cum += k->bucket[b];
            if (b + 1 == OFM_METRICS_BUCKETS)
                fprintf(f, "openfm_api_request_duration_seconds_bucket{call=\"%s\",le=\"+Inf\"} %" PRIu64 "\n",
                        call_name[c], cum);
            else
                fprintf(f, "openfm_api_request_duration_seconds_bucket{call=\"%s\",le=\"%g\"} %" PRIu64 "\n",
                        call_name[c], ofm_metrics_bucket_le[b], cum);
        }
        fprintf(f, "openfm_api_request_duration_seconds_sum{call=\"%s\"} %.9f\n", call_name[c], k->sum_s);
        fprintf(f, "openfm_api_request_duration_seconds_count{call=\"%s\"} %" PRIu64 "\n", call_name[c],
                k->count);
    }
    head(f, "openfm_metrics_scrapes_total", "counter", "scrapes of this endpoint");
    fprintf(f, "openfm_metrics_scrapes_total %" PRIu64 "\n", stats->scrapes);
    head(f, "openfm_metrics_render_seconds_total", "counter",
         "event-loop time spent building earlier scrapes (the loop serves nothing else meanwhile)");
    fprintf(f, "openfm_metrics_render_seconds_total %.9f\n", stats->render_sum_s);
    head(f, "openfm_metrics_render_max_seconds", "gauge", "longest such stall since start");
    fprintf(f, "openfm_metrics_render_max_seconds %.9f\n", stats->render_max_s);
}

/* The helpers, for modules that render series of their own (metrics.h). */
void ofm_metrics_head(FILE *f, const char *name, const char *type, const char *help)
{
    head(f, name, type, help);
}

void ofm_metrics_label_value(FILE *f, const char *s)
{
    lv(f, s);
}

void ofm_metrics_gpu_labels(FILE *f, const ofm_gpu_status *g, size_t idx, const char *host)
{
    gpu_labels(f, g, idx, host);
}
