/* Every SDK call against the real API server with a recording fake
 * handler table: what the client gets back and what the daemon side saw. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "fake_server.h"
#include "nv_fm_agent.h"
#include "sdk/nvfm_ext.h"
#include "sdk_util.h"

typedef struct {
    fake_server fs;
    fmHandle_t h;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    fake_server_start(&f->fs, NULL, 0);
    assert_int_equal(fmLibInit(), FM_ST_SUCCESS);
    assert_int_equal(sdk_connect_tcp(f->fs.port, 5000, &f->h), FM_ST_SUCCESS);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    fmDisconnect(f->h);
    fmLibShutdown();
    fake_server_stop(&f->fs);
    free(f);
    return 0;
}

static void test_get_supported(void **state)
{
    fixture *f = *state;
    fmFabricPartitionList_t *l = calloc(1, sizeof *l);
    l->version = fmFabricPartitionList_version;
    assert_int_equal(fmGetSupportedFabricPartitions(f->h, l), FM_ST_SUCCESS);
    assert_int_equal(l->version, fmFabricPartitionList_version);
    assert_int_equal(l->numPartitions, 3);
    assert_int_equal(l->maxNumPartitions, FM_MAX_FABRIC_PARTITIONS);
    assert_int_equal(l->partitionInfo[0].numGpus, 8);
    assert_int_equal(l->partitionInfo[1].isActive, 1);
    assert_int_equal(l->partitionInfo[2].partitionId, 2);
    assert_int_equal(l->partitionInfo[0].gpuInfo[7].physicalId, 8);
    assert_string_equal(l->partitionInfo[2].gpuInfo[1].uuid, "GPU-00000002-1");
    assert_string_equal(l->partitionInfo[0].gpuInfo[0].pciBusId, "00000000:10:00.0");
    assert_int_equal(l->partitionInfo[0].gpuInfo[0].numNvLinksAvailable, 18);
    assert_int_equal(l->partitionInfo[0].gpuInfo[0].nvlinkLineRateMBps, 25000);
    free(l);
}

static void test_get_supported_full_list(void **state)
{
    /* The largest legal list crosses the wire intact. */
    fixture *f = *state;
    f->fs.list_partitions = FM_MAX_FABRIC_PARTITIONS;
    fmFabricPartitionList_t *l = calloc(1, sizeof *l);
    l->version = fmFabricPartitionList_version;
    assert_int_equal(fmGetSupportedFabricPartitions(f->h, l), FM_ST_SUCCESS);
    assert_int_equal(l->numPartitions, FM_MAX_FABRIC_PARTITIONS);
    assert_string_equal(l->partitionInfo[63].gpuInfo[1].uuid, "GPU-00000063-1");
    free(l);
}

static void test_handler_overflow_is_generic_error(void **state)
{
    fixture *f = *state;
    log_clear();
    f->fs.list_partitions = FM_MAX_FABRIC_PARTITIONS + 1;
    fmFabricPartitionList_t *l = calloc(1, sizeof *l);
    l->version = fmFabricPartitionList_version;
    assert_int_equal(fmGetSupportedFabricPartitions(f->h, l), FM_ST_GENERIC_ERROR);
    assert_true(log_contains("cannot encode the reply", "65 entries", NULL));
    /* The connection survives. */
    f->fs.list_partitions = 1;
    assert_int_equal(fmGetSupportedFabricPartitions(f->h, l), FM_ST_SUCCESS);
    free(l);
}

static void test_activate_deactivate(void **state)
{
    fixture *f = *state;
    assert_int_equal(fmActivateFabricPartition(f->h, 7), FM_ST_SUCCESS);
    fake_calls c = fake_server_calls(&f->fs);
    assert_string_equal(c.last, "activate");
    assert_int_equal(c.last_id, 7);
    assert_int_equal(fmDeactivateFabricPartition(f->h, 4000000000u), FM_ST_SUCCESS);
    c = fake_server_calls(&f->fs);
    assert_string_equal(c.last, "deactivate");
    assert_int_equal(c.last_id, 4000000000u);
}

