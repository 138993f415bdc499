/* LS10 routing tables <-> routing plan: both directions, the driver's batch
 * limits, and what the inverse does with tables it did not write. The
 * read-back is simulated the way the driver returns it (remap entries
 * compacted without their index, routing ID / LAN entries with theirs). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fabric/fabric.h"
#include "hal/nvswitch/ls10_tables.h"

/* One port's tables as a driver holds them (index = target). */
typedef struct {
    nvsw_remap_entry remap[LS10_MAX_TARGET + 1];
    nvsw_rid_entry rid[LS10_MAX_TARGET + 1];
    nvsw_rlan_entry rlan[LS10_MAX_TARGET + 1];
} port_tables;

/* Apply ls10_write records the way the backend's calls would: valid ones set
 * all three entries, invalid ones clear the valid bits. */
static void apply(port_tables *pt, const ls10_write *w, size_t n, uint32_t port)
{
    for (size_t i = 0; i < n; i++) {
        if (w[i].port != port)
            continue;
        uint32_t x = w[i].index;
        if (w[i].valid) {
            pt->remap[x] = w[i].remap;
            pt->rid[x] = w[i].rid;
            pt->rlan[x] = w[i].rlan;
        } else {
            pt->remap[x].valid = pt->rid[x].valid = pt->rlan[x].valid = 0;
        }
    }
}

static int nonzero(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return 1;
    return 0;
}

/* Decode one port as read back through the driver. */
static void readback(const port_tables *pt, uint32_t sw, uint32_t port, ofm_route_entry *out,
                     size_t cap, size_t *n, size_t *bad)
{
    static nvsw_remap_entry remap[LS10_MAX_TARGET + 1];
    static nvsw_rid_idx_entry rid[LS10_MAX_TARGET + 1];
    static nvsw_rlan_idx_entry rlan[LS10_MAX_TARGET + 1];
    size_t nr = 0, ni = 0, nl = 0;
    for (uint32_t i = 0; i <= LS10_MAX_TARGET; i++) {
        if (nonzero(&pt->remap[i], sizeof pt->remap[i]))
            remap[nr++] = pt->remap[i];
        if (nonzero(&pt->rid[i], sizeof pt->rid[i]))
            rid[ni++] = (nvsw_rid_idx_entry){i, pt->rid[i]};
        if (nonzero(&pt->rlan[i], sizeof pt->rlan[i]))
            rlan[nl++] = (nvsw_rlan_idx_entry){i, pt->rlan[i]};
    }
    ls10_decode_port(sw, port, remap, nr, rid, ni, rlan, nl, out, cap, n, bad);
}

static int cmp_entry(const void *a, const void *b)
{
    const ofm_route_entry *x = a, *y = b;
    if (x->sw != y->sw)
        return x->sw < y->sw ? -1 : 1;
    if (x->in_port != y->in_port)
        return x->in_port < y->in_port ? -1 : 1;
    return x->dst_gpu < y->dst_gpu ? -1 : x->dst_gpu > y->dst_gpu;
}

/* plan (one switch) -> tables -> plan must be the identity on valid entries */
static void roundtrip(const ofm_route_entry *plan, size_t n, uint32_t sw)
{
    ls10_write *w = calloc(n + 1, sizeof *w);
    assert_non_null(w);
    size_t badi = 0;
    assert_int_equal(ls10_encode_all(plan, n, w, &badi), (int)n);
    port_tables *pt = calloc(1, sizeof *pt);
    ofm_route_entry *back = calloc(n + 64, sizeof *back);
    size_t nb = 0, bad = 0;
    for (uint32_t port = 0; port < 64; port++) {
        memset(pt, 0, sizeof *pt);
        apply(pt, w, n, port);
        readback(pt, sw, port, back, n + 64, &nb, &bad);
    }
    assert_int_equal(bad, 0);
    size_t nvalid = 0;
    ofm_route_entry *want = calloc(n + 1, sizeof *want);
    for (size_t i = 0; i < n; i++)
        if (!ofm_portset_empty(plan[i].egress))
            want[nvalid++] = plan[i];
    assert_int_equal(nb, nvalid);
    qsort(want, nvalid, sizeof *want, cmp_entry);
    qsort(back, nb, sizeof *back, cmp_entry);
    for (size_t i = 0; i < nb; i++) {
        assert_int_equal(back[i].sw, want[i].sw);
        assert_int_equal(back[i].in_port, want[i].in_port);
        assert_int_equal(back[i].dst_gpu, want[i].dst_gpu);
        assert_true(ofm_portset_eq(back[i].egress, want[i].egress));
    }
    free(w);
    free(pt);
    free(back);
    free(want);
}

