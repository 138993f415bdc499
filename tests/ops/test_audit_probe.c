/* After a link failure, `fmctl audit` and the emulator's probe count the same
 * links towards the GPU behind the dead link. The switches spray a source
 * link's traffic over every egress port of the entry, so a source link whose
 * entry still names the dead port loses part of its traffic: it does not
 * count (docs/routing.md). On hgx-h100, with GPU 1's link on NVSwitch 2 down,
 * every other GPU reaches GPU 1 over 13 links (its 5 links into NVSwitch 2
 * are out), and GPU 1 sends over its 17 live links. */
#include "ops_fixture.h"

/* "fmctl audit -c -f" rows into m[src][dst] (model order). */
static void audit_matrix(const dh_daemon *d, size_t n, uint32_t m[][OFM_MAX_GPUS])
{
    assert_int_equal(ops_fmctl("audit -c -f --emu-dir %s", d->emu), 0);
    char *save = NULL, *line = strtok_r(ops_out, "\n", &save); /* header */
    for (size_t i = 0; i < n; i++) {
        line = strtok_r(NULL, "\n", &save);
        assert_non_null(line);
        char *f = strchr(line, ',');
        for (size_t j = 0; j < n; j++) {
            assert_non_null(f);
            m[i][j] = f[1] == 'X' ? 0 : (uint32_t)strtoul(f + 1, NULL, 10);
            f = strchr(f + 1, ',');
        }
    }
}

static void test_audit_and_probe_agree_after_link_failure(void **state)
{
    (void)state;
    dh_daemon d;
    assert_int_equal(dh_init(&d, "hgx-h100"), 0);
    assert_int_equal(dh_write_config(&d, "OPENFM_METRICS_LISTEN=\n"), 0);
    assert_int_equal(dh_start(&d, NULL, 20000, NULL), 0);
    ofm_hal *h = ops_open(&d);
    const ofm_platform *p = ofm_hal_platform(h);
    const ofm_access_link *dead = NULL;
    for (size_t i = 0; i < p->naccess && !dead; i++)
        if (p->access[i].gpu == 1 && p->access[i].sw == 2)
            dead = &p->access[i];
    assert_non_null(dead);
    uint32_t into_sw = 0; /* links each other GPU has into that switch */
    for (size_t i = 0; i < p->naccess; i++)
        into_sw += p->access[i].gpu == 2 && p->access[i].sw == dead->sw;
    assert_int_equal(ops_fmctl("emu inject link-down --switch %u --port %u --emu-dir %s", dead->sw,
                               dead->sw_port, d.emu), 0);
    /* the routes stay (H100: nothing is torn down at exit); both tools read
     * the hardware, so no daemon is left behind if an assertion fails */
    assert_int_equal(dh_stop(&d, 0), 0);

    static uint32_t audit[OFM_MAX_GPUS][OFM_MAX_GPUS];
    audit_matrix(&d, p->ngpus, audit);
    ofm_emu_probe_result *r = calloc(p->ngpus * p->ngpus, sizeof *r);
    assert_non_null(r);
    assert_int_equal(ofm_emu_probe_all(h, true, r), 0);
    for (size_t i = 0; i < p->ngpus; i++)
        for (size_t j = 0; j < p->ngpus; j++) {
            if (i == j)
                continue;
            uint32_t probed = r[i * p->ngpus + j].links;
            if (audit[i][j] != probed)
                fail_msg("GPU %u -> GPU %u: fmctl audit says %u links, the probe %u",
                         p->gpus[i].phys_id, p->gpus[j].phys_id, audit[i][j], probed);
            uint32_t want = p->gpus[i].phys_id == 1   ? 17
                            : p->gpus[j].phys_id == 1 ? 18 - into_sw
                                                      : 18;
            if (probed != want)
                fail_msg("GPU %u -> GPU %u over %u links, expected %u", p->gpus[i].phys_id,
                         p->gpus[j].phys_id, probed, want);
        }
    assert_int_equal(into_sw, 5); /* hgx-h100: 18 - 5 = 13 */
    /* the probe's own output says the same */
    assert_int_equal(ops_fmctl("emu probe 2 1 --quiet --emu-dir %s", d.emu), 0);
    if (!strstr(ops_out, "GPU 2 -> GPU 1: arrives over 13 links"))
        fail_msg("fmctl emu probe 2 1:\n%s", ops_out);
    free(r);
    ofm_hal_close(h);
    dh_cleanup(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_audit_and_probe_agree_after_link_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