static void test_activate_with_vfs(void **state)
{
    fixture *f = *state;
    fmPciDevice_t vfs[3] = {{0, 0x41, 0, 4}, {1, 0x42, 2, 5}, {0, 0x10, 0x1f, 7}};
    assert_int_equal(fmActivateFabricPartitionWithVFs(f->h, 2, vfs, 3), FM_ST_SUCCESS);
    fake_calls c = fake_server_calls(&f->fs);
    assert_string_equal(c.last, "activate_with_vfs");
    assert_int_equal(c.last_id, 2);
    assert_int_equal(c.num_vfs, 3);
    /* Order is significant (FM §5.8) and preserved. */
    assert_memory_equal(c.vfs, vfs, sizeof vfs);
}

static void test_activate_with_vfs_bad_counts(void **state)
{
    fixture *f = *state;
    fmPciDevice_t vfs[FM_MAX_NUM_GPUS + 1];
    memset(vfs, 0, sizeof vfs);
    assert_int_equal(fmActivateFabricPartitionWithVFs(f->h, 2, vfs, 0), FM_ST_BADPARAM);
    assert_int_equal(fmActivateFabricPartitionWithVFs(f->h, 2, vfs, FM_MAX_NUM_GPUS + 1),
                     FM_ST_BADPARAM);
    assert_int_equal(fmActivateFabricPartitionWithVFs(f->h, 2, NULL, 1), FM_ST_BADPARAM);
    assert_int_equal(fake_server_calls(&f->fs).count, 0);
}

static void test_set_activated(void **state)
{
    fixture *f = *state;
    fmActivatedFabricPartitionList_t l;
    memset(&l, 0, sizeof l);
    l.version = fmActivatedFabricPartitionList_version;
    assert_int_equal(fmSetActivatedFabricPartitions(f->h, &l), FM_ST_SUCCESS);
    assert_int_equal(fake_server_calls(&f->fs).num_ids, 0);
    l.numPartitions = 3;
    l.partitionIds[0] = 1;
    l.partitionIds[1] = 5;
    l.partitionIds[2] = 63;
    assert_int_equal(fmSetActivatedFabricPartitions(f->h, &l), FM_ST_SUCCESS);
    fake_calls c = fake_server_calls(&f->fs);
    assert_string_equal(c.last, "set_activated");
    assert_int_equal(c.num_ids, 3);
    assert_int_equal(c.ids[2], 63);
    l.numPartitions = FM_MAX_FABRIC_PARTITIONS + 1;
    assert_int_equal(fmSetActivatedFabricPartitions(f->h, &l), FM_ST_BADPARAM);
}

static void test_nvlink_failed(void **state)
{
    fixture *f = *state;
    fmNvlinkFailedDevices_t *d = calloc(1, sizeof *d);
    d->version = fmNvlinkFailedDevices_version;
    assert_int_equal(fmGetNvlinkFailedDevices(f->h, d), FM_ST_SUCCESS);
    assert_int_equal(d->numGpus, 1);
    assert_int_equal(d->numSwitches, 1);
    assert_string_equal(d->gpuInfo[0].uuid, "GPU-failed");
    assert_string_equal(d->gpuInfo[0].pciBusId, "00000000:18:00.0");
    assert_int_equal(d->gpuInfo[0].numPorts, 2);
    assert_int_equal(d->gpuInfo[0].portNum[1], 7);
    assert_int_equal(d->switchInfo[0].portNum[0], 40);
    free(d);
}

static void test_unsupported(void **state)
{
    fixture *f = *state;
    fmUnsupportedFabricPartitionList_t *u = calloc(1, sizeof *u);
    u->version = fmUnsupportedFabricPartitionList_version;
    assert_int_equal(fmGetUnsupportedFabricPartitions(f->h, u), FM_ST_SUCCESS);
    assert_int_equal(u->numPartitions, 1);
    assert_int_equal(u->partitionInfo[0].partitionId, 9);
    assert_int_equal(u->partitionInfo[0].numGpus, 2);
    assert_int_equal(u->partitionInfo[0].gpuPhysicalIds[1], 6);
    free(u);
}

static void test_status_json(void **state)
{
    fixture *f = *state;
    char *json = NULL;
    assert_int_equal(ofmGetStatusJson(f->h, &json), FM_ST_SUCCESS);
    assert_string_equal(json, "{\"mode\":1}");
    free(json);
    assert_string_equal(ofmReturnName(FM_ST_IN_USE), "FM_ST_IN_USE");
    assert_string_equal(ofmReturnName((fmReturn_t)-100), "FM_ST_UNKNOWN");
}

