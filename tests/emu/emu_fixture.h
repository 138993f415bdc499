/* Shared helpers for emulator tests: a fresh system in a temp dir. */
#ifndef OFM_TEST_EMU_FIXTURE_H
#define OFM_TEST_EMU_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openfm/emu.h"

static inline ofm_hal *fixture_open(const char *platform, char *dir, size_t len)
{
    snprintf(dir, len, "/tmp/ofm-emu-test-XXXXXX");
    if (!mkdtemp(dir))
        return NULL;
    char err[512];
    if (ofm_emu_create(dir, platform, true, err, sizeof err) != OFM_HAL_OK) {
        fprintf(stderr, "create: %s\n", err);
        return NULL;
    }
    ofm_hal *h = NULL;
    if (ofm_emu_open(dir, &h, err, sizeof err) != OFM_HAL_OK)
        fprintf(stderr, "open: %s\n", err);
    return h;
}

static inline void fixture_close(ofm_hal *h, const char *dir)
{
    char err[512];
    ofm_hal_close(h);
    ofm_emu_destroy(dir, err, sizeof err);
}

/* Full mesh of routes computed directly from the model (no fabric code):
 * every access ingress port, every destination GPU, egress = the ports of
 * that switch that lead to the destination (or trunk ports toward it). */
static inline size_t fixture_full_mesh(const ofm_platform *p, ofm_route_entry *out)
{
    size_t n = 0;
    for (size_t s = 0; s < p->nswitches; s++) {
        uint32_t sw = p->switches[s].id;
        for (size_t d = 0; d < p->ngpus; d++) {
            uint32_t dst = p->gpus[d].phys_id;
            ofm_portset direct = ofm_portset_none(), trunk = ofm_portset_none();
            for (size_t i = 0; i < p->naccess; i++)
                if (p->access[i].sw == sw && p->access[i].gpu == dst)
                    ofm_portset_add(&direct, p->access[i].sw_port);
            if (ofm_portset_empty(direct))
                for (size_t t = 0; t < p->ntrunks; t++) {
                    const ofm_trunk_link *tl = &p->trunks[t];
                    uint32_t peer = tl->sw_a == sw ? tl->sw_b : tl->sw_b == sw ? tl->sw_a : 0;
                    uint32_t myport = tl->sw_a == sw ? tl->port_a : tl->port_b;
                    if (!peer)
                        continue;
                    for (size_t i = 0; i < p->naccess; i++)
                        if (p->access[i].sw == peer && p->access[i].gpu == dst)
                            ofm_portset_add(&trunk, myport);
                }
            ofm_portset eg = ofm_portset_empty(direct) ? trunk : direct;
            if (ofm_portset_empty(eg))
                continue;
            for (size_t i = 0; i < p->naccess; i++)
                if (p->access[i].sw == sw && p->access[i].gpu != dst)
                    out[n++] = (ofm_route_entry){sw, p->access[i].sw_port, dst, eg};
            for (size_t t = 0; t < p->ntrunks && !ofm_portset_empty(direct); t++) {
                const ofm_trunk_link *tl = &p->trunks[t];
                if (tl->sw_a == sw)
                    out[n++] = (ofm_route_entry){sw, tl->port_a, dst, direct};
                else if (tl->sw_b == sw)
                    out[n++] = (ofm_route_entry){sw, tl->port_b, dst, direct};
            }
        }
    }
    return n;
}

#endif
