/* Routing plans on synthetic boards: full-fabric reachability, subsets,
 * link failures, merge and diff - all judged by the reachability walk. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "synth.h"

static ofm_platform *new_platform(const synth_cfg *c)
{
    ofm_platform *p = malloc(sizeof *p);
    assert_non_null(p);
    synth_build(c, p);
    return p;
}

static void reach_of(const ofm_platform *p, const ofm_fabric_health *h, const ofm_route_plan *pl,
                     ofm_reach_matrix *m)
{
    assert_int_equal(ofm_reachability(p, h, pl->e, pl->n, m), 0);
}

static void check_full(const synth_cfg *c)
{
    ofm_platform *p = new_platform(c);
    ofm_route_plan pl;
    ofm_route_plan_init(&pl);
    assert_int_equal(ofm_route_plan_build(p, NULL, NULL, 0, &pl), 0);
    assert_true(pl.n > 0);
    ofm_reach_matrix *m = malloc(sizeof *m);
    reach_of(p, NULL, &pl, m);
    uint32_t expect = c->links_per_gpu_sw * c->sw_per_board;
    for (size_t i = 0; i < m->n; i++)
        for (size_t j = 0; j < m->n; j++)
            assert_int_equal(m->links[i][j], i == j ? 0 : expect);
    ofm_route_plan_free(&pl);
    free(m);
    free(p);
}

static void full_h100(void **s) { (void)s; check_full(&SYNTH_H100); }
static void full_a100(void **s) { (void)s; check_full(&SYNTH_A100); }
static void full_a100_2b(void **s) { (void)s; check_full(&SYNTH_A100_2B); }
static void full_hgx2(void **s) { (void)s; check_full(&SYNTH_HGX2); }

static void plan_is_sorted_and_unique(void **s)
{
    (void)s;
    ofm_platform *p = new_platform(&SYNTH_A100_2B);
    ofm_route_plan pl;
    ofm_route_plan_init(&pl);
    assert_int_equal(ofm_route_plan_build(p, NULL, NULL, 0, &pl), 0);
    for (size_t i = 1; i < pl.n; i++) {
        const ofm_route_entry *a = &pl.e[i - 1], *b = &pl.e[i];
        int order = a->sw != b->sw ? (a->sw < b->sw ? -1 : 1)
                    : a->in_port != b->in_port ? (a->in_port < b->in_port ? -1 : 1)
                    : a->dst_gpu != b->dst_gpu ? (a->dst_gpu < b->dst_gpu ? -1 : 1) : 0;
        assert_int_equal(order, -1);
        assert_false(ofm_portset_empty(b->egress));
    }
    ofm_route_plan_free(&pl);
    free(p);
}

static void subset_isolated(void **s)
{
    (void)s;
    ofm_platform *p = new_platform(&SYNTH_A100_2B);
    const uint32_t set[] = {1, 2, 9};  /* spans the two boards */
    ofm_route_plan pl;
    ofm_route_plan_init(&pl);
    assert_int_equal(ofm_route_plan_build(p, NULL, set, 3, &pl), 0);
    ofm_reach_matrix *m = malloc(sizeof *m);
    reach_of(p, NULL, &pl, m);
    for (size_t i = 0; i < m->n; i++)
        for (size_t j = 0; j < m->n; j++) {
            bool in_i = m->gpu[i] == 1 || m->gpu[i] == 2 || m->gpu[i] == 9;
            bool in_j = m->gpu[j] == 1 || m->gpu[j] == 2 || m->gpu[j] == 9;
            assert_int_equal(m->links[i][j], (in_i && in_j && i != j) ? 12 : 0);
        }
    /* No entry leads to a GPU outside the set or starts at one of its ports. */
    for (size_t i = 0; i < pl.n; i++) {
        uint32_t d = pl.e[i].dst_gpu;
        assert_true(d == 1 || d == 2 || d == 9);
        int a = ofm_fabric_access_at(p, pl.e[i].sw, pl.e[i].in_port);
        if (a >= 0) {
            uint32_t src = p->access[a].gpu;
            assert_true(src == 1 || src == 2 || src == 9);
        }
    }
    ofm_route_plan_free(&pl);
    free(m);
    free(p);
}

static void subset_one_board_uses_no_trunk(void **s)
{
    (void)s;
    ofm_platform *p = new_platform(&SYNTH_A100_2B);
    const uint32_t set[] = {3, 4, 5, 6};
    ofm_route_plan pl;
    ofm_route_plan_init(&pl);
    assert_int_equal(ofm_route_plan_build(p, NULL, set, 4, &pl), 0);
    for (size_t i = 0; i < pl.n; i++) {
        assert_int_equal(ofm_fabric_trunk_at(p, pl.e[i].sw, pl.e[i].in_port), -1);
        for (uint32_t port = 0; port < OFM_PORTSET_BITS; port++)
            if (ofm_portset_has(pl.e[i].egress, port))
                assert_int_equal(ofm_fabric_trunk_at(p, pl.e[i].sw, port), -1);
    }
    ofm_route_plan_free(&pl);
    free(p);
}

