/* The emulator's HAL operations: what a real NVSwitch driver + NVML would
 * answer, computed from the model and state.bin. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "hal/emu/emu_int.h"
#include "hal/emu/emu_mig.h"

void emu_close_handle(ofm_hal *h);

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void emu_event(ofm_hal *h, ofm_hal_event ev)
{
    emu_impl *e = emu_of(h);
    emu_fixed *f = &e->st.f;
    ev.prov = OFM_PROV_EMULATED;
    ev.seq = ++f->event_seq;
    if (!ev.time_ns)
        ev.time_ns = now_ns();
    f->events[f->event_head] = ev;
    f->event_head = (f->event_head + 1) % EMU_EVENT_RING;
    if (ev.kind == OFM_EVT_SXID) {
        int si = emu_sw_index(e->p, ev.sw);
        if (si >= 0)
            emu_kmsg_sxid(e, (size_t)si, ev.port, ev.code, ev.fatal, ev.detail, ev.time_ns);
    } else if (ev.kind == OFM_EVT_SWITCH_ERROR) {
        /* telemetry: the switch writes nothing to the host's kernel log */
    } else if (ev.kind == OFM_EVT_XID) {
        int gi = emu_gpu_index(e->p, ev.gpu);
        if (gi >= 0)
            emu_kmsg_xid(e, (size_t)gi, ev.code, ev.detail, ev.time_ns);
    } else {
        int si = emu_sw_index(e->p, ev.sw);
        char bdf[32] = "?";
        if (si >= 0)
            emu_switch_bdf(e->p, (size_t)si, bdf, sizeof bdf);
        emu_kmsg_line(e, ev.time_ns, "nvidia-nvswitch%d: (PCI:%s): Link %u is %s%s%s", si, bdf,
                      ev.port, ev.kind == OFM_EVT_LINK_UP ? "up" : "down", ev.detail[0] ? ": " : "",
                      ev.detail);
    }
}

static int driver_version(ofm_hal *h, char *buf, size_t len)
{
    int rc = emu_begin(h, false);
    if (rc)
        return rc;
    snprintf(buf, len, "%s", emu_of(h)->st.f.driver_version);
    emu_end(h);
    return OFM_HAL_OK;
}

static int list_switches(ofm_hal *h, ofm_hal_switch *out, size_t cap, size_t *n)
{
    int rc = emu_begin(h, false);
    if (rc)
        return rc;
    emu_impl *e = emu_of(h);
    size_t k = 0;
    for (size_t i = 0; i < e->p->nswitches; i++) {
        if (e->st.f.sw_health[i] == OFM_DEV_MISSING)
            continue; /* not on the bus: a real driver would not enumerate it */
        if (k < cap) {
            ofm_hal_switch *s = &out[k];
            memset(s, 0, sizeof *s);
            s->prov = OFM_PROV_EMULATED;
            s->phys_id = e->p->switches[i].id;
            emu_switch_uuid(e->p, i, s->uuid, sizeof s->uuid);
            emu_switch_bdf(e->p, i, s->pci_bdf, sizeof s->pci_bdf);
            s->gen = e->p->switches[i].gen;
            s->nports = e->p->switches[i].nports;
            s->baseboard = e->p->switches[i].baseboard;
            s->health = (ofm_dev_health)e->st.f.sw_health[i];
        }
        k++;
    }
    *n = k;
    emu_end(h);
    return OFM_HAL_OK;
}

