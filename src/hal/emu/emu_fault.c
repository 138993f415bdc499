/* Fault injection, reboot, and the traffic probe. */
#include <stdio.h>
#include <string.h>

#include "hal/emu/emu_int.h"
#include "hal/emu/emu_mig.h"

static ofm_hal_event mk(ofm_event_kind kind, uint32_t code, bool fatal, uint32_t sw, uint32_t port,
                        uint32_t gpu, const char *detail)
{
    ofm_hal_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = kind;
    ev.code = code;
    ev.fatal = fatal;
    ev.sw = sw;
    ev.port = port;
    ev.gpu = gpu;
    snprintf(ev.detail, sizeof ev.detail, "%s", detail ? detail : "");
    return ev;
}

/* Run fn inside a write transaction. */
#define WRITE_TXN(h, body)                                                                         \
    do {                                                                                           \
        int rc_ = emu_begin((h), true);                                                            \
        if (rc_)                                                                                   \
            return rc_;                                                                            \
        emu_impl *e = emu_of(h);                                                                   \
        (void)e;                                                                                   \
        body;                                                                                      \
        if (rc_ == OFM_HAL_OK)                                                                     \
            rc_ = emu_commit(h);                                                                   \
        emu_end(h);                                                                                \
        return rc_;                                                                                \
    } while (0)

static int port_args(ofm_hal *h, uint32_t sw, uint32_t port, int *si)
{
    emu_impl *e = emu_of(h);
    *si = emu_sw_index(e->p, sw);
    if (*si < 0)
        return emu_fail(h, OFM_HAL_EINVAL, "no switch %u in %s", sw, e->p->name);
    if (port >= e->p->switches[*si].nports)
        return emu_fail(h, OFM_HAL_EINVAL, "switch %u has no port %u (ports 0-%u)", sw, port,
                        e->p->switches[*si].nports - 1);
    return OFM_HAL_OK;
}

/* A link fault needs a link: a port the topology wires to nothing cannot go
 * down (the daemon would report "NVLink down" on a port that has none). */
static int link_port_args(ofm_hal *h, uint32_t sw, uint32_t port, int *si)
{
    int rc = port_args(h, sw, port, si);
    emu_impl *e = emu_of(h);
    if (rc == OFM_HAL_OK && e->port_access[*si][port] < 0 && e->port_trunk[*si][port] < 0)
        rc = emu_fail(h, OFM_HAL_EINVAL, "switch %u port %u has no NVLink in %s (neither an access "
                      "nor a trunk link is wired to it; fmctl topo show lists them)",
                      sw, port, e->p->name);
    return rc;
}

/* Set both ends of whatever link sits on (si, port). */
static void set_link(emu_impl *e, size_t si, uint32_t port, uint8_t state, uint8_t fault)
{
    e->st.f.port_state[si][port] = state;
    e->st.f.port_fault[si][port] = fault;
    int t = e->port_trunk[si][port];
    if (t >= 0) {
        const ofm_trunk_link *tl = &e->p->trunks[t];
        bool a_end = (uint32_t)emu_sw_index(e->p, tl->sw_a) == si && tl->port_a == port;
        int osi = emu_sw_index(e->p, a_end ? tl->sw_b : tl->sw_a);
        uint32_t oport = a_end ? tl->port_b : tl->port_a;
        e->st.f.port_state[osi][oport] = state;
        e->st.f.port_fault[osi][oport] = fault;
    }
}

int ofm_emu_inject_port_down(ofm_hal *h, uint32_t sw, uint32_t port)
{
    WRITE_TXN(h, {
        int si;
        rc_ = link_port_args(h, sw, port, &si);
        if (rc_ == OFM_HAL_OK) {
            set_link(e, (size_t)si, port, OFM_LINK_FAILED, 1);
            emu_event(h, mk(OFM_EVT_LINK_DOWN, 0, false, sw, port, 0, "injected fault"));
        }
    });
}

