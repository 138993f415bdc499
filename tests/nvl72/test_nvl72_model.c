/* GB200 NVL72 model against the rack's public facts, with an oracle written
 * here rather than read from share/topologies: 72 GPUs in 18 compute trays
 * of 4, 18 NVSwitch chips of 72 ports in 9 switch trays of 2, every GPU one
 * link to each chip, every chip port used by exactly one GPU, NV18 between
 * every pair, the default partition 32766 = every GPU, and the rack
 * partition rule. Then fmctl topo's views of it as an operator reads them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "fabric/fabric.h"
#include "manager/manager.h"
#include "openfm/platform.h"

static ofm_platform P;

static int setup(void **state)
{
    (void)state;
    ofm_error err;
    if (ofm_platform_load("gb200-nvl72", NULL, &P, &err)) {
        fprintf(stderr, "%s:%u: %s\n", err.origin, err.line, err.msg);
        return -1;
    }
    return 0;
}

static void test_devices_and_trays(void **state)
{
    (void)state;
    assert_string_equal(P.name, "gb200-nvl72");
    assert_int_equal(P.ngpus, 72);
    assert_int_equal(P.nswitches, 18);
    assert_int_equal(P.ntrunks, 0);
    assert_true(P.ali);
    assert_true(ofm_platform_is_rack(&P));
    assert_int_equal(P.ncompute_trays, 18);
    assert_int_equal(P.nswitch_trays, 9);
    for (size_t i = 0; i < P.ngpus; i++) {
        assert_int_equal(P.gpus[i].nvlinks, 18);
        assert_int_equal(P.gpus[i].line_rate_mbps, 50000); /* NVLink 5: 50 GB/s per link */
    }
    for (size_t i = 0; i < P.nswitches; i++) {
        assert_int_equal(P.switches[i].gen, OFM_SWITCH_GEN4);
        assert_int_equal(P.switches[i].nports, 72);
    }
    /* compute tray t: GPUs 4t-3..4t in slots 1-4; switch tray t: chips 2t-1, 2t */
    uint32_t ids[OFM_MAX_GPUS];
    for (uint32_t t = 1; t <= 18; t++) {
        assert_int_equal(ofm_platform_tray_gpus(&P, t, ids, OFM_MAX_GPUS), 4);
        for (uint32_t k = 0; k < 4; k++) {
            assert_int_equal(ids[k], 4 * t - 3 + k);
            const ofm_gpu_desc *g = ofm_platform_gpu(&P, ids[k]);
            assert_int_equal(g->tray, t);
            assert_int_equal(g->slot, k + 1);
        }
    }
    for (uint32_t t = 1; t <= 9; t++) {
        assert_int_equal(ofm_platform_tray_switches(&P, t, ids, OFM_MAX_GPUS), 2);
        assert_int_equal(ids[0], 2 * t - 1);
        assert_int_equal(ids[1], 2 * t);
    }
    assert_int_equal(ofm_platform_tray_gpus(&P, 19, ids, OFM_MAX_GPUS), 0);
    assert_int_equal(ofm_platform_tray_switches(&P, 10, ids, OFM_MAX_GPUS), 0);
}

/* Every GPU: one link to each of the 18 chips; every chip: all 72 ports
 * used, one per GPU. */
