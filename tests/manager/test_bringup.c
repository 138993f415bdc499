/* ofm_bringup on emulated systems, judged by the emulator's traffic probe
 * (ground truth independent of the fabric code) and by what the switches and
 * GPUs hold afterwards - never by the manager's own bookkeeping alone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "manager/manager.h"
#include "openfm/emu.h"
#include "openfm/log.h"

static char g_log[65536];

static void sink(void *ctx, ofm_log_level level, const char *msg)
{
    (void)ctx;
    size_t used = strlen(g_log);
    snprintf(g_log + used, sizeof g_log - used, "[%s] %s\n", ofm_log_level_name(level), msg);
}

typedef struct {
    char dir[64];
    ofm_hal *h;
    ofm_fabric_status st;
    ofm_fabric_ctx ctx;
    ofm_bringup_opts o;
} fx;

static fx *open_sys(const char *platform)
{
    fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/ofm-mgr-test-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    char err[512];
    if (ofm_emu_create(f->dir, platform, true, err, sizeof err) != OFM_HAL_OK)
        fail_msg("create %s: %s", platform, err);
    if (ofm_emu_open(f->dir, &f->h, err, sizeof err) != OFM_HAL_OK)
        fail_msg("open: %s", err);
    f->o.ali_wait_ms = 50;  /* injected dead links must not stall the suite */
    g_log[0] = '\0';
    ofm_log_set_sink(sink, NULL);
    return f;
}

static void close_sys(fx *f)
{
    char err[512];
    ofm_log_set_sink(NULL, NULL);
    ofm_hal_close(f->h);
    ofm_emu_destroy(f->dir, err, sizeof err);
    rmdir(f->dir);
    free(f);
}

static uint32_t probe_links(fx *f, uint32_t a, uint32_t b)
{
    ofm_emu_probe_result r;
    assert_int_equal(ofm_emu_probe(f->h, a, b, true, &r), OFM_HAL_OK);
    return r.arrives ? r.links : 0;
}

static const ofm_platform *model(fx *f) { return &f->ctx.platform; }

/* Every pair reaches the other over `want` links (probe), or 0 where a GPU is
 * listed in `cut`. */
static void check_mesh(fx *f, uint32_t want, uint32_t cut)
{
    const ofm_platform *p = model(f);
    for (size_t i = 0; i < p->ngpus; i++)
        for (size_t j = 0; j < p->ngpus; j++) {
            if (i == j)
                continue;
            uint32_t a = p->gpus[i].phys_id, b = p->gpus[j].phys_id;
            uint32_t expect = (a == cut || b == cut) ? 0 : want;
            uint32_t got = probe_links(f, a, b);
            if (got != expect)
                fail_msg("%s: GPU %u -> GPU %u over %u links, expected %u", p->name, a, b, got,
                         expect);
        }
}

/* The audit walk over what the switches hold agrees with the probe. */
static void check_walk_matches_probe(fx *f)
{
    const ofm_platform *p = model(f);
    ofm_route_plan all;
    ofm_route_plan_init(&all);
    size_t cap = 8192;
    ofm_route_entry *buf = malloc(cap * sizeof *buf);
    for (size_t s = 0; s < p->nswitches; s++) {
        size_t n = 0;
        assert_int_equal(f->h->ops->route_read(f->h, p->switches[s].id, buf, cap, &n), 0);
        assert_true(n <= cap);
        ofm_route_plan one = {.e = buf, .n = n, .cap = cap};
        assert_int_equal(ofm_route_plan_merge(&all, &one), 0);
    }
    ofm_reach_matrix *m = malloc(sizeof *m);
    assert_int_equal(ofm_reachability(p, NULL, all.e, all.n, m), 0);
    for (size_t i = 0; i < m->n; i++)
        for (size_t j = 0; j < m->n; j++)
            if (i != j)
                assert_int_equal(m->links[i][j], probe_links(f, m->gpu[i], m->gpu[j]));
    free(m);
    free(buf);
    ofm_route_plan_free(&all);
}