int ofm_emu_inject_port_repair(ofm_hal *h, uint32_t sw, uint32_t port)
{
    WRITE_TXN(h, {
        int si;
        rc_ = link_port_args(h, sw, port, &si);
        if (rc_ == OFM_HAL_OK) {
            /* repaired cables still need training on gen1/gen2 */
            set_link(e, (size_t)si, port, e->p->ali ? OFM_LINK_ACTIVE : OFM_LINK_OFF, 0);
            if (e->p->ali)
                emu_event(h, mk(OFM_EVT_LINK_UP, 0, false, sw, port, 0, "repaired"));
        }
    });
}

static const char *health_words(ofm_dev_health health, bool gpu)
{
    return health == OFM_DEV_OK        ? "healthy"
           : health == OFM_DEV_MISSING ? (gpu ? "fell off the bus" : "missing from the bus")
                                       : "failed";
}

/* Inside a write transaction: one switch's health; its links drop with it. */
static void switch_health(emu_impl *e, size_t si, ofm_dev_health health)
{
    e->st.f.sw_health[si] = (uint8_t)health;
    if (health != OFM_DEV_OK)
        for (uint32_t p = 0; p < OFM_MAX_SWITCH_PORTS; p++)
            if (e->port_access[si][p] >= 0 || e->port_trunk[si][p] >= 0)
                set_link(e, si, p, OFM_LINK_OFF, e->st.f.port_fault[si][p]);
}

/* Inside a write transaction: one GPU's health; its links drop with it. A
 * GPU falling off the bus raises Xid 79 as the driver would. */
static void gpu_health(ofm_hal *h, emu_impl *e, size_t gi, ofm_dev_health health)
{
    uint32_t gpu = e->p->gpus[gi].phys_id;
    e->st.f.gpu_health[gi] = (uint8_t)health;
    if (health != OFM_DEV_OK)
        for (size_t i = 0; i < e->p->naccess; i++)
            if (e->p->access[i].gpu == gpu) {
                int si = emu_sw_index(e->p, e->p->access[i].sw);
                e->st.f.port_state[si][e->p->access[i].sw_port] = OFM_LINK_OFF;
            }
    if (health == OFM_DEV_MISSING)
        emu_event(h, mk(OFM_EVT_XID, 79, true, 0, 0, gpu, "GPU has fallen off the bus."));
}

int ofm_emu_inject_switch(ofm_hal *h, uint32_t sw, ofm_dev_health health)
{
    WRITE_TXN(h, {
        int si = emu_sw_index(e->p, sw);
        if (si < 0)
            rc_ = emu_fail(h, OFM_HAL_EINVAL, "no switch %u in %s", sw, e->p->name);
        else {
            switch_health(e, (size_t)si, health);
            emu_kmsg_line(e, 0, "openfm-emu: injected: switch %u %s", sw, health_words(health, false));
        }
    });
}

int ofm_emu_inject_gpu(ofm_hal *h, uint32_t gpu, ofm_dev_health health)
{
    WRITE_TXN(h, {
        int gi = emu_gpu_index(e->p, gpu);
        if (gi < 0)
            rc_ = emu_fail(h, OFM_HAL_EINVAL, "no GPU %u in %s", gpu, e->p->name);
        else {
            emu_kmsg_line(e, 0, "openfm-emu: injected: GPU %u %s", gpu, health_words(health, true));
            gpu_health(h, e, (size_t)gi, health);
        }
    });
}

/* Rack scale: a whole tray at once, in one transaction (a tray loses power
 * or its cable cartridge as a unit). */
int ofm_emu_inject_compute_tray(ofm_hal *h, uint32_t tray, ofm_dev_health health)
{
    WRITE_TXN(h, {
        uint32_t ids[OFM_MAX_GPUS];
        size_t n = ofm_platform_tray_gpus(e->p, tray, ids, OFM_MAX_GPUS);
        if (!n)
            rc_ = emu_fail(h, OFM_HAL_EINVAL, "no compute tray %u in %s%s", tray, e->p->name,
                           ofm_platform_is_rack(e->p) ? "" : " (not a rack-scale system)");
        else {
            emu_kmsg_line(e, 0, "openfm-emu: injected: compute tray %u (GPUs %u-%u) %s", tray,
                          ids[0], ids[n - 1], health_words(health, false));
            for (size_t k = 0; k < n && k < OFM_MAX_GPUS; k++)
                gpu_health(h, e, (size_t)emu_gpu_index(e->p, ids[k]), health);
        }
    });
}

