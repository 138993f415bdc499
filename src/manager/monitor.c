/* Runtime monitor: every HAL event is logged with NVIDIA FM's leading words
 * (what monitoring agents match), then its classification, the port's scope
 * (access or trunk, resolved through the model), the switch's and GPU's PCI
 * address and UUID, the affected GPU(s) and partitions, and the guide's
 * impact and recovery for that code. Fatal lines are alerts: they reach
 * syslog whatever the log sink (FM §3.3.1). Fatal trunk errors in bare metal
 * and fabric-fatal errors in any mode mark the fabric degraded (FM §3.3.1.2,
 * §13.6, §13.7). Runtime errors never run the HA policy (FM §9). */
#include "manager/manager_int.h"
#include "openfm/log.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

void ofm_monitor_init(ofm_monitor *m, const ofm_fabric_ctx *ctx)
{
    m->ctx = ctx;
    m->cursor = ctx->event_cursor;
    memset(&m->parts, 0, sizeof m->parts);
    m->on_event = NULL;
    m->arg = NULL;
}

/* Per-device counters shown in the status and exported as metrics. */
static void count(const ofm_monitor *m, const ofm_hal_event *e, ofm_fabric_status *st)
{
    const ofm_platform *p = &m->ctx->platform;
    if (e->kind == OFM_EVT_SXID) {
        int si = ofm_fabric_switch_index(p, e->sw);
        if (si >= 0 && (size_t)si < st->nswitches) {
            ofm_sxid_class cls = ofm_sxid_classify(e->code, e->fatal);
            if (cls == OFM_SXID_FATAL || cls == OFM_SXID_ALWAYS_FATAL)
                st->switches[si].sxid_fatal++;
            else
                st->switches[si].sxid_nonfatal++;
        }
    } else if (e->kind == OFM_EVT_XID) {
        int gi = ofm_fabric_gpu_index(p, e->gpu);
        if (gi >= 0 && (size_t)gi < st->ngpus) {
            st->gpus[gi].last_xid = e->code;
            st->gpus[gi].xids++;
        }
    }
}

/* "GPU 3" or "GPUs 1, 2, 3" for a trunk: the GPUs whose traffic can cross it
 * (all GPUs with peer access in bare metal). */
static void gpu_list(const ofm_fabric_ctx *c, bool all, uint32_t one, char *buf, size_t len)
{
    if (!all) {
        snprintf(buf, len, "GPU %u", one);
        return;
    }
    size_t used = (size_t)snprintf(buf, len, "GPUs");
    bool first = true;
    for (size_t i = 0; i < c->platform.ngpus && used < len; i++) {
        if (!c->decision.gpu_p2p[i])
            continue;
        used += (size_t)snprintf(buf + used, len - used, "%s %u", first ? "" : ",",
                                 c->platform.gpus[i].phys_id);
        first = false;
    }
    if (first)
        snprintf(buf, len, "no GPUs");
}

/* PCI bus id in the 8-digit domain form NVIDIA FM prints
 * ("00000000:86:00.0"); "unknown" when the backend gave none. */
void ofm_pci_bus_id_long(const char *bdf, char *out, size_t len)
{
    const char *colon = bdf ? strchr(bdf, ':') : NULL;
    if (!bdf || !bdf[0])
        snprintf(out, len, "unknown");
    else if (colon && colon - bdf < 8 && strchr(colon + 1, ':'))
        snprintf(out, len, "%0*d%s", (int)(8 - (colon - bdf)), 0, bdf);
    else
        snprintf(out, len, "%s", bdf);
}

static const ofm_switch_status_entry *switch_entry(const ofm_fabric_status *st, uint32_t sw)
{
    for (size_t i = 0; i < st->nswitches && i < OFM_MAX_SWITCHES; i++)
        if (st->switches[i].id == sw)
            return &st->switches[i];
    return NULL;
}