static void test_handler_codes_pass_through(void **state)
{
    /* The daemon's verdict reaches the client unchanged, for old and new
     * codes alike, and error replies leave the output untouched. */
    fixture *f = *state;
    const fmReturn_t codes[] = {FM_ST_IN_USE, FM_ST_NOT_CONFIGURED, FM_ST_NOT_SUPPORTED,
                                FM_ST_UNINITIALIZED, FM_ST_NVLINK_ERROR, FM_ST_RESOURCE_BAD,
                                FM_ST_NOT_READY, FM_ST_PARTITION_ROUTE_PROGRAMMING_ERROR};
    fmFabricPartitionList_t *l = calloc(1, sizeof *l);
    for (unsigned i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        fake_server_set_rc(&f->fs, codes[i]);
        assert_int_equal(fmActivateFabricPartition(f->h, 1), codes[i]);
        assert_int_equal(fmDeactivateFabricPartition(f->h, 1), codes[i]);
        l->version = fmFabricPartitionList_version;
        l->numPartitions = 77;
        assert_int_equal(fmGetSupportedFabricPartitions(f->h, l), codes[i]);
        assert_int_equal(l->numPartitions, 77);
    }
    free(l);
}

static void test_version_mismatch(void **state)
{
    fixture *f = *state;
    fmFabricPartitionList_t *l = calloc(1, sizeof *l);
    l->version = MAKE_FM_PARAM_VERSION(fmFabricPartitionList_v2, 3);
    assert_int_equal(fmGetSupportedFabricPartitions(f->h, l), FM_ST_VERSION_MISMATCH);
    l->version = 0;
    assert_int_equal(fmGetSupportedFabricPartitions(f->h, l), FM_ST_VERSION_MISMATCH);
    /* The layout number 2 stamp of some SDK releases is the same layout. */
    l->version = MAKE_FM_PARAM_VERSION(fmFabricPartitionList_v2, 2);
    assert_int_equal(fmGetSupportedFabricPartitions(f->h, l), FM_ST_SUCCESS);
    free(l);

    fmActivatedFabricPartitionList_t a = {.version = fmActivatedFabricPartitionList_version + 1};
    assert_int_equal(fmSetActivatedFabricPartitions(f->h, &a), FM_ST_VERSION_MISMATCH);
    fmNvlinkFailedDevices_t *d = calloc(1, sizeof *d);
    d->version = MAKE_FM_PARAM_VERSION(fmNvlinkFailedDevices_v1, 2);
    assert_int_equal(fmGetNvlinkFailedDevices(f->h, d), FM_ST_VERSION_MISMATCH);
    free(d);
    fmUnsupportedFabricPartitionList_t *u = calloc(1, sizeof *u);
    u->version = fmFabricPartitionList_version; /* wrong structure's word */
    assert_int_equal(fmGetUnsupportedFabricPartitions(f->h, u), FM_ST_VERSION_MISMATCH);
    free(u);

    fmConnectParams_t p;
    memset(&p, 0, sizeof p);
    p.version = MAKE_FM_PARAM_VERSION(fmConnectParams_v2, 3);
    snprintf(p.addressInfo, sizeof p.addressInfo, "127.0.0.1:%u", (unsigned)f->fs.port);
    fmHandle_t h2 = NULL;
    assert_int_equal(fmConnect(&p, &h2), FM_ST_VERSION_MISMATCH);
    /* Only the one call with a right version reached the daemon. */
    assert_int_equal(fake_server_calls(&f->fs).count, 1);
}

static void test_null_params(void **state)
{
    fixture *f = *state;
    assert_int_equal(fmGetSupportedFabricPartitions(f->h, NULL), FM_ST_BADPARAM);
    assert_int_equal(fmSetActivatedFabricPartitions(f->h, NULL), FM_ST_BADPARAM);
    assert_int_equal(fmGetNvlinkFailedDevices(f->h, NULL), FM_ST_BADPARAM);
    assert_int_equal(fmGetUnsupportedFabricPartitions(f->h, NULL), FM_ST_BADPARAM);
    assert_int_equal(fmActivateFabricPartition(NULL, 1), FM_ST_BADPARAM);
    assert_int_equal(fmDeactivateFabricPartition(NULL, 1), FM_ST_BADPARAM);
    assert_int_equal(fmDisconnect(NULL), FM_ST_BADPARAM);
    fmHandle_t h2;
    assert_int_equal(fmConnect(NULL, &h2), FM_ST_BADPARAM);
    fmConnectParams_t p = {.version = fmConnectParams_version};
    assert_int_equal(fmConnect(&p, NULL), FM_ST_BADPARAM);
    /* A pointer that is not a live handle is refused, not dereferenced. */
    int not_a_handle = 0;
    assert_int_equal(fmActivateFabricPartition(&not_a_handle, 1), FM_ST_BADPARAM);
    assert_int_equal(fmDisconnect(&not_a_handle), FM_ST_BADPARAM);
    assert_int_equal(fake_server_calls(&f->fs).count, 0);
}

