/* The three operator views agree with each other and with the hardware after
 * a change: `fmctl status --json`, `/metrics` (scraped and parsed as
 * Prometheus would) and `fmctl events`, each checked against the emulator's
 * traffic probe. The link failure and the GPU reset have this check in
 * test_live_status.c / test_metrics.c / test_events.c and test_reset.c;
 * here: MIG enabled (and disabled again) on an A100, and a GPU excluded by
 * the driver across a reboot. */
#include "ops_views.h"
#include "ops_daemon.h"

static uint32_t probe_links(ofm_hal *h, uint32_t src, uint32_t dst)
{
    ofm_emu_probe_result r;
    assert_int_equal(ofm_emu_probe(h, src, dst, true, &r), 0);
    return r.links;
}

typedef struct {
    uint32_t gpu;
    ofm_gpu_mig mig;
    uint32_t usable;
} want_gpu;

static int gpu_is(const ofm_status_doc *doc, const void *arg)
{
    const want_gpu *w = arg;
    const ofm_gpu_status *g = ops_gpu(doc, w->gpu);
    return g && g->mig == w->mig && g->links_usable == w->usable;
}

/* status, metrics and the probe say the same about `gpu`: `usable` links,
 * MIG `mig` */
static void views_agree(ofm_hal *h, unsigned port, uint32_t gpu, uint32_t other, ofm_gpu_mig mig,
                        uint32_t usable)
{
    static ofm_status_doc doc;
    want_gpu w = {gpu, mig, usable};
    ops_wait(&d, &doc, gpu_is, &w, 20000, "the GPU's MIG mode and usable links");
    assert_int_equal(probe_links(h, gpu, other), usable);
    assert_int_equal(probe_links(h, other, gpu), usable);
    json_object *o = ops_scrape(port);
    assert_true(ops_gpu_sample(o, "openfm_gpu_nvlinks_usable", gpu) == usable);
    assert_true(ops_gpu_sample(o, "openfm_gpu_nvlinks_active", gpu) == ops_gpu(&doc, gpu)->links_active);
    assert_true(ops_gpu_sample(o, "openfm_gpu_mig_enabled", gpu) == (mig == OFM_MIG_ENABLED));
    assert_true(ops_sample(o, "openfm_nvlinks_active", "kind", "access") == doc.fabric.access_active);
    json_object_put(o);
}

static void test_mig_a100_views(void **state)
{
    (void)state;
    assert_int_equal(dh_init(&d, "hgx-a100"), 0);
    assert_int_equal(dh_write_config(&d, "OPENFM_METRICS_LISTEN=127.0.0.1:0\n"), 0);
    assert_int_equal(dh_start(&d, NULL, 20000, NULL), 0);
    unsigned port = ops_metrics_port(&d);
    ofm_hal *h = ops_open(&d);
    const ofm_platform *p = ofm_hal_platform(h);
    uint32_t gpu = p->gpus[0].phys_id, other = p->gpus[1].phys_id;
    views_agree(h, port, gpu, other, OFM_MIG_DISABLED, 12);

    /* enable: on an A100 the GPU's NVLinks go down with it */
    assert_int_equal(ops_fmctl("mig --emu-dir %s -i 0 --mode 1", d.emu), 0);
    views_agree(h, port, gpu, other, OFM_MIG_ENABLED, 0);
    ops_evlist l;
    char want[96];
    snprintf(want, sizeof want, "GPU %u: NVLinks usable 12 -> 0", gpu);
    ops_wait_event(&d, &l, "GpuState", want);
    snprintf(want, sizeof want, "GPU %u: MIG mode Disabled -> Enabled", gpu);
    assert_non_null(ops_ev_find(&l, "GpuState", want));
    assert_int_equal(ops_ev_count_gpu(&l, "NVLinkDown", gpu), 12);
    json_object_put(l.all);

    /* disable: the reset that applies it leaves the links down; the fabric
     * manager retrains them and every view follows */
    assert_int_equal(ops_fmctl("mig --emu-dir %s -i 0 --mode 0", d.emu), 0);
    views_agree(h, port, gpu, other, OFM_MIG_DISABLED, 12);
    snprintf(want, sizeof want, "GPU %u: NVLinks usable 0 -> 12", gpu);
    ops_wait_event(&d, &l, "GpuState", want);
    snprintf(want, sizeof want, "GPU %u: MIG mode Enabled -> Disabled", gpu);
    assert_non_null(ops_ev_find(&l, "GpuState", want));
    assert_int_equal(ops_ev_count_gpu(&l, "NVLinkUp", gpu), 12);
    json_object_put(l.all);
    ofm_hal_close(h);
    assert_int_equal(dh_stop(&d, 0), 0);
}

