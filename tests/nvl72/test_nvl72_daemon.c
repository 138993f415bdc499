/* The real openfm daemon on an emulated GB200 NVL72 rack. The emulator's
 * probe - not the daemon - judges the outcome: every one of the 72 x 71 =
 * 5112 ordered GPU pairs is walked through the programmed tables in one
 * snapshot (ofm_emu_probe_all) and must arrive over all 18 links. Then tray
 * failures, injected with `fmctl emu inject` as an operator would: at run
 * time (the fabric keeps running, the probe sees what is left, the domain
 * health turns DEGRADED) and before start-up (the HA policy runs the rack
 * degraded: 16 of 18 links without a switch tray, a compute tray's GPUs
 * left out). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "common/daemon_harness.h"
#include "openfm/emu.h"
#include "status/status.h"

#define NGPUS 72

static ofm_emu_probe_result res[NGPUS * NGPUS];

typedef struct {
    dh_daemon d;
    ofm_hal *h;
} rack;

static void rack_up(rack *r, const char *extra)
{
    assert_int_equal(dh_init(&r->d, "gb200-nvl72"), 0);
    assert_int_equal(dh_write_config(&r->d, extra), 0);
    int st = -1;
    if (dh_start(&r->d, NULL, 20000, &st)) {
        char *log = dh_read_log(&r->d);
        fail_msg("openfm did not become ready on gb200-nvl72 (exit %d):\n%s", st, log ? log : "");
    }
    char err[512];
    if (ofm_emu_open(r->d.emu, &r->h, err, sizeof err) != OFM_HAL_OK)
        fail_msg("open: %s", err);
}

static void rack_down(rack *r)
{
    ofm_hal_close(r->h);
    assert_int_equal(dh_stop(&r->d, 0), 0);
    dh_cleanup(&r->d);
}

/* Every ordered pair of distinct GPUs, one transaction. */
static void probe_all(rack *r)
{
    const ofm_platform *p = ofm_emu_platform(r->h);
    assert_int_equal(p->ngpus, NGPUS);
    assert_int_equal(ofm_emu_probe_all(r->h, true, res), OFM_HAL_OK);
}

/* Every pair between GPUs not in `out` (phys IDs, 0-terminated) arrives
 * over `links` in one hop; every pair touching one of them is dropped. */
static void expect_pairs(rack *r, uint32_t links, const uint32_t *out)
{
    probe_all(r);
    const ofm_platform *p = ofm_emu_platform(r->h);
    size_t good = 0, dropped = 0;
    for (size_t i = 0; i < NGPUS; i++)
        for (size_t j = 0; j < NGPUS; j++) {
            if (i == j)
                continue;
            uint32_t a = p->gpus[i].phys_id, b = p->gpus[j].phys_id;
            bool gone = false;
            for (const uint32_t *o = out; *o; o++)
                gone = gone || *o == a || *o == b;
            const ofm_emu_probe_result *x = &res[i * NGPUS + j];
            if (gone) {
                if (x->arrives)
                    fail_msg("GPU %u -> GPU %u arrives, but one of them is out", a, b);
                dropped++;
            } else if (!x->arrives || x->links != links || x->dst_links != links ||
                       x->max_hops != 1 || x->bandwidth_mbps != links * 50000ull) {
                fail_msg("GPU %u -> GPU %u: %s over %u links (%u at the destination), "
                         "expected %u: %s",
                         a, b, x->arrives ? "arrives" : "dropped", x->links, x->dst_links, links,
                         x->drop_reason);
            } else {
                good++;
            }
        }
    size_t nout = 0;
    while (out[nout])
        nout++;
    assert_int_equal(good, (NGPUS - nout) * (NGPUS - nout - 1));
    assert_int_equal(good + dropped, 5112);
}

static char out[1 << 18]; /* nvlink errors on 68 GPUs: ~110 KB */

static int fmctl(const rack *r, const char *args)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s' %s 2>&1", dh_bin("fmctl"), args);
    (void)r;
    return dh_run(cmd, out, sizeof out);
}

