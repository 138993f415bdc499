/* Partitions defined live, on the partition manager over an emulated
 * system: create, activate, probe, deactivate, delete, restart and find them
 * again; refusals name the rule broken and the offending GPU or ID; the
 * public calls serve exactly what the public structures can hold. Every
 * claim about routing is judged by the emulator's traffic probe. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "openfm/partition_rules.h"
#include "partition/state_file.h"
#include "pm_fixture.h"

#define ISO(f, ...)                                                                                \
    do {                                                                                           \
        unsigned a_[] = {__VA_ARGS__};                                                             \
        pmfx_check_isolation(f, a_, sizeof a_ / sizeof a_[0], 0);                                  \
    } while (0)

static char why[512];

static fmReturn_t define(pmfx *f, const char *gpus, int id, unsigned *out)
{
    uint32_t g[OFM_MAX_GPUS];
    char w[160];
    int n = ofm_partition_parse_gpu_list(gpus, g, OFM_MAX_GPUS, w, sizeof w);
    if (n < 0)
        fail_msg("bad GPU list in the test: %s", w);
    unsigned dummy;
    return ofm_pm_define(f->pm, g, (unsigned)n, id >= 0, id >= 0 ? (unsigned)id : 0,
                         out ? out : &dummy, why, sizeof why);
}

static void expect_refused(pmfx *f, const char *gpus, int id, fmReturn_t rc, const char *n1,
                           const char *n2)
{
    unsigned got = 12345;
    fmReturn_t r = define(f, gpus, id, &got);
    if (r != rc)
        fail_msg("define %s (id %d): %d, expected %d (%s)", gpus, id, r, rc, why);
    assert_int_equal(got, 12345);
    if (!strstr(why, n1) || (n2 && !strstr(why, n2)))
        fail_msg("define %s: reason '%s' lacks '%s' / '%s'", gpus, why, n1, n2 ? n2 : "");
}

static fmFabricPartitionList_t *list(pmfx *f)
{
    static fmFabricPartitionList_t l;
    memset(&l, 0, sizeof l);
    assert_int_equal(ofm_pm_get_supported(f->pm, &l), FM_ST_SUCCESS);
    return &l;
}

static const fmFabricPartitionInfo_t *find(const fmFabricPartitionList_t *l, unsigned id)
{
    for (unsigned i = 0; i < l->numPartitions; i++)
        if (l->partitionInfo[i].partitionId == id)
            return &l->partitionInfo[i];
    return NULL;
}

static const char *state_text(pmfx *f)
{
    static char buf[OFM_PM_STATE_MAX_BYTES + 1];
    FILE *fp = fopen(f->state, "rb");
    assert_non_null(fp);
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    buf[n] = '\0';
    fclose(fp);
    return buf;
}

static void create_activate_probe_deactivate_delete(void **s)
{
    (void)s;
    pmfx *f = pmfx_open("hgx-h100", OFM_FABRIC_MODE_SHARED, NULL);
    ofm_error err;
    assert_int_equal(pmfx_pm(f, false, &err), 0);
    unsigned id = 0;
    /* no ID asked: the lowest free one (the default table holds 0-14) */
    assert_int_equal(define(f, "3,1,2", -1, &id), FM_ST_SUCCESS);
    assert_int_equal(id, 15);
    assert_non_null(strstr(state_text(f), "define 15 gpus=1-3 nvlinks=18\n"));
    const fmFabricPartitionInfo_t *p = find(list(f), 15);
    assert_non_null(p);
    assert_int_equal(p->numGpus, 3);
    assert_int_equal(p->gpuInfo[0].physicalId, 1);
    assert_int_equal(p->gpuInfo[2].numNvLinksAvailable, 18);
    /* activated like a built-in one, next to a built-in one */
    assert_int_equal(ofm_pm_activate(f->pm, 15, NULL, 0), FM_ST_SUCCESS);
    ISO(f, 15);
    assert_int_equal(ofm_pm_activate(f->pm, 2, NULL, 0), FM_ST_SUCCESS);
    ISO(f, 15, 2);
    assert_int_equal(ofm_pm_activate(f->pm, 3, NULL, 0), FM_ST_IN_USE); /* GPUs 1,3 */
    assert_true(find(list(f), 15)->isActive);
    /* an ID asked for; taken IDs and identical GPU sets are refused */
    assert_int_equal(define(f, "4,7", 300, &id), FM_ST_SUCCESS);
    assert_int_equal(id, 300);
    expect_refused(f, "5,6", 300, FM_ST_PARTITION_ID_IN_USE, "partition ID 300 is already defined",
                   "GPUs 4,7");
    expect_refused(f, "2,1,3", -1, FM_ST_PARTITION_EXISTS, "partition 15 already has exactly these GPUs",
                   "1,2,3");
    expect_refused(f, "5-8", -1, FM_ST_PARTITION_EXISTS, "partition 2", NULL);
    /* deleting: an active one, a built-in one, an unknown one */
    assert_int_equal(ofm_pm_undefine(f->pm, 15, why, sizeof why), FM_ST_IN_USE);
    assert_non_null(strstr(why, "partition 15 is active; deactivate it first"));
    assert_int_equal(ofm_pm_undefine(f->pm, 3, why, sizeof why), FM_ST_NOT_SUPPORTED);
    assert_non_null(strstr(why, "default partitions"));
    assert_int_equal(ofm_pm_undefine(f->pm, 999, why, sizeof why), FM_ST_BADPARAM);
    assert_int_equal(ofm_pm_deactivate(f->pm, 15), FM_ST_SUCCESS);
    ISO(f, 2);
    assert_int_equal(ofm_pm_undefine(f->pm, 15, why, sizeof why), FM_ST_SUCCESS);
    ISO(f, 2);
    assert_null(find(list(f), 15));
    assert_int_equal(ofm_pm_activate(f->pm, 15, NULL, 0), FM_ST_BADPARAM);
    assert_non_null(strstr(state_text(f), "undefine 15\n"));
    /* the freed ID is the lowest again */
    assert_int_equal(define(f, "1,2", -1, &id), FM_ST_SUCCESS);
    assert_int_equal(id, 15);
    assert_int_equal(ofm_pm_activate(f->pm, 15, NULL, 0), FM_ST_SUCCESS);
    ISO(f, 2, 15);
    pmfx_close(f);
}

