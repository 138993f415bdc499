/* Live status: after bring-up the fabric keeps changing under the manager
 * (links fail or are repaired, MIG takes an A100's NVLinks down, a GPU falls
 * off the bus, a switch fails). ofm_fabric_status_refresh re-reads those
 * facts from the backend so the status, the metrics and the events describe
 * the fabric as it is now, not as bring-up found it.
 *
 * What stays from bring-up: the HA policy's decision (which links and
 * switches FM uses, which GPUs have peer access). Runtime failures never
 * re-run the policy (FM §9); they only make fewer links usable. */
#include "manager/manager_int.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *ofm_gpu_mig_name(ofm_gpu_mig m)
{
    switch (m) {
    case OFM_MIG_NA: return "N/A";
    case OFM_MIG_DISABLED: return "Disabled";
    case OFM_MIG_ENABLED: return "Enabled";
    }
    return "N/A";
}

void ofm_fabric_status_touch(ofm_fabric_status *st)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    st->generation++;
    st->updated_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static bool link_up(ofm_hal *h, uint32_t sw, uint32_t port)
{
    ofm_hal_link l;
    return h->ops->switch_port(h, sw, port, &l) == OFM_HAL_OK && l.state == OFM_LINK_ACTIVE;
}

#define SET(dst, val)                                                                              \
    do {                                                                                           \
        __typeof__(dst) v_ = (val);                                                                \
        if ((dst) != v_) {                                                                         \
            (dst) = v_;                                                                            \
            changed = true;                                                                        \
        }                                                                                          \
    } while (0)

/* Is a missing device one the driver excluded (FM §9.6)? Only missing
 * devices can be, so the backend's list is read only while one is missing.
 * Backends that cannot say which module ID an excluded device had (NVML
 * reports UUID and PCI address) are matched by those. */
static bool excluded(const ofm_hal_excluded *x, size_t nx, bool sw, uint32_t id, const char *uuid,
                     const char *bdf)
{
    for (size_t i = 0; i < nx; i++) {
        if (x[i].is_switch != sw)
            continue;
        if (x[i].phys_id != UINT32_MAX ? x[i].phys_id == id
                                       : (uuid[0] && !strcmp(uuid, x[i].uuid)) ||
                                             (bdf[0] && !strcmp(bdf, x[i].pci_bdf)))
            return true;
    }
    return false;
}

static size_t read_excluded(ofm_hal *h, ofm_hal_excluded *x, size_t cap)
{
    size_t n = 0;
    if (!h->ops->list_excluded || h->ops->list_excluded(h, x, cap, &n) != OFM_HAL_OK)
        return 0;
    return n < cap ? n : cap;
}