static int list_gpus(ofm_hal *h, ofm_hal_gpu *out, size_t cap, size_t *n)
{
    int rc = emu_begin(h, false);
    if (rc)
        return rc;
    emu_impl *e = emu_of(h);
    size_t k = 0;
    for (size_t i = 0; i < e->p->ngpus; i++) {
        if (e->st.f.gpu_health[i] == OFM_DEV_MISSING)
            continue;
        if (k < cap) {
            ofm_hal_gpu *g = &out[k];
            const ofm_gpu_desc *d = &e->p->gpus[i];
            memset(g, 0, sizeof *g);
            g->prov = OFM_PROV_EMULATED;
            g->phys_id = d->phys_id;
            emu_gpu_uuid(e->p, i, g->uuid, sizeof g->uuid);
            emu_gpu_bdf(e->p, i, g->pci_bdf, sizeof g->pci_bdf);
            snprintf(g->model, sizeof g->model, "%s", d->model);
            g->nvlinks = d->nvlinks;
            g->line_rate_mbps = d->line_rate_mbps;
            g->baseboard = d->baseboard;
            g->health = (ofm_dev_health)e->st.f.gpu_health[i];
        }
        k++;
    }
    *n = k;
    emu_end(h);
    return OFM_HAL_OK;
}

/* Link seen from switch port (si, port); caller holds the state. */
static void port_view(emu_impl *e, size_t si, uint32_t port, ofm_hal_link *out)
{
    memset(out, 0, sizeof *out);
    out->prov = OFM_PROV_EMULATED;
    out->state = (ofm_link_state)e->st.f.port_state[si][port];
    int a = e->port_access[si][port], t = e->port_trunk[si][port];
    if (out->state == OFM_LINK_OFF || out->state == OFM_LINK_FAILED) {
        /* a dead link reports no remote end, as the hardware would */
        return;
    }
    if (a >= 0) {
        out->remote_type = OFM_REMOTE_GPU;
        out->remote_id = e->p->access[a].gpu;
        out->remote_link = e->p->access[a].gpu_link;
    } else if (t >= 0) {
        const ofm_trunk_link *tl = &e->p->trunks[t];
        bool a_end = tl->sw_a == e->p->switches[si].id && tl->port_a == port;
        out->remote_type = OFM_REMOTE_SWITCH;
        out->remote_id = a_end ? tl->sw_b : tl->sw_a;
        out->remote_link = a_end ? tl->port_b : tl->port_a;
    }
}

static int check_port(ofm_hal *h, uint32_t sw, uint32_t port, int *si)
{
    emu_impl *e = emu_of(h);
    *si = emu_sw_index(e->p, sw);
    if (*si < 0)
        return emu_fail(h, OFM_HAL_EINVAL, "no switch %u", sw);
    if (e->st.f.sw_health[*si] != OFM_DEV_OK)
        return emu_fail(h, OFM_HAL_ENODEV, "switch %u is %s", sw,
                        e->st.f.sw_health[*si] == OFM_DEV_MISSING ? "missing" : "failed");
    if (port >= e->p->switches[*si].nports)
        return emu_fail(h, OFM_HAL_EINVAL, "switch %u has no port %u", sw, port);
    return OFM_HAL_OK;
}

static int switch_port(ofm_hal *h, uint32_t sw, uint32_t port, ofm_hal_link *out)
{
    int rc = emu_begin(h, false), si;
    if (rc)
        return rc;
    if ((rc = check_port(h, sw, port, &si)) == OFM_HAL_OK)
        port_view(emu_of(h), (size_t)si, port, out);
    emu_end(h);
    return rc;
}

static int switch_ports(ofm_hal *h, uint32_t sw, ofm_hal_link *out, size_t cap, size_t *n)
{
    int rc = emu_begin(h, false), si;
    if (rc)
        return rc;
    if ((rc = check_port(h, sw, 0, &si)) == OFM_HAL_OK) {
        emu_impl *e = emu_of(h);
        *n = e->p->switches[si].nports;
        for (uint32_t port = 0; port < *n && port < cap; port++)
            port_view(e, (size_t)si, port, &out[port]);
    }
    emu_end(h);
    return rc;
}