static void bare_metal(const char *platform, uint32_t links)
{
    fx *f = open_sys(platform);
    assert_int_equal(ofm_bringup(f->h, &f->o, &f->st, &f->ctx), 0);
    assert_int_equal(f->st.state, OFM_SYS_READY);
    assert_string_equal(f->st.platform, platform);
    check_mesh(f, links, 0);
    check_walk_matches_probe(f);
    /* Registration as nvidia-smi would show it. */
    for (size_t i = 0; i < model(f)->ngpus; i++) {
        ofm_hal_fabric_info fi;
        assert_int_equal(f->h->ops->fabric_get(f->h, model(f)->gpus[i].phys_id, &fi), 0);
        assert_int_equal(fi.state, OFM_FABRIC_COMPLETED);
        assert_int_equal(fi.status, 0);
    }
    assert_non_null(strstr(g_log, "[INFO] fabric ready on"));
    assert_non_null(strstr(g_log, "in one batch"));
    /* Trained or ALI links all validated, both ends of every trunk included. */
    assert_non_null(strstr(g_log, "validate: 0 error(s), 0 warning(s)"));
    assert_null(strstr(g_log, "[WARNING]"));
    close_sys(f);
}

static void h100(void **s) { (void)s; bare_metal("hgx-h100", 18); }
static void h800(void **s) { (void)s; bare_metal("hgx-h800", 8); }
static void a100(void **s) { (void)s; bare_metal("hgx-a100", 12); }
static void a800(void **s) { (void)s; bare_metal("hgx-a800", 8); }
static void a100_2b(void **s) { (void)s; bare_metal("hgx-a100-2b", 12); }
static void hgx2(void **s) { (void)s; bare_metal("hgx-2", 6); }

/* Shared NVSwitch mode: GPUs registered, but no GPU reaches another. */
static void shared_mode_isolated(void **s)
{
    (void)s;
    fx *f = open_sys("hgx-a100");
    f->o.mode = OFM_FABRIC_MODE_SHARED;
    assert_int_equal(ofm_bringup(f->h, &f->o, &f->st, &f->ctx), 0);
    check_mesh(f, 0, 0);
    size_t n = 0;
    ofm_route_entry e[4];
    assert_int_equal(f->h->ops->route_read(f->h, model(f)->switches[0].id, e, 4, &n), 0);
    assert_int_equal(n, 0);
    close_sys(f);
}

/* A second bring-up (daemon restarted) rewrites nothing and leaves the mesh. */
static void rerun_is_idempotent(void **s)
{
    (void)s;
    fx *f = open_sys("hgx-h100");
    assert_int_equal(ofm_bringup(f->h, &f->o, &f->st, &f->ctx), 0);
    g_log[0] = '\0';
    assert_int_equal(ofm_bringup(f->h, &f->o, &f->st, &f->ctx), 0);
    assert_non_null(strstr(g_log, "entries planned, 0 written"));
    check_mesh(f, 18, 0);
    close_sys(f);
}

/* H100 access link down: that GPU fails registration and loses peer access
 * only; the others keep all 18 links among themselves. */
static void h100_access_link_down(void **s)
{
    (void)s;
    fx *f = open_sys("hgx-h100");
    ofm_platform p;
    ofm_error err;
    assert_int_equal(ofm_platform_load("hgx-h100", NULL, &p, &err), 0);
    const ofm_access_link *a = &p.access[0];
    assert_int_equal(ofm_emu_inject_port_down(f->h, a->sw, a->sw_port), 0);
    assert_int_equal(ofm_bringup(f->h, &f->o, &f->st, &f->ctx), 0);
    char want[128];
    snprintf(want, sizeof want, "switch %u port %u: expected GPU %u link %u", a->sw, a->sw_port,
             a->gpu, a->gpu_link);
    assert_non_null(strstr(g_log, want));
    /* the wait for ALI names the link it gave up on */
    snprintf(want, sizeof want, "ali: 1 link(s) still not active after 50 ms: switch %u port %u;",
             a->sw, a->sw_port);
    if (!strstr(g_log, want))
        fail_msg("expected '%s' in:\n%s", want, g_log);
    check_mesh(f, 18, a->gpu);
    ofm_hal_fabric_info fi;
    assert_int_equal(f->h->ops->fabric_get(f->h, a->gpu, &fi), 0);
    assert_int_equal(fi.state, OFM_FABRIC_COMPLETED);
    assert_true(fi.status != 0);
    close_sys(f);
}

