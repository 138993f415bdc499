/* The emulator's MIG model through the HAL: every profile at every placement
 * on every catalogued GPU, hardware rules, holders and reset, reboot
 * persistence per architecture, NVLink interplay on A100 vs H100. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "hal/emu/emu_int.h"
#include "hal/emu/emu_mig.h"
#include "mig/mig.h"
#include "mig/mig_ops.h"
#include "mig_fixture.h"

static void enable(ofm_hal *h, uint32_t gpu)
{
    assert_int_equal(h->ops->mig_mode_set(h, gpu, true), 0);
    assert_int_equal(h->ops->gpu_reset(h, gpu), 0);
    ofm_hal_mig_mode m;
    assert_int_equal(h->ops->mig_mode_get(h, gpu, &m), 0);
    assert_true(m.current && m.pending);
}

static uint32_t default_ci(const ofm_mig_gi_profile *p)
{
    ofm_mig_ci_profile cp[8];
    size_t n = ofm_mig_ci_profiles(p, cp, 8);
    for (size_t i = 0; i < n; i++)
        if (cp[i].is_default)
            return cp[i].id;
    fail_msg("%s has no default CI profile", p->name);
    return 0;
}

static void test_every_profile_every_gpu(void **state)
{
    (void)state;
    for (size_t ci = 0; ci < ofm_mig_catalog_count(); ci++) {
        const ofm_mig_catalog *c = ofm_mig_catalog_at(ci);
        char dir[64], what[64];
        snprintf(what, sizeof what, "model:%s", c->models[0]);
        ofm_hal *h = mig_fixture_open(what, dir, sizeof dir);
        assert_non_null(h);
        enable(h, 1);
        for (size_t pi = 0; pi < c->nprofiles; pi++) {
            const ofm_mig_gi_profile *p = &c->profiles[pi];
            for (size_t k = 0; k < p->nplacements; k++) {
                uint32_t gi, cid;
                if (h->ops->gi_create(h, 1, p->id, p->placements[k], 0, &gi))
                    fail_msg("%s %s@%u: %s", c->name, p->name, p->placements[k],
                             ofm_hal_last_error(h));
                ofm_hal_gpu_instance l[16];
                size_t n;
                assert_int_equal(h->ops->gi_list(h, 1, l, 16, &n), 0);
                assert_int_equal(n, 1);
                assert_int_equal(l[0].gi_id, gi);
                assert_int_equal(l[0].profile_id, p->id);
                assert_int_equal(l[0].start, p->placements[k]);
                assert_int_equal(l[0].size, p->slices);
                assert_int_equal(h->ops->ci_create(h, 1, gi, default_ci(p), 0, 0, &cid), 0);
                assert_int_equal(h->ops->gi_destroy(h, 1, gi), OFM_HAL_EBUSY);
                assert_non_null(strstr(ofm_hal_last_error(h), "In use by another client"));
                assert_int_equal(h->ops->ci_destroy(h, 1, gi, cid), 0);
                assert_int_equal(h->ops->gi_destroy(h, 1, gi), 0);
                assert_int_equal(h->ops->gi_list(h, 1, l, 16, &n), 0);
                assert_int_equal(n, 0);
            }
            /* fill to the profile's limit through the engine, then one more fails */
            uint32_t want[16], out[16], ids[16];
            size_t maxn = p->max;
            for (size_t i = 0; i < maxn; i++)
                want[i] = p->id;
            char why[300];
            size_t fits = maxn;
            while (fits && ofm_mig_place(c, NULL, 0, want, fits, out, why, sizeof why))
                fits--;
            assert_true(fits >= 1);
            for (size_t i = 0; i < fits; i++)
                assert_int_equal(h->ops->gi_create(h, 1, p->id, out[i], 0, &ids[i]), 0);
            uint32_t extra;
            int rc = OFM_HAL_ENOSPC;
            for (size_t k = 0; k < p->nplacements && rc == OFM_HAL_ENOSPC; k++)
                rc = h->ops->gi_create(h, 1, p->id, p->placements[k], 0, &extra);
            assert_int_equal(rc, OFM_HAL_ENOSPC);
            assert_non_null(strstr(ofm_hal_last_error(h), "Insufficient Resources"));
            for (size_t i = 0; i < fits; i++)
                assert_int_equal(h->ops->gi_destroy(h, 1, ids[i]), 0);
        }
        mig_fixture_close(h, dir);
    }
}