static void test_one_link_per_chip(void **state)
{
    (void)state;
    assert_int_equal(P.naccess, 72 * 18);
    static unsigned per_pair[73][19];
    static unsigned port_used[19][72];
    memset(per_pair, 0, sizeof per_pair);
    memset(port_used, 0, sizeof port_used);
    for (size_t i = 0; i < P.naccess; i++) {
        const ofm_access_link *a = &P.access[i];
        assert_in_range(a->gpu, 1, 72);
        assert_in_range(a->sw, 1, 18);
        assert_in_range(a->sw_port, 0, 71);
        per_pair[a->gpu][a->sw]++;
        port_used[a->sw][a->sw_port]++;
    }
    for (unsigned g = 1; g <= 72; g++)
        for (unsigned s = 1; s <= 18; s++)
            if (per_pair[g][s] != 1)
                fail_msg("GPU %u has %u links to chip %u, expected 1", g, per_pair[g][s], s);
    for (unsigned s = 1; s <= 18; s++) {
        uint32_t trunks;
        assert_int_equal(ofm_platform_switch_link_count(&P, s, &trunks), 72);
        assert_int_equal(trunks, 0);
        for (unsigned port = 0; port < 72; port++)
            assert_int_equal(port_used[s][port], 1);
    }
    for (unsigned a = 1; a <= 72; a++) {
        assert_int_equal(ofm_platform_gpu_link_count(&P, a), 18);
        for (unsigned b = 1; b <= 72; b++)
            assert_int_equal(ofm_platform_nvlinks_between(&P, a, b), a == b ? 0 : 18);
    }
}

static void test_default_partition_and_rule(void **state)
{
    (void)state;
    assert_int_equal(P.npartitions, 1);
    const ofm_partition_desc *d = ofm_platform_partition(&P, OFM_RACK_DEFAULT_PARTITION_ID);
    assert_non_null(d);
    assert_int_equal(d->id, 32766);
    assert_int_equal(d->ngpus, 72);
    assert_int_equal(d->nvlinks_per_gpu, 18);
    for (uint32_t k = 0; k < 72; k++)
        assert_int_equal(d->gpus[k], k + 1);

    /* any set of the domain's GPUs, IDs 1-32766 */
    char why[160];
    uint32_t cross[] = {1, 9, 72}; /* three trays: no baseboard rule applies */
    assert_true(ofm_rack_partition_ok(&P, 1, cross, 3, why, sizeof why));
    assert_true(ofm_rack_partition_ok(&P, 32766, cross, 1, why, sizeof why));
    assert_false(ofm_rack_partition_ok(&P, 0, cross, 3, why, sizeof why));
    assert_non_null(strstr(why, "outside 1-32766"));
    assert_false(ofm_rack_partition_ok(&P, 32767, cross, 3, why, sizeof why));
    assert_non_null(strstr(why, "outside 1-32766"));
    uint32_t bad[] = {1, 73};
    assert_false(ofm_rack_partition_ok(&P, 5, bad, 2, why, sizeof why));
    assert_string_equal(why, "GPU 73 is not in the domain");
    uint32_t dup[] = {4, 4};
    assert_false(ofm_rack_partition_ok(&P, 5, dup, 2, why, sizeof why));
    assert_string_equal(why, "GPU 4 is listed twice");
    assert_false(ofm_rack_partition_ok(&P, 5, dup, 0, why, sizeof why));
}

/* ------------------------------------------------------------ parser */

static const char *head = "platform r\nali yes\n"
                          "gpu 1 model=GB200 nvlinks=1 rate=50000 board=1\n"
                          "gpu 2 model=GB200 nvlinks=1 rate=50000 board=1\n"
                          "switch 1 gen=4 ports=72 board=1\n"
                          "access gpu=1 link=0 switch=1 port=0\n"
                          "access gpu=2 link=0 switch=1 port=1\n";

static int parse_with(const char *tail, char *msg, size_t len)
{
    char buf[2048];
    snprintf(buf, sizeof buf, "%s%s", head, tail);
    static ofm_platform p;
    ofm_error err;
    int rc = ofm_platform_parse(buf, strlen(buf), "t.topo", &p, &err);
    snprintf(msg, len, "line %u: %s", err.line, rc ? err.msg : "");
    return rc;
}

