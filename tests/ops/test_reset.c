/* GPU reset (FM §13.9): `fmctl reset gpu` is refused while a client holds the
 * GPU and then changes nothing; once released the GPU resets. On an A100
 * system the reset takes the GPU's switch-side links down: with the fabric
 * manager running it retrains them, without one fmctl does, and the
 * emulator's traffic probe reaches the GPU over all 12 links again. Resetting
 * an NVSwitch alone is refused. */
#include "ops_fixture.h"

static uint32_t probe_links(ofm_hal *h, uint32_t src, uint32_t dst)
{
    ofm_emu_probe_result r;
    assert_int_equal(ofm_emu_probe(h, src, dst, true, &r), 0);
    return r.links;
}

/* Link-down events the reset itself caused for `gpu` after *cursor. */
static size_t reset_downs(ofm_hal *h, uint64_t *cursor, uint32_t gpu)
{
    ofm_hal_event ev[256];
    size_t n, downs = 0;
    do {
        assert_int_equal(h->ops->read_events(h, cursor, ev, 256, &n), 0);
        for (size_t i = 0; i < n; i++)
            if (ev[i].kind == OFM_EVT_LINK_DOWN && ev[i].gpu == gpu && strstr(ev[i].detail, "GPU reset"))
                downs++;
    } while (n == 256);
    return downs;
}

static dh_daemon d;

/* A failed assertion must not leave the daemon running. */
static int teardown(void **state)
{
    (void)state;
    if (d.pid > 0)
        dh_stop(&d, 9);
    dh_cleanup(&d);
    return 0;
}

static void test_reset_gpu_a100(void **state)
{
    (void)state;
    assert_int_equal(dh_init(&d, "hgx-a100"), 0);
    /* routing stays when the daemon exits, so the links are what changes */
    assert_int_equal(dh_write_config(&d, "ABORT_CUDA_JOBS_ON_FM_EXIT=0\n"), 0);
    ofm_hal *h = ops_open(&d);
    const ofm_platform *p = ofm_hal_platform(h);
    uint32_t gpu = p->gpus[2].phys_id, peer = p->gpus[0].phys_id;
    uint64_t cursor = 0;
    reset_downs(h, &cursor, gpu);

    assert_int_equal(dh_start(&d, NULL, 20000, NULL), 0);
    assert_int_equal(probe_links(h, peer, gpu), 12);

    /* a client holds it (fmctl mig -i takes the GPU's index): refused,
     * nothing changes */
    assert_int_equal(ops_fmctl("mig hold -i 2 --emu-dir %s", d.emu), 0);
    assert_int_equal(ops_fmctl("reset gpu %u --emu-dir %s", gpu, d.emu), 1);
    if (!strstr(ops_out, "in use by 1 client"))
        fail_msg("refusal does not name the holder count:\n%s", ops_out);
    uint32_t holders = 0;
    assert_int_equal(h->ops->gpu_hold(h, gpu, 0, &holders), 0);
    assert_int_equal(holders, 1);
    assert_int_equal(reset_downs(h, &cursor, gpu), 0);
    assert_int_equal(probe_links(h, peer, gpu), 12);
    assert_int_equal(ops_fmctl("mig release -i 2 --emu-dir %s", d.emu), 0);

    /* fabric manager running: it resets and retrains the links */
    assert_int_equal(ops_fmctl("reset gpu %u --emu-dir %s", gpu, d.emu), 0);
    if (!strstr(ops_out, "the fabric manager"))
        fail_msg("reset under a fabric manager says:\n%s", ops_out);
    assert_int_equal(probe_links(h, peer, gpu), 12);
    assert_int_equal(dh_stop(&d, 0), 0);

    /* no fabric manager: the reset takes the 12 links down, fmctl retrains them */
    uint32_t before = probe_links(h, peer, gpu);
    assert_int_equal(before, 12);
    assert_int_equal(ops_fmctl("reset gpu %u --emu-dir %s", gpu, d.emu), 0);
    if (!strstr(ops_out, "fmctl retrained its 12 switch-side links"))
        fail_msg("reset without a fabric manager says:\n%s", ops_out);
    assert_int_equal(reset_downs(h, &cursor, gpu), 12);
    assert_int_equal(probe_links(h, peer, gpu), 12);

    ofm_hal_close(h);
}

static void test_reset_usage(void **state)
{
    (void)state;
    dh_daemon u;
    assert_int_equal(dh_init(&u, "hgx-a100"), 0);
    assert_int_equal(ops_fmctl("reset switch 0 --emu-dir %s", u.emu), 1);
    assert_non_null(strstr(ops_out, "resetting an NVSwitch alone is not supported"));
    assert_int_equal(ops_fmctl("reset gpu 99 --emu-dir %s", u.emu), 1);
    assert_non_null(strstr(ops_out, "no GPU 99"));
    assert_int_equal(ops_fmctl("reset gpu x1 --emu-dir %s", u.emu), 2);
    assert_non_null(strstr(ops_out, "not a physical ID"));
    assert_int_equal(ops_fmctl("reset --emu-dir %s", u.emu), 2);
    assert_int_equal(ops_fmctl("reset nic 0 --emu-dir %s", u.emu), 2);
    assert_int_equal(ops_fmctl("reset gpu 0 1 --emu-dir %s", u.emu), 2);
    assert_int_equal(ops_fmctl("reset --help"), 0);
    assert_non_null(strstr(ops_out, "usage: fmctl reset gpu ID"));
    dh_cleanup(&u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reset_usage),
        cmocka_unit_test_teardown(test_reset_gpu_a100, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
