/* The backend of a real machine, composed of two sides:
 *
 *   switch side (NVSwitch driver): switches, ports, training, routing
 *     tables, error events, the fabric manager's claim, and GPU fabric
 *     registration (the manager answers the GPUs' probes over the switches);
 *   GPU side (NVML): GPU inventory, GPU NVLink state, the fabric state the
 *     GPU reports, MIG, and the driver version.
 *
 * Each operation comes from exactly one side, so a missing capability is
 * reported by the side that should have it ("not available from this
 * driver") instead of being quietly served by the other. Two exceptions: the
 * driver version falls back to the switch side when the GPU side has none,
 * and gpu_hold (emulated GPU clients) comes from whichever side has it, so an
 * emulator standing in for the switch driver in tests keeps its test hooks.
 * The platform hint is never forwarded: a real machine names no model, and
 * bring-up matches what discovery saw. NVLink error counters are the GPU
 * side's per GPU link; per switch port they come from the switch side when it
 * has them, else from the GPU side at the port's far end (c_link_errors). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hal/backend_int.h"

typedef struct {
    ofm_hal *sw, *gpu;
    ofm_hal_ops ops;
    char name[64];
} composed;

static composed *co(ofm_hal *h) { return (composed *)h->impl; }

int ofm_hal_fail(ofm_hal *h, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(h->last_error, sizeof h->last_error, fmt, ap);
    va_end(ap);
    return code;
}

/* Run `call` on side `s`, carrying its error text up to the composed handle. */
static int relay(ofm_hal *h, ofm_hal *s, int rc)
{
    if (rc != OFM_HAL_OK)
        snprintf(h->last_error, sizeof h->last_error, "%s", s->last_error);
    return rc;
}

