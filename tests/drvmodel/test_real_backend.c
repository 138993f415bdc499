/* The real NVSwitch backend against the driver model: what the driver
 * refuses (a params size of another release, a wrong ioctl type, table
 * depths and batch limits, an incompatible version, excluded switches, an
 * unprivileged caller) is refused by the model the same way, and openfm
 * reports it in one line; a missed heartbeat is noticed; fmctl audit reads
 * the tables back through the driver and agrees with the emulator's probe.
 *
 * The program re-runs itself under scripts/with-driver-model for the raw
 * ioctl checks (--abi-probe) and to read the driver state (--driver-state). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/model_mode.h"
#include "daemon_harness.h"
#include "hal/nvswitch/nvswitch_abi.h"
#include "openfm/emu.h"

static char self[1024];

/* ------------------------------------------------------------ under the model */

static int fails = 0;
#define EXPECT(cond, ...)                                                                          \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);                                           \
            printf(__VA_ARGS__);                                                                   \
            printf("\n");                                                                          \
            fails++;                                                                               \
        }                                                                                          \
    } while (0)

static int call(int fd, int type, unsigned nr, void *p, size_t size)
{
    int rc = ioctl(fd, _IOC(_IOC_READ | _IOC_WRITE, (unsigned)type, nr, size), p);
    return rc < 0 ? errno : 0;
}