/* The real H100 bare-metal plan, switch by switch. */
static void test_h100_plan_roundtrip(void **state)
{
    (void)state;
    static ofm_platform p;
    ofm_error err;
    assert_int_equal(ofm_platform_load("hgx-h100", NULL, &p, &err), 0);
    static ofm_fabric_health h;
    ofm_fabric_health_all_ok(&p, &h);
    ofm_route_plan plan;
    ofm_route_plan_init(&plan);
    assert_int_equal(ofm_route_plan_build(&p, &h, NULL, 0, &plan), 0);
    assert_int_equal(plan.n, 1008);
    for (size_t si = 0; si < p.nswitches; si++) {
        ofm_route_entry *mine = calloc(plan.n, sizeof *mine);
        size_t k = 0;
        for (size_t i = 0; i < plan.n; i++)
            if (plan.e[i].sw == p.switches[si].id)
                mine[k++] = plan.e[i];
        assert_true(k > 0);
        roundtrip(mine, k, p.switches[si].id);
        free(mine);
    }
    ofm_route_plan_free(&plan);
}

/* Random plans: unique (port, dst), up to 16 egress ports, some clears. */
static void test_random_roundtrip(void **state)
{
    (void)state;
    unsigned seed = 42;
    for (int round = 0; round < 60; round++) {
        size_t n = (size_t)(rand_r(&seed) % 300) + 1;
        ofm_route_entry *e = calloc(n, sizeof *e);
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            ofm_route_entry x = {7, (uint32_t)(rand_r(&seed) % 64), (uint32_t)(rand_r(&seed) % 40) + 1, {{0, 0}}};
            int bits = rand_r(&seed) % 17;
            for (int b = 0; b < bits; b++)
                ofm_portset_add(&x.egress, (uint32_t)(rand_r(&seed) % 64));
            int dup = 0;
            for (size_t j = 0; j < k; j++)
                dup |= e[j].in_port == x.in_port && e[j].dst_gpu == x.dst_gpu;
            if (!dup)
                e[k++] = x;
        }
        roundtrip(e, k, 7);
        free(e);
    }
}

static void test_batches(void **state)
{
    (void)state;
    /* 200 consecutive targets on one port, then a gap, then a clear */
    ofm_route_entry e[203];
    for (uint32_t i = 0; i < 200; i++)
        e[i] = (ofm_route_entry){1, 5, i + 1, {{1ull << 9, 0}}};
    e[200] = (ofm_route_entry){1, 5, 300, {{1ull << 9, 0}}};
    e[201] = (ofm_route_entry){1, 5, 301, {{0, 0}}};
    e[202] = (ofm_route_entry){1, 6, 1, {{1ull << 9, 0}}};
    ls10_write w[203];
    assert_int_equal(ls10_encode_all(e, 203, w, NULL), 203);
    ls10_run runs[16];
    size_t nr = ls10_runs(w, 203, runs, 16);
    /* 64+64+64+8, then 300 (valid) and 301 (invalid) apart, then port 6 */
    assert_int_equal(nr, 7);
    size_t want[] = {64, 64, 64, 8, 1, 1, 1};
    for (size_t i = 0; i < nr; i++) {
        assert_int_equal(runs[i].count, want[i]);
        assert_true(runs[i].count <= NVSW_TABLE_BATCH);
        const ls10_write *f = &w[runs[i].first];
        for (size_t j = 1; j < runs[i].count; j++) {
            assert_int_equal(f[j].port, f[0].port);
            assert_int_equal(f[j].index, f[0].index + j);
            assert_int_equal(f[j].valid, f[0].valid);
        }
    }
    assert_false(w[runs[5].first].valid);
}

