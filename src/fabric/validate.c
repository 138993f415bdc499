/* Discovered devices and links vs the topology model. Every deviation becomes
 * a finding naming the device and port and what the operator should do. */
#include "fabric/fabric.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void add(ofm_validation_report *rep, ofm_finding_kind kind, ofm_finding_severity sev,
                uint32_t sw, uint32_t port, uint32_t gpu, uint32_t gpu_link, const char *action,
                const char *fmt, ...) __attribute__((format(printf, 9, 10)));

static void add(ofm_validation_report *rep, ofm_finding_kind kind, ofm_finding_severity sev,
                uint32_t sw, uint32_t port, uint32_t gpu, uint32_t gpu_link, const char *action,
                const char *fmt, ...)
{
    if (rep->n >= OFM_MAX_FINDINGS) {
        rep->dropped++;
        return;
    }
    ofm_finding *f = &rep->items[rep->n++];
    f->kind = kind;
    f->severity = sev;
    f->sw = sw;
    f->port = port;
    f->gpu = gpu;
    f->gpu_link = gpu_link;
    snprintf(f->action, sizeof f->action, "%s", action);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->msg, sizeof f->msg, fmt, ap);
    va_end(ap);
}

static int find_obs_switch(const ofm_fabric_observed *o, uint32_t id)
{
    for (size_t i = 0; i < o->nswitches && i < OFM_MAX_SWITCHES; i++)
        if (o->switches[i].phys_id == id)
            return (int)i;
    return -1;
}

static int find_obs_gpu(const ofm_fabric_observed *o, uint32_t id)
{
    for (size_t i = 0; i < o->ngpus && i < OFM_MAX_GPUS; i++)
        if (o->gpus[i].phys_id == id)
            return (int)i;
    return -1;
}

/* "nothing", "GPU 3 link 4", "switch 2 port 7", with the link state when it
 * is not active. */
static const char *state_name(ofm_link_state s)
{
    switch (s) {
    case OFM_LINK_OFF: return "off";
    case OFM_LINK_TRAINING: return "training";
    case OFM_LINK_ACTIVE: return "active";
    case OFM_LINK_FAILED: return "failed";
    }
    return "unknown";
}

static void describe(const ofm_hal_link *l, char *buf, size_t len)
{
    const char *state = state_name(l->state);
    switch (l->remote_type) {
    case OFM_REMOTE_GPU:
        snprintf(buf, len, "GPU %u link %u (%s)", l->remote_id, l->remote_link, state);
        break;
    case OFM_REMOTE_SWITCH:
        snprintf(buf, len, "switch %u port %u (%s)", l->remote_id, l->remote_link, state);
        break;
    default:
        if (l->state == OFM_LINK_OFF)
            snprintf(buf, len, "nothing");
        else
            snprintf(buf, len, "no remote end (link %s)", state);
        break;
    }
}

static const char *ACT_ACCESS =
    "reseat or RMA the GPU if the link stays down after restarting the fabric manager (FM §13.1)";
static const char *ACT_TRUNK =
    "check and reseat the NVLink trunk backplane connectors, then restart the fabric manager (FM §13.1)";
static const char *ACT_WIRING = "check that TOPOLOGY_FILE_PATH holds the topology of this system";

