/* The NVML backend end to end over the NVML model: identity read through
 * NVML equals the emulator's; a library lacking each optional function in
 * turn degrades with "not available from this driver" and nothing crashes;
 * a library lacking a required function is refused with its name; a library
 * or driver that is not there is one clear line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "common/daemon_harness.h"
#include "hal/backend_int.h"
#include "hal/nvml/nvml_backend.h"
#include "openfm/emu.h"
#include "openfm/hal.h"

static char dir[64];
static char out[1 << 16];

static const char *model(const char *variant)
{
    static char p[512];
    snprintf(p, sizeof p, "%s/lib/nvml-model/%s.so", getenv("OPENFM_BUILD_DIR"), variant);
    return p;
}

/* Run fmctl with the given NVML library; the exit status, -1 on a crash. */
static int fmctl(const char *lib, const char *args)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "OPENFM_NVML_LIBRARY=%s OPENFM_NVML_MODEL_DIR=%s %s %s 2>&1", lib, dir,
             dh_bin("fmctl"), args);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    size_t n = fread(out, 1, sizeof out - 1, f);
    out[n] = '\0';
    int st = pclose(f);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void has(const char *needle)
{
    if (!strstr(out, needle))
        fail_msg("output lacks '%s':\n%s", needle, out);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/ofm-nvml-XXXXXX");
    char err[512];
    if (!mkdtemp(dir) || ofm_emu_create(dir, "hgx-h100", true, err, sizeof err))
        return -1;
    setenv("OPENFM_NVML_MODEL_DIR", dir, 1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char err[512];
    ofm_emu_destroy(dir, err, sizeof err);
    rmdir(dir);
    return 0;
}

/* What NVML says about each GPU is what the emulator says. */
static void test_identity_matches_emulator(void **state)
{
    (void)state;
    char err[600];
    ofm_hal *e, *n;
    assert_int_equal(ofm_emu_open(dir, &e, err, sizeof err), 0);
    ofm_hal_open_opts o = {.nvml_library = model("libnvidia-ml")};
    assert_int_equal(ofm_hal_open("nvml", &o, &n, err, sizeof err), 0);
    assert_string_equal(n->ops->name, "nvml");
    assert_int_equal(n->prov, OFM_PROV_EMULATED); /* the model says it is one */
    ofm_hal_gpu ge[OFM_MAX_GPUS], gn[OFM_MAX_GPUS];
    size_t ne, nn;
    assert_int_equal(e->ops->list_gpus(e, ge, OFM_MAX_GPUS, &ne), 0);
    assert_int_equal(n->ops->list_gpus(n, gn, OFM_MAX_GPUS, &nn), 0);
    assert_int_equal(ne, 8);
    assert_int_equal(nn, ne);
    for (size_t i = 0; i < ne; i++) {
        assert_int_equal(gn[i].phys_id, ge[i].phys_id);
        assert_string_equal(gn[i].uuid, ge[i].uuid);
        assert_string_equal(gn[i].pci_bdf, ge[i].pci_bdf);
        assert_string_equal(gn[i].model, ge[i].model);
        assert_int_equal(gn[i].nvlinks, ge[i].nvlinks);
        for (uint32_t l = 0; l < ge[i].nvlinks; l++) {
            ofm_hal_link a, b;
            assert_int_equal(e->ops->gpu_link(e, ge[i].phys_id, l, &a), 0);
            assert_int_equal(n->ops->gpu_link(n, gn[i].phys_id, l, &b), 0);
            assert_int_equal(b.state, a.state);
            assert_int_equal(b.remote_type, a.remote_type);
        }
    }
    char v1[64], v2[64];
    assert_int_equal(e->ops->driver_version(e, v1, sizeof v1), 0);
    assert_int_equal(n->ops->driver_version(n, v2, sizeof v2), 0);
    assert_string_equal(v1, v2);
    /* fabric registration written on the emulator is read back through NVML */
    assert_int_equal(e->ops->fabric_set(e, 3, OFM_FABRIC_COMPLETED, 0), 0);
    ofm_hal_fabric_info fi;
    assert_int_equal(n->ops->fabric_get(n, 3, &fi), 0);
    assert_int_equal(fi.state, OFM_FABRIC_COMPLETED);
    assert_int_equal(fi.status, 0);
    assert_int_equal(fi.clique_id, 1);
    assert_int_equal(n->ops->fabric_get(n, 4, &fi), 0);
    assert_int_equal(fi.state, OFM_FABRIC_NOT_STARTED);
    ofm_hal_close(n);
    ofm_hal_close(e);
}

static void test_missing_library_and_driver(void **state)
{
    (void)state;
    assert_int_equal(fmctl("/nonexistent/libnvidia-ml.so.1", "hw --backend nvml+emu:/x"), 0);
    has("GPUs: not available: NVML library /nonexistent/libnvidia-ml.so.1 cannot be loaded");
    has("install the NVIDIA driver");
    char args[200];
    snprintf(args, sizeof args, "hw --backend nvml+emu:%s", dir);
    setenv("OPENFM_NVML_MODEL_NO_DRIVER", "1", 1);
    assert_int_equal(fmctl(model("libnvidia-ml"), args), 0);
    unsetenv("OPENFM_NVML_MODEL_NO_DRIVER");
    has("GPUs: not available: NVML (");
    has("Driver Not Loaded: the NVIDIA kernel driver is not loaded");
    has("NVSwitches (source: emu (emulated)): 4"); /* the other side still answers */
}

static void test_required_function_missing(void **state)
{
    (void)state;
    char err[600];
    ofm_hal *h;
    ofm_hal_open_opts o = {.nvml_library = model("without-nvmlDeviceGetUUID")};
    assert_int_equal(ofm_hal_open("nvml", &o, &h, err, sizeof err), OFM_HAL_ENOTSUP);
    assert_null(h);
    assert_non_null(strstr(err, "lacks the required function nvmlDeviceGetUUID"));
    assert_int_equal(fmctl(model("without-nvmlDeviceGetUUID"), "mig --backend nvml -lgi"), 2);
    has("lacks the required function nvmlDeviceGetUUID");
}

/* Every optional function, one at a time. */
static void test_each_optional_function_missing(void **state)
{
    (void)state;
    static const char *const mig_cmds[] = {
        "-i 0 --mode 1", "-i 0 -lgip", "-i 0 -cgi 9 -C", "-i 0 -L", "-i 0 -lgi", "-i 0 -lci",
        "-i 0 -dci", "-i 0 -dgi", "-i 0 --mode 0",
    };
    size_t tested = 0;
    for (size_t i = 0; i < ofm_nvml_symbol_count(); i++) {
        const char *sym = ofm_nvml_symbol_name(i);
        if (ofm_nvml_symbol_required(sym))
            continue;
        char variant[128], args[300], want[160];
        snprintf(variant, sizeof variant, "without-%s", sym);
        snprintf(args, sizeof args, "hw --backend nvml+emu:%s", dir);
        int rc = fmctl(model(variant), args);
        if (rc != 0)
            fail_msg("fmctl hw with %s: exit %d\n%s", variant, rc, out);
        has("not available from this driver: ");
        has(sym);
        has("GPUs (source: NVML ");
        /* the whole MIG flow: never a crash; a function it needs is named */
        bool named = strstr(out, "GPU 7") != NULL; /* all GPUs still listed */
        assert_true(named);
        bool mig_named = false;
        for (size_t k = 0; k < sizeof mig_cmds / sizeof mig_cmds[0]; k++) {
            snprintf(args, sizeof args, "mig --backend nvml %s", mig_cmds[k]);
            rc = fmctl(model(variant), args);
            if (rc < 0 || rc > 1)
                fail_msg("fmctl %s with %s: exit %d\n%s", args, variant, rc, out);
            snprintf(want, sizeof want, "%s: not available from this driver", sym);
            mig_named |= strstr(out, want) != NULL;
        }
        if (strstr(sym, "Mig") || strstr(sym, "Instance"))
            if (!mig_named)
                fail_msg("no fmctl mig command named the missing %s", sym);
        tested++;
    }
    assert_true(tested >= 20);
}

/* NVML lists the GPUs the driver excluded (UUID and PCI address, no module
 * ID); the composed backend takes GPUs from NVML and NVSwitches from the
 * switch side; a driver without the calls says so. */
static void test_excluded_through_nvml(void **state)
{
    (void)state;
    char err[600];
    ofm_hal *e, *n, *c;
    assert_int_equal(ofm_emu_open(dir, &e, err, sizeof err), 0);
    ofm_hal_gpu g[OFM_MAX_GPUS];
    ofm_hal_switch s[OFM_MAX_SWITCHES];
    size_t ng, ns;
    assert_int_equal(e->ops->list_gpus(e, g, OFM_MAX_GPUS, &ng), 0);
    assert_int_equal(e->ops->list_switches(e, s, OFM_MAX_SWITCHES, &ns), 0);
    static ofm_modprobe_list gl, sl;
    gl.n = sl.n = 1;
    snprintf(gl.uuid[0], sizeof gl.uuid[0], "%s", g[2].uuid);
    snprintf(sl.uuid[0], sizeof sl.uuid[0], "%s", s[1].uuid);
    assert_int_equal(ofm_emu_reboot_excluding(e, &gl, &sl), 0);

    ofm_hal_open_opts o = {.nvml_library = model("libnvidia-ml")};
    assert_int_equal(ofm_hal_open("nvml", &o, &n, err, sizeof err), 0);
    ofm_hal_excluded x[8];
    size_t nx = 0;
    assert_non_null(n->ops->list_excluded);
    assert_int_equal(n->ops->list_excluded(n, x, 8, &nx), 0);
    assert_int_equal(nx, 1);
    assert_false(x[0].is_switch);
    assert_int_equal(x[0].phys_id, UINT32_MAX); /* NVML has no module ID for it */
    assert_string_equal(x[0].uuid, g[2].uuid);
    assert_string_equal(x[0].pci_bdf, g[2].pci_bdf);
    ofm_hal_gpu gn[OFM_MAX_GPUS];
    assert_int_equal(n->ops->list_gpus(n, gn, OFM_MAX_GPUS, &ng), 0);
    assert_int_equal(ng, 7);
    ofm_hal_close(n);

    char spec[200];
    snprintf(spec, sizeof spec, "nvml+emu:%s", dir);
    assert_int_equal(ofm_hal_open(spec, &o, &c, err, sizeof err), 0);
    assert_int_equal(c->ops->list_excluded(c, x, 8, &nx), 0);
    assert_int_equal(nx, 2);
    assert_false(x[0].is_switch);
    assert_int_equal(x[0].phys_id, UINT32_MAX); /* the GPU comes from NVML, not the emulator */
    assert_true(x[1].is_switch);
    assert_int_equal(x[1].phys_id, s[1].phys_id);
    ofm_hal_close(c);

    o.nvml_library = model("without-nvmlGetExcludedDeviceCount");
    assert_int_equal(ofm_hal_open("nvml", &o, &n, err, sizeof err), 0);
    assert_int_equal(n->ops->list_excluded(n, x, 8, &nx), OFM_HAL_ENOTSUP);
    assert_non_null(strstr(ofm_hal_last_error(n), "nvmlGetExcludedDeviceCount: not available"));
    ofm_hal_close(n);

    assert_int_equal(ofm_emu_reboot(e), 0); /* everything back for the other tests */
    ofm_hal_close(e);
}

/* NVLink error counters on the real machine's backend: NVML reads them at the
 * GPU end of each link (nvmlDeviceGetNvLinkErrorCounter), so `fmctl nvlink
 * errors` over nvml+SWITCH shows what the link counted, and per switch port
 * (what /metrics serves) a switch side without counters - the NVSwitch
 * driver - is answered from the GPU at the port's far end. */
static void test_link_errors_through_nvml(void **state)
{
    (void)state;
    char err[600];
    ofm_hal *e;
    assert_int_equal(ofm_emu_open(dir, &e, err, sizeof err), 0);
    ofm_hal_gpu g[OFM_MAX_GPUS];
    size_t ng;
    assert_int_equal(e->ops->list_gpus(e, g, OFM_MAX_GPUS, &ng), 0);
    ofm_hal_link lk;
    assert_int_equal(e->ops->gpu_link(e, g[1].phys_id, 2, &lk), 0); /* GPU index 1, link 2 */
    assert_int_equal(lk.remote_type, OFM_REMOTE_SWITCH);
    ofm_hal_link_errors add = {.crc_flit = 5, .crc_data = 2, .replay = 3, .recovery = 1};
    assert_int_equal(ofm_emu_inject_link_errors(e, lk.remote_id, lk.remote_link, &add), 0);

    char args[300];
    snprintf(args, sizeof args, "nvlink errors -i 1 --backend nvml+emu:%s", dir);
    assert_int_equal(fmctl(model("libnvidia-ml"), args), 0);
    has("\t Link 2: Replay Errors: 3\n");
    has("\t Link 2: Recovery Errors: 1\n");
    has("\t Link 2: CRC Errors: 7\n");
    has("Summary: 1 GPU, 18 links, 18 active; 1 with errors (GPU 1 link 2)\n");
    snprintf(args, sizeof args, "nvlink counters --json --backend nvml+emu:%s", dir);
    assert_int_equal(fmctl(model("libnvidia-ml"), args), 0);
    has("\"crc_flit\":5");

    /* a switch side without counters, as the NVSwitch driver: the composed
     * backend asks NVML at the far end of the port */
    ofm_hal *sw, *gpu, *c;
    assert_int_equal(ofm_emu_open(dir, &sw, err, sizeof err), 0);
    static ofm_hal_ops no_counters;
    no_counters = *sw->ops;
    no_counters.link_errors = NULL;
    no_counters.platform_hint = NULL;
    sw->ops = &no_counters;
    ofm_hal_open_opts o = {.nvml_library = model("libnvidia-ml")};
    assert_int_equal(ofm_hal_open("nvml", &o, &gpu, err, sizeof err), 0);
    assert_int_equal(ofm_hal_compose("nvml+nocounters", sw, gpu, &c, err, sizeof err), 0);
    assert_non_null(c->ops->link_errors);
    ofm_hal_link_errors got;
    assert_int_equal(c->ops->link_errors(c, lk.remote_id, lk.remote_link, &got), 0);
    assert_int_equal(got.crc_flit, 5);
    assert_int_equal(got.crc_data, 2);
    assert_int_equal(got.replay, 3);
    assert_int_equal(got.recovery, 1);
    assert_int_equal(got.prov, OFM_PROV_EMULATED); /* the NVML model marks its records */
    ofm_hal_close(c);

    /* neither side has them: the error names the NVML function */
    assert_int_equal(ofm_emu_open(dir, &sw, err, sizeof err), 0);
    sw->ops = &no_counters;
    o.nvml_library = model("without-nvmlDeviceGetNvLinkErrorCounter");
    assert_int_equal(ofm_hal_open("nvml", &o, &gpu, err, sizeof err), 0);
    assert_int_equal(ofm_hal_compose("nvml+nocounters", sw, gpu, &c, err, sizeof err), 0);
    assert_int_equal(c->ops->link_errors(c, lk.remote_id, lk.remote_link, &got), OFM_HAL_ENOTSUP);
    assert_non_null(strstr(ofm_hal_last_error(c), "nvmlDeviceGetNvLinkErrorCounter: not available"));
    ofm_hal_close(c);

    assert_int_equal(ofm_emu_link_errors_reset(e), 0);
    ofm_hal_close(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identity_matches_emulator),
        cmocka_unit_test(test_missing_library_and_driver),
        cmocka_unit_test(test_required_function_missing),
        cmocka_unit_test(test_each_optional_function_missing),
        cmocka_unit_test(test_excluded_through_nvml),
        cmocka_unit_test(test_link_errors_through_nvml),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
