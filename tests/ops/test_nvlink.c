/* fmctl nvlink against an emulated A100 board: link state, rate and far end
 * as the HAL reports them, error counters raised by fault injection, the
 * MIG refusal, and counters cleared by a reboot. */
#include <stdlib.h>
#include <unistd.h>

#include "ops_fixture.h"

static char dir[64];

static void test_nvlink_views(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/ofm-nvlink-XXXXXX");
    assert_non_null(mkdtemp(dir));
    char emu[128], err[512];
    snprintf(emu, sizeof emu, "%s/emu", dir);
    assert_int_equal(ofm_emu_create(emu, "hgx-a100", false, err, sizeof err), 0);
    ofm_hal *h;
    assert_int_equal(ofm_emu_open(emu, &h, err, sizeof err), 0);
    const ofm_platform *p = ofm_hal_platform(h);
    /* GPU index 0 and its link 3, wherever the model wires it */
    uint32_t g0 = p->gpus[0].phys_id;
    const ofm_access_link *a = NULL;
    for (size_t i = 0; i < p->naccess; i++)
        if (p->access[i].gpu == g0 && p->access[i].gpu_link == 3)
            a = &p->access[i];
    assert_non_null(a);

    /* gen2 links are down until a fabric manager trains them */
    assert_int_equal(ops_fmctl("nvlink status -i 0 --emu-dir %s", emu), 0);
    assert_non_null(strstr(ops_out, "GPU 0: NVIDIA A100-SXM4-80GB (UUID: GPU-"));
    assert_non_null(strstr(ops_out, "\t Link 3: <inactive>\n"));
    assert_int_equal(h->ops->train_port(h, a->sw, a->sw_port), 0);
    assert_int_equal(ops_fmctl("nvlink status -i 0 --emu-dir %s", emu), 0);
    char want[128];
    snprintf(want, sizeof want, "\t Link 3: 25 GB/s  (NVSwitch %u port %u)\n", a->sw, a->sw_port);
    if (!strstr(ops_out, want))
        fail_msg("status lacks '%s':\n%s", want, ops_out);

    /* fault injection raises the counters; errors adds CRC flit + data */
    assert_int_equal(ops_fmctl("emu inject link-errors --switch %u --port %u --crc-flit 5 "
                               "--crc-data 2 --replay 7 --recovery 1 --emu-dir %s",
                               a->sw, a->sw_port, emu), 0);
    assert_int_equal(ops_fmctl("nvlink errors -i 0 --emu-dir %s", emu), 0);
    if (!strstr(ops_out, "\t Link 3: Replay Errors: 7\n\t Link 3: Recovery Errors: 1\n"
                         "\t Link 3: CRC Errors: 7\n") ||
        !strstr(ops_out, "\t Link 2: Replay Errors: 0\n"))
        fail_msg("errors view:\n%s", ops_out);
    assert_int_equal(ops_fmctl("nvlink counters --json -i 0 --emu-dir %s", emu), 0);
    if (!strstr(ops_out, "\"crc_flit\":5") || !strstr(ops_out, "\"crc_data\":2") ||
        !strstr(ops_out, "\"replay\":7") || !strstr(ops_out, "\"recovery\":1"))
        fail_msg("counters --json:\n%s", ops_out);
    /* the HAL agrees with what the tool printed */
    ofm_hal_link_errors e;
    assert_int_equal(h->ops->link_errors(h, a->sw, a->sw_port, &e), 0);
    assert_int_equal(e.crc_flit, 5);
    assert_int_equal(e.replay, 7);

    /* MIG mode: nvidia-smi's refusal */
    assert_int_equal(ops_fmctl("mig --emu-dir %s -i 0 --mode 1", emu), 0);
    assert_int_equal(ops_fmctl("nvlink status -i 0 --emu-dir %s", emu), 0);
    assert_non_null(strstr(ops_out, "Nvlink queries are not supported for Devices in MIG mode"));

    /* counters start at 0 with the driver */
    assert_int_equal(ops_fmctl("emu reboot --emu-dir %s", emu), 0);
    assert_int_equal(h->ops->link_errors(h, a->sw, a->sw_port, &e), 0);
    assert_int_equal(e.crc_flit + e.crc_data + e.replay + e.recovery, 0);

    /* usage */
    assert_int_equal(ops_fmctl("nvlink bogus --emu-dir %s", emu), 2);
    assert_int_equal(ops_fmctl("nvlink status -i 99 --emu-dir %s", emu), 2);
    assert_int_equal(ops_fmctl("emu inject link-errors --switch %u --port %u --emu-dir %s",
                               a->sw, a->sw_port, emu), 2);
    ofm_hal_close(h);
    assert_int_equal(ofm_emu_destroy(emu, err, sizeof err), 0);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_nvlink_views)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