static void test_a100_rules(void **state)
{
    (void)state;
    char dir[64];
    ofm_hal *h = mig_fixture_open("hgx-a100", dir, sizeof dir);
    assert_non_null(h);
    uint32_t gi;
    /* not enabled yet */
    assert_int_equal(h->ops->gi_create(h, 1, 9, 0, 0, &gi), OFM_HAL_ENOTSUP);
    enable(h, 1);
    /* the ordering trap with chosen placements: 1g@6, 1g@5? no: engine picks */
    uint32_t want[] = {19, 19, 14, 9}, out[4], ids[4];
    char why[300];
    assert_int_equal(ofm_mig_place(ofm_mig_catalog_by_name("A100-80GB"), NULL, 0, want, 4, out,
                                   why, sizeof why), 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(h->ops->gi_create(h, 1, want[i], out[i], 0, &ids[i]), 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(h->ops->gi_destroy(h, 1, ids[i]), 0);
    /* naive first fit 1g@0, 1g@1, 2g@2 blocks every 3g */
    assert_int_equal(h->ops->gi_create(h, 1, 19, 0, 0, &ids[0]), 0);
    assert_int_equal(h->ops->gi_create(h, 1, 19, 1, 0, &ids[1]), 0);
    assert_int_equal(h->ops->gi_create(h, 1, 14, 2, 0, &ids[2]), 0);
    assert_int_equal(h->ops->gi_create(h, 1, 9, 0, 0, &gi), OFM_HAL_ENOSPC);
    assert_int_equal(h->ops->gi_create(h, 1, 9, 4, 0, &gi), 0); /* 4-7 still free */
    assert_int_equal(h->ops->gi_create(h, 1, 19, 6, 0, &ids[3]), OFM_HAL_ENOSPC);
    for (int i = 0; i < 3; i++)
        assert_int_equal(h->ops->gi_destroy(h, 1, ids[i]), 0);
    assert_int_equal(h->ops->gi_destroy(h, 1, gi), 0);
    /* +me once; 3g+3g fills; 4g+3g allowed */
    assert_int_equal(h->ops->gi_create(h, 1, 20, 0, 0, &ids[0]), 0);
    assert_int_equal(h->ops->gi_create(h, 1, 20, 1, 0, &ids[1]), OFM_HAL_ENOSPC);
    assert_non_null(strstr(ofm_hal_last_error(h), "at most 1 instance of 1g.10gb+me"));
    assert_int_equal(h->ops->gi_destroy(h, 1, ids[0]), 0);
    assert_int_equal(h->ops->gi_create(h, 1, 9, 0, 0, &ids[0]), 0);
    assert_int_equal(h->ops->gi_create(h, 1, 9, 4, 0, &ids[1]), 0);
    for (uint32_t s = 0; s < 7; s++)
        assert_int_equal(h->ops->gi_create(h, 1, 19, s, 0, &gi), OFM_HAL_ENOSPC);
    assert_int_equal(h->ops->gi_destroy(h, 1, ids[0]), 0);
    assert_int_equal(h->ops->gi_create(h, 1, 5, 0, 0, &ids[0]), 0);
    /* IDs come from the driver and are listed back */
    ofm_hal_gpu_instance l[8];
    size_t n;
    assert_int_equal(h->ops->gi_list(h, 1, l, 8, &n), 0);
    assert_int_equal(n, 2);
    assert_true(l[0].gi_id < l[1].gi_id);
    /* CIs: 1c x3 inside a 3g, then no room */
    uint32_t cis[4];
    for (uint32_t s = 0; s < 3; s++)
        assert_int_equal(h->ops->ci_create(h, 1, ids[1], 0, s, 0, &cis[s]), 0);
    assert_int_equal(h->ops->ci_create(h, 1, ids[1], 2, 0, 0, &cis[3]), OFM_HAL_ENOSPC);
    ofm_hal_compute_instance cl[8];
    assert_int_equal(h->ops->ci_list(h, 1, ids[1], cl, 8, &n), 0);
    assert_int_equal(n, 3);
    /* disabling with instances is refused */
    assert_int_equal(h->ops->mig_mode_set(h, 1, false), OFM_HAL_EBUSY);
    char sum[128];
    ofm_mig_summary(h, 1, sum, sizeof sum);
    assert_string_equal(sum, "Enabled, 2 GPU instances");
    mig_fixture_close(h, dir);
}

static void test_holder_blocks_reset(void **state)
{
    (void)state;
    char dir[64];
    ofm_hal *h = mig_fixture_open("hgx-a100", dir, sizeof dir);
    assert_non_null(h);
    assert_int_equal(ofm_emu_mig_hold(h, 1, 1), 0);
    assert_int_equal(h->ops->mig_mode_set(h, 1, true), 0);
    assert_int_equal(h->ops->gpu_reset(h, 1), OFM_HAL_EBUSY);
    assert_non_null(strstr(ofm_hal_last_error(h), "In use by another client"));
    ofm_hal_mig_mode m;
    assert_int_equal(h->ops->mig_mode_get(h, 1, &m), 0);
    assert_false(m.current);
    assert_true(m.pending);
    char sum[128];
    ofm_mig_summary(h, 1, sum, sizeof sum);
    assert_string_equal(sum, "Disabled (pending enable: reset the GPU)");
    assert_int_equal(ofm_emu_mig_hold(h, 1, -1), 0);
    assert_int_equal(ofm_emu_mig_hold(h, 1, -1), OFM_HAL_EINVAL);
    assert_int_equal(h->ops->gpu_reset(h, 1), 0);
    assert_int_equal(h->ops->mig_mode_get(h, 1, &m), 0);
    assert_true(m.current);
    mig_fixture_close(h, dir);
}

static ofm_link_state gpu_link0(ofm_hal *h, uint32_t gpu)
{
    ofm_hal_link l;
    assert_int_equal(h->ops->gpu_link(h, gpu, 0, &l), 0);
    return l.state;
}

static void train_gpu(ofm_hal *h, uint32_t gpu)
{
    const ofm_platform *p = ofm_hal_platform(h);
    for (size_t i = 0; i < p->naccess; i++)
        if (p->access[i].gpu == gpu)
            assert_int_equal(h->ops->train_port(h, p->access[i].sw, p->access[i].sw_port), 0);
}

static void test_a100_nvlink_interplay(void **state)
{
    (void)state;
    char dir[64];
    ofm_hal *h = mig_fixture_open("hgx-a100", dir, sizeof dir);
    assert_non_null(h);
    train_gpu(h, 1);
    assert_int_equal(gpu_link0(h, 1), OFM_LINK_ACTIVE);
    enable(h, 1);
    assert_int_equal(gpu_link0(h, 1), OFM_LINK_OFF);
    assert_int_equal(gpu_link0(h, 2), OFM_LINK_OFF); /* untouched, never trained */
    /* disable without a fabric manager: links stay down */
    assert_int_equal(h->ops->mig_mode_set(h, 1, false), 0);
    assert_int_equal(h->ops->gpu_reset(h, 1), 0);
    assert_false(ofm_emu_fm_running(h));
    assert_int_equal(gpu_link0(h, 1), OFM_LINK_OFF);
    /* with one holding the system: still down, the emulator does not
     * retrain them for it (the fabric manager trains them, FM §13.9) */
    enable(h, 1);
    assert_int_equal(ofm_emu_fm_attach(h), 0);
    assert_true(ofm_emu_fm_running(h));
    assert_int_equal(h->ops->mig_mode_set(h, 1, false), 0);
    assert_int_equal(h->ops->gpu_reset(h, 1), 0);
    assert_int_equal(gpu_link0(h, 1), OFM_LINK_OFF);
    train_gpu(h, 1);
    assert_int_equal(gpu_link0(h, 1), OFM_LINK_ACTIVE);
    ofm_emu_fm_detach(h);
    /* Ampere keeps the mode across a reboot, instances do not survive */
    enable(h, 1);
    uint32_t gi;
    assert_int_equal(h->ops->gi_create(h, 1, 0, 0, 0, &gi), 0);
    assert_int_equal(ofm_emu_reboot(h), 0);
    ofm_hal_mig_mode m;
    assert_int_equal(h->ops->mig_mode_get(h, 1, &m), 0);
    assert_true(m.current);
    ofm_hal_gpu_instance l[4];
    size_t n;
    assert_int_equal(h->ops->gi_list(h, 1, l, 4, &n), 0);
    assert_int_equal(n, 0);
    mig_fixture_close(h, dir);
}

static void test_h100_links_stay_up(void **state)
{
    (void)state;
    char dir[64];
    ofm_hal *h = mig_fixture_open("hgx-h100", dir, sizeof dir);
    assert_non_null(h);
    const ofm_platform *p = ofm_hal_platform(h);
    uint32_t g = p->gpus[0].phys_id;
    assert_int_equal(gpu_link0(h, g), OFM_LINK_ACTIVE); /* ALI */
    /* Hopper switches mode without an explicit reset when nobody holds it */
    assert_int_equal(h->ops->mig_mode_set(h, g, true), 0);
    ofm_hal_mig_mode m;
    assert_int_equal(h->ops->mig_mode_get(h, g, &m), 0);
    assert_true(m.current);
    assert_int_equal(gpu_link0(h, g), OFM_LINK_ACTIVE);
    uint32_t gi;
    assert_int_equal(h->ops->gi_create(h, g, 9, 4, 0, &gi), 0);
    /* Hopper loses MIG mode across a reboot */
    assert_int_equal(ofm_emu_reboot(h), 0);
    assert_int_equal(h->ops->mig_mode_get(h, g, &m), 0);
    assert_false(m.current);
    assert_false(m.pending);
    assert_int_equal(gpu_link0(h, g), OFM_LINK_ACTIVE);
    mig_fixture_close(h, dir);
}

static void test_no_mig_and_corruption(void **state)
{
    (void)state;
    char dir[64];
    ofm_hal *h = mig_fixture_open("hgx-2", dir, sizeof dir);
    assert_non_null(h);
    const ofm_platform *p = ofm_hal_platform(h);
    ofm_hal_mig_mode m;
    assert_int_equal(h->ops->mig_mode_get(h, p->gpus[0].phys_id, &m), OFM_HAL_ENOTSUP);
    assert_non_null(strstr(ofm_hal_last_error(h), "does not support MIG"));
    char sum[128];
    ofm_mig_summary(h, p->gpus[0].phys_id, sum, sizeof sum);
    assert_string_equal(sum, "N/A");
    mig_fixture_close(h, dir);

    h = mig_fixture_open("hgx-a100", dir, sizeof dir);
    assert_non_null(h);
    enable(h, 1);
    char path[128];
    snprintf(path, sizeof path, "%s/mig.state", dir);
    FILE *f = fopen(path, "r+");
    assert_non_null(f);
    fseek(f, 20, SEEK_SET);
    fputc('9', f);
    fclose(f);
    assert_int_equal(h->ops->mig_mode_get(h, 1, &m), OFM_HAL_ECORRUPT);
    assert_non_null(strstr(ofm_hal_last_error(h), "mig.state"));
    f = fopen(path, "w");
    fputs("openfm-mig-state v1\n", f);
    fclose(f);
    assert_int_equal(h->ops->mig_mode_get(h, 1, &m), OFM_HAL_ECORRUPT);
    /* a valid checksum over impossible records is still refused, with the line */
    const char *body = "openfm-mig-state v1\ngpu 1 1 1 0\ngi 1 1 9 0 4\nci 1 1 0 2 0 40\n";
    f = fopen(path, "w");
    fprintf(f, "%send %08x\n", body, emu_crc32(body, strlen(body), 0));
    fclose(f);
    assert_int_equal(h->ops->mig_mode_get(h, 1, &m), OFM_HAL_ECORRUPT);
    assert_non_null(strstr(ofm_hal_last_error(h), "mig.state:4: malformed record"));
    mig_fixture_close(h, dir);
}

/* Processes racing to create 1g instances: mig.lock serialises them, so
 * exactly 7 succeed (the rest see Insufficient Resources) and none overlap. */
static void test_concurrent_creators(void **state)
{
    (void)state;
    char dir[64];
    ofm_hal *h = mig_fixture_open("hgx-a100", dir, sizeof dir);
    assert_non_null(h);
    enable(h, 1);
    enum { KIDS = 6, EACH = 3 };
    pid_t pids[KIDS];
    for (int k = 0; k < KIDS; k++) {
        pids[k] = fork();
        assert_true(pids[k] >= 0);
        if (pids[k] == 0) {
            ofm_hal *ch;
            char err[256];
            if (ofm_emu_open(dir, &ch, err, sizeof err))
                _exit(100);
            int made = 0;
            for (int i = 0; i < EACH; i++)
                for (uint32_t s = 0; s < 7; s++) {
                    uint32_t gi;
                    int rc = ch->ops->gi_create(ch, 1, 19, s, 0, &gi);
                    if (rc == 0) {
                        made++;
                        break;
                    }
                    if (rc != OFM_HAL_ENOSPC)
                        _exit(101);
                }
            ofm_hal_close(ch);
            _exit(made);
        }
    }
    int total = 0;
    for (int k = 0; k < KIDS; k++) {
        int st;
        assert_int_equal(waitpid(pids[k], &st, 0), pids[k]);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) <= EACH);
        total += WEXITSTATUS(st);
    }
    assert_int_equal(total, 7);
    ofm_hal_gpu_instance l[16];
    size_t n;
    assert_int_equal(h->ops->gi_list(h, 1, l, 16, &n), 0);
    assert_int_equal(n, 7);
    uint32_t used = 0;
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(used & (1u << l[i].start), 0);
        used |= 1u << l[i].start;
    }
    mig_fixture_close(h, dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_profile_every_gpu),
        cmocka_unit_test(test_a100_rules),
        cmocka_unit_test(test_holder_blocks_reset),
        cmocka_unit_test(test_a100_nvlink_interplay),
        cmocka_unit_test(test_h100_links_stay_up),
        cmocka_unit_test(test_no_mig_and_corruption),
        cmocka_unit_test(test_concurrent_creators),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