static void unknown_gpu_rejected(void **s)
{
    (void)s;
    ofm_platform *p = new_platform(&SYNTH_H100);
    const uint32_t set[] = {1, 42};
    ofm_route_plan pl;
    ofm_route_plan_init(&pl);
    assert_int_equal(ofm_route_plan_build(p, NULL, set, 2, &pl), -1);
    assert_int_equal(pl.n, 0);
    ofm_route_plan_free(&pl);
    free(p);
}

static void failed_access_link_reduces_pair(void **s)
{
    (void)s;
    ofm_platform *p = new_platform(&SYNTH_H100);
    ofm_fabric_health h;
    ofm_fabric_health_all_ok(p, &h);
    int a = ofm_fabric_access_at(p, 2, 0);  /* GPU 1's first link on switch 2 */
    assert_true(a >= 0);
    assert_int_equal(p->access[a].gpu, 1);
    h.access_ok[a] = false;
    ofm_route_plan pl;
    ofm_route_plan_init(&pl);
    assert_int_equal(ofm_route_plan_build(p, &h, NULL, 0, &pl), 0);
    ofm_reach_matrix *m = malloc(sizeof *m);
    reach_of(p, &h, &pl, m);
    assert_int_equal(m->links[0][1], 15);  /* GPU 1 -> 2: one of 16 links gone */
    assert_int_equal(m->links[1][0], 16);  /* GPU 2 -> 1: its links still deliver */
    assert_int_equal(m->links[1][2], 16);
    assert_int_equal(ofm_fabric_gpu_usable_links(p, &h, 1), 15);
    ofm_route_plan_free(&pl);
    free(m);
    free(p);
}

static void unusable_gpu_gets_no_routes(void **s)
{
    (void)s;
    ofm_platform *p = new_platform(&SYNTH_A100);
    ofm_fabric_health h;
    ofm_fabric_health_all_ok(p, &h);
    h.gpu_ok[4] = false;  /* GPU 5 */
    ofm_route_plan pl;
    ofm_route_plan_init(&pl);
    assert_int_equal(ofm_route_plan_build(p, &h, NULL, 0, &pl), 0);
    ofm_reach_matrix *m = malloc(sizeof *m);
    reach_of(p, NULL, &pl, m);
    for (size_t i = 0; i < m->n; i++) {
        assert_int_equal(m->links[i][4], 0);
        assert_int_equal(m->links[4][i], 0);
    }
    assert_int_equal(m->links[0][1], 12);
    ofm_route_plan_free(&pl);
    free(m);
    free(p);
}

static void trunk_failure_spreads_over_rest(void **s)
{
    (void)s;
    ofm_platform *p = new_platform(&SYNTH_HGX2);
    ofm_fabric_health h;
    ofm_fabric_health_all_ok(p, &h);
    h.trunk_ok[0] = false;  /* one of the 8 trunks of switch pair 1/7 */
    ofm_route_plan pl;
    ofm_route_plan_init(&pl);
    assert_int_equal(ofm_route_plan_build(p, &h, NULL, 0, &pl), 0);
    ofm_reach_matrix *m = malloc(sizeof *m);
    reach_of(p, &h, &pl, m);
    assert_int_equal(m->links[0][8], 6);  /* the other 7 trunks still carry the pair */
    /* Written as if the trunk were fine, the walk sees the dead trunk. */
    ofm_route_plan full;
    ofm_route_plan_init(&full);
    assert_int_equal(ofm_route_plan_build(p, NULL, NULL, 0, &full), 0);
    reach_of(p, &h, &full, m);
    assert_int_equal(m->links[0][8], 5);
    assert_int_equal(m->links[0][1], 6);
    ofm_route_plan_free(&pl);
    ofm_route_plan_free(&full);
    free(m);
    free(p);
}

static void bad_egress_is_not_reach(void **s)
{
    (void)s;
    ofm_platform *p = new_platform(&SYNTH_A100);
    const uint32_t set[] = {1, 2};
    ofm_route_plan pl;
    ofm_route_plan_init(&pl);
    assert_int_equal(ofm_route_plan_build(p, NULL, set, 2, &pl), 0);
    /* Misroute one entry: also send GPU 1's traffic for GPU 2 to GPU 3's port. */
    int a3 = -1;
    for (size_t i = 0; i < p->naccess; i++)
        if (p->access[i].gpu == 3 && p->access[i].sw == pl.e[0].sw)
            a3 = (int)i;
    assert_true(a3 >= 0);
    ofm_portset_add(&pl.e[0].egress, p->access[a3].sw_port);
    ofm_reach_matrix *m = malloc(sizeof *m);
    reach_of(p, NULL, &pl, m);
    int src = ofm_fabric_gpu_index(p, p->access[ofm_fabric_access_at(p, pl.e[0].sw, pl.e[0].in_port)].gpu);
    int dst = ofm_fabric_gpu_index(p, pl.e[0].dst_gpu);
    assert_int_equal(m->links[src][dst], 11);
    ofm_route_plan_free(&pl);
    free(m);
    free(p);
}

