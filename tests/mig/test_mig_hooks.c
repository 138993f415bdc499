/* MIG mode changes: CAP_SYS_ADMIN is required (checked in a child that
 * dropped it), and hooks stop the services using a GPU around the change —
 * on the emulator by releasing and re-taking the GPU like the clients they
 * stand for. Outcomes are read from the emulator's MIG state. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "mig/mig_ops.h"
#include "mig_fixture.h"

static char out[1 << 16];
static char g_dir[64];
static char g_log[96], g_hooks[96];

static const char *bin(void)
{
    static char b[512];
    const char *bd = getenv("OPENFM_BUILD_DIR");
    assert_non_null(bd);
    snprintf(b, sizeof b, "%s/bin/fmctl", bd);
    return b;
}

/* Run fmctl mig; with `drop`, in a child that stays root but whose exec'd
 * programs get no capabilities (SECBIT_NOROOT): root that gave up
 * CAP_SYS_ADMIN, which could have it (it is still in the bounding set). */
static int run_as(bool drop, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int run_as(bool drop, const char *fmt, ...)
{
    char args[2048], cmd[4096], path[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(path, sizeof path, "%s.out", g_dir);
    snprintf(cmd, sizeof cmd, "OPENFM_NVML_MODEL_DIR=%s %s mig --emu-dir %s %s >%s 2>&1", g_dir,
             bin(), g_dir, args, path);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (drop && prctl(PR_SET_SECUREBITS, SECBIT_NOROOT | SECBIT_NOROOT_LOCKED, 0, 0, 0))
            _exit(99);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(98);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(out, 1, sizeof out - 1, f);
    out[n] = '\0';
    fclose(f);
    unlink(path);
    int rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    if (getenv("OFM_TEST_VERBOSE"))
        fprintf(stderr, "$ fmctl mig %s -> %d\n%s", args, rc, out);
    return rc;
}
#define run(...) run_as(false, __VA_ARGS__)

static void has(const char *needle)
{
    if (!strstr(out, needle))
        fail_msg("output lacks '%s':\n%s", needle, out);
}

static char *slurp(const char *path)
{
    static char b[8192];
    b[0] = '\0';
    FILE *f = fopen(path, "r");
    if (!f)
        return b;
    size_t n = fread(b, 1, sizeof b - 1, f);
    b[n] = '\0';
    fclose(f);
    return b;
}

static int setup(void **state)
{
    ofm_hal *h = mig_fixture_open("hgx-a100", g_dir, sizeof g_dir);
    *state = h;
    snprintf(g_log, sizeof g_log, "%s.hooklog", g_dir);
    snprintf(g_hooks, sizeof g_hooks, "%s.hooks.yaml", g_dir);
    return h ? 0 : -1;
}

static int teardown(void **state)
{
    unlink(g_log);
    unlink(g_hooks);
    mig_fixture_close(*state, g_dir);
    return 0;
}

static ofm_hal_mig_mode mode_of(ofm_hal *h, uint32_t gpu)
{
    ofm_hal_mig_mode m = {0};
    assert_int_equal(h->ops->mig_mode_get(h, gpu, &m), 0);
    return m;
}

static uint32_t holders(ofm_hal *h, uint32_t gpu)
{
    uint32_t n = 99;
    assert_int_equal(h->ops->gpu_hold(h, gpu, 0, &n), 0);
    return n;
}

static uint32_t phys(ofm_hal *h, size_t idx)
{
    ofm_hal_gpu g[OFM_MAX_GPUS];
    size_t n = 0;
    assert_int_equal(h->ops->list_gpus(h, g, OFM_MAX_GPUS, &n), 0);
    assert_true(idx < n);
    return g[idx].phys_id;
}

/* A hooks file whose commands record, at the moment they run, the hook's
 * variables and whether GPU 0 is in MIG mode (as fmctl reads it then). */
static void write_hooks(const char *extra_service, const char *stop_cmd)
{
    FILE *f = fopen(g_hooks, "w");
    assert_non_null(f);
    const char *data = getenv("OPENFM_DATA_DIR");
    char probe[1024];
    snprintf(probe, sizeof probe,
             "{ OPENFM_DATA_DIR=%s %s mig --emu-dir %s -i 0 -L --json | grep -c "
             "mig_enabled.:true; } >> %s || :",
             data ? data : "", bin(), g_dir, g_log);
    /* block scalars: the shell text needs no YAML quoting */
    fprintf(f, "version: v1\nservices:\n"
               "- name: dcgm-exporter\n  gpus: [0, 1]\n"
               "  stop:\n  - sh\n  - -c\n  - |\n"
               "    echo \"stop $OPENFM_MIG_SERVICE gpus=$OPENFM_MIG_GPUS $OPENFM_MIG_MODE\" >> %s\n"
               "    %s%s\n"
               "  start:\n  - sh\n  - -c\n  - |\n"
               "    echo \"start $OPENFM_MIG_SERVICE\" >> %s\n    %s\n"
               "%s",
            g_log, probe, stop_cmd ? stop_cmd : "", g_log, probe,
            extra_service ? extra_service : "");
    fclose(f);
}

static bool may_drop_sys_admin(void)
{
    /* securebits need CAP_SETPCAP; the check is only meaningful for root
     * holding CAP_SYS_ADMIN to give up */
    return geteuid() == 0 && ofm_mig_has_sys_admin() &&
           prctl(PR_CAPBSET_READ, CAP_SETPCAP, 0, 0, 0) == 1;
}

static void test_mode_change_needs_sys_admin(void **state)
{
    ofm_hal *h = *state;
    if (!may_drop_sys_admin()) {
        fprintf(stderr, "skipped: this test process cannot drop CAP_SYS_ADMIN (not privileged)\n");
        skip();
    }
    write_hooks(NULL, NULL);
    assert_int_equal(run_as(true, "-i 0 --mode 1 --hooks %s", g_hooks), 1);
    has("Unable to enable MIG Mode for GPU 00000000:");
    has("Insufficient Permissions: changing MIG mode needs CAP_SYS_ADMIN");
    ofm_hal_mig_mode m = mode_of(h, phys(h, 0));
    assert_false(m.current);
    assert_false(m.pending);
    /* refused before any hook stopped a service */
    assert_string_equal(slurp(g_log), "");

    /* apply: the same refusal, and nothing changes on any GPU */
    char cfg[128];
    snprintf(cfg, sizeof cfg, "%s.cfg.yaml", g_dir);
    FILE *f = fopen(cfg, "w");
    assert_non_null(f);
    fputs("version: v1\nmig-configs:\n  two:\n  - devices: [0, 1]\n    mig-enabled: true\n"
          "    mig-devices: {3g.40gb: 2}\n", f);
    fclose(f);
    assert_int_equal(run_as(true, "apply -f %s -c two", cfg), 1);
    has("GPU 0: cannot enable MIG mode: Insufficient Permissions");
    has("nothing was changed");
    assert_false(mode_of(h, phys(h, 0)).current);
    assert_false(mode_of(h, phys(h, 1)).current);
    /* listing needs no privilege; the capability holder may change it */
    assert_int_equal(run_as(true, "-L"), 0);
    assert_int_equal(run("apply -f %s -c two", cfg), 0);
    assert_true(mode_of(h, phys(h, 1)).current);
    unlink(cfg);
}

static void test_hooks_release_and_restore_clients(void **state)
{
    ofm_hal *h = *state;
    uint32_t g0 = phys(h, 0), g1 = phys(h, 1), g3 = phys(h, 3);
    /* dcgm-exporter runs on GPUs 0 and 1; a job holds GPU 3 */
    assert_int_equal(run("hold -i 0,1,3"), 0);
    /* without hooks the client blocks the reset: the change stays pending */
    assert_int_equal(run("-i 0 --mode 1"), 0);
    has("In use by another client");
    assert_false(mode_of(h, g0).current);
    assert_true(mode_of(h, g0).pending);
    assert_int_equal(run("-i 0 --mode 0"), 0);

    write_hooks("- name: batch-job\n  gpus: [3]\n", NULL);
    assert_int_equal(run("-i 0 --mode 1 --hooks %s", g_hooks), 0);
    has("Stopping dcgm-exporter before the MIG mode change of GPU 0");
    has("Enabled MIG Mode for GPU 00000000:");
    assert_null(strstr(out, "batch-job")); /* uses no changing GPU: left alone */
    ofm_hal_mig_mode m = mode_of(h, g0);
    assert_true(m.current);
    assert_true(m.pending);
    /* the service holds its GPUs again; the job never let go */
    assert_int_equal(holders(h, g0), 1);
    assert_int_equal(holders(h, g1), 1);
    assert_int_equal(holders(h, g3), 1);
    /* stop ran while GPU 0 was not yet in MIG mode, start once it was */
    assert_string_equal(slurp(g_log), "stop dcgm-exporter gpus=0 enable\n0\n"
                                      "start dcgm-exporter\n1\n");

    /* apply with hooks from the environment: GPU 1 changes the same way */
    unlink(g_log);
    char cfg[128];
    snprintf(cfg, sizeof cfg, "%s.cfg.yaml", g_dir);
    FILE *f = fopen(cfg, "w");
    assert_non_null(f);
    fputs("version: v1\nmig-configs:\n  one:\n  - devices: [1]\n    mig-enabled: true\n"
          "    mig-devices: {7g.80gb: 1}\n", f);
    fclose(f);
    assert_int_equal(run("apply -f %s -c one", cfg), 1);
    has("pending a GPU reset, which failed");
    assert_int_equal(run("-i 1 --mode 0"), 0); /* cancel the pending change */
    assert_int_equal(run("apply -f %s -c one --hooks %s", cfg, g_hooks), 0);
    has("GPU 1: applied 'one'");
    assert_true(mode_of(h, g1).current);
    assert_int_equal(holders(h, g1), 1);
    has("Starting dcgm-exporter after the MIG mode change of GPU 1");
    unlink(cfg);
}

static void test_failed_hook_changes_nothing(void **state)
{
    ofm_hal *h = *state;
    uint32_t g0 = phys(h, 0);
    assert_int_equal(run("hold -i 0"), 0);
    write_hooks(NULL, "; exit 3");
    assert_int_equal(run("-i 0 --mode 1 --hooks %s", g_hooks), 1);
    has("MIG hook: stop dcgm-exporter: 'sh' failed (exit status 3)");
    has("a hook failed; nothing was changed");
    assert_false(mode_of(h, g0).current);
    assert_false(mode_of(h, g0).pending);
    /* what was stopped was started again */
    assert_int_equal(holders(h, g0), 1);
    has("Starting dcgm-exporter after the MIG mode change of GPU 0");
}

static void test_bad_hooks_files(void **state)
{
    (void)state;
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"version: v1\nservices:\n- name: x\n  stopp: [a]\n", ":4: unknown field 'stopp'"},
        {"version: v2\nservices: []\n", ":1: unsupported version"},
        {"version: v1\nservices:\n- gpus: all\n", ":3: service without a name"},
        {"version: v1\nservices:\n- name: x\n  gpus: [99]\n", ":4: gpus: entries must be GPU"},
        {"version: v1\nservices:\n- name: x\n  stop: []\n", ":4: stop: empty command"},
        {"version: v1\nservices:\n- name: 'a b'\n", ":3: name: a service name"},
        {"version: v1\nservices:\n- name: x\n- name: x\n", ":4: service 'x' listed twice"},
        {"version: v1\n", "missing field 'services'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        FILE *f = fopen(g_hooks, "w");
        assert_non_null(f);
        fputs(cases[i].text, f);
        fclose(f);
        assert_int_equal(run("-i 0 --mode 1 --hooks %s", g_hooks), 2);
        has(cases[i].want);
        has(g_hooks);
    }
    assert_false(mode_of(*state, phys(*state, 0)).current);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_mode_change_needs_sys_admin, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hooks_release_and_restore_clients, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_hook_changes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_hooks_files, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
