/* Hypervisor scenarios against the real daemon in shared NVSwitch and vGPU
 * modes. Every claim about isolation is checked with the emulator's traffic
 * probe, never with the daemon's own bookkeeping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/model_mode.h"
#include "daemon_harness.h"
#include "nv_fm_agent.h"
#include "openfm/emu.h"

static fmHandle_t connect_to(const dh_daemon *d)
{
    fmConnectParams_t cp;
    memset(&cp, 0, sizeof cp);
    cp.version = fmConnectParams_version;
    cp.timeoutMs = 10000;
    cp.addressType = NV_FM_API_ADDR_TYPE_UNIX;
    snprintf(cp.addressInfo, sizeof cp.addressInfo, "%s", d->sock);
    fmHandle_t h = NULL;
    assert_int_equal(fmConnect(&cp, &h), FM_ST_SUCCESS);
    return h;
}

/* Probe every pair: same active partition -> arrives over `links`; else dropped. */
static void check_isolation(ofm_hal *hal, const fmFabricPartitionList_t *l, uint32_t links)
{
    const ofm_platform *p = ofm_hal_platform(hal);
    int owner[64];
    for (int i = 0; i < 64; i++)
        owner[i] = -1;
    for (unsigned i = 0; i < l->numPartitions; i++) {
        const fmFabricPartitionInfo_t *pi = &l->partitionInfo[i];
        if (!pi->isActive)
            continue;
        for (unsigned k = 0; k < pi->numGpus; k++) {
            unsigned g = pi->gpuInfo[k].physicalId;
            if (owner[g] >= 0)
                fail_msg("GPU %u in two active partitions (%d and %u)", g, owner[g], pi->partitionId);
            owner[g] = (int)pi->partitionId;
        }
    }
    for (size_t i = 0; i < p->ngpus; i++)
        for (size_t j = 0; j < p->ngpus; j++) {
            if (i == j)
                continue;
            uint32_t a = p->gpus[i].phys_id, b = p->gpus[j].phys_id;
            ofm_emu_probe_result r;
            assert_int_equal(ofm_emu_probe(hal, a, b, true, &r), OFM_HAL_OK);
            bool same = owner[a] >= 0 && owner[a] == owner[b];
            if (same && (!r.arrives || r.links != links))
                fail_msg("GPU %u -> %u (partition %d): %s over %u links, want %u", a, b, owner[a],
                         r.arrives ? "arrives" : "dropped", r.links, links);
            if (!same && r.arrives)
                fail_msg("GPU %u -> %u arrives over %u links but they share no active partition", a,
                         b, r.links);
        }
}

static fmFabricPartitionList_t *get_list(fmHandle_t h)
{
    fmFabricPartitionList_t *l = calloc(1, sizeof *l);
    l->version = fmFabricPartitionList_version;
    assert_int_equal(fmGetSupportedFabricPartitions(h, l), FM_ST_SUCCESS);
    return l;
}

static void start_mode(dh_daemon *d, const char *platform, int mode, const char *extra)
{
    assert_int_equal(dh_init(d, platform), 0);
    char cfg[512];
    snprintf(cfg, sizeof cfg, "FABRIC_MODE=%d\n%s", mode, extra ? extra : "");
    assert_int_equal(dh_write_config(d, cfg), 0);
    int st = -1;
    if (dh_start(d, NULL, 20000, &st)) {
        char *log = dh_read_log(d);
        fail_msg("daemon not ready (exit %d)\n%s", st, log ? log : "");
    }
}

