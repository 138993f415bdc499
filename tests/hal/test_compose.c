/* The composed backend: each operation reaches exactly the side that owns
 * it, a side's missing operation is reported as such (never served by the
 * other side), errors carry the side's words, and the platform hint is never
 * forwarded. Two fake sides record what reaches them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hal/backend_int.h"

typedef struct {
    char calls[512];
    int closed;
} fake;

static void note(ofm_hal *h, const char *what)
{
    fake *f = h->impl;
    strncat(f->calls, what, sizeof f->calls - strlen(f->calls) - 1);
    strncat(f->calls, " ", sizeof f->calls - strlen(f->calls) - 1);
}

static int f_list_switches(ofm_hal *h, ofm_hal_switch *o, size_t cap, size_t *n)
{
    (void)o;
    (void)cap;
    note(h, "list_switches");
    *n = 0;
    return 0;
}
static int f_list_gpus(ofm_hal *h, ofm_hal_gpu *o, size_t cap, size_t *n)
{
    (void)o;
    (void)cap;
    note(h, "list_gpus");
    *n = 0;
    return 0;
}
static int f_fabric_set(ofm_hal *h, uint32_t g, ofm_fabric_state s, int st)
{
    (void)g;
    (void)s;
    (void)st;
    note(h, "fabric_set");
    return ofm_hal_fail(h, OFM_HAL_EIO, "switch side: probe response refused");
}
static int f_fabric_get(ofm_hal *h, uint32_t g, ofm_hal_fabric_info *o)
{
    (void)g;
    memset(o, 0, sizeof *o);
    note(h, "fabric_get");
    return 0;
}
static int f_version(ofm_hal *h, char *b, size_t l)
{
    note(h, "driver_version");
    snprintf(b, l, "580.95.05");
    return 0;
}
static const ofm_platform *f_hint(ofm_hal *h)
{
    note(h, "platform_hint");
    return (const ofm_platform *)h; /* any non-NULL pointer */
}
static int f_hold(ofm_hal *h, uint32_t g, int d, uint32_t *n)
{
    (void)g;
    (void)d;
    note(h, "gpu_hold");
    *n = 1;
    return 0;
}
static void f_close(ofm_hal *h)
{
    ((fake *)h->impl)->closed++;
}

static const ofm_hal_ops sw_ops = {.name = "fakesw", .close = f_close,
                                   .list_switches = f_list_switches, .fabric_set = f_fabric_set,
                                   .driver_version = f_version, .platform_hint = f_hint,
                                   .gpu_hold = f_hold};
static const ofm_hal_ops gpu_ops = {.name = "fakegpu", .close = f_close, .list_gpus = f_list_gpus,
                                    .fabric_get = f_fabric_get, .platform_hint = f_hint};

static void test_routing(void **state)
{
    (void)state;
    fake fs = {0}, fg = {0};
    ofm_hal sw = {.ops = &sw_ops, .prov = OFM_PROV_REAL, .impl = &fs};
    ofm_hal gp = {.ops = &gpu_ops, .prov = OFM_PROV_EMULATED, .impl = &fg};
    ofm_hal *h;
    char err[128];
    assert_int_equal(ofm_hal_compose("fake", &sw, &gp, &h, err, sizeof err), 0);
    assert_int_equal(h->prov, OFM_PROV_EMULATED); /* one emulated side makes it emulated */
    size_t n;
    ofm_hal_fabric_info fi;
    char v[32];
    uint32_t holders;
    assert_int_equal(h->ops->list_switches(h, NULL, 0, &n), 0);
    assert_int_equal(h->ops->list_gpus(h, NULL, 0, &n), 0);
    assert_int_equal(h->ops->fabric_get(h, 1, &fi), 0);
    assert_int_equal(h->ops->fabric_set(h, 1, OFM_FABRIC_COMPLETED, 0), OFM_HAL_EIO);
    assert_string_equal(ofm_hal_last_error(h), "switch side: probe response refused");
    /* the GPU side has no driver version: the switch side's answers */
    assert_int_equal(h->ops->driver_version(h, v, sizeof v), 0);
    assert_string_equal(v, "580.95.05");
    assert_int_equal(h->ops->gpu_hold(h, 1, 1, &holders), 0);
    /* MIG belongs to the GPU side, which lacks it: not served by the other side */
    ofm_hal_mig_mode m;
    assert_int_equal(h->ops->mig_mode_get(h, 1, &m), OFM_HAL_ENOTSUP);
    assert_non_null(strstr(ofm_hal_last_error(h), "mig_mode_get is not available from the fakegpu"));
    /* no platform hint from a composition, though both sides have one */
    assert_null(ofm_hal_platform(h));
    /* claim with a switch side that has none succeeds */
    assert_int_equal(ofm_hal_claim(h), 0);
    assert_string_equal(fs.calls, "list_switches fabric_set driver_version gpu_hold ");
    assert_string_equal(fg.calls, "list_gpus fabric_get ");
    ofm_hal_close(h);
    assert_int_equal(fs.closed, 1);
    assert_int_equal(fg.closed, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_routing)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
