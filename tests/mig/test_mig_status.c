/* MIG under a running fabric manager: fmctl status shows each GPU's MIG mode,
 * and on A100 disabling MIG retrains the GPU's NVLinks because an FM holds
 * the system (the HAL's gpu_link states say so). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include <cmocka.h>

#include "daemon_harness.h"
#include "openfm/emu.h"

static char out[1 << 18];

static int run(const char *cmd)
{
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    size_t n = fread(out, 1, sizeof out - 1, f);
    out[n] = '\0';
    int st = pclose(f);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static ofm_link_state link0(const char *emu, uint32_t gpu)
{
    ofm_hal *h;
    char err[256];
    assert_int_equal(ofm_emu_open(emu, &h, err, sizeof err), 0);
    ofm_hal_link l;
    assert_int_equal(h->ops->gpu_link(h, gpu, 0, &l), 0);
    assert_true(ofm_emu_fm_running(h));
    ofm_hal_close(h);
    return l.state;
}

static void test_status_and_links_with_fm(void **state)
{
    (void)state;
    dh_daemon d;
    assert_int_equal(dh_init(&d, "hgx-a100"), 0);
    assert_int_equal(dh_write_config(&d, NULL), 0);
    assert_int_equal(dh_start(&d, NULL, 20000, NULL), 0);
    char cmd[1024];
    assert_int_equal(link0(d.emu, 1), OFM_LINK_ACTIVE); /* trained by the FM */

    snprintf(cmd, sizeof cmd, "%s mig --emu-dir %s -i 0 --mode 1 2>&1", dh_bin("fmctl"), d.emu);
    assert_int_equal(run(cmd), 0);
    assert_int_equal(link0(d.emu, 1), OFM_LINK_OFF); /* A100: MIG takes NVLink down */

    /* the daemon follows MIG changes live: poll with a generous deadline */
    snprintf(cmd, sizeof cmd, "%s status --socket %s 2>&1", dh_bin("fmctl"), d.sock);
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        run(cmd);
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while (!strstr(out, "MIG Mode              : Enabled") && now.tv_sec - t0.tv_sec < 20);
    char *g1 = strstr(out, "\nGPU 1 ");
    char *g2 = strstr(out, "\nGPU 2 ");
    if (!g1 || !g2)
        fail_msg("no GPU sections:\n%s", out);
    *g2 = 0;
    if (!strstr(g1, "MIG Mode              : Enabled, 0 GPU instances"))
        fail_msg("GPU 1 lacks its MIG mode:\n%s", g1);
    if (!strstr(g2 + 1, "MIG Mode              : Disabled"))
        fail_msg("GPU 2 lacks its MIG mode:\n%s", g2 + 1);

    snprintf(cmd, sizeof cmd, "%s mig --emu-dir %s -i 0 --mode 0 2>&1", dh_bin("fmctl"), d.emu);
    assert_int_equal(run(cmd), 0);
    /* the reset that disabled MIG left the links down; the running FM
     * notices and retrains them: poll with a generous deadline */
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ofm_link_state ls;
    do {
        ls = link0(d.emu, 1);
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while (ls != OFM_LINK_ACTIVE && now.tv_sec - t0.tv_sec < 20);
    assert_int_equal(ls, OFM_LINK_ACTIVE);

    dh_stop(&d, 0);
    dh_cleanup(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_and_links_with_fm),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