/* The out-of-tree client: install, build with pkg-config only, run. */
static void test_out_of_tree_lifecycle(void **state)
{
    (void)state;
    dh_daemon d;
    start_mode(&d, "hgx-h100", 1, NULL);
    const char *build = getenv("OPENFM_BUILD_DIR"), *src = getenv("OPENFM_SOURCE_DIR");
    static char cmd[8192], out[16384];
    snprintf(cmd, sizeof cmd, "DESTDIR='%s/stage' '%s' --install '%s' --component sdk --prefix /opt/fm 2>&1",
             d.dir, HV_CMAKE, build);
    assert_int_equal(dh_run(cmd, out, sizeof out), 0);
    char pcenv[1024];
    snprintf(pcenv, sizeof pcenv, "PKG_CONFIG_PATH='%s/stage/opt/fm/%s/pkgconfig' PKG_CONFIG_LIBDIR=",
             d.dir, HV_LIBDIR);
    snprintf(cmd, sizeof cmd,
             "%s '%s' -std=c11 -Wall -Wextra -Werror %s '%s/tests/hypervisor/client/lifecycle_client.c' "
             "-o '%s/lifecycle' $(%s pkg-config --cflags --libs nvfm) 2>&1",
             pcenv, HV_CC, HV_SAN_FLAGS, src, d.dir, pcenv);
    if (dh_run(cmd, out, sizeof out))
        fail_msg("client build failed: %s", out);
    snprintf(cmd, sizeof cmd, "LD_LIBRARY_PATH='%s/stage/opt/fm/%s' '%s/lifecycle' '%s' 2>&1", d.dir,
             HV_LIBDIR, d.dir, d.sock);
    int rc = dh_run(cmd, out, sizeof out);
    if (rc)
        fail_msg("lifecycle client failed:\n%s", out);
    assert_non_null(strstr(out, "LIFECYCLE OK"));
    assert_int_equal(dh_stop(&d, SIGTERM), 0);
    dh_cleanup(&d);
}

/* ---- randomized multi-client activation/deactivation ---- */

typedef struct {
    dh_daemon *d;
    ofm_hal *hal;
    pthread_mutex_t *mu;
    unsigned seed;
    int ops;
    unsigned nparts;
    unsigned ids[64];
    unsigned ngpus[64];          /* per partition, for its VF list */
    unsigned gpus[64][FM_MAX_NUM_GPUS];
    int vgpu;
} worker_arg;

/* One VF of each GPU of partition k, from the emulator's SR-IOV model. */
static unsigned vf_list(const worker_arg *a, unsigned k, fmPciDevice_t *out)
{
    for (unsigned g = 0; g < a->ngpus[k]; g++) {
        ofm_hal_pci_fn v[OFM_HAL_MAX_VFS];
        size_t n = 0;
        assert_int_equal(ofm_hal_gpu_vfs(a->hal, a->gpus[k][g], v, OFM_HAL_MAX_VFS, &n), OFM_HAL_OK);
        assert_true(n > 0);
        out[g] = (fmPciDevice_t){v[0].domain, v[0].bus, v[0].device, v[0].function};
    }
    return a->ngpus[k];
}

static void *worker(void *p)
{
    worker_arg *a = p;
    fmHandle_t h = connect_to(a->d);
    for (int i = 0; i < a->ops; i++) {
        unsigned k = (unsigned)rand_r(&a->seed) % a->nparts;
        unsigned id = a->ids[k];
        bool act = rand_r(&a->seed) % 2;
        /* one op and the full check form a step; the lock keeps the check's
         * snapshot consistent while other clients wait their turn */
        pthread_mutex_lock(a->mu);
        fmReturn_t rc;
        if (act && a->vgpu) {
            fmPciDevice_t vf[FM_MAX_NUM_GPUS];
            unsigned nvf = vf_list(a, k, vf);
            rc = fmActivateFabricPartitionWithVFs(h, id, vf, nvf);
        } else {
            rc = act ? fmActivateFabricPartition(h, id) : fmDeactivateFabricPartition(h, id);
        }
        if (act && rc != FM_ST_SUCCESS && rc != FM_ST_IN_USE)
            fail_msg("activate %u: %d", id, rc);
        if (!act && rc != FM_ST_SUCCESS && rc != FM_ST_UNINITIALIZED)
            fail_msg("deactivate %u: %d", id, rc);
        fmFabricPartitionList_t *l = get_list(h);
        check_isolation(a->hal, l, a->vgpu ? 12 : 18);
        free(l);
        pthread_mutex_unlock(a->mu);
    }
    fmDisconnect(h);
    return NULL;
}

