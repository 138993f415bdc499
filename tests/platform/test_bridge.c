/* NVLink-bridge systems: the topology format takes GPU-to-GPU links with no
 * switch and host affinity records; the emulator brings the bridge up by
 * itself (probe: traffic arrives over every bridge link); openfm on such a
 * system exits 3 saying there is no fabric to manage; fmctl topo matrix and
 * p2p show the bridged pair. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "openfm/emu.h"
#include "openfm/hal.h"
#include "openfm/platform.h"

static char out[1 << 16];
static ofm_platform P;

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    size_t n = fread(out, 1, sizeof out - 1, f);
    out[n] = '\0';
    int st = pclose(f);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void has(const char *needle)
{
    if (!strstr(out, needle))
        fail_msg("output lacks '%s':\n%s", needle, out);
}

static const char *bd(void)
{
    const char *b = getenv("OPENFM_BUILD_DIR");
    assert_non_null(b);
    return b;
}

static void test_model(void **state)
{
    (void)state;
    ofm_error err;
    assert_int_equal(ofm_platform_load("pcie-a100-bridge", NULL, &P, &err), 0);
    assert_int_equal(P.nswitches, 0);
    assert_int_equal(P.nbridges, 12);
    assert_int_equal(ofm_platform_nvlinks_between(&P, 1, 2), 12);
    assert_int_equal(ofm_platform_nvlinks_between(&P, 2, 1), 12);
    assert_int_equal(ofm_platform_bridge_links(&P, 1, 2), 12);
    const ofm_gpu_desc *g2 = ofm_platform_gpu(&P, 2);
    assert_true(g2->has_affinity);
    assert_string_equal(g2->cpus, "32-63,96-127");
    assert_int_equal(g2->numa_node, 1);
    /* switch platforms keep their switch paths and gain affinity */
    assert_int_equal(ofm_platform_load("hgx-h100", NULL, &P, &err), 0);
    assert_int_equal(P.nbridges, 0);
    assert_int_equal(ofm_platform_nvlinks_between(&P, 1, 8), 18);
    assert_int_equal(ofm_platform_gpu(&P, 8)->numa_node, 1);
}