static int gpu_link(ofm_hal *h, uint32_t gpu, uint32_t link, ofm_hal_link *out)
{
    int rc = emu_begin(h, false);
    if (rc)
        return rc;
    emu_impl *e = emu_of(h);
    int gi = emu_gpu_index(e->p, gpu);
    if (gi < 0 || e->st.f.gpu_health[gi] == OFM_DEV_MISSING)
        rc = emu_fail(h, gi < 0 ? OFM_HAL_EINVAL : OFM_HAL_ENODEV, "no GPU %u", gpu);
    else if (link >= e->p->gpus[gi].nvlinks)
        rc = emu_fail(h, OFM_HAL_EINVAL, "GPU %u has no NVLink %u", gpu, link);
    if (rc == OFM_HAL_OK) {
        memset(out, 0, sizeof *out);
        out->prov = OFM_PROV_EMULATED;
        /* a bridge link trains with the driver and needs no manager: up
         * whenever both GPUs are on the bus */
        for (size_t i = 0; i < e->p->nbridges; i++) {
            const ofm_bridge_link *b = &e->p->bridges[i];
            bool a_end = b->gpu_a == gpu && b->link_a == link;
            if (!a_end && !(b->gpu_b == gpu && b->link_b == link))
                continue;
            int peer = emu_gpu_index(e->p, a_end ? b->gpu_b : b->gpu_a);
            bool up = peer >= 0 && e->st.f.gpu_health[gi] == OFM_DEV_OK &&
                      e->st.f.gpu_health[peer] == OFM_DEV_OK;
            out->state = up ? OFM_LINK_ACTIVE : OFM_LINK_OFF;
            if (up) {
                out->remote_type = OFM_REMOTE_GPU;
                out->remote_id = a_end ? b->gpu_b : b->gpu_a;
                out->remote_link = a_end ? b->link_b : b->link_a;
            }
        }
        for (size_t i = 0; i < e->p->naccess; i++)
            if (e->p->access[i].gpu == gpu && e->p->access[i].gpu_link == link) {
                int si = emu_sw_index(e->p, e->p->access[i].sw);
                out->state = (ofm_link_state)e->st.f.port_state[si][e->p->access[i].sw_port];
                if (out->state == OFM_LINK_ACTIVE || out->state == OFM_LINK_TRAINING) {
                    out->remote_type = OFM_REMOTE_SWITCH;
                    out->remote_id = e->p->access[i].sw;
                    out->remote_link = e->p->access[i].sw_port;
                }
            }
    }
    emu_end(h);
    return rc;
}

static int train_port(ofm_hal *h, uint32_t sw, uint32_t port)
{
    int rc = emu_manager_guard(h), si;
    if (rc)
        return rc;
    rc = emu_begin(h, true);
    if (rc)
        return rc;
    emu_impl *e = emu_of(h);
    emu_fixed *f = &e->st.f;
    if ((rc = check_port(h, sw, port, &si)) != OFM_HAL_OK)
        goto out;
    int a = e->port_access[si][port], t = e->port_trunk[si][port];
    if (a < 0 && t < 0) {
        rc = emu_fail(h, OFM_HAL_EIO, "switch %u port %u has nothing connected", sw, port);
        goto out;
    }
    if (f->port_state[si][port] == OFM_LINK_ACTIVE)
        goto out;
    if (f->port_fault[si][port]) {
        f->port_state[si][port] = OFM_LINK_FAILED;
        rc = emu_fail(h, OFM_HAL_EIO, "switch %u port %u: link training failed", sw, port);
        emu_commit(h);
        goto out;
    }
    if (a >= 0) {
        int gi = emu_gpu_index(e->p, e->p->access[a].gpu);
        if (f->gpu_health[gi] != OFM_DEV_OK) {
            rc = emu_fail(h, OFM_HAL_EIO, "switch %u port %u: GPU %u does not respond", sw, port,
                          e->p->access[a].gpu);
            goto out;
        }
        f->port_state[si][port] = OFM_LINK_ACTIVE;
    } else {
        const ofm_trunk_link *tl = &e->p->trunks[t];
        int sa = emu_sw_index(e->p, tl->sw_a), sb = emu_sw_index(e->p, tl->sw_b);
        if (f->sw_health[sa] != OFM_DEV_OK || f->sw_health[sb] != OFM_DEV_OK ||
            f->port_fault[sa][tl->port_a] || f->port_fault[sb][tl->port_b]) {
            rc = emu_fail(h, OFM_HAL_EIO, "switch %u port %u: trunk peer does not respond", sw, port);
            goto out;
        }
        f->port_state[sa][tl->port_a] = f->port_state[sb][tl->port_b] = OFM_LINK_ACTIVE;
    }
    rc = emu_commit(h);
out:
    emu_end(h);
    return rc;
}

