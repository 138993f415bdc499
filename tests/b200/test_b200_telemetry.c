/* HGX B200's error model on the emulator: fourth-generation NVSwitches report
 * no SXids. An injected switch error and a probe dropped on a switch raise
 * the switch's telemetry counters (per port and per chip), and what the
 * operator's tools show follows them: `fmctl nvlink errors|counters`, the
 * daemon's event stream (`fmctl events`), and /metrics (DCGM's per-link
 * NVSwitch error names, parsed by Prometheus' own parser). No SXid appears in
 * the kernel log or the daemon's log, injecting one is refused, and
 * excluding such a switch by kernel parameter is refused with the reason. */
#include <json-c/json.h>
#include <unistd.h>

#include "../ops/ops_fixture.h"

static unsigned metrics_port(const dh_daemon *d)
{
    char *log = dh_read_log(d);
    assert_non_null(log);
    const char *at = strstr(log, "metrics: serving http://127.0.0.1:");
    if (!at)
        fail_msg("the log does not say where metrics are served:\n%s", log);
    unsigned port = (unsigned)strtoul(at + strlen("metrics: serving http://127.0.0.1:"), NULL, 10);
    free(log);
    return port;
}

/* The value of sample `name` with labels nvswitch=sw (and nvlink=port unless
 * port < 0) in a Prometheus scrape, or -1 when absent. */
static double scrape_sample(unsigned port, const char *name, uint32_t sw, long nvlink)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/tests/ops/scrape.py http://127.0.0.1:%u",
             getenv("OPENFM_SOURCE_DIR") ? getenv("OPENFM_SOURCE_DIR") : ".", port);
    if (dh_run(cmd, ops_out, sizeof ops_out) != 0)
        fail_msg("scrape failed:\n%s", ops_out);
    json_object *o = json_tokener_parse(ops_out);
    assert_non_null(o);
    json_object *s = json_object_object_get(o, "samples");
    char swv[16], lkv[16];
    snprintf(swv, sizeof swv, "%u", sw);
    snprintf(lkv, sizeof lkv, "%ld", nvlink);
    double v = -1;
    for (size_t i = 0; i < json_object_array_length(s) && v < 0; i++) {
        json_object *x = json_object_array_get_idx(s, i), *l;
        if (strcmp(json_object_get_string(json_object_array_get_idx(x, 0)), name))
            continue;
        json_object *labels = json_object_array_get_idx(x, 1);
        if (!json_object_object_get_ex(labels, "nvswitch", &l) || strcmp(json_object_get_string(l), swv))
            continue;
        if (nvlink >= 0 &&
            (!json_object_object_get_ex(labels, "nvlink", &l) || strcmp(json_object_get_string(l), lkv)))
            continue;
        v = json_object_get_double(json_object_array_get_idx(x, 2));
    }
    json_object_put(o);
    return v;
}

static void wait_metric(unsigned port, const char *name, uint32_t sw, long nvlink, double want)
{
    uint64_t t0 = ops_now_ms();
    double v;
    while ((v = scrape_sample(port, name, sw, nvlink)) != want)
        if (ops_now_ms() - t0 > 10000)
            fail_msg("%s{nvswitch=%u,nvlink=%ld} is %g, want %g", name, sw, nvlink, v, want);
}

/* The model's index of GPU `phys` (nvidia-smi's -i). */
static size_t gpu_index(const ofm_platform *p, uint32_t phys)
{
    for (size_t i = 0; i < p->ngpus; i++)
        if (p->gpus[i].phys_id == phys)
            return i;
    fail_msg("no GPU %u", phys);
    return 0;
}

static void need(const char *text, const char *what, const char *where)
{
    if (!strstr(text, what))
        fail_msg("%s lacks '%s':\n%s", where, what, text);
}

