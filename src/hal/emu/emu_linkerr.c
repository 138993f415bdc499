/* The emulator's NVLink error counters (CRC flit/data, replay, recovery per
 * switch port), in the counter file <dir>/nvlink_errors (emu_counters.c).
 * The two ends of a trunk share one record (stored at the lower end). */
#include <stdlib.h>
#include <string.h>

#include "hal/emu/emu_int.h"

typedef struct {
    uint64_t crc_flit, crc_data, replay, recovery;
} rec;

#define NRECS ((size_t)OFM_MAX_SWITCHES * OFM_MAX_SWITCH_PORTS)
static const emu_counter_file FILE_ = {"nvlink_errors", NRECS * sizeof(rec)};

/* The record of (sw, port): trunks use their lower (switch, port) end. */
static int slot(ofm_hal *h, uint32_t sw, uint32_t port, size_t *out)
{
    emu_impl *e = emu_of(h);
    int si = emu_sw_index(e->p, sw);
    if (si < 0)
        return emu_fail(h, OFM_HAL_EINVAL, "no switch %u in %s", sw, e->p->name);
    if (port >= e->p->switches[si].nports)
        return emu_fail(h, OFM_HAL_EINVAL, "switch %u has no port %u", sw, port);
    int t = e->port_trunk[si][port];
    if (t >= 0) {
        const ofm_trunk_link *tl = &e->p->trunks[t];
        int sa = emu_sw_index(e->p, tl->sw_a), sb = emu_sw_index(e->p, tl->sw_b);
        bool a_low = sa < sb || (sa == sb && tl->port_a < tl->port_b);
        si = a_low ? sa : sb;
        port = a_low ? tl->port_a : tl->port_b;
    }
    *out = (size_t)si * OFM_MAX_SWITCH_PORTS + port;
    return OFM_HAL_OK;
}

int ofm_emu_link_errors(ofm_hal *h, uint32_t sw, uint32_t port, ofm_hal_link_errors *out)
{
    memset(out, 0, sizeof *out);
    out->prov = OFM_PROV_EMULATED;
    size_t k;
    rec r;
    int rc = slot(h, sw, port, &k);
    if (rc || (rc = emu_counters_read(h, &FILE_, k * sizeof r, &r, sizeof r)))
        return rc;
    out->crc_flit = r.crc_flit;
    out->crc_data = r.crc_data;
    out->replay = r.replay;
    out->recovery = r.recovery;
    return OFM_HAL_OK;
}

int ofm_emu_link_errors_many(ofm_hal *h, const uint32_t *sw, const uint32_t *port, size_t n,
                             ofm_hal_link_errors *out, int *rcs)
{
    rec *all = calloc(NRECS, sizeof *all);
    if (!all)
        return emu_fail(h, OFM_HAL_ENOSPC, "nvlink_errors: out of memory");
    /* one read of the whole file */
    int rc = emu_counters_read(h, &FILE_, 0, all, NRECS * sizeof *all);
    if (rc) {
        free(all);
        return rc;
    }
    for (size_t i = 0; i < n; i++) {
        memset(&out[i], 0, sizeof out[i]);
        out[i].prov = OFM_PROV_EMULATED;
        size_t k;
        rcs[i] = slot(h, sw[i], port[i], &k);
        if (rcs[i] == OFM_HAL_OK) {
            out[i].crc_flit = all[k].crc_flit;
            out[i].crc_data = all[k].crc_data;
            out[i].replay = all[k].replay;
            out[i].recovery = all[k].recovery;
        }
    }
    free(all);
    return OFM_HAL_OK;
}

static void add_errors(void *recs, const void *arg)
{
    rec *r = recs;
    const ofm_hal_link_errors *add = arg;
    r->crc_flit = emu_sat_add(r->crc_flit, add->crc_flit);
    r->crc_data = emu_sat_add(r->crc_data, add->crc_data);
    r->replay = emu_sat_add(r->replay, add->replay);
    r->recovery = emu_sat_add(r->recovery, add->recovery);
}

int ofm_emu_inject_link_errors(ofm_hal *h, uint32_t sw, uint32_t port, const ofm_hal_link_errors *add)
{
    size_t k;
    rec r;
    int rc = slot(h, sw, port, &k);
    return rc ? rc : emu_counters_update(h, &FILE_, k * sizeof r, &r, sizeof r, add_errors, add);
}

int ofm_emu_link_errors_reset(ofm_hal *h)
{
    return emu_counters_clear(h, &FILE_);
}
