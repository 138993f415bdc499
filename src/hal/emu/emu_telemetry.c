/* The switch telemetry of fourth-generation NVSwitches (HGX B200): such
 * switches report no SXids; their errors are fatal / non-fatal counters per
 * port and per chip that the management path reads. Kept in the counter
 * file <dir>/switch_telemetry (emu_counters.c; per switch: the chip, then
 * each port). Taken inside a state transaction when the probe counts a
 * drop: the lock order is always state.lock, then this file. */
#include <string.h>

#include "hal/emu/emu_int.h"

#define PER_SWITCH ((size_t)OFM_MAX_SWITCH_PORTS + 1)
#define NRECS ((size_t)OFM_MAX_SWITCHES * PER_SWITCH)
static const emu_counter_file FILE_ = {"switch_telemetry", NRECS * sizeof(ofm_hal_error_counts)};

bool emu_switch_has_telemetry(const ofm_platform *p, size_t si)
{
    return si < p->nswitches && p->switches[si].gen >= OFM_SWITCH_GEN4;
}

static int check_switch(ofm_hal *h, uint32_t sw, int *si)
{
    emu_impl *e = emu_of(h);
    *si = emu_sw_index(e->p, sw);
    if (*si < 0)
        return emu_fail(h, OFM_HAL_EINVAL, "no switch %u in %s", sw, e->p->name);
    if (!emu_switch_has_telemetry(e->p, (size_t)*si))
        return emu_fail(h, OFM_HAL_ENOTSUP, "NVSwitch %u reports errors as SXids, not telemetry "
                        "counters (only fourth-generation NVSwitches, HGX B200, have them)", sw);
    return OFM_HAL_OK;
}

int ofm_emu_switch_telemetry(ofm_hal *h, uint32_t sw, ofm_hal_switch_telemetry *out)
{
    memset(out, 0, sizeof *out);
    out->prov = OFM_PROV_EMULATED;
    int si, rc = check_switch(h, sw, &si);
    ofm_hal_error_counts r[PER_SWITCH];
    if (rc || (rc = emu_counters_read(h, &FILE_, (size_t)si * sizeof r, r, sizeof r)))
        return rc;
    out->chip = r[0];
    out->nports = emu_of(h)->p->switches[si].nports;
    memcpy(out->port, r + 1, sizeof out->port);
    return OFM_HAL_OK;
}

typedef struct {
    uint32_t port;
    bool fatal;
    uint64_t n;
} count_arg;

static void add(ofm_hal_error_counts *c, bool fatal, uint64_t n)
{
    uint64_t *v = fatal ? &c->fatal : &c->nonfatal;
    *v = emu_sat_add(*v, n);
}

static void count(void *recs, const void *arg)
{
    ofm_hal_error_counts *r = recs;
    const count_arg *a = arg;
    add(&r[0], a->fatal, a->n); /* the chip counts its ports' errors too */
    if (a->port != OFM_HAL_PORT_CHIP)
        add(&r[1 + a->port], a->fatal, a->n);
}

int emu_telemetry_count(ofm_hal *h, size_t si, uint32_t port, bool fatal, uint64_t n)
{
    emu_impl *e = emu_of(h);
    if (!emu_switch_has_telemetry(e->p, si))
        return emu_fail(h, OFM_HAL_ENOTSUP, "NVSwitch %u has no telemetry counters",
                        si < e->p->nswitches ? e->p->switches[si].id : 0);
    if (port != OFM_HAL_PORT_CHIP && port >= e->p->switches[si].nports)
        return emu_fail(h, OFM_HAL_EINVAL, "switch %u has no port %u", e->p->switches[si].id, port);
    ofm_hal_error_counts r[PER_SWITCH];
    count_arg a = {port, fatal, n};
    return emu_counters_update(h, &FILE_, si * sizeof r, r, sizeof r, count, &a);
}

int ofm_emu_switch_telemetry_reset(ofm_hal *h)
{
    return emu_counters_clear(h, &FILE_);
}