static void test_b200_errors_are_telemetry(void **state)
{
    (void)state;
    dh_daemon d;
    assert_int_equal(dh_init(&d, "hgx-b200"), 0);
    assert_int_equal(dh_write_config(&d, "FABRIC_MODE=1\nOPENFM_METRICS_LISTEN=127.0.0.1:0\n"), 0);
    int st = 0;
    if (dh_start(&d, NULL, 20000, &st))
        fail_msg("openfm did not become ready on hgx-b200 (exit %d)", st);
    unsigned mport = metrics_port(&d);
    ofm_hal *h = ops_open(&d);
    const ofm_platform *p = ofm_hal_platform(h);
    /* an access port of NVSwitch 1 above 63 (72-port chips): GPU g link l */
    const ofm_access_link *a = NULL;
    for (size_t i = 0; i < p->naccess && !a; i++)
        if (p->access[i].sw == 1 && p->access[i].sw_port >= 64)
            a = &p->access[i];
    assert_non_null(a);

    /* an SXid cannot be raised on such a switch */
    assert_int_equal(ops_fmctl("emu inject sxid --switch 1 --port %u --code 11004 --emu-dir %s",
                               a->sw_port, d.emu), 1);
    need(ops_out, "reports no SXids", "fmctl emu inject sxid");

    /* a fatal port error (twice) and a non-fatal error of the chip itself */
    assert_int_equal(ops_fmctl("emu inject switch-error --switch 1 --port %u --fatal --count 2 "
                               "--emu-dir %s", a->sw_port, d.emu), 0);
    assert_int_equal(ops_fmctl("emu inject switch-error --switch 1 --emu-dir %s", d.emu), 0);
    size_t idx = gpu_index(p, a->gpu);
    assert_int_equal(ops_fmctl("nvlink errors -i %zu --emu-dir %s", idx, d.emu), 0);
    char want[160];
    snprintf(want, sizeof want, "Link %u: NVSwitch Port Fatal Errors: 2\n", a->gpu_link);
    need(ops_out, want, "fmctl nvlink errors");
    need(ops_out, "NVSwitch 1 (telemetry, no SXids): Fatal Errors: 2, Non-Fatal Errors: 1",
         "fmctl nvlink errors");
    need(ops_out, "NVSwitch 2 (telemetry, no SXids): Fatal Errors: 0, Non-Fatal Errors: 0",
         "fmctl nvlink errors");
    assert_int_equal(ops_fmctl("nvlink counters -i %zu --emu-dir %s", idx, d.emu), 0);
    need(ops_out, "NVSwitch Port Fatal Errors: 2, NVSwitch Port Non-Fatal Errors: 0",
         "fmctl nvlink counters");

    /* /metrics: the port's and the chip's counts, DCGM's names */
    wait_metric(mport, "DCGM_FI_DEV_NVSWITCH_LINK_FATAL_ERRORS_total", 1, a->sw_port, 2);
    wait_metric(mport, "DCGM_FI_DEV_NVSWITCH_FATAL_ERRORS_total", 1, -1, 2);
    wait_metric(mport, "DCGM_FI_DEV_NVSWITCH_NON_FATAL_ERRORS_total", 1, -1, 1);
    assert_true(scrape_sample(mport, "DCGM_FI_DEV_NVSWITCH_LINK_NON_FATAL_ERRORS_total", 1,
                              a->sw_port) == 0);

    /* traffic with no route (shared NVSwitch mode, no partition active) is
     * dropped at the ingress port: a non-fatal port error, not SXid 11004 */
    ofm_emu_probe_result r;
    uint32_t src = p->gpus[0].phys_id, dst = p->gpus[1].phys_id;
    assert_int_equal(ofm_emu_probe(h, src, dst, false, &r), 0);
    assert_false(r.arrives);
    assert_true(r.drop_counted);
    assert_false(r.drop_fatal);
    assert_int_equal(r.drop_sxid, 0);
    ofm_hal_switch_telemetry t;
    assert_int_equal(h->ops->switch_telemetry(h, r.drop_sw, &t), 0);
    assert_true(t.port[r.drop_port].nonfatal == 1);
    wait_metric(mport, "DCGM_FI_DEV_NVSWITCH_LINK_NON_FATAL_ERRORS_total", r.drop_sw, r.drop_port, 1);
    assert_int_equal(ops_fmctl("emu probe %u %u --quiet --emu-dir %s", src, dst, d.emu), 1);
    need(ops_out, "non-fatal port error in the switch's telemetry, no SXid", "fmctl emu probe");
    dh_stop(&d, 0);

    /* nowhere an SXid: not in the kernel log, not in the daemon's log */
    assert_int_equal(ops_fmctl("emu log --emu-dir %s", d.emu), 0);
    need(ops_out, "Xid (PCI:", "the emulated kernel log"); /* the GPU's Xid 45 is there */
    if (strstr(ops_out, "SXid"))
        fail_msg("the kernel log has an SXid line:\n%s", ops_out);
    char *log = dh_read_log(&d);
    assert_non_null(log);
    need(log, "NVSwitch 1 port", "the daemon log");
    need(log, "fatal error count +2 in the switch's telemetry", "the daemon log");
    need(log, "NVSwitch 1 (chip): non-fatal error count +1", "the daemon log");
    need(log, "non-fatal error count +1 in the switch's telemetry (packet dropped: no valid route)",
         "the daemon log");
    assert_null(strstr(log, "detected NVSwitch"));
    free(log);
    ofm_hal_close(h);
    dh_cleanup(&d);
}

