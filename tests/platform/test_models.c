/* The built-in models against the guide: FM §10.1-§10.3 link tables and the
 * §11 partition tables. The oracles below are typed from the guide's tables,
 * independent of share/topologies/. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "openfm/platform.h"

static ofm_platform P;

static void load(const char *name)
{
    ofm_error e;
    char b[700];
    if (ofm_platform_load(name, NULL, &P, &e))
        fail_msg("%s", ofm_error_format(&e, b, sizeof b));
}

/* FM §10.3, table 8, row by row: GPU, GPU links, NVSwitch, NVSwitch links. */
static const struct {
    unsigned gpu;
    const char *links;
    unsigned sw;
    const char *ports;
} h100_rows[] = {
    {1, "2,3,12,13", 1, "40,41,44,45"},
    {1, "0,1,11,16,17", 2, "36,37,40,46,47"},
    {1, "15,14,10,6,7", 3, "42,43,45,62,63"},
    {1, "4,5,9,8", 4, "58,59,62,63"},
    {2, "15,14,8,9", 1, "42,43,46,47"},
    {2, "2,3,7,6,11", 2, "2,3,4,5,32"},
    {2, "10,5,4,0,1", 3, "34,40,41,46,47"},
    {2, "12,13,16,17", 4, "34,35,38,39"},
    {3, "13,12,7,6", 1, "48,49,52,53"},
    {3, "17,16,10,3,2", 2, "0,1,33,38,39"},
    {3, "14,15,8,9,11", 3, "16,17,50,51,52"},
    {3, "5,4,1,0", 4, "56,57,60,61"},
    {4, "9,8,13,12", 1, "32,33,36,37"},
    {4, "2,3,10,14,15", 2, "50,51,53,62,63"},
    {4, "7,6,11,16,17", 3, "2,3,35,38,39"},
    {4, "5,4,1,0", 4, "42,43,46,47"},
    {5, "7,6,12,13", 1, "58,59,62,63"},
    {5, "17,16,11,1,0", 2, "48,49,52,56,57"},
    {5, "15,14,10,2,3", 3, "36,37,44,60,61"},
    {5, "4,5,9,8", 4, "48,49,52,53"},
    {6, "6,7,15,14", 1, "34,35,38,39"},
    {6, "8,9,17,16,11", 2, "6,7,34,35,42"},
    {6, "4,5,10,1,0", 3, "0,1,19,32,33"},
    {6, "13,12,3,2", 4, "32,33,36,37"},
    {7, "17,16,13,12", 1, "50,51,54,55"},
    {7, "10,0,1,4,5", 2, "43,54,55,58,59"},
    {7, "15,14,11,8,9", 3, "48,49,53,56,57"},
    {7, "7,6,3,2", 4, "40,41,44,45"},
    {8, "12,13,17,16", 1, "56,57,60,61"},
    {8, "10,5,4,0,1", 2, "41,44,45,60,61"},
    {8, "11,14,15,7,6", 3, "18,54,55,58,59"},
    {8, "2,3,8,9", 4, "50,51,54,55"},
};

