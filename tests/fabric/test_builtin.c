/* Routing plans on every built-in platform model: the full bare-metal plan
 * gives every GPU pair all the source GPU's links (H100 18, A100 12 - also
 * across the trunks of the two-board model -, HGX-2 6); partition plans give
 * exactly the partition's pairs and nothing else. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fabric/fabric.h"

static uint32_t expected_links(const char *name)
{
    static const struct { const char *name; uint32_t links; } known[] = {
        {"hgx-h100", 18}, {"hgx-a100", 12}, {"hgx-a100-2b", 12}, {"hgx-2", 6},
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(known[i].name, name) == 0)
            return known[i].links;
    return 0;
}

static void full_fabric_every_builtin(void **s)
{
    (void)s;
    ofm_platform *p = malloc(sizeof *p);
    ofm_reach_matrix *m = malloc(sizeof *m);
    size_t checked_known = 0;
    assert_true(ofm_platform_builtin_count() > 0);
    for (size_t b = 0; b < ofm_platform_builtin_count(); b++) {
        const char *name = ofm_platform_builtin_name(b);
        ofm_error err;
        assert_int_equal(ofm_platform_load(name, NULL, p, &err), 0);
        ofm_route_plan pl;
        ofm_route_plan_init(&pl);
        assert_int_equal(ofm_route_plan_build(p, NULL, NULL, 0, &pl), 0);
        assert_int_equal(ofm_reachability(p, NULL, pl.e, pl.n, m), 0);
        uint32_t want = expected_links(name);
        checked_known += want != 0;
        for (size_t i = 0; i < m->n; i++) {
            uint32_t links = ofm_fabric_gpu_usable_links(p, NULL, m->gpu[i]);
            if (want)
                assert_int_equal(links, want);
            for (size_t j = 0; j < m->n; j++) {
                if (m->links[i][j] != (i == j ? 0 : links))
                    fail_msg("%s: GPU %u -> GPU %u over %u links, expected %u", name, m->gpu[i],
                             m->gpu[j], m->links[i][j], i == j ? 0 : links);
            }
        }
        ofm_route_plan_free(&pl);
    }
    assert_true(checked_known >= 3);
    free(p);
    free(m);
}

static void partitions_every_builtin(void **s)
{
    (void)s;
    ofm_platform *p = malloc(sizeof *p);
    ofm_reach_matrix *m = malloc(sizeof *m);
    for (size_t b = 0; b < ofm_platform_builtin_count(); b++) {
        ofm_error err;
        assert_int_equal(ofm_platform_load(ofm_platform_builtin_name(b), NULL, p, &err), 0);
        for (size_t k = 0; k < p->npartitions; k++) {
            const ofm_partition_desc *part = &p->partitions[k];
            ofm_route_plan pl;
            ofm_route_plan_init(&pl);
            assert_int_equal(ofm_route_plan_build(p, NULL, part->gpus, part->ngpus, &pl), 0);
            assert_int_equal(ofm_reachability(p, NULL, pl.e, pl.n, m), 0);
            for (size_t i = 0; i < m->n; i++)
                for (size_t j = 0; j < m->n; j++) {
                    bool in_i = false, in_j = false;
                    for (uint32_t g = 0; g < part->ngpus; g++) {
                        in_i = in_i || part->gpus[g] == m->gpu[i];
                        in_j = in_j || part->gpus[g] == m->gpu[j];
                    }
                    uint32_t want = in_i && in_j && i != j
                                        ? ofm_fabric_gpu_usable_links(p, NULL, m->gpu[i]) : 0;
                    if (m->links[i][j] != want)
                        fail_msg("%s partition %u: GPU %u -> %u over %u links, expected %u",
                                 p->name, part->id, m->gpu[i], m->gpu[j], m->links[i][j], want);
                }
            ofm_route_plan_free(&pl);
        }
    }
    free(p);
    free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(full_fabric_every_builtin),
        cmocka_unit_test(partitions_every_builtin),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
