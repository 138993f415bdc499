/* Placement engine: the known traps, the hardware limits, explanations, and a
 * property test against an independent brute force over every assignment. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "mig/mig.h"

static const ofm_mig_catalog *cat(const char *n)
{
    const ofm_mig_catalog *c = ofm_mig_catalog_by_name(n);
    assert_non_null(c);
    return c;
}

static int place(const char *catname, const ofm_mig_placed *ex, size_t nex, const uint32_t *want,
                 size_t n, uint32_t *out, char *why)
{
    return ofm_mig_place(cat(catname), ex, nex, want, n, out, why, 300);
}

static void test_ordering_trap(void **state)
{
    (void)state;
    /* 1g,1g,2g,3g in that order: a naive first-fit puts the 1g's at 0 and 1,
     * the 2g at 2 and leaves no 4-aligned block for the 3g. */
    uint32_t want[] = {19, 19, 14, 9}, out[4];
    char why[300];
    assert_int_equal(place("A100-80GB", NULL, 0, want, 4, out, why), 0);
    uint32_t used = 0;
    uint32_t sizes[] = {1, 1, 2, 4};
    for (int i = 0; i < 4; i++) {
        uint32_t m = ((1u << sizes[i]) - 1) << out[i];
        assert_int_equal(used & m, 0);
        used |= m;
    }
    /* deterministic */
    uint32_t again[4];
    assert_int_equal(place("A100-80GB", NULL, 0, want, 4, again, why), 0);
    assert_memory_equal(out, again, sizeof out);
}

static void test_limits(void **state)
{
    (void)state;
    uint32_t out[8];
    char why[300];
    uint32_t me2[] = {20, 20};
    assert_int_equal(place("A100-80GB", NULL, 0, me2, 2, out, why), -1);
    assert_string_equal(why, "at most 1 instance of 1g.10gb+me");
    uint32_t g33[] = {9, 9};
    assert_int_equal(place("A100-80GB", NULL, 0, g33, 2, out, why), 0);
    uint32_t g331[] = {9, 9, 19};
    assert_int_equal(place("A100-80GB", NULL, 0, g331, 3, out, why), -1);
    assert_non_null(strstr(why, "1g.10gb"));
    uint32_t g43[] = {5, 9};
    assert_int_equal(place("A100-80GB", NULL, 0, g43, 2, out, why), 0);
    assert_int_equal(out[0], 0);
    assert_int_equal(out[1], 4);
    uint32_t seven[] = {19, 19, 19, 19, 19, 19, 19};
    assert_int_equal(place("A100-80GB", NULL, 0, seven, 7, out, why), 0);
    uint32_t eight[] = {19, 19, 19, 19, 19, 19, 19, 19};
    assert_int_equal(place("A100-80GB", NULL, 0, eight, 8, out, why), -1);
    assert_string_equal(why, "at most 7 instances of 1g.10gb");
    uint32_t mix[] = {14, 14, 14, 9}; /* 3x2g + 3g = 9 compute slices */
    assert_int_equal(place("A100-80GB", NULL, 0, mix, 4, out, why), -1);
    assert_string_equal(why, "needs 9 compute slices, the GPU has 7");
    /* A30: one media set between 1g+me and 2g+me */
    uint32_t a30[] = {21, 6};
    assert_int_equal(place("A30-24GB", NULL, 0, a30, 2, out, why), -1);
    assert_non_null(strstr(why, "media engines"));
}

static void test_explains_conflicts(void **state)
{
    (void)state;
    char why[300];
    uint32_t out[2];
    ofm_mig_placed ex[] = {{1, 14, 0}, {2, 19, 4}}; /* 2g.20gb at 0-1, 1g.10gb at 4 */
    uint32_t want[] = {9};
    assert_int_equal(place("A100-80GB", ex, 2, want, 1, out, why), -1);
    assert_string_equal(why, "3g.40gb needs slices 0-3 or 4-7; slices 0-1 are used by GI 1 "
                             "(2g.20gb), 4 by GI 2 (1g.10gb)");
    /* each fits alone, not together */
    ofm_mig_placed ex2[] = {{1, 19, 2}};
    uint32_t two[] = {15, 15, 15, 15};
    assert_int_equal(place("A100-80GB", ex2, 1, two, 4, out, why), -1);
    assert_non_null(strstr(why, "no arrangement of 1g.20gb, 1g.20gb, 1g.20gb, 1g.20gb fits"));
    assert_non_null(strstr(why, "free slices: 0-1 3-7"));
    /* single-instance check names the bad start */
    const ofm_mig_catalog *c = cat("A100-80GB");
    assert_int_equal(ofm_mig_check(c, NULL, 0, ofm_mig_profile_by_id(c, 9), 2, why, sizeof why), -1);
    assert_string_equal(why, "3g.40gb cannot start at slice 2; valid starts: 0 4");
}