/* --restart finds the definitions and their activations again; a normal
 * start keeps the definitions (configuration) and clears activations. */
static void definitions_survive_restarts(void **s)
{
    (void)s;
    pmfx *f = pmfx_open("hgx-h100", OFM_FABRIC_MODE_SHARED, NULL);
    ofm_error err;
    assert_int_equal(pmfx_pm(f, false, &err), 0);
    assert_int_equal(define(f, "2,4,6,8", 40, NULL), FM_ST_SUCCESS);
    assert_int_equal(define(f, "1,3,5", 41, NULL), FM_ST_SUCCESS);
    assert_int_equal(define(f, "7,8", 42, NULL), FM_ST_SUCCESS);
    assert_int_equal(ofm_pm_undefine(f->pm, 42, why, sizeof why), FM_ST_SUCCESS);
    assert_int_equal(ofm_pm_activate(f->pm, 40, NULL, 0), FM_ST_SUCCESS);
    assert_int_equal(ofm_pm_activate(f->pm, 41, NULL, 0), FM_ST_SUCCESS);
    ISO(f, 40, 41);
    /* the fabric manager dies; --restart leaves the routes alone */
    assert_int_equal(pmfx_pm(f, true, &err), 0);
    ISO(f, 40, 41);
    char w[64];
    assert_int_equal(ofm_pm_undefine(f->pm, 40, w, sizeof w), FM_ST_NOT_CONFIGURED);
    fmActivatedFabricPartitionList_t al = {.numPartitions = 1, .partitionIds = {40}};
    assert_int_equal(ofm_pm_set_activated(f->pm, &al), FM_ST_SUCCESS);
    ISO(f, 40);
    fmFabricPartitionList_t *l = list(f);
    assert_true(find(l, 40)->isActive);
    assert_false(find(l, 41)->isActive);
    assert_null(find(l, 42));
    assert_int_equal(ofm_pm_activate(f->pm, 41, NULL, 0), FM_ST_SUCCESS);
    ISO(f, 40, 41);
    /* a normal start: definitions carried over, nothing active */
    assert_int_equal(pmfx_pm(f, false, &err), 0);
    pmfx_check_isolation(f, NULL, 0, 0);
    l = list(f);
    assert_non_null(find(l, 40));
    assert_non_null(find(l, 41));
    assert_false(find(l, 40)->isActive);
    assert_int_equal(ofm_pm_activate(f->pm, 41, NULL, 0), FM_ST_SUCCESS);
    ISO(f, 41);
    /* and a --restart after that still has them */
    assert_int_equal(pmfx_pm(f, true, &err), 0);
    fmActivatedFabricPartitionList_t al2 = {.numPartitions = 1, .partitionIds = {41}};
    assert_int_equal(ofm_pm_set_activated(f->pm, &al2), FM_ST_SUCCESS);
    ISO(f, 41);
    assert_non_null(find(list(f), 40));
    pmfx_close(f);
}

