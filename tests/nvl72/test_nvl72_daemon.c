/* The real openfm daemon on an emulated GB200 NVL72 rack. The emulator's
 * probe - not the daemon - judges the outcome: every one of the 72 x 71 =
 * 5112 ordered GPU pairs is walked through the programmed tables in one
 * snapshot (ofm_emu_probe_all) and must arrive over all 18 links. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/daemon_harness.h"
#include "openfm/emu.h"

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

static void test_bringup_every_pair(void **state)
{
    (void)state;
    rack r;
    rack_up(&r, NULL);
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
    rack_down(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bringup_every_pair),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