static void inject(const rack *r, const char *fault)
{
    char args[512];
    snprintf(args, sizeof args, "emu inject %s --emu-dir '%s'", fault, r->d.emu);
    if (fmctl(r, args) != 0)
        fail_msg("fmctl emu inject %s: %s", fault, out);
}

/* Poll `fmctl status --json` until its domain health reads `want` (with
 * `needle` in the reason), within 10 s: the daemon follows the hardware on
 * its monitor's timer. */
static void wait_domain(const rack *r, const char *want, const char *needle)
{
    char args[512], key[64];
    snprintf(args, sizeof args, "status --json --socket '%s'", r->d.sock);
    snprintf(key, sizeof key, "\"state\":\"%s\"", want);
    for (int i = 0; i < 1000; i++) {
        fmctl(r, args);
        /* the document is pretty-printed: compare without blanks */
        char flat[sizeof out];
        size_t k = 0;
        for (const char *c = out; *c && k + 1 < sizeof flat; c++)
            if (*c != ' ' && *c != '\n')
                flat[k++] = *c;
        flat[k] = '\0';
        const char *dh = strstr(flat, "\"domain_health\":{");
        if (dh && strstr(dh, key) && (!needle || strstr(out, needle)))
            return;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL); /* polling interval of a deadline loop, not a synchronisation */
    }
    fail_msg("domain health never became %s (%s); last status:\n%s", want,
             needle ? needle : "", out);
}

static void test_bringup_every_pair(void **state)
{
    (void)state;
    rack r;
    rack_up(&r, "OPENFM_METRICS_LISTEN=\n");
    char *log = dh_read_log(&r.d);
    assert_non_null(log);
    assert_non_null(strstr(log, "fabric ready on gb200-nvl72"));
    assert_non_null(strstr(log, "72/72 GPUs with NVLink P2P, 1296/1296 access"));
    free(log);
    probe_all(&r);
    const ofm_platform *p = ofm_emu_platform(r.h);
    size_t pairs = 0;
    for (size_t i = 0; i < NGPUS; i++)
        for (size_t j = 0; j < NGPUS; j++) {
            if (i == j)
                continue;
            const ofm_emu_probe_result *x = &res[i * NGPUS + j];
            if (!x->arrives || x->links != 18 || x->dst_links != 18 || x->max_hops != 1 ||
                x->dropped || x->bandwidth_mbps != 18 * 50000)
                fail_msg("GPU %u -> GPU %u: %s over %u links (%u at the destination, %u hops, "
                         "%s)",
                         p->gpus[i].phys_id, p->gpus[j].phys_id,
                         x->arrives ? "arrives" : "dropped", x->links, x->dst_links, x->max_hops,
                         x->drop_reason);
            pairs++;
        }
    assert_int_equal(pairs, 5112);
    wait_domain(&r, "HEALTHY", NULL);

    /* run time: a switch tray fails; every GPU keeps 16 of its 18 links */
    inject(&r, "switch-tray-failed --tray 4");
    const uint32_t none[] = {0};
    expect_pairs(&r, 16, none);
    wait_domain(&r, "DEGRADED", "switch tray 4 (NVSwitch 7, 8)");
    /* ... then a compute tray: the other 68 GPUs still reach each other */
    inject(&r, "compute-tray-failed --tray 18");
    const uint32_t tray18[] = {69, 70, 71, 72, 0};
    expect_pairs(&r, 16, tray18);
    wait_domain(&r, "DEGRADED", "compute tray 18 (GPUs 69-72)");
    char *text = dh_read_log(&r.d);
    assert_non_null(strstr(text, "NVLink domain health: DEGRADED (was HEALTHY)"));
    free(text);
    rack_down(&r);
}

static size_t lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* The rack's views stay readable: audit and probe --all print one row per
 * compute tray unless asked for every GPU, status -i picks GPUs. Switch tray
 * 2 is down (16 links per pair) and compute tray 3 is out. */