static int reset_port(ofm_hal *h, uint32_t sw, uint32_t port)
{
    int rc = emu_manager_guard(h), si;
    if (rc)
        return rc;
    rc = emu_begin(h, true);
    if (rc)
        return rc;
    emu_impl *e = emu_of(h);
    if ((rc = check_port(h, sw, port, &si)) == OFM_HAL_OK) {
        /* a reset drops the link; ALI platforms retrain by themselves */
        uint8_t *st = &e->st.f.port_state[si][port];
        *st = e->st.f.port_fault[si][port] ? OFM_LINK_FAILED
              : (e->p->ali && (e->port_access[si][port] >= 0 || e->port_trunk[si][port] >= 0))
                  ? OFM_LINK_ACTIVE
                  : OFM_LINK_OFF;
        for (size_t g = 0; g < e->p->ngpus; g++)
            emu_route_set(e, (size_t)si, port, g, ofm_portset_none()); /* clearing never allocates */
        rc = emu_commit(h);
    }
    emu_end(h);
    return rc;
}

static int route_write(ofm_hal *h, const ofm_route_entry *ents, size_t n)
{
    int rc = emu_manager_guard(h);
    if (rc)
        return rc;
    rc = emu_begin(h, true);
    if (rc)
        return rc;
    emu_impl *e = emu_of(h);
    /* validate the whole batch first: the write is all or nothing */
    for (size_t i = 0; i < n && rc == OFM_HAL_OK; i++) {
        int si, gi = emu_gpu_index(e->p, ents[i].dst_gpu);
        rc = check_port(h, ents[i].sw, ents[i].in_port, &si);
        if (rc == OFM_HAL_OK && gi < 0)
            rc = emu_fail(h, OFM_HAL_EINVAL, "entry %zu: unknown destination GPU %u", i,
                          ents[i].dst_gpu);
        if (rc == OFM_HAL_OK && ofm_portset_beyond(ents[i].egress, e->p->switches[si].nports))
            rc = emu_fail(h, OFM_HAL_EINVAL, "entry %zu: egress set names ports beyond %u", i,
                          e->p->switches[si].nports);
    }
    for (size_t i = 0; i < n && rc == OFM_HAL_OK; i++)
        if (emu_route_set(e, (size_t)emu_sw_index(e->p, ents[i].sw), ents[i].in_port,
                          (size_t)emu_gpu_index(e->p, ents[i].dst_gpu), ents[i].egress))
            rc = emu_fail(h, OFM_HAL_ENOSPC, "out of memory for routing entries");
    if (rc == OFM_HAL_OK)
        rc = emu_commit(h); /* else the uncommitted copy is dropped by emu_end */
    emu_end(h);
    return rc;
}

/* The same table as route_write of the expanded entries, in one
 * transaction, without expanding: the store is in this form already. */
