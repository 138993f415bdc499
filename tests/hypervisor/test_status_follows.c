/* The status document is written after a partition change is answered
 * (src/daemon/publish.c), not before: it must still follow every change.
 * On the GB200 NVL72 rack, activating and deactivating the whole domain
 * (partition 32766) and a live one-tray partition through the SDK: after
 * each answer, status.json (polled with a deadline, never slept on) shows
 * the partition's state and which GPUs it holds, and the probe agrees. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "daemon_harness.h"
#include "nv_fm_agent.h"
#include "openfm/emu.h"
#include "sdk/nvfm_ext.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Whether status.json says partition `id` is active (and, when it is, that
 * GPU `gpu` is in it; when not, that no GPU names it). -1: unreadable yet. */
static int file_says(const dh_daemon *d, unsigned id, unsigned gpu)
{
    char path[160];
    snprintf(path, sizeof path, "%s/status.json", d->dir);
    json_object *o = json_object_from_file(path);
    if (!o)
        return -1;
    int active = -1;
    json_object *parts, *gpus;
    if (json_object_object_get_ex(o, "partitions", &parts))
        for (size_t i = 0; i < json_object_array_length(parts); i++) {
            json_object *p = json_object_array_get_idx(parts, i), *v;
            if (json_object_object_get_ex(p, "id", &v) && (unsigned)json_object_get_int(v) == id &&
                json_object_object_get_ex(p, "active", &v))
                active = json_object_get_boolean(v);
        }
    int held = 0;
    if (json_object_object_get_ex(o, "gpus", &gpus))
        for (size_t i = 0; i < json_object_array_length(gpus); i++) {
            json_object *g = json_object_array_get_idx(gpus, i), *v, *pid;
            if (json_object_object_get_ex(g, "physical_id", &v) &&
                (unsigned)json_object_get_int(v) == gpu &&
                json_object_object_get_ex(g, "partition", &pid) &&
                json_object_get_type(pid) == json_type_int)
                held = (unsigned)json_object_get_int(pid) == id;
        }
    json_object_put(o);
    if (active < 0)
        return -1;
    return active && held ? 1 : !active && !held ? 0 : -1;
}

static void file_follows(const dh_daemon *d, unsigned id, unsigned gpu, int want)
{
    double deadline = now_ms() + 5000;
    int got;
    while ((got = file_says(d, id, gpu)) != want) {
        if (now_ms() > deadline)
            fail_msg("status.json does not show partition %u %s (GPU %u) within 5 s", id,
                     want ? "active" : "inactive", gpu);
        struct timespec ts = {0, 2 * 1000 * 1000};
        nanosleep(&ts, NULL); /* polling interval, not synchronisation */
    }
}

static void probe(ofm_hal *hal, uint32_t a, uint32_t b, bool arrives)
{
    ofm_emu_probe_result r;
    assert_int_equal(ofm_emu_probe(hal, a, b, true, &r), OFM_HAL_OK);
    assert_int_equal((int)r.arrives, (int)arrives);
    if (arrives)
        assert_int_equal(r.links, 18);
}

static void status_follows_changes(void **state)
{
    (void)state;
    dh_daemon d;
    assert_int_equal(dh_init(&d, "gb200-nvl72"), 0);
    assert_int_equal(dh_write_config(&d, "FABRIC_MODE=1\n"), 0);
    int st = -1;
    if (dh_start(&d, NULL, 30000, &st)) {
        char *log = dh_read_log(&d);
        fail_msg("daemon not ready (exit %d)\n%s", st, log ? log : "");
    }
    ofm_hal *hal;
    char err[256];
    assert_int_equal(ofm_emu_open(d.emu, &hal, err, sizeof err), OFM_HAL_OK);
    fmLibInit();
    fmConnectParams_t cp;
    memset(&cp, 0, sizeof cp);
    cp.version = fmConnectParams_version;
    cp.timeoutMs = 10000;
    cp.addressType = NV_FM_API_ADDR_TYPE_UNIX;
    snprintf(cp.addressInfo, sizeof cp.addressInfo, "%s", d.sock);
    fmHandle_t h = NULL;
    assert_int_equal(fmConnect(&cp, &h), FM_ST_SUCCESS);

    file_follows(&d, 32766, 72, 0);
    for (int round = 0; round < 2; round++) {
        assert_int_equal(ofmActivateFabricPartitionAny(h, 32766), FM_ST_SUCCESS);
        file_follows(&d, 32766, 72, 1);
        probe(hal, 1, 72, true);
        assert_int_equal(ofmDeactivateFabricPartitionAny(h, 32766), FM_ST_SUCCESS);
        file_follows(&d, 32766, 72, 0);
        probe(hal, 1, 72, false);
    }
    unsigned gpus[] = {5, 6, 7, 8}, id = 0;
    assert_int_equal(ofmCreateFabricPartition(h, gpus, 4, OFM_PARTITION_ID_ANY, &id), FM_ST_SUCCESS);
    assert_int_equal(ofmActivateFabricPartitionAny(h, id), FM_ST_SUCCESS);
    file_follows(&d, id, 8, 1);
    probe(hal, 5, 8, true);
    probe(hal, 5, 9, false);
    assert_int_equal(ofmDeactivateFabricPartitionAny(h, id), FM_ST_SUCCESS);
    file_follows(&d, id, 8, 0);

    fmDisconnect(h);
    fmLibShutdown();
    ofm_hal_close(hal);
    assert_int_equal(dh_stop(&d, SIGTERM), 0);
    dh_cleanup(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(status_follows_changes)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