static void rack_views(const rack *r)
{
    char args[512];
    snprintf(args, sizeof args, "audit --emu-dir '%s'", r->d.emu);
    assert_int_equal(fmctl(r, args), 0);
    assert_non_null(strstr(out, "GPU Reachability Matrix (gb200-nvl72, emulated)\n"
                                "      T1   T2   T3   T4   T5"));
    assert_non_null(strstr(out, "\nT1    16   16   0    16   16"));
    assert_non_null(strstr(out, "\nT3    0    0    0    0    0"));
    assert_non_null(strstr(out, "0    9-12\n")); /* the row's last cell, then the tray's GPUs */
    assert_non_null(strstr(out, "GPUs with no paths: 9-12\n"));
    assert_true(lines(out) < 40);
    snprintf(args, sizeof args, "audit --full --emu-dir '%s'", r->d.emu);
    assert_int_equal(fmctl(r, args), 0);
    assert_null(strstr(out, "T1 "));
    assert_non_null(strstr(out, "\n72       16   16   16   16   16   16   16   16    0    0    0    0"));
    assert_int_equal(lines(out), 1 + 1 + 72);
    snprintf(args, sizeof args, "audit --csv --emu-dir '%s'", r->d.emu);
    assert_int_equal(fmctl(r, args), 0);
    assert_int_equal(lines(out), 1 + 68); /* CSV: per GPU, those without paths left out */
    assert_non_null(strstr(out, "GPU,1,2,3,4,5,6,7,8,13,14"));

    snprintf(args, sizeof args, "emu probe --all --quiet --emu-dir '%s'", r->d.emu);
    assert_int_equal(fmctl(r, args), 0);
    assert_non_null(strstr(out, "\nT1    NV16 NV16 -    NV16 NV16"));
    assert_non_null(strstr(out, "\nT3    -    -    -    -    -"));
    assert_non_null(strstr(out, "  GPU 1 -> GPU 9: dropped: "));
    assert_non_null(strstr(out, "4556 of 5112 ordered GPU pairs arrive (552 more dropped pairs"));
    assert_true(lines(out) < 40);
    snprintf(args, sizeof args, "emu probe --all --full --quiet --emu-dir '%s'", r->d.emu);
    assert_int_equal(fmctl(r, args), 0);
    assert_non_null(strstr(out, "\nGPU72  NV16   NV16"));
    assert_int_equal(lines(out), 1 + 72 + 2);

    /* nvlink views end with one line over every link; -i picks one GPU */
    inject(r, "link-errors --switch 5 --port 0 --replay 3");
    snprintf(args, sizeof args, "nvlink errors --emu-dir '%s'", r->d.emu);
    assert_int_equal(fmctl(r, args), 0);
    assert_non_null(strstr(out, "\nSummary: 68 GPUs, 1224 links, 1088 active; 1 with errors "
                                "(GPU 0 link 4)\n"));
    snprintf(args, sizeof args, "nvlink status -i 67 --emu-dir '%s'", r->d.emu);
    assert_int_equal(fmctl(r, args), 0);
    assert_non_null(strstr(out, "\nSummary: 1 GPU, 18 links, 16 active\n"));
    assert_int_equal(lines(out), 1 + 18 + 1);

    snprintf(args, sizeof args, "status -i 8-9,70 --socket '%s'", r->d.sock);
    fmctl(r, args);
    assert_non_null(strstr(out, "\nGPU 8  "));
    assert_non_null(strstr(out, "\nGPU 9  "));
    assert_non_null(strstr(out, "\nGPU 70  "));
    assert_null(strstr(out, "\nGPU 10  "));
    assert_null(strstr(out, "NVSwitches"));
    assert_true(lines(out) < 40);
    snprintf(args, sizeof args, "status -i 73 --socket '%s'", r->d.sock);
    assert_int_equal(fmctl(r, args), 2);
    assert_non_null(strstr(out, "reports no GPU 73"));
}

