/* fmctl passthrough plan as a hypervisor operator uses it: plans per VM size
 * with the guide's counts, refusals with reasons, libvirt <hostdev> with the
 * backend's PCI addresses, and the guest side: a daemon on a plan's guest
 * topology brings the fabric up and the emulator's probe shows exactly the
 * plan's links between the VM's GPUs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon_harness.h"
#include "openfm/emu.h"
#include "openfm/hal.h"
#include "openfm/passthrough.h"

static char out[1 << 18];
static char g_dir[64];

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
    char args[1024], cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "%s passthrough plan --emu-dir %s %s 2>&1", dh_bin("fmctl"), g_dir,
             args);
    return dh_run(cmd, out, sizeof out);
}

static void has(const char *needle)
{
    if (!strstr(out, needle))
        fail_msg("output lacks '%s':\n%s", needle, out);
}

static int count(const char *needle)
{
    int n = 0;
    for (const char *p = out; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

static ofm_hal *open_emu(const char *platform)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/ofm-pt-XXXXXX");
    assert_non_null(mkdtemp(g_dir));
    char err[512];
    assert_int_equal(ofm_emu_create(g_dir, platform, true, err, sizeof err), 0);
    ofm_hal *h = NULL;
    assert_int_equal(ofm_emu_open(g_dir, &h, err, sizeof err), 0);
    return h;
}

static void close_emu(ofm_hal *h)
{
    char err[512];
    ofm_hal_close(h);
    ofm_emu_destroy(g_dir, err, sizeof err);
    rmdir(g_dir);
}

static void test_plans_a100(void **state)
{
    (void)state;
    ofm_hal *h = open_emu("hgx-a100");
    assert_int_equal(run("%s", ""), 0);
    has("hgx-a100: full-passthrough VM sizes 8, 4, 2, 1 GPUs");
    assert_int_equal(count("-GPU VM, set "), 1 + 2 + 4 + 8);
    assert_int_equal(run("--gpus 4"), 0);
    has("4-GPU VM, set 1 of 2 [devices and links derived from the wiring]");
    has("guide (FM 6.1):  3 NVSwitches, 6 of 12 NVLinks per GPU");
    has("NVLinks in the VM: 24 (6 per GPU, 8 per switch), trunk links 0");
    /* every GPU link not used in the VM is disabled on the GPU */
    has("GPU 5 links 2-5,8-9");
    assert_int_equal(run("--gpus 8"), 0);
    has("NVLinks in the VM: 96 (12 per GPU, 16 per switch)");
    has("disable on the GPUs (NVLinks to switches outside the VM): none");
    assert_int_equal(run("--gpus 1"), 0);
    has("NVSwitches:      none");
    has("GPU 3 links 0-11");

    /* forbidden combinations, with the reason */
    assert_int_equal(run("--gpus 1,2,5,6"), 1);
    has("cannot form a 4-GPU passthrough VM: the 4-GPU sets are {1,2,3,4}, {5,6,7,8} (two sets "
        "of four per baseboard)");
    assert_int_equal(run("--gpus 3"), 1);
    has("supports full-passthrough VMs of 8, 4, 2, 1 GPUs, not 3");
    assert_int_equal(run("--gpus 16"), 1);
    has("16-GPU VMs need two baseboards");
    assert_int_equal(run("--gpus 1,1"), 2); /* malformed list: a usage error */
    has("GPU 1 is listed twice");
    /* an empty field used to be skipped, planning a VM of GPUs 1 and 2 */
    assert_int_equal(run("--gpus 1,,2"), 2);
    has("--gpus '1,,2': expected a GPU physical ID at ',2'");
    assert_int_equal(run("--gpus 1,2,"), 2);
    has("trailing ','");
    assert_int_equal(run("--gpus 4 --libvirt"), 2);
    has("needs one plan");
    assert_int_equal(run("--gpus x"), 2);

    /* libvirt: one <hostdev> per GPU and switch, addresses as the HAL gives them */
    assert_int_equal(run("--gpus 5-8 --libvirt"), 0);
    assert_int_equal(count("<hostdev mode='subsystem' type='pci' managed='yes'>"), 4 + 3);
    ofm_hal_gpu g[OFM_MAX_GPUS];
    ofm_hal_switch s[OFM_MAX_SWITCHES];
    size_t ng = 0, ns = 0;
    assert_int_equal(h->ops->list_gpus(h, g, OFM_MAX_GPUS, &ng), 0);
    assert_int_equal(h->ops->list_switches(h, s, OFM_MAX_SWITCHES, &ns), 0);
    for (size_t i = 0; i < ng; i++) {
        unsigned dom, bus, dev, fn;
        assert_int_equal(sscanf(g[i].pci_bdf, "%x:%x:%x.%x", &dom, &bus, &dev, &fn), 4);
        char want[160];
        snprintf(want, sizeof want, "<!-- GPU %u -->\n<hostdev mode='subsystem' type='pci' "
                 "managed='yes'>\n  <source>\n    <address domain='0x%04x' bus='0x%02x' "
                 "slot='0x%02x' function='0x%x'/>", g[i].phys_id, dom, bus, dev, fn);
        if ((g[i].phys_id >= 5) != (strstr(out, want) != NULL))
            fail_msg("GPU %u (%s) wrongly %s:\n%s", g[i].phys_id, g[i].pci_bdf,
                     g[i].phys_id >= 5 ? "missing" : "present", out);
    }
    for (size_t i = 0; i < ns; i++) {
        char want[64];
        snprintf(want, sizeof want, "<!-- NVSwitch %u -->", s[i].phys_id);
        if ((s[i].phys_id >= 4) != (strstr(out, want) != NULL))
            fail_msg("switch %u wrongly placed:\n%s", s[i].phys_id, out);
    }
    assert_int_equal(run("--gpus 1-4 --json"), 0);
    has("\"derived_from_wiring\":true");
    has("\"nvlinks_per_gpu\":6");
    close_emu(h);
}

