/* Partitions defined live, end to end against the real daemon: fmctl
 * partition create|delete|list, the SDK's extension and public calls, a
 * SIGKILL and --restart, and a seeded randomized run mixing definitions and
 * deletions with activations from several SDK clients. Every claim about
 * routing is judged by the emulator's traffic probe. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
    cp.addressType = NV_FM_API_ADDR_TYPE_UNIX;
    snprintf(cp.addressInfo, sizeof cp.addressInfo, "%s", d->sock);
    fmHandle_t h = NULL;
    assert_int_equal(fmConnect(&cp, &h), FM_ST_SUCCESS);
    return h;
}

static void start(dh_daemon *d, const char *platform)
{
    assert_int_equal(dh_init(d, platform), 0);
    assert_int_equal(dh_write_config(d, "FABRIC_MODE=1\n"), 0);
    int st = -1;
    if (dh_start(d, NULL, 20000, &st)) {
        char *log = dh_read_log(d);
        fail_msg("daemon not ready (exit %d)\n%s", st, log ? log : "");
    }
}

static char out[65536];

/* fmctl partition ARGS against d; returns the exit status, output in `out`. */
static int fmctl(const dh_daemon *d, const char *args)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s' partition %s --socket '%s' 2>&1", dh_bin("fmctl"), args, d->sock);
    return dh_run(cmd, out, sizeof out);
}

static void expect_fmctl(const dh_daemon *d, const char *args, int rc, const char *n1, const char *n2)
{
    int got = fmctl(d, args);
    if (got != rc || (n1 && !strstr(out, n1)) || (n2 && !strstr(out, n2)))
        fail_msg("fmctl partition %s: exit %d (want %d), output:\n%s(want '%s' / '%s')", args, got, rc,
                 out, n1 ? n1 : "", n2 ? n2 : "");
}

/* Probe every ordered pair: arrives (over `links`) iff the two GPUs share
 * an active partition of `owner` (owner[gpu] = partition or -1). */
static void check_owner(ofm_hal *hal, const int *owner, uint32_t links, const char *when)
{
    const ofm_platform *p = ofm_hal_platform(hal);
    for (size_t i = 0; i < p->ngpus; i++)
        for (size_t j = 0; j < p->ngpus; j++) {
            if (i == j)
                continue;
            uint32_t a = p->gpus[i].phys_id, b = p->gpus[j].phys_id;
            ofm_emu_probe_result r;
            assert_int_equal(ofm_emu_probe(hal, a, b, true, &r), OFM_HAL_OK);
            bool same = owner[a] >= 0 && owner[a] == owner[b];
            if (same != (bool)r.arrives || (same && r.links != links))
                fail_msg("%s: GPU %u -> %u %s over %u links, expected %s (partitions %d / %d)", when,
                         a, b, r.arrives ? "arrives" : "dropped", r.links,
                         same ? "to arrive" : "a drop", owner[a], owner[b]);
        }
}