/* Emulated registration failure (FM §2.2): peer access lost for that GPU only. */
static void h100_registration_failure(void **s)
{
    (void)s;
    fx *f = open_sys("hgx-h100");
    assert_int_equal(ofm_emu_inject_fabric_fail(f->h, 3, true), 0);
    assert_int_equal(ofm_bringup(f->h, &f->o, &f->st, &f->ctx), 0);
    assert_non_null(strstr(g_log, "GPU 3"));
    assert_non_null(strstr(g_log, "failed to register"));
    check_mesh(f, 18, 3);
    close_sys(f);
}

/* A backend where the GPU driver runs registration itself (the fabric
 * manager cannot set the state, as on real H100 systems): the emulator still
 * records what the GPU did, but fabric_set answers "not supported". */
static const ofm_hal_ops *g_real_ops;

static int driver_registers(ofm_hal *h, uint32_t gpu, ofm_fabric_state st, int status)
{
    g_real_ops->fabric_set(h, gpu, st, status);
    return OFM_HAL_ENOTSUP;
}

/* A failed H100 registration is a failure - Completed with a failed status,
 * no peer access (probe) - never "Not Supported" (FM §2.2). */
static void h100_driver_managed_registration_failure(void **s)
{
    (void)s;
    fx *f = open_sys("hgx-h100");
    static ofm_hal_ops ops;
    g_real_ops = f->h->ops;
    ops = *f->h->ops;
    ops.fabric_set = driver_registers;
    f->h->ops = &ops;
    /* the GPU's registration fails only when attempted: discovery cannot
     * see it in advance on such a backend */
    assert_int_equal(ofm_emu_inject_fabric_fail(f->h, 3, true), 0);
    f->o.ali_wait_ms = 50;
    assert_int_equal(ofm_bringup(f->h, &f->o, &f->st, &f->ctx), 0);
    int gi = ofm_fabric_gpu_index(model(f), 3);
    assert_true(gi >= 0);
    const ofm_gpu_status *g = &f->st.gpus[gi];
    assert_string_equal(ofm_fabric_state_name(g->fabric_state), "Completed");
    assert_string_not_equal(ofm_fabric_status_text(g->fabric_state, g->fabric_status), "Success");
    assert_string_not_equal(ofm_fabric_status_text(g->fabric_state, g->fabric_status), "N/A");
    assert_false(g->p2p);
    const ofm_gpu_status *g1 = &f->st.gpus[ofm_fabric_gpu_index(model(f), 1)];
    assert_string_equal(ofm_fabric_state_name(g1->fabric_state), "Completed");
    assert_string_equal(ofm_fabric_status_text(g1->fabric_state, g1->fabric_status), "Success");
    assert_non_null(strstr(g_log, "GPU 3"));
    assert_non_null(strstr(g_log, "failed to register"));
    check_mesh(f, 18, 3);
    f->h->ops = g_real_ops;
    close_sys(f);
}

