/* Partition manager on emulated systems, without the daemon: every return
 * code path of FM §5 / §13.2, and the emulator's traffic probe after every
 * activation and deactivation (the partition's GPUs reach each other over
 * the partition's links, every other pair is dropped). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "openfm/log.h"

#include "partition/state_file.h"
#include "pm_fixture.h"

#define ISO(f, ...)                                                                                \
    do {                                                                                           \
        unsigned a_[] = {__VA_ARGS__};                                                             \
        pmfx_check_isolation(f, a_, sizeof a_ / sizeof a_[0], 0);                                  \
    } while (0)

static fmFabricPartitionList_t *supported(pmfx *f, fmReturn_t want)
{
    static fmFabricPartitionList_t l;
    memset(&l, 0, sizeof l);
    assert_int_equal(ofm_pm_get_supported(f->pm, &l), want);
    return &l;
}

static const fmFabricPartitionInfo_t *find(const fmFabricPartitionList_t *l, unsigned id)
{
    for (unsigned i = 0; i < l->numPartitions; i++)
        if (l->partitionInfo[i].partitionId == id)
            return &l->partitionInfo[i];
    return NULL;
}

static void h100_start_isolates_and_lists_everything(void **s)
{
    (void)s;
    pmfx *f = pmfx_open("hgx-h100", OFM_FABRIC_MODE_SHARED, NULL);
    ofm_error err;
    assert_int_equal(pmfx_pm(f, false, &err), 0);
    pmfx_check_isolation(f, NULL, 0, 0);
    fmFabricPartitionList_t *l = supported(f, FM_ST_SUCCESS);
    assert_int_equal(l->numPartitions, 15);
    for (unsigned i = 0; i < l->numPartitions; i++) {
        const fmFabricPartitionInfo_t *p = &l->partitionInfo[i];
        assert_false(p->isActive);
        for (unsigned g = 0; g < p->numGpus; g++) {
            unsigned want = p->numGpus > 1 ? 18 : 0; /* H100 partitions route all 18 links (FM §11.3) */
            assert_int_equal(p->gpuInfo[g].numNvLinksAvailable, want);
            assert_int_equal(p->gpuInfo[g].maxNumNvLinks, want);
            assert_true(p->gpuInfo[g].physicalId >= 1 && p->gpuInfo[g].physicalId <= 8);
            /* FM §5.1: H100 reports no UUID or BDF; physicalId is the key */
            assert_string_equal(p->gpuInfo[g].uuid, "");
            assert_string_equal(p->gpuInfo[g].pciBusId, "");
        }
    }
    assert_int_equal(find(l, 0)->numGpus, 8);
    assert_int_equal(find(l, 3)->gpuInfo[1].physicalId, 3);
    fmNvlinkFailedDevices_t fd;
    memset(&fd, 0xff, sizeof fd);
    assert_int_equal(ofm_pm_failed_devices(f->pm, &fd), FM_ST_SUCCESS);
    assert_int_equal(fd.numGpus, 0);
    assert_int_equal(fd.numSwitches, 0);
    fmUnsupportedFabricPartitionList_t un;
    memset(&un, 0xff, sizeof un);
    assert_int_equal(ofm_pm_unsupported(f->pm, &un), FM_ST_SUCCESS);
    assert_int_equal(un.numPartitions, 0);
    /* the state file is there after a normal start */
    ofm_pm_state st;
    assert_int_equal(ofm_pm_state_load(f->state, &st, &err), 0);
    assert_string_equal(st.platform, "hgx-h100");
    assert_int_equal(st.npartitions, 15);
    pmfx_close(f);
}