static void test_tray_records(void **state)
{
    (void)state;
    char m[400];
    assert_int_equal(parse_with("tray compute 1 gpus=1-2\ntray switch 1 switches=1\n"
                                "partition 7 gpus=2 nvlinks=1\n",
                                m, sizeof m),
                     0);
    assert_int_equal(parse_with("tray compute 1 gpus=1\ntray switch 1 switches=1\n", m, sizeof m),
                     -1);
    assert_non_null(strstr(m, "GPU 2 is in no compute tray"));
    assert_int_equal(parse_with("tray compute 1 gpus=1-2\n", m, sizeof m), -1);
    assert_non_null(strstr(m, "switch 1 is in no switch tray"));
    assert_int_equal(parse_with("tray switch 1 switches=1\n", m, sizeof m), -1);
    assert_non_null(strstr(m, "switch trays without compute trays"));
    assert_int_equal(parse_with("tray compute 1 gpus=1\ntray compute 2 gpus=1-2\n", m, sizeof m), -1);
    assert_non_null(strstr(m, "line 9: GPU 1 is already in compute tray 1"));
    assert_int_equal(parse_with("tray compute 1 gpus=1\ntray compute 1 gpus=2\n", m, sizeof m), -1);
    assert_non_null(strstr(m, "duplicate compute tray 1 (first declared on line 8)"));
    assert_int_equal(parse_with("tray compute 1 gpus=3\n", m, sizeof m), -1);
    assert_non_null(strstr(m, "names GPU 3, which is not declared"));
    assert_int_equal(parse_with("tray rack 1 gpus=1\n", m, sizeof m), -1);
    assert_non_null(strstr(m, "'tray' takes"));
    assert_int_equal(parse_with("tray compute 1 switches=1\n", m, sizeof m), -1);
    assert_non_null(strstr(m, "unknown key 'switches'"));
    /* rack partitions: IDs from 1, no baseboard rules */
    assert_int_equal(parse_with("tray compute 1 gpus=1-2\ntray switch 1 switches=1\n"
                                "partition 0 gpus=1-2 nvlinks=1\n",
                                m, sizeof m),
                     -1);
    assert_non_null(strstr(m, "line 10: partition 0: partition ID 0 is outside 1-32766"));
    assert_int_equal(parse_with("partition 32767 gpus=1 nvlinks=0\n", m, sizeof m), -1);
    assert_non_null(strstr(m, "32767 is out of range 0-32766"));
}

/* ------------------------------------------------------------ HA policy */

/* The rack runs degraded where an HGX board would abort: chips down cost
 * every GPU the same links; a GPU without any link leaves the domain; only
 * a domain with no chip at all stays uninitialised. */
static void test_policy(void **state)
{
    (void)state;
    static ofm_fabric_health obs;
    static ofm_policy_decision d;
    ofm_failure_modes modes = {0, 0, 0};
    ofm_fabric_health_all_ok(&P, &obs);
    ofm_policy_decide(&P, &obs, &modes, OFM_FABRIC_MODE_BARE_METAL, &d);
    assert_false(d.abort);
    assert_false(d.bandwidth_reduced);
    assert_string_equal(d.reason, "");

    /* switch tray 5: chips 9 and 10 */
    obs.switch_ok[8] = obs.switch_ok[9] = false;
    ofm_policy_decide(&P, &obs, &modes, OFM_FABRIC_MODE_BARE_METAL, &d);
    assert_false(d.abort);
    assert_true(d.bandwidth_reduced);
    assert_non_null(strstr(d.reason, "switch tray 5 (NVSwitch 9, 10)"));
    assert_non_null(strstr(d.reason, "bandwidth reduced to 16/18"));
    for (size_t g = 0; g < P.ngpus; g++) {
        assert_true(d.gpu_p2p[g]);
        assert_int_equal(ofm_fabric_gpu_usable_links(&P, &d.effective, P.gpus[g].phys_id), 16);
    }
    /* the default partition survives a switch tray in shared mode */
    ofm_policy_decide(&P, &obs, &modes, OFM_FABRIC_MODE_SHARED, &d);
    assert_true(ofm_policy_partition_ok(&P, &d, &P.partitions[0]));

    /* GPU 7 loses every other link too: it leaves the domain, the rest stay */
    for (size_t a = 0; a < P.naccess; a++)
        if (P.access[a].gpu == 7)
            obs.access_ok[a] = false;
    ofm_policy_decide(&P, &obs, &modes, OFM_FABRIC_MODE_BARE_METAL, &d);
    assert_false(d.abort);
    assert_false(d.gpu_p2p[6]);
    assert_true(d.gpu_p2p[5]);
    assert_non_null(strstr(d.reason, "GPU 7 has no usable NVLink"));

    /* no chip at all: nothing to run */
    for (size_t s = 0; s < P.nswitches; s++)
        obs.switch_ok[s] = false;
    ofm_policy_decide(&P, &obs, &modes, OFM_FABRIC_MODE_BARE_METAL, &d);
    assert_true(d.abort);
    assert_non_null(strstr(d.reason, "no NVSwitch of the NVLink domain is reachable"));
}

