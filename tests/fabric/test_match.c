/* Recognising a platform from discovery (ofm_fabric_match): exact fits,
 * degraded fits, models ruled out by the devices, and wiring differences
 * named by switch and port. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "synth.h"

typedef struct {
    ofm_platform p;
    ofm_fabric_observed o;
    ofm_match_result r;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    free(*state);
    return 0;
}

static void test_exact(void **state)
{
    fx *f = *state;
    synth_build(&SYNTH_A100_2B, &f->p);
    synth_observe(&f->p, &f->o);
    ofm_fabric_match(&f->p, &f->o, &f->r);
    assert_true(f->r.fits);
    assert_true(f->r.exact);
    assert_int_equal(f->r.ndiffs, 0);
    /* trunks are seen from both ends but counted once */
    assert_int_equal(f->r.links_as_modelled, (long)(f->p.naccess + f->p.ntrunks));
    assert_int_equal(f->r.links_modelled, (long)(f->p.naccess + f->p.ntrunks));
}

static void test_down_links_and_missing_gpu_still_fit(void **state)
{
    fx *f = *state;
    synth_build(&SYNTH_H100, &f->p);
    synth_observe(&f->p, &f->o);
    f->o.ports[0][f->p.access[0].sw_port].state = OFM_LINK_OFF;
    f->o.ports[0][f->p.access[0].sw_port].remote_type = OFM_REMOTE_NONE;
    f->o.ngpus--; /* the last GPU fell off the bus */
    ofm_fabric_match(&f->p, &f->o, &f->r);
    assert_true(f->r.fits);
    assert_false(f->r.exact);
    assert_int_equal(f->r.ndiffs, 0);
}

static void test_miswired_port_named(void **state)
{
    fx *f = *state;
    synth_build(&SYNTH_H100, &f->p);
    synth_observe(&f->p, &f->o);
    /* the cable of access link 0 lands on a port the model leaves empty */
    const ofm_access_link *a = &f->p.access[0];
    int k = -1;
    for (size_t i = 0; i < f->o.nswitches; i++)
        if (f->o.switches[i].phys_id == a->sw)
            k = (int)i;
    assert_true(k >= 0);
    uint32_t spare = f->p.switches[0].nports - 1;
    assert_int_equal(ofm_fabric_access_at(&f->p, a->sw, spare), -1);
    f->o.ports[k][spare] = f->o.ports[k][a->sw_port];
    memset(&f->o.ports[k][a->sw_port], 0, sizeof f->o.ports[k][a->sw_port]);
    ofm_fabric_match(&f->p, &f->o, &f->r);
    assert_false(f->r.fits);
    assert_string_equal(f->r.structural, "");
    assert_int_equal(f->r.ndiffs, 1);
    assert_int_equal(f->r.diffs[0].sw, a->sw);
    assert_int_equal(f->r.diffs[0].port, spare);
    assert_string_equal(f->r.diffs[0].expected, "nothing");
    char want[64];
    snprintf(want, sizeof want, "GPU %u link %u", a->gpu, a->gpu_link);
    assert_string_equal(f->r.diffs[0].found, want);
}

static void test_devices_rule_models_out(void **state)
{
    fx *f = *state;
    synth_build(&SYNTH_H100, &f->p);
    synth_observe(&f->p, &f->o);
    f->o.switches[1].gen = OFM_SWITCH_GEN2;
    ofm_fabric_match(&f->p, &f->o, &f->r);
    assert_false(f->r.fits);
    assert_non_null(strstr(f->r.structural, "generation 2 found, the model's is 3"));
    synth_observe(&f->p, &f->o);
    snprintf(f->o.gpus[2].model, sizeof f->o.gpus[2].model, "A100-SXM4-80GB");
    snprintf(f->p.gpus[2].model, sizeof f->p.gpus[2].model, "H100-SXM5-80GB");
    ofm_fabric_match(&f->p, &f->o, &f->r);
    assert_false(f->r.fits);
    assert_non_null(strstr(f->r.structural, "is a A100-SXM4-80GB, the model has a H100"));
    /* NVML's name for the same GPU family fits */
    snprintf(f->o.gpus[2].model, sizeof f->o.gpus[2].model, "H100-80GB-HBM3");
    ofm_fabric_match(&f->p, &f->o, &f->r);
    assert_true(f->r.exact);
    synth_observe(&f->p, &f->o);
    f->o.gpus[0].phys_id = 99;
    ofm_fabric_match(&f->p, &f->o, &f->r);
    assert_false(f->r.fits);
    assert_non_null(strstr(f->r.structural, "GPU 99 found"));
}

static void test_gpu_family(void **state)
{
    (void)state;
    assert_true(ofm_fabric_same_gpu_family("H100-SXM5-80GB", "h100-80GB-HBM3"));
    assert_false(ofm_fabric_same_gpu_family("H100-SXM5-80GB", "H800-SXM5-80GB"));
    assert_false(ofm_fabric_same_gpu_family("A100", "A1000"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_down_links_and_missing_gpu_still_fit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_miswired_port_named, setup, teardown),
        cmocka_unit_test_setup_teardown(test_devices_rule_models_out, setup, teardown),
        cmocka_unit_test(test_gpu_family),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