static void test_malformed(void **state)
{
    (void)state;
    static const char head[] = "platform t\nali no\n"
                               "gpu 1 model=A100-PCIE-80GB nvlinks=2 rate=25000 board=1\n"
                               "gpu 2 model=A100-PCIE-80GB nvlinks=2 rate=25000 board=1\n";
    static const struct {
        const char *tail, *want;
    } cases[] = {
        {"bridge 1:0 1:1\n", "t:5: bridge connects GPU 1 to itself"},
        {"bridge 1:0 2:0\nbridge 1:0 2:1\n", "t:6: GPU 1 link 0 is already connected to bridge 1:0 2:0"},
        {"bridge 1:2 2:0\n", "t:5: GPU 1 link 2 is beyond its 2 NVLinks"},
        {"bridge 1:0 3:0\n", "t:5: GPU 3 is not declared"},
        {"bridge 1:0\n", "t:5: 'bridge' takes two ends: GPU:LINK GPU:LINK"},
        {"bridge 1-0 2:0\n", "t:5: bridge end '1-0' is not GPU:LINK"},
        {"bridge 1:0 2:0\nswitch 1 gen=2 ports=36 board=1\n", "t:6: a switch on a platform with bridge links"},
        {"switch 1 gen=2 ports=36 board=1\nbridge 1:0 2:0\n", "t:6: bridge links on a platform with switches"},
        {"bridge 1:0 2:0\naffinity gpu=1 cpus=0-3,2-5 numa=0\n", "t:6: cpus '0-3,2-5': ranges must ascend"},
        {"bridge 1:0 2:0\naffinity gpu=1 cpus=0-3, numa=0\n", "t:6: cpus '0-3,' is not a CPU list"},
        {"bridge 1:0 2:0\naffinity gpu=1 cpus=0 numa=0\naffinity gpu=1 cpus=1 numa=0\n", "t:7: affinity of GPU 1 given twice"},
        {"bridge 1:0 2:0\naffinity gpu=9 cpus=0 numa=0\n", "t:6: GPU 9 is not declared"},
        {"bridge 1:0 2:0\naffinity gpu=1 cpus=0\n", "t:6: missing key 'numa'"},
        {"", "t: no switches declared (nor 'bridge' links"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[1024], msg[700];
        snprintf(text, sizeof text, "%s%s", head, cases[i].tail);
        ofm_error err;
        if (ofm_platform_parse(text, strlen(text), "t", &P, &err) == 0)
            fail_msg("accepted:\n%s", text);
        ofm_error_format(&err, msg, sizeof msg);
        if (!strstr(msg, cases[i].want))
            fail_msg("case %zu: '%s' lacks '%s'", i, msg, cases[i].want);
    }
}

static void test_fmctl_topo(void **state)
{
    (void)state;
    assert_int_equal(sh("%s/bin/fmctl topo matrix pcie-a100-bridge", bd()), 0);
    has("       GPU1   GPU2   CPU Affinity*     NUMA Affinity*\n");
    has("GPU1   X      NV12   0-31,64-95        0\n");
    has("GPU2   NV12   X      32-63,96-127      1\n");
    has("over an NVLink bridge, no NVSwitch");
    has("assumed for this board");
    assert_int_equal(sh("%s/bin/fmctl topo matrix --json pcie-a100-bridge", bd()), 0);
    has("\"nvlink_via\":\"bridge\"");
    has("\"numa_affinity\":1");
    assert_int_equal(sh("%s/bin/fmctl topo p2p pcie-a100-bridge", bd()), 0);
    has("# openfm-p2p v1 platform=pcie-a100-bridge\n");
    has("  GPU1  GPU2  NV12   bridge    12       300.0       cross\n");
    assert_int_equal(sh("%s/bin/fmctl topo p2p --json hgx-a100", bd()), 0);
    has("\"via\":\"nvswitch\"");
    has("\"gbps_per_direction\":300");
    assert_int_equal(sh("%s/bin/fmctl topo show pcie-a100-bridge", bd()), 0);
    has("GPU 1 link 11 <-> GPU 2 link 11");
}

static void test_emulated_bridge_system(void **state)
{
    (void)state;
    char dir[] = "/tmp/ofm-bridge-XXXXXX", err[512];
    assert_non_null(mkdtemp(dir));
    assert_int_equal(ofm_emu_create(dir, "pcie-a100-bridge", true, err, sizeof err), 0);
    ofm_hal *h = NULL;
    assert_int_equal(ofm_emu_open(dir, &h, err, sizeof err), 0);
    /* the GPUs see each other at the far end of every link, up without a manager */
    for (uint32_t l = 0; l < 12; l++) {
        ofm_hal_link lk;
        assert_int_equal(h->ops->gpu_link(h, 1, l, &lk), 0);
        assert_int_equal(lk.state, OFM_LINK_ACTIVE);
        assert_int_equal(lk.remote_type, OFM_REMOTE_GPU);
        assert_int_equal(lk.remote_id, 2);
        assert_int_equal(lk.remote_link, l);
    }
    ofm_emu_probe_result r;
    assert_int_equal(ofm_emu_probe(h, 2, 1, true, &r), 0);
    assert_true(r.arrives);
    assert_int_equal(r.links, 12);
    assert_int_equal(r.dst_links, 12);
    ofm_hal_fabric_info fi;
    assert_int_equal(h->ops->fabric_get(h, 1, &fi), 0);
    assert_int_equal(fi.state, OFM_FABRIC_NOT_SUPPORTED);
    /* a GPU falling off the bus takes the bridge down with it */
    assert_int_equal(ofm_emu_inject_gpu(h, 2, OFM_DEV_FAILED), 0);
    assert_int_equal(ofm_emu_probe(h, 1, 2, true, &r), 0);
    assert_false(r.arrives);
    assert_int_equal(ofm_emu_inject_gpu(h, 2, OFM_DEV_OK), 0);

    /* the daemon: nothing to manage, said on the terminal, exit status 3 */
    char cfg[64];
    snprintf(cfg, sizeof cfg, "%s.cfg", dir);
    FILE *f = fopen(cfg, "w");
    assert_non_null(f);
    fputs("DAEMONIZE=0\nLOG_FILE_NAME=\n", f);
    fclose(f);
    assert_int_equal(sh("%s/bin/openfm -c %s --emu-dir %s 2>&1", bd(), cfg, dir), 3);
    has("openfm: no NVSwitch on this system (2 GPUs; bridged: GPUs 1 and 2 by 12 NVLinks): "
        "there is no fabric to manage");
    /* and it did not claim the system or start anything */
    assert_int_equal(sh("%s/bin/fmctl emu show --emu-dir %s 2>&1", bd(), dir), 0);
    has("Fabric manager attached: no");
    has("fabric N/A");
    /* --emulate of a bridge platform: judged from the model, nothing created */
    char fresh[80];
    snprintf(fresh, sizeof fresh, "%s.new", dir);
    assert_int_equal(sh("%s/bin/openfm -c %s --emu-dir %s --emulate pcie-a100-bridge 2>&1", bd(),
                        cfg, fresh), 3);
    has("there is no fabric to manage");
    assert_int_not_equal(access(fresh, F_OK), 0);
    unlink(cfg);
    ofm_hal_close(h);
    assert_int_equal(ofm_emu_destroy(dir, err, sizeof err), 0);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_model),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_fmctl_topo),
        cmocka_unit_test(test_emulated_bridge_system),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
