/* The real openfm binary on emulated systems: bring-up judged by the
 * emulator's probe, process behaviour (second instance, driver mismatch,
 * SIGTERM, log rotation/truncation) judged by exit codes and the log. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon_harness.h"
#include "openfm/emu.h"

static void probe_all(const char *emu, uint32_t want_links)
{
    ofm_hal *h;
    char err[512];
    assert_int_equal(ofm_emu_open(emu, &h, err, sizeof err), OFM_HAL_OK);
    const ofm_platform *p = ofm_hal_platform(h);
    for (size_t i = 0; i < p->ngpus; i++)
        for (size_t j = 0; j < p->ngpus; j++) {
            if (i == j)
                continue;
            ofm_emu_probe_result r;
            assert_int_equal(ofm_emu_probe(h, p->gpus[i].phys_id, p->gpus[j].phys_id, true, &r), OFM_HAL_OK);
            if (!r.arrives || r.links != want_links)
                fail_msg("%s: GPU %u -> GPU %u: %s over %u links, want %u (%s)", p->name,
                         p->gpus[i].phys_id, p->gpus[j].phys_id, r.arrives ? "arrives" : "dropped",
                         r.links, want_links, r.drop_reason);
            if (p->gpus[i].baseboard != p->gpus[j].baseboard)
                assert_int_equal(r.max_hops, 2); /* through a trunk */
        }
    ofm_hal_close(h);
}

static void test_bringup_every_platform(void **state)
{
    (void)state;
    static const struct {
        const char *platform;
        uint32_t links;
    } cases[] = {{"hgx-h100", 18}, {"hgx-a100", 12}, {"hgx-a100-top", 12}, {"hgx-a100-2b", 12},
                 {"hgx-2", 6},     {"hgx-a800", 8},  {"hgx-h800", 8}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        dh_daemon d;
        assert_int_equal(dh_init(&d, cases[i].platform), 0);
        assert_int_equal(dh_write_config(&d, NULL), 0);
        int st = -1;
        if (dh_start(&d, NULL, 20000, &st)) {
            char *log = dh_read_log(&d);
            fail_msg("%s: not ready (exit %d)\n%s", cases[i].platform, st, log ? log : "");
        }
        probe_all(d.emu, cases[i].links);
        assert_int_equal(dh_stop(&d, SIGTERM), 0);
        char *log = dh_read_log(&d);
        assert_non_null(strstr(log, "received SIGTERM: shutting down"));
        assert_non_null(strstr(log, "openfm stopped"));
        free(log);
        char pid[200];
        snprintf(pid, sizeof pid, "%s/fm.pid", d.dir);
        assert_int_not_equal(access(pid, F_OK), 0); /* PID file removed on clean exit */
        dh_cleanup(&d);
    }
}

static void test_second_instance_refused(void **state)
{
    (void)state;
    dh_daemon d;
    assert_int_equal(dh_init(&d, "hgx-h100"), 0);
    assert_int_equal(dh_write_config(&d, NULL), 0);
    assert_int_equal(dh_start(&d, NULL, 20000, NULL), 0);
    char cmd[512], out[2048];
    snprintf(cmd, sizeof cmd, "%s -c %s 2>&1", dh_bin("openfm"), d.cfg);
    assert_int_equal(dh_run(cmd, out, sizeof out), 1);
    char want[128];
    snprintf(want, sizeof want, "another instance is already running (pid %d", (int)d.pid);
    if (!strstr(out, want))
        fail_msg("got: %s", out);
    /* the first one is unharmed */
    probe_all(d.emu, 18);
    assert_int_equal(dh_stop(&d, SIGINT), 0);
    dh_cleanup(&d);
}

static void test_driver_mismatch_refused(void **state)
{
    (void)state;
    dh_daemon d;
    assert_int_equal(dh_init(&d, "hgx-h100"), 0);
    ofm_hal *h;
    char err[256];
    assert_int_equal(ofm_emu_open(d.emu, &h, err, sizeof err), OFM_HAL_OK);
    assert_int_equal(ofm_emu_inject_driver_version(h, "470.57.02"), OFM_HAL_OK);
    ofm_hal_close(h);
    assert_int_equal(dh_write_config(&d, NULL), 0);
    int st = -1;
    assert_int_equal(dh_start(&d, NULL, 20000, &st), -1);
    assert_int_equal(st, 1);
    char *log = dh_read_log(&d);
    assert_non_null(strstr(log, "driver version 470.57.02 is not compatible with openfm"));
    assert_non_null(strstr(log, "built for the 580.x driver branch"));
    free(log);
    dh_cleanup(&d);
}

