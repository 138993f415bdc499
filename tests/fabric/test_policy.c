/* HA policy: one test per row of the failure-mode table (FM §9, §13.8,
 * reference/fm-config-keys.md), plus the H100 and fallback rules. Synthetic
 * two-board A100: switches 1-6 on board 1, their peers 7-12 on board 2. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "synth.h"

typedef struct {
    ofm_platform p;
    ofm_fabric_health h;
    ofm_policy_decision d;
} fx;

static int setup_a100(void **state)
{
    fx *f = calloc(1, sizeof *f);
    synth_build(&SYNTH_A100_2B, &f->p);
    ofm_fabric_health_all_ok(&f->p, &f->h);
    *state = f;
    return 0;
}

static int setup_h100(void **state)
{
    fx *f = calloc(1, sizeof *f);
    synth_build(&SYNTH_H100, &f->p);
    ofm_fabric_health_all_ok(&f->p, &f->h);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    free(*state);
    return 0;
}

static void decide(fx *f, int am, int tm, int sm, ofm_fabric_mode mode)
{
    ofm_failure_modes m = {am, tm, sm};
    ofm_policy_decide(&f->p, &f->h, &m, mode, &f->d);
}

static ofm_partition_desc part(uint32_t n, const uint32_t *gpus)
{
    ofm_partition_desc d = {.id = 0, .ngpus = n};
    memcpy(d.gpus, gpus, n * sizeof *gpus);
    return d;
}

static bool ok(fx *f, uint32_t n, const uint32_t *gpus)
{
    ofm_partition_desc d = part(n, gpus);
    return ofm_policy_partition_ok(&f->p, &f->d, &d);
}

static const uint32_t G1[] = {1}, G12[] = {1, 2}, G34[] = {3, 4}, G910[] = {9, 10},
                      G1_9[] = {1, 2, 3, 4, 9, 10, 11, 12}, GB1[] = {1, 2, 3, 4, 5, 6, 7, 8};

/* Fail GPU 1's access link on switch 1 (port 0). */
static void fail_access_gpu1(fx *f)
{
    int a = ofm_fabric_access_at(&f->p, 1, 0);
    assert_int_equal(f->p.access[a].gpu, 1);
    f->h.access_ok[a] = false;
}

static void fail_trunk_of(fx *f, uint32_t sw)
{
    for (size_t t = 0; t < f->p.ntrunks; t++)
        if (f->p.trunks[t].sw_a == sw) {
            f->h.trunk_ok[t] = false;
            return;
        }
    fail();
}

static uint32_t links(fx *f, uint32_t gpu)
{
    return ofm_fabric_gpu_usable_links(&f->p, &f->d.effective, gpu);
}

/* ACCESS_LINK_FAILURE_MODE=0, bare metal: the GPU leaves NVLink P2P. */
static void access0_bare(void **state)
{
    fx *f = *state;
    fail_access_gpu1(f);
    decide(f, 0, 0, 0, OFM_FABRIC_MODE_BARE_METAL);
    assert_false(f->d.abort);
    assert_false(f->d.gpu_p2p[0]);
    assert_true(f->d.gpu_p2p[1]);
    assert_false(f->d.switch_disabled[0]);
    assert_int_equal(links(f, 2), 12);
}

/* ACCESS_LINK_FAILURE_MODE=0, shared: partitions using the GPU go. */
static void access0_shared(void **state)
{
    fx *f = *state;
    fail_access_gpu1(f);
    decide(f, 0, 0, 0, OFM_FABRIC_MODE_SHARED);
    assert_false(f->d.abort);
    assert_false(ok(f, 1, G1));
    assert_false(ok(f, 2, G12));
    assert_true(ok(f, 2, G34));
    assert_true(ok(f, 2, G910));
}

/* ACCESS_LINK_FAILURE_MODE=1, bare metal: switch and peer disabled, 5/6 bandwidth. */
static void access1_bare(void **state)
{
    fx *f = *state;
    fail_access_gpu1(f);
    decide(f, 1, 0, 0, OFM_FABRIC_MODE_BARE_METAL);
    assert_false(f->d.abort);
    assert_true(f->d.switch_disabled[0]);
    assert_true(f->d.switch_disabled[6]);
    assert_true(f->d.bandwidth_reduced);
    assert_true(f->d.gpu_p2p[0]);
    assert_int_equal(links(f, 1), 10);
    assert_int_equal(links(f, 9), 10);
}