/* FM §11.2.2 on a two-baseboard HGX A100, the same rules the topology
 * loader applies, each refusal naming the rule and the GPUs. */
static void invalid_definitions_name_the_rule(void **s)
{
    (void)s;
    pmfx *f = pmfx_open("hgx-a100-2b", OFM_FABRIC_MODE_SHARED, NULL);
    ofm_error err;
    assert_int_equal(pmfx_pm(f, false, &err), 0);
    expect_refused(f, "1,9", 100, FM_ST_BADPARAM, "a 2-GPU partition must lie on one baseboard",
                   "(GPU 1 and GPU 9) (FM §11.2.2)");
    expect_refused(f, "1-3,10", 100, FM_ST_BADPARAM, "a 4-GPU partition must lie on one baseboard",
                   "GPU 10");
    expect_refused(f, "1-5,9-11", 100, FM_ST_BADPARAM, "four GPUs on each, but has 5 on baseboard 1",
                   "(GPUs 1,2,3,4,5) (FM §11.2.2)");
    expect_refused(f, "1,17", 100, FM_ST_BADPARAM, "GPU 17 does not exist", NULL);
    expect_refused(f, "1,2", 1024, FM_ST_BADPARAM, "partition ID 1024 is out of range", "0-1023");
    uint32_t twice[] = {2, 2};
    unsigned id;
    assert_int_equal(ofm_pm_define(f->pm, twice, 2, false, 0, &id, why, sizeof why), FM_ST_BADPARAM);
    assert_non_null(strstr(why, "GPU 2 is listed twice"));
    assert_int_equal(ofm_pm_define(f->pm, twice, 0, false, 0, &id, why, sizeof why), FM_ST_BADPARAM);
    /* valid shapes: 4+4 across the boards, 2 on one board, 3 GPUs */
    assert_int_equal(define(f, "5-8,13-16", 100, NULL), FM_ST_PARTITION_EXISTS); /* partition 4 */
    assert_int_equal(define(f, "5,6,8,7,13,14,16,15", 100, NULL), FM_ST_PARTITION_EXISTS);
    assert_int_equal(define(f, "5-8,9-12", 100, NULL), FM_ST_PARTITION_EXISTS); /* partition 6 */
    assert_int_equal(define(f, "4-7,13-16", 100, NULL), FM_ST_SUCCESS);
    assert_int_equal(define(f, "9,16", 101, NULL), FM_ST_SUCCESS);
    assert_int_equal(define(f, "1,2,3", 102, NULL), FM_ST_SUCCESS);
    assert_int_equal(ofm_pm_activate(f->pm, 100, NULL, 0), FM_ST_SUCCESS);
    assert_int_equal(ofm_pm_activate(f->pm, 102, NULL, 0), FM_ST_SUCCESS);
    ISO(f, 100, 102);
    assert_int_equal(ofm_pm_activate(f->pm, 101, NULL, 0), FM_ST_IN_USE);
    pmfx_close(f);
    /* HGX-2 supports its fixed mapping only (FM §11.1) */
    f = pmfx_open("hgx-2", OFM_FABRIC_MODE_SHARED, NULL);
    assert_int_equal(pmfx_pm(f, false, &err), 0);
    expect_refused(f, "1,2", -1, FM_ST_BADPARAM, "fixed partition mapping (FM §11.1)", NULL);
    pmfx_close(f);
}

/* The public list holds 64 partitions: definitions beyond are served by
 * the extension calls only, and the public calls answer
 * FM_ST_NOT_SUPPORTED for them. */
