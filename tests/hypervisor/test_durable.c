/* Issue 14 item 3 against the real daemon: an activation or deactivation is
 * acknowledged only once it is durable.
 *  - On a full filesystem (a tiny tmpfs in a private mount namespace; needs
 *    root) the client gets an error, the emulator's probe shows the routing
 *    from before the request, the log names the reason; the status document
 *    on the same filesystem reports its own failure once; with room again
 *    everything works and survives SIGKILL + --restart.
 *  - A crash between programming the routes and recording the change is
 *    reconciled by --restart and the hypervisor's list, in both directions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon_harness.h"
#include "nv_fm_agent.h"
#include "openfm/emu.h"
#include "sdk/nvfm_ext.h"

static fmHandle_t connect_to(const dh_daemon *d)
{
    fmConnectParams_t cp;
    memset(&cp, 0, sizeof cp);
    cp.version = fmConnectParams_version;
    cp.timeoutMs = 10000;
    cp.addressType = FM_ADDRESS_TYPE_UNIX;
    snprintf(cp.addressInfo, sizeof cp.addressInfo, "%s", d->sock);
    fmHandle_t h = NULL;
    assert_int_equal(fmConnect(&cp, &h), FM_ST_SUCCESS);
    return h;
}

static void start_shared(dh_daemon *d, const char *const *args)
{
    int st = -1;
    if (dh_start(d, args, 20000, &st)) {
        char *log = dh_read_log(d);
        fail_msg("daemon not ready (exit %d)\n%s", st, log ? log : "");
    }
}

static void probe_expect(ofm_hal *hal, uint32_t a, uint32_t b, bool arrives)
{
    ofm_emu_probe_result r;
    assert_int_equal(ofm_emu_probe(hal, a, b, true, &r), OFM_HAL_OK);
    if (r.arrives != arrives)
        fail_msg("GPU %u -> %u: %s, expected %s", a, b, r.arrives ? "arrives" : "dropped",
                 arrives ? "arrives" : "dropped");
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; p && (p = strstr(p, needle)); p++)
        n++;
    return n;
}

static char *status_json(fmHandle_t h)
{
    char *json = NULL;
    assert_int_equal(ofmGetStatusJson(h, &json), FM_ST_SUCCESS);
    return json;
}

/* Poll the status over the SDK until status_file_error is (not) there. */
static void status_until(fmHandle_t h, bool present)
{
    for (int i = 0; i < 1000; i++) {
        char *js = status_json(h);
        bool has = strstr(js, "\"status_file_error\"") != NULL;
        free(js);
        if (has == present)
            return;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL); /* polling interval, not synchronisation */
    }
    fail_msg("status_file_error never became %s", present ? "present" : "absent");
}

static void set_active(fmHandle_t h, const unsigned *ids, unsigned n, fmReturn_t want)
{
    fmActivatedFabricPartitionList_t l;
    memset(&l, 0, sizeof l);
    l.version = fmActivatedFabricPartitionList_version;
    l.numPartitions = n;
    for (unsigned i = 0; i < n; i++)
        l.partitionIds[i] = ids[i];
    assert_int_equal(fmSetActivatedFabricPartitions(h, &l), want);
}

/* H100 default table: partition 1 = GPUs 1-4, 2 = GPUs 5-8, 6 = GPUs 6 and 8. */
/* Write zeros to `path` until the filesystem is full (to the last byte). */
static void fill(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    static char block[4096];
    while (write(fd, block, sizeof block) > 0)
        ;
    while (write(fd, block, 1) > 0)
        ;
    close(fd);
}

