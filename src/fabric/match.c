/* Which platform model is this machine? On a real backend nothing names the
 * model: it is recognised from what discovery saw, and when no model fits,
 * the closest one is reported port by port so an operator can find the
 * miswired cable or the missing topology file. Pure: no I/O. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "fabric/fabric.h"

bool ofm_fabric_same_gpu_family(const char *a, const char *b)
{
    size_t la = strcspn(a, "-"), lb = strcspn(b, "-");
    return la == lb && strncasecmp(a, b, la) == 0;
}

/* What the model says is at one switch port. */
static void expected_at(const ofm_platform *p, uint32_t sw, uint32_t port, ofm_remote_type *t,
                        uint32_t *id, uint32_t *link)
{
    int a = ofm_fabric_access_at(p, sw, port);
    int k = a < 0 ? ofm_fabric_trunk_at(p, sw, port) : -1;
    *t = OFM_REMOTE_NONE;
    if (a >= 0) {
        *t = OFM_REMOTE_GPU;
        *id = p->access[a].gpu;
        *link = p->access[a].gpu_link;
    } else if (k >= 0) {
        const ofm_trunk_link *tl = &p->trunks[k];
        bool a_end = tl->sw_a == sw && tl->port_a == port;
        *t = OFM_REMOTE_SWITCH;
        *id = a_end ? tl->sw_b : tl->sw_a;
        *link = a_end ? tl->port_b : tl->port_a;
    }
}

static void describe(ofm_remote_type t, uint32_t id, uint32_t link, char *out, size_t len)
{
    if (t == OFM_REMOTE_GPU)
        snprintf(out, len, "GPU %u link %u", id, link);
    else if (t == OFM_REMOTE_SWITCH)
        snprintf(out, len, "NVSwitch %u port %u", id, link);
    else
        snprintf(out, len, "nothing");
}

/* The first reason the model is ruled out by what was enumerated. */
#define STRUCTURAL(...)                                                                           \
    do {                                                                                          \
        if (!r->structural[0])                                                                    \
            snprintf(r->structural, sizeof r->structural, __VA_ARGS__);                           \
        r->fits = false;                                                                          \
    } while (0)

void ofm_fabric_match(const ofm_platform *p, const ofm_fabric_observed *obs, ofm_match_result *r)
{
    memset(r, 0, sizeof *r);
    r->fits = true;
    r->links_modelled = (long)(p->naccess + p->ntrunks);
    size_t nsw = obs->nswitches < OFM_MAX_SWITCHES ? obs->nswitches : OFM_MAX_SWITCHES;
    size_t ngpu = obs->ngpus < OFM_MAX_GPUS ? obs->ngpus : OFM_MAX_GPUS;
    if (nsw > p->nswitches)
        STRUCTURAL("%u NVSwitch(es) found, the model has %u", (uint32_t)nsw,
                   (uint32_t)p->nswitches);
    if (ngpu > p->ngpus)
        STRUCTURAL("%u GPU(s) found, the model has %u", (uint32_t)ngpu, (uint32_t)p->ngpus);
    for (size_t k = 0; k < nsw; k++) {
        int si = ofm_fabric_switch_index(p, obs->switches[k].phys_id);
        if (si < 0)
            STRUCTURAL("NVSwitch %u found, the model has none with that ID",
                       obs->switches[k].phys_id);
        else if (p->switches[si].gen != obs->switches[k].gen)
            STRUCTURAL("NVSwitch generation %u found, the model's is %u",
                       (uint32_t)obs->switches[k].gen, (uint32_t)p->switches[si].gen);
    }
    for (size_t k = 0; k < ngpu; k++) {
        int gi = ofm_fabric_gpu_index(p, obs->gpus[k].phys_id);
        if (gi < 0)
            STRUCTURAL("GPU %u found, the model has none with that ID",
                       obs->gpus[k].phys_id);
        else if (obs->gpus[k].model[0] &&
                 !ofm_fabric_same_gpu_family(obs->gpus[k].model, p->gpus[gi].model))
            STRUCTURAL("GPU %u is a %.40s, the model has a %.40s", obs->gpus[k].phys_id,
                       obs->gpus[k].model, p->gpus[gi].model);
    }
    /* wiring: every active port against the model */
    for (size_t k = 0; k < nsw; k++) {
        const ofm_hal_switch *sw = &obs->switches[k];
        uint32_t nports = sw->nports < OFM_MAX_SWITCH_PORTS ? sw->nports : OFM_MAX_SWITCH_PORTS;
        for (uint32_t port = 0; port < nports; port++) {
            const ofm_hal_link *l = &obs->ports[k][port];
            ofm_remote_type et;
            uint32_t eid = 0, elink = 0;
            expected_at(p, sw->phys_id, port, &et, &eid, &elink);
            bool up = l->state == OFM_LINK_ACTIVE && l->remote_type != OFM_REMOTE_NONE;
            if (!up)
                continue;
            if (l->remote_type == et && l->remote_id == eid && l->remote_link == elink) {
                r->links_as_modelled++;
                continue;
            }
            r->fits = false;
            if (r->ndiffs == OFM_MATCH_MAX_DIFFS) {
                r->more_diffs++;
                continue;
            }
            ofm_match_diff *d = &r->diffs[r->ndiffs++];
            d->sw = sw->phys_id;
            d->port = port;
            describe(et, eid, elink, d->expected, sizeof d->expected);
            describe(l->remote_type, l->remote_id, l->remote_link, d->found, sizeof d->found);
        }
    }
    /* a trunk is seen from both ends: count it once */
    for (size_t t = 0; t < p->ntrunks; t++) {
        for (size_t k = 0; k < nsw; k++)
            if (obs->switches[k].phys_id == p->trunks[t].sw_b && p->trunks[t].port_b < OFM_MAX_SWITCH_PORTS) {
                const ofm_hal_link *l = &obs->ports[k][p->trunks[t].port_b];
                if (l->state == OFM_LINK_ACTIVE && l->remote_type == OFM_REMOTE_SWITCH &&
                    l->remote_id == p->trunks[t].sw_a && l->remote_link == p->trunks[t].port_a)
                    r->links_as_modelled--;
            }
    }
    r->exact = r->fits && nsw == p->nswitches && ngpu == p->ngpus;
}
