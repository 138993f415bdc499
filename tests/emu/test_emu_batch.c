/* The emulator's batch hooks answer exactly what their one-at-a-time forms
 * answer: link_errors_many against link_errors (counters on access ports and
 * on both ends of trunks, ports and switches that do not exist),
 * fabric_get_many against fabric_get (registered, failed, missing and
 * unknown GPUs), and mig_mode_get on a GPU without MIG the same error with
 * or without the MIG files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "emu/emu_fixture.h"

static void link_errors_many_matches(const char *platform, unsigned seed)
{
    char dir[64];
    ofm_hal *h = fixture_open(platform, dir, sizeof dir);
    assert_non_null(h);
    assert_non_null(h->ops->link_errors_many);
    const ofm_platform *p = ofm_emu_platform(h);
    srand(seed);
    /* counters on random ports, and the batch before any counter exists */
    for (int round = 0; round < 2; round++) {
        for (int k = 0; round && k < 40; k++) {
            size_t si = (size_t)rand() % p->nswitches;
            uint32_t port = (uint32_t)rand() % p->switches[si].nports;
            ofm_hal_link_errors add = {.crc_flit = (uint64_t)rand() % 9, .crc_data = 1,
                                       .replay = (uint64_t)rand() % 3, .recovery = 2};
            assert_int_equal(ofm_emu_inject_link_errors(h, p->switches[si].id, port, &add),
                             OFM_HAL_OK);
        }
        static uint32_t sw[OFM_MAX_SWITCHES * OFM_MAX_SWITCH_PORTS + 2],
            port[OFM_MAX_SWITCHES * OFM_MAX_SWITCH_PORTS + 2];
        size_t n = 0;
        for (size_t si = 0; si < p->nswitches; si++)
            for (uint32_t q = 0; q < p->switches[si].nports; q++)
                sw[n] = p->switches[si].id, port[n++] = q;
        sw[n] = p->switches[0].id, port[n++] = p->switches[0].nports; /* no such port */
        sw[n] = 9999, port[n++] = 0;                                   /* no such switch */
        static ofm_hal_link_errors many[OFM_MAX_SWITCHES * OFM_MAX_SWITCH_PORTS + 2];
        static int rcs[OFM_MAX_SWITCHES * OFM_MAX_SWITCH_PORTS + 2];
        assert_int_equal(h->ops->link_errors_many(h, sw, port, n, many, rcs), OFM_HAL_OK);
        size_t nonzero = 0;
        for (size_t i = 0; i < n; i++) {
            ofm_hal_link_errors one;
            int rc = h->ops->link_errors(h, sw[i], port[i], &one);
            assert_int_equal(rcs[i], rc);
            if (rc != OFM_HAL_OK)
                continue;
            assert_int_equal(many[i].prov, one.prov);
            assert_true(many[i].crc_flit == one.crc_flit && many[i].crc_data == one.crc_data &&
                        many[i].replay == one.replay && many[i].recovery == one.recovery);
            nonzero += one.crc_data != 0;
        }
        assert_int_equal(rcs[n - 1] != OFM_HAL_OK && rcs[n - 2] != OFM_HAL_OK, true);
        if (round)
            assert_true(nonzero > 0);
    }
    fixture_close(h, dir);
}

static void test_link_errors_many(void **state)
{
    (void)state;
    link_errors_many_matches("hgx-a100-2b", 1); /* trunks: one record for both ends */
    link_errors_many_matches("gb200-nvl72", 2);
}

static void test_fabric_get_many(void **state)
{
    (void)state;
    char dir[64];
    ofm_hal *h = fixture_open("hgx-h100", dir, sizeof dir);
    assert_non_null(h);
    assert_non_null(h->ops->fabric_get_many);
    assert_int_equal(h->ops->fabric_set(h, 1, OFM_FABRIC_COMPLETED, 0), OFM_HAL_OK);
    assert_int_equal(h->ops->fabric_set(h, 2, OFM_FABRIC_COMPLETED, 7), OFM_HAL_OK);
    assert_int_equal(ofm_emu_inject_gpu(h, 3, OFM_DEV_MISSING), OFM_HAL_OK);
    assert_int_equal(ofm_emu_inject_gpu(h, 4, OFM_DEV_FAILED), OFM_HAL_OK);
    uint32_t ids[] = {1, 2, 3, 4, 5, 6, 7, 8, 42};
    size_t n = sizeof ids / sizeof ids[0];
    ofm_hal_fabric_info many[9];
    int rcs[9];
    assert_int_equal(h->ops->fabric_get_many(h, ids, n, many, rcs), OFM_HAL_OK);
    for (size_t i = 0; i < n; i++) {
        ofm_hal_fabric_info one;
        int rc = h->ops->fabric_get(h, ids[i], &one);
        assert_int_equal(rcs[i], rc);
        if (rc == OFM_HAL_OK)
            assert_memory_equal(&many[i], &one, sizeof one);
    }
    assert_int_equal(many[0].state, OFM_FABRIC_COMPLETED);
    assert_int_equal(many[1].status, 7);
    assert_int_not_equal(rcs[2], OFM_HAL_OK); /* missing */
    assert_int_not_equal(rcs[8], OFM_HAL_OK); /* unknown */
    fixture_close(h, dir);
}

/* GB200 has no MIG catalog in the model: the answer is ENOTSUP, and an
 * unknown GPU EINVAL, as they were when the MIG files were read first. */
static void test_mig_mode_without_mig(void **state)
{
    (void)state;
    char dir[64];
    ofm_hal *h = fixture_open("gb200-nvl72", dir, sizeof dir);
    assert_non_null(h);
    ofm_hal_mig_mode mm;
    assert_int_equal(h->ops->mig_mode_get(h, 1, &mm), OFM_HAL_ENOTSUP);
    assert_non_null(strstr(ofm_hal_last_error(h), "does not support MIG"));
    assert_int_equal(h->ops->mig_mode_get(h, 999, &mm), OFM_HAL_EINVAL);
    fixture_close(h, dir);
    h = fixture_open("hgx-h100", dir, sizeof dir);
    assert_non_null(h);
    assert_int_equal(h->ops->mig_mode_get(h, 1, &mm), OFM_HAL_OK);
    assert_false(mm.current);
    fixture_close(h, dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_link_errors_many),
        cmocka_unit_test(test_fabric_get_many),
        cmocka_unit_test(test_mig_mode_without_mig),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