static int route_write_groups(ofm_hal *h, const ofm_route_group *g, size_t n)
{
    int rc = emu_manager_guard(h);
    if (rc)
        return rc;
    rc = emu_begin(h, true);
    if (rc)
        return rc;
    emu_impl *e = emu_of(h);
    /* the checks route_write makes of the entries a group stands for (a
     * group with no ingress port stands for none) */
    for (size_t i = 0; i < n && rc == OFM_HAL_OK; i++) {
        if (ofm_portset_empty(g[i].in_ports))
            continue;
        uint32_t first = ofm_portset_first(g[i].in_ports);
        int si, gi = emu_gpu_index(e->p, g[i].dst_gpu);
        rc = check_port(h, g[i].sw, first, &si);
        if (rc != OFM_HAL_OK)
            break;
        if (gi < 0)
            rc = emu_fail(h, OFM_HAL_EINVAL, "group %zu: unknown destination GPU %u", i,
                          g[i].dst_gpu);
        else if (ofm_portset_beyond(g[i].in_ports, e->p->switches[si].nports) ||
                 ofm_portset_beyond(g[i].egress, e->p->switches[si].nports))
            rc = emu_fail(h, OFM_HAL_EINVAL, "group %zu: port set names ports beyond %u", i,
                          e->p->switches[si].nports);
    }
    for (size_t i = 0; i < n && rc == OFM_HAL_OK; i++)
        if (!ofm_portset_empty(g[i].in_ports) &&
            emu_route_set_group(e, (size_t)emu_sw_index(e->p, g[i].sw), g[i].in_ports,
                                (size_t)emu_gpu_index(e->p, g[i].dst_gpu), g[i].egress))
            rc = emu_fail(h, OFM_HAL_ENOSPC, "out of memory for routing entries");
    if (rc == OFM_HAL_OK)
        rc = emu_commit(h); /* else the uncommitted copy is dropped by emu_end */
    emu_end(h);
    return rc;
}

static int route_clear_switch(ofm_hal *h, uint32_t sw)
{
    int rc = emu_manager_guard(h), si;
    if (rc)
        return rc;
    rc = emu_begin(h, true);
    if (rc)
        return rc;
    emu_impl *e = emu_of(h);
    if ((rc = check_port(h, sw, 0, &si)) == OFM_HAL_OK) {
        for (uint32_t port = 0; port < e->p->switches[si].nports; port++)
            for (size_t g = 0; g < e->p->ngpus; g++)
                emu_route_set(e, (size_t)si, port, g, ofm_portset_none());
        rc = emu_commit(h);
    }
    emu_end(h);
    return rc;
}

static int route_read(ofm_hal *h, uint32_t sw, ofm_route_entry *out, size_t cap, size_t *n)
{
    int rc = emu_begin(h, false), si;
    if (rc)
        return rc;
    emu_impl *e = emu_of(h);
    size_t k = 0;
    if ((rc = check_port(h, sw, 0, &si)) == OFM_HAL_OK)
        for (uint32_t port = 0; port < e->p->switches[si].nports; port++)
            for (size_t g = 0; g < e->p->ngpus; g++) {
                ofm_portset m = emu_route_get(e, (size_t)si, port, g);
                if (ofm_portset_empty(m))
                    continue;
                if (k < cap)
                    out[k] = (ofm_route_entry){sw, port, e->p->gpus[g].phys_id, m};
                k++;
            }
    *n = k;
    emu_end(h);
    return rc;
}

static int read_events(ofm_hal *h, uint64_t *cursor, ofm_hal_event *out, size_t cap, size_t *n)
{
    int rc = emu_begin(h, false);
    if (rc)
        return rc;
    emu_fixed *f = &emu_of(h)->st.f;
    size_t k = 0;
    /* oldest retained event first; older ones were overwritten in the ring */
    uint64_t first = f->event_seq > EMU_EVENT_RING ? f->event_seq - EMU_EVENT_RING + 1 : 1;
    uint64_t from = *cursor + 1 > first ? *cursor + 1 : first;
    for (uint64_t s = from; s <= f->event_seq && k < cap; s++) {
        const ofm_hal_event *ev = &f->events[(s - 1) % EMU_EVENT_RING];
        if (ev->seq != s)
            continue;
        out[k++] = *ev;
        *cursor = s;
    }
    *n = k;
    emu_end(h);
    return OFM_HAL_OK;
}