static void test_exclusion_reboot_views(void **state)
{
    (void)state;
    assert_int_equal(dh_init(&d, "hgx-a100"), 0);
    assert_int_equal(dh_write_config(&d, "OPENFM_METRICS_LISTEN=127.0.0.1:0\n"), 0);
    char conf[256];
    snprintf(conf, sizeof conf, "%s/nvidia-openfm.conf", d.dir);
    ofm_hal *h = ops_open(&d);
    const ofm_platform *p = ofm_hal_platform(h);
    uint32_t gone = p->gpus[3].phys_id, peer = p->gpus[0].phys_id;
    assert_int_equal(ops_fmctl("exclude gpu %u --modprobe-file %s --emu-dir %s", gone, conf, d.emu), 0);
    assert_int_equal(ops_fmctl("emu reboot --modprobe-file %s --emu-dir %s", conf, d.emu), 0);
    assert_int_equal(dh_start(&d, NULL, 20000, NULL), 0);
    unsigned port = ops_metrics_port(&d);

    static ofm_status_doc doc;
    ops_status(&d, &doc);
    const ofm_gpu_status *g = ops_gpu(&doc, gone);
    assert_non_null(g);
    assert_true(g->excluded && !g->present);
    assert_int_equal(g->links_usable, probe_links(h, peer, gone));
    assert_int_equal(g->links_usable, 0);
    assert_int_equal(ops_gpu(&doc, peer)->links_usable, probe_links(h, peer, p->gpus[1].phys_id));

    json_object *o = ops_scrape(port);
    assert_true(ops_gpu_sample(o, "openfm_gpu_excluded", gone) == 1);
    assert_true(ops_gpu_sample(o, "openfm_gpu_excluded", peer) == 0);
    assert_true(ops_gpu_sample(o, "openfm_gpu_present", gone) == 0);
    assert_true(ops_gpu_sample(o, "openfm_gpu_nvlinks_usable", gone) == 0);
    assert_true(ops_gpu_sample(o, "openfm_gpu_nvlinks_usable", peer) == ops_gpu(&doc, peer)->links_usable);
    assert_true(ops_sample(o, "openfm_nvlinks_active", "kind", "access") == doc.fabric.access_active);
    json_object_put(o);

    /* the event log starts with how the daemon started: without that GPU */
    ops_evlist l;
    ops_events(&d, 0, &l);
    json_object *started = ops_ev_find(&l, "FabricManagerState", "fabric manager started: READY");
    char want[96];
    snprintf(want, sizeof want, "GPU %u: excluded by the driver (NVreg_ExcludedGpus) at start", gone);
    json_object *ex = ops_ev_find(&l, "GpuState", want);
    if (!started || !ex)
        fail_msg("the event log does not show the start without GPU %u:\n%s", gone, ops_out);
    assert_int_equal(ops_ev_num(ex, "gpu"), gone);
    assert_true(ops_ev_num(started, "seq") < ops_ev_num(ex, "seq"));
    /* and nothing about the GPUs that are there */
    assert_int_equal(ops_ev_count_gpu(&l, "GpuState", peer), 0);
    json_object_put(l.all);
    ofm_hal_close(h);
    assert_int_equal(dh_stop(&d, 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_mig_a100_views, ops_teardown),
        cmocka_unit_test_teardown(test_exclusion_reboot_views, ops_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
