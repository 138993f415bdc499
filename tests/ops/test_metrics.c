/* /metrics and /healthz against the real daemon, scraped with a real HTTP
 * client and parsed by Prometheus' own text-format parser (scrape.py under
 * /usr/bin/python3): the DCGM-named and openfm series agree with the
 * emulator's probe after a link failure, SXids are counted per switch,
 * /healthz answers 200 only while READY, and API calls are counted. */
#include "ops_views.h"
#include "ops_daemon.h"

static int healthz(json_object *o) { return json_object_get_int(json_object_object_get(o, "healthz")); }

static void test_metrics_follow_the_fabric(void **state)
{
    (void)state;
    assert_int_equal(dh_init(&d, "hgx-a100"), 0);
    assert_int_equal(dh_write_config(&d, "OPENFM_METRICS_LISTEN=127.0.0.1:0\n"), 0);
    assert_int_equal(dh_start(&d, NULL, 20000, NULL), 0);
    unsigned port = ops_metrics_port(&d);
    ofm_hal *h = ops_open(&d);
    const ofm_platform *p = ofm_hal_platform(h);
    const ofm_access_link *a = &p->access[0];
    char gpu[16], sw[16];
    snprintf(gpu, sizeof gpu, "%u", a->gpu);
    snprintf(sw, sizeof sw, "%u", a->sw);
    uint32_t other = p->gpus[0].phys_id == a->gpu ? p->gpus[1].phys_id : p->gpus[0].phys_id;

    json_object *o = ops_scrape(port);
    assert_int_equal(healthz(o), 200);
    assert_non_null(strstr(json_object_get_string(json_object_object_get(o, "content_type")),
                           "text/plain; version=0.0.4"));
    /* types as the parser understood them */
    json_object *fam = json_object_object_get(o, "families");
    assert_string_equal(json_object_get_string(json_object_object_get(fam, "openfm_api_request_duration_seconds")),
                        "histogram");
    assert_string_equal(json_object_get_string(json_object_object_get(fam, "DCGM_FI_DEV_NVSWITCH_FATAL_ERRORS")),
                        "counter");
    assert_string_equal(json_object_get_string(json_object_object_get(fam, "openfm_api_requests")),
                        "counter");
    assert_true(ops_sample(o, "openfm_fabric_manager_ready", NULL, NULL) == 1);
    assert_true(ops_sample(o, "openfm_fabric_manager_state", "state", "READY") == 1);
    assert_true(ops_sample(o, "DCGM_FI_DEV_FABRIC_MANAGER_STATUS", "physical_id", gpu) == 3);
    assert_true(ops_sample(o, "openfm_gpu_nvlinks_usable", "physical_id", gpu) == 12);
    assert_true(ops_sample(o, "openfm_partitions_supported", NULL, NULL) == 0);
    assert_true(ops_sample(o, "openfm_bringup_duration_seconds", NULL, NULL) > 0);
    /* the status call fmctl makes is counted and timed */
    assert_true(ops_sample(o, "openfm_api_requests_total", "call", "status") == 0);
    json_object_put(o);
    assert_int_equal(ops_fmctl("status --socket %s", d.sock), 0);

    /* a link failure: usable links follow, and agree with the probe */
    assert_int_equal(ops_fmctl("emu inject link-down --switch %u --port %u --emu-dir %s", a->sw,
                               a->sw_port, d.emu), 0);
    uint64_t t0 = ops_now_ms();
    for (;;) {
        o = ops_scrape(port);
        if (ops_sample(o, "openfm_gpu_nvlinks_usable", "physical_id", gpu) == 11)
            break;
        json_object_put(o);
        if (ops_now_ms() - t0 > 20000)
            fail_msg("metrics did not show the link failure within 20 s");
    }
    ofm_emu_probe_result r;
    assert_int_equal(ofm_emu_probe(h, a->gpu, other, true, &r), 0);
    assert_int_equal(r.links, 11);
    assert_true(ops_sample(o, "openfm_nvswitch_nvlinks_active", "nvswitch", sw) ==
                ops_sample(o, "openfm_nvswitch_nvlinks_expected", "nvswitch", sw) - 1);
    assert_true(ops_sample(o, "openfm_api_requests_total", "call", "status") == 1);
    assert_true(ops_sample(o, "openfm_api_request_duration_seconds_count", "call", "status") == 1);
    json_object_put(o);

    /* NVLink error counters of a switch port (another access link of the
     * same GPU): served per port under DCGM's per-link NVSwitch names and
     * summed per GPU, from the daemon's cache (re-read about every second,
     * not during the scrape), agreeing with what the hardware reports */
    const ofm_access_link *b = &p->access[1];
    assert_int_equal(b->gpu, a->gpu);
    assert_int_equal(ops_fmctl("emu inject link-errors --switch %u --port %u --crc-flit 5 --crc-data 2 "
                               "--replay 7 --recovery 1 --emu-dir %s", b->sw, b->sw_port, d.emu), 0);
    char bsw[16], bport[16];
    snprintf(bsw, sizeof bsw, "%u", b->sw);
    snprintf(bport, sizeof bport, "%u", b->sw_port);
    t0 = ops_now_ms();
    for (;;) {
        o = ops_scrape(port);
        if (ops_sample2(o, "DCGM_FI_DEV_NVSWITCH_LINK_REPLAY_ERRORS_total", "nvswitch", bsw, "nvlink",
                        bport) == 7)
            break;
        json_object_put(o);
        if (ops_now_ms() - t0 > 20000)
            fail_msg("metrics did not show the link's replay errors within 20 s");
    }
    ofm_hal_link_errors he;
    assert_int_equal(h->ops->link_errors(h, b->sw, b->sw_port, &he), 0);
    assert_true(ops_sample2(o, "DCGM_FI_DEV_NVSWITCH_LINK_FLIT_ERRORS_total", "nvswitch", bsw, "nvlink",
                            bport) == he.crc_flit);
    assert_true(ops_sample2(o, "DCGM_FI_DEV_NVSWITCH_LINK_CRC_ERRORS_total", "nvswitch", bsw, "nvlink",
                            bport) == he.crc_data);
    assert_true(ops_sample2(o, "DCGM_FI_DEV_NVSWITCH_LINK_RECOVERY_ERRORS_total", "nvswitch", bsw, "nvlink",
                            bport) == he.recovery);
    assert_true(he.crc_flit == 5 && he.crc_data == 2 && he.recovery == 1);
    snprintf(bport, sizeof bport, "%u", a->sw_port);
    snprintf(bsw, sizeof bsw, "%u", a->sw);
    assert_true(ops_sample2(o, "DCGM_FI_DEV_NVSWITCH_LINK_REPLAY_ERRORS_total", "nvswitch", bsw, "nvlink",
                            bport) == 0);
    assert_true(ops_sample(o, "DCGM_FI_DEV_NVLINK_REPLAY_ERROR_COUNT_TOTAL_total", "physical_id", gpu) == 7);
    assert_true(ops_sample(o, "DCGM_FI_DEV_NVLINK_CRC_FLIT_ERROR_COUNT_TOTAL_total", "physical_id", gpu) == 5);
    assert_true(ops_gpu_sample(o, "DCGM_FI_DEV_NVLINK_REPLAY_ERROR_COUNT_TOTAL_total", other) == 0);
    json_object_put(o);

    /* a non-fatal then an always-fatal SXid: counted on that switch; the
     * fatal one degrades the fabric and /healthz stops answering 200 */
    assert_int_equal(ops_fmctl("emu inject sxid --switch %u --port %u --code 11012 --non-fatal "
                               "--emu-dir %s", a->sw, a->sw_port + 1, d.emu), 0);
    assert_int_equal(ops_fmctl("emu inject sxid --switch %u --port %u --code 12020 --emu-dir %s",
                               a->sw, a->sw_port + 1, d.emu), 0);
    t0 = ops_now_ms();
    for (;;) {
        o = ops_scrape(port);
        if (ops_sample(o, "DCGM_FI_DEV_NVSWITCH_FATAL_ERRORS_total", "nvswitch", sw) == 1 &&
            ops_sample(o, "DCGM_FI_DEV_NVSWITCH_NON_FATAL_ERRORS_total", "nvswitch", sw) == 1)
            break;
        json_object_put(o);
        if (ops_now_ms() - t0 > 20000)
            fail_msg("metrics did not count the SXids within 20 s");
    }
    assert_int_equal(healthz(o), 503);
    assert_true(ops_sample(o, "openfm_fabric_manager_state", "state", "DEGRADED") == 1);
    assert_true(ops_sample(o, "openfm_fabric_manager_ready", NULL, NULL) == 0);
    /* per port, under DCGM's per-link names: both on the port they hit */
    char sxport[16];
    snprintf(sxport, sizeof sxport, "%u", a->sw_port + 1);
    assert_true(ops_sample2(o, "DCGM_FI_DEV_NVSWITCH_LINK_FATAL_ERRORS_total", "nvswitch", sw, "nvlink",
                            sxport) == 1);
    assert_true(ops_sample2(o, "DCGM_FI_DEV_NVSWITCH_LINK_NON_FATAL_ERRORS_total", "nvswitch", sw,
                            "nvlink", sxport) == 1);
    snprintf(sxport, sizeof sxport, "%u", a->sw_port);
    assert_true(ops_sample2(o, "DCGM_FI_DEV_NVSWITCH_LINK_FATAL_ERRORS_total", "nvswitch", sw, "nvlink",
                            sxport) == 0);
    json_object_put(o);

    /* anything else is 404, not a crash */
    char cmd[512];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 -c \"import urllib.request as u, urllib.error as e\n"
             "try: u.urlopen('http://127.0.0.1:%u/nope')\nexcept e.HTTPError as x: print(x.code)\"", port);
    assert_int_equal(dh_run(cmd, ops_out, sizeof ops_out), 0);
    assert_non_null(strstr(ops_out, "404"));
    ofm_hal_close(h);
    assert_int_equal(dh_stop(&d, 0), 0);
    dh_cleanup(&d);
    memset(&d, 0, sizeof d);
}