static void h100_lifecycle_return_codes_and_isolation(void **s)
{
    (void)s;
    pmfx *f = pmfx_open("hgx-h100", OFM_FABRIC_MODE_SHARED, NULL);
    ofm_error err;
    assert_int_equal(pmfx_pm(f, false, &err), 0);
    assert_int_equal(ofm_pm_activate(f->pm, 1, NULL, 0), FM_ST_SUCCESS);
    ISO(f, 1);
    pmfx_log_clear();
    assert_int_equal(ofm_pm_activate(f->pm, 1, NULL, 0), FM_ST_IN_USE);  /* already active */
    assert_non_null(strstr(pmfx_log(), "activation of partition 1 refused (FM_ST_IN_USE): it is "
                                       "already active"));
    assert_int_equal(ofm_pm_activate(f->pm, 3, NULL, 0), FM_ST_IN_USE);  /* GPUs 1,3 in use */
    assert_int_equal(ofm_pm_activate(f->pm, 0, NULL, 0), FM_ST_IN_USE);
    assert_int_equal(ofm_pm_activate(f->pm, 7, NULL, 0), FM_ST_IN_USE);  /* GPU 1 alone */
    ISO(f, 1);
    assert_int_equal(ofm_pm_activate(f->pm, 2, NULL, 0), FM_ST_SUCCESS);
    ISO(f, 1, 2);
    pmfx_log_clear();
    assert_int_equal(ofm_pm_activate(f->pm, 99, NULL, 0), FM_ST_BADPARAM);
    assert_int_equal(ofm_pm_deactivate(f->pm, 99), FM_ST_BADPARAM);
    /* a hypervisor's wrong ID is in the log, by ID and reason */
    assert_non_null(strstr(pmfx_log(), "activation of partition 99 refused (FM_ST_BADPARAM): no "
                                       "such partition is defined"));
    assert_non_null(strstr(pmfx_log(), "deactivation of partition 99 refused (FM_ST_BADPARAM)"));
    fmPciDevice_t vf = {0, 0x3b, 0, 1};
    assert_int_equal(ofm_pm_activate(f->pm, 11, &vf, 1), FM_ST_NOT_SUPPORTED); /* VFs: vGPU only */
    assert_int_equal(ofm_pm_deactivate(f->pm, 1), FM_ST_SUCCESS);
    ISO(f, 2);
    assert_int_equal(ofm_pm_deactivate(f->pm, 1), FM_ST_UNINITIALIZED);
    pmfx_log_clear();
    assert_int_equal(ofm_pm_deactivate(f->pm, 4), FM_ST_UNINITIALIZED);
    assert_non_null(strstr(pmfx_log(), "deactivation of partition 4 refused (FM_ST_UNINITIALIZED): "
                                       "it is not active"));
    assert_int_equal(ofm_pm_activate(f->pm, 3, NULL, 0), FM_ST_SUCCESS);
    ISO(f, 2, 3);
    assert_int_equal(ofm_pm_activate(f->pm, 8, NULL, 0), FM_ST_SUCCESS); /* single GPU 2 */
    ISO(f, 2, 3, 8);
    fmFabricPartitionList_t *l = supported(f, FM_ST_SUCCESS);
    unsigned nact = 0;
    for (unsigned i = 0; i < l->numPartitions; i++)
        nact += l->partitionInfo[i].isActive;
    assert_int_equal(nact, 3);
    assert_true(find(l, 2)->isActive && find(l, 3)->isActive && find(l, 8)->isActive);
    assert_int_equal(ofm_pm_deactivate(f->pm, 2), FM_ST_SUCCESS);
    ISO(f, 3, 8);
    assert_int_equal(ofm_pm_deactivate(f->pm, 3), FM_ST_SUCCESS);
    assert_int_equal(ofm_pm_deactivate(f->pm, 8), FM_ST_SUCCESS);
    pmfx_check_isolation(f, NULL, 0, 0);
    assert_int_equal(ofm_pm_activate(f->pm, 0, NULL, 0), FM_ST_SUCCESS);
    ISO(f, 0);
    pmfx_close(f);
}

static void vgpu_needs_vfs_and_keeps_their_order(void **s)
{
    (void)s;
    pmfx *f = pmfx_open("hgx-h100", OFM_FABRIC_MODE_VGPU, NULL);
    ofm_error err;
    assert_int_equal(pmfx_pm(f, false, &err), 0);
    /* FM §5.8: VFs are required even for a single-GPU partition */
    assert_int_equal(ofm_pm_activate(f->pm, 7, NULL, 0), FM_ST_NOT_SUPPORTED);
    fmPciDevice_t one = pmfx_vf(f, 1, 0); /* partition 7 is GPU 1 */
    assert_int_equal(ofm_pm_activate(f->pm, 7, &one, 1), FM_ST_SUCCESS);
    /* partition 6 is GPUs 6 and 8: GPU 8's VF first, in the caller's order */
    fmPciDevice_t vfs[2] = {pmfx_vf(f, 8, 2), pmfx_vf(f, 6, 13)};
    assert_int_equal(ofm_pm_activate(f->pm, 6, vfs, 2), FM_ST_SUCCESS);
    ISO(f, 7, 6);
    fmPciDevice_t four[4] = {pmfx_vf(f, 5, 0), pmfx_vf(f, 6, 0), pmfx_vf(f, 7, 0),
                             pmfx_vf(f, 8, 0)};
    assert_int_equal(ofm_pm_activate(f->pm, 2, four, 4), FM_ST_IN_USE);
    ofm_pm_state st;
    assert_int_equal(ofm_pm_state_load(f->state, &st, &err), 0);
    bool seen = false;
    for (size_t i = 0; i < st.npartitions; i++)
        if (st.part_id[i] == 6) {
            seen = true;
            assert_true(st.active[i]);
            assert_int_equal(st.nvfs[i], 2);
            /* caller's order, not sorted */
            assert_memory_equal(&st.vfs[i][0], &vfs[0], sizeof vfs[0]);
            assert_memory_equal(&st.vfs[i][1], &vfs[1], sizeof vfs[1]);
        }
    assert_true(seen);
    assert_int_equal(ofm_pm_deactivate(f->pm, 6), FM_ST_SUCCESS);
    ISO(f, 7);
    pmfx_close(f);
}

/* One rejected VF list: BADPARAM, the reason in the log, nothing routed. */
static void expect_vf_reject(pmfx *f, unsigned id, const fmPciDevice_t *v, unsigned n,
                             const char *reason)
{
    pmfx_log_clear();
    assert_int_equal(ofm_pm_activate(f->pm, id, v, n), FM_ST_BADPARAM);
    char want[320];
    snprintf(want, sizeof want, "activation of partition %u refused (FM_ST_BADPARAM): %s", id,
             reason);
    if (!strstr(pmfx_log(), want))
        fail_msg("expected log line '%s', got:\n%s", want, pmfx_log());
    pmfx_check_isolation(f, NULL, 0, 0);
}

