/* The seam that opens hardware: spec parsing, selection order, `auto` on a
 * machine without the driver or without NVSwitch (device nodes modelled
 * under OPENFM_DEV_ROOT), and the daemon's one-line answer there. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/daemon_harness.h"
#include "openfm/emu.h"
#include "openfm/hal.h"

static char root[64];

static void touch(const char *name)
{
    char p[128];
    snprintf(p, sizeof p, "%s/%s", root, name);
    int fd = open(p, O_CREAT | O_WRONLY, 0600);
    assert_true(fd >= 0);
    close(fd);
}

static int setup(void **state)
{
    (void)state;
    snprintf(root, sizeof root, "/tmp/ofm-dev-XXXXXX");
    return mkdtemp(root) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", root);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_selection_order(void **state)
{
    (void)state;
    assert_string_equal(ofm_hal_select("emu:/a", "real", true, "auto"), "emu:/a");
    assert_string_equal(ofm_hal_select(NULL, "real", true, "auto"), "real");
    assert_string_equal(ofm_hal_select("", "", true, "auto"), "emu:");
    assert_string_equal(ofm_hal_select(NULL, NULL, false, "auto"), "auto");
}

static void test_bad_specs(void **state)
{
    (void)state;
    char err[512];
    ofm_hal *h = (ofm_hal *)1;
    const char *bad[] = {"", "emulator", "nvml+", "nvml+nvml", "real:x", "nvml+bogus"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(ofm_hal_open(bad[i], NULL, &h, err, sizeof err), OFM_HAL_EINVAL);
        assert_null(h);
        assert_non_null(strstr(err, bad[i][0] ? "unknown" : "empty"));
    }
    assert_int_equal(ofm_hal_spec_check("nvml+emu:/x", err, sizeof err), 0);
}

static void test_auto_without_driver(void **state)
{
    (void)state;
    char err[512];
    ofm_hal_open_opts o = {.dev_root = root};
    const char *spec = "x";
    assert_int_equal(ofm_hal_resolve_auto(&o, &spec, err, sizeof err), OFM_HAL_EABSENT);
    assert_null(spec);
    assert_non_null(strstr(err, "no NVIDIA driver"));
    assert_non_null(strstr(err, "/nvidiactl"));
    assert_non_null(strstr(err, "--emulate"));
    ofm_hal *h;
    assert_int_equal(ofm_hal_open("auto", &o, &h, err, sizeof err), OFM_HAL_EABSENT);
    assert_null(h);
}

static void test_auto_without_nvswitch(void **state)
{
    (void)state;
    touch("nvidiactl");
    touch("nvidia0");
    char err[512];
    ofm_hal_open_opts o = {.dev_root = root};
    const char *spec;
    assert_int_equal(ofm_hal_resolve_auto(&o, &spec, err, sizeof err), OFM_HAL_EABSENT);
    assert_non_null(strstr(err, "no NVSwitch"));
    assert_non_null(strstr(err, "needs no fabric manager"));
    assert_null(strchr(err, '\n'));
}

static void test_auto_with_nvswitch(void **state)
{
    (void)state;
    touch("nvidiactl");
    touch("nvidia-nvswitchctl");
    char err[512];
    ofm_hal_open_opts o = {.dev_root = root};
    const char *spec = NULL;
    assert_int_equal(ofm_hal_resolve_auto(&o, &spec, err, sizeof err), OFM_HAL_OK);
    assert_string_equal(spec, "real");
}

static void test_emu_spec(void **state)
{
    (void)state;
    char dir[128], err[512];
    snprintf(dir, sizeof dir, "%s/emu", root);
    ofm_hal *h;
    char spec[200];
    snprintf(spec, sizeof spec, "emu:%s", dir);
    /* without --emulate nothing is created */
    assert_int_equal(ofm_hal_open(spec, NULL, &h, err, sizeof err), OFM_HAL_ENODEV);
    assert_non_null(strstr(err, "no emulated system"));
    ofm_hal_open_opts o = {.emulate = "hgx-2"};
    assert_int_equal(ofm_hal_open(spec, &o, &h, err, sizeof err), OFM_HAL_OK);
    assert_string_equal(h->ops->name, "emu");
    assert_non_null(ofm_hal_platform(h));
    assert_string_equal(ofm_hal_platform(h)->name, "hgx-2");
    ofm_hal_close(h);
    /* "emu:" alone takes the directory from the options */
    ofm_hal_open_opts o2 = {.emu_dir = dir};
    assert_int_equal(ofm_hal_open("emu:", &o2, &h, err, sizeof err), OFM_HAL_OK);
    ofm_hal_close(h);
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The daemon with no emulator setting on a machine without NVSwitch: one
 * line on stderr, exit 3, at once (it daemonizes by default: the answer
 * comes before that). */