/* ACCESS_LINK_FAILURE_MODE=1, shared: all partitions stay, reduced bandwidth. */
static void access1_shared(void **state)
{
    fx *f = *state;
    fail_access_gpu1(f);
    decide(f, 1, 0, 0, OFM_FABRIC_MODE_SHARED);
    assert_true(f->d.switch_disabled[0] && f->d.switch_disabled[6]);
    assert_true(ok(f, 1, G1));
    assert_true(ok(f, 2, G12));
    assert_true(ok(f, 8, G1_9));
}

/* Mode 1 with one GPU's failures on two switches: that GPU is removed instead. */
static void access1_gpu_on_two_switches(void **state)
{
    fx *f = *state;
    fail_access_gpu1(f);
    f->h.access_ok[ofm_fabric_access_at(&f->p, 2, 0)] = false;
    decide(f, 1, 0, 0, OFM_FABRIC_MODE_BARE_METAL);
    assert_false(f->d.abort);
    assert_false(f->d.gpu_p2p[0]);
    assert_true(f->d.gpu_p2p[1]);
}

/* TRUNK_LINK_FAILURE_MODE=0, bare metal: abort, system uninitialised. */
static void trunk0_bare(void **state)
{
    fx *f = *state;
    fail_trunk_of(f, 2);
    decide(f, 0, 0, 0, OFM_FABRIC_MODE_BARE_METAL);
    assert_true(f->d.abort);
    assert_non_null(strstr(f->d.reason, "TRUNK_LINK_FAILURE_MODE"));
    assert_non_null(strstr(f->d.reason, "NVSwitch 2"));
}

/* TRUNK_LINK_FAILURE_MODE=0, shared: partitions using trunks are removed. */
static void trunk0_shared(void **state)
{
    fx *f = *state;
    fail_trunk_of(f, 2);
    decide(f, 0, 0, 0, OFM_FABRIC_MODE_SHARED);
    assert_false(f->d.abort);
    assert_false(ok(f, 8, G1_9));
    assert_true(ok(f, 8, GB1));
    assert_true(ok(f, 2, G910));
}

/* TRUNK_LINK_FAILURE_MODE=1, bare metal: switch and peer disabled. */
static void trunk1_bare(void **state)
{
    fx *f = *state;
    fail_trunk_of(f, 2);
    decide(f, 0, 1, 0, OFM_FABRIC_MODE_BARE_METAL);
    assert_false(f->d.abort);
    assert_true(f->d.switch_disabled[1] && f->d.switch_disabled[7]);
    assert_int_equal(links(f, 1), 10);
}

/* TRUNK_LINK_FAILURE_MODE=1, shared: everything stays, reduced bandwidth. */
static void trunk1_shared(void **state)
{
    fx *f = *state;
    fail_trunk_of(f, 2);
    decide(f, 0, 1, 0, OFM_FABRIC_MODE_SHARED);
    assert_true(f->d.bandwidth_reduced);
    assert_true(ok(f, 8, G1_9));
}

/* vGPU does not support TRUNK_LINK_FAILURE_MODE=1: mode 0 behaviour. */
static void trunk1_vgpu_falls_back(void **state)
{
    fx *f = *state;
    fail_trunk_of(f, 2);
    decide(f, 0, 1, 0, OFM_FABRIC_MODE_VGPU);
    assert_false(f->d.switch_disabled[1]);
    assert_false(ok(f, 8, G1_9));
    assert_true(ok(f, 8, GB1));
}

/* Mode 1 with trunk failures on two switch pairs falls back to mode 0. */
static void trunk1_two_pairs_aborts(void **state)
{
    fx *f = *state;
    fail_trunk_of(f, 2);
    fail_trunk_of(f, 4);
    decide(f, 0, 1, 0, OFM_FABRIC_MODE_BARE_METAL);
    assert_true(f->d.abort);
    assert_non_null(strstr(f->d.reason, "TRUNK_LINK_FAILURE_MODE"));
}