static void vgpu_vf_lists_are_checked(void **s)
{
    (void)s;
    pmfx *f = pmfx_open("hgx-h100", OFM_FABRIC_MODE_VGPU, NULL);
    ofm_error err;
    assert_int_equal(pmfx_pm(f, false, &err), 0);
    /* partition 1: GPUs 1-4 (buses 18, 26, 34, 42 in the SR-IOV model) */
    fmPciDevice_t ok[4] = {pmfx_vf(f, 3, 1), pmfx_vf(f, 1, 0), pmfx_vf(f, 4, 15),
                           pmfx_vf(f, 2, 7)};
    assert_int_equal(ok[1].bus, 0x18);
    assert_int_equal(ok[1].device, 0);
    assert_int_equal(ok[1].function, 4); /* first VF at offset 4 */
    assert_int_equal(ok[2].device, 2);
    assert_int_equal(ok[2].function, 3); /* VF 16 at offset 19 */
    fmPciDevice_t v[5];

    expect_vf_reject(f, 1, ok, 3,
                     "partition 1 has 4 GPU(s) but 3 VF(s) were given; pass exactly one VF of "
                     "each of its GPUs");
    memcpy(v, ok, sizeof ok);
    v[4] = pmfx_vf(f, 5, 0);
    expect_vf_reject(f, 1, v, 5,
                     "partition 1 has 4 GPU(s) but 5 VF(s) were given; pass exactly one VF of "
                     "each of its GPUs");
    memcpy(v, ok, sizeof ok);
    v[3] = v[0];
    expect_vf_reject(f, 1, v, 4, "VF 0000:34:00.5 is listed twice (positions 1 and 4)");
    /* the same VF in ARI notation (device 0, function 5) is still a duplicate */
    v[3] = (fmPciDevice_t){0, 0x34, 0, 5};
    expect_vf_reject(f, 1, v, 4, "VF 0000:34:00.5 is listed twice (positions 1 and 4)");
    memcpy(v, ok, sizeof ok);
    v[3] = pmfx_vf(f, 1, 5);
    expect_vf_reject(f, 1, v, 4,
                     "VFs 0000:18:00.4 and 0000:18:01.1 both belong to GPU 1; each GPU of "
                     "partition 1 needs exactly one");
    memcpy(v, ok, sizeof ok);
    v[2] = pmfx_vf(f, 6, 0);
    expect_vf_reject(f, 1, v, 4, "VF 0000:5e:00.4 belongs to GPU 6, which is not in partition 1");
    memcpy(v, ok, sizeof ok);
    v[2] = (fmPciDevice_t){0, 0x18, 0, 0}; /* GPU 1's physical function */
    expect_vf_reject(f, 1, v, 4, "0000:18:00.0 is not an SR-IOV virtual function of any GPU");
    v[2] = (fmPciDevice_t){0, 0x18, 3, 0}; /* past the last VF */
    expect_vf_reject(f, 1, v, 4, "0000:18:03.0 is not an SR-IOV virtual function of any GPU");
    v[2] = (fmPciDevice_t){0, 0x18, 32, 1};
    expect_vf_reject(f, 1, v, 4, "VF 3 (0000:18:20.1) is not a PCI function address");
    v[2] = (fmPciDevice_t){0, 0x100, 0, 4};
    expect_vf_reject(f, 1, v, 4, "VF 3 (0000:100:00.4) is not a PCI function address");

    /* a VF written in ARI form (device 0, function = devfn) is the same VF */
    memcpy(v, ok, sizeof ok);
    v[2] = (fmPciDevice_t){0, 0x42, 0, 2 * 8 + 3};
    assert_int_equal(ofm_pm_activate(f->pm, 1, v, 4), FM_ST_SUCCESS);
    ISO(f, 1);
    assert_non_null(strstr(pmfx_log(), "partition 1 activated"));
    pmfx_close(f);
}