static void test_log_rotation_and_truncation(void **state)
{
    (void)state;
    dh_daemon d;
    assert_int_equal(dh_init(&d, "hgx-h100"), 0);
    /* old content must go with LOG_APPEND_TO_LOG=0 */
    FILE *f = fopen(d.log, "w");
    fputs("OLD-CONTENT-MARKER\n", f);
    fclose(f);
    assert_int_equal(dh_write_config(&d, "LOG_APPEND_TO_LOG=0\nOPENFM_LOG_MAX_SIZE_BYTES=600\n"
                                         "LOG_MAX_ROTATE_COUNT=2\n"), 0);
    assert_int_equal(dh_start(&d, NULL, 20000, NULL), 0);
    assert_int_equal(dh_stop(&d, SIGTERM), 0);
    char path[256];
    struct stat sb;
    int rotated = 0;
    for (int i = 0; i <= 3; i++) {
        if (i)
            snprintf(path, sizeof path, "%s.%d", d.log, i);
        else
            snprintf(path, sizeof path, "%s", d.log);
        if (stat(path, &sb) == 0) {
            assert_true(sb.st_size <= 600);
            rotated += i > 0;
            assert_true(i <= 2); /* at most LOG_MAX_ROTATE_COUNT kept */
        }
    }
    assert_int_equal(rotated, 2); /* start-up logs more than 3 x 600 bytes */
    char cmd[512], out[256];
    snprintf(cmd, sizeof cmd, "cat %s %s.1 %s.2 | grep -c OLD-CONTENT-MARKER", d.log, d.log, d.log);
    dh_run(cmd, out, sizeof out);
    assert_string_equal(out, "0\n");
    dh_cleanup(&d);
}

static void test_bad_config_refuses_start(void **state)
{
    (void)state;
    dh_daemon d;
    assert_int_equal(dh_init(&d, "hgx-h100"), 0);
    assert_int_equal(dh_write_config(&d, "LOG_LEVEL=2\n"), 0);
    /* the harness sets LOG_LEVEL=4 first: a duplicate key is refused */
    int st = -1;
    assert_int_equal(dh_start(&d, NULL, 20000, &st), -1);
    assert_int_equal(st, 1);
    dh_cleanup(&d);
}

static void test_restart_needs_shared_mode(void **state)
{
    (void)state;
    char cmd[512], out[4096];
    snprintf(cmd, sizeof cmd, "%s --restart 2>&1", dh_bin("openfm"));
    assert_int_equal(dh_run(cmd, out, sizeof out), 2);
    assert_non_null(strstr(out, "only supported with FABRIC_MODE=1"));
    snprintf(cmd, sizeof cmd, "%s --help", dh_bin("openfm"));
    assert_int_equal(dh_run(cmd, out, sizeof out), 0);
    assert_non_null(strstr(out, "--emulate PLATFORM"));
}

/* fmctl audit reads the switches, and a link that is down carries nothing
 * whatever the tables say: it must agree with the emulator's probe. */
static void test_audit_follows_link_state(void **state)
{
    (void)state;
    dh_daemon d;
    assert_int_equal(dh_init(&d, "hgx-h100"), 0);
    assert_int_equal(dh_write_config(&d, NULL), 0);
    assert_int_equal(dh_start(&d, NULL, 20000, NULL), 0);
    char cmd[512], out[256];
    snprintf(cmd, sizeof cmd, "%s audit --emu-dir %s -s 1 -d 2", dh_bin("fmctl"), d.emu);
    assert_int_equal(dh_run(cmd, out, sizeof out), 0);
    assert_string_equal(out, "18\n");
    ofm_hal *h;
    char err[256];
    assert_int_equal(ofm_emu_open(d.emu, &h, err, sizeof err), OFM_HAL_OK);
    assert_int_equal(ofm_emu_inject_port_down(h, 1, 40), OFM_HAL_OK); /* GPU 1 link 2 */
    ofm_emu_probe_result r;
    assert_int_equal(ofm_emu_probe(h, 1, 2, true, &r), OFM_HAL_OK);
    ofm_hal_close(h);
    assert_int_equal(dh_run(cmd, out, sizeof out), 0);
    char want[16];
    snprintf(want, sizeof want, "%u\n", r.links);
    assert_string_equal(out, want);
    assert_string_equal(out, "17\n");
    assert_int_equal(dh_stop(&d, SIGTERM), 0);
    dh_cleanup(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bringup_every_platform),
        cmocka_unit_test(test_second_instance_refused),
        cmocka_unit_test(test_driver_mismatch_refused),
        cmocka_unit_test(test_log_rotation_and_truncation),
        cmocka_unit_test(test_bad_config_refuses_start),
        cmocka_unit_test(test_restart_needs_shared_mode),
        cmocka_unit_test(test_audit_follows_link_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