static int fabric_get_locked(ofm_hal *h, uint32_t gpu, ofm_hal_fabric_info *out)
{
    emu_impl *e = emu_of(h);
    int gi = emu_gpu_index(e->p, gpu);
    if (gi < 0 || e->st.f.gpu_health[gi] == OFM_DEV_MISSING)
        return emu_fail(h, gi < 0 ? OFM_HAL_EINVAL : OFM_HAL_ENODEV, "no GPU %u", gpu);
    memset(out, 0, sizeof *out);
    out->prov = OFM_PROV_EMULATED;
    out->state = (ofm_fabric_state)e->st.f.gpu_fabric_state[gi];
    out->status = e->st.f.gpu_fabric_status[gi];
    if (!e->p->nswitches) /* NVLink bridge / PCIe cards: no fabric to join */
        out->state = OFM_FABRIC_NOT_SUPPORTED, out->status = 0;
    out->clique_id = out->state == OFM_FABRIC_COMPLETED && !out->status ? 1 : 0;
    if (out->clique_id)
        snprintf(out->cluster_uuid, sizeof out->cluster_uuid,
                 "00000000-0000-0000-0000-000000000000");
    return OFM_HAL_OK;
}

static int event_cursor_now(ofm_hal *h, uint64_t *cursor)
{
    int rc = emu_begin(h, false);
    if (rc)
        return rc;
    *cursor = emu_of(h)->st.f.event_seq;
    emu_end(h);
    return OFM_HAL_OK;
}

static int fabric_get(ofm_hal *h, uint32_t gpu, ofm_hal_fabric_info *out)
{
    int rc = emu_begin(h, false);
    if (rc)
        return rc;
    rc = fabric_get_locked(h, gpu, out);
    emu_end(h);
    return rc;
}

/* The live refresh reads every GPU's registration: one transaction. */
static int fabric_get_many(ofm_hal *h, const uint32_t *gpus, size_t n, ofm_hal_fabric_info *out,
                           int *rcs)
{
    int rc = emu_begin(h, false);
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++)
        rcs[i] = fabric_get_locked(h, gpus[i], &out[i]);
    emu_end(h);
    return OFM_HAL_OK;
}

/* One GPU's registration inside a write transaction; sets h->last_error. */
static int fabric_set_locked(ofm_hal *h, uint32_t gpu, ofm_fabric_state st, int status)
{
    emu_impl *e = emu_of(h);
    int gi = emu_gpu_index(e->p, gpu);
    if (gi < 0 || e->st.f.gpu_health[gi] != OFM_DEV_OK)
        return emu_fail(h, gi < 0 ? OFM_HAL_EINVAL : OFM_HAL_ENODEV, "GPU %u is not usable", gpu);
    if (st > OFM_FABRIC_COMPLETED)
        return emu_fail(h, OFM_HAL_EINVAL, "bad fabric state %d", (int)st);
    e->st.f.gpu_fabric_state[gi] = (uint8_t)st;
    e->st.f.gpu_fabric_status[gi] = status;
    if (st == OFM_FABRIC_COMPLETED && status == 0 && e->st.f.gpu_fail_reg[gi]) {
        /* the GPU's in-band registration fails: it completes with an error */
        e->st.f.gpu_fabric_status[gi] = 1;
        return emu_fail(h, OFM_HAL_EIO, "GPU %u: fabric registration failed", gpu);
    }
    return OFM_HAL_OK;
}

static int fabric_set(ofm_hal *h, uint32_t gpu, ofm_fabric_state st, int status)
{
    int rc = emu_manager_guard(h);
    if (rc)
        return rc;
    rc = emu_begin(h, true);
    if (rc)
        return rc;
    rc = fabric_set_locked(h, gpu, st, status);
    /* a refused GPU changed nothing; a failed registration is recorded */
    if (rc == OFM_HAL_OK || rc == OFM_HAL_EIO) {
        int crc = emu_commit(h);
        if (rc == OFM_HAL_OK)
            rc = crc;
    }
    emu_end(h);
    return rc;
}