static void restart_keeps_routes_until_the_active_list_arrives(void **s)
{
    (void)s;
    pmfx *f = pmfx_open("hgx-h100", OFM_FABRIC_MODE_SHARED, NULL);
    ofm_error err;
    assert_int_equal(pmfx_pm(f, false, &err), 0);
    assert_int_equal(ofm_pm_activate(f->pm, 3, NULL, 0), FM_ST_SUCCESS);
    assert_int_equal(ofm_pm_activate(f->pm, 6, NULL, 0), FM_ST_SUCCESS);
    ISO(f, 3, 6);
    /* the fabric manager goes away; a new one starts with --restart */
    assert_int_equal(pmfx_pm(f, true, &err), 0);
    assert_true(ofm_pm_awaiting_restart_list(f->pm));
    ISO(f, 3, 6); /* routes untouched */
    fmFabricPartitionList_t l;
    assert_int_equal(ofm_pm_get_supported(f->pm, &l), FM_ST_NOT_CONFIGURED);
    assert_int_equal(ofm_pm_activate(f->pm, 5, NULL, 0), FM_ST_NOT_CONFIGURED);
    assert_int_equal(ofm_pm_deactivate(f->pm, 3), FM_ST_NOT_CONFIGURED);
    /* FM §5.11: not supported in restart mode (H100 would otherwise say
     * SUCCESS with an empty list) */
    fmNvlinkFailedDevices_t fd;
    memset(&fd, 0x5a, sizeof fd);
    assert_int_equal(ofm_pm_failed_devices(f->pm, &fd), FM_ST_NOT_SUPPORTED);
    assert_int_equal(fd.numGpus, 0x5a5a5a5a); /* untouched */
    /* the hypervisor says only partition 3 still runs: 6's routes go */
    fmActivatedFabricPartitionList_t al = {.numPartitions = 1, .partitionIds = {3}};
    pmfx_log_clear();
    assert_int_equal(ofm_pm_set_activated(f->pm, &al), FM_ST_SUCCESS);
    assert_false(ofm_pm_awaiting_restart_list(f->pm));
    ISO(f, 3);
    /* every partition the list changes is logged by ID */
    assert_non_null(strstr(pmfx_log(), "partition 3 keeps running, its routes kept"));
    assert_non_null(strstr(pmfx_log(), "partition 6 was active when the fabric manager stopped and "
                                       "is not in the hypervisor's list: its routes are removed"));
    fmFabricPartitionList_t *sl = supported(f, FM_ST_SUCCESS);
    assert_true(find(sl, 3)->isActive);
    assert_false(find(sl, 6)->isActive);
    assert_int_equal(ofm_pm_activate(f->pm, 3, NULL, 0), FM_ST_IN_USE);
    assert_int_equal(ofm_pm_activate(f->pm, 6, NULL, 0), FM_ST_SUCCESS);
    ISO(f, 3, 6);
    /* the whole run is in restart mode, not only the wait */
    assert_int_equal(ofm_pm_failed_devices(f->pm, &fd), FM_ST_NOT_SUPPORTED);
    pmfx_close(f);
}

static void set_activated_rejects_bad_lists(void **s)
{
    (void)s;
    pmfx *f = pmfx_open("hgx-h100", OFM_FABRIC_MODE_SHARED, NULL);
    ofm_error err;
    assert_int_equal(pmfx_pm(f, false, &err), 0);
    assert_int_equal(ofm_pm_activate(f->pm, 1, NULL, 0), FM_ST_SUCCESS);
    assert_int_equal(pmfx_pm(f, true, &err), 0);
    fmActivatedFabricPartitionList_t al = {.numPartitions = 1, .partitionIds = {77}};
    pmfx_log_clear();
    assert_int_equal(ofm_pm_set_activated(f->pm, &al), FM_ST_BADPARAM);
    assert_non_null(strstr(pmfx_log(), "fmSetActivatedFabricPartitions refused (FM_ST_BADPARAM): "
                                       "partition 77 is not defined"));
    al.numPartitions = FM_MAX_FABRIC_PARTITIONS + 1;
    assert_int_equal(ofm_pm_set_activated(f->pm, &al), FM_ST_BADPARAM);
    fmActivatedFabricPartitionList_t ov = {.numPartitions = 2, .partitionIds = {1, 3}};
    assert_int_equal(ofm_pm_set_activated(f->pm, &ov), FM_ST_IN_USE);
    assert_true(ofm_pm_awaiting_restart_list(f->pm)); /* still waiting, routes intact */
    ISO(f, 1);
    fmActivatedFabricPartitionList_t none = {.numPartitions = 0};
    assert_int_equal(ofm_pm_set_activated(f->pm, &none), FM_ST_SUCCESS);
    pmfx_check_isolation(f, NULL, 0, 0);
    pmfx_close(f);
}

/* FM §5.10/§12: outside the restart window the list can only confirm what
 * runs; it never tears a partition down or starts one. */
static void set_activated_outside_restart_changes_nothing(void **s)
{
    (void)s;
    pmfx *f = pmfx_open("hgx-h100", OFM_FABRIC_MODE_SHARED, NULL);
    ofm_error err;
    assert_int_equal(pmfx_pm(f, false, &err), 0);
    assert_int_equal(ofm_pm_activate(f->pm, 3, NULL, 0), FM_ST_SUCCESS);
    assert_int_equal(ofm_pm_activate(f->pm, 6, NULL, 0), FM_ST_SUCCESS);
    ISO(f, 3, 6);
    /* a list without 6 would have torn 6 down */
    fmActivatedFabricPartitionList_t al = {.numPartitions = 1, .partitionIds = {3}};
    pmfx_log_clear();
    assert_int_equal(ofm_pm_set_activated(f->pm, &al), FM_ST_NOT_SUPPORTED);
    ISO(f, 3, 6);
    assert_non_null(strstr(pmfx_log(), "partition 6 is active but not in the list; it keeps running"));
    assert_non_null(strstr(pmfx_log(), "nothing was changed"));
    /* nor does a longer list start anything */
    fmActivatedFabricPartitionList_t more = {.numPartitions = 3, .partitionIds = {3, 6, 8}};
    pmfx_log_clear();
    assert_int_equal(ofm_pm_set_activated(f->pm, &more), FM_ST_NOT_SUPPORTED);
    ISO(f, 3, 6);
    assert_non_null(strstr(pmfx_log(), "partition 8 is in the list but not active; it is not activated"));
    assert_null(strstr(pmfx_log(), "partition 3 "));
    /* the exact active set is confirmed */
    fmActivatedFabricPartitionList_t same = {.numPartitions = 2, .partitionIds = {6, 3}};
    pmfx_log_clear();
    assert_int_equal(ofm_pm_set_activated(f->pm, &same), FM_ST_SUCCESS);
    ISO(f, 3, 6);
    assert_non_null(strstr(pmfx_log(), "the list matches the 2 active partition(s)"));
    /* after a restart window has closed, the same rule holds */
    assert_int_equal(pmfx_pm(f, true, &err), 0);
    assert_int_equal(ofm_pm_set_activated(f->pm, &al), FM_ST_SUCCESS); /* the window: 6 goes */
    ISO(f, 3);
    fmActivatedFabricPartitionList_t none = {.numPartitions = 0};
    assert_int_equal(ofm_pm_set_activated(f->pm, &none), FM_ST_NOT_SUPPORTED);
    ISO(f, 3);
    assert_int_equal(ofm_pm_deactivate(f->pm, 3), FM_ST_SUCCESS);
    assert_int_equal(ofm_pm_set_activated(f->pm, &none), FM_ST_SUCCESS);
    pmfx_check_isolation(f, NULL, 0, 0);
    pmfx_close(f);
}