static const ofm_gpu_status *gpu_entry(const ofm_fabric_status *st, uint32_t gpu)
{
    for (size_t i = 0; i < st->ngpus && i < OFM_MAX_GPUS; i++)
        if (st->gpus[i].phys_id == gpu)
            return &st->gpus[i];
    return NULL;
}

/* "; affected partitions: 2, 9" in shared NVSwitch / vGPU mode, "" in bare
 * metal. Only partitions the query says actually use the port or GPU. */
static void partition_list(const ofm_monitor *m, bool by_port, uint32_t sw, uint32_t port,
                           uint32_t gpu, char *buf, size_t len)
{
    buf[0] = '\0';
    if (m->ctx->mode == OFM_FABRIC_MODE_BARE_METAL)
        return;
    uint32_t ids[OFM_MAX_PARTITIONS];
    size_t n = 0;
    if (by_port && m->parts.on_port)
        n = m->parts.on_port(m->parts.arg, sw, port, ids, OFM_MAX_PARTITIONS);
    else if (!by_port && m->parts.with_gpu)
        n = m->parts.with_gpu(m->parts.arg, gpu, ids, OFM_MAX_PARTITIONS);
    if (n > OFM_MAX_PARTITIONS)
        n = OFM_MAX_PARTITIONS;
    size_t used = (size_t)snprintf(buf, len, "; affected partitions: %s",
                                   n ? "" : "none (no active partition uses it)");
    for (size_t i = 0; i < n && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%u", i ? ", " : "", ids[i]);
}

static void handle_sxid(ofm_monitor *m, const ofm_hal_event *e, ofm_fabric_status *st,
                        ofm_fabric_error *rec)
{
    const ofm_fabric_ctx *c = m->ctx;
    const ofm_platform *p = &c->platform;
    ofm_sxid_class cls = ofm_sxid_classify(e->code, e->fatal);
    const ofm_sxid_info *info = ofm_sxid_lookup(e->code);
    int a = ofm_fabric_access_at(p, e->sw, e->port);
    int t = a < 0 ? ofm_fabric_trunk_at(p, e->sw, e->port) : -1;
    char scope[200], gpus[160] = "", gpci[40];
    if (a >= 0) {
        const ofm_gpu_status *g = gpu_entry(st, p->access[a].gpu);
        ofm_pci_bus_id_long(g ? g->pci_bdf : NULL, gpci, sizeof gpci);
        snprintf(scope, sizeof scope, "access port (GPU %u link %u, GPU pci bus id %s)",
                 p->access[a].gpu, p->access[a].gpu_link, gpci);
        gpu_list(c, false, p->access[a].gpu, gpus, sizeof gpus);
        rec->gpu = p->access[a].gpu;
    } else if (t >= 0) {
        const ofm_trunk_link *tl = &p->trunks[t];
        bool at_a = tl->sw_a == e->sw && tl->port_a == e->port;
        snprintf(scope, sizeof scope, "trunk port (to switch %u port %u)",
                 at_a ? tl->sw_b : tl->sw_a, at_a ? tl->port_b : tl->port_a);
        gpu_list(c, true, 0, gpus, sizeof gpus);
    } else {
        snprintf(scope, sizeof scope, "unused port");
        snprintf(gpus, sizeof gpus, "no GPU");
    }
    rec->cls = cls;
    rec->trunk = t >= 0;
    bool fatal = ofm_sxid_is_fatal(e->code, e->fatal);
    bool fabric_fatal = ofm_sxid_fabric_fatal(e->code, e->fatal);
    const char *impact, *recovery;
    ofm_sxid_advice(e->code, e->fatal, t >= 0, c->mode, &impact, &recovery);
    const ofm_switch_status_entry *se = switch_entry(st, e->sw);
    char spci[40], parts[400];
    ofm_pci_bus_id_long(se ? se->pci_bdf : NULL, spci, sizeof spci);
    partition_list(m, true, e->sw, e->port, 0, parts, sizeof parts);
    if (snprintf(rec->summary, sizeof rec->summary,
             "SXid %u (%s), %s, on NVSwitch %u port %u, %s, affected: %s", e->code,
             info ? info->name : (e->detail[0] ? e->detail : "not in the guide's tables"),
             ofm_sxid_class_name(cls), e->sw, e->port, scope, gpus) >= (int)sizeof rec->summary)
        OFM_DEBUG("monitor: summary of SXid %u truncated", e->code);
    /* The first words are NVIDIA FM's, which monitoring agents match
     * ("detected NVSwitch (non-)fatal error N"); openfm's detail follows. */
    char line[1900];
    snprintf(line, sizeof line,
             "detected NVSwitch %s error %u on fid 0 on NVSwitch pci bus id %s physical id %u "
             "port %u: %s; NVSwitch UUID %s%s. Impact: %s. Recovery: %s",
             fatal ? "fatal" : "non-fatal", e->code, spci, e->sw, e->port, rec->summary,
             se && se->uuid[0] ? se->uuid : "unknown", parts, impact, recovery);
    if (fatal)
        ofm_log_alert(fabric_fatal ? OFM_LOG_CRIT : OFM_LOG_ERR, "%s", line);
    else
        OFM_WARN("%s", line);

    /* A fatal error on a trunk port in bare metal, or one fatal to the whole
     * fabric in any mode, stops CUDA work until GPUs and switches are reset
     * (FM §3.3.1.2, §13.6, §13.7). */
    bool degrade = fabric_fatal ||
                   (c->mode == OFM_FABRIC_MODE_BARE_METAL && cls == OFM_SXID_FATAL && t >= 0);
    if (degrade && (st->state == OFM_SYS_READY || st->state == OFM_SYS_DEGRADED)) {
        if (st->state != OFM_SYS_DEGRADED)
            ofm_log_alert(OFM_LOG_CRIT,
                          "fabric degraded: %s SXid %u on NVSwitch %u port %u; running CUDA jobs "
                          "are aborted and new ones blocked until all GPUs and NVSwitches are "
                          "reset",
                          fabric_fatal ? "fabric-fatal" : ofm_sxid_class_name(cls), e->code, e->sw,
                          e->port);
        st->state = OFM_SYS_DEGRADED;
        snprintf(st->message, sizeof st->message,
                 "degraded: %s SXid %u on NVSwitch %u port %u (%s); %s",
                 fabric_fatal ? "fabric-fatal" : ofm_sxid_class_name(cls), e->code, e->sw,
                 e->port, scope, recovery);
    }
}

/* A fourth-generation NVSwitch (HGX B200) reports no SXids: a rise of one of
 * its telemetry error counters arrives instead, per port or for the chip.
 * Logged with the port's scope like an SXid; no FM §13 class applies, and
 * the fabric's state is left alone (runtime errors never run the HA policy). */
static void handle_switch_error(ofm_monitor *m, const ofm_hal_event *e, const ofm_fabric_status *st,
                                ofm_fabric_error *rec)
{
    const ofm_fabric_ctx *c = m->ctx;
    const ofm_platform *p = &c->platform;
    bool chip = e->port == OFM_HAL_PORT_CHIP;
    int a = chip ? -1 : ofm_fabric_access_at(p, e->sw, e->port);
    int t = chip || a >= 0 ? -1 : ofm_fabric_trunk_at(p, e->sw, e->port);
    char where[64], scope[200], gpus[160], gpci[40];
    if (chip)
        snprintf(where, sizeof where, "NVSwitch %u (chip)", e->sw);
    else
        snprintf(where, sizeof where, "NVSwitch %u port %u", e->sw, e->port);
    if (a >= 0) {
        const ofm_gpu_status *g = gpu_entry(st, p->access[a].gpu);
        ofm_pci_bus_id_long(g ? g->pci_bdf : NULL, gpci, sizeof gpci);
        snprintf(scope, sizeof scope, "access port (GPU %u link %u, GPU pci bus id %s)",
                 p->access[a].gpu, p->access[a].gpu_link, gpci);
        gpu_list(c, false, p->access[a].gpu, gpus, sizeof gpus);
        rec->gpu = p->access[a].gpu;
    } else if (t >= 0 || chip) {
        snprintf(scope, sizeof scope, "%s", chip ? "the switch chip" : "trunk port");
        gpu_list(c, true, 0, gpus, sizeof gpus);
    } else {
        snprintf(scope, sizeof scope, "unused port");
        snprintf(gpus, sizeof gpus, "no GPU");
    }
    rec->trunk = t >= 0;
    if (snprintf(rec->summary, sizeof rec->summary,
                 "%s: %s error count +%u in the switch's telemetry (%s), %s, affected: %s", where,
                 e->fatal ? "fatal" : "non-fatal", e->code, e->detail[0] ? e->detail : "no detail",
                 scope, gpus) >= (int)sizeof rec->summary)
        OFM_DEBUG("monitor: summary of a telemetry error truncated");
    const ofm_switch_status_entry *se = switch_entry(st, e->sw);
    char spci[40], parts[400];
    ofm_pci_bus_id_long(se ? se->pci_bdf : NULL, spci, sizeof spci);
    if (chip)
        parts[0] = '\0';
    else
        partition_list(m, true, e->sw, e->port, 0, parts, sizeof parts);
    char line[1900];
    snprintf(line, sizeof line,
             "%s; NVSwitch pci bus id %s, UUID %s%s; fourth-generation NVSwitches report errors as "
             "telemetry counters, not SXids. Recovery: %s",
             rec->summary, spci, se && se->uuid[0] ? se->uuid : "unknown", parts,
             e->fatal ? "traffic through it is unreliable: stop the CUDA jobs on the affected "
                        "GPU(s) and reset them; if the counter keeps rising, service the baseboard"
                      : "none for a single error; if the counter keeps rising, check the link and "
                        "the switch's telemetry");
    if (e->fatal)
        ofm_log_alert(OFM_LOG_ERR, "%s", line);
    else
        OFM_WARN("%s", line);
}

static void handle_xid(ofm_monitor *m, const ofm_hal_event *e, const ofm_fabric_status *st,
                       ofm_fabric_error *rec)
{
    const ofm_xid_info *info = ofm_xid_lookup(e->code);
    const ofm_gpu_status *g = gpu_entry(st, e->gpu);
    char gpci[40], parts[400];
    ofm_pci_bus_id_long(g ? g->pci_bdf : NULL, gpci, sizeof gpci);
    partition_list(m, false, 0, 0, e->gpu, parts, sizeof parts);
    rec->gpu = e->gpu;
    /* the driver's text without its final '.', and not at all when it only
     * repeats the code's meaning ("GPU has fallen off the bus.") */
    int dlen = (int)strnlen(e->detail, sizeof e->detail);
    while (dlen > 0 && (e->detail[dlen - 1] == '.' || e->detail[dlen - 1] == ' '))
        dlen--;
    if (info && (size_t)dlen == strlen(info->meaning) && !strncasecmp(e->detail, info->meaning, (size_t)dlen))
        dlen = 0;
    if (snprintf(rec->summary, sizeof rec->summary, "Xid %u (%s) on GPU %u%s%s%.*s", e->code,
                 info ? info->meaning : "unlisted GPU error", e->gpu,
                 info && info->exclusion_candidate ? ", GPU is an exclusion candidate" : "",
                 dlen ? ": " : "", dlen, e->detail) >= (int)sizeof rec->summary)
        OFM_DEBUG("monitor: summary of Xid %u truncated", e->code);
    char line[1600];
    snprintf(line, sizeof line, "%s; GPU pci bus id %s, UUID %s%s. Recovery: %s", rec->summary,
             gpci, g && g->uuid[0] ? g->uuid : "unknown", parts, ofm_xid_recovery(e->code));
    if (ofm_xid_fatal(e->code))
        ofm_log_alert(OFM_LOG_ERR, "%s", line);
    else
        OFM_WARN("%s", line);
}

static void handle_link(ofm_monitor *m, const ofm_hal_event *e, ofm_fabric_error *rec)
{
    const ofm_platform *p = &m->ctx->platform;
    int a = ofm_fabric_access_at(p, e->sw, e->port);
    int t = a < 0 ? ofm_fabric_trunk_at(p, e->sw, e->port) : -1;
    char scope[96];
    if (a >= 0)
        snprintf(scope, sizeof scope, "access link to GPU %u link %u", p->access[a].gpu,
                 p->access[a].gpu_link);
    else if (t >= 0) {
        const ofm_trunk_link *tl = &p->trunks[t];
        bool at_a = tl->sw_a == e->sw && tl->port_a == e->port;
        snprintf(scope, sizeof scope, "trunk link to NVSwitch %u port %u", at_a ? tl->sw_b : tl->sw_a,
                 at_a ? tl->port_b : tl->port_a);
    } else {
        snprintf(scope, sizeof scope, "a port the topology wires to nothing");
    }
    rec->trunk = t >= 0;
    rec->gpu = a >= 0 ? p->access[a].gpu : OFM_ERROR_NO_GPU;
    snprintf(rec->summary, sizeof rec->summary, "NVLink down: NVSwitch %u port %u (%s)", e->sw,
             e->port, scope);
    OFM_WARN("%s; runtime link failures do not trigger the HA failure modes (FM §9): if "
             "traffic is affected, reset the GPU(s) or restart the fabric manager",
             rec->summary);
}

int ofm_monitor_poll(ofm_monitor *m, ofm_hal *h, ofm_fabric_status *st)
{
    ofm_hal_event ev[32];
    int handled = 0;
    /* Bounded batches so a flood of events cannot starve the event loop. */
    for (int batch = 0; batch < 32; batch++) {
        size_t n = 0;
        int rc = h->ops->read_events(h, &m->cursor, ev, sizeof ev / sizeof ev[0], &n);
        if (rc != OFM_HAL_OK)
            return rc; /* the caller says so, once per outage, not at every poll */
        if (n > sizeof ev / sizeof ev[0])
            n = sizeof ev / sizeof ev[0];
        for (size_t i = 0; i < n; i++) {
            const ofm_hal_event *e = &ev[i];
            handled++;
            if (e->kind == OFM_EVT_LINK_UP) {
                /* Links coming up (training, retraining after MIG) are not
                 * errors: debug detail only, not kept in the error ring. */
                OFM_DEBUG("NVLink up: NVSwitch %u port %u", e->sw, e->port);
                if (m->on_event)
                    m->on_event(m->arg, e, NULL);
                continue;
            }
            count(m, e, st);
            ofm_fabric_error *rec = ofm_fabric_status_push_error(st);
            rec->seq = e->seq;
            rec->time_ns = e->time_ns;
            rec->kind = e->kind;
            rec->code = e->code;
            rec->sw = e->sw;
            rec->port = e->port;
            /* only an Xid names its GPU; switch-side events find theirs
             * from the port (access ports only) */
            rec->gpu = e->kind == OFM_EVT_XID ? e->gpu : OFM_ERROR_NO_GPU;
            switch (e->kind) {
            case OFM_EVT_SXID: handle_sxid(m, e, st, rec); break;
            case OFM_EVT_XID: handle_xid(m, e, st, rec); break;
            case OFM_EVT_LINK_DOWN: handle_link(m, e, rec); break;
            case OFM_EVT_SWITCH_ERROR: handle_switch_error(m, e, st, rec); break;
            default:
                snprintf(rec->summary, sizeof rec->summary, "unknown event kind %d", (int)e->kind);
                OFM_WARN("monitor: %s (seq %llu)", rec->summary, (unsigned long long)e->seq);
                break;
            }
            if (m->on_event)
                m->on_event(m->arg, e, rec);
        }
        if (n < sizeof ev / sizeof ev[0])
            break;
    }
    if (handled)
        ofm_fabric_status_touch(st);
    return handled;
}
