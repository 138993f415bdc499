/* Runtime monitor against a scripted event source: every event is logged with
 * classification, access/trunk scope, affected GPU(s) and recovery text; fatal
 * trunk errors degrade a bare-metal fabric, access-port ones do not. The
 * assertions are on the log lines, what an operator reads. */
#include <regex.h>
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

/* ---- log capture: alerts (lines that must reach syslog too) are marked ---- */
static char g_log[16384];

static void sink(void *ctx, ofm_log_level level, const char *msg)
{
    (void)ctx;
    size_t used = strlen(g_log);
    snprintf(g_log + used, sizeof g_log - used, "%s[%s] %s\n", ofm_log_is_alert() ? "ALERT " : "",
             ofm_log_level_name(level), msg);
}

/* ---- partition query: partition 40 + port uses switch `sw` port `port` ---- */
static uint32_t g_part_sw = ~0u, g_part_port = ~0u;

static size_t fake_on_port(void *arg, uint32_t sw, uint32_t port, uint32_t *ids, size_t cap)
{
    (void)arg;
    if (sw != g_part_sw || port != g_part_port || cap < 2)
        return 0;
    ids[0] = 4;
    ids[1] = 9;
    return 2;
}

static size_t fake_with_gpu(void *arg, uint32_t gpu, uint32_t *ids, size_t cap)
{
    (void)arg;
    if (gpu != 4 || cap < 1)
        return 0;
    ids[0] = 17;
    return 1;
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
    /* identities as bring-up fills them: the monitor prints these */
    f->st.nswitches = f->ctx.platform.nswitches;
    for (size_t i = 0; i < f->st.nswitches; i++) {
        f->st.switches[i].id = f->ctx.platform.switches[i].id;
        snprintf(f->st.switches[i].uuid, sizeof f->st.switches[i].uuid, "SWX-%04zu", i);
        snprintf(f->st.switches[i].pci_bdf, sizeof f->st.switches[i].pci_bdf, "0000:%02zx:00.0",
                 0x80 + i);
    }
    f->st.ngpus = f->ctx.platform.ngpus;
    for (size_t i = 0; i < f->st.ngpus; i++) {
        f->st.gpus[i].phys_id = f->ctx.platform.gpus[i].phys_id;
        snprintf(f->st.gpus[i].uuid, sizeof f->st.gpus[i].uuid, "GPU-%04zu", i);
        snprintf(f->st.gpus[i].pci_bdf, sizeof f->st.gpus[i].pci_bdf, "0000:%02zx:00.0", 0x10 + i);
    }
    g_part_sw = g_part_port = ~0u;
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
    /* NVIDIA FM's words first (what monitoring agents match), then openfm's
     * detail: switch 3 is index 2 (pci 0x82), GPU 3 index 2 (pci 0x12) */
    assert_non_null(strstr(g_log, "ALERT [ERROR] detected NVSwitch fatal error 12002 on fid 0 on "
                                  "NVSwitch pci bus id 00000000:82:00.0 physical id 3 port 5: "
                                  "SXid 12002 (Egress packet route), fatal, on NVSwitch 3 port 5, "
                                  "access port (GPU 3 link 5, GPU pci bus id 00000000:12:00.0), "
                                  "affected: GPU 3; NVSwitch UUID SWX-0002. Impact: "));
    assert_non_null(strstr(g_log, "Recovery: reset the GPU"));
    assert_null(strstr(g_log, "affected partitions")); /* bare metal: no partitions */
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
    assert_non_null(strstr(g_log, "ALERT [ERROR] detected NVSwitch fatal error 19047 on fid 0 on "
                                  "NVSwitch pci bus id 00000000:81:00.0 physical id 2 port 16: "));
    assert_non_null(strstr(g_log, "SXid 19047 (NCISOC header ECC DBE error), fatal, on NVSwitch 2 "
                                  "port 16, trunk port (to switch 8 port 16), affected: GPUs 1, 2,"));
    assert_non_null(strstr(g_log, "Recovery: stop the fabric manager"));
    assert_non_null(strstr(g_log, "ALERT [CRITICAL] fabric degraded"));
    assert_int_equal(f->st.state, OFM_SYS_DEGRADED);
    assert_false(ofm_fabric_status_ready(&f->st));
    assert_true(ofm_fabric_status_error(&f->st, 0)->trunk);
}