static void fmctl_create_activate_delete(void **state)
{
    (void)state;
    dh_daemon d;
    start(&d, "hgx-h100");
    ofm_hal *hal;
    char err[256];
    assert_int_equal(ofm_emu_open(d.emu, &hal, err, sizeof err), OFM_HAL_OK);
    expect_fmctl(&d, "create 3,1-2", 0, NULL, NULL);
    assert_string_equal(out, "15\n"); /* the ID alone: the default table holds 0-14 */
    expect_fmctl(&d, "create 2,3,1", 1, "FM_ST_PARTITION_EXISTS", "partition 15 already has exactly these GPUs");
    expect_fmctl(&d, "create 1,9", 1, "FM_ST_BADPARAM", "GPU 9 does not exist");
    expect_fmctl(&d, "create 1-4 --id 15", 1, "FM_ST_PARTITION_ID_IN_USE", "partition ID 15 is already defined");
    expect_fmctl(&d, "create 1,,2", 2, "expected a GPU physical ID", NULL);
    expect_fmctl(&d, "create 5,7,8 --id 700 --json", 0, "\"id\":700", NULL);
    expect_fmctl(&d, "list", 0, "15     no      yes        3     18           live     yes     1-3", NULL);
    expect_fmctl(&d, "list", 0, "700    no      yes        3     18           live     yes     5,7-8", NULL);
    /* the public calls list and activate it like a built-in one */
    fmLibInit();
    fmHandle_t h = connect_to(&d);
    fmFabricPartitionList_t *l = calloc(1, sizeof *l);
    l->version = fmFabricPartitionList_version;
    assert_int_equal(fmGetSupportedFabricPartitions(h, l), FM_ST_SUCCESS);
    assert_int_equal(l->numPartitions, 17);
    assert_int_equal(l->partitionInfo[15].partitionId, 15);
    assert_int_equal(l->partitionInfo[15].numGpus, 3);
    assert_int_equal(fmActivateFabricPartition(h, 15), FM_ST_SUCCESS);
    int owner[16];
    for (int i = 0; i < 16; i++)
        owner[i] = -1;
    owner[1] = owner[2] = owner[3] = 15;
    check_owner(hal, owner, 18, "partition 15 active");
    expect_fmctl(&d, "activate 700", 0, "activate partition: success", NULL);
    owner[5] = owner[7] = owner[8] = 700;
    check_owner(hal, owner, 18, "partitions 15 and 700 active");
    expect_fmctl(&d, "delete 15", 1, "FM_ST_IN_USE", "partition 15 is active; deactivate it first");
    expect_fmctl(&d, "delete 3", 1, "FM_ST_NOT_SUPPORTED", "default partitions");
    expect_fmctl(&d, "delete 4000", 1, "FM_ST_BADPARAM", "no partition 4000");
    assert_int_equal(fmDeactivateFabricPartition(h, 15), FM_ST_SUCCESS);
    owner[1] = owner[2] = owner[3] = -1;
    check_owner(hal, owner, 18, "partition 15 deactivated");
    expect_fmctl(&d, "delete 15", 0, "delete partition: success", NULL);
    assert_int_equal(fmActivateFabricPartition(h, 15), FM_ST_BADPARAM);
    /* deleting 15 moved 700 in the table: the event log still says it was
     * activated once and never changed since */
    char cmd[512];
    snprintf(cmd, sizeof cmd, "'%s' events --socket '%s' 2>&1", dh_bin("fmctl"), d.sock);
    assert_int_equal(dh_run(cmd, out, sizeof out), 0);
    int n700 = 0;
    for (const char *p = out; (p = strstr(p, "partition 700 ")); p++)
        n700++;
    if (n700 != 1 || !strstr(out, "partition 700 activated (GPUs 5, 7, 8)"))
        fail_msg("events for partition 700 (want one activation):\n%s", out);
    /* the extension calls say why */
    unsigned g[] = {4, 6};
    fmFabricPartitionId_t nid = 0;
    assert_int_equal(ofmCreateFabricPartition(h, g, 2, 700, &nid), FM_ST_PARTITION_ID_IN_USE);
    assert_non_null(strstr(ofmReturnText(FM_ST_PARTITION_ID_IN_USE), "partition ID 700"));
    assert_int_equal(ofmCreateFabricPartition(h, g, 2, OFM_PARTITION_ID_ANY, &nid), FM_ST_SUCCESS);
    assert_int_equal(nid, 15);
    free(l);
    fmDisconnect(h);
    fmLibShutdown();
    char *log = dh_read_log(&d);
    assert_non_null(log);
    assert_non_null(strstr(log, "partition 15 defined (GPUs 1,2,3, 18 NVLinks per GPU)"));
    assert_non_null(strstr(log, "partition 15 deleted"));
    free(log);
    ofm_hal_close(hal);
    assert_int_equal(dh_stop(&d, SIGTERM), 0);
    dh_cleanup(&d);
}

/* FM §11.2.2 through fmctl on a two-baseboard system. */
static void fmctl_refusals_name_the_rule(void **state)
{
    (void)state;
    dh_daemon d;
    start(&d, "hgx-a100-2b");
    expect_fmctl(&d, "create 1,9", 1, "a 2-GPU partition must lie on one baseboard",
                 "(GPU 1 and GPU 9) (FM §11.2.2)");
    expect_fmctl(&d, "create 1-5,9-11 --id 44", 1, "partition 44: an 8-GPU partition spanning two "
                 "baseboards must have four GPUs on each", "(GPUs 1,2,3,4,5)");
    expect_fmctl(&d, "create 2,3 --id 1024", 1, "partition ID 1024 is out of range", NULL);
    expect_fmctl(&d, "create 4-7,13-16", 0, NULL, NULL);
    assert_int_equal(dh_stop(&d, SIGTERM), 0);
    dh_cleanup(&d);
}