#define SIDE_OP(side, op, params, args)                                                           \
    static int c_##op params                                                                      \
    {                                                                                             \
        ofm_hal *s = co(h)->side;                                                                 \
        if (!s->ops->op)                                                                          \
            return ofm_hal_fail(h, OFM_HAL_ENOTSUP, "%s: %s is not available from the %s backend", \
                                co(h)->name, #op, s->ops->name);                                  \
        return relay(h, s, s->ops->op args);                                                      \
    }

SIDE_OP(sw, list_switches, (ofm_hal *h, ofm_hal_switch *o, size_t cap, size_t *n), (s, o, cap, n))
SIDE_OP(sw, switch_port, (ofm_hal *h, uint32_t sw, uint32_t p, ofm_hal_link *o), (s, sw, p, o))
SIDE_OP(sw, train_port, (ofm_hal *h, uint32_t sw, uint32_t p), (s, sw, p))
SIDE_OP(sw, reset_port, (ofm_hal *h, uint32_t sw, uint32_t p), (s, sw, p))
SIDE_OP(sw, route_write, (ofm_hal *h, const ofm_route_entry *e, size_t n), (s, e, n))
SIDE_OP(sw, route_write_groups, (ofm_hal *h, const ofm_route_group *g, size_t n), (s, g, n))
SIDE_OP(sw, route_clear_switch, (ofm_hal *h, uint32_t sw), (s, sw))
SIDE_OP(sw, route_read, (ofm_hal *h, uint32_t sw, ofm_route_entry *o, size_t cap, size_t *n),
        (s, sw, o, cap, n))
SIDE_OP(sw, read_events, (ofm_hal *h, uint64_t *c, ofm_hal_event *o, size_t cap, size_t *n),
        (s, c, o, cap, n))
SIDE_OP(sw, event_cursor_now, (ofm_hal *h, uint64_t *c), (s, c))
SIDE_OP(sw, fabric_set, (ofm_hal *h, uint32_t g, ofm_fabric_state st, int status), (s, g, st, status))
/* The GPU inventory also tells the switch side who sits at which PCI address. */
static int c_list_gpus(ofm_hal *h, ofm_hal_gpu *o, size_t cap, size_t *n)
{
    ofm_hal *s = co(h)->gpu;
    if (!s->ops->list_gpus)
        return ofm_hal_fail(h, OFM_HAL_ENOTSUP, "%s: list_gpus is not available from the %s backend",
                            co(h)->name, s->ops->name);
    int rc = relay(h, s, s->ops->list_gpus(s, o, cap, n));
    ofm_hal *sw = co(h)->sw;
    if (rc == OFM_HAL_OK && sw->ops->learn_gpus)
        sw->ops->learn_gpus(sw, o, *n < cap ? *n : cap);
    return rc;
}
SIDE_OP(gpu, gpu_link, (ofm_hal *h, uint32_t g, uint32_t l, ofm_hal_link *o), (s, g, l, o))
SIDE_OP(gpu, fabric_get, (ofm_hal *h, uint32_t g, ofm_hal_fabric_info *o), (s, g, o))
SIDE_OP(gpu, mig_mode_get, (ofm_hal *h, uint32_t g, ofm_hal_mig_mode *o), (s, g, o))
SIDE_OP(gpu, mig_mode_set, (ofm_hal *h, uint32_t g, bool en), (s, g, en))
SIDE_OP(gpu, gpu_reset, (ofm_hal *h, uint32_t g), (s, g))
SIDE_OP(gpu, gi_create,
        (ofm_hal *h, uint32_t g, uint32_t prof, uint32_t start, uint32_t size, uint32_t *id),
        (s, g, prof, start, size, id))
SIDE_OP(gpu, gi_destroy, (ofm_hal *h, uint32_t g, uint32_t gi), (s, g, gi))
SIDE_OP(gpu, gi_list, (ofm_hal *h, uint32_t g, ofm_hal_gpu_instance *o, size_t cap, size_t *n),
        (s, g, o, cap, n))
SIDE_OP(gpu, ci_create,
        (ofm_hal *h, uint32_t g, uint32_t gi, uint32_t prof, uint32_t start, uint32_t size,
         uint32_t *id),
        (s, g, gi, prof, start, size, id))
SIDE_OP(gpu, ci_destroy, (ofm_hal *h, uint32_t g, uint32_t gi, uint32_t ci), (s, g, gi, ci))
SIDE_OP(gpu, ci_list,
        (ofm_hal *h, uint32_t g, uint32_t gi, ofm_hal_compute_instance *o, size_t cap, size_t *n),
        (s, g, gi, o, cap, n))

static int c_driver_version(ofm_hal *h, char *buf, size_t len)
{
    ofm_hal *s = co(h)->gpu->ops->driver_version ? co(h)->gpu : co(h)->sw;
    if (!s->ops->driver_version)
        return ofm_hal_fail(h, OFM_HAL_ENOTSUP, "%s: no side reports the driver version",
                            co(h)->name);
    return relay(h, s, s->ops->driver_version(s, buf, len));
}

static int c_gpu_hold(ofm_hal *h, uint32_t gpu, int delta, uint32_t *holders)
{
    ofm_hal *s = co(h)->gpu->ops->gpu_hold ? co(h)->gpu : co(h)->sw;
    if (!s->ops->gpu_hold)
        return ofm_hal_fail(h, OFM_HAL_ENOTSUP,
                            "%s: emulated GPU clients exist only on the emulator", co(h)->name);
    return relay(h, s, s->ops->gpu_hold(s, gpu, delta, holders));
}

static int c_mig_device_uuid(ofm_hal *h, uint32_t gpu, uint32_t gi, uint32_t ci, char *out,
                             size_t len)
{
    ofm_hal *s = co(h)->gpu;
    return relay(h, s, s->ops->mig_device_uuid(s, gpu, gi, ci, out, len));
}

/* Excluded devices: each kind from the side that owns it - GPUs from the GPU
 * side (NVML lists them), NVSwitches from the switch side - so an emulator
 * standing in for the switch driver does not speak for the GPUs. */
static int c_list_excluded(ofm_hal *h, ofm_hal_excluded *o, size_t cap, size_t *n)
{
    ofm_hal *sides[2] = {co(h)->gpu, co(h)->sw};
    ofm_hal_excluded x[OFM_MAX_GPUS + OFM_MAX_SWITCHES];
    size_t k = 0;
    for (int s = 0; s < 2; s++) {
        size_t m = 0;
        if (!sides[s]->ops->list_excluded)
            continue;
        int rc = sides[s]->ops->list_excluded(sides[s], x, sizeof x / sizeof x[0], &m);
        if (rc != OFM_HAL_OK && rc != OFM_HAL_ENOTSUP)
            return relay(h, sides[s], rc);
        for (size_t i = 0; rc == OFM_HAL_OK && i < m && i < sizeof x / sizeof x[0]; i++) {
            if (x[i].is_switch != (s == 1))
                continue;
            if (k < cap)
                o[k] = x[i];
            k++;
        }
    }
    *n = k;
    return OFM_HAL_OK;
}

/* NVLink error counters (nvidia-smi nvlink -e; metrics per switch port):
 * per GPU link from the GPU side, which is where a real machine has them
 * (NVML; the NVSwitch driver reports none). Per switch port from the switch
 * side when it has them, else from the GPU at the port's far end, which the
 * switch side names. */
static int c_gpu_link_errors(ofm_hal *h, uint32_t gpu, uint32_t link, ofm_hal_link_errors *out)
{
    ofm_hal *s = co(h)->gpu;
    return relay(h, s, s->ops->gpu_link_errors(s, gpu, link, out));
}

SIDE_OP(sw, link_errors_many,
        (ofm_hal *h, const uint32_t *sw, const uint32_t *port, size_t n, ofm_hal_link_errors *out,
         int *rcs),
        (s, sw, port, n, out, rcs))

static int c_link_errors(ofm_hal *h, uint32_t sw, uint32_t port, ofm_hal_link_errors *out)
{
    ofm_hal *s = co(h)->sw;
    if (s->ops->link_errors)
        return relay(h, s, s->ops->link_errors(s, sw, port, out));
    ofm_hal_link lk;
    if (!s->ops->switch_port)
        return ofm_hal_fail(h, OFM_HAL_ENOTSUP, "%s: switch_port is not available from the %s backend",
                            co(h)->name, s->ops->name);
    int rc = s->ops->switch_port(s, sw, port, &lk);
    if (rc != OFM_HAL_OK)
        return relay(h, s, rc);
    if (lk.remote_type != OFM_REMOTE_GPU || lk.remote_link == UINT32_MAX)
        return ofm_hal_fail(h, OFM_HAL_ENOTSUP,
                            "%s: NVSwitch %u port %u: no GPU at its far end to read NVLink error "
                            "counters from, and the %s backend reports none",
                            co(h)->name, sw, port, s->ops->name);
    return c_gpu_link_errors(h, lk.remote_id, lk.remote_link, out);
}

/* A switch side without a claim has nothing to lock: claiming succeeds. */
static int c_claim(ofm_hal *h)
{
    ofm_hal *s = co(h)->sw;
    return s->ops->claim ? relay(h, s, s->ops->claim(s)) : OFM_HAL_OK;
}

static void c_release(ofm_hal *h)
{
    ofm_hal_release(co(h)->sw);
}

static void c_close(ofm_hal *h)
{
    composed *c = co(h);
    ofm_hal_close(c->sw);
    ofm_hal_close(c->gpu);
    free(c);
    free(h);
}

int ofm_hal_compose(const char *name, ofm_hal *switch_side, ofm_hal *gpu_side, ofm_hal **out,
                    char *errbuf, size_t errlen)
{
    *out = NULL;
    composed *c = calloc(1, sizeof *c);
    ofm_hal *h = calloc(1, sizeof *h);
    if (!c || !h) {
        free(c);
        free(h);
        snprintf(errbuf, errlen, "out of memory");
        return OFM_HAL_EIO;
    }
    c->sw = switch_side;
    c->gpu = gpu_side;
    snprintf(c->name, sizeof c->name, "%s", name);
    c->ops = (ofm_hal_ops){
        .name = c->name,
        .close = c_close,
        .driver_version = c_driver_version,
        .list_switches = c_list_switches,
        .list_gpus = c_list_gpus,
        .switch_port = c_switch_port,
        .gpu_link = c_gpu_link,
        .train_port = c_train_port,
        .reset_port = c_reset_port,
        .route_write = c_route_write,
        .route_write_groups = switch_side->ops->route_write_groups ? c_route_write_groups : NULL,
        .route_clear_switch = c_route_clear_switch,
        .route_read = c_route_read,
        .read_events = c_read_events,
        .fabric_get = c_fabric_get,
        .fabric_set = c_fabric_set,
        .mig_mode_get = c_mig_mode_get,
        .mig_mode_set = c_mig_mode_set,
        .gpu_reset = c_gpu_reset,
        .gi_create = c_gi_create,
        .gi_destroy = c_gi_destroy,
        .gi_list = c_gi_list,
        .ci_create = c_ci_create,
        .ci_destroy = c_ci_destroy,
        .ci_list = c_ci_list,
        .claim = c_claim,
        .release = c_release,
        .gpu_hold = c_gpu_hold,
        /* only the GPU side names MIG devices; without it openfm derives names */
        .mig_device_uuid = gpu_side->ops->mig_device_uuid ? c_mig_device_uuid : NULL,
        .gpu_link_errors = gpu_side->ops->gpu_link_errors ? c_gpu_link_errors : NULL,
        .link_errors_many = switch_side->ops->link_errors_many ? c_link_errors_many : NULL,
        /* events are the switch side's (read_events above), so is their end */
        .event_cursor_now = switch_side->ops->event_cursor_now ? c_event_cursor_now : NULL,
        .link_errors = switch_side->ops->link_errors || gpu_side->ops->gpu_link_errors
                           ? c_link_errors
                           : NULL,
        .list_excluded = gpu_side->ops->list_excluded || switch_side->ops->list_excluded
                             ? c_list_excluded
                             : NULL,
    };
    h->ops = &c->ops;
    /* a record is only as real as its least real source */
    h->prov = switch_side->prov == OFM_PROV_EMULATED || gpu_side->prov == OFM_PROV_EMULATED
                  ? OFM_PROV_EMULATED
                  : OFM_PROV_REAL;
    h->impl = c;
    if (switch_side->ops->learn_gpus && gpu_side->ops->list_gpus) {
        ofm_hal_gpu *g = calloc(OFM_MAX_GPUS, sizeof *g);
        size_t n = 0;
        if (g && gpu_side->ops->list_gpus(gpu_side, g, OFM_MAX_GPUS, &n) == OFM_HAL_OK)
            switch_side->ops->learn_gpus(switch_side, g, n < OFM_MAX_GPUS ? n : OFM_MAX_GPUS);
        free(g);
    }
    *out = h;
    return OFM_HAL_OK;
}
