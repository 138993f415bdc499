/* Live status: after a runtime change (an injected link failure, MIG enabled
 * on an A100, a partition activated) `fmctl status --json` follows within a
 * generous deadline and agrees with the emulator's traffic probe, and the
 * human view says the same thing. */
#include "ops_fixture.h"
#include "ops_daemon.h"

typedef struct {
    uint32_t gpu;
    uint32_t usable;
} want_links;

static int gpu_usable_is(const ofm_status_doc *doc, const void *arg)
{
    const want_links *w = arg;
    const ofm_gpu_status *g = ops_gpu(doc, w->gpu);
    return g && g->links_usable == w->usable;
}

static int gpu_mig_enabled(const ofm_status_doc *doc, const void *arg)
{
    const ofm_gpu_status *g = ops_gpu(doc, *(const uint32_t *)arg);
    return g && g->mig == OFM_MIG_ENABLED && g->links_usable == 0;
}

/* Links from src that the programmed tables deliver to some other GPU. */
static uint32_t probe_links(ofm_hal *h, uint32_t src, uint32_t dst)
{
    ofm_emu_probe_result r;
    assert_int_equal(ofm_emu_probe(h, src, dst, true, &r), 0);
    return r.links;
}

static void test_link_failure(void **state)
{
    (void)state;
    assert_int_equal(dh_init(&d, "hgx-a100"), 0);
    assert_int_equal(dh_write_config(&d, NULL), 0);
    assert_int_equal(dh_start(&d, NULL, 20000, NULL), 0);
    static ofm_status_doc doc;
    ofm_hal *h = ops_open(&d);
    const ofm_platform *p = ofm_hal_platform(h);
    const ofm_access_link *a = &p->access[0];
    uint32_t gpu = a->gpu, other = p->gpus[0].phys_id == gpu ? p->gpus[1].phys_id : p->gpus[0].phys_id;

    ops_status(&d, &doc);
    assert_int_equal(doc.schema_version, OFM_STATUS_SCHEMA_VERSION);
    assert_int_equal(ops_gpu(&doc, gpu)->links_usable, probe_links(h, gpu, other));
    assert_int_equal(ops_gpu(&doc, gpu)->links_usable, 12);
    uint32_t access_before = doc.fabric.access_active;
    uint64_t gen_before = doc.fabric.generation;

    assert_int_equal(ops_fmctl("emu inject link-down --switch %u --port %u --emu-dir %s", a->sw,
                               a->sw_port, d.emu), 0);
    want_links w = {gpu, 11};
    ops_wait(&d, &doc, gpu_usable_is, &w, 20000, "11 usable links after the link failure");
    /* the status agrees with what the hardware actually carries */
    assert_int_equal(probe_links(h, gpu, other), 11);
    assert_int_equal(doc.fabric.access_active, access_before - 1);
    assert_true(doc.fabric.generation > gen_before);
    int si = -1;
    for (size_t i = 0; i < doc.fabric.nswitches; i++)
        if (doc.fabric.switches[i].id == a->sw)
            si = (int)i;
    assert_true(si >= 0);
    assert_int_equal(doc.fabric.switches[si].links_active, doc.fabric.switches[si].links_expected - 1);
    /* the last error names the failed link */
    size_t ne = ofm_fabric_status_error_count(&doc.fabric);
    assert_true(ne >= 1);
    const ofm_fabric_error *e = ofm_fabric_status_error(&doc.fabric, ne - 1);
    assert_int_equal(e->kind, OFM_EVT_LINK_DOWN);
    assert_int_equal(e->sw, a->sw);
    assert_int_equal(e->port, a->sw_port);

    /* the human view comes from the same structure */
    ops_fmctl("status --socket %s", d.sock);
    char *g = strstr(ops_out, "\nGPU ");
    char line[64];
    snprintf(line, sizeof line, "NVLinks usable        : 11/12");
    if (!g || !strstr(ops_out, line))
        fail_msg("human status lacks '%s':\n%s", line, ops_out);

    /* repair: ALI links come back by themselves on gen3 only; A100 is gen2 */
    assert_int_equal(ops_fmctl("emu inject link-repair --switch %u --port %u --emu-dir %s", a->sw,
                               a->sw_port, d.emu), 0);
    ofm_hal_close(h);
    assert_int_equal(dh_stop(&d, 0), 0);
    dh_cleanup(&d);
    memset(&d, 0, sizeof d);
}

