/* ofm_relink_scan (FM §13.9) on an emulated HGX A100 after bring-up, judged
 * by the emulator's traffic probe: a reset GPU's switch-side links are reset,
 * retrained and routed again, once per reset; what does not look like a reset
 * is left alone (one failed link, a GPU in MIG mode, a GPU off the bus); a
 * failed link of a reset GPU stays failed while the others come back; links
 * of a switch that failed are not tried. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "manager/manager.h"
#include "openfm/emu.h"
#include "openfm/log.h"

static void quiet(void *ctx, ofm_log_level level, const char *msg)
{
    (void)ctx;
    (void)level;
    (void)msg;
}

typedef struct {
    char dir[64];
    ofm_hal *h;
    ofm_fabric_status st;
    ofm_fabric_ctx ctx;
    ofm_relink rl;
    ofm_relink_result res[OFM_MAX_GPUS];
} fx;

static fx *up(void)
{
    fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/ofm-relink-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    char err[512];
    if (ofm_emu_create(f->dir, "hgx-a100", true, err, sizeof err) != OFM_HAL_OK ||
        ofm_emu_open(f->dir, &f->h, err, sizeof err) != OFM_HAL_OK)
        fail_msg("%s", err);
    ofm_log_set_sink(quiet, NULL);
    ofm_bringup_opts o = {.ali_wait_ms = 50};
    ofm_fabric_status_init(&f->st);
    assert_int_equal(ofm_bringup(f->h, &o, &f->st, &f->ctx), 0);
    ofm_fabric_status_refresh(f->h, &f->ctx, &f->st);
    ofm_relink_init(&f->rl);
    return f;
}

static void down(fx *f)
{
    char err[512];
    ofm_log_set_sink(NULL, NULL);
    ofm_hal_close(f->h);
    ofm_emu_destroy(f->dir, err, sizeof err);
    rmdir(f->dir);
    free(f);
}

/* What the daemon does after each live refresh. */
static size_t scan(fx *f)
{
    ofm_fabric_status_refresh(f->h, &f->ctx, &f->st);
    size_t n = ofm_relink_scan(&f->rl, f->h, &f->ctx, &f->st, f->res, OFM_MAX_GPUS);
    ofm_fabric_status_refresh(f->h, &f->ctx, &f->st);
    return n;
}

static uint32_t links(fx *f, uint32_t a, uint32_t b)
{
    ofm_emu_probe_result r;
    assert_int_equal(ofm_emu_probe(f->h, a, b, true, &r), 0);
    return r.links;
}

static const ofm_access_link *access_of(fx *f, uint32_t gpu, size_t k)
{
    const ofm_platform *p = &f->ctx.platform;
    for (size_t a = 0; a < p->naccess; a++)
        if (p->access[a].gpu == gpu && k-- == 0)
            return &p->access[a];
    fail_msg("GPU %u has no access link %zu", gpu, k);
    return NULL;
}

static void test_reset_is_retrained_once(void **state)
{
    (void)state;
    fx *f = up();
    uint32_t g = f->ctx.platform.gpus[2].phys_id, peer = f->ctx.platform.gpus[0].phys_id;
    assert_int_equal(scan(f), 0); /* nothing to do on a healthy fabric */
    assert_int_equal(f->h->ops->gpu_reset(f->h, g), 0);
    assert_int_equal(links(f, g, peer), 0);
    assert_int_equal(scan(f), 1);
    assert_int_equal(f->res[0].gpu, g);
    assert_int_equal(f->res[0].ports, 12);
    assert_int_equal(f->res[0].trained, 12);
    assert_int_equal(f->res[0].failed, 0);
    assert_false(f->res[0].route_error);
    assert_true(f->res[0].routes > 0);
    /* routed again both ways: the port resets dropped the GPU's ingress entries */
    assert_int_equal(links(f, g, peer), 12);
    assert_int_equal(links(f, peer, g), 12);
    assert_int_equal(scan(f), 0);
    /* a second reset is a second episode */
    assert_int_equal(f->h->ops->gpu_reset(f->h, g), 0);
    assert_int_equal(scan(f), 1);
    assert_int_equal(links(f, g, peer), 12);
    down(f);
}

static void test_not_a_reset(void **state)
{
    (void)state;
    fx *f = up();
    const ofm_platform *p = &f->ctx.platform;
    uint32_t g0 = p->gpus[0].phys_id, g1 = p->gpus[1].phys_id, g3 = p->gpus[3].phys_id;
    /* one failed link: not touched, stays failed */
    const ofm_access_link *a = access_of(f, g0, 0);
    assert_int_equal(ofm_emu_inject_port_down(f->h, a->sw, a->sw_port), 0);
    assert_int_equal(scan(f), 0);
    assert_int_equal(links(f, g0, g1), 11);
    /* MIG on (an A100 loses its links with it): left untrained */
    assert_int_equal(f->h->ops->mig_mode_set(f->h, g1, true), 0);
    assert_int_equal(f->h->ops->gpu_reset(f->h, g1), 0);
    assert_int_equal(scan(f), 0);
    assert_int_equal(links(f, g1, g3), 0);
    /* ... and MIG off again (the reset applying it leaves them down): retrained */
    assert_int_equal(f->h->ops->mig_mode_set(f->h, g1, false), 0);
    assert_int_equal(f->h->ops->gpu_reset(f->h, g1), 0);
    assert_int_equal(scan(f), 1);
    assert_int_equal(links(f, g1, g3), 12);
    /* a GPU off the bus: not retrained */
    assert_int_equal(ofm_emu_inject_gpu(f->h, g3, OFM_DEV_MISSING), 0);
    assert_int_equal(scan(f), 0);
    down(f);
}

static void test_failed_links_and_switches(void **state)
{
    (void)state;
    fx *f = up();
    const ofm_platform *p = &f->ctx.platform;
    uint32_t g = p->gpus[4].phys_id, peer = p->gpus[5].phys_id;
    /* a link that failed before the reset stays failed; the others return */
    const ofm_access_link *a = access_of(f, g, 0);
    assert_int_equal(ofm_emu_inject_port_down(f->h, a->sw, a->sw_port), 0);
    assert_int_equal(f->h->ops->gpu_reset(f->h, g), 0);
    assert_int_equal(scan(f), 1);
    assert_int_equal(f->res[0].ports, 11);
    assert_int_equal(f->res[0].trained, 11);
    assert_int_equal(links(f, g, peer), 11);
    /* a failed switch: its links are not tried, the rest return */
    uint32_t sw = access_of(f, g, 1)->sw;
    assert_int_equal(ofm_emu_inject_switch(f->h, sw, OFM_DEV_FAILED), 0);
    assert_int_equal(f->h->ops->gpu_reset(f->h, g), 0);
    assert_int_equal(scan(f), 1);
    assert_int_equal(f->res[0].failed, 0);
    assert_true(f->res[0].trained > 0 && f->res[0].trained < 11);
    assert_int_equal(links(f, g, peer), f->res[0].trained);
    down(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reset_is_retrained_once),
        cmocka_unit_test(test_not_a_reset),
        cmocka_unit_test(test_failed_links_and_switches),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