static void test_encode_limits(void **state)
{
    (void)state;
    ls10_write w;
    ofm_route_entry e = {1, 3, 2, {{0x1ffff, 0}}}; /* 17 ports: more than one RID entry holds */
    assert_int_equal(ls10_encode(&e, &w), -1);
    e.egress = (ofm_portset){{0xffff, 0}};
    assert_int_equal(ls10_encode(&e, &w), 0);
    assert_int_equal(w.rid.nports, 16);
    assert_int_equal(w.rlan.group[0].group_size, 16);
    e.dst_gpu = 0;
    assert_int_equal(ls10_encode(&e, &w), -1);
    e.dst_gpu = LS10_MAX_TARGET + 1;
    assert_int_equal(ls10_encode(&e, &w), -1);
    e.dst_gpu = 3;
    e.in_port = 64;
    assert_int_equal(ls10_encode(&e, &w), -1);
    size_t bad = 99;
    ofm_route_entry two[2] = {{1, 1, 1, {{1, 0}}}, {1, 1, 600, {{1, 0}}}};
    ls10_write ww[2];
    assert_int_equal(ls10_encode_all(two, 2, ww, &bad), -1);
    assert_int_equal(bad, 1);
}

/* Tables written by someone else: parts that disagree carry no route and are
 * counted; an invalidated remap entry is isolation, not an inconsistency. */
static void test_decode_inconsistent(void **state)
{
    (void)state;
    ofm_route_entry e = {1, 2, 4, {{(1ull << 10) | (1ull << 11), 0}}};
    ls10_write w;
    assert_int_equal(ls10_encode(&e, &w), 0);
    port_tables *pt = calloc(1, sizeof *pt);
    ofm_route_entry out[4];
    size_t n = 0, bad = 0;

    apply(pt, &w, 1, 2);
    pt->rid[4].valid = 0; /* remap points at an invalid RID entry */
    readback(pt, 1, 2, out, 4, &n, &bad);
    assert_int_equal(n, 0);
    assert_int_equal(bad, 1);

    memset(pt, 0, sizeof *pt);
    apply(pt, &w, 1, 2);
    pt->rlan[4].group[0].group_size = 1; /* groups cover 1 of 2 ports */
    n = bad = 0;
    readback(pt, 1, 2, out, 4, &n, &bad);
    assert_int_equal(n, 0);
    assert_int_equal(bad, 1);

    memset(pt, 0, sizeof *pt);
    apply(pt, &w, 1, 2);
    pt->remap[4].address ^= 1ull << 40; /* slot address of another GPU */
    n = bad = 0;
    readback(pt, 1, 2, out, 4, &n, &bad);
    assert_int_equal(bad, 1);

    memset(pt, 0, sizeof *pt);
    apply(pt, &w, 1, 2);
    ofm_route_entry clr = {1, 2, 4, {{0, 0}}};
    ls10_write wc;
    assert_int_equal(ls10_encode(&clr, &wc), 0);
    apply(pt, &wc, 1, 2);
    n = bad = 0;
    readback(pt, 1, 2, out, 4, &n, &bad);
    assert_int_equal(n, 0);
    assert_int_equal(bad, 0);

    /* cap smaller than the routes: *n still counts all */
    memset(pt, 0, sizeof *pt);
    ofm_route_entry many[3] = {{1, 2, 1, {{1, 0}}}, {1, 2, 2, {{2, 0}}}, {1, 2, 3, {{4, 0}}}};
    ls10_write wm[3];
    assert_int_equal(ls10_encode_all(many, 3, wm, NULL), 3);
    apply(pt, wm, 3, 2);
    n = bad = 0;
    readback(pt, 1, 2, out, 1, &n, &bad);
    assert_int_equal(n, 3);
    free(pt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_h100_plan_roundtrip), cmocka_unit_test(test_random_roundtrip),
        cmocka_unit_test(test_batches),             cmocka_unit_test(test_encode_limits),
        cmocka_unit_test(test_decode_inconsistent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