static void fatal_trunk_shared_mode_no_degrade(void **state)
{
    fx *f = *state;
    f->ctx.mode = OFM_FABRIC_MODE_SHARED;
    f->mon.parts = (ofm_partition_query){.on_port = fake_on_port, .with_gpu = fake_with_gpu};
    g_part_sw = 2;
    g_part_port = 16;
    push_sxid(19047, true, 2, 16);
    push_sxid(19047, true, 2, 17); /* a trunk no active partition crosses */
    ofm_monitor_poll(&f->mon, &f->hal, &f->st);
    assert_non_null(strstr(g_log, "Recovery: shut down the guest VM partitions that span the trunk"));
    /* only the partitions whose routes use the port are named */
    assert_non_null(strstr(g_log, "port 16, trunk port (to switch 8 port 16), affected: GPUs"));
    assert_non_null(strstr(g_log, "; NVSwitch UUID SWX-0001; affected partitions: 4, 9. Impact:"));
    assert_non_null(strstr(g_log, "; NVSwitch UUID SWX-0001; affected partitions: none (no active "
                                  "partition uses it). Impact:"));
    assert_int_equal(f->st.state, OFM_SYS_READY);
}

static void non_fatal_and_unknown(void **state)
{
    fx *f = *state;
    push_sxid(20001, false, 1, 0);
    push_sxid(29999, true, 1, 35);  /* not in the tables, unused port */
    assert_int_equal(ofm_monitor_poll(&f->mon, &f->hal, &f->st), 2);
    assert_non_null(strstr(g_log, "[WARNING] detected NVSwitch non-fatal error 20001 on fid 0 on NVSwitch pci bus id 00000000:80:00.0 physical id 1 port 0: SXid 20001 (TX replay error), non-fatal, on NVSwitch 1 port 0, access port (GPU 1 link 0"));
    assert_non_null(strstr(g_log, "Recovery: not needed: informational"));
    assert_non_null(strstr(g_log, "ALERT [ERROR] detected NVSwitch fatal error 29999 on fid 0 on NVSwitch pci bus id 00000000:80:00.0 physical id 1 port 35: SXid 29999 (not in the guide's tables), fatal, on NVSwitch 1 port 35, unused port"));
    assert_int_equal(f->st.state, OFM_SYS_READY);
}

static void xid_and_link_events(void **state)
{
    fx *f = *state;
    /* the driver's own text of Xid 79 repeats the meaning: said once */
    g_events[0] = (ofm_hal_event){.seq = 1, .kind = OFM_EVT_XID, .code = 79, .gpu = 4,
                                  .detail = "GPU has fallen off the bus."};
    g_events[1] = (ofm_hal_event){.seq = 2, .kind = OFM_EVT_LINK_DOWN, .sw = 7, .port = 16};
    g_nevents = 2;
    assert_int_equal(ofm_monitor_poll(&f->mon, &f->hal, &f->st), 2);
    assert_non_null(strstr(g_log, "ALERT [ERROR] Xid 79 (GPU has fallen off the bus) on GPU 4, GPU is an exclusion candidate; GPU pci bus id 00000000:13:00.0, UUID GPU-0003. Recovery:"));
    assert_non_null(strstr(g_log, "NVreg_ExcludedGpus"));
    if (!strstr(g_log, "[WARNING] NVLink down: NVSwitch 7 port 16 (trunk link to NVSwitch "))
        fail_msg("trunk link down without its far end:\n%s", g_log);
    assert_int_equal(f->st.state, OFM_SYS_READY);  /* runtime: no HA policy */
}

/* The guide's per-code impact and recovery (FM §13.4, §13.7), never the
 * generic "none needed". */
static void per_code_impact_and_recovery(void **state)
{
    fx *f = *state;
    push_sxid(11004, false, 3, 5);
    push_sxid(12028, false, 3, 5);
    push_sxid(19084, false, 3, 5);
    push_sxid(20012, false, 3, 5);
    assert_int_equal(ofm_monitor_poll(&f->mon, &f->hal, &f->st), 4);
    assert_null(strstr(g_log, "none needed"));
    assert_null(strstr(g_log, "ALERT")); /* non-fatal: not pushed to syslog */
    char *l = strstr(g_log, "detected NVSwitch non-fatal error 11004 on fid 0 ");
    assert_non_null(l);
    char *e = strchr(l, '\n');
    *e = '\0';
    assert_non_null(strstr(l, "Impact: NVLink traffic of the GPU is blocked"));
    assert_non_null(strstr(l, "aborted with Xid 45"));
    assert_non_null(strstr(l, "partition misconfiguration"));
    *e = '\n';
    assert_non_null(strstr(g_log, "detected NVSwitch non-fatal error 12028 on fid 0 "));
    l = strstr(g_log, "error 12028");
    assert_non_null(strstr(l, "aborted with Xid 45. Recovery: restart the guest VM"));
    l = strstr(g_log, "error 19084");
    assert_non_null(strstr(l, "Recovery: reset all GPUs and all NVSwitches"));
    l = strstr(g_log, "error 20012");
    assert_non_null(strstr(l, "Recovery: if it was not caused by an uncoordinated shutdown, check the "
                              "link's mechanical connection"));
    assert_int_equal(f->st.state, OFM_SYS_READY);
}

