/* HGX B200 against the guide's NVLink 5 tables: every access link of the
 * "HGX B200/B300" table (GPU, GPU link, NVSwitch, NVSwitch port as the guide
 * numbers ports, 1-72), 9 + 9 links per GPU, every one of each chip's 72
 * ports used, and B200's own default partition table (IDs from 1). The
 * oracle is typed from the guide, independent of share/topologies/. */
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

static const struct {
    unsigned gpu, link, sw, guide_port;
} b200_rows[] = {
    {1, 0, 2, 2},
    {1, 1, 2, 10},
    {1, 2, 1, 3},
    {1, 3, 2, 12},
    {1, 4, 2, 6},
    {1, 5, 1, 2},
    {1, 6, 2, 4},
    {1, 7, 1, 4},
    {1, 8, 1, 1},
    {1, 9, 2, 14},
    {1, 10, 1, 7},
    {1, 11, 2, 16},
    {1, 12, 1, 5},
    {1, 13, 1, 6},
    {1, 14, 2, 8},
    {1, 15, 1, 8},
    {1, 16, 2, 1},
    {1, 17, 1, 10},
    {2, 0, 2, 3},
    {2, 1, 2, 20},
    {2, 2, 1, 9},
    {2, 3, 2, 18},
    {2, 4, 2, 7},
    {2, 5, 1, 12},
    {2, 6, 2, 5},
    {2, 7, 1, 14},
    {2, 8, 1, 11},
    {2, 9, 2, 24},
    {2, 10, 1, 13},
    {2, 11, 2, 22},
    {2, 12, 1, 15},
    {2, 13, 1, 16},
    {2, 14, 2, 9},
    {2, 15, 1, 18},
    {2, 16, 2, 11},
    {2, 17, 1, 20},
    {3, 0, 2, 13},
    {3, 1, 2, 26},
    {3, 2, 1, 19},
    {3, 3, 2, 28},
    {3, 4, 2, 17},
    {3, 5, 1, 22},
    {3, 6, 2, 15},
    {3, 7, 1, 24},
    {3, 8, 1, 17},
    {3, 9, 2, 30},
    {3, 10, 1, 23},
    {3, 11, 2, 32},
    {3, 12, 1, 21},
    {3, 13, 1, 26},
    {3, 14, 2, 19},
    {3, 15, 1, 28},
    {3, 16, 2, 21},
    {3, 17, 1, 30},
    {4, 0, 2, 23},
    {4, 1, 2, 36},
    {4, 2, 1, 25},
    {4, 3, 2, 34},
    {4, 4, 2, 27},
    {4, 5, 1, 32},
    {4, 6, 2, 25},
    {4, 7, 1, 34},
    {4, 8, 1, 27},
    {4, 9, 2, 40},
    {4, 10, 1, 29},
    {4, 11, 2, 38},
    {4, 12, 1, 31},
    {4, 13, 1, 36},
    {4, 14, 2, 29},
    {4, 15, 1, 38},
    {4, 16, 2, 31},
    {4, 17, 1, 40},
    {5, 0, 2, 33},
    {5, 1, 2, 42},
    {5, 2, 1, 35},
    {5, 3, 2, 44},
    {5, 4, 2, 37},
    {5, 5, 1, 42},
    {5, 6, 2, 35},
    {5, 7, 1, 44},
    {5, 8, 1, 33},
    {5, 9, 2, 46},
    {5, 10, 1, 39},
    {5, 11, 2, 48},
    {5, 12, 1, 37},
    {5, 13, 1, 46},
    {5, 14, 2, 39},
    {5, 15, 1, 48},
    {5, 16, 2, 41},
    {5, 17, 1, 50},
    {6, 0, 2, 43},
    {6, 1, 2, 52},
    {6, 2, 1, 41},
    {6, 3, 2, 50},
    {6, 4, 2, 47},
    {6, 5, 1, 52},
    {6, 6, 2, 45},
    {6, 7, 1, 54},
    {6, 8, 1, 43},
    {6, 9, 2, 56},
    {6, 10, 1, 45},
    {6, 11, 2, 54},
    {6, 12, 1, 47},
    {6, 13, 1, 56},
    {6, 14, 2, 49},
    {6, 15, 1, 58},
    {6, 16, 2, 51},
    {6, 17, 1, 60},
    {7, 0, 2, 53},
    {7, 1, 2, 58},
    {7, 2, 1, 51},
    {7, 3, 2, 60},
    {7, 4, 2, 57},
    {7, 5, 1, 62},
    {7, 6, 2, 55},
    {7, 7, 1, 64},
    {7, 8, 1, 49},
    {7, 9, 2, 62},
    {7, 10, 1, 55},
    {7, 11, 2, 64},
    {7, 12, 1, 53},
    {7, 13, 1, 66},
    {7, 14, 2, 59},
    {7, 15, 1, 68},
    {7, 16, 2, 61},
    {7, 17, 1, 70},
    {8, 0, 2, 63},
    {8, 1, 2, 68},
    {8, 2, 1, 57},
    {8, 3, 2, 66},
    {8, 4, 2, 67},
    {8, 5, 1, 72},
    {8, 6, 2, 65},
    {8, 7, 1, 65},
    {8, 8, 1, 59},
    {8, 9, 2, 72},
    {8, 10, 1, 61},
    {8, 11, 2, 70},
    {8, 12, 1, 63},
    {8, 13, 1, 67},
    {8, 14, 2, 69},
    {8, 15, 1, 69},
    {8, 16, 2, 71},
    {8, 17, 1, 71}
};