/* Definitions and activations survive a SIGKILL: --restart finds them. */
static void sigkill_restart_finds_definitions(void **state)
{
    (void)state;
    dh_daemon d;
    start(&d, "hgx-h100");
    ofm_hal *hal;
    char err[256];
    assert_int_equal(ofm_emu_open(d.emu, &hal, err, sizeof err), OFM_HAL_OK);
    expect_fmctl(&d, "create 2,4,6,8 --id 40", 0, NULL, NULL);
    expect_fmctl(&d, "create 1,3,5 --id 41", 0, NULL, NULL);
    expect_fmctl(&d, "activate 40", 0, NULL, NULL);
    expect_fmctl(&d, "activate 41", 0, NULL, NULL);
    assert_int_equal(dh_stop(&d, SIGKILL), 128 + SIGKILL);
    int owner[16];
    for (int i = 0; i < 16; i++)
        owner[i] = -1;
    owner[2] = owner[4] = owner[6] = owner[8] = 40;
    owner[1] = owner[3] = owner[5] = 41;
    check_owner(hal, owner, 18, "after SIGKILL");
    const char *args[] = {"--restart", NULL};
    assert_int_equal(dh_start(&d, args, 20000, NULL), 0);
    check_owner(hal, owner, 18, "after --restart");
    expect_fmctl(&d, "delete 41", 1, "FM_ST_NOT_CONFIGURED", NULL);
    expect_fmctl(&d, "set-active 40", 0, NULL, NULL);
    owner[1] = owner[3] = owner[5] = -1;
    check_owner(hal, owner, 18, "after the active list");
    expect_fmctl(&d, "list", 0, "40     yes", "41     no ");
    expect_fmctl(&d, "deactivate 40", 0, NULL, NULL);
    expect_fmctl(&d, "delete 41", 0, NULL, NULL);
    /* a plain restart keeps what is defined */
    assert_int_equal(dh_stop(&d, SIGTERM), 0);
    assert_int_equal(dh_start(&d, NULL, 20000, NULL), 0);
    expect_fmctl(&d, "list", 0, "40     no ", NULL);
    assert_null(strstr(out, "\n41 "));
    ofm_hal_close(hal);
    assert_int_equal(dh_stop(&d, SIGTERM), 0);
    dh_cleanup(&d);
}

/* ---- randomized: definitions, deletions and activations from several
 * clients, isolation probed after every step ---- */

#define NCLIENTS 3

typedef struct {
    bool defined, active;
    unsigned mask;  /* GPUs 1-8 as bits 1-8 */
    unsigned order; /* place in the daemon's table: built-in first, then by definition */
} model_part;

static model_part m[1024];

/* The public calls serve the first 64 partitions of the table (all of
 * them supported on H100, none above 16 GPUs). */
static bool model_public(unsigned id)
{
    unsigned before = 0;
    for (unsigned k = 0; k < 1024; k++)
        before += m[k].defined && m[k].order < m[id].order;
    return before < FM_MAX_FABRIC_PARTITIONS;
}