static void test_daemon_no_hardware(void **state)
{
    (void)state;
    touch("nvidiactl");
    touch("empty.cfg"); /* an empty packaged configuration: all defaults, no notice */
    char cmd[768], out[4096];
    snprintf(cmd, sizeof cmd,
             "env -u OPENFM_EMU_DIR -u OPENFM_BACKEND OPENFM_DEFAULT_CONFIG=%s/empty.cfg "
             "OPENFM_DEV_ROOT=%s %s 2>&1 </dev/null", root, root,
             dh_bin("openfm"));
    long long t0 = now_ms();
    assert_int_equal(dh_run(cmd, out, sizeof out), 3);
    assert_true(now_ms() - t0 < 2000);
    assert_non_null(strstr(out, "openfm: no NVSwitch"));
    assert_non_null(strstr(out, root));
    char *nl = strchr(out, '\n');
    assert_non_null(nl);
    assert_int_equal(nl[1], '\0'); /* exactly one line */
    /* no driver at all */
    char p[128];
    snprintf(p, sizeof p, "%s/nvidiactl", root);
    unlink(p);
    assert_int_equal(dh_run(cmd, out, sizeof out), 3);
    assert_non_null(strstr(out, "openfm: no NVIDIA driver"));
    /* an explicit bad spec is a usage error naming the option */
    snprintf(cmd, sizeof cmd, "%s --backend bogus 2>&1", dh_bin("openfm"));
    assert_int_equal(dh_run(cmd, out, sizeof out), 2);
    assert_non_null(strstr(out, "--backend: unknown backend 'bogus'"));
    /* the configuration key: its name in the message; it beats OPENFM_EMU_DIR */
    char cfg[128];
    snprintf(cfg, sizeof cfg, "%s/fm.cfg", root);
    FILE *f = fopen(cfg, "w");
    assert_non_null(f);
    fprintf(f, "OPENFM_BACKEND=emulator\nOPENFM_EMU_DIR=%s/emu\n", root);
    fclose(f);
    snprintf(cmd, sizeof cmd, "%s -c %s 2>&1", dh_bin("openfm"), cfg);
    assert_int_equal(dh_run(cmd, out, sizeof out), 2);
    assert_non_null(strstr(out, "OPENFM_BACKEND: unknown backend 'emulator'"));
    /* OPENFM_BACKEND=auto wins over the emulator directory: no hardware here */
    f = fopen(cfg, "w");
    assert_non_null(f);
    fprintf(f, "OPENFM_BACKEND=auto\nOPENFM_EMU_DIR=%s/emu\n", root);
    fclose(f);
    snprintf(cmd, sizeof cmd, "OPENFM_DEV_ROOT=%s %s -c %s 2>&1", root, dh_bin("openfm"), cfg);
    assert_int_equal(dh_run(cmd, out, sizeof out), 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_selection_order),
        cmocka_unit_test(test_bad_specs),
        cmocka_unit_test_setup_teardown(test_auto_without_driver, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auto_without_nvswitch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auto_with_nvswitch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_emu_spec, setup, teardown),
        cmocka_unit_test_setup_teardown(test_daemon_no_hardware, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