static void randomized(const char *platform, int vgpu, int threads, int ops)
{
    dh_daemon d;
    start_mode(&d, platform, vgpu ? 2 : 1, NULL);
    ofm_hal *hal;
    char err[256];
    assert_int_equal(ofm_emu_open(d.emu, &hal, err, sizeof err), OFM_HAL_OK);
    fmLibInit();
    fmHandle_t h = connect_to(&d);
    fmFabricPartitionList_t *l = get_list(h);
    check_isolation(hal, l, 0); /* fresh: nobody reaches anybody */
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    worker_arg args[8];
    pthread_t t[8];
    for (int i = 0; i < threads; i++) {
        args[i] = (worker_arg){.d = &d, .hal = hal, .mu = &mu, .seed = 1234u + (unsigned)i * 7919u,
                               .ops = ops, .nparts = l->numPartitions, .vgpu = vgpu};
        for (unsigned k = 0; k < l->numPartitions; k++) {
            args[i].ids[k] = l->partitionInfo[k].partitionId;
            args[i].ngpus[k] = l->partitionInfo[k].numGpus;
            for (unsigned g = 0; g < l->partitionInfo[k].numGpus; g++)
                args[i].gpus[k][g] = l->partitionInfo[k].gpuInfo[g].physicalId;
        }
        pthread_create(&t[i], NULL, worker, &args[i]);
    }
    for (int i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    l->version = fmFabricPartitionList_version;
    assert_int_equal(fmGetSupportedFabricPartitions(h, l), FM_ST_SUCCESS);
    print_message("%s: %d operations from %d clients, isolation probed after each\n", platform,
                  threads * ops, threads);
    free(l);
    fmDisconnect(h);
    fmLibShutdown();
    ofm_hal_close(hal);
    assert_int_equal(dh_stop(&d, SIGTERM), 0);
    dh_cleanup(&d);
}

static void test_randomized_h100_shared(void **state)
{
    (void)state;
    /* the driver model makes every table write a file transaction: a
     * shorter run there, the same checks */
    randomized("hgx-h100", 0, 4, mm_enabled() ? 100 : 400);
}

static void test_randomized_a100_vgpu(void **state)
{
    (void)state;
    randomized("hgx-a100-2b", 1, 3, 200);
}

/* ---- resiliency ---- */

static void probe_expect(ofm_hal *hal, uint32_t a, uint32_t b, bool arrives)
{
    ofm_emu_probe_result r;
    assert_int_equal(ofm_emu_probe(hal, a, b, true, &r), OFM_HAL_OK);
    if (r.arrives != arrives)
        fail_msg("GPU %u -> %u: %s, expected %s", a, b, r.arrives ? "arrives" : "dropped",
                 arrives ? "arrives" : "dropped");
}

static void test_sigkill_and_restart(void **state)
{
    (void)state;
    dh_daemon d;
    start_mode(&d, "hgx-h100", 1, NULL);
    fmLibInit();
    fmHandle_t h = connect_to(&d);
    assert_int_equal(fmActivateFabricPartition(h, 1), FM_ST_SUCCESS); /* GPUs 1-4 */
    assert_int_equal(fmActivateFabricPartition(h, 6), FM_ST_SUCCESS); /* GPUs 6, 8 */
    fmDisconnect(h);
    assert_int_equal(dh_stop(&d, SIGKILL), 128 + SIGKILL);
    ofm_hal *hal;
    char err[256];
    assert_int_equal(ofm_emu_open(d.emu, &hal, err, sizeof err), OFM_HAL_OK);
    /* the guests keep their NVLink traffic while nobody manages the fabric */
    probe_expect(hal, 1, 4, true);
    probe_expect(hal, 6, 8, true);
    probe_expect(hal, 1, 5, false);

    const char *args[] = {"--restart", NULL};
    assert_int_equal(dh_start(&d, args, 20000, NULL), 0);
    probe_expect(hal, 2, 3, true); /* restart touched nothing */
    probe_expect(hal, 6, 8, true);
    h = connect_to(&d);
    assert_int_equal(fmActivateFabricPartition(h, 2), FM_ST_NOT_CONFIGURED);
    fmFabricPartitionList_t *l = calloc(1, sizeof *l);
    l->version = fmFabricPartitionList_version;
    assert_int_equal(fmGetSupportedFabricPartitions(h, l), FM_ST_NOT_CONFIGURED);
    /* FM §5.11: not supported in resiliency restart mode */
    fmNvlinkFailedDevices_t *fd = calloc(1, sizeof *fd);
    fd->version = fmNvlinkFailedDevices_version;
    assert_int_equal(fmGetNvlinkFailedDevices(h, fd), FM_ST_NOT_SUPPORTED);
    /* the hypervisor says only partition 1 still runs */
    fmActivatedFabricPartitionList_t act;
    memset(&act, 0, sizeof act);
    act.version = fmActivatedFabricPartitionList_version;
    act.numPartitions = 1;
    act.partitionIds[0] = 1;
    assert_int_equal(fmSetActivatedFabricPartitions(h, &act), FM_ST_SUCCESS);
    probe_expect(hal, 1, 4, true);  /* kept */
    probe_expect(hal, 6, 8, false); /* no longer running: routes removed */
    assert_int_equal(fmGetSupportedFabricPartitions(h, l), FM_ST_SUCCESS);
    check_isolation(hal, l, 18);
    assert_int_equal(fmDeactivateFabricPartition(h, 1), FM_ST_SUCCESS);
    probe_expect(hal, 1, 4, false);
    assert_int_equal(fmActivateFabricPartition(h, 0), FM_ST_SUCCESS);
    probe_expect(hal, 1, 8, true);
    /* the window has closed: a list without partition 0 does not tear it down */
    act.numPartitions = 0;
    assert_int_equal(fmSetActivatedFabricPartitions(h, &act), FM_ST_NOT_SUPPORTED);
    probe_expect(hal, 1, 8, true);
    assert_int_equal(fmGetNvlinkFailedDevices(h, fd), FM_ST_NOT_SUPPORTED);
    char *log = dh_read_log(&d);
    assert_non_null(strstr(log, "partition 0 is active but not in the list; it keeps running"));
    free(log);
    free(fd);
    free(l);
    fmDisconnect(h);
    fmLibShutdown();
    ofm_hal_close(hal);
    assert_int_equal(dh_stop(&d, SIGTERM), 0);
    dh_cleanup(&d);
}

static void test_restart_timeout_exits(void **state)
{
    (void)state;
    dh_daemon d;
    start_mode(&d, "hgx-h100", 1, "OPENFM_RESTART_TIMEOUT_S=1\n");
    assert_int_equal(dh_stop(&d, SIGKILL), 128 + SIGKILL);
    const char *args[] = {"--restart", NULL};
    assert_int_equal(dh_start(&d, args, 20000, NULL), 0);
    int st;
    assert_int_equal(waitpid(d.pid, &st, 0), d.pid); /* it must leave on its own */
    d.pid = -1;
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 1);
    char *log = dh_read_log(&d);
    assert_non_null(strstr(log, "did not call fmSetActivatedFabricPartitions within 1 s"));
    free(log);
    dh_cleanup(&d);
}