int ofm_emu_inject_switch_tray(ofm_hal *h, uint32_t tray, ofm_dev_health health)
{
    WRITE_TXN(h, {
        uint32_t ids[OFM_MAX_SWITCHES];
        size_t n = ofm_platform_tray_switches(e->p, tray, ids, OFM_MAX_SWITCHES);
        if (!n)
            rc_ = emu_fail(h, OFM_HAL_EINVAL, "no switch tray %u in %s%s", tray, e->p->name,
                           ofm_platform_is_rack(e->p) ? "" : " (not a rack-scale system)");
        else {
            char list[160] = "";
            for (size_t k = 0; k < n && k < OFM_MAX_SWITCHES; k++) {
                size_t l = strlen(list);
                snprintf(list + l, sizeof list - l, "%s%u", k ? ", " : "", ids[k]);
                switch_health(e, (size_t)emu_sw_index(e->p, ids[k]), health);
            }
            emu_kmsg_line(e, 0, "openfm-emu: injected: switch tray %u (NVSwitch %s) %s", tray, list,
                          health_words(health, false));
        }
    });
}

int ofm_emu_inject_fabric_fail(ofm_hal *h, uint32_t gpu, bool fail)
{
    WRITE_TXN(h, {
        int gi = emu_gpu_index(e->p, gpu);
        if (gi < 0)
            rc_ = emu_fail(h, OFM_HAL_EINVAL, "no GPU %u in %s", gpu, e->p->name);
        else
            e->st.f.gpu_fail_reg[gi] = fail;
    });
}

int ofm_emu_inject_driver_version(ofm_hal *h, const char *version)
{
    WRITE_TXN(h, {
        size_t l = version ? strlen(version) : 0;
        if (!l || l >= sizeof e->st.f.driver_version)
            rc_ = emu_fail(h, OFM_HAL_EINVAL, "driver version must be 1-%zu characters",
                           sizeof e->st.f.driver_version - 1);
        else {
            snprintf(e->st.f.driver_version, sizeof e->st.f.driver_version, "%s", version);
            emu_kmsg_line(e, 0, "NVRM: loading NVIDIA UNIX x86_64 Kernel Module  %s", version);
        }
    });
}

int ofm_emu_inject_sxid(ofm_hal *h, uint32_t sw, uint32_t port, uint32_t code, bool fatal,
                        const char *desc)
{
    WRITE_TXN(h, {
        int si;
        rc_ = port_args(h, sw, port, &si);
        if (rc_ == OFM_HAL_OK && emu_switch_has_telemetry(e->p, (size_t)si))
            rc_ = emu_fail(h, OFM_HAL_ENOTSUP, "NVSwitch %u is a fourth-generation NVSwitch: it "
                           "reports no SXids; its errors are telemetry counters (inject "
                           "switch-error)", sw);
        else if (rc_ == OFM_HAL_OK)
            emu_event(h, mk(OFM_EVT_SXID, code, fatal, sw, port, 0, desc));
    });
}

int ofm_emu_inject_switch_error(ofm_hal *h, uint32_t sw, uint32_t port, bool fatal, uint32_t count,
                                const char *desc)
{
    WRITE_TXN(h, {
        int si = emu_sw_index(e->p, sw);
        if (si < 0)
            rc_ = emu_fail(h, OFM_HAL_EINVAL, "no switch %u in %s", sw, e->p->name);
        else if (port != OFM_HAL_PORT_CHIP)
            rc_ = port_args(h, sw, port, &si);
        if (rc_ == OFM_HAL_OK && !count)
            rc_ = emu_fail(h, OFM_HAL_EINVAL, "an error count of 0 raises nothing");
        if (rc_ == OFM_HAL_OK && !emu_switch_has_telemetry(e->p, (size_t)si))
            rc_ = emu_fail(h, OFM_HAL_ENOTSUP, "NVSwitch %u reports errors as SXids, not telemetry "
                           "counters (inject sxid)", sw);
        if (rc_ == OFM_HAL_OK)
            rc_ = emu_telemetry_count(h, (size_t)si, port, fatal, count);
        if (rc_ == OFM_HAL_OK)
            emu_event(h, mk(OFM_EVT_SWITCH_ERROR, count, fatal, sw, port, 0, desc));
    });
}