static void test_plans_h100_and_two_boards(void **state)
{
    (void)state;
    ofm_hal *h = open_emu("hgx-h100");
    assert_int_equal(run("--gpus 8"), 0);
    has("NVLinks in the VM: 144 (18 per GPU, 32-40 per switch)");
    assert_int_equal(run("--gpus 2"), 1);
    has("no 2- or 4-GPU passthrough configuration");
    assert_int_equal(run("--gpus 1 --guest-topology -"), 2); /* 8 plans */
    assert_int_equal(run("--gpus 3-3 --guest-topology -"), 1);
    has("refused: a 1-GPU VM has no NVSwitch");
    close_emu(h);
    h = open_emu("hgx-a100-2b");
    assert_int_equal(run("--gpus 16"), 0);
    has("NVLinks in the VM: 192 (12 per GPU, 32 per switch), trunk links 96");
    assert_int_equal(run("--gpus 8"), 0);
    has("8-GPU VM, set 2 of 2");
    has("switch 7 ports 0-7,16-23"); /* trunks of the second board's VM */
    close_emu(h);
    /* an NVLink-bridge system has nothing to plan */
    h = open_emu("pcie-a100-bridge");
    assert_int_equal(run("%s", ""), 1);
    has("has no NVSwitch");
    close_emu(h);
}

/* The guest side: openfm in the VM on the exported topology. */
static void test_guest_topology_brings_up(void **state)
{
    (void)state;
    ofm_hal *h = open_emu("hgx-a100");
    char topo[96];
    snprintf(topo, sizeof topo, "%s.guest.topo", g_dir);
    assert_int_equal(run("--gpus 5,6,7,8 --guest-topology %s", topo), 0);
    close_emu(h);

    dh_daemon d;
    assert_int_equal(dh_init(&d, topo), 0);
    assert_int_equal(dh_write_config(&d, NULL), 0);
    int st = 0;
    if (dh_start(&d, NULL, 20000, &st)) {
        char *log = dh_read_log(&d);
        fail_msg("daemon on the guest topology did not become ready (exit %d):\n%s", st,
                 log ? log : "");
    }
    char err[512];
    ofm_hal *g = NULL;
    assert_int_equal(ofm_emu_open(d.emu, &g, err, sizeof err), 0);
    /* the plan's links and nothing else: 6 per GPU toward every peer */
    static ofm_emu_probe_result r[OFM_MAX_GPUS * OFM_MAX_GPUS];
    assert_int_equal(ofm_emu_probe_all(g, true, r), 0);
    const ofm_platform *p = ofm_hal_platform(g);
    assert_int_equal(p->ngpus, 4);
    assert_int_equal(p->nswitches, 3);
    assert_int_equal(p->naccess, 24);
    for (size_t i = 0; i < 4; i++)
        for (size_t j = 0; j < 4; j++) {
            if (i == j)
                continue;
            assert_true(r[i * 4 + j].arrives);
            assert_int_equal(r[i * 4 + j].links, 6);
            assert_int_equal(r[i * 4 + j].dst_links, 6);
        }
    assert_int_equal(p->gpus[0].phys_id, 5);
    char *log = dh_read_log(&d);
    assert_non_null(log);
    assert_non_null(strstr(log, "4/4 GPUs with NVLink P2P, 24/24 access and 0/0 trunk links "
                                "active"));
    free(log);
    ofm_hal_close(g);
    assert_int_equal(dh_stop(&d, 0), 0);
    dh_cleanup(&d);
    unlink(topo);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plans_a100),
        cmocka_unit_test(test_plans_h100_and_two_boards),
        cmocka_unit_test(test_guest_topology_brings_up),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