static void test_restart_with_bad_state_file(void **state)
{
    (void)state;
    dh_daemon d;
    start_mode(&d, "hgx-h100", 1, NULL);
    assert_int_equal(dh_stop(&d, SIGKILL), 128 + SIGKILL);
    FILE *f = fopen(d.state, "r+");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    assert_int_equal(truncate(d.state, n - 6), 0); /* cut the last record short */
    const char *args[] = {"--restart", NULL};
    int st = -1;
    assert_int_equal(dh_start(&d, args, 20000, &st), -1);
    assert_int_equal(st, 1);
    char *log = dh_read_log(&d);
    assert_non_null(strstr(log, "cannot recover state"));
    assert_non_null(strstr(log, "record 1 at byte offset 15: truncated"));
    assert_non_null(strstr(log, "start without --restart"));
    free(log);
    dh_cleanup(&d);
}

static void test_bare_metal_refuses_partitions(void **state)
{
    (void)state;
    dh_daemon d;
    assert_int_equal(dh_init(&d, "hgx-h100"), 0);
    assert_int_equal(dh_write_config(&d, NULL), 0);
    assert_int_equal(dh_start(&d, NULL, 20000, NULL), 0);
    fmLibInit();
    fmHandle_t h = connect_to(&d);
    assert_int_equal(fmActivateFabricPartition(h, 1), FM_ST_NOT_SUPPORTED);
    fmFabricPartitionList_t *l = calloc(1, sizeof *l);
    l->version = fmFabricPartitionList_version;
    assert_int_equal(fmGetSupportedFabricPartitions(h, l), FM_ST_NOT_SUPPORTED);
    free(l);
    fmDisconnect(h);
    fmLibShutdown();
    assert_int_equal(dh_stop(&d, SIGTERM), 0);
    dh_cleanup(&d);
}