static int fabric_set_many(ofm_hal *h, const uint32_t *gpus, size_t n, ofm_fabric_state st,
                           int status, int *rcs)
{
    int rc = emu_manager_guard(h);
    if (rc)
        return rc;
    rc = emu_begin(h, true);
    if (rc)
        return rc;
    bool dirty = false;
    for (size_t i = 0; i < n; i++) {
        rcs[i] = fabric_set_locked(h, gpus[i], st, status);
        dirty |= rcs[i] == OFM_HAL_OK || rcs[i] == OFM_HAL_EIO;
    }
    rc = dirty ? emu_commit(h) : OFM_HAL_OK;
    emu_end(h);
    return rc;
}

static const ofm_platform *platform_hint(ofm_hal *h) { return emu_of(h)->p; }

static int register_fault(ofm_hal *h, uint32_t gpu, bool *will_fail)
{
    int rc = emu_begin(h, false);
    if (rc)
        return rc;
    emu_impl *e = emu_of(h);
    int gi = emu_gpu_index(e->p, gpu);
    if (gi < 0)
        rc = emu_fail(h, OFM_HAL_EINVAL, "no GPU %u", gpu);
    else
        *will_fail = e->st.f.gpu_fail_reg[gi] != 0;
    emu_end(h);
    return rc;
}

static int gpu_hold(ofm_hal *h, uint32_t gpu, int delta, uint32_t *holders)
{
    int rc = delta ? ofm_emu_mig_hold(h, gpu, delta) : OFM_HAL_OK;
    return rc ? rc : ofm_emu_mig_holders(h, gpu, holders);
}

static void release(ofm_hal *h) { ofm_emu_fm_detach(h); }

static int gpu_vfs(ofm_hal *h, uint32_t gpu, ofm_hal_pci_fn *out, size_t cap, size_t *n)
{
    int rc = emu_begin(h, false);
    if (rc)
        return rc;
    emu_impl *e = emu_of(h);
    int gi = emu_gpu_index(e->p, gpu);
    if (gi < 0)
        rc = emu_fail(h, OFM_HAL_EINVAL, "no GPU %u", gpu);
    else if (e->st.f.gpu_health[gi] == OFM_DEV_MISSING)
        rc = emu_fail(h, OFM_HAL_ENODEV, "GPU %u is not on the bus", gpu);
    else
        *n = emu_gpu_vfs(e->p, (size_t)gi, out, cap);
    emu_end(h);
    return rc;
}

const ofm_hal_ops ofm_emu_ops = {
    .name = "emu",
    .close = emu_close_handle,
    .driver_version = driver_version,
    .list_switches = list_switches,
    .list_gpus = list_gpus,
    .switch_port = switch_port,
    .gpu_link = gpu_link,
    .train_port = train_port,
    .reset_port = reset_port,
    .route_write = route_write,
    .route_clear_switch = route_clear_switch,
    .route_read = route_read,
    .read_events = read_events,
    .event_cursor_now = event_cursor_now,
    .fabric_get = fabric_get,
    .fabric_set = fabric_set,
    .fabric_set_many = fabric_set_many,
    .fabric_get_many = fabric_get_many,
    .switch_ports = switch_ports,
    .route_write_groups = route_write_groups,
    .mig_mode_get = ofm_emu_mig_mode_get,
    .mig_mode_set = ofm_emu_mig_mode_set,
    .gpu_reset = ofm_emu_gpu_reset,
    .gi_create = ofm_emu_gi_create,
    .gi_destroy = ofm_emu_gi_destroy,
    .gi_list = ofm_emu_gi_list,
    .ci_create = ofm_emu_ci_create,
    .ci_destroy = ofm_emu_ci_destroy,
    .ci_list = ofm_emu_ci_list,
    .platform_hint = platform_hint,
    .claim = ofm_emu_fm_attach,
    .release = release,
    .gpu_register_fault = register_fault,
    .gpu_hold = gpu_hold,
    .gpu_vfs = gpu_vfs,
    .link_errors = ofm_emu_link_errors,
    .link_errors_many = ofm_emu_link_errors_many,
    .list_excluded = ofm_emu_list_excluded,
    .switch_telemetry = ofm_emu_switch_telemetry,
};