/* vGPU: a restart list may only name partitions recorded with their VFs. */
static void vgpu_restart_never_activates_without_vfs(void **s)
{
    (void)s;
    pmfx *f = pmfx_open("hgx-h100", OFM_FABRIC_MODE_VGPU, NULL);
    ofm_error err;
    assert_int_equal(pmfx_pm(f, false, &err), 0);
    fmPciDevice_t v[2] = {pmfx_vf(f, 3, 0), pmfx_vf(f, 1, 0)};
    assert_int_equal(ofm_pm_activate(f->pm, 3, v, 2), FM_ST_SUCCESS);
    ISO(f, 3);
    assert_int_equal(pmfx_pm(f, true, &err), 0);
    /* partition 4 (GPUs 2, 4) was not running: it has no VFs */
    fmActivatedFabricPartitionList_t al = {.numPartitions = 2, .partitionIds = {3, 4}};
    pmfx_log_clear();
    assert_int_equal(ofm_pm_set_activated(f->pm, &al), FM_ST_BADPARAM);
    assert_true(ofm_pm_awaiting_restart_list(f->pm));
    ISO(f, 3); /* 4 not routed, 3 untouched */
    assert_non_null(strstr(pmfx_log(), "partition 4 is not recorded as running with VFs"));
    al.numPartitions = 1;
    assert_int_equal(ofm_pm_set_activated(f->pm, &al), FM_ST_SUCCESS);
    ISO(f, 3);
    /* its VFs are still known, in the order given */
    ofm_pm_state st;
    assert_int_equal(ofm_pm_state_load(f->state, &st, &err), 0);
    for (size_t i = 0; i < st.npartitions; i++)
        if (st.part_id[i] == 3) {
            assert_int_equal(st.nvfs[i], 2);
            assert_memory_equal(&st.vfs[i][0], &v[0], sizeof v[0]);
        }
    pmfx_close(f);
}

static void write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static char *slurp(const char *path)
{
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    static char buf[16384];
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    buf[n] = '\0';
    fclose(fp);
    return buf;
}

static void expect_unrecoverable(pmfx *f, const char *needle)
{
    ofm_error err;
    char b[800];
    assert_int_equal(pmfx_pm(f, true, &err), -1);
    const char *msg = ofm_error_format(&err, b, sizeof b);
    if (!strstr(msg, "cannot recover state") || !strstr(msg, "start without --restart") ||
        !strstr(msg, needle) || !strstr(msg, f->state))
        fail_msg("unexpected error for '%s': %s", needle, msg);
}

static void write_state(const char *path, const ofm_pm_state *st)
{
    static char buf[OFM_PM_RECORD_MAX];
    size_t n = ofm_pm_state_encode_file(st, buf, sizeof buf);
    assert_true(n > 0);
    buf[n] = '\0';
    write_file(path, buf);
}

/* --restart refuses a state file it cannot trust, naming the file; the
 * format's own checks (framing, checksums, versions) are in test_state_file.c */
static void unrecoverable_state_files(void **s)
{
    (void)s;
    pmfx *f = pmfx_open("hgx-h100", OFM_FABRIC_MODE_SHARED, NULL);
    expect_unrecoverable(f, "No such file");
    ofm_error err;
    assert_int_equal(pmfx_pm(f, false, &err), 0);
    char good[16384];
    snprintf(good, sizeof good, "%s", slurp(f->state));
    ofm_pm_destroy(f->pm);
    f->pm = NULL;
    static ofm_pm_state st;
    assert_int_equal(ofm_pm_state_load(f->state, &st, &err), 0);
    char bad[16384];
    /* cut off in the middle of the last record */
    snprintf(bad, sizeof bad, "%.*s", (int)strlen(good) - 6, good);
    write_file(f->state, bad);
    expect_unrecoverable(f, "truncated");
    write_file(f->state, "openfm-state 7\nrecord 1 snapshot 0 00000000\n");
    expect_unrecoverable(f, "version 7");
    ofm_pm_state other = st;
    memcpy(other.platform, "hgx-h800", 8);
    write_state(f->state, &other);
    expect_unrecoverable(f, "another platform");
    other = st;
    other.gpu_id[1] = 9;
    write_state(f->state, &other);
    expect_unrecoverable(f, "physical ID");
    write_file(f->state, "openfm-state 1\nplatform hgx-h100\nrubbish here\nend\n");
    expect_unrecoverable(f, ":3:");
    write_file(f->state, good);
    assert_int_equal(pmfx_pm(f, true, &err), 0);
    pmfx_close(f);
}