bool ofm_fabric_status_refresh(ofm_hal *h, const struct ofm_fabric_ctx *ctx, ofm_fabric_status *st)
{
    const ofm_platform *p = &ctx->platform;
    const ofm_policy_decision *d = &ctx->decision;
    bool changed = false;
    if (st->ngpus != p->ngpus || st->nswitches != p->nswitches)
        return false; /* bring-up did not fill the status: nothing to refresh */

    ofm_hal_switch sws[OFM_MAX_SWITCHES];
    ofm_hal_gpu gpus[OFM_MAX_GPUS];
    size_t nsw = 0, ngpu = 0;
    if (h->ops->list_switches(h, sws, OFM_MAX_SWITCHES, &nsw) != OFM_HAL_OK)
        nsw = 0;
    if (h->ops->list_gpus(h, gpus, OFM_MAX_GPUS, &ngpu) != OFM_HAL_OK)
        ngpu = 0;
    nsw = nsw > OFM_MAX_SWITCHES ? OFM_MAX_SWITCHES : nsw;
    ngpu = ngpu > OFM_MAX_GPUS ? OFM_MAX_GPUS : ngpu;

    bool sw_up[OFM_MAX_SWITCHES] = {false};
    for (size_t si = 0; si < p->nswitches; si++) {
        ofm_dev_health hl = OFM_DEV_MISSING;
        for (size_t k = 0; k < nsw; k++)
            if (sws[k].phys_id == p->switches[si].id)
                hl = sws[k].health;
        ofm_switch_status_entry *s = &st->switches[si];
        ofm_switch_status now = hl == OFM_DEV_MISSING ? OFM_SW_MISSING
                                : hl != OFM_DEV_OK    ? OFM_SW_FAILED
                                : d->switch_disabled[si] ? OFM_SW_DISABLED
                                                         : OFM_SW_OK;
        SET(s->status, now);
        sw_up[si] = hl == OFM_DEV_OK;
    }

    /* Active ports of each switch that is up: one read per switch where the
     * backend can (a rack has 1296 access links to look at), else per port. */
    ofm_portset act[OFM_MAX_SWITCHES];
    bool batched[OFM_MAX_SWITCHES] = {false};
    ofm_hal_link *buf = h->ops->switch_ports ? malloc(OFM_MAX_SWITCH_PORTS * sizeof *buf) : NULL;
    for (size_t si = 0; buf && si < p->nswitches && si < OFM_MAX_SWITCHES; si++) {
        size_t n = 0;
        if (!sw_up[si] ||
            h->ops->switch_ports(h, p->switches[si].id, buf, OFM_MAX_SWITCH_PORTS, &n) != OFM_HAL_OK)
            continue;
        act[si] = ofm_portset_none();
        for (size_t port = 0; port < n && port < OFM_MAX_SWITCH_PORTS; port++)
            if (buf[port].state == OFM_LINK_ACTIVE)
                ofm_portset_add(&act[si], (uint32_t)port);
        batched[si] = true;
    }
    free(buf);
#define PORT_UP(si, sw, port) (batched[si] ? ofm_portset_has(act[si], (port)) : link_up(h, (sw), (port)))
    bool access_up[OFM_MAX_ACCESS_LINKS];
    uint32_t access_active = 0, trunk_active = 0;
    uint32_t sw_active[OFM_MAX_SWITCHES] = {0};
    for (size_t a = 0; a < p->naccess; a++) {
        int si = ofm_fabric_switch_index(p, p->access[a].sw);
        access_up[a] = si >= 0 && sw_up[si] && PORT_UP(si, p->access[a].sw, p->access[a].sw_port);
        access_active += access_up[a];
        if (si >= 0)
            sw_active[si] += access_up[a];
    }
    for (size_t t = 0; t < p->ntrunks; t++) {
        const ofm_trunk_link *tl = &p->trunks[t];
        int sa = ofm_fabric_switch_index(p, tl->sw_a), sb = ofm_fabric_switch_index(p, tl->sw_b);
        bool up = sa >= 0 && sb >= 0 && sw_up[sa] && sw_up[sb] && PORT_UP(sa, tl->sw_a, tl->port_a);
        trunk_active += up;
        if (up) {
            sw_active[sa]++;
            if (sb != sa)
                sw_active[sb]++;
        }
    }
    SET(st->access_active, access_active);
    SET(st->trunk_active, trunk_active);
    for (size_t si = 0; si < p->nswitches; si++)
        SET(st->switches[si].links_active, sw_active[si]);

    /* each GPU's active and usable access links, in one pass over the links */
    uint32_t gpu_active[OFM_MAX_GPUS] = {0}, gpu_usable[OFM_MAX_GPUS] = {0};
    for (size_t a = 0; a < p->naccess; a++) {
        int gi = access_up[a] ? ofm_fabric_gpu_index(p, p->access[a].gpu) : -1;
        if (gi < 0 || gi >= OFM_MAX_GPUS)
            continue;
        gpu_active[gi]++;
        int si = ofm_fabric_switch_index(p, p->access[a].sw);
        if (d->gpu_p2p[gi] && d->effective.gpu_ok[gi] && d->effective.access_ok[a] && si >= 0 &&
            d->effective.switch_ok[si])
            gpu_usable[gi]++;
    }
    /* every GPU's registration in one transaction where the backend can */
    ofm_hal_fabric_info fis[OFM_MAX_GPUS];
    int fi_rc[OFM_MAX_GPUS];
    uint32_t ids[OFM_MAX_GPUS];
    size_t nids = p->ngpus < OFM_MAX_GPUS ? p->ngpus : OFM_MAX_GPUS;
    for (size_t gi = 0; gi < nids; gi++)
        ids[gi] = st->gpus[gi].phys_id;
    bool fi_many = h->ops->fabric_get_many &&
                   h->ops->fabric_get_many(h, ids, nids, fis, fi_rc) == OFM_HAL_OK;

    for (size_t gi = 0; gi < p->ngpus; gi++) {
        ofm_gpu_status *g = &st->gpus[gi];
        ofm_dev_health hl = OFM_DEV_MISSING;
        for (size_t k = 0; k < ngpu; k++)
            if (gpus[k].phys_id == g->phys_id)
                hl = gpus[k].health;
        SET(g->health, hl);
        SET(g->present, hl == OFM_DEV_OK && ctx->observed.gpu_ok[gi]);
        uint32_t active = gpu_active[gi], usable = gpu_usable[gi];
        if (hl != OFM_DEV_OK)
            active = usable = 0;
        SET(g->links_active, active);
        SET(g->links_usable, usable);

        ofm_hal_fabric_info fi;
        if (fi_many && hl == OFM_DEV_OK && fi_rc[gi] == OFM_HAL_OK) {
            SET(g->fabric_state, fis[gi].state);
            SET(g->fabric_status, fis[gi].status);
        } else if (!fi_many && hl == OFM_DEV_OK && h->ops->fabric_get &&
                   h->ops->fabric_get(h, g->phys_id, &fi) == OFM_HAL_OK) {
            SET(g->fabric_state, fi.state);
            SET(g->fabric_status, fi.status);
        }

        ofm_hal_mig_mode mm;
        ofm_gpu_mig mig = OFM_MIG_NA;
        bool pending = false;
        uint32_t ngi = 0;
        if (hl == OFM_DEV_OK && h->ops->mig_mode_get &&
            h->ops->mig_mode_get(h, g->phys_id, &mm) == OFM_HAL_OK) {
            mig = mm.current ? OFM_MIG_ENABLED : OFM_MIG_DISABLED;
            pending = mm.pending != mm.current;
            size_t n = 0;
            ofm_hal_gpu_instance gis[16];
            if (mm.current && h->ops->gi_list &&
                h->ops->gi_list(h, g->phys_id, gis, sizeof gis / sizeof gis[0], &n) == OFM_HAL_OK)
                ngi = (uint32_t)n;
        }
        SET(g->mig, mig);
        SET(g->mig_pending, pending);
        SET(g->mig_instances, ngi);
    }
    bool any_missing = false;
    for (size_t si = 0; si < p->nswitches; si++)
        any_missing |= st->switches[si].status == OFM_SW_MISSING;
    for (size_t gi = 0; gi < p->ngpus; gi++)
        any_missing |= st->gpus[gi].health == OFM_DEV_MISSING;
    ofm_hal_excluded x[OFM_MAX_GPUS + OFM_MAX_SWITCHES];
    size_t nx = any_missing ? read_excluded(h, x, sizeof x / sizeof x[0]) : 0;
    for (size_t si = 0; si < p->nswitches; si++) {
        ofm_switch_status_entry *s = &st->switches[si];
        SET(s->excluded, s->status == OFM_SW_MISSING &&
                             excluded(x, nx, true, s->id, s->uuid, s->pci_bdf));
    }
    for (size_t gi = 0; gi < p->ngpus; gi++) {
        ofm_gpu_status *g = &st->gpus[gi];
        SET(g->excluded, g->health == OFM_DEV_MISSING &&
                             excluded(x, nx, false, g->phys_id, g->uuid, g->pci_bdf));
    }
    if (ofm_domain_health_update(p, st))
        changed = true;
    if (changed)
        ofm_fabric_status_touch(st);
    return changed;
}