/* Trays down before start-up: the HA policy runs the rack degraded. */
static void test_trays_down_at_start(void **state)
{
    (void)state;
    rack r;
    assert_int_equal(dh_init(&r.d, "gb200-nvl72"), 0);
    assert_int_equal(dh_write_config(&r.d, "OPENFM_METRICS_LISTEN=127.0.0.1:0\n"), 0);
    inject(&r, "switch-tray-failed --tray 2");
    inject(&r, "compute-tray-missing --tray 3");
    int st = -1;
    if (dh_start(&r.d, NULL, 20000, &st))
        fail_msg("openfm did not become ready with a switch tray and a compute tray down");
    char err[512];
    if (ofm_emu_open(r.d.emu, &r.h, err, sizeof err) != OFM_HAL_OK)
        fail_msg("open: %s", err);
    const uint32_t tray3[] = {9, 10, 11, 12, 0};
    expect_pairs(&r, 16, tray3);
    char *log = dh_read_log(&r.d);
    assert_non_null(strstr(log, "2 of 18 NVSwitch chips unavailable (switch tray 2 (NVSwitch 3, "
                                "4)): every GPU keeps its links to the other 16, NVLink bandwidth "
                                "reduced to 16/18"));
    assert_non_null(strstr(log, "68/72 GPUs with NVLink P2P"));
    assert_non_null(strstr(log, "NVLink domain health: DEGRADED: 4 of 72 GPUs without NVLink: "
                                "compute tray 3 (GPUs 9-12); 2 of 18 NVSwitch chips down: switch "
                                "tray 2 (NVSwitch 3, 4); fewest NVLinks per GPU 16 of 18"));
    free(log);
    wait_domain(&r, "DEGRADED", "compute tray 3 (GPUs 9-12)");
    char args[512];
    snprintf(args, sizeof args, "status --socket '%s'", r.d.sock);
    fmctl(&r, args);
    assert_non_null(strstr(out, "NVLink Domain Health  : DEGRADED: 4 of 72 GPUs"));
    assert_non_null(strstr(out, "GPUs                  : 72, 68 with NVLink P2P, 0 with every "
                                "NVLink usable (0-16 usable per GPU); without P2P: 9-12\n"));
    rack_views(&r);
    /* /metrics says it too */
    log = dh_read_log(&r.d);
    const char *at = strstr(log, "metrics: serving http://127.0.0.1:");
    assert_non_null(at);
    unsigned port = (unsigned)strtoul(at + strlen("metrics: serving http://127.0.0.1:"), NULL, 10);
    free(log);
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c \"import urllib.request as u; "
             "print(u.urlopen('http://127.0.0.1:%u/metrics', timeout=10).read().decode())\"",
             port);
    static char metrics[1 << 21]; /* 72 GPUs and 1296 links of samples */
    int mrc = dh_run(cmd, metrics, sizeof metrics);
    if (mrc != 0)
        fail_msg("scrape failed (%d): %.300s", mrc, metrics);
    assert_non_null(strstr(metrics, "openfm_nvlink_domain_health{state=\"DEGRADED\"} 1\n"));
    assert_non_null(strstr(metrics, "openfm_nvlink_domain_health{state=\"HEALTHY\"} 0\n"));
    rack_down(&r);
}

/* Bad tray arguments are refused with the reason. */
/* More partitions than the public structures' 64: the status document,
 * `fmctl status` and /metrics carry the whole table (81 here), and a
 * partition past the 64th activates and shows as active everywhere. */