static void test_disconnected_handle(void **state)
{
    fixture *f = *state;
    fmHandle_t h2;
    assert_int_equal(sdk_connect_tcp(f->fs.port, 5000, &h2), FM_ST_SUCCESS);
    assert_int_equal(fmDisconnect(h2), FM_ST_SUCCESS);
    assert_int_equal(fmActivateFabricPartition(h2, 1), FM_ST_BADPARAM);
    assert_int_equal(fmDisconnect(h2), FM_ST_BADPARAM);
}

static void test_lib_lifecycle(void **state)
{
    fixture *f = *state;
    /* Initialising twice is reported and harmless. */
    assert_int_equal(fmLibInit(), FM_ST_IN_USE);
    assert_int_equal(fmActivateFabricPartition(f->h, 1), FM_ST_SUCCESS);
    /* Shutdown closes every handle. */
    assert_int_equal(fmLibShutdown(), FM_ST_SUCCESS);
    assert_int_equal(fmLibShutdown(), FM_ST_UNINITIALIZED);
    assert_int_equal(fmActivateFabricPartition(f->h, 1), FM_ST_UNINITIALIZED);
    fmHandle_t h2;
    assert_int_equal(sdk_connect_tcp(f->fs.port, 5000, &h2), FM_ST_UNINITIALIZED);
    assert_int_equal(fmDisconnect(f->h), FM_ST_UNINITIALIZED);
    assert_int_equal(fmLibInit(), FM_ST_SUCCESS);
    assert_int_equal(fmActivateFabricPartition(f->h, 1), FM_ST_BADPARAM);
    assert_int_equal(sdk_connect_tcp(f->fs.port, 5000, &f->h), FM_ST_SUCCESS);
    assert_int_equal(fmActivateFabricPartition(f->h, 1), FM_ST_SUCCESS);
}

#define THREADS 4
#define CALLS_PER_THREAD 200

typedef struct {
    fmHandle_t h;
    unsigned ok;
} worker_arg;

static void *worker(void *p)
{
    worker_arg *a = p;
    fmFabricPartitionList_t *l = calloc(1, sizeof *l);
    for (unsigned i = 0; i < CALLS_PER_THREAD; i++) {
        l->version = fmFabricPartitionList_version;
        if (i % 2 == 0 && fmActivateFabricPartition(a->h, i) == FM_ST_SUCCESS)
            a->ok++;
        if (i % 2 == 1 && fmGetSupportedFabricPartitions(a->h, l) == FM_ST_SUCCESS &&
            l->numPartitions == 3)
            a->ok++;
    }
    free(l);
    return NULL;
}

static void test_threads_share_handle(void **state)
{
    fixture *f = *state;
    pthread_t t[THREADS];
    worker_arg a[THREADS];
    for (int i = 0; i < THREADS; i++) {
        a[i].h = f->h;
        a[i].ok = 0;
        assert_int_equal(pthread_create(&t[i], NULL, worker, &a[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(a[i].ok, CALLS_PER_THREAD);
    }
    assert_int_equal(fake_server_calls(&f->fs).count, THREADS * CALLS_PER_THREAD);
}

static int group_setup(void **state)
{
    (void)state;
    log_capture_start();
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    log_capture_stop();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_get_supported, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_supported_full_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_handler_overflow_is_generic_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_activate_deactivate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_activate_with_vfs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_activate_with_vfs_bad_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_activated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nvlink_failed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unsupported, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_handler_codes_pass_through, setup, teardown),
        cmocka_unit_test_setup_teardown(test_version_mismatch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_null_params, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disconnected_handle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lib_lifecycle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads_share_handle, setup, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