static void load(const char *name)
{
    ofm_error e;
    char b[700];
    if (ofm_platform_load(name, NULL, &P, &e))
        fail_msg("%s", ofm_error_format(&e, b, sizeof b));
}

static void test_every_row_exactly(void **state)
{
    (void)state;
    load("hgx-b200");
    assert_int_equal(sizeof b200_rows / sizeof b200_rows[0], 144);
    assert_int_equal(P.naccess, 144);
    for (size_t r = 0; r < 144; r++) {
        size_t hits = 0;
        for (size_t i = 0; i < P.naccess; i++)
            if (P.access[i].gpu == b200_rows[r].gpu && P.access[i].gpu_link == b200_rows[r].link) {
                hits++;
                if (P.access[i].sw != b200_rows[r].sw ||
                    P.access[i].sw_port + 1 != b200_rows[r].guide_port)
                    fail_msg("GPU %u link %u: model says switch %u port %u (guide %u), guide says "
                             "switch %u port %u", b200_rows[r].gpu, b200_rows[r].link,
                             P.access[i].sw, P.access[i].sw_port, P.access[i].sw_port + 1,
                             b200_rows[r].sw, b200_rows[r].guide_port);
            }
        assert_int_equal(hits, 1);
    }
}

static void test_counts(void **state)
{
    (void)state;
    load("hgx-b200");
    assert_int_equal(P.ngpus, 8);
    assert_int_equal(P.nswitches, 2);
    assert_int_equal(P.ntrunks, 0);
    assert_true(P.ali);
    for (size_t s = 0; s < P.nswitches; s++) {
        assert_int_equal(P.switches[s].gen, OFM_SWITCH_GEN4);
        assert_int_equal(P.switches[s].nports, 72);
        uint32_t trunks = 1;
        assert_int_equal(ofm_platform_switch_link_count(&P, P.switches[s].id, &trunks), 72);
        assert_int_equal(trunks, 0);
        /* every port 0-71 used exactly once */
        unsigned used[72] = {0};
        for (size_t i = 0; i < P.naccess; i++)
            if (P.access[i].sw == P.switches[s].id)
                used[P.access[i].sw_port]++;
        for (unsigned port = 0; port < 72; port++)
            assert_int_equal(used[port], 1);
    }
    static const unsigned to_sw2[] = {0, 1, 3, 4, 6, 9, 11, 14, 16};
    for (size_t g = 0; g < P.ngpus; g++) {
        const ofm_gpu_desc *d = &P.gpus[g];
        assert_string_equal(d->model, "B200-SXM6-180GB");
        assert_int_equal(d->nvlinks, 18);
        assert_int_equal(d->line_rate_mbps, 50000); /* NVLink 5: 50 GB/s per link per direction */
        assert_int_equal(ofm_platform_gpu_link_count(&P, d->phys_id), 18);
        unsigned per_sw[3] = {0};
        for (size_t i = 0; i < P.naccess; i++) {
            if (P.access[i].gpu != d->phys_id)
                continue;
            per_sw[P.access[i].sw]++;
            bool want2 = false;
            for (size_t k = 0; k < 9; k++)
                want2 |= P.access[i].gpu_link == to_sw2[k];
            assert_int_equal(P.access[i].sw, want2 ? 2 : 1);
        }
        assert_int_equal(per_sw[1], 9);
        assert_int_equal(per_sw[2], 9);
        for (size_t h = 0; h < P.ngpus; h++)
            if (h != g)
                assert_int_equal(ofm_platform_nvlinks_between(&P, d->phys_id, P.gpus[h].phys_id), 18);
    }
}

static void check_partition(uint32_t id, const unsigned *gpus, size_t n, uint32_t nvlinks)
{
    const ofm_partition_desc *d = ofm_platform_partition(&P, id);
    if (!d)
        fail_msg("partition %u missing", id);
    assert_int_equal(d->ngpus, n);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(d->gpus[i], gpus[i]);
    assert_int_equal(d->nvlinks_per_gpu, nvlinks);
}

/* B200's table, never H100's: IDs 1-15, 1 = all eight, 2-3 halves, 4-7 the
 * pairs {1,2} {3,4} {5,6} {7,8}, 8-15 one GPU each. */
static void test_partitions(void **state)
{
    (void)state;
    load("hgx-b200");
    assert_int_equal(P.npartitions, 15);
    assert_null(ofm_platform_partition(&P, 0));
    assert_null(ofm_platform_partition(&P, 16));
    check_partition(1, (unsigned[]){1, 2, 3, 4, 5, 6, 7, 8}, 8, 18);
    check_partition(2, (unsigned[]){1, 2, 3, 4}, 4, 18);
    check_partition(3, (unsigned[]){5, 6, 7, 8}, 4, 18);
    check_partition(4, (unsigned[]){1, 2}, 2, 18);
    check_partition(5, (unsigned[]){3, 4}, 2, 18);
    check_partition(6, (unsigned[]){5, 6}, 2, 18);
    check_partition(7, (unsigned[]){7, 8}, 2, 18);
    for (unsigned g = 1; g <= 8; g++)
        check_partition(7 + g, (unsigned[]){g}, 1, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_row_exactly),
        cmocka_unit_test(test_counts),
        cmocka_unit_test(test_partitions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
