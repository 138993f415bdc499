/* High-availability policy at initialisation (FM §9, §13.8).
 *
 * A pure function from (model, init-time health, failure-mode keys, fabric
 * mode) to a decision. The keys only apply to gen2 (A100/A800) systems: H100
 * ignores them (a missing switch aborts, an access-link failure leaves the GPU
 * unable to register) and gen1 (HGX-2), which the guide does not cover, gets
 * the default (mode 0) behaviour. Mode 1 disables a switch together with its
 * peer across the trunk; when failures hit more than one switch pair it falls
 * back to mode 0. vGPU mode does not support TRUNK/NVSWITCH mode 1.
 * A rack-scale domain (GB200 NVL72) runs degraded rather than aborting
 * (decide_rack; docs/nvl72.md). */
#include "fabric/fabric.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void note(ofm_policy_decision *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(ofm_policy_decision *d, const char *fmt, ...)
{
    size_t len = strlen(d->reason);
    if (len + 3 >= sizeof d->reason)
        return;
    if (len) {
        d->reason[len++] = ';';
        d->reason[len++] = ' ';
        d->reason[len] = '\0';
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->reason + len, sizeof d->reason - len, fmt, ap);
    va_end(ap);
}

static void abort_with(ofm_policy_decision *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void abort_with(ofm_policy_decision *d, const char *fmt, ...)
{
    if (d->abort)
        return;  /* the first cause is the one to fix first */
    d->abort = true;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->reason, sizeof d->reason, fmt, ap);
    va_end(ap);
}

static bool is_hopper(const ofm_platform *p)
{
    return p->ali || (p->nswitches > 0 && p->switches[0].gen == OFM_SWITCH_GEN3);
}

/* "switch tray 2 (NVSwitch 3, 4)" for the chips of a tray that are all down,
 * else the chip list: the operator services trays, not chips. */
static size_t tray_words(const ofm_platform *p, const bool *down, char *buf, size_t len)
{
    size_t used = 0, n = 0;
    buf[0] = '\0';
    bool said[OFM_MAX_SWITCHES] = {false};
    for (size_t t = 0; t < p->nswitch_trays && t < OFM_MAX_TRAYS; t++) {
        uint32_t ids[OFM_MAX_SWITCHES];
        size_t k = ofm_platform_tray_switches(p, p->switch_trays[t], ids, OFM_MAX_SWITCHES);
        bool all = k > 0;
        for (size_t i = 0; i < k && i < OFM_MAX_SWITCHES; i++) {
            int si = ofm_fabric_switch_index(p, ids[i]);
            all = all && si >= 0 && down[si];
        }
        if (!all)
            continue;
        int w = snprintf(buf + used, used < len ? len - used : 0, "%sswitch tray %u (NVSwitch",
                         n ? ", " : "", p->switch_trays[t]);
        used += w > 0 ? (size_t)w : 0;
        for (size_t i = 0; i < k && i < OFM_MAX_SWITCHES; i++) {
            int si = ofm_fabric_switch_index(p, ids[i]);
            said[si] = true;
            w = snprintf(buf + used, used < len ? len - used : 0, "%s %u", i ? "," : "", ids[i]);
            used += w > 0 ? (size_t)w : 0;
        }
        w = snprintf(buf + used, used < len ? len - used : 0, ")");
        used += w > 0 ? (size_t)w : 0;
        n++;
    }
    for (size_t si = 0; si < p->nswitches && si < OFM_MAX_SWITCHES; si++)
        if (down[si] && !said[si]) {
            int w = snprintf(buf + used, used < len ? len - used : 0, "%sNVSwitch %u",
                             n ? ", " : "", p->switches[si].id);
            used += w > 0 ? (size_t)w : 0;
            n++;
        }
    return n;
}

/* Rack-scale domain (GB200 NVL72): every GPU has one link to every chip, so
 * losing chips (a switch tray) costs every GPU the same share of its
 * bandwidth and nothing else: the domain runs degraded instead of aborting.
 * A GPU that lost links keeps the others. GPU failures (a compute tray) are
 * handled like everywhere: the GPUs leave routing (bare metal) and the
 * partitions that hold them (shared modes). Only a domain with no chip left
 * stays uninitialised. */