static void randomized_live(void **state)
{
    (void)state;
    unsigned seed = (unsigned)time(NULL);
    const char *env = getenv("OFM_TEST_SEED");
    if (env)
        seed = (unsigned)strtoul(env, NULL, 10);
    print_message("randomized live partitions: seed %u (OFM_TEST_SEED=%u repeats it)\n", seed, seed);
    srand(seed);
    dh_daemon d;
    start(&d, "hgx-h100");
    ofm_hal *hal;
    char err[256];
    assert_int_equal(ofm_emu_open(d.emu, &hal, err, sizeof err), OFM_HAL_OK);
    fmLibInit();
    fmHandle_t h[NCLIENTS];
    for (int i = 0; i < NCLIENTS; i++)
        h[i] = connect_to(&d);
    memset(m, 0, sizeof m);
    unsigned seq = 1000;
    ofm_wire_partition_defs *defs = calloc(1, sizeof *defs);
    assert_int_equal(ofmListFabricPartitions(h[0], defs), FM_ST_SUCCESS);
    for (unsigned i = 0; i < defs->n; i++) {
        m[defs->def[i].id].defined = true;
        m[defs->def[i].id].order = i;
        for (unsigned k = 0; k < defs->def[i].ngpus; k++)
            m[defs->def[i].id].mask |= 1u << defs->def[i].gpus[k];
    }
    unsigned steps = 300, ndef = 0, ndel = 0, nact = 0;
    for (unsigned step = 0; step < steps; step++) {
        fmHandle_t c = h[rand() % NCLIENTS];
        int op = rand() % 4;
        /* mostly a defined partition, sometimes any ID (undefined ones too) */
        unsigned id = (unsigned)(rand() % 40);
        if (rand() % 4) {
            unsigned ids[1024], n = 0;
            for (unsigned k = 0; k < 1024; k++)
                if (m[k].defined)
                    ids[n++] = k;
            id = ids[(unsigned)rand() % n];
        }
        fmReturn_t rc, want;
        char what[128];
        if (op == 0) {
            unsigned mask = 0, g[8], n = 0;
            while (!mask)
                mask = ((unsigned)rand() & 0x1feu);
            for (unsigned k = 1; k <= 8; k++)
                if (mask & (1u << k))
                    g[n++] = k;
            bool any = rand() % 2;
            fmFabricPartitionId_t nid = 0;
            rc = ofmCreateFabricPartition(c, g, n, any ? OFM_PARTITION_ID_ANY : id, &nid);
            bool same = false;
            for (unsigned k = 0; k < 1024; k++)
                same |= m[k].defined && m[k].mask == mask;
            /* the ID is checked before the GPU set */
            want = !any && m[id].defined ? FM_ST_PARTITION_ID_IN_USE
                   : same                ? FM_ST_PARTITION_EXISTS
                                         : FM_ST_SUCCESS;
            snprintf(what, sizeof what, "step %u: create mask %#x id %s%u", step, mask, any ? "any/" : "", id);
            if (rc == FM_ST_SUCCESS) {
                if (!any)
                    assert_int_equal(nid, id);
                assert_false(m[nid].defined);
                m[nid] = (model_part){true, false, mask, seq++};
                ndef++;
            }
        } else if (op == 1) {
            rc = ofmDeleteFabricPartition(c, id);
            want = !m[id].defined ? FM_ST_BADPARAM : id <= 14 ? FM_ST_NOT_SUPPORTED
                   : m[id].active ? FM_ST_IN_USE : FM_ST_SUCCESS;
            snprintf(what, sizeof what, "step %u: delete %u", step, id);
            if (rc == FM_ST_SUCCESS) {
                m[id].defined = false;
                ndel++;
            }
        } else if (op == 2) {
            rc = fmActivateFabricPartition(c, id);
            bool clash = false;
            for (unsigned k = 0; k < 1024; k++)
                clash |= m[k].defined && m[k].active && (m[k].mask & m[id].mask);
            want = !m[id].defined      ? FM_ST_BADPARAM
                   : !model_public(id) ? FM_ST_NOT_SUPPORTED
                   : clash             ? FM_ST_IN_USE
                                       : FM_ST_SUCCESS;
            snprintf(what, sizeof what, "step %u: activate %u", step, id);
            if (rc == FM_ST_SUCCESS) {
                m[id].active = true;
                nact++;
            }
        } else {
            rc = fmDeactivateFabricPartition(c, id);
            want = !m[id].defined      ? FM_ST_BADPARAM
                   : !model_public(id) ? FM_ST_NOT_SUPPORTED
                   : !m[id].active     ? FM_ST_UNINITIALIZED
                                       : FM_ST_SUCCESS;
            snprintf(what, sizeof what, "step %u: deactivate %u", step, id);
            if (rc == FM_ST_SUCCESS)
                m[id].active = false;
        }
        if (rc != want)
            fail_msg("%s: %s, expected %s (%s; seed %u)", what, ofmReturnName(rc), ofmReturnName(want),
                     ofmReturnText(rc), seed);
        int owner[16];
        for (int i = 0; i < 16; i++)
            owner[i] = -1;
        for (unsigned k = 0; k < 1024; k++)
            if (m[k].defined && m[k].active)
                for (unsigned g = 1; g <= 8; g++)
                    if (m[k].mask & (1u << g))
                        owner[g] = (int)k;
        check_owner(hal, owner, 18, what);
    }
    print_message("%u steps from %d clients: %u definitions, %u deletions, %u activations\n", steps,
                  NCLIENTS, ndef, ndel, nact);
    free(defs);
    for (int i = 0; i < NCLIENTS; i++)
        fmDisconnect(h[i]);
    fmLibShutdown();
    ofm_hal_close(hal);
    assert_int_equal(dh_stop(&d, SIGTERM), 0);
    dh_cleanup(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fmctl_create_activate_delete),
        cmocka_unit_test(fmctl_refusals_name_the_rule),
        cmocka_unit_test(sigkill_restart_finds_definitions),
        cmocka_unit_test(randomized_live),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
