/* Runtime monitor against a scripted event source: every event is logged with
 * classification, access/trunk scope, affected GPU(s) and recovery text; fatal
 * trunk errors degrade a bare-metal fabric, access-port ones do not. The
 * assertions are on the log lines, what an operator reads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../fabric/synth.h"
#include "manager/manager.h"
#include "openfm/log.h"

/* ---- scripted HAL: only read_events is used by the monitor ---- */
static ofm_hal_event g_events[8];
static size_t g_nevents;

static int fake_read_events(ofm_hal *h, uint64_t *cursor, ofm_hal_event *out, size_t cap, size_t *n)
{
    (void)h;
    *n = 0;
    for (size_t i = 0; i < g_nevents && *n < cap; i++)
        if (g_events[i].seq > *cursor) {
            out[(*n)++] = g_events[i];
            *cursor = g_events[i].seq;
        }
    return OFM_HAL_OK;
}

static const ofm_hal_ops FAKE_OPS = {.name = "scripted", .read_events = fake_read_events};

/* ---- log capture ---- */
static char g_log[8192];

static void sink(void *ctx, ofm_log_level level, const char *msg)
{
    (void)ctx;
    size_t used = strlen(g_log);
    snprintf(g_log + used, sizeof g_log - used, "[%s] %s\n", ofm_log_level_name(level), msg);
}

typedef struct {
    ofm_fabric_ctx ctx;
    ofm_fabric_status st;
    ofm_monitor mon;
    ofm_hal hal;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    synth_build(&SYNTH_A100_2B, &f->ctx.platform);
    ofm_fabric_health_all_ok(&f->ctx.platform, &f->ctx.observed);
    ofm_failure_modes modes = {0, 0, 0};
    ofm_policy_decide(&f->ctx.platform, &f->ctx.observed, &modes, OFM_FABRIC_MODE_BARE_METAL,
                      &f->ctx.decision);
    f->ctx.mode = OFM_FABRIC_MODE_BARE_METAL;
    ofm_fabric_status_init(&f->st);
    f->st.state = OFM_SYS_READY;
    f->hal.ops = &FAKE_OPS;
    ofm_monitor_init(&f->mon, &f->ctx);
    g_log[0] = '\0';
    g_nevents = 0;
    ofm_log_set_sink(sink, NULL);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    ofm_log_set_sink(NULL, NULL);
    free(*state);
    return 0;
}

static void push_sxid(uint32_t code, bool fatal, uint32_t sw, uint32_t port)
{
    g_events[g_nevents] = (ofm_hal_event){.prov = OFM_PROV_EMULATED, .seq = g_nevents + 1,
                                          .kind = OFM_EVT_SXID, .code = code, .fatal = fatal,
                                          .sw = sw, .port = port};
    g_nevents++;
}

static void fatal_access_port(void **state)
{
    fx *f = *state;
    push_sxid(12002, true, 3, 5);  /* switch 3 port 5: GPU 3 link 5 */
    assert_int_equal(ofm_monitor_poll(&f->mon, &f->hal, &f->st), 1);
    assert_non_null(strstr(g_log, "[ERROR] SXid 12002 (Egress packet route), fatal, on NVSwitch 3 "
                                  "port 5, access port (GPU 3 link 5), affected: GPU 3. Recovery: "
                                  "reset the GPU"));
    assert_int_equal(f->st.state, OFM_SYS_READY);
    assert_int_equal(ofm_fabric_status_error_count(&f->st), 1);
    const ofm_fabric_error *e = ofm_fabric_status_error(&f->st, 0);
    assert_int_equal(e->cls, OFM_SXID_FATAL);
    assert_false(e->trunk);
    assert_int_equal(e->gpu, 3);
    /* Nothing new: nothing logged again. */
    g_log[0] = '\0';
    assert_int_equal(ofm_monitor_poll(&f->mon, &f->hal, &f->st), 0);
    assert_string_equal(g_log, "");
}