/* H100 missing switch: initialisation aborts, nothing is programmed. */
static void h100_switch_missing_aborts(void **s)
{
    (void)s;
    fx *f = open_sys("hgx-h100");
    uint32_t sw = 0;
    {
        ofm_hal_switch sws[8];
        size_t n = 0;
        assert_int_equal(f->h->ops->list_switches(f->h, sws, 8, &n), 0);
        sw = sws[1].phys_id;
    }
    assert_int_equal(ofm_emu_inject_switch(f->h, sw, OFM_DEV_MISSING), 0);
    assert_int_equal(ofm_bringup(f->h, &f->o, &f->st, &f->ctx), -1);
    assert_int_equal(f->st.state, OFM_SYS_FAILED);
    assert_non_null(strstr(f->st.message, "is missing or failed"));
    assert_non_null(strstr(g_log, "[CRITICAL] fabric bring-up failed"));
    assert_non_null(strstr(g_log, "cudaErrorSystemNotReady"));
    check_mesh(f, 0, 0);
    close_sys(f);
}

/* A100 two boards, trunk down, TRUNK_LINK_FAILURE_MODE=1: the switch and its
 * peer are disabled, every pair still reaches the other over 10 links. */
static void a100_2b_trunk_mode1(void **s)
{
    (void)s;
    fx *f = open_sys("hgx-a100-2b");
    ofm_platform p;
    ofm_error err;
    assert_int_equal(ofm_platform_load("hgx-a100-2b", NULL, &p, &err), 0);
    assert_true(p.ntrunks > 0);
    assert_int_equal(ofm_emu_inject_port_down(f->h, p.trunks[0].sw_a, p.trunks[0].port_a), 0);
    f->o.failure.trunk_link = 1;
    assert_int_equal(ofm_bringup(f->h, &f->o, &f->st, &f->ctx), 0);
    assert_non_null(strstr(g_log, "expected trunk to switch"));
    assert_non_null(strstr(g_log, "5/6"));
    check_mesh(f, 10, 0);
    check_walk_matches_probe(f);
    close_sys(f);
}

/* Same fault with TRUNK_LINK_FAILURE_MODE=0: abort, system uninitialised. */
static void a100_2b_trunk_mode0_aborts(void **s)
{
    (void)s;
    fx *f = open_sys("hgx-a100-2b");
    ofm_platform p;
    ofm_error err;
    assert_int_equal(ofm_platform_load("hgx-a100-2b", NULL, &p, &err), 0);
    assert_int_equal(ofm_emu_inject_port_down(f->h, p.trunks[0].sw_a, p.trunks[0].port_a), 0);
    assert_int_equal(ofm_bringup(f->h, &f->o, &f->st, &f->ctx), -1);
    assert_non_null(strstr(f->st.message, "TRUNK_LINK_FAILURE_MODE=0"));
    check_mesh(f, 0, 0);
    close_sys(f);
}

/* Runtime: an injected fatal SXid is logged with class, scope and recovery. */
/* What failed before the fabric manager started is what bring-up reports
 * (validation, registration); the monitor must not replay it after ready as
 * new runtime errors. Events after the start are the monitor's. */
static void old_events_not_replayed(void **s)
{
    (void)s;
    fx *f = open_sys("hgx-h100");
    ofm_platform p;
    ofm_error err;
    assert_int_equal(ofm_platform_load("hgx-h100", NULL, &p, &err), 0);
    const ofm_access_link *a = &p.access[3];
    assert_int_equal(ofm_emu_inject_port_down(f->h, a->sw, a->sw_port), 0);
    assert_int_equal(ofm_emu_inject_sxid(f->h, a->sw, a->sw_port, 12028, false, "priv"), 0);
    assert_int_equal(ofm_emu_inject_xid(f->h, 2, 79, "fallen off the bus"), 0);
    assert_int_equal(ofm_bringup(f->h, &f->o, &f->st, &f->ctx), 0);
    ofm_monitor m;
    ofm_monitor_init(&m, &f->ctx);
    g_log[0] = '\0';
    assert_int_equal(ofm_monitor_poll(&m, f->h, &f->st), 0);
    if (strstr(g_log, "NVLink down") || strstr(g_log, "12028") || strstr(g_log, "Xid 79"))
        fail_msg("events from before bring-up logged as new:\n%s", g_log);
    assert_int_equal(ofm_emu_inject_xid(f->h, 2, 79, "fallen off the bus"), 0);
    assert_int_equal(ofm_monitor_poll(&m, f->h, &f->st), 1);
    assert_non_null(strstr(g_log, "Xid 79"));
    close_sys(f);
}

