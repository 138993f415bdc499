/* Validation: injected deviations in the observation become findings naming
 * device and port, and the health flags follow. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "synth.h"

typedef struct {
    ofm_platform p;
    ofm_fabric_observed o;
    ofm_fabric_health h;
    ofm_validation_report r;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    synth_build(&SYNTH_A100_2B, &f->p);
    synth_observe(&f->p, &f->o);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    free(*state);
    return 0;
}

static const ofm_finding *find(const fx *f, ofm_finding_kind k)
{
    for (size_t i = 0; i < f->r.n; i++)
        if (f->r.items[i].kind == k)
            return &f->r.items[i];
    return NULL;
}

static void clean(void **state)
{
    fx *f = *state;
    assert_int_equal(ofm_fabric_validate(&f->p, &f->o, &f->h, &f->r), 0);
    assert_int_equal(f->r.n, 0);
    ofm_fabric_health all;
    ofm_fabric_health_all_ok(&f->p, &all);
    assert_memory_equal(&all, &f->h, sizeof all);
    assert_true(ofm_fabric_match_score(&f->p, &f->o) == (long)(f->p.naccess + f->p.ntrunks));
}

static void access_down(void **state)
{
    fx *f = *state;
    /* switch 3 port 5 = GPU 3's second link to switch 3 */
    f->o.ports[2][5] = (ofm_hal_link){OFM_PROV_EMULATED, OFM_LINK_OFF, OFM_REMOTE_NONE, 0, 0};
    assert_int_equal(ofm_fabric_validate(&f->p, &f->o, &f->h, &f->r), 1);
    const ofm_finding *x = find(f, OFM_FIND_ACCESS_DOWN);
    assert_non_null(x);
    assert_string_equal(x->msg, "switch 3 port 5: expected GPU 3 link 5, found nothing");
    assert_int_equal(x->sw, 3);
    assert_int_equal(x->port, 5);
    assert_non_null(strstr(x->action, "RMA"));
    assert_false(f->h.access_ok[ofm_fabric_access_at(&f->p, 3, 5)]);
    assert_int_equal(ofm_fabric_gpu_usable_links(&f->p, &f->h, 3), 11);
}

static void access_miswired(void **state)
{
    fx *f = *state;
    f->o.ports[0][0].remote_id = 2;
    ofm_fabric_validate(&f->p, &f->o, &f->h, &f->r);
    const ofm_finding *x = find(f, OFM_FIND_ACCESS_MISWIRED);
    assert_non_null(x);
    assert_non_null(strstr(x->msg, "switch 1 port 0: expected GPU 1 link 0, found GPU 2 link 0"));
}

static void trunk_down(void **state)
{
    fx *f = *state;
    f->o.ports[1][16].state = OFM_LINK_FAILED;  /* switch 2 trunk port 16 */
    assert_int_equal(ofm_fabric_validate(&f->p, &f->o, &f->h, &f->r), 1);
    const ofm_finding *x = find(f, OFM_FIND_TRUNK_DOWN);
    assert_non_null(x);
    assert_non_null(strstr(x->msg, "switch 2 port 16: expected trunk to switch 8 port 16, found switch 8 port 16 (failed)"));
    assert_non_null(strstr(x->action, "trunk backplane"));
    assert_false(f->h.trunk_ok[ofm_fabric_trunk_at(&f->p, 2, 16)]);
}

static void switch_missing(void **state)
{
    fx *f = *state;
    f->o.switches[4] = f->o.switches[--f->o.nswitches];  /* drop switch 5 */
    memcpy(f->o.ports[4], f->o.ports[f->o.nswitches], sizeof f->o.ports[4]);
    assert_int_equal(ofm_fabric_validate(&f->p, &f->o, &f->h, &f->r), 1);
    const ofm_finding *x = find(f, OFM_FIND_SWITCH_MISSING);
    assert_non_null(x);
    assert_string_equal(x->msg, "switch 5: expected by the topology, not found");
    assert_false(f->h.switch_ok[4]);
    assert_true(f->h.switch_ok[11]);
}

/* A fourth-generation NVSwitch (GB200 NVL72) is named with its tray, and the
 * advice is not a kernel module parameter that cannot exclude it. */
static void rack_switch_failed(void **state)
{
    (void)state;
    fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    ofm_error err;
    assert_int_equal(ofm_platform_load("gb200-nvl72", NULL, &f->p, &err), 0);
    synth_observe(&f->p, &f->o);
    f->o.switches[4].health = OFM_DEV_FAILED; /* switch 5, in switch tray 3 */
    ofm_fabric_validate(&f->p, &f->o, &f->h, &f->r);
    const ofm_finding *x = find(f, OFM_FIND_SWITCH_FAILED);
    assert_non_null(x);
    if (!strstr(x->msg, "switch 5 (") || !strstr(x->msg, ", switch tray 3): enumerated but failed"))
        fail_msg("message: %s", x->msg);
    assert_null(strstr(x->action, "exclude it (NvSwitchExcludelist)"));
    assert_non_null(strstr(x->action, "cannot be excluded by a kernel module parameter"));
    assert_false(f->h.switch_ok[4]);
    free(f);
}

static void gpu_failed_and_extra(void **state)
{
    fx *f = *state;
    f->o.gpus[6].health = OFM_DEV_FAILED;
    f->o.gpus[f->o.ngpus] = f->o.gpus[0];
    f->o.gpus[f->o.ngpus++].phys_id = 77;
    ofm_fabric_validate(&f->p, &f->o, &f->h, &f->r);
    const ofm_finding *x = find(f, OFM_FIND_GPU_FAILED);
    assert_non_null(x);
    assert_int_equal(x->gpu, 7);
    assert_false(f->h.gpu_ok[6]);
    x = find(f, OFM_FIND_GPU_EXTRA);
    assert_non_null(x);
    assert_int_equal(x->severity, OFM_SEV_WARNING);
    assert_int_equal(ofm_fabric_match_score(&f->p, &f->o), -1);
}

static void extra_link(void **state)
{
    fx *f = *state;
    f->o.ports[0][35] = (ofm_hal_link){OFM_PROV_EMULATED, OFM_LINK_ACTIVE, OFM_REMOTE_GPU, 4, 17};
    assert_int_equal(ofm_fabric_validate(&f->p, &f->o, &f->h, &f->r), 0);
    const ofm_finding *x = find(f, OFM_FIND_LINK_EXTRA);
    assert_non_null(x);
    assert_string_equal(x->msg, "switch 1 port 35: the topology lists no link here, found GPU 4 link 17 (active)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(clean, setup, teardown),
        cmocka_unit_test_setup_teardown(access_down, setup, teardown),
        cmocka_unit_test_setup_teardown(access_miswired, setup, teardown),
        cmocka_unit_test_setup_teardown(trunk_down, setup, teardown),
        cmocka_unit_test_setup_teardown(switch_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(gpu_failed_and_extra, setup, teardown),
        cmocka_unit_test(rack_switch_failed),
        cmocka_unit_test_setup_teardown(extra_link, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