/* The events stream carries the counter rises with the switch, port and
 * GPU, and no SXid event. */
static void test_b200_events(void **state)
{
    (void)state;
    dh_daemon d;
    assert_int_equal(dh_init(&d, "hgx-b200"), 0);
    assert_int_equal(dh_write_config(&d, "OPENFM_METRICS_LISTEN=\n"), 0);
    int st = 0;
    if (dh_start(&d, NULL, 20000, &st))
        fail_msg("openfm did not become ready (exit %d)", st);
    ofm_hal *h = ops_open(&d);
    const ofm_platform *p = ofm_hal_platform(h);
    const ofm_access_link *a = &p->access[5];
    assert_int_equal(ops_fmctl("emu inject switch-error --switch %u --port %u --emu-dir %s", a->sw,
                               a->sw_port, d.emu), 0);
    char want[200];
    snprintf(want, sizeof want, "NVSwitch %u port %u: non-fatal error count +1 in the switch's "
                                "telemetry", a->sw, a->sw_port);
    uint64_t t0 = ops_now_ms();
    for (;;) {
        assert_int_equal(ops_fmctl("events --json --socket %s", d.sock), 0);
        if (strstr(ops_out, "\"NVSwitchError\"") && strstr(ops_out, want))
            break;
        if (ops_now_ms() - t0 > 10000)
            fail_msg("no NVSwitchError event '%s' within 10 s:\n%s", want, ops_out);
    }
    /* one JSON object per line */
    bool seen = false;
    for (char *save = NULL, *line = strtok_r(ops_out, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        json_object *e = json_tokener_parse(line), *v;
        if (!e)
            fail_msg("not JSON: %s", line);
        assert_true(json_object_object_get_ex(e, "type", &v));
        assert_string_not_equal(json_object_get_string(v), "SXid");
        if (!strcmp(json_object_get_string(v), "NVSwitchError")) {
            seen = true;
            assert_true(json_object_object_get_ex(e, "nvswitch", &v));
            assert_int_equal(json_object_get_int(v), (int)a->sw);
            assert_true(json_object_object_get_ex(e, "port", &v));
            assert_int_equal(json_object_get_int(v), (int)a->sw_port);
            assert_true(json_object_object_get_ex(e, "gpu", &v));
            assert_int_equal(json_object_get_int(v), (int)a->gpu);
            assert_true(json_object_object_get_ex(e, "fatal", &v));
            assert_false(json_object_get_boolean(v));
        }
        json_object_put(e);
    }
    assert_true(seen);

    /* NVSwitch exclusion by kernel parameter: refused, file untouched */
    char mp[200];
    snprintf(mp, sizeof mp, "%s/modprobe.conf", d.dir);
    assert_int_equal(ops_fmctl("exclude switch 1 --modprobe-file %s --emu-dir %s", mp, d.emu), 1);
    need(ops_out, "NVSwitch 1 cannot be excluded by a kernel module parameter: it is a "
                  "fourth-generation NVSwitch (hgx-b200)", "fmctl exclude switch");
    assert_int_not_equal(access(mp, F_OK), 0);
    /* GPUs still can be */
    assert_int_equal(ops_fmctl("exclude gpu %u --modprobe-file %s --emu-dir %s", p->gpus[0].phys_id,
                               mp, d.emu), 0);
    ofm_hal_close(h);
    dh_stop(&d, 0);
    dh_cleanup(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_b200_errors_are_telemetry),
        cmocka_unit_test(test_b200_events),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