static void merge_keeps_partitions_apart(void **s)
{
    (void)s;
    ofm_platform *p = new_platform(&SYNTH_A100);
    const uint32_t a[] = {1, 2}, b[] = {3, 4};
    ofm_route_plan pa, pb;
    ofm_route_plan_init(&pa);
    ofm_route_plan_init(&pb);
    assert_int_equal(ofm_route_plan_build(p, NULL, a, 2, &pa), 0);
    assert_int_equal(ofm_route_plan_build(p, NULL, b, 2, &pb), 0);
    size_t na = pa.n;
    assert_int_equal(ofm_route_plan_merge(&pa, &pb), 0);
    assert_int_equal(pa.n, na + pb.n);
    ofm_reach_matrix *m = malloc(sizeof *m);
    reach_of(p, NULL, &pa, m);
    assert_int_equal(m->links[0][1], 12);
    assert_int_equal(m->links[2][3], 12);
    assert_int_equal(m->links[0][2], 0);
    assert_int_equal(m->links[3][1], 0);
    ofm_route_plan_free(&pa);
    ofm_route_plan_free(&pb);
    free(m);
    free(p);
}

/* Apply a diff to a table the way a switch would: an empty egress set clears. */
static void apply(ofm_route_plan *table, const ofm_route_plan *diff)
{
    for (size_t i = 0; i < diff->n; i++) {
        const ofm_route_entry *d = &diff->e[i];
        size_t k;
        for (k = 0; k < table->n; k++)
            if (table->e[k].sw == d->sw && table->e[k].in_port == d->in_port &&
                table->e[k].dst_gpu == d->dst_gpu)
                break;
        if (k == table->n) {
            assert_false(ofm_portset_empty(d->egress));
            ofm_route_plan one = {.e = (ofm_route_entry *)d, .n = 1, .cap = 1};
            assert_int_equal(ofm_route_plan_merge(table, &one), 0);
        } else if (ofm_portset_empty(d->egress)) {
            table->e[k] = table->e[--table->n];
        } else {
            table->e[k].egress = d->egress;
        }
    }
    ofm_route_plan empty = {0};
    assert_int_equal(ofm_route_plan_merge(table, &empty), 0); /* re-sort */
}

static void diff_transforms_plans(void **s)
{
    (void)s;
    ofm_platform *p = new_platform(&SYNTH_A100_2B);
    const uint32_t a[] = {1, 2, 3, 4}, b[] = {3, 4, 9, 10};
    ofm_route_plan pa, pb, d, t;
    ofm_route_plan_init(&pa);
    ofm_route_plan_init(&pb);
    ofm_route_plan_init(&d);
    ofm_route_plan_init(&t);
    assert_int_equal(ofm_route_plan_build(p, NULL, a, 4, &pa), 0);
    assert_int_equal(ofm_route_plan_build(p, NULL, b, 4, &pb), 0);
    assert_int_equal(ofm_route_plan_diff(&pa, &pb, &d), 0);
    assert_true(d.n > 0);
    assert_int_equal(ofm_route_plan_merge(&t, &pa), 0);
    apply(&t, &d);
    assert_int_equal(t.n, pb.n);
    for (size_t i = 0; i < pb.n; i++) {  /* field by field: entries have padding */
        assert_int_equal(t.e[i].sw, pb.e[i].sw);
        assert_int_equal(t.e[i].in_port, pb.e[i].in_port);
        assert_int_equal(t.e[i].dst_gpu, pb.e[i].dst_gpu);
        assert_true(ofm_portset_eq(t.e[i].egress, pb.e[i].egress));
    }

    /* No change, no writes. */
    assert_int_equal(ofm_route_plan_diff(&pb, &pb, &d), 0);
    assert_int_equal(d.n, 0);
    /* From a plan to nothing: every entry cleared. */
    ofm_route_plan empty;
    ofm_route_plan_init(&empty);
    assert_int_equal(ofm_route_plan_diff(&pa, &empty, &d), 0);
    assert_int_equal(d.n, pa.n);
    for (size_t i = 0; i < d.n; i++)
        assert_true(ofm_portset_empty(d.e[i].egress));
    ofm_route_plan_free(&pa);
    ofm_route_plan_free(&pb);
    ofm_route_plan_free(&d);
    ofm_route_plan_free(&t);
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(full_h100),
        cmocka_unit_test(full_a100),
        cmocka_unit_test(full_a100_2b),
        cmocka_unit_test(full_hgx2),
        cmocka_unit_test(plan_is_sorted_and_unique),
        cmocka_unit_test(subset_isolated),
        cmocka_unit_test(subset_one_board_uses_no_trunk),
        cmocka_unit_test(unknown_gpu_rejected),
        cmocka_unit_test(failed_access_link_reduces_pair),
        cmocka_unit_test(unusable_gpu_gets_no_routes),
        cmocka_unit_test(trunk_failure_spreads_over_rest),
        cmocka_unit_test(bad_egress_is_not_reach),
        cmocka_unit_test(merge_keeps_partitions_apart),
        cmocka_unit_test(diff_transforms_plans),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
