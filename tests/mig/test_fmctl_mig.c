/* fmctl mig as an operator sees it: run the binary on an emulated system and
 * read what it prints; configs round-trip apply -> assert -> export. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "mig_fixture.h"

static char out[1 << 18];
static char g_dir[64];

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
    const char *bd = getenv("OPENFM_BUILD_DIR");
    assert_non_null(bd);
    char args[2048], cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    /* the NVML model (when OPENFM_BACKEND selects NVML) serves the same system */
    snprintf(cmd, sizeof cmd, "OPENFM_NVML_MODEL_DIR=%s %s/bin/fmctl mig --emu-dir %s %s 2>&1", g_dir,
             bd, g_dir, args);
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
    ofm_hal *h = mig_fixture_open("hgx-a100", g_dir, sizeof g_dir);
    *state = h;
    return h ? 0 : -1;
}

static int teardown(void **state)
{
    mig_fixture_close(*state, g_dir);
    return 0;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_nvidia_smi_flow(void **state)
{
    (void)state;
    assert_int_equal(run("-i 0 -lgi"), 1);
    has("MIG mode is not enabled");
    assert_int_equal(run("-i 0 --mode 1"), 0);
    has("Enabled MIG Mode for GPU 00000000:");
    has("All done.");
    assert_int_equal(run("-i 0 -lgip"), 0);
    has("| GPU instance profiles:");
    has("|   0  MIG 3g.40gb        9     2/2        39.25      No     42");
    assert_int_equal(run("-i 0 -lgipp"), 0);
    has("GPU  0 Profile ID  9 Placements: {0,4}:4\n");
    /* the ordering trap by name: the engine places them */
    assert_int_equal(run("-i 0 -cgi 1g.10gb,1g.10gb,2g.20gb,3g.40gb -C"), 0);
    has("using profile MIG 3g.40gb (ID 9)\n");
    has("Successfully created compute instance ID 0 on GPU 0 GPU instance ID ");
    assert_int_equal(run("-i 0 -lgip"), 0);
    has("|   0  MIG 1g.10gb       19     0/7"); /* 7 compute slices used */
    assert_int_equal(run("-i 0 -cgi 9"), 1);
    has("Unable to create a GPU instance on GPU 0 using profile 9: Insufficient Resources");
    has("reason: 3g.40gb needs slices 0-3 or 4-7");
    assert_int_equal(run("-i 0 -dgi"), 1);
    has("Unable to destroy GPU instance ID 1 from GPU 0: In use by another client");
    assert_int_equal(run("-i 0 -lci --json"), 0);
    has("\"compute_instance_id\":0");
    assert_int_equal(run("-i 0 -dci"), 0);
    has("Successfully destroyed compute instance ID 0 from GPU 0 GPU instance ID 1");
    assert_int_equal(run("-i 0 -dgi -gi 1"), 0);
    has("Successfully destroyed GPU instance ID 1 from GPU 0\n");
    assert_int_equal(run("-i 0 -dgi"), 0);
    assert_int_equal(run("-i 0 -lgi"), 1);
    has("No GPU instances found: Not Found");
    /* explicit ID:start, then CIs by profile */
    assert_int_equal(run("-i 0 -cgi 9:4"), 0);
    has("Successfully created GPU instance ID 1 on GPU 0 using profile MIG 3g.40gb (ID 9)");
    assert_int_equal(run("-i 0 -lgi"), 0);
    has("|   0  MIG 3g.40gb           9        1       4:4     |");
    assert_int_equal(run("-i 0 -lcip -gi 1"), 0);
    has("MIG 1c.3g.40gb     0      3/3");
    assert_int_equal(run("-i 0 -cci 0,0,0 -gi 1"), 0);
    assert_int_equal(run("-i 0 -cci 0 -gi 1"), 1);
    has("Insufficient Resources");
    assert_int_equal(run("-i 0 -cgi 20,20"), 1);
    has("at most 1 instance of 1g.10gb+me");
}

static void test_reset_blocked_by_holder(void **state)
{
    (void)state;
    assert_int_equal(run("hold -i 1"), 0);
    has("GPU 1: 1 emulated client holds the GPU");
    assert_int_equal(run("mode enable -i 1"), 0);
    has("Warning: MIG mode is in pending enable state for GPU 00000000:");
    has(":In use by another client");
    assert_int_equal(run("-i 1 -lgi"), 1);
    has("enable pending: reset the GPU");
    assert_int_equal(run("mode enable -i 1 --json"), 0);
    has("\"current\":false");
    has("\"pending\":true");
    has("\"result\":\"pending: In use by another client\"");
    assert_int_equal(run("release -i 1"), 0);
    assert_int_equal(run("mode enable -i 1"), 0);
    has("Enabled MIG Mode");
}

static void test_config_round_trip(void **state)
{
    (void)state;
    char cfg[128], exp[128];
    snprintf(cfg, sizeof cfg, "%s/cfg.yaml", g_dir);
    snprintf(exp, sizeof exp, "%s/export.yaml", g_dir);
    write_file(cfg, "version: v1\n"
                    "mig-configs:\n"
                    "  mixed:\n"
                    "    - devices: [0, 1]\n"
                    "      mig-enabled: true\n"
                    "      mig-devices:\n"
                    "        \"1g.10gb\": 2\n"
                    "        \"2g.20gb\": 1\n"
                    "        \"3g.40gb\": 1\n"
                    "    - devices: all\n"
                    "      device-filter: [\"0x20B010DE\"]\n"
                    "      mig-enabled: true\n"
                    "      mig-devices: {\"7g.40gb\": 1}\n"
                    "  off:\n"
                    "    - devices: all\n"
                    "      mig-enabled: false\n"
                    "      mig-devices: {}\n");
    assert_int_equal(run("assert -f %s -c mixed", cfg), 1);
    has("GPU 0: differs from 'mixed': want MIG enabled: 3g.40gb x1, 2g.20gb x1, 1g.10gb x2; "
        "have MIG disabled");
    assert_int_equal(run("apply -f %s -c mixed", cfg), 0);
    has("GPU 0: applied 'mixed'");
    has("GPU 1: applied 'mixed'");
    assert_null(strstr(out, "GPU 2:")); /* 80GB GPUs do not pass the 40GB filter */
    assert_int_equal(run("assert -f %s -c mixed", cfg), 0);
    assert_int_equal(run("apply -f %s -c mixed", cfg), 0);
    has("GPU 0: already matches 'mixed'");
    assert_null(strstr(out, "applied"));
    assert_int_equal(run("export -c mixed > %s", exp), 0);
    assert_int_equal(run("assert -f %s -c mixed", exp), 0);
    assert_int_equal(run("apply -f %s -c mixed", exp), 0);
    assert_null(strstr(out, "applied"));
    /* the instances are really there */
    assert_int_equal(run("-i 1 -lgi --json"), 0);
    has("\"profile\":\"3g.40gb\"");
    assert_int_equal(run("apply -f %s -c off", cfg), 0);
    has("GPU 0: applied 'off': MIG disabled");
    assert_int_equal(run("assert -f %s -c off", cfg), 0);
}

static void expect_cfg_error(const char *text, const char *msg)
{
    char cfg[128];
    snprintf(cfg, sizeof cfg, "%s/bad.yaml", g_dir);
    write_file(cfg, text);
    assert_int_equal(run("apply -f %s -c x", cfg), 2);
    char want[512];
    snprintf(want, sizeof want, "%s:%s", cfg, msg);
    has(want);
}

static void test_invalid_configs(void **state)
{
    (void)state;
    const char *head = "version: v1\nmig-configs:\n  x:\n    - devices: all\n";
    char buf[512];
    snprintf(buf, sizeof buf, "%s      mig-enabled: true\n      mig-devics: {}\n", head);
    expect_cfg_error(buf, "6: unknown field 'mig-devics'");
    snprintf(buf, sizeof buf, "%s      mig-enabled: true\n      mig-devices: {\"3g.20gb\": 1}\n", head);
    expect_cfg_error(buf, "6: profile '3g.20gb' does not exist on GPU 0 (A100-80GB)");
    snprintf(buf, sizeof buf, "%s      mig-enabled: yes\n", head);
    expect_cfg_error(buf, "5: mig-enabled must be true or false");
    snprintf(buf, sizeof buf, "%s      mig-enabled: true\n      mig-devices: {\"3g.40gb\": 3}\n", head);
    expect_cfg_error(buf, "4: the layout for GPU 0 (A100-80GB) cannot exist: at most 2 instances");
    snprintf(buf, sizeof buf, "%s      mig-enabled: true\n      device-filter: 20B0\n", head);
    expect_cfg_error(buf, "6: device-filter '20B0' is not a PCI ID");
    expect_cfg_error("version: v2\n", "1: unsupported version");
    expect_cfg_error("version: v1\nmig-configs:\n  x:\n    - devices: [0, 99]\n", "4: devices");
    expect_cfg_error("version: v1\nmig-configs:\n  x: [\n", "");
    expect_cfg_error("version: v1\nmig-config: {}\n", "2: unknown field 'mig-config'");
    snprintf(buf, sizeof buf, "%s      mig-enabled: false\n      mig-devices: {\"1g.10gb\": 1}\n", head);
    expect_cfg_error(buf, "6: mig-devices given while mig-enabled is false");
    /* nothing changed on the way */
    assert_int_equal(run("-i 0 -lgi"), 1);
    has("MIG mode is not enabled");
}

/* The text between `after` and the next `end` in out, or "" */
static void field(const char *after, char end, char *buf, size_t len)
{
    buf[0] = '\0';
    const char *p = strstr(out, after);
    if (!p)
        return;
    p += strlen(after);
    size_t n = 0;
    while (p[n] && p[n] != end && n + 1 < len)
        n++;
    memcpy(buf, p, n);
    buf[n] = '\0';
}

static bool mig_uuid_form(const char *u)
{
    /* MIG-xxxxxxxx-xxxx-8xxx-[89ab]xxx-xxxxxxxxxxxx (openfm's derived names) */
    static const char pat[] = "MIG-hhhhhhhh-hhhh-8hhh-vhhh-hhhhhhhhhhhh";
    if (strlen(u) != strlen(pat))
        return false;
    for (size_t i = 0; pat[i]; i++) {
        char c = u[i];
        bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
        if ((pat[i] == 'h' && !hex) || (pat[i] == 'v' && !strchr("89ab", c)) ||
            (pat[i] != 'h' && pat[i] != 'v' && c != pat[i]))
            return false;
    }
    return true;
}

/* fmctl mig -L: nvidia-smi -L's layout, MIG UUIDs stable across runs and
 * systems; -i by index, PCI bus ID or UUID; -gi/-ci comma lists act on
 * exactly the listed instances (read back from the emulator). */
static void test_mig_devices_and_selection(void **state)
{
    ofm_hal *h = *state;
    ofm_hal_gpu g[OFM_MAX_GPUS];
    size_t ng = 0;
    assert_int_equal(h->ops->list_gpus(h, g, OFM_MAX_GPUS, &ng), 0);
    assert_true(ng == 8);
    char line[256];

    /* no MIG yet: one line per GPU, no device lines */
    assert_int_equal(run("-L"), 0);
    snprintf(line, sizeof line, "GPU 0: NVIDIA A100-SXM4-80GB (UUID: %s)\nGPU 1: ", g[0].uuid);
    has(line);
    assert_null(strstr(out, "  MIG "));

    /* -i by PCI bus ID (nvidia-smi's 8-digit domain, any case) and by UUID */
    char bdf[64];
    snprintf(bdf, sizeof bdf, "0000%s", g[2].pci_bdf);
    assert_int_equal(run("-i %s,%s -L", bdf, g[5].uuid), 0);
    snprintf(line, sizeof line, "GPU 2: NVIDIA A100-SXM4-80GB (UUID: %s)\n"
                                "GPU 5: NVIDIA A100-SXM4-80GB (UUID: %s)\n", g[2].uuid, g[5].uuid);
    if (strcmp(out, line))
        fail_msg("-i by bus ID and UUID:\n%s", out);
    assert_int_equal(run("-i %s --mode 1", g[0].pci_bdf + 5), 0); /* "18:00.0" */
    has("Enabled MIG Mode for GPU 00000000:");
    ofm_hal_mig_mode m;
    assert_int_equal(h->ops->mig_mode_get(h, g[0].phys_id, &m), 0);
    assert_true(m.current);
    assert_int_equal(h->ops->mig_mode_get(h, g[1].phys_id, &m), 0);
    assert_false(m.current);

    /* a 3g GI split into three 1c CIs, and a whole 2g */
    assert_int_equal(run("-i %s -cgi 9:0,14:4 -C", g[0].uuid), 0);
    assert_int_equal(run("-i 0 -dci -gi 1"), 0);
    assert_int_equal(run("-i 0 -cci 0,0,0 -gi 1"), 0);
    assert_int_equal(run("-i 0 -L"), 0);
    snprintf(line, sizeof line, "GPU 0: NVIDIA A100-SXM4-80GB (UUID: %s)\n", g[0].uuid);
    has(line);
    has("\n  MIG 1c.3g.40gb  Device  0: (UUID: MIG-");
    has("\n  MIG 1c.3g.40gb  Device  2: (UUID: MIG-");
    has("\n  MIG 2g.20gb     Device  3: (UUID: MIG-");
    assert_null(strstr(out, "Device  4"));
    char u0[64], u2[64], u3[64], again[64];
    field("Device  0: (UUID: ", ')', u0, sizeof u0);
    field("Device  2: (UUID: ", ')', u2, sizeof u2);
    field("Device  3: (UUID: ", ')', u3, sizeof u3);
    assert_true(mig_uuid_form(u0) && mig_uuid_form(u2) && mig_uuid_form(u3));
    assert_string_not_equal(u0, u2);
    /* openfm's documented derivation (docs/mig.md), pinned: the same GPU,
     * GI and CI name the same device on every run, on every backend */
    assert_string_equal(u0, "MIG-5b3ed52d-61d9-8013-85a5-2d41cf12116c");

    /* the same device recreated gets the same name */
    assert_int_equal(run("-i 0 -dci -gi 1"), 0);
    assert_int_equal(run("-i 0 -cci 0,0,0 -gi 1"), 0);
    assert_int_equal(run("-i 0 -L"), 0);
    field("Device  0: (UUID: ", ')', again, sizeof again);
    assert_string_equal(u0, again);

    /* -ci lists: exactly CIs 0 and 2 of GI 1 go, as the emulator says */
    assert_int_equal(run("-i 0 -dci -ci 0,2 -gi 1"), 0);
    has("Successfully destroyed compute instance ID 0 from GPU 0 GPU instance ID 1");
    has("Successfully destroyed compute instance ID 2 from GPU 0 GPU instance ID 1");
    ofm_hal_compute_instance cis[8];
    size_t nci = 0;
    assert_int_equal(h->ops->ci_list(h, g[0].phys_id, 1, cis, 8, &nci), 0);
    assert_int_equal(nci, 1);
    assert_int_equal(cis[0].ci_id, 1);
    /* -gi lists: both GIs listed, the JSON names each device's instances */
    assert_int_equal(run("-i 0 -lci -gi 1,2"), 0);
    has("|   0      1       MIG 1c.3g.40gb");
    has("|   0      2       MIG 2g.20gb");
    assert_int_equal(run("-i 0 -L --json"), 0);
    has("\"gpu_instance_id\":1,\n        \"compute_instance_id\":1");
    snprintf(line, sizeof line, "\"uuid\":\"%s\"", u3);
    has(line); /* GI 2's device kept its name while others came and went */

    /* bad selections are refused with the reason */
    assert_int_equal(run("-i GPU-0000 -L"), 2);
    has("no GPU has this UUID");
    assert_int_equal(run("-i 00000000:ff:00.0 -L"), 2);
    has("no GPU at this PCI bus ID");
    assert_int_equal(run("-i %s -L", u0), 2);
    has("a MIG device is not a GPU");
    assert_int_equal(run("-i 0 -dci -ci 1,,2"), 2);
    has("not a comma-separated list of IDs");
}

static void test_help_and_usage(void **state)
{
    (void)state;
    assert_int_equal(run("--help"), 0);
    has("0-based in enumeration order");
    has("apply -f FILE -c LABEL");
    assert_int_equal(run("-i 9 -lgi"), 2);
    has("no such GPU");
    assert_int_equal(run("-lgi -lgip"), 2);
    assert_int_equal(run("-cci -i 0"), 2);
    has("-gi ID is required");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_nvidia_smi_flow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset_blocked_by_holder, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_configs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_help_and_usage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mig_devices_and_selection, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