/* NVSWITCH_FAILURE_MODE=0, bare metal: abort. */
static void switch0_bare(void **state)
{
    fx *f = *state;
    f->h.switch_ok[2] = false;  /* switch 3 */
    decide(f, 0, 0, 0, OFM_FABRIC_MODE_BARE_METAL);
    assert_true(f->d.abort);
    assert_non_null(strstr(f->d.reason, "NVSwitch 3"));
    assert_non_null(strstr(f->d.reason, "NVSWITCH_FAILURE_MODE"));
}

/* NVSWITCH_FAILURE_MODE=0, shared: multi-GPU partitions of that board and
 * cross-board partitions go; single-GPU and the other board's stay. */
static void switch0_shared(void **state)
{
    fx *f = *state;
    f->h.switch_ok[2] = false;
    decide(f, 0, 0, 0, OFM_FABRIC_MODE_SHARED);
    assert_false(f->d.abort);
    assert_true(ok(f, 1, G1));
    assert_false(ok(f, 2, G12));
    assert_false(ok(f, 8, G1_9));
    assert_true(ok(f, 2, G910));
}

/* NVSWITCH_FAILURE_MODE=1, bare metal: switch and peer disabled. */
static void switch1_bare(void **state)
{
    fx *f = *state;
    f->h.switch_ok[2] = false;
    decide(f, 0, 0, 1, OFM_FABRIC_MODE_BARE_METAL);
    assert_false(f->d.abort);
    assert_true(f->d.switch_disabled[2] && f->d.switch_disabled[8]);
    assert_int_equal(links(f, 16), 10);
}

/* NVSWITCH_FAILURE_MODE=1, shared: every partition stays. */
static void switch1_shared(void **state)
{
    fx *f = *state;
    f->h.switch_ok[2] = false;
    decide(f, 0, 0, 1, OFM_FABRIC_MODE_SHARED);
    assert_true(ok(f, 2, G12));
    assert_true(ok(f, 8, G1_9));
}

/* Several switch pairs failed: mode 1 falls back to mode 0 (abort). */
static void switch1_two_pairs_aborts(void **state)
{
    fx *f = *state;
    f->h.switch_ok[2] = false;
    f->h.switch_ok[4] = false;
    decide(f, 0, 0, 1, OFM_FABRIC_MODE_BARE_METAL);
    assert_true(f->d.abort);
}

/* A switch and its own peer failing is one pair: mode 1 still applies. */
static void switch1_same_pair_ok(void **state)
{
    fx *f = *state;
    f->h.switch_ok[2] = false;
    f->h.switch_ok[8] = false;
    decide(f, 0, 0, 1, OFM_FABRIC_MODE_BARE_METAL);
    assert_false(f->d.abort);
    assert_int_equal(links(f, 1), 10);
}

/* GPU failure (FM §9.5): bare metal continues without it; shared drops its partitions. */
static void gpu_missing(void **state)
{
    fx *f = *state;
    f->h.gpu_ok[1] = false;  /* GPU 2 */
    decide(f, 0, 0, 0, OFM_FABRIC_MODE_BARE_METAL);
    assert_false(f->d.abort);
    assert_false(f->d.gpu_p2p[1]);
    assert_true(f->d.gpu_p2p[0]);
    decide(f, 0, 0, 0, OFM_FABRIC_MODE_SHARED);
    assert_false(ok(f, 2, G12));
    assert_true(ok(f, 2, G34));
}

/* H100: a missing switch aborts whatever the keys say. */
static void h100_switch_missing_aborts(void **state)
{
    fx *f = *state;
    f->h.switch_ok[1] = false;
    decide(f, 1, 1, 1, OFM_FABRIC_MODE_BARE_METAL);
    assert_true(f->d.abort);
    assert_non_null(strstr(f->d.reason, "NVSwitch 2"));
    decide(f, 0, 0, 0, OFM_FABRIC_MODE_SHARED);
    assert_true(f->d.abort);
}

/* B200: the same abort, in the words of a subnet-managed board (it has no
 * PCIe NVSwitch for lspci to list, and it is not an H100). */