static void full_disk_answers_an_error_and_rolls_back(void **state)
{
    (void)state;
    dh_daemon d;
    assert_int_equal(dh_init(&d, "hgx-h100"), 0);
    char mnt[128], filler[160], cfg[400];
    snprintf(mnt, sizeof mnt, "%s/small", d.dir);
    snprintf(filler, sizeof filler, "%s/filler", mnt);
    assert_int_equal(mkdir(mnt, 0700), 0);
    if (unshare(CLONE_NEWNS) || mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
        mount("tmpfs", mnt, "tmpfs", 0, "size=32k,mode=0700")) {
        dh_cleanup(&d);
        skip(); /* a real full filesystem needs root */
    }
    snprintf(d.state, sizeof d.state, "%.100s/fm.state", mnt);
    snprintf(cfg, sizeof cfg, "FABRIC_MODE=1\nOPENFM_STATUS_FILE=%s/status.json\n", mnt);
    assert_int_equal(dh_write_config(&d, cfg), 0);
    start_shared(&d, NULL);
    ofm_hal *hal;
    char err[256];
    assert_int_equal(ofm_emu_open(d.emu, &hal, err, sizeof err), OFM_HAL_OK);
    fmLibInit();
    fmHandle_t h = connect_to(&d);
    assert_int_equal(fmActivateFabricPartition(h, 1), FM_ST_SUCCESS);
    probe_expect(hal, 1, 4, true);

    fill(filler);
    /* the state file's last page may still take a few records; where the
     * disk runs out depends on the status document's size (it shares the
     * filesystem), so the refused record may be a deactivation's: refused
     * and rolled back the same way, then done with room and refilled */
    fmReturn_t rc = FM_ST_SUCCESS;
    for (int k = 0; k < 200; k++) {
        rc = fmActivateFabricPartition(h, 6);
        if (rc != FM_ST_SUCCESS)
            break;
        fmReturn_t off = fmDeactivateFabricPartition(h, 6);
        if (off == FM_ST_SUCCESS)
            continue;
        assert_int_equal(off, FM_ST_GENERIC_ERROR);
        probe_expect(hal, 6, 8, true); /* still forwarded: not deactivated */
        assert_int_equal(unlink(filler), 0);
        assert_int_equal(fmDeactivateFabricPartition(h, 6), FM_ST_SUCCESS);
        fill(filler);
    }
    assert_int_equal(rc, FM_ST_GENERIC_ERROR);
    probe_expect(hal, 6, 8, false); /* rolled back */
    /* the status document's failure is logged once per episode: what the
     * loop above already logged is the baseline for the checks below */
    char *log0 = dh_read_log(&d);
    int fails0 = count(log0, "cannot write the status document");
    int agains0 = count(log0, "is written again");
    free(log0);
    assert_int_equal(fmActivateFabricPartition(h, 2), FM_ST_GENERIC_ERROR);
    probe_expect(hal, 5, 6, false);
    probe_expect(hal, 1, 4, true);
    assert_int_equal(fmDeactivateFabricPartition(h, 1), FM_ST_GENERIC_ERROR);
    probe_expect(hal, 1, 4, true); /* still forwarded: the deactivation did not happen */
    fmFabricPartitionList_t *l = calloc(1, sizeof *l);
    l->version = fmFabricPartitionList_version;
    assert_int_equal(fmGetSupportedFabricPartitions(h, l), FM_ST_SUCCESS);
    for (unsigned i = 0; i < l->numPartitions; i++)
        assert_int_equal(l->partitionInfo[i].isActive, l->partitionInfo[i].partitionId == 1);
    /* the status document lives on the same filesystem: a fabric event
     * changes it, and writing it fails now */
    assert_int_equal(ofm_emu_inject_xid(hal, 3, 13, "test event"), OFM_HAL_OK);
    status_until(h, true);
    char *log = dh_read_log(&d);
    if (!strstr(log, "activation of partition 2 failed: the resiliency state could not be made durable") ||
        !strstr(log, "deactivation of partition 1 failed") || !strstr(log, "No space left on device") ||
        !strstr(log, "routing is rolled back") || !strstr(log, d.state))
        fail_msg("the log does not name the reason:\n%s", log);
    assert_int_equal(count(log, "cannot write the status document"),
                     fails0 + (fails0 == agains0 ? 1 : 0));
    free(log);

    /* room again */
    assert_int_equal(unlink(filler), 0);
    assert_int_equal(fmActivateFabricPartition(h, 2), FM_ST_SUCCESS);
    probe_expect(hal, 5, 8, true);
    assert_int_equal(ofm_emu_inject_xid(hal, 3, 13, "test event"), OFM_HAL_OK);
    status_until(h, false);
    log = dh_read_log(&d);
    assert_int_equal(count(log, "is written again"), agains0 + 1);
    free(log);
    fmDisconnect(h);

    /* and what was acknowledged survives a crash */
    assert_int_equal(dh_stop(&d, SIGKILL), 128 + SIGKILL);
    const char *args[] = {"--restart", NULL};
    start_shared(&d, args);
    h = connect_to(&d);
    unsigned both[] = {1, 2};
    set_active(h, both, 2, FM_ST_SUCCESS);
    probe_expect(hal, 1, 4, true);
    probe_expect(hal, 5, 8, true);
    probe_expect(hal, 4, 5, false);
    free(l);
    fmDisconnect(h);
    fmLibShutdown();
    ofm_hal_close(hal);
    assert_int_equal(dh_stop(&d, SIGTERM), 0);
    unlink(d.state);
    char path[200];
    snprintf(path, sizeof path, "%s/status.json", mnt);
    unlink(path);
    umount(mnt);
    rmdir(mnt);
    dh_cleanup(&d);
}