static size_t split(const char *s, unsigned *out)
{
    size_t n = 0;
    char buf[64];
    snprintf(buf, sizeof buf, "%s", s);
    for (char *save, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
        out[n++] = (unsigned)atoi(t);
    return n;
}

static void test_h100_rows_exactly_once(void **state)
{
    (void)state;
    load("hgx-h100");
    assert_int_equal(P.ngpus, 8);
    assert_int_equal(P.nswitches, 4);
    assert_true(P.ali);
    int seen[OFM_MAX_ACCESS_LINKS] = {0};
    size_t total = 0;
    for (size_t r = 0; r < sizeof h100_rows / sizeof h100_rows[0]; r++) {
        unsigned l[8], p[8];
        size_t nl = split(h100_rows[r].links, l), np = split(h100_rows[r].ports, p);
        assert_int_equal(nl, np);
        for (size_t k = 0; k < nl; k++, total++) {
            int hits = 0;
            for (size_t i = 0; i < P.naccess; i++)
                if (P.access[i].gpu == h100_rows[r].gpu && P.access[i].gpu_link == l[k] &&
                    P.access[i].sw == h100_rows[r].sw && P.access[i].sw_port == p[k]) {
                    hits++;
                    seen[i]++;
                }
            if (hits != 1)
                fail_msg("GPU %u link %u -> switch %u port %u found %d times", h100_rows[r].gpu,
                         l[k], h100_rows[r].sw, p[k], hits);
        }
    }
    assert_int_equal(total, 144);
    assert_int_equal(P.naccess, 144); /* nothing beyond the table */
    for (size_t i = 0; i < P.naccess; i++)
        assert_int_equal(seen[i], 1);
}

/* Per GPU and per (GPU, switch) link counts of §10.1-§10.3. */
static void check_counts(const char *name, unsigned per_gpu, const unsigned *per_sw_pattern,
                         size_t nsw_board, unsigned access_per_switch, unsigned trunk_per_switch)
{
    load(name);
    for (size_t g = 0; g < P.ngpus; g++) {
        uint32_t id = P.gpus[g].phys_id;
        assert_int_equal(ofm_platform_gpu_link_count(&P, id), per_gpu);
        for (size_t s = 0; s < P.nswitches; s++) {
            if (P.switches[s].baseboard != P.gpus[g].baseboard)
                continue;
            unsigned n = 0;
            for (size_t i = 0; i < P.naccess; i++)
                n += P.access[i].gpu == id && P.access[i].sw == P.switches[s].id;
            if (per_sw_pattern)
                assert_int_equal(n, per_sw_pattern[s % nsw_board]);
        }
    }
    for (size_t s = 0; s < P.nswitches; s++) {
        uint32_t trunks;
        uint32_t acc = ofm_platform_switch_link_count(&P, P.switches[s].id, &trunks);
        if (access_per_switch)
            assert_int_equal(acc, access_per_switch);
        assert_int_equal(trunks, trunk_per_switch);
    }
}

static void test_counts(void **state)
{
    (void)state;
    static const unsigned h100[] = {4, 5, 5, 4}, a100[] = {2, 2, 2, 2, 2, 2}, hgx2[] = {1, 1, 1, 1, 1, 1};
    check_counts("hgx-h100", 18, h100, 4, 0, 0);
    check_counts("hgx-h200", 18, h100, 4, 0, 0);
    check_counts("hgx-a100", 12, a100, 6, 16, 0);
    check_counts("hgx-a100-top", 12, a100, 6, 16, 0);
    check_counts("hgx-a100-2b", 12, a100, 6, 16, 16);
    check_counts("hgx-2", 6, hgx2, 6, 8, 8);
    static const unsigned h800[] = {2, 2, 2, 2};
    check_counts("hgx-h800", 8, h800, 4, 16, 0);
    check_counts("hgx-a800", 8, NULL, 6, 0, 0);
    /* H100 switch totals: 4+5+5+4 per GPU -> 32, 40, 40, 32 ports */
    load("hgx-h100");
    assert_int_equal(ofm_platform_switch_link_count(&P, 1, NULL), 32);
    assert_int_equal(ofm_platform_switch_link_count(&P, 2, NULL), 40);
    assert_int_equal(ofm_platform_switch_link_count(&P, 3, NULL), 40);
    assert_int_equal(ofm_platform_switch_link_count(&P, 4, NULL), 32);
}

static void test_trunks(void **state)
{
    (void)state;
    static const unsigned hgx2_ports[] = {0, 1, 2, 3, 8, 9, 10, 11};
    load("hgx-2");
    assert_int_equal(P.ntrunks, 48);
    for (unsigned s = 1; s <= 6; s++)
        for (size_t k = 0; k < 8; k++) {
            int hit = 0;
            for (size_t i = 0; i < P.ntrunks; i++)
                hit += P.trunks[i].sw_a == s && P.trunks[i].port_a == hgx2_ports[k] &&
                       P.trunks[i].sw_b == s + 6 && P.trunks[i].port_b == hgx2_ports[k];
            assert_int_equal(hit, 1);
        }
    load("hgx-a100-2b");
    assert_int_equal(P.ntrunks, 96);
    for (size_t i = 0; i < P.ntrunks; i++) {
        uint32_t port = P.trunks[i].port_a;
        assert_true(port <= 7 || (port >= 16 && port <= 23));
        assert_int_equal(P.trunks[i].port_b, port);
        assert_int_equal(P.trunks[i].sw_b, P.trunks[i].sw_a + 6);
    }
}

/* FM §10.1 gives switch 2 port 6 to GPU 1 link 5 and GPU 5 link 5; the model
 * keeps GPU 1 there and moves GPU 5 to the unused port 14, on both boards. */
static void test_hgx2_correction(void **state)
{
    (void)state;
    load("hgx-2");
    int g1 = 0, g5 = 0, g9 = 0, g13 = 0;
    for (size_t i = 0; i < P.naccess; i++) {
        const ofm_access_link *a = &P.access[i];
        if (a->gpu == 1 && a->gpu_link == 5)
            g1 = a->sw == 2 && a->sw_port == 6;
        if (a->gpu == 5 && a->gpu_link == 5)
            g5 = a->sw == 2 && a->sw_port == 14;
        if (a->gpu == 9 && a->gpu_link == 5)
            g9 = a->sw == 8 && a->sw_port == 6;
        if (a->gpu == 13 && a->gpu_link == 5)
            g13 = a->sw == 8 && a->sw_port == 14;
    }
    assert_true(g1 && g5 && g9 && g13);
    /* and the uncorrected table is rejected by the loader */
    size_t len;
    const char *text = ofm_platform_builtin_text("hgx-2", &len);
    assert_non_null(text);
    char *copy = malloc(len + 1);
    memcpy(copy, text, len);
    copy[len] = '\0';
    char *at = strstr(copy, "access gpu=5 link=5 switch=2 port=14\n");
    assert_non_null(at);
    memcpy(at, "access gpu=5 link=5 switch=2 port=6 \n", 38);
    ofm_error e;
    assert_int_equal(ofm_platform_parse(copy, len, "hgx-2-uncorrected", &P, &e), -1);
    assert_string_equal(e.msg, "switch 2 port 6 is already used by GPU 1 link 5");
    free(copy);
}

static void check_partition(unsigned id, unsigned ngpus, const unsigned *gpus, unsigned nvlinks)
{
    const ofm_partition_desc *d = ofm_platform_partition(&P, id);
    if (!d)
        fail_msg("%s: partition %u missing", P.name, id);
    assert_int_equal(d->ngpus, ngpus);
    for (unsigned i = 0; i < ngpus; i++)
        assert_int_equal(d->gpus[i], gpus[i]);
    assert_int_equal(d->nvlinks_per_gpu, nvlinks);
}

static void range(unsigned *out, unsigned lo, unsigned hi)
{
    for (unsigned g = lo; g <= hi; g++)
        out[g - lo] = g;
}

static void test_partitions_hgx2(void **state)
{
    (void)state;
    load("hgx-2");
    assert_int_equal(P.npartitions, 33);
    unsigned g[16];
    range(g, 1, 16);
    check_partition(0, 16, g, 6);
    check_partition(1, 8, g, 6);
    range(g, 9, 16);
    check_partition(2, 8, g, 6); /* "9 to 1" in the guide */
    check_partition(3, 8, (unsigned[]){1, 4, 6, 7, 9, 12, 14, 15}, 5);
    check_partition(4, 8, (unsigned[]){2, 3, 5, 8, 10, 11, 13, 16}, 5);
    check_partition(5, 4, (unsigned[]){1, 4, 6, 7}, 5);
    check_partition(6, 4, (unsigned[]){2, 3, 5, 8}, 5);
    check_partition(7, 4, (unsigned[]){9, 12, 14, 15}, 5);
    check_partition(8, 4, (unsigned[]){10, 11, 13, 16}, 5);
    static const unsigned pairs[8][2] = {{1, 4}, {2, 3}, {5, 8}, {6, 7}, {9, 12}, {10, 11}, {13, 16}, {14, 15}};
    for (unsigned i = 0; i < 8; i++)
        check_partition(9 + i, 2, pairs[i], 5);
    for (unsigned i = 0; i < 16; i++)
        check_partition(17 + i, 1, (unsigned[]){1 + i}, 0);
}

static void test_partitions_a100(void **state)
{
    (void)state;
    load("hgx-a100-2b");
    assert_int_equal(P.npartitions, 35);
    unsigned g[16];
    range(g, 1, 16);
    check_partition(0, 16, g, 12);
    check_partition(1, 8, g, 12);
    range(g, 9, 16);
    check_partition(2, 8, g, 12);
    check_partition(3, 8, (unsigned[]){1, 2, 3, 4, 9, 10, 11, 12}, 12);
    check_partition(4, 8, (unsigned[]){5, 6, 7, 8, 13, 14, 15, 16}, 12);
    check_partition(5, 8, (unsigned[]){1, 2, 3, 4, 13, 14, 15, 16}, 12);
    check_partition(6, 8, (unsigned[]){5, 6, 7, 8, 9, 10, 11, 12}, 12);
    for (unsigned i = 0; i < 4; i++) {
        range(g, 1 + 4 * i, 4 + 4 * i);
        check_partition(7 + i, 4, g, 12);
    }
    for (unsigned i = 0; i < 8; i++)
        check_partition(11 + i, 2, (unsigned[]){1 + 2 * i, 2 + 2 * i}, 12);
    for (unsigned i = 0; i < 16; i++)
        check_partition(19 + i, 1, (unsigned[]){1 + i}, 0);
    /* single boards keep the IDs of the entries that fit on them */
    load("hgx-a100");
    assert_int_equal(P.npartitions, 15);
    assert_non_null(ofm_platform_partition(&P, 1));
    assert_null(ofm_platform_partition(&P, 2));
    load("hgx-a100-top");
    assert_int_equal(P.npartitions, 15);
    assert_non_null(ofm_platform_partition(&P, 2));
    assert_non_null(ofm_platform_partition(&P, 34));
    assert_null(ofm_platform_partition(&P, 19));
}

static void test_partitions_h100(void **state)
{
    (void)state;
    load("hgx-h100");
    assert_int_equal(P.npartitions, 15);
    unsigned g[8];
    range(g, 1, 8);
    check_partition(0, 8, g, 18);
    check_partition(1, 4, g, 18);
    range(g, 5, 8);
    check_partition(2, 4, g, 18);
    check_partition(3, 2, (unsigned[]){1, 3}, 18);
    check_partition(4, 2, (unsigned[]){2, 4}, 18);
    check_partition(5, 2, (unsigned[]){5, 7}, 18);
    check_partition(6, 2, (unsigned[]){6, 8}, 18);
    for (unsigned i = 0; i < 8; i++)
        check_partition(7 + i, 1, (unsigned[]){1 + i}, 0);
}

/* H200: the H100 baseboard with H200 GPUs — every access link and every
 * partition identical, only the GPU model differs. */
static void test_h200_is_h100_wiring(void **state)
{
    (void)state;
    static ofm_platform h100;
    load("hgx-h100");
    h100 = P;
    load("hgx-h200");
    assert_string_equal(P.name, "hgx-h200");
    assert_true(P.ali);
    assert_int_equal(P.ngpus, 8);
    for (size_t i = 0; i < P.ngpus; i++) {
        assert_string_equal(P.gpus[i].model, "H200-SXM5-141GB");
        assert_int_equal(P.gpus[i].nvlinks, 18);
        assert_int_equal(P.gpus[i].line_rate_mbps, 25000);
    }
    assert_int_equal(P.nswitches, h100.nswitches);
    for (size_t i = 0; i < P.nswitches; i++) {
        assert_int_equal(P.switches[i].gen, OFM_SWITCH_GEN3);
        assert_int_equal(P.switches[i].nports, 64);
    }
    assert_int_equal(P.naccess, h100.naccess);
    assert_memory_equal(P.access, h100.access, P.naccess * sizeof P.access[0]);
    assert_int_equal(P.npartitions, h100.npartitions);
    assert_memory_equal(P.partitions, h100.partitions, P.npartitions * sizeof P.partitions[0]);
    assert_int_equal(P.partitions[0].id, 0);
    assert_int_equal(ofm_platform_nvlinks_between(&P, 1, 8), 18);
}

static void test_matrix_counts(void **state)
{
    (void)state;
    load("hgx-h100");
    assert_int_equal(ofm_platform_nvlinks_between(&P, 1, 8), 18);
    load("hgx-a100-2b");
    assert_int_equal(ofm_platform_nvlinks_between(&P, 1, 2), 12);
    assert_int_equal(ofm_platform_nvlinks_between(&P, 1, 16), 12); /* across trunks */
    load("hgx-a100");
    assert_int_equal(ofm_platform_nvlinks_between(&P, 3, 7), 12);
    load("hgx-2");
    assert_int_equal(ofm_platform_nvlinks_between(&P, 1, 9), 6);
    load("hgx-a800");
    assert_int_equal(ofm_platform_nvlinks_between(&P, 1, 2), 8);
    load("hgx-h800");
    assert_int_equal(ofm_platform_nvlinks_between(&P, 1, 2), 8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_h100_rows_exactly_once), cmocka_unit_test(test_counts),
        cmocka_unit_test(test_trunks),                 cmocka_unit_test(test_hgx2_correction),
        cmocka_unit_test(test_partitions_hgx2),        cmocka_unit_test(test_partitions_a100),
        cmocka_unit_test(test_partitions_h100),        cmocka_unit_test(test_matrix_counts),
        cmocka_unit_test(test_h200_is_h100_wiring),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