static void test_partition_table_past_64(void **state)
{
    (void)state;
    rack r;
    rack_up(&r, "FABRIC_MODE=1\nOPENFM_METRICS_LISTEN=127.0.0.1:0\n");
    char args[512];
    for (unsigned k = 1; k <= 80; k++) {
        char gpus[32];
        if (k <= 72)
            snprintf(gpus, sizeof gpus, "%u", k);
        else
            snprintf(gpus, sizeof gpus, "%u,%u", (k - 72) * 2 - 1, (k - 72) * 2);
        snprintf(args, sizeof args, "partition create %s --socket '%s'", gpus, r.d.sock);
        if (fmctl(&r, args) != 0)
            fail_msg("fmctl %s: %s", args, out);
        assert_int_equal(strtoul(out, NULL, 10), k); /* the lowest free ID */
    }
    snprintf(args, sizeof args, "partition activate 80 --socket '%s'", r.d.sock);
    if (fmctl(&r, args) != 0)
        fail_msg("fmctl %s: %s", args, out);

    snprintf(args, sizeof args, "status --json --socket '%s'", r.d.sock);
    fmctl(&r, args);
    static ofm_status_doc doc;
    ofm_error err;
    if (ofm_status_from_json(out, &doc, &err))
        fail_msg("status: %s", err.msg);
    assert_int_equal(doc.schema_version, 6);
    assert_int_equal(doc.npartitions, 81); /* 32766 and the 80 defined */
    size_t active = 0;
    for (size_t i = 0; i < doc.npartitions; i++)
        if (doc.partitions[i].active) {
            active++;
            assert_int_equal(doc.partitions[i].id, 80);
            assert_int_equal(doc.partitions[i].ngpus, 2);
            assert_int_equal(doc.partitions[i].gpus[0], 15);
        }
    assert_int_equal(active, 1);
    for (size_t g = 0; g < doc.fabric.ngpus; g++)
        if (doc.fabric.gpus[g].phys_id == 16)
            assert_int_equal(doc.fabric.gpus[g].partition, 80);
    snprintf(args, sizeof args, "status --socket '%s'", r.d.sock);
    fmctl(&r, args);
    assert_non_null(strstr(out, "Partitions (active)\n    80: GPUs [15, 16]\n"));

    char *log = dh_read_log(&r.d);
    const char *at = strstr(log, "metrics: serving http://127.0.0.1:");
    assert_non_null(at);
    unsigned port = (unsigned)strtoul(at + strlen("metrics: serving http://127.0.0.1:"), NULL, 10);
    free(log);
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c \"import urllib.request as u; "
             "print(u.urlopen('http://127.0.0.1:%u/metrics', timeout=10).read().decode())\"",
             port);
    static char metrics[1 << 21];
    if (dh_run(cmd, metrics, sizeof metrics) != 0)
        fail_msg("scrape failed: %.300s", metrics);
    assert_non_null(strstr(metrics, "\nopenfm_partitions_supported 81\n"));
    assert_non_null(strstr(metrics, "\nopenfm_partitions_active 1\n"));
    assert_non_null(strstr(metrics, "\nopenfm_partition_active{partition_id=\"80\",gpus=\"2\","
                                    "supported=\"1\"} 1\n"));
    assert_non_null(strstr(metrics, "\nopenfm_partition_active{partition_id=\"79\",gpus=\"2\","
                                    "supported=\"1\"} 0\n"));
    rack_down(&r);
}

static void test_inject_usage(void **state)
{
    (void)state;
    rack r;
    assert_int_equal(dh_init(&r.d, "gb200-nvl72"), 0);
    char args[512];
    snprintf(args, sizeof args, "emu inject switch-tray-failed --tray 10 --emu-dir '%s'", r.d.emu);
    assert_int_equal(fmctl(&r, args), 1);
    assert_non_null(strstr(out, "no switch tray 10 in gb200-nvl72"));
    snprintf(args, sizeof args, "emu inject compute-tray-failed --emu-dir '%s'", r.d.emu);
    assert_int_equal(fmctl(&r, args), 2);
    assert_non_null(strstr(out, "missing --tray T"));
    snprintf(args, sizeof args, "emu inject compute-tray-broken --tray 1 --emu-dir '%s'", r.d.emu);
    assert_int_equal(fmctl(&r, args), 2);
    assert_non_null(strstr(out, "unknown fault 'compute-tray-broken'"));
    dh_cleanup(&r.d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bringup_every_pair),
        cmocka_unit_test(test_trays_down_at_start),
        cmocka_unit_test(test_partition_table_past_64),
        cmocka_unit_test(test_inject_usage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