size_t ofm_fabric_validate(const ofm_platform *p, const ofm_fabric_observed *obs,
                           ofm_fabric_health *health, ofm_validation_report *rep)
{
    memset(rep, 0, sizeof *rep);
    ofm_fabric_health_all_ok(p, health);
    int obs_sw[OFM_MAX_SWITCHES];
    int obs_gpu[OFM_MAX_GPUS];
    char found[96];

    for (size_t i = 0; i < p->nswitches && i < OFM_MAX_SWITCHES; i++) {
        uint32_t id = p->switches[i].id;
        int k = obs_sw[i] = find_obs_switch(obs, id);
        /* fourth-generation chips hang off the NVLink subnet manager, not the
         * PCIe bus, and no kernel module parameter excludes them */
        bool sm = p->switches[i].gen >= OFM_SWITCH_GEN4;
        char tray[32] = "";
        if (p->switches[i].tray)
            snprintf(tray, sizeof tray, ", switch tray %u", p->switches[i].tray);
        if (k < 0 || obs->switches[k].health == OFM_DEV_MISSING) {
            health->switch_ok[i] = false;
            obs_sw[i] = -1;
            add(rep, OFM_FIND_SWITCH_MISSING, OFM_SEV_ERROR, id, 0, 0, 0,
                sm ? "check the switch's power and its link to the NVLink subnet manager (the NIC "
                     "bridge); NvSwitchExcludelist does not apply to fourth-generation NVSwitches"
                   : "check the switch on the PCIe bus (lspci) and whether it is excluded "
                     "(NvSwitchExcludelist)",
                "switch %u%s%s%s: expected by the topology, not found", id, tray[0] ? " (" : "",
                tray[0] ? tray + 2 : "", tray[0] ? ")" : "");
        } else if (obs->switches[k].health != OFM_DEV_OK) {
            health->switch_ok[i] = false;
            add(rep, OFM_FIND_SWITCH_FAILED, OFM_SEV_ERROR, id, 0, 0, 0,
                sm ? "power-cycle the switch (its tray) or reboot; if it keeps failing, RMA it "
                     "(fourth-generation NVSwitches cannot be excluded by a kernel module parameter)"
                   : "reset the switch or reboot; if it keeps failing, exclude it "
                     "(NvSwitchExcludelist) and RMA the board",
                "switch %u (%s%s): enumerated but failed", id, obs->switches[k].pci_bdf, tray);
        } else if (obs->switches[k].gen != p->switches[i].gen) {
            add(rep, OFM_FIND_SWITCH_FAILED, OFM_SEV_WARNING, id, 0, 0, 0, ACT_WIRING,
                "switch %u: generation %d, the topology says %d", id, (int)obs->switches[k].gen,
                (int)p->switches[i].gen);
        }
    }
    for (size_t k = 0; k < obs->nswitches && k < OFM_MAX_SWITCHES; k++)
        if (ofm_fabric_switch_index(p, obs->switches[k].phys_id) < 0)
            add(rep, OFM_FIND_SWITCH_EXTRA, OFM_SEV_WARNING, obs->switches[k].phys_id, 0, 0, 0,
                ACT_WIRING, "switch %u (%s): found, but the topology %s has no such switch",
                obs->switches[k].phys_id, obs->switches[k].pci_bdf, p->name);

    for (size_t i = 0; i < p->ngpus && i < OFM_MAX_GPUS; i++) {
        uint32_t id = p->gpus[i].phys_id;
        int k = obs_gpu[i] = find_obs_gpu(obs, id);
        if (k < 0 || obs->gpus[k].health == OFM_DEV_MISSING) {
            health->gpu_ok[i] = false;
            add(rep, OFM_FIND_GPU_MISSING, OFM_SEV_ERROR, 0, 0, id, 0,
                "check the GPU on the PCIe bus (nvidia-smi -B lists excluded GPUs); the others are configured without it",
                "GPU %u: expected by the topology, not found", id);
        } else if (obs->gpus[k].health != OFM_DEV_OK) {
            health->gpu_ok[i] = false;
            add(rep, OFM_FIND_GPU_FAILED, OFM_SEV_ERROR, 0, 0, id, 0,
                "reset the GPU (nvidia-smi -r); if it keeps failing, exclude it (NVreg_ExcludedGpus) (FM §9.6.1)",
                "GPU %u (%s): enumerated but failed", id, obs->gpus[k].pci_bdf);
        }
    }
    for (size_t k = 0; k < obs->ngpus && k < OFM_MAX_GPUS; k++)
        if (ofm_fabric_gpu_index(p, obs->gpus[k].phys_id) < 0)
            add(rep, OFM_FIND_GPU_EXTRA, OFM_SEV_WARNING, 0, 0, obs->gpus[k].phys_id, 0,
                ACT_WIRING, "GPU %u (%s): found, but the topology %s has no such GPU",
                obs->gpus[k].phys_id, obs->gpus[k].pci_bdf, p->name);

    /* Ports the model explains, per discovered switch; the rest must be idle. */
    ofm_portset explained[OFM_MAX_SWITCHES] = {{{0, 0}}}; /* ports the model accounts for */

    for (size_t a = 0; a < p->naccess && a < OFM_MAX_ACCESS_LINKS; a++) {
        const ofm_access_link *al = &p->access[a];
        int si = ofm_fabric_switch_index(p, al->sw);
        int gi = ofm_fabric_gpu_index(p, al->gpu);
        if (si < 0 || gi < 0 || al->sw_port >= OFM_MAX_SWITCH_PORTS) {
            health->access_ok[a] = false;
            continue;
        }
        if (obs_sw[si] < 0) {  /* reported with the switch */
            health->access_ok[a] = false;
            continue;
        }
        ofm_portset_add(&explained[obs_sw[si]], al->sw_port);
        if (obs_gpu[gi] >= 0 && obs->gpu_links_off[obs_gpu[gi]])
            health->gpu_links_off[gi] = true;
        if (!health->gpu_ok[gi] || !health->switch_ok[si] || health->gpu_links_off[gi]) {
            health->access_ok[a] = false;
            continue;
        }
        const ofm_hal_link *l = &obs->ports[obs_sw[si]][al->sw_port];
        bool wired = l->remote_type == OFM_REMOTE_GPU && l->remote_id == al->gpu &&
                     l->remote_link == al->gpu_link;
        if (l->state == OFM_LINK_ACTIVE && wired)
            continue;
        health->access_ok[a] = false;
        describe(l, found, sizeof found);
        if (l->state == OFM_LINK_ACTIVE)
            add(rep, OFM_FIND_ACCESS_MISWIRED, OFM_SEV_ERROR, al->sw, al->sw_port, al->gpu,
                al->gpu_link, ACT_WIRING, "switch %u port %u: expected GPU %u link %u, found %s",
                al->sw, al->sw_port, al->gpu, al->gpu_link, found);
        else
            add(rep, OFM_FIND_ACCESS_DOWN, OFM_SEV_ERROR, al->sw, al->sw_port, al->gpu,
                al->gpu_link, ACT_ACCESS, "switch %u port %u: expected GPU %u link %u, found %s",
                al->sw, al->sw_port, al->gpu, al->gpu_link, found);
    }

    for (size_t t = 0; t < p->ntrunks && t < OFM_MAX_TRUNK_LINKS; t++) {
        const ofm_trunk_link *tl = &p->trunks[t];
        int sa = ofm_fabric_switch_index(p, tl->sw_a);
        int sb = ofm_fabric_switch_index(p, tl->sw_b);
        if (sa < 0 || sb < 0 || tl->port_a >= OFM_MAX_SWITCH_PORTS ||
            tl->port_b >= OFM_MAX_SWITCH_PORTS) {
            health->trunk_ok[t] = false;
            continue;
        }
        if (obs_sw[sa] >= 0)
            ofm_portset_add(&explained[obs_sw[sa]], tl->port_a);
        if (obs_sw[sb] >= 0)
            ofm_portset_add(&explained[obs_sw[sb]], tl->port_b);
        if (obs_sw[sa] < 0 || obs_sw[sb] < 0 || !health->switch_ok[sa] || !health->switch_ok[sb]) {
            health->trunk_ok[t] = false;
            continue;
        }
        /* Check both ends: a cable can be seen from one side only. */
        for (int end = 0; end < 2; end++) {
            uint32_t sw = end ? tl->sw_b : tl->sw_a, port = end ? tl->port_b : tl->port_a;
            uint32_t rsw = end ? tl->sw_a : tl->sw_b, rport = end ? tl->port_a : tl->port_b;
            const ofm_hal_link *l = &obs->ports[obs_sw[end ? sb : sa]][port];
            bool wired = l->remote_type == OFM_REMOTE_SWITCH && l->remote_id == rsw &&
                         l->remote_link == rport;
            if (l->state == OFM_LINK_ACTIVE && wired)
                continue;
            health->trunk_ok[t] = false;
            describe(l, found, sizeof found);
            add(rep, l->state == OFM_LINK_ACTIVE ? OFM_FIND_TRUNK_MISWIRED : OFM_FIND_TRUNK_DOWN,
                OFM_SEV_ERROR, sw, port, 0, 0, l->state == OFM_LINK_ACTIVE ? ACT_WIRING : ACT_TRUNK,
                "switch %u port %u: expected trunk to switch %u port %u, found %s", sw, port, rsw,
                rport, found);
            break;
        }
    }

    for (size_t k = 0; k < obs->nswitches && k < OFM_MAX_SWITCHES; k++) {
        int si = ofm_fabric_switch_index(p, obs->switches[k].phys_id);
        if (si < 0 || !health->switch_ok[si])
            continue;
        uint32_t nports = obs->switches[k].nports < OFM_MAX_SWITCH_PORTS ? obs->switches[k].nports
                                                                         : OFM_MAX_SWITCH_PORTS;
        for (uint32_t port = 0; port < nports; port++) {
            const ofm_hal_link *l = &obs->ports[k][port];
            if (ofm_portset_has(explained[k], port) || l->state != OFM_LINK_ACTIVE)
                continue;
            describe(l, found, sizeof found);
            add(rep, OFM_FIND_LINK_EXTRA, OFM_SEV_WARNING, obs->switches[k].phys_id, port, 0, 0,
                ACT_WIRING, "switch %u port %u: the topology lists no link here, found %s",
                obs->switches[k].phys_id, port, found);
        }
    }

    size_t errors = 0;
    for (size_t i = 0; i < rep->n; i++)
        errors += rep->items[i].severity == OFM_SEV_ERROR;
    return errors + rep->dropped;
}