int ofm_emu_inject_xid(ofm_hal *h, uint32_t gpu, uint32_t code, const char *detail)
{
    WRITE_TXN(h, {
        if (emu_gpu_index(e->p, gpu) < 0)
            rc_ = emu_fail(h, OFM_HAL_EINVAL, "no GPU %u in %s", gpu, e->p->name);
        else
            emu_event(h, mk(OFM_EVT_XID, code, false, 0, 0, gpu, detail));
    });
}

int ofm_emu_reboot(ofm_hal *h) { return ofm_emu_reboot_excluding(h, NULL, NULL); }

int ofm_emu_set_gpu_links(ofm_hal *h, uint32_t gpu, bool up)
{
    return ofm_emu_set_gpu_links_why(h, gpu, up, up ? "retrained" : "MIG mode enabled");
}

int ofm_emu_set_gpu_links_why(ofm_hal *h, uint32_t gpu, bool up, const char *why)
{
    WRITE_TXN(h, {
        int gi = emu_gpu_index(e->p, gpu);
        if (gi < 0)
            rc_ = emu_fail(h, OFM_HAL_EINVAL, "no GPU %u", gpu);
        else
            for (size_t i = 0; i < e->p->naccess; i++) {
                if (e->p->access[i].gpu != gpu)
                    continue;
                int si = emu_sw_index(e->p, e->p->access[i].sw);
                uint32_t port = e->p->access[i].sw_port;
                uint8_t *st = &e->st.f.port_state[si][port];
                uint8_t want = up && !e->st.f.port_fault[si][port] &&
                                       e->st.f.sw_health[si] == OFM_DEV_OK &&
                                       e->st.f.gpu_health[gi] == OFM_DEV_OK
                                   ? OFM_LINK_ACTIVE
                                   : OFM_LINK_OFF;
                if (*st == want || *st == OFM_LINK_FAILED)
                    continue;
                *st = want;
                emu_event(h, mk(up ? OFM_EVT_LINK_UP : OFM_EVT_LINK_DOWN, 0, false,
                                e->p->access[i].sw, port, gpu, why));
            }
    });
}

/* ---------------------------------------------------------------- probe */

#define PROBE_MAX_HOPS 4
/* A sane table visits each (switch, port) a few times per probe; a table that
 * fans out on every hop would otherwise cost nports^hops. */
#define PROBE_MAX_STEPS 65536

typedef struct {
    emu_impl *e;
    size_t dst_gi;
    uint32_t dst;
    uint64_t dst_links_hit; /* bit per destination GPU link */
    bool dropped;
    uint32_t drop_sw, drop_port, drop_sxid;
    char reason[96];
    uint32_t max_hops;
    uint32_t steps; /* switch entries visited: bounds the fan-out of odd tables */
} walk;

static void drop(walk *w, uint32_t sw, uint32_t port, uint32_t sxid, const char *why)
{
    if (w->dropped)
        return;
    w->dropped = true;
    w->drop_sw = sw;
    w->drop_port = port;
    w->drop_sxid = sxid;
    snprintf(w->reason, sizeof w->reason, "%s", why);
}

/* Traffic for dst enters switch si on port. Returns true when all of it
 * arrives: the switch sprays it over every egress port of the entry, so one
 * copy lost on a dead or wrong port means the source link does not carry
 * this traffic (the rule `fmctl audit` applies, docs/routing.md). Copies that
 * do arrive still mark the destination links they reach. */
