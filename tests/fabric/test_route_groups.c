/* Routing plans in group form against the per-pair form they replaced.
 *
 * ofm_route_groups_build computes one group per (switch, destination GPU);
 * ofm_route_plan_build is its expansion. The oracle below is the per-pair
 * builder openfm used before (one entry per ingress port and destination,
 * decided port by port): on every built-in platform, for random GPU sets
 * under random health (GPUs, switches, access links and trunks down), both
 * must give exactly the same entries, and the groups must be canonical (one
 * per switch and destination, no empty set). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fabric/fabric.h"
#include "fabric/portmap.h"

typedef struct {
    ofm_route_entry *e;
    size_t n, cap;
} oplan;

static void opush(oplan *pl, uint32_t sw, uint32_t in_port, uint32_t dst, ofm_portset egress)
{
    if (pl->n == pl->cap) {
        pl->cap = pl->cap ? pl->cap * 2 : 256;
        pl->e = realloc(pl->e, pl->cap * sizeof *pl->e);
        assert_non_null(pl->e);
    }
    pl->e[pl->n++] = (ofm_route_entry){.sw = sw, .in_port = in_port, .dst_gpu = dst, .egress = egress};
}

static int key_cmp(const void *a, const void *b)
{
    const ofm_route_entry *x = a, *y = b;
    if (x->sw != y->sw)
        return x->sw < y->sw ? -1 : 1;
    if (x->in_port != y->in_port)
        return x->in_port < y->in_port ? -1 : 1;
    if (x->dst_gpu != y->dst_gpu)
        return x->dst_gpu < y->dst_gpu ? -1 : 1;
    return 0;
}

/* The per-pair builder, port by port (the form before groups). */
static void oracle_build(const ofm_platform *p, const ofm_fabric_health *h, const uint32_t *gpus,
                         size_t n, oplan *out)
{
    static bool inset[OFM_MAX_GPUS];
    static ofm_portset direct[OFM_MAX_SWITCHES][OFM_MAX_GPUS];
    static bool has_src[OFM_MAX_SWITCHES][OFM_MAX_GPUS];
    memset(inset, 0, sizeof inset);
    memset(direct, 0, sizeof direct);
    memset(has_src, 0, sizeof has_src);
    out->n = 0;
    ofm_portmap *m = ofm_portmap_build(p);
    assert_non_null(m);
    size_t ngpus = p->ngpus, nsw = p->nswitches;
    for (size_t i = 0; i < ngpus; i++)
        inset[i] = gpus == NULL;
    for (size_t i = 0; gpus && i < n; i++)
        inset[ofm_fabric_gpu_index(p, gpus[i])] = true;
    for (size_t i = 0; i < ngpus; i++)
        if (h && !h->gpu_ok[i])
            inset[i] = false;
    for (size_t a = 0; a < p->naccess; a++) {
        if (!ofm_portmap_access_usable(m, h, (int)a))
            continue;
        int gi = m->gpu_of_access[a], si = m->sw_of_access[a];
        if (!inset[gi])
            continue;
        ofm_portset_add(&direct[si][gi], p->access[a].sw_port);
        for (size_t d = 0; d < ngpus; d++)
            if ((int)d != gi)
                has_src[si][d] = true;
    }
    for (size_t si = 0; si < nsw; si++) {
        uint32_t sw = p->switches[si].id, nports = p->switches[si].nports;
        if (h && !h->switch_ok[si])
            continue;
        ofm_portset egress[OFM_MAX_GPUS];
        memset(egress, 0, sizeof egress);
        for (size_t d = 0; d < ngpus; d++) {
            if (!inset[d])
                continue;
            egress[d] = direct[si][d];
            if (!ofm_portset_empty(egress[d]))
                continue;
            for (uint32_t port = 0; port < nports; port++) {
                int t = m->trunk[si][port];
                if (!ofm_portmap_trunk_usable(m, h, t))
                    continue;
                int other = m->trunk_sw_a[t] == (int)si ? m->trunk_sw_b[t] : m->trunk_sw_a[t];
                if (!ofm_portset_empty(direct[other][d]))
                    ofm_portset_add(&egress[d], port);
            }
        }
        for (uint32_t port = 0; port < nports; port++) {
            int a = m->access[si][port], t = m->trunk[si][port];
            if (a >= 0) {
                if (!ofm_portmap_access_usable(m, h, a))
                    continue;
                int src = m->gpu_of_access[a];
                if (!inset[src])
                    continue;
                for (size_t d = 0; d < ngpus; d++)
                    if ((int)d != src && inset[d] && !ofm_portset_empty(egress[d]))
                        opush(out, sw, port, p->gpus[d].phys_id, egress[d]);
            } else if (t >= 0) {
                if (!ofm_portmap_trunk_usable(m, h, t))
                    continue;
                int other = m->trunk_sw_a[t] == (int)si ? m->trunk_sw_b[t] : m->trunk_sw_a[t];
                for (size_t d = 0; d < ngpus; d++)
                    if (inset[d] && !ofm_portset_empty(direct[si][d]) &&
                        ofm_portset_empty(direct[other][d]) && has_src[other][d])
                        opush(out, sw, port, p->gpus[d].phys_id, direct[si][d]);
            }
        }
    }
    if (out->n)
        qsort(out->e, out->n, sizeof *out->e, key_cmp);
    free(m);
}

static unsigned rnd(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return (*s >> 16) & 0x7fff;
}

/* Random health: everything usable, then each device or link down with
 * probability 1/k (k random per trial, so some trials are mostly healthy). */