/* ------------------------------------------------------------ domain health */

/* A status as bring-up leaves it on a healthy rack. */
static void healthy_status(ofm_fabric_status *st)
{
    ofm_fabric_status_init(st);
    st->state = OFM_SYS_READY;
    st->ngpus = P.ngpus;
    st->nswitches = P.nswitches;
    for (size_t i = 0; i < P.ngpus; i++) {
        ofm_gpu_status *g = &st->gpus[i];
        g->phys_id = P.gpus[i].phys_id;
        g->present = g->p2p = true;
        g->health = OFM_DEV_OK;
        g->links_usable = g->links_active = g->links_expected = 18;
    }
    for (size_t i = 0; i < P.nswitches; i++)
        st->switches[i].id = P.switches[i].id;
}

static void test_domain_health(void **state)
{
    (void)state;
    static ofm_fabric_status st;
    healthy_status(&st);
    assert_true(ofm_domain_health_update(&P, &st));
    assert_int_equal(st.domain_health, OFM_DOMAIN_HEALTHY);
    assert_string_equal(st.domain_reason, "");
    assert_false(ofm_domain_health_update(&P, &st)); /* nothing changed */

    /* one GPU short of links: degraded, and said so */
    st.gpus[4].links_usable = 17;
    assert_true(ofm_domain_health_update(&P, &st));
    assert_int_equal(st.domain_health, OFM_DOMAIN_DEGRADED);
    assert_string_equal(st.domain_reason, "fewest NVLinks per GPU 17 of 18");
    /* a whole compute tray out and one more GPU: the tray by name, the GPU by ID */
    st.gpus[4].links_usable = 18;
    for (size_t i = 8; i < 12; i++)
        st.gpus[i].p2p = false;
    st.gpus[40].health = OFM_DEV_FAILED;
    st.switches[17].status = OFM_SW_FAILED;
    ofm_domain_health_update(&P, &st);
    assert_int_equal(st.domain_health, OFM_DOMAIN_DEGRADED);
    assert_string_equal(st.domain_reason, "5 of 72 GPUs without NVLink: compute tray 3 (GPUs "
                                          "9-12), GPU 41; 1 of 18 NVSwitch chips down: NVSwitch 18");
    /* a fabric-fatal error stops CUDA work: unhealthy */
    st.state = OFM_SYS_DEGRADED;
    ofm_domain_health_update(&P, &st);
    assert_int_equal(st.domain_health, OFM_DOMAIN_UNHEALTHY);
    assert_non_null(strstr(st.domain_reason, "fabric DEGRADED; 5 of 72 GPUs"));
    /* serving, but no pair of GPUs left */
    healthy_status(&st);
    for (size_t i = 1; i < P.ngpus; i++)
        st.gpus[i].present = false;
    ofm_domain_health_update(&P, &st);
    assert_int_equal(st.domain_health, OFM_DOMAIN_UNHEALTHY);
    assert_non_null(strstr(st.domain_reason, "1 GPU(s) with NVLink peer access"));
    /* not a rack: no domain health at all */
    static ofm_platform h100;
    ofm_error err;
    assert_int_equal(ofm_platform_load("hgx-h100", NULL, &h100, &err), 0);
    healthy_status(&st);
    st.ngpus = h100.ngpus;
    st.nswitches = h100.nswitches;
    ofm_domain_health_update(&h100, &st);
    assert_int_equal(st.domain_health, OFM_DOMAIN_NONE);
    assert_string_equal(ofm_domain_health_name(OFM_DOMAIN_NONE), "");
}