long ofm_fabric_match_score(const ofm_platform *p, const ofm_fabric_observed *obs)
{
    if (obs->nswitches > p->nswitches || obs->ngpus > p->ngpus)
        return -1;
    for (size_t k = 0; k < obs->nswitches && k < OFM_MAX_SWITCHES; k++) {
        int si = ofm_fabric_switch_index(p, obs->switches[k].phys_id);
        if (si < 0 || p->switches[si].gen != obs->switches[k].gen)
            return -1;
    }
    for (size_t k = 0; k < obs->ngpus && k < OFM_MAX_GPUS; k++)
        if (ofm_fabric_gpu_index(p, obs->gpus[k].phys_id) < 0)
            return -1;
    long score = 0;
    for (size_t a = 0; a < p->naccess && a < OFM_MAX_ACCESS_LINKS; a++) {
        const ofm_access_link *al = &p->access[a];
        int k = find_obs_switch(obs, al->sw);
        if (k < 0 || al->sw_port >= OFM_MAX_SWITCH_PORTS)
            continue;
        const ofm_hal_link *l = &obs->ports[k][al->sw_port];
        if (l->remote_type == OFM_REMOTE_GPU && l->remote_id == al->gpu &&
            l->remote_link == al->gpu_link)
            score++;
    }
    for (size_t t = 0; t < p->ntrunks && t < OFM_MAX_TRUNK_LINKS; t++) {
        const ofm_trunk_link *tl = &p->trunks[t];
        int k = find_obs_switch(obs, tl->sw_a);
        if (k < 0 || tl->port_a >= OFM_MAX_SWITCH_PORTS)
            continue;
        const ofm_hal_link *l = &obs->ports[k][tl->port_a];
        if (l->remote_type == OFM_REMOTE_SWITCH && l->remote_id == tl->sw_b &&
            l->remote_link == tl->port_b)
            score++;
    }
    return score;
}
