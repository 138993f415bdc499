/* Runtime monitor: every HAL event is logged with its classification, the
 * port's scope (access or trunk, resolved through the model), the affected
 * GPU(s) and the recovery procedure. Fatal trunk errors in bare metal mark
 * the fabric degraded (FM §3.3.1.2). Runtime errors never run the HA policy
 * (FM §9). */
#include "manager/manager_int.h"
#include "openfm/log.h"

#include <stdio.h>
#include <string.h>

void ofm_monitor_init(ofm_monitor *m, const ofm_fabric_ctx *ctx)
{
    m->ctx = ctx;
    m->cursor = ctx->event_cursor;
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

static void handle_sxid(ofm_monitor *m, const ofm_hal_event *e, ofm_fabric_status *st,
                        ofm_fabric_error *rec)
{
    const ofm_fabric_ctx *c = m->ctx;
    const ofm_platform *p = &c->platform;
    ofm_sxid_class cls = ofm_sxid_classify(e->code, e->fatal);
    const ofm_sxid_info *info = ofm_sxid_lookup(e->code);
    int a = ofm_fabric_access_at(p, e->sw, e->port);
    int t = a < 0 ? ofm_fabric_trunk_at(p, e->sw, e->port) : -1;
    char scope[160], gpus[160] = "";
    if (a >= 0) {
        snprintf(scope, sizeof scope, "access port (GPU %u link %u)", p->access[a].gpu,
                 p->access[a].gpu_link);
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
    bool severe = cls == OFM_SXID_FATAL || cls == OFM_SXID_ALWAYS_FATAL;
    if (snprintf(rec->summary, sizeof rec->summary,
             "SXid %u (%s), %s, on NVSwitch %u port %u, %s, affected: %s", e->code,
             info ? info->name : (e->detail[0] ? e->detail : "not in the guide's tables"),
             ofm_sxid_class_name(cls), e->sw, e->port, scope, gpus) >= (int)sizeof rec->summary)
        OFM_DEBUG("monitor: summary of SXid %u truncated", e->code);
    ofm_log(severe ? OFM_LOG_ERR : OFM_LOG_WARN, "%s. Recovery: %s", rec->summary,
            ofm_sxid_recovery(cls, t >= 0, c->mode));

    /* A fatal error on a trunk port (or an always-fatal one anywhere) stops
     * CUDA work on the whole bare-metal fabric until GPUs and switches are
     * reset (FM §3.3.1.2, §13.6). */
    if (c->mode == OFM_FABRIC_MODE_BARE_METAL &&
        ((cls == OFM_SXID_FATAL && t >= 0) || cls == OFM_SXID_ALWAYS_FATAL) &&
        (st->state == OFM_SYS_READY || st->state == OFM_SYS_DEGRADED)) {
        if (st->state != OFM_SYS_DEGRADED)
            OFM_CRIT("fabric degraded: %s SXid %u on NVSwitch %u port %u; running CUDA jobs are "
                     "aborted and new ones blocked until all GPUs and NVSwitches are reset",
                     ofm_sxid_class_name(cls), e->code, e->sw, e->port);
        st->state = OFM_SYS_DEGRADED;
        snprintf(st->message, sizeof st->message,
                 "degraded: %s SXid %u on NVSwitch %u port %u (%s); %s", ofm_sxid_class_name(cls),
                 e->code, e->sw, e->port, scope, ofm_sxid_recovery(cls, t >= 0, c->mode));
    }
}

static void handle_xid(ofm_monitor *m, const ofm_hal_event *e, ofm_fabric_error *rec)
{
    (void)m;
    const ofm_xid_info *info = ofm_xid_lookup(e->code);
    rec->gpu = e->gpu;
    if (snprintf(rec->summary, sizeof rec->summary, "Xid %u (%s) on GPU %u%s%s%s", e->code,
                 info ? info->meaning : "unlisted GPU error", e->gpu,
                 info && info->exclusion_candidate ? ", GPU is an exclusion candidate" : "",
                 e->detail[0] ? ": " : "", e->detail) >= (int)sizeof rec->summary)
        OFM_DEBUG("monitor: summary of Xid %u truncated", e->code);
    OFM_ERR("%s. Recovery: %s", rec->summary, ofm_xid_recovery(e->code));
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
    else if (t >= 0)
        snprintf(scope, sizeof scope, "trunk link");
    else
        snprintf(scope, sizeof scope, "link");
    rec->trunk = t >= 0;
    rec->gpu = a >= 0 ? p->access[a].gpu : 0;
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
        if (rc != OFM_HAL_OK) {
            OFM_ERR("monitor: reading NVSwitch/GPU events failed: %s (%s)", ofm_hal_last_error(h),
                    ofm_hal_strerror(rc));
            return rc;
        }
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
            rec->gpu = e->gpu;
            switch (e->kind) {
            case OFM_EVT_SXID: handle_sxid(m, e, st, rec); break;
            case OFM_EVT_XID: handle_xid(m, e, rec); break;
            case OFM_EVT_LINK_DOWN: handle_link(m, e, rec); break;
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