static void b200_switch_missing_aborts(void **state)
{
    (void)state;
    fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    ofm_error err;
    assert_int_equal(ofm_platform_load("hgx-b200", NULL, &f->p, &err), 0);
    ofm_fabric_health_all_ok(&f->p, &f->h);
    f->h.switch_ok[1] = false;
    decide(f, 0, 0, 0, OFM_FABRIC_MODE_BARE_METAL);
    assert_true(f->d.abort);
    if (!strstr(f->d.reason, "NVSwitch 2 is missing or failed: every NVSwitch of an HGX B200-class") ||
        !strstr(f->d.reason, "NVLink subnet manager") || strstr(f->d.reason, "lspci"))
        fail_msg("reason: %s", f->d.reason);
    free(f);
}

/* H100: an access-link failure leaves the GPU unable to register; keys ignored. */
static void h100_access_failure_no_register(void **state)
{
    fx *f = *state;
    f->h.access_ok[ofm_fabric_access_at(&f->p, 3, 0)] = false;  /* GPU 1 on switch 3 */
    decide(f, 1, 0, 0, OFM_FABRIC_MODE_BARE_METAL);
    assert_false(f->d.abort);
    assert_true(f->d.gpu_register_fail[0]);
    assert_false(f->d.gpu_p2p[0]);
    assert_true(f->d.gpu_p2p[1]);
    for (size_t i = 0; i < f->p.nswitches; i++)
        assert_false(f->d.switch_disabled[i]);
    assert_int_equal(links(f, 2), 16);
}

/* Same inputs, same decision (pure function). */
static void deterministic(void **state)
{
    fx *f = *state;
    fail_access_gpu1(f);
    fail_trunk_of(f, 5);
    decide(f, 1, 1, 0, OFM_FABRIC_MODE_SHARED);
    ofm_policy_decision *first = malloc(sizeof *first);
    *first = f->d;
    decide(f, 1, 1, 0, OFM_FABRIC_MODE_SHARED);
    assert_memory_equal(first, &f->d, sizeof *first);
    free(first);
}

/* An A100 in MIG mode has its access links off by design: the decision says
 * so, not "failed access links", and no failure mode acts on it (mode 1 must
 * not disable a switch pair for it). */
static void mig_links_off_not_a_failure(void **state)
{
    fx *f = *state;
    for (size_t a = 0; a < f->p.naccess; a++)
        if (f->p.access[a].gpu == 1)
            f->h.access_ok[a] = false;
    f->h.gpu_links_off[0] = true;
    decide(f, 1, 0, 0, OFM_FABRIC_MODE_BARE_METAL);
    assert_false(f->d.abort);
    assert_false(f->d.gpu_p2p[0]);
    assert_true(f->d.gpu_p2p[1]);
    for (size_t si = 0; si < f->p.nswitches; si++)
        assert_false(f->d.switch_disabled[si]);
    assert_false(f->d.bandwidth_reduced);
    assert_non_null(strstr(f->d.reason, "GPU 1 is in MIG mode, which keeps its NVLinks untrained"));
    assert_null(strstr(f->d.reason, "failed access links"));
    decide(f, 0, 0, 0, OFM_FABRIC_MODE_SHARED);
    assert_false(ok(f, 2, G12));
    assert_true(ok(f, 2, G34));
    assert_non_null(strstr(f->d.reason, "removed from NVLink partitions until MIG mode is disabled"));
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup_a100, teardown)
#define H(fn) cmocka_unit_test_setup_teardown(fn, setup_h100, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(access0_bare), T(access0_shared), T(access1_bare), T(access1_shared),
        T(access1_gpu_on_two_switches), T(trunk0_bare), T(trunk0_shared), T(trunk1_bare),
        T(trunk1_shared), T(trunk1_vgpu_falls_back), T(trunk1_two_pairs_aborts),
        T(switch0_bare), T(switch0_shared), T(switch1_bare), T(switch1_shared),
        T(switch1_two_pairs_aborts), T(switch1_same_pair_ok), T(gpu_missing),
        H(h100_switch_missing_aborts), H(h100_access_failure_no_register), T(deterministic),
        cmocka_unit_test(b200_switch_missing_aborts),
        T(mig_links_off_not_a_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