static void public_calls_serve_what_their_structures_hold(void **s)
{
    (void)s;
    pmfx *f = pmfx_open("hgx-h100", OFM_FABRIC_MODE_SHARED, NULL);
    ofm_error err;
    assert_int_equal(pmfx_pm(f, false, &err), 0);
    /* 15 built-in + 50 triples of the 56 = 65 partitions */
    unsigned n = 0, last = 0;
    for (unsigned a = 1; a <= 8 && n < 50; a++)
        for (unsigned b = a + 1; b <= 8 && n < 50; b++)
            for (unsigned c = b + 1; c <= 8 && n < 50; c++) {
                char g[32];
                snprintf(g, sizeof g, "%u,%u,%u", a, b, c);
                assert_int_equal(define(f, g, -1, &last), FM_ST_SUCCESS);
                n++;
            }
    assert_int_equal(last, 64); /* IDs 15..64 */
    fmFabricPartitionList_t *l = list(f);
    assert_int_equal(l->numPartitions, FM_MAX_FABRIC_PARTITIONS);
    assert_null(find(l, 64));
    assert_non_null(find(l, 63));
    static ofm_pm_def defs[OFM_PM_MAX_PARTITIONS];
    size_t nd;
    assert_int_equal(ofm_pm_definitions(f->pm, defs, OFM_PM_MAX_PARTITIONS, &nd), FM_ST_SUCCESS);
    assert_int_equal(nd, 65);
    assert_false(defs[64].public_view);
    assert_true(defs[64].live);
    assert_false(defs[0].live);
    ofm_partition_desc d = defs[64].desc;
    assert_int_equal(ofm_pm_activate(f->pm, 64, NULL, 0), FM_ST_NOT_SUPPORTED);
    assert_int_equal(ofm_pm_activate_any(f->pm, 64, NULL, 0), FM_ST_SUCCESS);
    unsigned act[] = {64};
    pmfx_check_isolation(f, act, 1, 0);
    assert_int_equal(ofm_pm_deactivate(f->pm, 64), FM_ST_NOT_SUPPORTED);
    pmfx_check_isolation(f, act, 1, 0);
    assert_int_equal(ofm_pm_deactivate_any(f->pm, 64), FM_ST_SUCCESS);
    pmfx_check_isolation(f, NULL, 0, 0);
    (void)d;
    /* deleting one ahead of it brings it into the public list */
    assert_int_equal(ofm_pm_undefine(f->pm, 20, why, sizeof why), FM_ST_SUCCESS);
    assert_non_null(find(list(f), 64));
    assert_int_equal(ofm_pm_activate(f->pm, 64, NULL, 0), FM_ST_SUCCESS);
    pmfx_check_isolation(f, act, 1, 0);
    pmfx_close(f);
}

/* A rack-scale domain: any set of GPUs, IDs 1-32766; partitions of more
 * than 16 GPUs are served by the extension calls only. */
static void nvl72_any_set_of_gpus(void **s)
{
    (void)s;
    pmfx *f = pmfx_open("gb200-nvl72", OFM_FABRIC_MODE_SHARED, NULL);
    ofm_error err;
    assert_int_equal(pmfx_pm(f, false, &err), 0);
    /* the default all-GPU partition 32766 is too large for the public list */
    assert_int_equal(list(f)->numPartitions, 0);
    assert_int_equal(ofm_pm_activate(f->pm, 32766, NULL, 0), FM_ST_NOT_SUPPORTED);
    unsigned id = 0;
    assert_int_equal(define(f, "1-10,30,50-58", -1, &id), FM_ST_SUCCESS);
    assert_int_equal(id, 1);
    assert_int_equal(define(f, "21-24", -1, &id), FM_ST_SUCCESS);
    assert_int_equal(id, 2);
    assert_int_equal(define(f, "72,11", 32765, &id), FM_ST_SUCCESS);
    expect_refused(f, "12", 32767, FM_ST_BADPARAM, "partition ID 32767 is out of range", "1-32766");
    expect_refused(f, "12", 0, FM_ST_BADPARAM, "partition ID 0 is out of range", NULL);
    expect_refused(f, "12", 32766, FM_ST_PARTITION_ID_IN_USE, "partition ID 32766", NULL);
    expect_refused(f, "1-72", -1, FM_ST_PARTITION_EXISTS, "partition 32766", NULL);
    expect_refused(f, "12,73", -1, FM_ST_BADPARAM, "GPU 73 does not exist", NULL);
    fmFabricPartitionList_t *l = list(f);
    assert_int_equal(l->numPartitions, 2);
    assert_null(find(l, 1));
    assert_non_null(find(l, 2));
    assert_int_equal(ofm_pm_activate(f->pm, 1, NULL, 0), FM_ST_NOT_SUPPORTED);
    assert_int_equal(ofm_pm_activate_any(f->pm, 1, NULL, 0), FM_ST_SUCCESS);
    assert_int_equal(ofm_pm_activate(f->pm, 2, NULL, 0), FM_ST_SUCCESS);
    assert_int_equal(ofm_pm_activate_any(f->pm, 32766, NULL, 0), FM_ST_IN_USE);
    ISO(f, 1, 2);
    /* --restart: the hypervisor's list may name any partition */
    assert_int_equal(pmfx_pm(f, true, &err), 0);
    fmActivatedFabricPartitionList_t al = {.numPartitions = 1, .partitionIds = {1}};
    assert_int_equal(ofm_pm_set_activated(f->pm, &al), FM_ST_SUCCESS);
    ISO(f, 1);
    assert_int_equal(ofm_pm_deactivate(f->pm, 1), FM_ST_NOT_SUPPORTED);
    assert_int_equal(ofm_pm_deactivate_any(f->pm, 1), FM_ST_SUCCESS);
    assert_int_equal(ofm_pm_undefine(f->pm, 1, why, sizeof why), FM_ST_SUCCESS);
    assert_int_equal(ofm_pm_activate_any(f->pm, 32766, NULL, 0), FM_ST_SUCCESS);
    ISO(f, 32766);
    pmfx_close(f);
}

