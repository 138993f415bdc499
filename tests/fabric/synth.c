#include "synth.h"

#include <stdio.h>
#include <string.h>

const synth_cfg SYNTH_H100 = {"synth-h100", OFM_SWITCH_GEN3, 1, 8, 4, 4, 0, 64};
const synth_cfg SYNTH_A100 = {"synth-a100", OFM_SWITCH_GEN2, 1, 8, 6, 2, 0, 36};
const synth_cfg SYNTH_A100_2B = {"synth-a100-2b", OFM_SWITCH_GEN2, 2, 8, 6, 2, 16, 36};
const synth_cfg SYNTH_HGX2 = {"synth-hgx2", OFM_SWITCH_GEN1, 2, 8, 6, 1, 8, 18};

void synth_build(const synth_cfg *c, ofm_platform *p)
{
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", c->name);
    p->ali = c->gen == OFM_SWITCH_GEN3;
    for (uint32_t b = 1; b <= c->boards; b++) {
        for (uint32_t g = 0; g < c->gpus_per_board; g++) {
            ofm_gpu_desc *d = &p->gpus[p->ngpus++];
            d->phys_id = (b - 1) * c->gpus_per_board + g + 1;
            d->nvlinks = c->links_per_gpu_sw * c->sw_per_board;
            d->baseboard = b;
            snprintf(d->model, sizeof d->model, "synthetic");
        }
        for (uint32_t s = 0; s < c->sw_per_board; s++) {
            ofm_switch_desc *d = &p->switches[p->nswitches++];
            d->id = (b - 1) * c->sw_per_board + s + 1;
            d->gen = c->gen;
            d->nports = c->nports;
            d->baseboard = b;
            for (uint32_t g = 0; g < c->gpus_per_board; g++)
                for (uint32_t l = 0; l < c->links_per_gpu_sw; l++) {
                    ofm_access_link *a = &p->access[p->naccess++];
                    a->gpu = (b - 1) * c->gpus_per_board + g + 1;
                    a->gpu_link = s * c->links_per_gpu_sw + l;
                    a->sw = d->id;
                    a->sw_port = g * c->links_per_gpu_sw + l;
                }
        }
    }
    if (c->boards == 2)
        for (uint32_t s = 0; s < c->sw_per_board; s++)
            for (uint32_t t = 0; t < c->trunks_per_pair; t++) {
                ofm_trunk_link *tl = &p->trunks[p->ntrunks++];
                uint32_t port = c->gpus_per_board * c->links_per_gpu_sw + t;
                tl->sw_a = s + 1;
                tl->port_a = port;
                tl->sw_b = c->sw_per_board + s + 1;
                tl->port_b = port;
            }
}

void synth_observe(const ofm_platform *p, ofm_fabric_observed *o)
{
    memset(o, 0, sizeof *o);
    for (size_t i = 0; i < p->nswitches; i++) {
        ofm_hal_switch *s = &o->switches[o->nswitches++];
        s->prov = OFM_PROV_EMULATED;
        s->phys_id = p->switches[i].id;
        s->gen = p->switches[i].gen;
        s->nports = p->switches[i].nports;
        s->baseboard = p->switches[i].baseboard;
        s->health = OFM_DEV_OK;
        snprintf(s->pci_bdf, sizeof s->pci_bdf, "0000:%02zx:00.0", i + 0x10);
    }
    for (size_t i = 0; i < p->ngpus; i++) {
        ofm_hal_gpu *g = &o->gpus[o->ngpus++];
        g->prov = OFM_PROV_EMULATED;
        g->phys_id = p->gpus[i].phys_id;
        g->nvlinks = p->gpus[i].nvlinks;
        g->baseboard = p->gpus[i].baseboard;
        g->health = OFM_DEV_OK;
        snprintf(g->pci_bdf, sizeof g->pci_bdf, "0000:%02zx:00.0", i + 0x80);
    }
    for (size_t i = 0; i < p->naccess; i++) {
        const ofm_access_link *a = &p->access[i];
        int k = ofm_fabric_switch_index(p, a->sw);
        o->ports[k][a->sw_port] = (ofm_hal_link){OFM_PROV_EMULATED, OFM_LINK_ACTIVE, OFM_REMOTE_GPU,
                                                 a->gpu, a->gpu_link};
    }
    for (size_t i = 0; i < p->ntrunks; i++) {
        const ofm_trunk_link *t = &p->trunks[i];
        int ka = ofm_fabric_switch_index(p, t->sw_a), kb = ofm_fabric_switch_index(p, t->sw_b);
        o->ports[ka][t->port_a] = (ofm_hal_link){OFM_PROV_EMULATED, OFM_LINK_ACTIVE,
                                                 OFM_REMOTE_SWITCH, t->sw_b, t->port_b};
        o->ports[kb][t->port_b] = (ofm_hal_link){OFM_PROV_EMULATED, OFM_LINK_ACTIVE,
                                                 OFM_REMOTE_SWITCH, t->sw_a, t->port_a};
    }
}