static void fatal_trunk_port_degrades(void **state)
{
    fx *f = *state;
    push_sxid(19047, true, 2, 16);  /* switch 2 port 16: trunk to switch 8 port 16 */
    assert_int_equal(ofm_monitor_poll(&f->mon, &f->hal, &f->st), 1);
    assert_non_null(strstr(g_log, "SXid 19047 (NCISOC header ECC DBE error), fatal, on NVSwitch 2 "
                                  "port 16, trunk port (to switch 8 port 16), affected: GPUs 1, 2,"));
    assert_non_null(strstr(g_log, "Recovery: stop the fabric manager"));
    assert_non_null(strstr(g_log, "[CRITICAL] fabric degraded"));
    assert_int_equal(f->st.state, OFM_SYS_DEGRADED);
    assert_false(ofm_fabric_status_ready(&f->st));
    assert_true(ofm_fabric_status_error(&f->st, 0)->trunk);
}

static void fatal_trunk_shared_mode_no_degrade(void **state)
{
    fx *f = *state;
    f->ctx.mode = OFM_FABRIC_MODE_SHARED;
    push_sxid(19047, true, 2, 16);
    ofm_monitor_poll(&f->mon, &f->hal, &f->st);
    assert_non_null(strstr(g_log, "Recovery: shut down the guest VM partitions that span the trunk"));
    assert_int_equal(f->st.state, OFM_SYS_READY);
}

static void non_fatal_and_unknown(void **state)
{
    fx *f = *state;
    push_sxid(20001, false, 1, 0);
    push_sxid(29999, true, 1, 35);  /* not in the tables, unused port */
    assert_int_equal(ofm_monitor_poll(&f->mon, &f->hal, &f->st), 2);
    assert_non_null(strstr(g_log, "[WARNING] SXid 20001 (TX replay error), non-fatal, on NVSwitch 1 port 0, access port (GPU 1 link 0)"));
    assert_non_null(strstr(g_log, "Recovery: none needed"));
    assert_non_null(strstr(g_log, "[ERROR] SXid 29999 (not in the guide's tables), fatal, on NVSwitch 1 port 35, unused port"));
    assert_int_equal(f->st.state, OFM_SYS_READY);
}

static void xid_and_link_events(void **state)
{
    fx *f = *state;
    g_events[0] = (ofm_hal_event){.seq = 1, .kind = OFM_EVT_XID, .code = 79, .gpu = 4};
    g_events[1] = (ofm_hal_event){.seq = 2, .kind = OFM_EVT_LINK_DOWN, .sw = 7, .port = 16};
    g_nevents = 2;
    assert_int_equal(ofm_monitor_poll(&f->mon, &f->hal, &f->st), 2);
    assert_non_null(strstr(g_log, "[ERROR] Xid 79 (GPU has fallen off the bus) on GPU 4, GPU is an exclusion candidate. Recovery:"));
    assert_non_null(strstr(g_log, "NVreg_ExcludedGpus"));
    assert_non_null(strstr(g_log, "[WARNING] NVLink down: NVSwitch 7 port 16 (trunk link)"));
    assert_int_equal(f->st.state, OFM_SYS_READY);  /* runtime: no HA policy */
}

static void error_ring_keeps_last(void **state)
{
    fx *f = *state;
    for (int round = 0; round < 10; round++) {
        g_nevents = 0;
        for (int i = 0; i < 5; i++) {
            push_sxid(20001, false, 1, 0);
            g_events[g_nevents - 1].seq = (uint64_t)(round * 5 + i + 1);
        }
        ofm_monitor_poll(&f->mon, &f->hal, &f->st);
    }
    assert_int_equal(f->st.errors_total, 50);
    assert_int_equal(ofm_fabric_status_error_count(&f->st), OFM_STATUS_MAX_ERRORS);
    assert_int_equal(ofm_fabric_status_error(&f->st, 0)->seq, 50 - OFM_STATUS_MAX_ERRORS + 1);
    assert_int_equal(ofm_fabric_status_error(&f->st, OFM_STATUS_MAX_ERRORS - 1)->seq, 50);
    assert_null(ofm_fabric_status_error(&f->st, OFM_STATUS_MAX_ERRORS));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(fatal_access_port, setup, teardown),
        cmocka_unit_test_setup_teardown(fatal_trunk_port_degrades, setup, teardown),
        cmocka_unit_test_setup_teardown(fatal_trunk_shared_mode_no_degrade, setup, teardown),
        cmocka_unit_test_setup_teardown(non_fatal_and_unknown, setup, teardown),
        cmocka_unit_test_setup_teardown(xid_and_link_events, setup, teardown),
        cmocka_unit_test_setup_teardown(error_ring_keeps_last, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