static bool enter(walk *w, size_t si, uint32_t port, uint32_t hops)
{
    emu_impl *e = w->e;
    uint32_t swid = e->p->switches[si].id;
    if (hops > PROBE_MAX_HOPS || ++w->steps > PROBE_MAX_STEPS) {
        drop(w, swid, port, 12002, "routing loop (egress packet route error)");
        return false;
    }
    if (e->st.f.sw_health[si] != OFM_DEV_OK) {
        drop(w, swid, port, 0, "switch not operational");
        return false;
    }
    if (hops > w->max_hops)
        w->max_hops = hops;
    ofm_portset egress = emu_route_get(e, si, port, w->dst_gi);
    if (ofm_portset_empty(egress)) {
        drop(w, swid, port, 11004, "ingress invalid ACL");
        return false;
    }
    bool all = true;
    for (uint32_t out = 0; out < e->p->switches[si].nports; out++) {
        if (!ofm_portset_has(egress, out))
            continue;
        if (e->st.f.port_state[si][out] != OFM_LINK_ACTIVE) {
            drop(w, swid, out, 15002, "egress port link not active");
            all = false;
            continue;
        }
        int a = e->port_access[si][out], t = e->port_trunk[si][out];
        if (a >= 0) {
            if (e->p->access[a].gpu == w->dst) {
                w->dst_links_hit |= 1ull << e->p->access[a].gpu_link;
            } else {
                drop(w, swid, out, 12002, "egress to the wrong GPU");
                all = false;
            }
        } else if (t >= 0) {
            const ofm_trunk_link *tl = &e->p->trunks[t];
            bool a_end = tl->sw_a == swid && tl->port_a == out;
            int osi = emu_sw_index(e->p, a_end ? tl->sw_b : tl->sw_a);
            if (!enter(w, (size_t)osi, a_end ? tl->port_b : tl->port_a, hops + 1))
                all = false;
        } else {
            drop(w, swid, out, 15002, "egress port not connected");
            all = false;
        }
    }
    return all;
}

/* One walk inside a transaction the caller holds; records the drop events
 * unless quiet and says whether it did. */