static void test_mig_enable_a100(void **state)
{
    (void)state;
    assert_int_equal(dh_init(&d, "hgx-a100"), 0);
    assert_int_equal(dh_write_config(&d, NULL), 0);
    assert_int_equal(dh_start(&d, NULL, 20000, NULL), 0);
    static ofm_status_doc doc;
    ofm_hal *h = ops_open(&d);
    const ofm_platform *p = ofm_hal_platform(h);
    uint32_t gpu = p->gpus[0].phys_id, other = p->gpus[1].phys_id;

    ops_status(&d, &doc);
    assert_int_equal(ops_gpu(&doc, gpu)->mig, OFM_MIG_DISABLED);
    assert_int_equal(ops_fmctl("mig --emu-dir %s -i 0 --mode 1", d.emu), 0);
    ops_wait(&d, &doc, gpu_mig_enabled, &gpu, 20000, "MIG enabled with no usable links");
    assert_int_equal(probe_links(h, gpu, other), 0);
    assert_int_equal(ops_gpu(&doc, other)->links_usable, probe_links(h, other, p->gpus[2].phys_id));
    assert_int_equal(ops_gpu(&doc, other)->links_usable, 12);
    assert_int_equal(ops_gpu(&doc, other)->mig, OFM_MIG_DISABLED);

    ops_fmctl("status --socket %s", d.sock);
    if (!strstr(ops_out, "NVLinks usable        : 0/12") ||
        !strstr(ops_out, "MIG Mode              : Enabled, 0 GPU instances"))
        fail_msg("human status does not show the MIG GPU:\n%s", ops_out);

    /* disabling resets the GPU; fmctl returns once the fabric manager has
     * retrained its links, so traffic arrives over all 12 at once */
    assert_int_equal(ops_fmctl("mig --emu-dir %s -i 0 --mode 0", d.emu), 0);
    if (!strstr(ops_out, "the fabric manager reset and retrained its 12 switch-side NVLinks"))
        fail_msg("fmctl mig --mode 0 did not wait for the links:\n%s", ops_out);
    assert_int_equal(probe_links(h, gpu, other), 12);
    assert_int_equal(probe_links(h, other, gpu), 12);
    want_links w = {gpu, 12};
    ops_wait(&d, &doc, gpu_usable_is, &w, 20000, "12 usable links after MIG is disabled");
    assert_int_equal(ops_gpu(&doc, gpu)->mig, OFM_MIG_DISABLED);
    assert_int_equal(probe_links(h, gpu, other), 12);

    /* a mig-parted config turning MIG off waits the same way */
    assert_int_equal(ops_fmctl("mig --emu-dir %s -i 0 --mode 1", d.emu), 0);
    ops_wait(&d, &doc, gpu_mig_enabled, &gpu, 20000, "MIG enabled before apply");
    char cfg[sizeof d.dir + 32];
    snprintf(cfg, sizeof cfg, "%s/off.yaml", d.dir);
    FILE *cf = fopen(cfg, "w");
    assert_non_null(cf);
    fputs("version: v1\nmig-configs:\n  off:\n    - devices: [0]\n      mig-enabled: false\n"
          "      mig-devices: {}\n", cf);
    fclose(cf);
    assert_int_equal(ops_fmctl("mig --emu-dir %s apply -f %s -c off", d.emu, cfg), 0);
    if (!strstr(ops_out, "the fabric manager reset and retrained its 12 switch-side NVLinks"))
        fail_msg("fmctl mig apply did not wait for the links:\n%s", ops_out);
    assert_int_equal(probe_links(h, gpu, other), 12);

    /* a link that cannot train: fmctl mig names what did not come back */
    assert_int_equal(ops_fmctl("mig --emu-dir %s -i 0 --mode 1", d.emu), 0);
    ops_wait(&d, &doc, gpu_mig_enabled, &gpu, 20000, "MIG enabled again");
    const ofm_access_link *bad = NULL;
    for (size_t i = 0; i < p->naccess && !bad; i++)
        if (p->access[i].gpu == gpu)
            bad = &p->access[i];
    assert_non_null(bad);
    assert_int_equal(ofm_emu_inject_port_down(h, bad->sw, bad->sw_port), 0);
    assert_int_equal(ops_fmctl("mig --emu-dir %s -i 0 --mode 0 --wait-timeout 20", d.emu), 1);
    if (!strstr(ops_out, "MIG mode is disabled, but only 11 of its 12 switch-side NVLinks came back"))
        fail_msg("no word about the link that did not come back:\n%s", ops_out);
    assert_int_equal(probe_links(h, gpu, other), 11);
    assert_int_equal(dh_stop(&d, 0), 0);
    assert_int_equal(ops_fmctl("emu inject link-repair --switch %u --port %u --emu-dir %s", bad->sw,
                               bad->sw_port, d.emu), 0);

    /* without a fabric manager nobody retrains them: fmctl says so, no wait */
    assert_int_equal(ops_fmctl("mig --emu-dir %s -i 0 --mode 1", d.emu), 0);
    uint64_t t0 = ops_now_ms();
    assert_int_equal(ops_fmctl("mig --emu-dir %s -i 0 --mode 0 --wait-timeout 60", d.emu), 0);
    assert_true(ops_now_ms() - t0 < 30000);
    if (!strstr(ops_out, "its 12 switch-side NVLinks stay down until a fabric manager resets and "
                         "retrains them"))
        fail_msg("no note about the links:\n%s", ops_out);
    assert_int_equal(probe_links(h, gpu, other), 0);
    assert_int_equal(ops_fmctl("mig --emu-dir %s -i 0 --mode 0 --wait-timeout 0", d.emu), 2);
    ofm_hal_close(h);
    dh_cleanup(&d);
    memset(&d, 0, sizeof d);
}