static void monitor_after_bringup(void **s)
{
    (void)s;
    fx *f = open_sys("hgx-a100-2b");
    assert_int_equal(ofm_bringup(f->h, &f->o, &f->st, &f->ctx), 0);
    ofm_monitor m;
    ofm_monitor_init(&m, &f->ctx);
    assert_true(ofm_monitor_poll(&m, f->h, &f->st) >= 0);  /* history up to now */
    const ofm_access_link *a = &f->ctx.platform.access[5];
    assert_int_equal(ofm_emu_inject_sxid(f->h, a->sw, a->sw_port, 12002, true, "egress packet route"), 0);
    g_log[0] = '\0';
    assert_int_equal(ofm_monitor_poll(&m, f->h, &f->st), 1);
    char want[400];
    /* NVIDIA FM's words with the switch's PCI address (8-digit domain) and
     * physical ID, then the detail with the GPU's PCI address and the
     * switch's UUID, as the emulator reports them */
    const ofm_switch_status_entry *se = NULL;
    const ofm_gpu_status *ge = NULL;
    for (size_t i = 0; i < f->st.nswitches; i++)
        if (f->st.switches[i].id == a->sw)
            se = &f->st.switches[i];
    for (size_t i = 0; i < f->st.ngpus; i++)
        if (f->st.gpus[i].phys_id == a->gpu)
            ge = &f->st.gpus[i];
    assert_non_null(se);
    assert_non_null(ge);
    assert_true(se->uuid[0] && se->pci_bdf[0] && ge->pci_bdf[0]);
    snprintf(want, sizeof want, "detected NVSwitch fatal error 12002 on fid 0 on NVSwitch pci bus id "
             "0000%s physical id %u port %u: SXid 12002 (Egress packet route), fatal, on NVSwitch "
             "%u port %u, access port (GPU %u link %u, GPU pci bus id 0000%s), affected: GPU %u; "
             "NVSwitch UUID %s. Impact:", se->pci_bdf, a->sw, a->sw_port, a->sw, a->sw_port,
             a->gpu, a->gpu_link, ge->pci_bdf, a->gpu, se->uuid);
    if (!strstr(g_log, want))
        fail_msg("want: %s\nlog: %s", want, g_log);
    assert_int_equal(f->st.state, OFM_SYS_READY);
    const ofm_trunk_link *t = &f->ctx.platform.trunks[0];
    assert_int_equal(ofm_emu_inject_sxid(f->h, t->sw_a, t->port_a, 12002, true, "egress packet route"), 0);
    assert_int_equal(ofm_monitor_poll(&m, f->h, &f->st), 1);
    assert_non_null(strstr(g_log, "trunk port (to switch"));
    assert_int_equal(f->st.state, OFM_SYS_DEGRADED);
    close_sys(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(h100), cmocka_unit_test(h800), cmocka_unit_test(a100),
        cmocka_unit_test(a800), cmocka_unit_test(a100_2b), cmocka_unit_test(hgx2),
        cmocka_unit_test(shared_mode_isolated), cmocka_unit_test(rerun_is_idempotent),
        cmocka_unit_test(h100_access_link_down), cmocka_unit_test(h100_registration_failure),
        cmocka_unit_test(h100_switch_missing_aborts), cmocka_unit_test(a100_2b_trunk_mode1),
        cmocka_unit_test(a100_2b_trunk_mode0_aborts), cmocka_unit_test(monitor_after_bringup),
        cmocka_unit_test(h100_driver_managed_registration_failure),
        cmocka_unit_test(old_events_not_replayed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