static void decide_rack(const ofm_platform *p, const ofm_fabric_health *obs, ofm_policy_decision *d)
{
    size_t nsw = p->nswitches < OFM_MAX_SWITCHES ? p->nswitches : OFM_MAX_SWITCHES, up = 0;
    bool down[OFM_MAX_SWITCHES] = {false};
    for (size_t si = 0; si < nsw; si++) {
        down[si] = !obs->switch_ok[si];
        up += !down[si];
    }
    if (!up) {
        abort_with(d, "no NVSwitch of the NVLink domain is reachable: initialisation aborts; "
                      "bring the switch trays up (they must be up before compute trays join) "
                      "and restart the fabric manager");
        return;
    }
    if (up < nsw) {
        char which[200];
        tray_words(p, down, which, sizeof which);
        d->bandwidth_reduced = true;
        note(d, "%zu of %zu NVSwitch chips unavailable (%s): every GPU keeps its links to the "
                "other %zu, NVLink bandwidth reduced to %zu/%zu",
             nsw - up, nsw, which, up, up, nsw);
    }
    size_t ngpus = p->ngpus < OFM_MAX_GPUS ? p->ngpus : OFM_MAX_GPUS;
    for (size_t gi = 0; gi < ngpus; gi++) {
        if (!obs->gpu_ok[gi])
            continue;
        uint32_t lost = 0, left = 0;
        for (size_t a = 0; a < p->naccess && a < OFM_MAX_ACCESS_LINKS; a++) {
            if (p->access[a].gpu != p->gpus[gi].phys_id)
                continue;
            int si = ofm_fabric_switch_index(p, p->access[a].sw);
            if (si < 0 || down[si])
                continue;
            if (obs->access_ok[a])
                left++;
            else
                lost++;
        }
        if (!left) {
            d->effective.gpu_ok[gi] = false;
            d->drop_gpu_partitions[gi] = true;
            note(d, "GPU %u has no usable NVLink: removed from the NVLink domain",
                 p->gpus[gi].phys_id);
        } else if (lost) {
            d->bandwidth_reduced = true;
            note(d, "GPU %u: %u failed NVLink(s), it keeps %u", p->gpus[gi].phys_id, lost, left);
        }
    }
}

static bool is_gen1(const ofm_platform *p)
{
    return p->nswitches > 0 && p->switches[0].gen == OFM_SWITCH_GEN1;
}

/* Switch index of the peer, or -1. */
static int peer_index(const ofm_platform *p, int si)
{
    int64_t peer = ofm_fabric_peer_switch(p, p->switches[si].id);
    return peer < 0 ? -1 : ofm_fabric_switch_index(p, (uint32_t)peer);
}

static void decide_hopper(const ofm_platform *p, const ofm_fabric_health *obs, ofm_fabric_mode mode,
                          ofm_policy_decision *d)
{
    for (size_t si = 0; si < p->nswitches && si < OFM_MAX_SWITCHES; si++)
        if (!obs->switch_ok[si])
            abort_with(d,
                       "NVSwitch %u is missing or failed: every NVSwitch of an %s baseboard must "
                       "be reachable, so initialisation aborts and the system stays "
                       "uninitialised; %s, reset or power-cycle the system (FM §13.8)",
                       p->switches[si].id,
                       p->switches[si].gen >= OFM_SWITCH_GEN4 ? "HGX B200-class" : "HGX H100-class",
                       p->switches[si].gen >= OFM_SWITCH_GEN4
                           ? "check the switch's link to the NVLink subnet manager (NIC bridge)"
                           : "check the switch (lspci)");
    if (d->abort)
        return;
    for (size_t a = 0; a < p->naccess && a < OFM_MAX_ACCESS_LINKS; a++) {
        int gi = ofm_fabric_gpu_index(p, p->access[a].gpu);
        if (obs->access_ok[a] || gi < 0 || !obs->gpu_ok[gi])
            continue;
        if (mode == OFM_FABRIC_MODE_BARE_METAL) {
            /* The GPU cannot complete fabric registration: it loses peer
             * access but stays usable for non-peer work (FM §2.2). */
            if (!d->gpu_register_fail[gi])
                note(d, "GPU %u has a failed access link (switch %u port %u): it cannot register "
                        "with the fabric and loses NVLink peer access",
                     p->access[a].gpu, p->access[a].sw, p->access[a].sw_port);
            d->gpu_register_fail[gi] = true;
        }
        /* Shared/vGPU on H100: partitions stay; the guest sees fewer links. */
    }
}