static void test_metrics_config(void **state)
{
    (void)state;
    /* off: nothing listens, the log says so */
    assert_int_equal(dh_init(&d, "hgx-h100"), 0);
    assert_int_equal(dh_write_config(&d, "OPENFM_METRICS_LISTEN=\n"), 0);
    assert_int_equal(dh_start(&d, NULL, 20000, NULL), 0);
    char *log = dh_read_log(&d);
    assert_non_null(strstr(log, "metrics endpoint off"));
    free(log);
    assert_int_equal(dh_stop(&d, 0), 0);
    dh_cleanup(&d);
    memset(&d, 0, sizeof d);
    /* malformed: refused, naming the key and the value */
    assert_int_equal(dh_init(&d, "hgx-h100"), 0);
    assert_int_equal(dh_write_config(&d, "OPENFM_METRICS_LISTEN=localhost:99999\n"), 0);
    int st = 0;
    assert_int_not_equal(dh_start(&d, NULL, 20000, &st), 0);
    log = dh_read_log(&d);
    if (!log || !strstr(log, "OPENFM_METRICS_LISTEN=localhost:99999: 'localhost' is not an IPv4 address"))
        fail_msg("no clear refusal:\n%s", log ? log : "(no log)");
    free(log);
    dh_stop(&d, 0);
    dh_cleanup(&d);
    memset(&d, 0, sizeof d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_metrics_follow_the_fabric, ops_teardown),
        cmocka_unit_test_teardown(test_metrics_config, ops_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