static void copy_file(const char *from, const char *to)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", from, to);
    assert_int_equal(system(cmd), 0);
}

/* The disk after a crash between programming and recording is the routing
 * of the change with the state file from before it: reproduce exactly that
 * by restoring the earlier state file after SIGKILL. */
static void crash_between_program_and_record_is_reconciled(void **state)
{
    (void)state;
    dh_daemon d;
    assert_int_equal(dh_init(&d, "hgx-h100"), 0);
    assert_int_equal(dh_write_config(&d, "FABRIC_MODE=1\n"), 0);
    start_shared(&d, NULL);
    ofm_hal *hal;
    char err[256], saved[200];
    snprintf(saved, sizeof saved, "%s/state.before", d.dir);
    assert_int_equal(ofm_emu_open(d.emu, &hal, err, sizeof err), OFM_HAL_OK);
    fmLibInit();
    fmHandle_t h = connect_to(&d);
    assert_int_equal(fmActivateFabricPartition(h, 1), FM_ST_SUCCESS);
    copy_file(d.state, saved);                                         /* records: 1 */
    assert_int_equal(fmActivateFabricPartition(h, 2), FM_ST_SUCCESS); /* routed, then recorded */
    fmDisconnect(h);
    assert_int_equal(dh_stop(&d, SIGKILL), 128 + SIGKILL);
    copy_file(saved, d.state); /* the record of 2 never made it */
    probe_expect(hal, 5, 8, true);

    /* the hypervisor never got its answer, so partition 2 is not in its list */
    const char *args[] = {"--restart", NULL};
    start_shared(&d, args);
    probe_expect(hal, 5, 8, true); /* a restart touches nothing by itself */
    h = connect_to(&d);
    unsigned one[] = {1};
    set_active(h, one, 1, FM_ST_SUCCESS);
    probe_expect(hal, 1, 4, true);
    probe_expect(hal, 5, 8, false); /* the unrecorded routes are gone */
    assert_int_equal(fmActivateFabricPartition(h, 2), FM_ST_SUCCESS);
    probe_expect(hal, 5, 8, true);

    /* the other direction: a deactivation whose record was lost */
    copy_file(d.state, saved); /* records: 1 and 2 active */
    assert_int_equal(fmDeactivateFabricPartition(h, 2), FM_ST_SUCCESS);
    probe_expect(hal, 5, 8, false);
    fmDisconnect(h);
    assert_int_equal(dh_stop(&d, SIGKILL), 128 + SIGKILL);
    copy_file(saved, d.state);
    start_shared(&d, args);
    h = connect_to(&d);
    fmFabricPartitionList_t *l = calloc(1, sizeof *l);
    l->version = fmFabricPartitionList_version;
    assert_int_equal(fmGetSupportedFabricPartitions(h, l), FM_ST_NOT_CONFIGURED);
    /* the guest of partition 2 is still running as far as the hypervisor knows */
    unsigned both[] = {1, 2};
    set_active(h, both, 2, FM_ST_SUCCESS);
    probe_expect(hal, 5, 8, true); /* routed again */
    probe_expect(hal, 1, 4, true);
    probe_expect(hal, 4, 5, false);
    assert_int_equal(fmGetSupportedFabricPartitions(h, l), FM_ST_SUCCESS);
    unsigned nact = 0;
    for (unsigned i = 0; i < l->numPartitions; i++)
        nact += l->partitionInfo[i].isActive;
    assert_int_equal(nact, 2);
    free(l);
    fmDisconnect(h);
    fmLibShutdown();
    ofm_hal_close(hal);
    assert_int_equal(dh_stop(&d, SIGTERM), 0);
    dh_cleanup(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(crash_between_program_and_record_is_reconciled),
        cmocka_unit_test(full_disk_answers_an_error_and_rolls_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
