/* Exclusion (FM §9.6): `fmctl exclude` writes the driver's list into a
 * modprobe file without touching its other lines; after `fmctl emu reboot`
 * the device is off the bus, the daemon starts without it and its log says it
 * is excluded, `fmctl status --json` no longer counts it and the traffic probe
 * reaches it over no link; `fmctl include` and another reboot bring it back. */
#include <sys/stat.h>

#include "ops_fixture.h"
#include "openfm/modprobe.h"

#define OTHER_LINES "# site settings, not openfm's\noptions nvidia NVreg_EnableGpuFirmware=0\n"

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    static char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    return strdup(buf);
}

static void spit(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static uint32_t probe_links(ofm_hal *h, uint32_t src, uint32_t dst)
{
    ofm_emu_probe_result r;
    assert_int_equal(ofm_emu_probe(h, src, dst, true, &r), 0);
    return r.links;
}

static void test_exclude_gpu_reboot_include(void **state)
{
    (void)state;
    dh_daemon d;
    assert_int_equal(dh_init(&d, "hgx-a100"), 0);
    assert_int_equal(dh_write_config(&d, NULL), 0);
    char conf[256];
    snprintf(conf, sizeof conf, "%s/nvidia-openfm.conf", d.dir);
    spit(conf, OTHER_LINES);

    ofm_hal *h = ops_open(&d);
    const ofm_platform *p = ofm_hal_platform(h);
    uint32_t gone = p->gpus[3].phys_id, peer = p->gpus[0].phys_id;
    ofm_hal_gpu gpus[OFM_MAX_GPUS];
    size_t n;
    assert_int_equal(h->ops->list_gpus(h, gpus, OFM_MAX_GPUS, &n), 0);
    char uuid[80] = "";
    for (size_t i = 0; i < n; i++)
        if (gpus[i].phys_id == gone)
            snprintf(uuid, sizeof uuid, "%s", gpus[i].uuid);
    assert_true(uuid[0] != 0);
    char want_line[200];
    snprintf(want_line, sizeof want_line, "options nvidia NVreg_ExcludedGpus=%s\n", uuid);

    /* by physical ID: the tool looks the UUID up and writes it */
    assert_int_equal(ops_fmctl("exclude gpu %u --modprobe-file %s --emu-dir %s", gone, conf, d.emu), 0);
    assert_non_null(strstr(ops_out, "after a reboot"));
    char *text = slurp(conf);
    assert_non_null(text);
    assert_non_null(strstr(text, want_line));
    assert_true(strncmp(text, OTHER_LINES, strlen(OTHER_LINES)) == 0); /* the rest kept */
    /* twice: nothing changes */
    assert_int_equal(ops_fmctl("exclude gpu %s --modprobe-file %s --emu-dir %s", uuid, conf, d.emu), 0);
    assert_non_null(strstr(ops_out, "nothing changed"));
    char *again = slurp(conf);
    assert_string_equal(text, again);
    free(again);
    free(text);

    /* nothing happens before the reboot */
    assert_int_equal(h->ops->list_gpus(h, gpus, OFM_MAX_GPUS, &n), 0);
    assert_int_equal(n, p->ngpus);
    assert_int_equal(ops_fmctl("emu reboot --modprobe-file %s --emu-dir %s", conf, d.emu), 0);
    assert_non_null(strstr(ops_out, uuid));
    assert_int_equal(h->ops->list_gpus(h, gpus, OFM_MAX_GPUS, &n), 0);
    assert_int_equal(n, p->ngpus - 1);
    for (size_t i = 0; i < n; i++)
        assert_int_not_equal(gpus[i].phys_id, gone);

    assert_int_equal(dh_start(&d, NULL, 20000, NULL), 0);
    static ofm_status_doc doc;
    ops_status(&d, &doc);
    assert_int_equal(doc.fabric.state, OFM_SYS_READY);
    const ofm_gpu_status *g = ops_gpu(&doc, gone);
    assert_non_null(g);
    assert_true(!g->present && g->links_usable == 0);
    assert_true(g->excluded); /* missing because the driver excluded it, said so */
    assert_false(ops_gpu(&doc, peer)->excluded);
    assert_int_equal(ops_gpu(&doc, peer)->links_usable, 12);
    assert_int_equal(ops_fmctl("status --socket %s", d.sock), 0);
    {
        char want_gpu[64];
        snprintf(want_gpu, sizeof want_gpu, "\nGPU %u ", gone);
        const char *at = strstr(ops_out, want_gpu);
        if (!at || !strstr(at, "Device                : excluded by the driver (NVreg_ExcludedGpus)"))
            fail_msg("fmctl status does not show GPU %u excluded:\n%s", gone, ops_out);
    }
    /* the hardware agrees: nothing routes to the excluded GPU, the rest works */
    assert_int_equal(probe_links(h, peer, gone), 0);
    assert_int_equal(probe_links(h, peer, p->gpus[1].phys_id), 12);
    char *log = dh_read_log(&d);
    assert_non_null(log);
    char want_log[200];
    snprintf(want_log, sizeof want_log, "GPU %u (%s", gone, uuid);
    if (!strstr(log, want_log) || !strstr(log, "is excluded by the driver (NVreg_ExcludedGpus"))
    {
        dh_stop(&d, 0);
        fail_msg("the log does not say GPU %u (%s) is excluded:\n%s", gone, uuid, log);
    }
    free(log);
    assert_int_equal(dh_stop(&d, 0), 0);

    /* back: by physical ID, found among the excluded devices */
    assert_int_equal(ops_fmctl("include gpu %u --modprobe-file %s --emu-dir %s", gone, conf, d.emu), 0);
    text = slurp(conf);
    assert_string_equal(text, OTHER_LINES);
    free(text);
    assert_int_equal(ops_fmctl("include gpu %u --modprobe-file %s --emu-dir %s", gone, conf, d.emu), 0);
    assert_non_null(strstr(ops_out, "nothing changed"));
    assert_int_equal(ops_fmctl("emu reboot --modprobe-file %s --emu-dir %s", conf, d.emu), 0);
    assert_int_equal(dh_start(&d, NULL, 20000, NULL), 0);
    ops_status(&d, &doc);
    g = ops_gpu(&doc, gone);
    assert_non_null(g);
    assert_true(g->present);
    assert_false(g->excluded);
    assert_int_equal(g->links_usable, 12);
    assert_int_equal(probe_links(h, peer, gone), 12);
    assert_int_equal(dh_stop(&d, 0), 0);
    ofm_hal_close(h);
    dh_cleanup(&d);
}

static void test_exclude_switch(void **state)
{
    (void)state;
    dh_daemon d;
    assert_int_equal(dh_init(&d, "hgx-h100"), 0);
    char conf[256];
    snprintf(conf, sizeof conf, "%s/nvidia-openfm.conf", d.dir);
    ofm_hal *h = ops_open(&d);
    ofm_hal_switch sws[OFM_MAX_SWITCHES];
    size_t n, n0;
    assert_int_equal(h->ops->list_switches(h, sws, OFM_MAX_SWITCHES, &n0), 0);
    uint32_t id = sws[1].phys_id;
    char bdf[32];
    snprintf(bdf, sizeof bdf, "%s", sws[1].pci_bdf);
    /* by PCI address; the file did not exist */
    assert_int_equal(ops_fmctl("exclude switch %s --modprobe-file %s --emu-dir %s", bdf, conf, d.emu), 0);
    char *text = slurp(conf);
    assert_non_null(text);
    char want[200];
    snprintf(want, sizeof want, "options nvidia NvSwitchExcludelist=%s\n", sws[1].uuid);
    assert_string_equal(text, want);
    free(text);
    assert_int_equal(ops_fmctl("emu reboot --modprobe-file %s --emu-dir %s", conf, d.emu), 0);
    assert_int_equal(h->ops->list_switches(h, sws, OFM_MAX_SWITCHES, &n), 0);
    assert_int_equal(n, n0 - 1);
    for (size_t i = 0; i < n; i++)
        assert_int_not_equal(sws[i].phys_id, id);
    ofm_hal_excluded x[4];
    assert_int_equal(h->ops->list_excluded(h, x, 4, &n), 0);
    assert_int_equal(n, 1);
    assert_true(x[0].is_switch);
    assert_int_equal(x[0].phys_id, id);
    /* the kernel log says it like the driver */
    assert_int_equal(ops_fmctl("emu log --emu-dir %s", d.emu), 0);
    assert_non_null(strstr(ops_out, "is excluded by NvSwitchExcludelist"));

    assert_int_equal(ops_fmctl("include switch %u --modprobe-file %s --emu-dir %s", id, conf, d.emu), 0);
    struct stat st;
    assert_int_equal(stat(conf, &st), 0);
    assert_int_equal(st.st_size, 0); /* the only line went with its only value */
    assert_int_equal(ops_fmctl("emu reboot --modprobe-file %s --emu-dir %s", conf, d.emu), 0);
    assert_int_equal(h->ops->list_switches(h, sws, OFM_MAX_SWITCHES, &n), 0);
    assert_int_equal(n, n0);
    assert_int_equal(h->ops->list_excluded(h, x, 4, &n), 0);
    assert_int_equal(n, 0);
    ofm_hal_close(h);
    dh_cleanup(&d);
}

/* An excluded NVSwitch is flagged in the status (JSON and the human view):
 * an A100 system whose NVSWITCH_FAILURE_MODE=1 runs on without it. */
static void test_excluded_switch_in_status(void **state)
{
    (void)state;
    dh_daemon d;
    assert_int_equal(dh_init(&d, "hgx-a100"), 0);
    assert_int_equal(dh_write_config(&d, "NVSWITCH_FAILURE_MODE=1\n"), 0);
    char conf[256];
    snprintf(conf, sizeof conf, "%s/nvidia-openfm.conf", d.dir);
    ofm_hal *h = ops_open(&d);
    const ofm_platform *p = ofm_hal_platform(h);
    uint32_t id = p->switches[2].id;
    assert_int_equal(ops_fmctl("exclude switch %u --modprobe-file %s --emu-dir %s", id, conf, d.emu), 0);
    assert_int_equal(ops_fmctl("emu reboot --modprobe-file %s --emu-dir %s", conf, d.emu), 0);
    assert_int_equal(dh_start(&d, NULL, 20000, NULL), 0);
    static ofm_status_doc doc;
    ops_status(&d, &doc);
    size_t flagged = 0;
    for (size_t i = 0; i < doc.fabric.nswitches; i++) {
        const ofm_switch_status_entry *s = &doc.fabric.switches[i];
        if (s->id == id) {
            assert_int_equal(s->status, OFM_SW_MISSING);
            assert_true(s->excluded);
        }
        flagged += s->excluded;
    }
    assert_int_equal(flagged, 1); /* its peer is disabled by the policy, not excluded */
    for (size_t i = 0; i < doc.fabric.ngpus; i++)
        assert_false(doc.fabric.gpus[i].excluded);
    assert_int_equal(ops_fmctl("status --socket %s", d.sock), 0);
    char want[80];
    snprintf(want, sizeof want, "    %-3u ", id);
    const char *at = strstr(ops_out, want);
    if (!at || !strstr(at, "MISSING") || !strstr(at, ", excluded by the driver (NvSwitchExcludelist)"))
        fail_msg("fmctl status does not show NVSwitch %u excluded:\n%s", id, ops_out);
    assert_int_equal(dh_stop(&d, 0), 0);
    ofm_hal_close(h);
    dh_cleanup(&d);
}

static void test_bad_input(void **state)
{
    (void)state;
    dh_daemon d;
    assert_int_equal(dh_init(&d, "hgx-h100"), 0);
    char conf[256];
    snprintf(conf, sizeof conf, "%s/bad.conf", d.dir);
    spit(conf, "# ok\noptions nvidia NVreg_ExcludedGpus=GPU-1,bad/value\n");
    assert_int_equal(ops_fmctl("exclude gpu 1 --modprobe-file %s --emu-dir %s", conf, d.emu), 1);
    assert_non_null(strstr(ops_out, "bad.conf:2:"));
    assert_non_null(strstr(ops_out, "bad/value"));
    assert_int_equal(ops_fmctl("emu reboot --modprobe-file %s --emu-dir %s", conf, d.emu), 1);
    assert_non_null(strstr(ops_out, "bad.conf:2:"));
    assert_int_equal(ops_fmctl("exclude gpu 99 --modprobe-file %s --emu-dir %s", conf, d.emu), 1);
    assert_non_null(strstr(ops_out, "no GPU '99'"));
    assert_int_equal(ops_fmctl("exclude nic 1 --modprobe-file %s --emu-dir %s", conf, d.emu), 2);
    assert_int_equal(ops_fmctl("exclude gpu 'a b' --modprobe-file %s --emu-dir %s", conf, d.emu), 2);
    dh_cleanup(&d);
}

/* The pure editor: other lines and other options kept, every occurrence of
 * the list merged onto its first line, an emptied line dropped. */
static void test_edit(void **state)
{
    (void)state;
    const char *in = "# c\n"
                     "options nvidia NVreg_ExcludedGpus=GPU-a NVreg_Foo=1\n"
                     "options nvidia_uvm NVreg_ExcludedGpus=GPU-x\n"
                     "options nvidia NVreg_ExcludedGpus=GPU-b,GPU-a\n"
                     "blacklist nouveau";
    char *out;
    bool changed;
    ofm_error err;
    assert_int_equal(ofm_modprobe_edit(in, "f", OFM_MODPROBE_GPU_PARAM, "GPU-c", true, &out, &changed, &err), 0);
    assert_true(changed);
    assert_string_equal(out, "# c\n"
                             "options nvidia NVreg_ExcludedGpus=GPU-a,GPU-b,GPU-c NVreg_Foo=1\n"
                             "options nvidia_uvm NVreg_ExcludedGpus=GPU-x\n"
                             "blacklist nouveau");
    char *out2;
    assert_int_equal(ofm_modprobe_edit(out, "f", OFM_MODPROBE_GPU_PARAM, "GPU-c", true, &out2, &changed, &err), 0);
    assert_false(changed);
    free(out2);
    const char *rm[] = {"GPU-a", "GPU-b", "GPU-c"};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(ofm_modprobe_edit(out, "f", OFM_MODPROBE_GPU_PARAM, rm[i], false, &out2, &changed, &err), 0);
        assert_true(changed);
        free(out);
        out = out2;
    }
    assert_string_equal(out, "# c\noptions nvidia NVreg_Foo=1\noptions nvidia_uvm NVreg_ExcludedGpus=GPU-x\n"
                             "blacklist nouveau");
    free(out);
    /* appended after a last line without newline */
    assert_int_equal(ofm_modprobe_edit("# x", "f", OFM_MODPROBE_SWITCH_PARAM, "SWX-1", true, &out, &changed, &err), 0);
    assert_string_equal(out, "# x\noptions nvidia NvSwitchExcludelist=SWX-1\n");
    free(out);
    assert_int_equal(ofm_modprobe_edit("", "f", OFM_MODPROBE_GPU_PARAM, "bad id", true, &out, &changed, &err), -1);
    ofm_modprobe_list l;
    assert_int_equal(ofm_modprobe_parse("\n\noptions nvidia NvSwitchExcludelist=SWX-1,,x;y\n", "g",
                                        OFM_MODPROBE_SWITCH_PARAM, &l, &err), -1);
    assert_int_equal(err.line, 3);
    assert_non_null(strstr(err.msg, "x;y"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_edit),
        cmocka_unit_test(test_excluded_switch_in_status),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_exclude_switch),
        cmocka_unit_test(test_exclude_gpu_reboot_include),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