static void random_health(const ofm_platform *p, ofm_fabric_health *h, unsigned *seed)
{
    ofm_fabric_health_all_ok(p, h);
    unsigned k = 2 + rnd(seed) % 30;
    for (size_t i = 0; i < p->ngpus; i++)
        h->gpu_ok[i] = rnd(seed) % (k * 4) != 0;
    for (size_t i = 0; i < p->nswitches; i++)
        h->switch_ok[i] = rnd(seed) % (k * 2) != 0;
    for (size_t i = 0; i < p->naccess; i++)
        h->access_ok[i] = rnd(seed) % k != 0;
    for (size_t i = 0; i < p->ntrunks; i++)
        h->trunk_ok[i] = rnd(seed) % k != 0;
}

static void compare(const ofm_platform *p, const ofm_fabric_health *h, const uint32_t *gpus,
                    size_t n, unsigned trial)
{
    oplan want = {0};
    oracle_build(p, h, gpus, n, &want);
    ofm_route_plan got;
    ofm_route_plan_init(&got);
    assert_int_equal(ofm_route_plan_build(p, h, gpus, n, &got), 0);
    if (got.n != want.n)
        fail_msg("%s trial %u (%zu GPUs%s): %zu entries, the per-pair form has %zu", p->name, trial,
                 n, h ? ", faults" : "", got.n, want.n);
    for (size_t i = 0; i < got.n; i++)
        if (key_cmp(&got.e[i], &want.e[i]) || !ofm_portset_eq(got.e[i].egress, want.e[i].egress))
            fail_msg("%s trial %u: entry %zu differs: switch %u port %u GPU %u, per-pair form: "
                     "switch %u port %u GPU %u", p->name, trial, i, got.e[i].sw, got.e[i].in_port,
                     got.e[i].dst_gpu, want.e[i].sw, want.e[i].in_port, want.e[i].dst_gpu);

    /* the groups: canonical, and their HAL expansion is the same plan */
    ofm_route_groups gs = {0};
    assert_int_equal(ofm_route_groups_build(p, h, gpus, n, &gs), 0);
    size_t total = 0;
    for (size_t i = 0; i < gs.n; i++) {
        assert_false(ofm_portset_empty(gs.g[i].in_ports));
        assert_false(ofm_portset_empty(gs.g[i].egress));
        for (size_t j = 0; j < i; j++)
            assert_false(gs.g[j].sw == gs.g[i].sw && gs.g[j].dst_gpu == gs.g[i].dst_gpu);
        total += ofm_portset_count(gs.g[i].in_ports);
    }
    assert_int_equal(total, want.n);
    ofm_route_entry *e;
    size_t ne;
    assert_int_equal(ofm_route_groups_expand(gs.g, gs.n, &e, &ne), 0);
    assert_int_equal(ne, want.n);
    if (ne)
        qsort(e, ne, sizeof *e, key_cmp);
    for (size_t i = 0; i < ne; i++)
        assert_true(!key_cmp(&e[i], &want.e[i]) && ofm_portset_eq(e[i].egress, want.e[i].egress));
    free(e);
    ofm_route_groups_free(&gs);
    ofm_route_plan_free(&got);
    free(want.e);
}

static void every_builtin_random(void **st)
{
    (void)st;
    ofm_platform *p = malloc(sizeof *p);
    ofm_fabric_health *h = malloc(sizeof *h);
    assert_non_null(p);
    assert_non_null(h);
    unsigned seed = 20261130u;
    for (size_t b = 0; b < ofm_platform_builtin_count(); b++) {
        ofm_error err;
        assert_int_equal(ofm_platform_load(ofm_platform_builtin_name(b), NULL, p, &err), 0);
        compare(p, NULL, NULL, 0, 0); /* the whole fabric, all healthy */
        unsigned trials = p->ngpus > 16 ? 12 : 40;
        for (unsigned t = 1; t <= trials; t++) {
            uint32_t gpus[OFM_MAX_GPUS];
            size_t n = 0;
            unsigned keep = 1 + rnd(&seed) % 4; /* sparse to full sets */
            for (size_t i = 0; i < p->ngpus; i++)
                if (rnd(&seed) % 4 < keep)
                    gpus[n++] = p->gpus[i].phys_id;
            bool faults = rnd(&seed) % 3 != 0;
            if (faults)
                random_health(p, h, &seed);
            compare(p, faults ? h : NULL, t % 7 ? gpus : NULL, t % 7 ? n : 0, t);
        }
    }
    free(p);
    free(h);
}

/* GB200 NVL72: the whole domain is one group per (chip, GPU). */
/* The lowest member, on either side of the 64-bit word boundary. */
static void portset_first(void **st)
{
    (void)st;
    static const uint32_t cases[][2] = {{0, 5}, {5, 63}, {63, 64}, {64, 71}, {70, 127}, {127, 127}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ofm_portset s = ofm_portset_of(cases[i][1]);
        ofm_portset_add(&s, cases[i][0]);
        assert_int_equal(ofm_portset_first(s), cases[i][0]);
    }
}

static void nvl72_whole_domain_is_1296_groups(void **st)
{
    (void)st;
    ofm_platform *p = malloc(sizeof *p);
    ofm_error err;
    assert_int_equal(ofm_platform_load("gb200-nvl72", NULL, p, &err), 0);
    ofm_route_groups gs = {0};
    assert_int_equal(ofm_route_groups_build(p, NULL, NULL, 0, &gs), 0);
    assert_int_equal(gs.n, 18 * 72);
    for (size_t i = 0; i < gs.n; i++) {
        assert_int_equal(ofm_portset_count(gs.g[i].in_ports), 71);
        assert_int_equal(ofm_portset_count(gs.g[i].egress), 1);
    }
    ofm_route_groups_free(&gs);
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_builtin_random),
        cmocka_unit_test(nvl72_whole_domain_is_1296_groups),
        cmocka_unit_test(portset_first),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