static char logged[8192];

static void capture(void *ctx, ofm_log_level level, const char *msg)
{
    (void)ctx;
    (void)level;
    size_t n = strlen(logged);
    snprintf(logged + n, sizeof logged - n, "%s\n", msg);
}

/* A full disk under the state file: activation, deactivation and the
 * hypervisor's list are refused with an error, the probe shows the routing
 * as it was before each, the log names the reason; with room again they
 * work and the file records them. Needs root for a real full filesystem (a
 * tmpfs in a private mount namespace). */
static void full_disk_refuses_changes_and_rolls_routes_back(void **s)
{
    (void)s;
    pmfx *f = pmfx_open("hgx-h100", OFM_FABRIC_MODE_SHARED, NULL);
    char mnt[128], filler[160];
    snprintf(mnt, sizeof mnt, "%s/small", f->dir);
    snprintf(filler, sizeof filler, "%s/filler", mnt);
    assert_int_equal(mkdir(mnt, 0700), 0);
    if (unshare(CLONE_NEWNS) || mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
        mount("tmpfs", mnt, "tmpfs", 0, "size=32k,mode=0700")) {
        rmdir(mnt);
        pmfx_close(f);
        skip();
    }
    snprintf(f->state, sizeof f->state, "%.60s/fm.state", mnt);
    ofm_error err;
    assert_int_equal(pmfx_pm(f, false, &err), 0);
    assert_int_equal(ofm_pm_activate(f->pm, 1, NULL, 0), FM_ST_SUCCESS);
    ISO(f, 1);
    /* fill the filesystem; the journal's last page may hold a few records */
    int fd = open(filler, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    static char block[4096];
    while (write(fd, block, sizeof block) > 0)
        ;
    while (write(fd, block, 1) > 0)
        ;
    close(fd);
    fmReturn_t rc = FM_ST_SUCCESS;
    for (int k = 0; k < 200 && rc == FM_ST_SUCCESS; k++) {
        rc = ofm_pm_activate(f->pm, 6, NULL, 0);
        if (rc == FM_ST_SUCCESS)
            assert_int_equal(ofm_pm_deactivate(f->pm, 6), FM_ST_SUCCESS);
    }
    ofm_log_set_sink(capture, NULL);
    logged[0] = '\0';
    assert_int_equal(ofm_pm_activate(f->pm, 2, NULL, 0), FM_ST_GENERIC_ERROR);
    ISO(f, 1); /* partition 2's GPUs do not reach each other */
    if (!strstr(logged, "activation of partition 2 failed") || !strstr(logged, "No space left on device") ||
        !strstr(logged, "rolled back") || !strstr(logged, f->state))
        fail_msg("log does not name the reason: %s", logged);
    logged[0] = '\0';
    assert_int_equal(ofm_pm_deactivate(f->pm, 1), FM_ST_GENERIC_ERROR);
    ISO(f, 1); /* still forwarded */
    assert_non_null(strstr(logged, "deactivation of partition 1 failed"));
    /* outside a restart the list cannot tear partition 1 down anyway */
    fmActivatedFabricPartitionList_t none = {.numPartitions = 0};
    assert_int_equal(ofm_pm_set_activated(f->pm, &none), FM_ST_NOT_SUPPORTED);
    ISO(f, 1);
    fmFabricPartitionList_t *l = supported(f, FM_ST_SUCCESS);
    assert_true(find(l, 1)->isActive);
    assert_false(find(l, 2)->isActive);
    /* what is on disk agrees with what the client was told */
    static ofm_pm_state st;
    assert_int_equal(ofm_pm_state_load(f->state, &st, &err), 0);
    for (size_t i = 0; i < st.npartitions; i++)
        assert_int_equal(st.active[i], st.part_id[i] == 1);
    /* room again: the same requests succeed and are recorded */
    assert_int_equal(unlink(filler), 0);
    assert_int_equal(ofm_pm_activate(f->pm, 2, NULL, 0), FM_ST_SUCCESS);
    ISO(f, 1, 2);
    assert_int_equal(ofm_pm_state_load(f->state, &st, &err), 0);
    for (size_t i = 0; i < st.npartitions; i++)
        assert_int_equal(st.active[i], st.part_id[i] == 1 || st.part_id[i] == 2);
    /* --restart on a full disk: the state loads, the routes stay, and the
     * hypervisor's list is refused (routes untouched) until it can be recorded */
    fd = open(filler, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    while (write(fd, block, sizeof block) > 0)
        ;
    while (write(fd, block, 1) > 0)
        ;
    close(fd);
    logged[0] = '\0';
    assert_int_equal(pmfx_pm(f, true, &err), 0);
    assert_non_null(strstr(logged, "cannot rewrite the state file"));
    ISO(f, 1, 2);
    fmActivatedFabricPartitionList_t only1 = {.numPartitions = 1, .partitionIds = {1}};
    assert_int_equal(ofm_pm_set_activated(f->pm, &only1), FM_ST_GENERIC_ERROR);
    assert_true(ofm_pm_awaiting_restart_list(f->pm));
    ISO(f, 1, 2);
    assert_int_equal(unlink(filler), 0);
    assert_int_equal(ofm_pm_set_activated(f->pm, &only1), FM_ST_SUCCESS);
    ISO(f, 1);
    assert_int_equal(ofm_pm_state_load(f->state, &st, &err), 0);
    for (size_t i = 0; i < st.npartitions; i++)
        assert_int_equal(st.active[i], st.part_id[i] == 1);
    ofm_log_set_sink(NULL, NULL);
    ofm_pm_destroy(f->pm);
    f->pm = NULL;
    unlink(f->state);
    umount(mnt);
    rmdir(mnt);
    pmfx_close(f);
}

static void kill_gpu(ofm_hal *h) { assert_int_equal(ofm_emu_inject_gpu(h, 3, OFM_DEV_FAILED), OFM_HAL_OK); }

static void a100_failed_gpu_removes_its_partitions(void **s)
{
    (void)s;
    pmfx *f = pmfx_open("hgx-a100-2b", OFM_FABRIC_MODE_SHARED, kill_gpu);
    ofm_error err;
    assert_int_equal(pmfx_pm(f, false, &err), 0);
    fmFabricPartitionList_t *l = supported(f, FM_ST_SUCCESS);
    for (unsigned i = 0; i < l->numPartitions; i++)
        for (unsigned g = 0; g < l->partitionInfo[i].numGpus; g++)
            assert_int_not_equal(l->partitionInfo[i].gpuInfo[g].physicalId, 3);
    fmUnsupportedFabricPartitionList_t un;
    assert_int_equal(ofm_pm_unsupported(f->pm, &un), FM_ST_SUCCESS);
    assert_true(un.numPartitions > 0);
    assert_int_equal(un.numPartitions + l->numPartitions, f->ctx->platform.npartitions);
    unsigned bad = un.partitionInfo[0].partitionId;
    bool has3 = false;
    for (unsigned g = 0; g < un.partitionInfo[0].numGpus; g++)
        has3 |= un.partitionInfo[0].gpuPhysicalIds[g] == 3;
    assert_true(has3);
    /* the log names the unsupported partitions and why, not only a count */
    char want[96];
    snprintf(want, sizeof want, "default partition(s) not supported in this run: %u", bad);
    if (!strstr(pmfx_log(), want) || !strstr(pmfx_log(), "(first: partition "))
        fail_msg("expected '%s' in:\n%s", want, pmfx_log());
    /* FM §5.7: an unsupported partition id is a bad parameter */
    assert_int_equal(ofm_pm_activate(f->pm, bad, NULL, 0), FM_ST_BADPARAM);
    /* a supported multi-GPU partition still works and is isolated */
    unsigned ok = ~0u;
    for (unsigned i = 0; i < l->numPartitions && ok == ~0u; i++)
        if (l->partitionInfo[i].numGpus == 2)
            ok = l->partitionInfo[i].partitionId;
    assert_int_not_equal(ok, ~0u);
    assert_int_equal(ofm_pm_activate(f->pm, ok, NULL, 0), FM_ST_SUCCESS);
    unsigned act[] = {ok};
    pmfx_check_isolation(f, act, 1, 0);
    pmfx_close(f);
}

static void a100_two_boards_partitions_isolated(void **s)
{
    (void)s;
    pmfx *f = pmfx_open("hgx-a100-2b", OFM_FABRIC_MODE_SHARED, NULL);
    ofm_error err;
    assert_int_equal(pmfx_pm(f, false, &err), 0);
    pmfx_check_isolation(f, NULL, 0, 0);
    fmNvlinkFailedDevices_t fd;
    assert_int_equal(ofm_pm_failed_devices(f->pm, &fd), FM_ST_SUCCESS);
    assert_int_equal(fd.numGpus + fd.numSwitches, 0);
    /* A100 partitions carry each GPU's UUID and BDF, as the GPU reports them */
    ofm_hal_gpu hg[OFM_MAX_GPUS];
    size_t nhg = 0;
    assert_int_equal(f->h->ops->list_gpus(f->h, hg, OFM_MAX_GPUS, &nhg), OFM_HAL_OK);
    fmFabricPartitionList_t *sl = supported(f, FM_ST_SUCCESS);
    for (unsigned i = 0; i < sl->numPartitions; i++)
        for (unsigned g = 0; g < sl->partitionInfo[i].numGpus; g++) {
            const fmFabricPartitionGpuInfo_t *gi = &sl->partitionInfo[i].gpuInfo[g];
            bool found = false;
            for (size_t k = 0; k < nhg; k++)
                if (hg[k].phys_id == gi->physicalId) {
                    assert_string_equal(gi->uuid, hg[k].uuid);
                    assert_string_equal(gi->pciBusId, hg[k].pci_bdf);
                    found = true;
                }
            assert_true(found);
            assert_true(strncmp(gi->uuid, "GPU-", 4) == 0);
        }
    /* two disjoint 8-GPU partitions side by side, then the 16-GPU one */
    const ofm_platform *p = &f->ctx->platform;
    unsigned eights[2], n8 = 0, all = ~0u;
    for (size_t i = 0; i < p->npartitions; i++) {
        if (p->partitions[i].ngpus == 8 && n8 < 2)
            eights[n8++] = p->partitions[i].id;
        if (p->partitions[i].ngpus == p->ngpus)
            all = p->partitions[i].id;
    }
    assert_int_equal(n8, 2);
    assert_int_equal(ofm_pm_activate(f->pm, eights[0], NULL, 0), FM_ST_SUCCESS);
    assert_int_equal(ofm_pm_activate(f->pm, eights[1], NULL, 0), FM_ST_SUCCESS);
    pmfx_check_isolation(f, eights, 2, 0);
    assert_int_equal(ofm_pm_activate(f->pm, all, NULL, 0), FM_ST_IN_USE);
    assert_int_equal(ofm_pm_deactivate(f->pm, eights[0]), FM_ST_SUCCESS);
    pmfx_check_isolation(f, &eights[1], 1, 0);
    assert_int_equal(ofm_pm_deactivate(f->pm, eights[1]), FM_ST_SUCCESS);
    assert_int_equal(ofm_pm_activate(f->pm, all, NULL, 0), FM_ST_SUCCESS);
    pmfx_check_isolation(f, &all, 1, 0);
    pmfx_close(f);
}

/* HGX-2: 4- and 2-GPU partitions and the cross-board 8-GPU ones get 5 of
 * the 6 links per GPU (FM §11.1). The probe must see exactly the table's
 * count between every pair of every partition, and nothing across
 * partitions; the link left out is each GPU's link to its board's last
 * switch, so the partitions using a port are named accordingly. */
static void hgx2_partitions_route_their_link_count(void **s)
{
    (void)s;
    pmfx *f = pmfx_open("hgx-2", OFM_FABRIC_MODE_SHARED, NULL);
    ofm_error err;
    assert_int_equal(pmfx_pm(f, false, &err), 0);
    const ofm_platform *p = &f->ctx->platform;
    unsigned fives = 0;
    for (size_t i = 0; i < p->npartitions; i++) {
        const ofm_partition_desc *d = &p->partitions[i];
        if (d->ngpus < 2)
            continue;
        fives += d->nvlinks_per_gpu == 5;
        assert_int_equal(ofm_pm_activate(f->pm, d->id, NULL, 0), FM_ST_SUCCESS);
        pmfx_check_isolation(f, &d->id, 1, 0); /* 0: the partition's own count */
        /* the port a GPU leaves out is not the partition's; the others are */
        uint32_t ids[OFM_MAX_PARTITIONS];
        for (size_t a = 0; a < p->naccess; a++) {
            if (p->access[a].gpu != d->gpus[0])
                continue;
            size_t n = ofm_pm_partitions_on_port(f->pm, p->access[a].sw, p->access[a].sw_port, ids,
                                                 OFM_MAX_PARTITIONS);
            bool last_switch = p->access[a].sw == 6 || p->access[a].sw == 12;
            if (d->nvlinks_per_gpu == 5 && last_switch)
                assert_int_equal(n, 0);
            else {
                assert_int_equal(n, 1);
                assert_int_equal(ids[0], d->id);
            }
        }
        size_t n = ofm_pm_partitions_with_gpu(f->pm, d->gpus[d->ngpus - 1], ids, OFM_MAX_PARTITIONS);
        assert_int_equal(n, 1);
        assert_int_equal(ids[0], d->id);
        assert_int_equal(ofm_pm_deactivate(f->pm, d->id), FM_ST_SUCCESS);
    }
    assert_int_equal(fives, 14);
    /* side by side: 4-GPU partitions 5 and 6 (board 1), 2-GPU partitions 13
     * and 14 (board 2) */
    unsigned set[] = {5, 6, 13, 14};
    for (unsigned k = 0; k < 4; k++)
        assert_int_equal(ofm_pm_activate(f->pm, set[k], NULL, 0), FM_ST_SUCCESS);
    pmfx_check_isolation(f, set, 4, 0);
    pmfx_close(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(h100_start_isolates_and_lists_everything),
        cmocka_unit_test(h100_lifecycle_return_codes_and_isolation),
        cmocka_unit_test(vgpu_needs_vfs_and_keeps_their_order),
        cmocka_unit_test(vgpu_vf_lists_are_checked),
        cmocka_unit_test(restart_keeps_routes_until_the_active_list_arrives),
        cmocka_unit_test(set_activated_rejects_bad_lists),
        cmocka_unit_test(set_activated_outside_restart_changes_nothing),
        cmocka_unit_test(vgpu_restart_never_activates_without_vfs),
        cmocka_unit_test(unrecoverable_state_files),
        cmocka_unit_test(full_disk_refuses_changes_and_rolls_routes_back),
        cmocka_unit_test(a100_failed_gpu_removes_its_partitions),
        cmocka_unit_test(a100_two_boards_partitions_isolated),
        cmocka_unit_test(hgx2_partitions_route_their_link_count),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