/* 10003 is fatal to the fabric (FM §13.7): logged as a fatal error, an
 * alert, and the fabric state follows in every mode. */
static void host_error_10003_is_fabric_fatal(void **state)
{
    fx *f = *state;
    f->ctx.mode = OFM_FABRIC_MODE_SHARED;
    push_sxid(10003, false, 3, 5);
    assert_int_equal(ofm_monitor_poll(&f->mon, &f->hal, &f->st), 1);
    assert_non_null(strstr(g_log, "ALERT [CRITICAL] detected NVSwitch fatal error 10003 on fid 0 "));
    assert_non_null(strstr(g_log, "Impact: fatal to the fabric/system. Recovery: reset all GPUs and "
                                  "all NVSwitches"));
    assert_int_equal(f->st.state, OFM_SYS_DEGRADED);
    assert_non_null(strstr(f->st.message, "SXid 10003"));
    /* an always-fatal one in shared mode too */
    f->st.state = OFM_SYS_READY;
    push_sxid(23001, true, 3, 5);
    ofm_monitor_poll(&f->mon, &f->hal, &f->st);
    assert_int_equal(f->st.state, OFM_SYS_DEGRADED);
}

/* The exact shapes monitoring agents are written against. */
static void nvidia_wording_for_agents(void **state)
{
    fx *f = *state;
    push_sxid(12028, false, 3, 5);
    push_sxid(20034, true, 3, 5);
    ofm_monitor_poll(&f->mon, &f->hal, &f->st);
    regex_t re;
    assert_int_equal(regcomp(&re, "detected NVSwitch non-fatal error ([0-9]+) on fid 0 on NVSwitch pci "
                                  "bus id [0-9a-f]{8}:[0-9a-f]{2}:[0-9a-f]{2}\\.[0-9] physical id "
                                  "[0-9]+ port [0-9]+", REG_EXTENDED), 0);
    assert_int_equal(regexec(&re, g_log, 0, NULL, 0), 0);
    regfree(&re);
    assert_int_equal(regcomp(&re, "detected NVSwitch fatal error ([0-9]+) on fid 0 on NVSwitch pci "
                                  "bus id [0-9a-f]{8}:[0-9a-f]{2}:[0-9a-f]{2}\\.[0-9] physical id "
                                  "[0-9]+ port [0-9]+", REG_EXTENDED), 0);
    assert_int_equal(regexec(&re, g_log, 0, NULL, 0), 0);
    regfree(&re);
}

static void xid_names_partitions_in_shared_mode(void **state)
{
    fx *f = *state;
    f->ctx.mode = OFM_FABRIC_MODE_SHARED;
    f->mon.parts = (ofm_partition_query){.on_port = fake_on_port, .with_gpu = fake_with_gpu};
    g_events[0] = (ofm_hal_event){.seq = 1, .kind = OFM_EVT_XID, .code = 45, .gpu = 4};
    g_events[1] = (ofm_hal_event){.seq = 2, .kind = OFM_EVT_XID, .code = 63, .gpu = 5};
    g_nevents = 2;
    ofm_monitor_poll(&f->mon, &f->hal, &f->st);
    assert_non_null(strstr(g_log, "ALERT [ERROR] Xid 45 (preemptive cleanup: CUDA job aborted after a "
                                  "previous error) on GPU 4; GPU pci bus id 00000000:13:00.0, UUID "
                                  "GPU-0003; affected partitions: 17. Recovery:"));
    /* a recorded page retirement is no alert */
    assert_non_null(strstr(g_log, "\n[WARNING] Xid 63 "));
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
        cmocka_unit_test_setup_teardown(per_code_impact_and_recovery, setup, teardown),
        cmocka_unit_test_setup_teardown(host_error_10003_is_fabric_fatal, setup, teardown),
        cmocka_unit_test_setup_teardown(nvidia_wording_for_agents, setup, teardown),
        cmocka_unit_test_setup_teardown(xid_names_partitions_in_shared_mode, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