/* ------------------------------------------------------------ fmctl topo */

static char out[1 << 20];

static int topo(const char *args)
{
    const char *bd = getenv("OPENFM_BUILD_DIR");
    assert_non_null(bd);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s/bin/fmctl topo %s 2>&1", bd, args);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    size_t n = fread(out, 1, sizeof out - 1, f);
    out[n] = '\0';
    int st = pclose(f);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static void test_fmctl_topo_views(void **state)
{
    (void)state;
    /* matrix: one row per compute tray, narrow enough to read */
    assert_int_equal(topo("matrix gb200-nvl72"), 0);
    const char *legend = strstr(out, "\nLegend:");
    assert_non_null(legend);
    size_t rows = 0;
    for (const char *l = out; l < legend;) {
        const char *nl = strchr(l, '\n');
        assert_true((size_t)(nl - l) < 110);
        if (!strncmp(l, "T", 1)) {
            rows++;
            /* 18 cells, each NV18 (every GPU of a tray reaches every GPU of another over 18) */
            size_t cells = 0;
            for (const char *c = strstr(l, "NV18"); c && c < nl; c = strstr(c + 1, "NV18"))
                cells++;
            assert_int_equal(cells, 18);
        }
        l = nl + 1;
    }
    assert_int_equal(rows, 18);
    assert_non_null(strstr(out, "T18   NV18"));
    assert_non_null(strstr(out, " 69-72\n"));
    assert_non_null(strstr(out, "72 GPUs in 18 compute trays, 18 NVSwitches in 9 switch trays"));
    /* --full: the whole GPU matrix, header + 72 rows */
    assert_int_equal(topo("matrix --full gb200-nvl72"), 0);
    assert_non_null(strstr(out, "GPU72  NV18"));
    assert_true(count_lines(out) > 72);
    /* JSON: per GPU pair, plus the tray summary */
    assert_int_equal(topo("matrix gb200-nvl72 --json"), 0);
    assert_non_null(strstr(out, "\"tray_matrix\""));
    assert_non_null(strstr(out, "\"min_nvlinks\":18"));
    /* show: trays, and where each GPU sits */
    assert_int_equal(topo("show gb200-nvl72"), 0);
    assert_non_null(strstr(out, "Compute trays (18)"));
    assert_non_null(strstr(out, "  tray 18  GPUs 69-72\n"));
    assert_non_null(strstr(out, "Switch trays (9)"));
    assert_non_null(strstr(out, "  tray 9   NVSwitches 17,18\n"));
    assert_non_null(strstr(out, "Access links (1296)"));
    assert_non_null(strstr(out, "  72   GB200-186GB        18       50.0       18.4\n"));
    assert_int_equal(topo("show --json gb200-nvl72"), 0);
    assert_non_null(strstr(out, "\"compute_tray\":18"));
    assert_non_null(strstr(out, "\"switch_tray\":9"));
    /* partitions: the default one, and the rule */
    assert_int_equal(topo("partitions gb200-nvl72"), 0);
    assert_non_null(strstr(out, "  32766 72     18           1-72\n"));
    assert_non_null(strstr(out, "IDs 1-32766"));
    /* other platforms keep their GPU matrix, --full or not */
    assert_int_equal(topo("matrix --full hgx-h100"), 0);
    assert_non_null(strstr(out, "GPU8   NV18"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_devices_and_trays),
        cmocka_unit_test(test_one_link_per_chip),
        cmocka_unit_test(test_default_partition_and_rule),
        cmocka_unit_test(test_tray_records),
        cmocka_unit_test(test_policy),
        cmocka_unit_test(test_domain_health),
        cmocka_unit_test(test_fmctl_topo_views),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