static int gpu_in_partition(const ofm_status_doc *doc, const void *arg)
{
    const uint32_t *a = arg; /* gpu, partition */
    const ofm_gpu_status *g = ops_gpu(doc, a[0]);
    return g && g->partition == (int32_t)a[1];
}

static void test_partition_shared(void **state)
{
    (void)state;
    assert_int_equal(dh_init(&d, "hgx-h100"), 0);
    assert_int_equal(dh_write_config(&d, "FABRIC_MODE=1\n"), 0);
    assert_int_equal(dh_start(&d, NULL, 20000, NULL), 0);
    static ofm_status_doc doc;
    ops_status(&d, &doc);
    assert_true(doc.have_partitions);
    /* a two-GPU partition */
    const ofm_pm_entry *pe = NULL;
    for (size_t i = 0; i < doc.npartitions && !pe; i++)
        if (doc.partitions[i].ngpus == 2 && doc.partitions[i].supported)
            pe = &doc.partitions[i];
    assert_non_null(pe);
    uint32_t arg[2] = {pe->gpus[0], pe->id};
    assert_int_equal(ops_gpu(&doc, arg[0])->partition, -1);
    assert_int_equal(ops_fmctl("partition activate %u --socket %s", pe->id, d.sock), 0);
    ops_wait(&d, &doc, gpu_in_partition, arg, 20000, "the GPU in its activated partition");
    ofm_hal *h = ops_open(&d);
    ofm_emu_probe_result r;
    assert_int_equal(ofm_emu_probe(h, pe->gpus[0], pe->gpus[1], true, &r), 0);
    assert_true(r.arrives);
    ofm_hal_close(h);
    assert_int_equal(ops_fmctl("partition deactivate %u --socket %s", arg[1], d.sock), 0);
    arg[1] = (uint32_t)-1;
    ops_wait(&d, &doc, gpu_in_partition, arg, 20000, "the GPU out of any partition");
    assert_int_equal(dh_stop(&d, 0), 0);
    dh_cleanup(&d);
    memset(&d, 0, sizeof d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_link_failure, ops_teardown),
        cmocka_unit_test_teardown(test_mig_enable_a100, ops_teardown),
        cmocka_unit_test_teardown(test_partition_shared, ops_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