static int probe_locked(ofm_hal *h, uint32_t src, uint32_t dst, bool quiet,
                        ofm_emu_probe_result *out, bool *logged)
{
    memset(out, 0, sizeof *out);
    emu_impl *e = emu_of(h);
    int sgi = emu_gpu_index(e->p, src), dgi = emu_gpu_index(e->p, dst);
    if (sgi < 0 || dgi < 0 || src == dst)
        return emu_fail(h, OFM_HAL_EINVAL, src == dst ? "source and destination are the same GPU"
                                                      : "no GPU %u in %s", sgi < 0 ? src : dst, e->p->name);
    walk w = {.e = e, .dst_gi = (size_t)dgi, .dst = dst};
    if (e->st.f.gpu_health[dgi] != OFM_DEV_OK)
        drop(&w, 0, 0, 0, "destination GPU not on the bus");
    for (size_t k = 0; k < e->ngpu_access[sgi] && e->st.f.gpu_health[sgi] == OFM_DEV_OK; k++) {
        const ofm_access_link *a = &e->p->access[e->gpu_access[sgi][k]];
        int si = e->access_sw[e->gpu_access[sgi][k]];
        if (e->st.f.port_state[si][a->sw_port] != OFM_LINK_ACTIVE)
            continue; /* the GPU does not send over a dead link */
        if (enter(&w, (size_t)si, a->sw_port, 1))
            out->links++;
    }
    /* NVLink bridges: traffic goes straight to the peer, no table involved */
    for (size_t i = 0; i < e->p->nbridges && e->st.f.gpu_health[sgi] == OFM_DEV_OK &&
                       e->st.f.gpu_health[dgi] == OFM_DEV_OK;
         i++) {
        const ofm_bridge_link *b = &e->p->bridges[i];
        if (b->gpu_a == src && b->gpu_b == dst) {
            out->links++;
            w.dst_links_hit |= 1ull << b->link_b;
        } else if (b->gpu_b == src && b->gpu_a == dst) {
            out->links++;
            w.dst_links_hit |= 1ull << b->link_a;
        }
    }
    for (uint32_t l = 0; l < 64; l++)
        out->dst_links += (uint32_t)(w.dst_links_hit >> l & 1);
    out->arrives = out->links > 0;
    out->max_hops = w.max_hops;
    out->bandwidth_mbps = (uint64_t)out->links * e->p->gpus[sgi].line_rate_mbps;
    out->dropped = w.dropped;
    out->drop_sw = w.drop_sw;
    out->drop_port = w.drop_port;
    out->drop_sxid = w.drop_sxid;
    snprintf(out->drop_reason, sizeof out->drop_reason, "%s", w.reason);
    if (!out->arrives && !w.dropped) {
        out->dropped = true;
        snprintf(out->drop_reason, sizeof out->drop_reason, "source GPU has no active NVLink");
    }
    int dsi = w.drop_sxid ? emu_sw_index(e->p, w.drop_sw) : -1;
    if (dsi >= 0 && emu_switch_has_telemetry(e->p, (size_t)dsi)) {
        /* no SXids here: the drop is a port error in the switch's telemetry */
        out->drop_counted = true;
        out->drop_fatal = w.drop_sxid == 12002;
        out->drop_sxid = 0;
        if (w.drop_sxid == 11004) /* the ACL wording is the SXid's */
            snprintf(out->drop_reason, sizeof out->drop_reason, "no valid route at the ingress port");
    }
    if (!quiet && w.dropped && w.drop_sxid) {
        char d[96];
        snprintf(d, sizeof d, "%s", w.drop_sxid == 11004 ? "ingress invalid ACL" : w.reason);
        if (out->drop_counted) {
            int trc = emu_telemetry_count(h, (size_t)dsi, w.drop_port, out->drop_fatal, 1);
            if (trc != OFM_HAL_OK)
                return trc;
            snprintf(d, sizeof d, "packet dropped: %.70s", w.drop_sxid == 11004 ? "no valid route" : w.reason);
            emu_event(h, mk(OFM_EVT_SWITCH_ERROR, 1, out->drop_fatal, w.drop_sw, w.drop_port, 0, d));
        } else {
            emu_event(h, mk(OFM_EVT_SXID, w.drop_sxid, w.drop_sxid == 12002, w.drop_sw,
                            w.drop_port, 0, d));
        }
        if (!out->arrives)
            emu_event(h, mk(OFM_EVT_XID, 45, false, 0, 0, src, "Ch 00000010, preemptive cleanup"));
        *logged = true;
    }
    return OFM_HAL_OK;
}

int ofm_emu_probe(ofm_hal *h, uint32_t src, uint32_t dst, bool quiet, ofm_emu_probe_result *out)
{
    memset(out, 0, sizeof *out);
    int rc = emu_begin(h, !quiet);
    if (rc)
        return rc;
    bool logged = false;
    rc = probe_locked(h, src, dst, quiet, out, &logged);
    if (rc == OFM_HAL_OK && logged)
        rc = emu_commit(h);
    emu_end(h);
    return rc;
}

int ofm_emu_probe_all(ofm_hal *h, bool quiet, ofm_emu_probe_result *out)
{
    int rc = emu_begin(h, !quiet);
    if (rc)
        return rc;
    const ofm_platform *p = emu_of(h)->p;
    bool logged = false;
    for (size_t i = 0; i < p->ngpus && rc == OFM_HAL_OK; i++)
        for (size_t j = 0; j < p->ngpus && rc == OFM_HAL_OK; j++) {
            ofm_emu_probe_result *r = &out[i * p->ngpus + j];
            if (i == j)
                memset(r, 0, sizeof *r);
            else
                rc = probe_locked(h, p->gpus[i].phys_id, p->gpus[j].phys_id, quiet, r, &logged);
        }
    if (rc == OFM_HAL_OK && logged)
        rc = emu_commit(h);
    emu_end(h);
    return rc;
}