/* ---- property test: independent brute force ---- */
typedef struct {
    const ofm_mig_catalog *c;
    const ofm_mig_gi_profile *items[16];
    size_t n;
    uint32_t used;
} brute;

static bool brute_rec(brute *b, size_t i)
{
    if (i == b->n)
        return true;
    const ofm_mig_gi_profile *p = b->items[i];
    for (size_t k = 0; k < p->nplacements; k++) {
        uint32_t m = ((1u << p->slices) - 1) << p->placements[k];
        if (b->used & m)
            continue;
        b->used |= m;
        bool ok = brute_rec(b, i + 1);
        b->used &= ~m;
        if (ok)
            return true;
    }
    return false;
}

static bool brute_fits(const ofm_mig_catalog *c, const ofm_mig_placed *ex, size_t nex,
                       const uint32_t *want, size_t n)
{
    brute b = {c, {0}, n, 0};
    uint32_t compute = 0, media = 0;
    for (size_t i = 0; i < nex; i++) {
        const ofm_mig_gi_profile *p = ofm_mig_profile_by_id(c, ex[i].profile_id);
        b.used |= ((1u << p->slices) - 1) << ex[i].start;
        compute += p->compute;
        media += p->media;
    }
    for (size_t i = 0; i < n; i++) {
        b.items[i] = ofm_mig_profile_by_id(c, want[i]);
        compute += b.items[i]->compute;
        media += b.items[i]->media;
        uint32_t cnt = 0;
        for (size_t j = 0; j < nex; j++)
            cnt += ex[j].profile_id == want[i];
        for (size_t j = 0; j < n; j++)
            cnt += want[j] == want[i];
        if (cnt > b.items[i]->max)
            return false;
    }
    if (compute > c->compute_slices || media > 1)
        return false;
    return brute_rec(&b, 0);
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

static void test_property_vs_brute_force(void **state)
{
    (void)state;
    size_t agree_fit = 0, agree_nofit = 0;
    for (size_t ci = 0; ci < ofm_mig_catalog_count(); ci++) {
        const ofm_mig_catalog *c = ofm_mig_catalog_at(ci);
        for (int iter = 0; iter < 400; iter++) {
            /* a few existing instances placed at random valid, free starts */
            ofm_mig_placed ex[16];
            size_t nex = 0;
            uint32_t used = 0;
            for (uint32_t k = rnd(3); k > 0; k--) {
                const ofm_mig_gi_profile *p = &c->profiles[rnd((uint32_t)c->nprofiles)];
                uint32_t st = p->placements[rnd(p->nplacements)];
                uint32_t m = ((1u << p->slices) - 1) << st;
                char why[200];
                if (used & m || ofm_mig_check(c, ex, nex, p, st, why, sizeof why))
                    continue;
                used |= m;
                ex[nex] = (ofm_mig_placed){(uint32_t)nex + 1, p->id, st};
                nex++;
            }
            uint32_t want[8], out[8];
            size_t n = 1 + rnd(7);
            for (size_t i = 0; i < n; i++)
                want[i] = c->profiles[rnd((uint32_t)c->nprofiles)].id;
            char why[300];
            bool engine = ofm_mig_place(c, ex, nex, want, n, out, why, sizeof why) == 0;
            bool truth = brute_fits(c, ex, nex, want, n);
            if (engine != truth)
                fail_msg("%s: engine %d, brute force %d (%s)", c->name, engine, truth, why);
            if (engine) {
                /* the engine's answer must be creatable one by one */
                for (size_t i = 0; i < n; i++) {
                    const ofm_mig_gi_profile *p = ofm_mig_profile_by_id(c, want[i]);
                    if (ofm_mig_check(c, ex, nex, p, out[i], why, sizeof why))
                        fail_msg("%s: engine placement rejected: %s", c->name, why);
                    ex[nex++] = (ofm_mig_placed){99, p->id, out[i]};
                }
                agree_fit++;
            } else {
                assert_true(why[0] != 0);
                agree_nofit++;
            }
        }
    }
    /* the generator must exercise both outcomes */
    assert_true(agree_fit > 100);
    assert_true(agree_nofit > 100);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ordering_trap),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_explains_conflicts),
        cmocka_unit_test(test_property_vs_brute_force),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