/* vGPU mode: a live partition is activated with one VF per GPU, like a
 * built-in one, and its VF order is recorded. */
static void vgpu_live_partition_with_vfs(void **s)
{
    (void)s;
    pmfx *f = pmfx_open("hgx-h100", OFM_FABRIC_MODE_VGPU, NULL);
    ofm_error err;
    assert_int_equal(pmfx_pm(f, false, &err), 0);
    unsigned id = 0;
    assert_int_equal(define(f, "2,7", -1, &id), FM_ST_SUCCESS);
    assert_int_equal(ofm_pm_activate(f->pm, id, NULL, 0), FM_ST_NOT_SUPPORTED);
    fmPciDevice_t wrong[] = {pmfx_vf(f, 2, 0), pmfx_vf(f, 3, 0)};
    assert_int_equal(ofm_pm_activate(f->pm, id, wrong, 2), FM_ST_BADPARAM);
    fmPciDevice_t vfs[] = {pmfx_vf(f, 7, 0), pmfx_vf(f, 2, 1)};
    assert_int_equal(ofm_pm_activate(f->pm, id, vfs, 2), FM_ST_SUCCESS);
    ISO(f, 15);
    static ofm_pm_state st;
    assert_int_equal(ofm_pm_state_load(f->state, &st, &err), 0);
    assert_int_equal(st.part_id[15], 15);
    assert_int_equal(st.nvfs[15], 2);
    assert_int_equal(st.vfs[15][0].bus, vfs[0].bus); /* guest order kept */
    assert_int_equal(ofm_pm_deactivate(f->pm, id), FM_ST_SUCCESS);
    pmfx_check_isolation(f, NULL, 0, 0);
    pmfx_close(f);
}

/* The GPU list syntax fmctl and the tests share. */
static void gpu_lists_parse_strictly(void **s)
{
    (void)s;
    uint32_t g[OFM_MAX_GPUS];
    char w[160];
    assert_int_equal(ofm_partition_parse_gpu_list("1,5,9-12", g, OFM_MAX_GPUS, w, sizeof w), 6);
    assert_int_equal(g[0], 1);
    assert_int_equal(g[2], 9);
    assert_int_equal(g[5], 12);
    assert_int_equal(ofm_partition_parse_gpu_list("1-72", g, OFM_MAX_GPUS, w, sizeof w), 72);
    const char *bad[][2] = {{"", "empty"},        {"1,,2", "expected a GPU"}, {"1,", "trailing"},
                            {"3-1", "reversed"},  {"1,1", "twice"},           {"1-73", "more than 72"},
                            {"x", "expected"},    {"1 2", "unexpected ' '"},  {"-1", "expected"},
                            {"2000", "at most 1023"}, {"1-2-3", "unexpected '-'"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        w[0] = '\0';
        if (ofm_partition_parse_gpu_list(bad[i][0], g, OFM_MAX_GPUS, w, sizeof w) != -1 ||
            !strstr(w, bad[i][1]))
            fail_msg("'%s': '%s' lacks '%s'", bad[i][0], w, bad[i][1]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(create_activate_probe_deactivate_delete),
        cmocka_unit_test(definitions_survive_restarts),
        cmocka_unit_test(invalid_definitions_name_the_rule),
        cmocka_unit_test(public_calls_serve_what_their_structures_hold),
        cmocka_unit_test(nvl72_any_set_of_gpus),
        cmocka_unit_test(vgpu_live_partition_with_vfs),
        cmocka_unit_test(gpu_lists_parse_strictly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