static void test_vgpu_requires_vfs(void **state)
{
    (void)state;
    dh_daemon d;
    start_mode(&d, "hgx-a100-2b", 2, NULL);
    fmLibInit();
    fmHandle_t h = connect_to(&d);
    assert_int_equal(fmActivateFabricPartition(h, 19), FM_ST_NOT_SUPPORTED); /* even one GPU */
    /* partition 11 is GPUs 1 and 2; VFs from the emulator's SR-IOV model
     * (docs/emulator.md), GPU 2's first */
    fmPciDevice_t vfs[2] = {{0, 0x26, 0, 5}, {0, 0x18, 1, 0}};
    fmPciDevice_t bad[2] = {{0, 0x26, 0, 5}, {0, 0x3b, 0, 1}}; /* not a VF of GPU 1 */
    assert_int_equal(fmActivateFabricPartitionWithVFs(h, 11, bad, 2), FM_ST_BADPARAM);
    assert_int_equal(fmActivateFabricPartitionWithVFs(h, 11, vfs, 1), FM_ST_BADPARAM);
    assert_int_equal(fmActivateFabricPartitionWithVFs(h, 11, vfs, 2), FM_ST_SUCCESS);
    ofm_hal *hal;
    char err[256];
    assert_int_equal(ofm_emu_open(d.emu, &hal, err, sizeof err), OFM_HAL_OK);
    probe_expect(hal, 1, 2, true);
    probe_expect(hal, 1, 3, false);
    ofm_hal_close(hal);
    /* the VF order is recorded as given, for a stable guest view */
    char *log = NULL;
    FILE *f = fopen(d.state, "r");
    static char text[65536];
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    assert_non_null(strstr(text, "partition 11 supported=1 active=1 vfs=0000:26:00.5,0000:18:01.0\n"));
    free(log);
    fmDisconnect(h);
    fmLibShutdown();
    assert_int_equal(dh_stop(&d, SIGTERM), 0);
    dh_cleanup(&d);
}

int main(void)
{
    mm_apply_filter();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_out_of_tree_lifecycle),
        cmocka_unit_test(test_bare_metal_refuses_partitions),
        cmocka_unit_test(test_vgpu_requires_vfs),
        cmocka_unit_test(test_sigkill_and_restart),
        cmocka_unit_test(test_restart_timeout_exits),
        cmocka_unit_test(test_restart_with_bad_state_file),
        cmocka_unit_test(test_randomized_h100_shared),
        cmocka_unit_test(test_randomized_a100_vgpu),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