static int abi_probe(void)
{
    int ctl = open("/dev/nvidia-nvswitchctl", O_RDWR);
    EXPECT(ctl >= 0, "open ctl: %s", strerror(errno));
    nvsw_check_version cv;
    memset(&cv, 0, sizeof cv);
    snprintf(cv.user, sizeof cv.user, "%s", NVSW_ABI_VERSION);
    char big[sizeof cv + 4];
    memcpy(big, &cv, sizeof cv);
    EXPECT(call(ctl, 'c', NVSW_CTL_CHECK_VERSION, big, sizeof big) == EINVAL, "size +4 accepted");
    EXPECT(call(ctl, 'c', NVSW_CTL_CHECK_VERSION, &cv, sizeof cv - 1) == EINVAL, "size -1 accepted");
    EXPECT(call(ctl, 'd', NVSW_CTL_CHECK_VERSION, &cv, sizeof cv) == EINVAL, "type 'd' on ctl accepted");
    EXPECT(call(ctl, 'c', 0x3f, &cv, sizeof cv) == EINVAL, "unknown command accepted");
    EXPECT(call(ctl, 'c', NVSW_CTL_CHECK_VERSION, &cv, sizeof cv) == 0, "CHECK_VERSION failed");
    EXPECT(cv.is_compatible == 1 && !strcmp(cv.kernel, NVSW_ABI_VERSION), "not compatible: %s",
           cv.kernel);
    snprintf(cv.user, sizeof cv.user, "550.127.05");
    EXPECT(call(ctl, 'c', NVSW_CTL_CHECK_VERSION, &cv, sizeof cv) == 0, "CHECK_VERSION failed");
    EXPECT(cv.is_compatible == 0, "550.127.05 called compatible");

    nvsw_get_devices_v2 *dv = calloc(1, sizeof *dv);
    EXPECT(call(ctl, 'c', NVSW_CTL_GET_DEVICES_V2, dv, sizeof *dv) == 0, "GET_DEVICES_V2");
    EXPECT(dv->count == 4, "%u switches", dv->count);
    bool saw_excluded = false;
    for (uint32_t i = 0; i < dv->count && i < NVSW_MAX_DEVICES; i++)
        if (dv->info[i].instance == 2)
            saw_excluded = dv->info[i].device_state == NVSW_DEVST_BLACKLISTED &&
                           dv->info[i].blacklist_reason == NVSW_BL_MANUAL_IN_BAND;
    EXPECT(saw_excluded, "switch 2 not reported excluded");
    free(dv);

    /* an excluded switch refuses opening */
    EXPECT(open("/dev/nvidia-nvswitch2", O_RDWR) < 0 && errno == ENODEV, "excluded switch opened");
    EXPECT(open("/dev/nvidia-nvswitch9", O_RDWR) < 0 && errno == ENOENT, "minor 9 opened");

    int d0 = open("/dev/nvidia-nvswitch0", O_RDWR);
    EXPECT(d0 >= 0, "open switch 0: %s", strerror(errno));
    nvsw_get_info gi;
    memset(&gi, 0, sizeof gi);
    gi.count = 2;
    gi.index[0] = NVSW_INFO_ARCH;
    gi.index[1] = NVSW_INFO_REMAP_SIZE;
    EXPECT(call(d0, 'd', NVSW_CMD_GET_INFO, &gi, sizeof gi - 4) == EINVAL, "GET_INFO short accepted");
    EXPECT(call(d0, 'c', NVSW_CMD_GET_INFO, &gi, sizeof gi) == EINVAL, "type 'c' on a switch accepted");
    EXPECT(call(d0, 'd', NVSW_CMD_GET_INFO, &gi, sizeof gi) == 0, "GET_INFO");
    EXPECT(gi.info[0] == NVSW_ARCH_LS10 && gi.info[1] == 4096, "arch %u remap %u", gi.info[0],
           gi.info[1]);

    /* unprivileged (the model runs this as a user): privileged calls need the capability */
    nvsw_set_driver_state ds = {NVSW_DRV_STANDBY};
    EXPECT(call(d0, 'd', NVSW_CMD_SET_FM_DRIVER_STATE, &ds, sizeof ds) == EPERM,
           "unprivileged SET_FM_DRIVER_STATE accepted");
    int proc = open(NVSW_CAP_PROC_PATH, O_RDONLY);
    char txt[128] = "";
    EXPECT(proc >= 0 && read(proc, txt, sizeof txt - 1) > 0, "capability proc file");
    if (proc >= 0)
        close(proc);
    unsigned minor = 0;
    const char *k = strstr(txt, "DeviceFileMinor:");
    EXPECT(k && sscanf(k, "DeviceFileMinor: %u", &minor) == 1, "capability minor in '%s'", txt);
    char cpath[64];
    snprintf(cpath, sizeof cpath, NVSW_CAP_DEV_FMT, minor);
    int cap = open(cpath, O_RDONLY);
    EXPECT(cap >= 0, "open %s: %s", cpath, strerror(errno));
    nvsw_acquire_capability ac = {.cap_fd = 12345, .cap = NVSW_CAP_FABRIC_MANAGEMENT};
    EXPECT(call(d0, 'd', NVSW_CMD_ACQUIRE_CAPABILITY, &ac, sizeof ac) == EINVAL,
           "a stray fd accepted as the capability");
    ac.cap_fd = (uint64_t)cap;
    EXPECT(call(d0, 'd', NVSW_CMD_ACQUIRE_CAPABILITY, &ac, sizeof ac) == 0, "ACQUIRE_CAPABILITY");
    EXPECT(call(d0, 'd', NVSW_CMD_SET_FM_DRIVER_STATE, &ds, sizeof ds) == 0,
           "SET_FM_DRIVER_STATE with the capability");

    /* table depth and the 64-entry batch limit */
    nvsw_set_remap *sr = calloc(1, sizeof *sr);
    sr->port = 3;
    sr->first = 4090;
    sr->count = 10;
    EXPECT(call(d0, 'd', NVSW_CMD_SET_REMAP_POLICY, sr, sizeof *sr) == EINVAL, "past depth accepted");
    sr->first = 0;
    sr->count = 65;
    EXPECT(call(d0, 'd', NVSW_CMD_SET_REMAP_POLICY, sr, sizeof *sr) == EINVAL, "65 entries accepted");
    sr->count = 1;
    sr->port = 64;
    EXPECT(call(d0, 'd', NVSW_CMD_SET_REMAP_POLICY, sr, sizeof *sr) == EINVAL, "port 64 accepted");
    sr->port = 3;
    sr->entry[0].target_id = 0x800;
    EXPECT(call(d0, 'd', NVSW_CMD_SET_REMAP_POLICY, sr, sizeof *sr) == EINVAL, "target 0x800 accepted");
    free(sr);
    nvsw_set_rid *rid = calloc(1, sizeof *rid);
    rid->port = 3;
    rid->first = 1;
    rid->count = 1;
    rid->entry[0].valid = 1;
    rid->entry[0].nports = 0;
    EXPECT(call(d0, 'd', NVSW_CMD_SET_ROUTING_ID, rid, sizeof *rid) == EINVAL, "empty port list accepted");
    rid->entry[0].nports = 1;
    rid->entry[0].ports[0].port = 70;
    EXPECT(call(d0, 'd', NVSW_CMD_SET_ROUTING_ID, rid, sizeof *rid) == EINVAL, "port 70 accepted");
    free(rid);
    nvsw_get_rid *gr = calloc(1, sizeof *gr);
    gr->port = 3;
    gr->first = 2048;
    EXPECT(call(d0, 'd', NVSW_CMD_GET_ROUTING_ID, gr, sizeof *gr) == EINVAL, "read past depth accepted");
    free(gr);
    close(cap);
    close(d0);
    close(ctl);
    printf(fails ? "ABI FAILED (%d)\n" : "ABI OK\n", fails);
    return fails ? 1 : 0;
}