void ofm_policy_decide(const ofm_platform *p, const ofm_fabric_health *observed,
                       const ofm_failure_modes *modes, ofm_fabric_mode mode,
                       ofm_policy_decision *d)
{
    memset(d, 0, sizeof *d);
    d->effective = *observed;
    bool shared = mode != OFM_FABRIC_MODE_BARE_METAL;
    size_t ngpus = p->ngpus < OFM_MAX_GPUS ? p->ngpus : OFM_MAX_GPUS;
    size_t nsw = p->nswitches < OFM_MAX_SWITCHES ? p->nswitches : OFM_MAX_SWITCHES;

    /* GPU failures (FM §9.5): bare metal routes around them; shared modes
     * drop the partitions that contain them. */
    for (size_t gi = 0; gi < ngpus; gi++)
        if (!observed->gpu_ok[gi])
            d->drop_gpu_partitions[gi] = true;

    if (ofm_platform_is_rack(p)) {
        decide_rack(p, observed, d);
    } else if (is_hopper(p)) {
        decide_hopper(p, observed, mode, d);
    } else {
        int am = modes ? modes->access_link : 0;
        int tm = modes ? modes->trunk_link : 0;
        int sm = modes ? modes->nvswitch : 0;
        if (is_gen1(p) && (am || tm || sm)) {
            note(d, "failure-mode keys apply to HGX A100 only; default behaviour used on %s", p->name);
            am = tm = sm = 0;
        }
        if (mode == OFM_FABRIC_MODE_VGPU && (tm || sm)) {
            note(d, "vGPU mode does not support TRUNK_LINK_FAILURE_MODE=1 or "
                    "NVSWITCH_FAILURE_MODE=1; mode 0 behaviour used");
            tm = sm = 0;
        }

        /* Failures grouped by the switch they hit. */
        bool sw_failed[OFM_MAX_SWITCHES] = {0};
        bool sw_trunk_fail[OFM_MAX_SWITCHES] = {0};
        uint32_t gpu_fail_switches[OFM_MAX_GPUS] = {0}; /* distinct switches with failed links */
        int gpu_fail_sw[OFM_MAX_GPUS];
        for (size_t gi = 0; gi < ngpus; gi++)
            gpu_fail_sw[gi] = -1;
        for (size_t si = 0; si < nsw; si++)
            sw_failed[si] = !observed->switch_ok[si];
        for (size_t t = 0; t < p->ntrunks && t < OFM_MAX_TRUNK_LINKS; t++) {
            int sa = ofm_fabric_switch_index(p, p->trunks[t].sw_a);
            int sb = ofm_fabric_switch_index(p, p->trunks[t].sw_b);
            if (observed->trunk_ok[t] || sa < 0 || sb < 0 || sw_failed[sa] || sw_failed[sb])
                continue;
            sw_trunk_fail[sa] = true;
        }
        for (size_t a = 0; a < p->naccess && a < OFM_MAX_ACCESS_LINKS; a++) {
            int gi = ofm_fabric_gpu_index(p, p->access[a].gpu);
            int si = ofm_fabric_switch_index(p, p->access[a].sw);
            if (observed->access_ok[a] || gi < 0 || si < 0 || !observed->gpu_ok[gi] || sw_failed[si])
                continue;
            if (observed->gpu_links_off[gi])
                continue; /* not a failure: no failure mode applies to it */
            if (gpu_fail_sw[gi] != si) {
                gpu_fail_switches[gi]++;
                gpu_fail_sw[gi] = si;
            }
        }

        /* Switch pairs mode 1 would disable; more than one -> mode 0. */
        bool pair[OFM_MAX_SWITCHES] = {0};
        size_t npairs = 0;
#define ADD_PAIR(si)                                                    \
    do {                                                                \
        int pi_ = peer_index(p, (si));                                  \
        int key_ = pi_ >= 0 && pi_ < (si) ? pi_ : (si);                 \
        if (!pair[key_]) {                                              \
            pair[key_] = true;                                          \
            npairs++;                                                   \
        }                                                               \
    } while (0)
        for (size_t si = 0; si < nsw; si++) {
            if (sm == 1 && sw_failed[si])
                ADD_PAIR((int)si);
            if (tm == 1 && sw_trunk_fail[si])
                ADD_PAIR((int)si);
        }
        if (am == 1)
            for (size_t gi = 0; gi < ngpus; gi++)
                if (gpu_fail_switches[gi] == 1)
                    ADD_PAIR(gpu_fail_sw[gi]);
#undef ADD_PAIR
        if (npairs > 1) {
            if (am == 1 || tm == 1 || sm == 1)
                note(d, "failures affect %zu NVSwitch pairs; failure mode 1 falls back to mode 0", npairs);
            am = tm = sm = 0;
        }

        /* Mode 1: disable the switch and its peer. */
        for (size_t si = 0; si < nsw; si++) {
            if (!pair[si] || npairs != 1)
                continue;
            int pi = peer_index(p, (int)si);
            d->switch_disabled[si] = true;
            d->effective.switch_ok[si] = false;
            if (pi >= 0) {
                d->switch_disabled[pi] = true;
                d->effective.switch_ok[pi] = false;
            }
            d->bandwidth_reduced = true;
            if (pi >= 0)
                note(d, "NVSwitch %u and its peer NVSwitch %u disabled by failure mode 1: NVLink "
                        "bandwidth reduced to 5/6",
                     p->switches[si].id, p->switches[pi].id);
            else
                note(d, "NVSwitch %u disabled by failure mode 1: NVLink bandwidth reduced to 5/6",
                     p->switches[si].id);
        }

        /* Mode 0 behaviours. */
        for (size_t si = 0; si < nsw; si++) {
            if (sw_failed[si] && sm == 0) {
                if (!shared)
                    abort_with(d,
                               "NVSwitch %u is missing or failed and NVSWITCH_FAILURE_MODE=0: "
                               "initialisation aborts and the system stays uninitialised; replace "
                               "or exclude the switch (NvSwitchExcludelist), or set "
                               "NVSWITCH_FAILURE_MODE=1 (FM §9.4)",
                               p->switches[si].id);
                d->drop_multi_on_board[p->switches[si].baseboard <= OFM_MAX_GPUS
                                           ? p->switches[si].baseboard
                                           : 0] = true;
                d->drop_trunk_partitions = true;
            }
            if (sw_trunk_fail[si] && tm == 0) {
                if (!shared)
                    abort_with(d,
                               "trunk NVLink failure on NVSwitch %u and TRUNK_LINK_FAILURE_MODE=0: "
                               "initialisation aborts and the system stays uninitialised; check "
                               "and reseat the NVLink trunk backplane connectors, or set "
                               "TRUNK_LINK_FAILURE_MODE=1 (FM §9.3)",
                               p->switches[si].id);
                d->drop_trunk_partitions = true;
            }
        }
        for (size_t gi = 0; gi < ngpus; gi++) {
            if (observed->gpu_links_off[gi] && observed->gpu_ok[gi]) {
                /* MIG mode keeps its links untrained: no peer access, and in
                 * the partition modes its partitions are unavailable, until
                 * MIG mode is disabled (FM §8.9) */
                d->effective.gpu_ok[gi] = false;
                d->drop_gpu_partitions[gi] = true;
                note(d, "GPU %u is in MIG mode, which keeps its NVLinks untrained (FM §8.9): "
                        "removed from NVLink %s until MIG mode is disabled",
                     p->gpus[gi].phys_id, shared ? "partitions" : "peer-to-peer routing");
                continue;
            }
            if (gpu_fail_switches[gi] == 0)
                continue;
            bool covered = gpu_fail_switches[gi] == 1 && d->switch_disabled[gpu_fail_sw[gi]];
            if (covered)
                continue;
            /* Mode 0, or mode 1 with failures on several switches: remove
             * the GPU from routing (bare metal) or its partitions. */
            d->effective.gpu_ok[gi] = false;
            d->drop_gpu_partitions[gi] = true;
            note(d, "GPU %u has failed access links: removed from NVLink %s", p->gpus[gi].phys_id,
                 shared ? "partitions" : "peer-to-peer routing");
        }
    }

    for (size_t gi = 0; gi < ngpus; gi++) {
        if (d->gpu_register_fail[gi])
            d->effective.gpu_ok[gi] = false;
        d->gpu_p2p[gi] = d->effective.gpu_ok[gi] && !d->abort;
    }
    /* Trunks of disabled switches are unusable; access links too. */
    for (size_t t = 0; t < p->ntrunks && t < OFM_MAX_TRUNK_LINKS; t++) {
        int sa = ofm_fabric_switch_index(p, p->trunks[t].sw_a);
        int sb = ofm_fabric_switch_index(p, p->trunks[t].sw_b);
        if (sa < 0 || sb < 0 || !d->effective.switch_ok[sa] || !d->effective.switch_ok[sb])
            d->effective.trunk_ok[t] = false;
    }
    for (size_t a = 0; a < p->naccess && a < OFM_MAX_ACCESS_LINKS; a++) {
        int si = ofm_fabric_switch_index(p, p->access[a].sw);
        if (si < 0 || !d->effective.switch_ok[si])
            d->effective.access_ok[a] = false;
    }
}

bool ofm_policy_partition_ok(const ofm_platform *p, const ofm_policy_decision *d,
                             const ofm_partition_desc *part)
{
    if (d->abort || part->ngpus == 0 || part->ngpus > OFM_MAX_GPUS)
        return false;
    uint32_t first_board = 0;
    bool spans = false;
    for (uint32_t i = 0; i < part->ngpus; i++) {
        int gi = ofm_fabric_gpu_index(p, part->gpus[i]);
        if (gi < 0 || d->drop_gpu_partitions[gi] || !d->effective.gpu_ok[gi])
            return false;
        uint32_t b = p->gpus[gi].baseboard;
        if (i == 0)
            first_board = b;
        else if (b != first_board)
            spans = true;
        if (part->ngpus > 1 && b <= OFM_MAX_GPUS && d->drop_multi_on_board[b])
            return false;
    }
    return !(spans && d->drop_trunk_partitions);
}