static int driver_state(void)
{
    int ctl = open("/dev/nvidia-nvswitchctl", O_RDWR);
    nvsw_get_devices_v2 *dv = calloc(1, sizeof *dv);
    if (ctl < 0 || call(ctl, 'c', NVSW_CTL_GET_DEVICES_V2, dv, sizeof *dv) || !dv->count)
        return 1;
    static const char *names[] = {"offline", "standby", "configured", "manager-timeout", "manager-error"};
    uint32_t s = dv->info[0].driver_state;
    printf("%s\n", s < 5 ? names[s] : "?");
    free(dv);
    return 0;
}

/* ------------------------------------------------------------ the tests */

/* Run `args` under the driver model over d's system; output in out. */
static int under_model(const dh_daemon *d, const char *env, const char *args, char *out, size_t len)
{
    char cmd[3000];
    snprintf(cmd, sizeof cmd, "%s '%s' '%s' -- %s 2>&1", env ? env : "", mm_wrapper(), d->emu, args);
    return dh_run(cmd, out, len);
}

static int count_lines(const char *log, const char *needle)
{
    int n = 0;
    for (const char *p = log; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

static char *model_log(const dh_daemon *d)
{
    char path[256];
    snprintf(path, sizeof path, "%s/nvswitch-model.log", d->emu);
    FILE *f = fopen(path, "r");
    char *buf = calloc(1, 65536);
    if (f) {
        size_t n = fread(buf, 1, 65535, f);
        buf[n] = '\0';
        fclose(f);
    }
    return buf;
}

static void test_abi_checks(void **state)
{
    (void)state;
    dh_daemon d;
    assert_int_equal(dh_init(&d, "hgx-h100"), 0);
    char out[8192], args[1200];
    snprintf(args, sizeof args, "'%s' --abi-probe", self);
    int rc = under_model(&d, "OPENFM_DRIVER_MODEL_USER=1 OPENFM_DRIVER_MODEL_EXCLUDE=2", args, out,
                         sizeof out);
    if (rc)
        fail_msg("abi probe under the model:\n%s", out);
    assert_non_null(strstr(out, "ABI OK"));
    dh_cleanup(&d);
}

/* openfm's start-up failure, as the operator sees it: exit 1 and one line */
static char *start_refused(dh_daemon *d)
{
    assert_int_equal(dh_write_config(d, NULL), 0);
    int st = -1;
    assert_int_equal(dh_start(d, NULL, 20000, &st), -1);
    assert_int_equal(st, 1);
    char *log = dh_read_log(d);
    assert_non_null(log);
    return log;
}

static void test_version_mismatch(void **state)
{
    (void)state;
    dh_daemon d;
    assert_int_equal(dh_init(&d, "hgx-h100"), 0);
    ofm_hal *h;
    char err[256];
    assert_int_equal(ofm_emu_open(d.emu, &h, err, sizeof err), OFM_HAL_OK);
    /* same branch, another release: the driver's exact check still refuses */
    assert_int_equal(ofm_emu_inject_driver_version(h, "580.65.06"), OFM_HAL_OK);
    ofm_hal_close(h);
    char *log = start_refused(&d);
    const char *want = "NVSwitch driver version 580.65.06 is not compatible with openfm, built for "
                       "driver 580.95.05: install the NVIDIA 580.95.05 driver";
    assert_non_null(strstr(log, want));
    assert_int_equal(count_lines(log, "not compatible"), 1);
    assert_int_equal(count_lines(log, "[CRITICAL]"), 1);
    free(log);
    char *klog = model_log(&d);
    assert_non_null(strstr(klog, "Version mismatch, kernel version 580.65.06 user version 580.95.05"));
    free(klog);
    dh_cleanup(&d);
}

static void test_params_size_mismatch(void **state)
{
    (void)state;
    dh_daemon d;
    assert_int_equal(dh_init(&d, "hgx-h100"), 0);
    /* a driver whose GET_INFO params differ from 580.95.05's */
    setenv("OPENFM_DRIVER_MODEL_ABI_SKEW", "GET_INFO", 1);
    char *log = start_refused(&d);
    unsetenv("OPENFM_DRIVER_MODEL_ABI_SKEW");
    assert_non_null(strstr(log, "NVSwitch driver refused GET_INFO (260-byte params) on "
                                "/dev/nvidia-nvswitch0: Invalid argument"));
    assert_non_null(strstr(log, "install the NVIDIA 580.95.05 driver"));
    assert_int_equal(count_lines(log, "[CRITICAL]"), 1);
    free(log);
    dh_cleanup(&d);
}

/* Polls below run until a wall-clock deadline, not an iteration count: on a
 * loaded CI box each round can take far longer than its 10 ms nap. */
#define POLL_DEADLINE_S 60
static bool before_deadline(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec - start->tv_sec < POLL_DEADLINE_S;
}

static void wait_state(const dh_daemon *d, const char *want)
{
    char out[512], args[1200];
    snprintf(args, sizeof args, "'%s' --driver-state", self);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    out[0] = '\0';
    while (before_deadline(&t0)) {
        if (under_model(d, NULL, args, out, sizeof out) == 0 && strstr(out, want))
            return;
        struct timespec nap = {0, 10 * 1000 * 1000};
        nanosleep(&nap, NULL);
    }
    fail_msg("the driver never reported '%s' (last: %s)", want, out);
}

static void test_missed_heartbeat(void **state)
{
    (void)state;
    dh_daemon d;
    assert_int_equal(dh_init(&d, "hgx-h100"), 0);
    assert_int_equal(dh_write_config(&d, "OPENFM_HEARTBEAT_TIMEOUT_MS=300\n"), 0);
    assert_int_equal(dh_start(&d, NULL, 20000, NULL), 0);
    wait_state(&d, "configured");
    /* a stopped manager sends no heartbeat: the driver times it out */
    assert_int_equal(kill(d.pid, SIGSTOP), 0);
    wait_state(&d, "manager-timeout");
    assert_int_equal(kill(d.pid, SIGCONT), 0);
    wait_state(&d, "configured");
    char *log = NULL;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (before_deadline(&t0) && !(log && strstr(log, "heartbeat missed"))) {
        free(log);
        struct timespec nap = {0, 10 * 1000 * 1000};
        nanosleep(&nap, NULL);
        log = dh_read_log(&d);
    }
    assert_non_null(log);
    assert_non_null(strstr(log, "nvswitch: heartbeat missed: the NVSwitch driver put NVSwitch"));
    assert_non_null(strstr(log, "in 'manager timeout'"));
    free(log);
    char *klog = model_log(&d);
    assert_non_null(strstr(klog, "fabric manager heartbeat timed out after 300 ms"));
    free(klog);
    /* a clean exit leaves the driver in standby, not waiting for a manager */
    assert_int_equal(dh_stop(&d, SIGTERM), 0);
    wait_state(&d, "standby");
    dh_cleanup(&d);
}

static void test_excluded_switch(void **state)
{
    (void)state;
    dh_daemon d;
    assert_int_equal(dh_init(&d, "hgx-h100"), 0);
    setenv("OPENFM_DRIVER_MODEL_EXCLUDE", "1", 1);
    char *log = start_refused(&d);
    unsetenv("OPENFM_DRIVER_MODEL_EXCLUDE");
    assert_non_null(strstr(log, "nvswitch: NVSwitch 2 (PCI 0000:06:00.0, /dev/nvidia-nvswitch1) is "
                                "excluded by the driver: excluded in band (kernel module option); "
                                "it is not opened"));
    /* an H100 baseboard needs every switch (FM §13.8) */
    assert_non_null(strstr(log, "NVSwitch 2 is missing or failed"));
    free(log);
    char *klog = model_log(&d);
    assert_null(strstr(klog, "blacklisted device refused")); /* never even tried */
    free(klog);
    dh_cleanup(&d);
}

static void test_lr10_refused(void **state)
{
    (void)state;
    dh_daemon d;
    assert_int_equal(dh_init(&d, "hgx-a100"), 0);
    char *log = start_refused(&d);
    assert_non_null(strstr(log, "is LR10 (second generation, HGX A100): openfm's NVSwitch driver "
                                "backend supports third-generation NVSwitch (LS10: HGX "
                                "H100/H200/H800) only"));
    assert_int_equal(count_lines(log, "[CRITICAL]"), 1);
    free(log);
    dh_cleanup(&d);
}

static void test_privileges(void **state)
{
    (void)state;
    dh_daemon d;
    assert_int_equal(dh_init(&d, "hgx-h100"), 0);
    /* not root and no capability: refused by the driver, said once */
    setenv("OPENFM_DRIVER_MODEL_USER", "1", 1);
    setenv("OPENFM_DRIVER_MODEL_NO_CAP", "1", 1);
    char *log = start_refused(&d);
    unsetenv("OPENFM_DRIVER_MODEL_NO_CAP");
    assert_non_null(strstr(log, "Operation not permitted; fabric management needs root or the "
                                "fabric-management capability"));
    free(log);
    /* not root but with the capability: the manager works */
    assert_int_equal(dh_start(&d, NULL, 20000, NULL), 0);
    unsetenv("OPENFM_DRIVER_MODEL_USER");
    ofm_hal *h;
    char err[256];
    assert_int_equal(ofm_emu_open(d.emu, &h, err, sizeof err), OFM_HAL_OK);
    ofm_emu_probe_result r;
    assert_int_equal(ofm_emu_probe(h, 1, 2, true, &r), OFM_HAL_OK);
    assert_true(r.arrives);
    ofm_hal_close(h);
    assert_int_equal(dh_stop(&d, SIGTERM), 0);
    dh_cleanup(&d);
}

/* fmctl audit through the real backend (tables read back from the driver):
 * every pair agrees with the emulator's probe, and after a link failure the
 * matrix equals the emulator backend's own audit of the same tables. */
static void test_audit_agrees_with_probe(void **state)
{
    (void)state;
    dh_daemon d;
    assert_int_equal(dh_init(&d, "hgx-h100"), 0);
    assert_int_equal(dh_write_config(&d, NULL), 0);
    assert_int_equal(dh_start(&d, NULL, 20000, NULL), 0);
    ofm_hal *h;
    char err[256], out[8192], args[1200];
    assert_int_equal(ofm_emu_open(d.emu, &h, err, sizeof err), OFM_HAL_OK);
    snprintf(args, sizeof args, "'%s' audit --backend real", dh_bin("fmctl"));
    assert_int_equal(under_model(&d, NULL, args, out, sizeof out), 0);
    /* (the NVML model makes the composed backend count as emulated) */
    assert_non_null(strstr(out, "GPU Reachability Matrix (hgx-h100, emulated)"));
    snprintf(args, sizeof args, "'%s' audit --backend real -c", dh_bin("fmctl"));
    assert_int_equal(under_model(&d, NULL, args, out, sizeof out), 0);
    /* CSV rows: "GPU,l1,l2,..." after the header */
    const char *row = strchr(out, '\n');
    for (uint32_t s = 1; s <= 8 && row; s++, row = strchr(row + 1, '\n')) {
        const char *c = row + 1;
        assert_int_equal(atoi(c), (int)s);
        for (uint32_t t = 1; t <= 8; t++) {
            c = strchr(c, ',');
            assert_non_null(c);
            c++;
            if (s == t)
                continue;
            ofm_emu_probe_result r;
            assert_int_equal(ofm_emu_probe(h, s, t, true, &r), OFM_HAL_OK);
            if ((uint32_t)atoi(c) != r.links)
                fail_msg("GPU %u -> %u: audit says %d, the probe %u links", s, t, atoi(c), r.links);
        }
    }
    const ofm_platform *p = ofm_hal_platform(h);
    assert_non_null(p);
    assert_int_equal(ofm_emu_inject_port_down(h, p->access[0].sw, p->access[0].sw_port), OFM_HAL_OK);
    static char emu_view[8192];
    snprintf(args, sizeof args, "'%s' audit --emu-dir '%s' -c 2>&1", dh_bin("fmctl"), d.emu);
    assert_int_equal(dh_run(args, emu_view, sizeof emu_view), 0);
    snprintf(args, sizeof args, "'%s' audit --backend real -c", dh_bin("fmctl"));
    assert_int_equal(under_model(&d, NULL, args, out, sizeof out), 0);
    assert_string_equal(out, emu_view);
    ofm_hal_close(h);
    assert_int_equal(dh_stop(&d, SIGTERM), 0);
    dh_cleanup(&d);
}

/* A GPU that comes up after bring-up (it was off the bus when the manager
 * started) probes then: the running manager answers it. */
static void test_late_probe_answered(void **state)
{
    (void)state;
    dh_daemon d;
    assert_int_equal(dh_init(&d, "hgx-h100"), 0);
    ofm_hal *h;
    char err[256];
    assert_int_equal(ofm_emu_open(d.emu, &h, err, sizeof err), OFM_HAL_OK);
    assert_int_equal(ofm_emu_inject_gpu(h, 3, OFM_DEV_MISSING), OFM_HAL_OK);
    assert_int_equal(dh_write_config(&d, NULL), 0);
    assert_int_equal(dh_start(&d, NULL, 20000, NULL), 0);
    /* back on the bus; ALI brings its links up */
    assert_int_equal(ofm_emu_inject_gpu(h, 3, OFM_DEV_OK), OFM_HAL_OK);
    const ofm_platform *p = ofm_hal_platform(h);
    for (size_t a = 0; a < p->naccess; a++)
        if (p->access[a].gpu == 3)
            assert_int_equal(ofm_emu_inject_port_repair(h, p->access[a].sw, p->access[a].sw_port),
                             OFM_HAL_OK);
    ofm_hal_fabric_info fi = {0};
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (before_deadline(&t0)) {
        assert_int_equal(h->ops->fabric_get(h, 3, &fi), OFM_HAL_OK);
        if (fi.state == OFM_FABRIC_COMPLETED)
            break;
        struct timespec nap = {0, 10 * 1000 * 1000};
        nanosleep(&nap, NULL);
    }
    assert_int_equal(fi.state, OFM_FABRIC_COMPLETED);
    assert_int_equal(fi.status, 0);
    /* The driver marks the GPU completed when the answer is sent; the
     * manager's log line follows it, so it is polled for as well. */
    const char *want = "nvswitch: GPU 3 (0000:34:00.0) probed the fabric again; answered";
    char *log = NULL;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (before_deadline(&t0) && !(log && strstr(log, want))) {
        free(log);
        log = dh_read_log(&d);
        if (log && strstr(log, want))
            break;
        struct timespec nap = {0, 10 * 1000 * 1000};
        nanosleep(&nap, NULL);
    }
    assert_non_null(log);
    assert_non_null(strstr(log, want));
    free(log);
    ofm_hal_close(h);
    assert_int_equal(dh_stop(&d, SIGTERM), 0);
    dh_cleanup(&d);
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "--abi-probe"))
        return abi_probe();
    if (argc > 1 && !strcmp(argv[1], "--driver-state"))
        return driver_state();
    if (!realpath(argv[0], self))
        snprintf(self, sizeof self, "%s", argv[0]);
    setenv("OFM_TEST_BACKEND", "model", 1); /* the harness starts openfm under the model */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_abi_checks),
        cmocka_unit_test(test_version_mismatch),
        cmocka_unit_test(test_params_size_mismatch),
        cmocka_unit_test(test_missed_heartbeat),
        cmocka_unit_test(test_excluded_switch),
        cmocka_unit_test(test_lr10_refused),
        cmocka_unit_test(test_privileges),
        cmocka_unit_test(test_audit_agrees_with_probe),
        cmocka_unit_test(test_late_probe_answered),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
