/* The emulator through the HAL, as the layers above will see it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <fcntl.h>
#include <regex.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "emu_fixture.h"
#include "hal/emu/emu_int.h" /* to forge a state whose checksum is right */

#define MAX_ROUTES (OFM_MAX_SWITCHES * OFM_MAX_SWITCH_PORTS * 16)
static ofm_route_entry routes[MAX_ROUTES];

static unsigned active_gpu_links(ofm_hal *h)
{
    const ofm_platform *p = ofm_hal_platform(h);
    unsigned n = 0;
    for (size_t g = 0; g < p->ngpus; g++)
        for (uint32_t l = 0; l < p->gpus[g].nvlinks; l++) {
            ofm_hal_link lk;
            assert_int_equal(h->ops->gpu_link(h, p->gpus[g].phys_id, l, &lk), OFM_HAL_OK);
            assert_int_equal(lk.prov, OFM_PROV_EMULATED);
            n += lk.state == OFM_LINK_ACTIVE;
        }
    return n;
}

static void test_h100_links_up_by_ali(void **state)
{
    (void)state;
    char dir[64];
    ofm_hal *h = fixture_open("hgx-h100", dir, sizeof dir);
    assert_non_null(h);
    assert_int_equal(active_gpu_links(h), 144); /* no manager involved */
    ofm_hal_gpu g[OFM_MAX_GPUS];
    size_t n;
    assert_int_equal(h->ops->list_gpus(h, g, OFM_MAX_GPUS, &n), OFM_HAL_OK);
    assert_int_equal(n, 8);
    assert_int_equal(g[0].prov, OFM_PROV_EMULATED);
    assert_memory_equal(g[0].uuid, "GPU-", 4);
    fixture_close(h, dir);
}

static void test_a100_links_need_training(void **state)
{
    (void)state;
    char dir[64];
    ofm_hal *h = fixture_open("hgx-a100-2b", dir, sizeof dir);
    assert_non_null(h);
    assert_int_equal(active_gpu_links(h), 0);
    ofm_hal_link lk;
    assert_int_equal(h->ops->train_port(h, 4, 8), OFM_HAL_OK); /* GPU 1 link 0 */
    assert_int_equal(h->ops->gpu_link(h, 1, 0, &lk), OFM_HAL_OK);
    assert_int_equal(lk.state, OFM_LINK_ACTIVE);
    assert_int_equal(lk.remote_id, 4);
    assert_int_equal(lk.remote_link, 8);
    /* a trunk trains both ends */
    assert_int_equal(h->ops->train_port(h, 1, 0), OFM_HAL_OK);
    assert_int_equal(h->ops->switch_port(h, 7, 0, &lk), OFM_HAL_OK);
    assert_int_equal(lk.state, OFM_LINK_ACTIVE);
    assert_int_equal(lk.remote_type, OFM_REMOTE_SWITCH);
    assert_int_equal(lk.remote_id, 1);
    assert_int_equal(active_gpu_links(h), 1);
    fixture_close(h, dir);
}

static void test_routes_survive_the_writer(void **state)
{
    (void)state;
    char dir[64];
    ofm_hal *h = fixture_open("hgx-h100", dir, sizeof dir);
    assert_non_null(h);
    pid_t pid = fork();
    if (pid == 0) {
        ofm_hal *c;
        char err[256];
        if (ofm_emu_open(dir, &c, err, sizeof err))
            _exit(1);
        ofm_route_entry e[2] = {{1, 40, 2, {{1ull << 42, 0}}}, {3, 42, 5, {{(1ull << 34) | (1ull << 35), 0}}}};
        _exit(c->ops->route_write(c, e, 2) ? 1 : 0);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    size_t n;
    assert_int_equal(h->ops->route_read(h, 3, routes, MAX_ROUTES, &n), OFM_HAL_OK);
    assert_int_equal(n, 1);
    assert_int_equal(routes[0].in_port, 42);
    assert_int_equal(routes[0].dst_gpu, 5);
    assert_true(ofm_portset_eq(routes[0].egress, ofm_portset_or(ofm_portset_of(34), ofm_portset_of(35))));
    fixture_close(h, dir);
}

static void read_file(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, len - 1, f);
    buf[n] = '\0';
    fclose(f);
}

static void test_probe_without_routes_is_dropped(void **state)
{
    (void)state;
    char dir[64], path[256];
    static char log[65536];
    ofm_hal *h = fixture_open("hgx-h100", dir, sizeof dir);
    assert_non_null(h);
    ofm_emu_probe_result r;
    assert_int_equal(ofm_emu_probe(h, 1, 2, false, &r), OFM_HAL_OK);
    assert_false(r.arrives);
    assert_int_equal(r.drop_sxid, 11004);
    ofm_emu_kmsg_path(h, path, sizeof path);
    read_file(path, log, sizeof log);
    /* FM §3.3: <nvidia-nvswitchX: SXid (PCI:<bdf>): <SXid>, <Fatal or Non-Fatal>, <Link No> <desc> */
    regex_t re;
    assert_int_equal(regcomp(&re,
                             "\\[ *[0-9]+\\.[0-9]{6}\\] nvidia-nvswitch[0-9]+: SXid \\(PCI:[0-9a-f]{4}:"
                             "[0-9a-f]{2}:[0-9a-f]{2}\\.[0-7]\\): 11004, Non-fatal, Link [0-9]+ ",
                             REG_EXTENDED | REG_NOSUB),
                     0);
    assert_int_equal(regexec(&re, log, 0, NULL, 0), 0);
    regfree(&re);
    /* and the source GPU's Xid 45, with the BDF and UUID list_gpus reports */
    ofm_hal_gpu g[OFM_MAX_GPUS];
    size_t n;
    h->ops->list_gpus(h, g, OFM_MAX_GPUS, &n);
    char want[256], bdf[32];
    snprintf(bdf, sizeof bdf, "%.10s", g[0].pci_bdf); /* domain:bus:device */
    snprintf(want, sizeof want, "NVRM: GPU at PCI:%s: %s\n", bdf, g[0].uuid);
    assert_non_null(strstr(log, want));
    snprintf(want, sizeof want, "NVRM: Xid (PCI:%s): 45, ", bdf);
    assert_non_null(strstr(log, want));
    /* the same drop is an event the daemon can read */
    ofm_hal_event ev[8];
    uint64_t cur = 0;
    assert_int_equal(h->ops->read_events(h, &cur, ev, 8, &n), OFM_HAL_OK);
    assert_int_equal(n, 2);
    assert_int_equal(ev[0].kind, OFM_EVT_SXID);
    assert_int_equal(ev[0].code, 11004);
    assert_int_equal(ev[1].kind, OFM_EVT_XID);
    assert_int_equal(ev[1].code, 45);
    assert_int_equal(ev[1].gpu, 1);
    assert_int_equal(h->ops->read_events(h, &cur, ev, 8, &n), OFM_HAL_OK);
    assert_int_equal(n, 0);
    fixture_close(h, dir);
}

static void check_full_mesh(const char *platform, uint32_t links, bool train)
{
    char dir[64];
    ofm_hal *h = fixture_open(platform, dir, sizeof dir);
    assert_non_null(h);
    const ofm_platform *p = ofm_hal_platform(h);
    if (train) {
        for (size_t i = 0; i < p->naccess; i++)
            assert_int_equal(h->ops->train_port(h, p->access[i].sw, p->access[i].sw_port), OFM_HAL_OK);
        for (size_t i = 0; i < p->ntrunks; i++)
            assert_int_equal(h->ops->train_port(h, p->trunks[i].sw_a, p->trunks[i].port_a), OFM_HAL_OK);
    }
    size_t n = fixture_full_mesh(p, routes);
    assert_int_equal(h->ops->route_write(h, routes, n), OFM_HAL_OK);
    for (size_t i = 0; i < p->ngpus; i++)
        for (size_t j = 0; j < p->ngpus; j++) {
            if (i == j)
                continue;
            ofm_emu_probe_result r;
            assert_int_equal(ofm_emu_probe(h, p->gpus[i].phys_id, p->gpus[j].phys_id, true, &r), OFM_HAL_OK);
            if (!r.arrives || r.links != links || r.dst_links != links)
                fail_msg("%s: GPU %u -> %u: arrives=%d links=%u dst_links=%u (%s)", platform,
                         p->gpus[i].phys_id, p->gpus[j].phys_id, r.arrives, r.links, r.dst_links,
                         r.drop_reason);
            assert_int_equal(r.bandwidth_mbps, (uint64_t)links * 25000);
        }
    fixture_close(h, dir);
}

static void test_full_mesh_reaches_every_pair(void **state)
{
    (void)state;
    check_full_mesh("hgx-h100", 18, false);
    check_full_mesh("hgx-a100-2b", 12, true);
    check_full_mesh("hgx-2", 6, true);
}

static void test_faults_visible(void **state)
{
    (void)state;
    char dir[64];
    ofm_hal *h = fixture_open("hgx-h100", dir, sizeof dir);
    assert_non_null(h);
    ofm_hal_link lk;
    /* access link down */
    assert_int_equal(ofm_emu_inject_port_down(h, 1, 40), OFM_HAL_OK);
    assert_int_equal(h->ops->switch_port(h, 1, 40, &lk), OFM_HAL_OK);
    assert_int_equal(lk.state, OFM_LINK_FAILED);
    assert_int_equal(h->ops->gpu_link(h, 1, 2, &lk), OFM_HAL_OK);
    assert_int_equal(lk.state, OFM_LINK_FAILED);
    assert_int_equal(active_gpu_links(h), 143);
    assert_int_equal(h->ops->train_port(h, 1, 40), OFM_HAL_EIO);
    /* switch missing / failed */
    ofm_hal_switch sw[OFM_MAX_SWITCHES];
    size_t n;
    assert_int_equal(ofm_emu_inject_switch(h, 2, OFM_DEV_MISSING), OFM_HAL_OK);
    assert_int_equal(ofm_emu_inject_switch(h, 3, OFM_DEV_FAILED), OFM_HAL_OK);
    assert_int_equal(h->ops->list_switches(h, sw, OFM_MAX_SWITCHES, &n), OFM_HAL_OK);
    assert_int_equal(n, 3);
    assert_int_equal(sw[1].phys_id, 3);
    assert_int_equal(sw[1].health, OFM_DEV_FAILED);
    assert_int_equal(h->ops->switch_port(h, 2, 0, &lk), OFM_HAL_ENODEV);
    /* GPU missing / failed, registration fault */
    ofm_hal_gpu g[OFM_MAX_GPUS];
    assert_int_equal(ofm_emu_inject_gpu(h, 8, OFM_DEV_MISSING), OFM_HAL_OK);
    assert_int_equal(ofm_emu_inject_gpu(h, 7, OFM_DEV_FAILED), OFM_HAL_OK);
    assert_int_equal(h->ops->list_gpus(h, g, OFM_MAX_GPUS, &n), OFM_HAL_OK);
    assert_int_equal(n, 7);
    assert_int_equal(g[6].health, OFM_DEV_FAILED);
    assert_int_equal(ofm_emu_inject_fabric_fail(h, 5, true), OFM_HAL_OK);
    assert_int_equal(h->ops->fabric_set(h, 5, OFM_FABRIC_COMPLETED, 0), OFM_HAL_EIO);
    ofm_hal_fabric_info fi;
    assert_int_equal(h->ops->fabric_get(h, 5, &fi), OFM_HAL_OK);
    assert_int_equal(fi.state, OFM_FABRIC_COMPLETED);
    assert_int_not_equal(fi.status, 0);
    assert_true(ofm_hal_register_fault(h, 5));
    assert_false(ofm_hal_register_fault(h, 4));
    assert_int_equal(h->ops->fabric_set(h, 4, OFM_FABRIC_COMPLETED, 0), OFM_HAL_OK);
    assert_int_equal(h->ops->fabric_get(h, 4, &fi), OFM_HAL_OK);
    assert_int_equal(fi.status, 0);
    /* driver version */
    char ver[64];
    assert_int_equal(ofm_emu_inject_driver_version(h, "470.57.02"), OFM_HAL_OK);
    assert_int_equal(h->ops->driver_version(h, ver, sizeof ver), OFM_HAL_OK);
    assert_string_equal(ver, "470.57.02");
    /* SXid / Xid events */
    ofm_hal_event ev[16];
    uint64_t cur = 0;
    h->ops->read_events(h, &cur, ev, 16, &n); /* skip what the faults above logged */
    assert_int_equal(ofm_emu_inject_sxid(h, 4, 58, 19084, true, "AN1 Heartbeat Timeout"), OFM_HAL_OK);
    assert_int_equal(ofm_emu_inject_xid(h, 3, 48, "DBE"), OFM_HAL_OK);
    assert_int_equal(h->ops->read_events(h, &cur, ev, 16, &n), OFM_HAL_OK);
    assert_int_equal(n, 2);
    assert_int_equal(ev[0].code, 19084);
    assert_true(ev[0].fatal);
    assert_int_equal(ev[0].sw, 4);
    assert_int_equal(ev[0].port, 58);
    assert_int_equal(ev[1].kind, OFM_EVT_XID);
    assert_int_equal(ev[1].gpu, 3);
    /* faults survive a reboot; links on healthy parts come back by ALI */
    assert_int_equal(ofm_emu_reboot(h), OFM_HAL_OK);
    assert_int_equal(h->ops->switch_port(h, 1, 40, &lk), OFM_HAL_OK);
    assert_int_equal(lk.state, OFM_LINK_FAILED);
    assert_int_equal(h->ops->switch_port(h, 1, 41, &lk), OFM_HAL_OK);
    assert_int_equal(lk.state, OFM_LINK_ACTIVE);
    fixture_close(h, dir);
}

/* A trunk between baseboards fails: both ends report it, it cannot be
 * retrained, and traffic that the tables spread over the trunks loses that
 * path (seen by the probe) while the other trunks still carry it. */
static void test_trunk_link_down(void **state)
{
    (void)state;
    char dir[64];
    ofm_hal *h = fixture_open("hgx-a100-2b", dir, sizeof dir);
    assert_non_null(h);
    const ofm_platform *p = ofm_hal_platform(h);
    for (size_t i = 0; i < p->naccess; i++)
        assert_int_equal(h->ops->train_port(h, p->access[i].sw, p->access[i].sw_port), OFM_HAL_OK);
    for (size_t i = 0; i < p->ntrunks; i++)
        assert_int_equal(h->ops->train_port(h, p->trunks[i].sw_a, p->trunks[i].port_a), OFM_HAL_OK);
    assert_int_equal(h->ops->route_write(h, routes, fixture_full_mesh(p, routes)), OFM_HAL_OK);
    const ofm_trunk_link *t = &p->trunks[0];
    uint64_t cur = 0;
    ofm_hal_event ev[8];
    size_t n;
    h->ops->read_events(h, &cur, ev, 8, &n);
    assert_int_equal(ofm_emu_inject_port_down(h, t->sw_a, t->port_a), OFM_HAL_OK);
    ofm_hal_link lk;
    assert_int_equal(h->ops->switch_port(h, t->sw_b, t->port_b, &lk), OFM_HAL_OK);
    assert_int_equal(lk.state, OFM_LINK_FAILED);
    assert_int_equal(lk.remote_type, OFM_REMOTE_NONE);
    assert_int_equal(h->ops->train_port(h, t->sw_b, t->port_b), OFM_HAL_EIO);
    assert_int_equal(h->ops->read_events(h, &cur, ev, 8, &n), OFM_HAL_OK);
    assert_int_equal(n, 1);
    assert_int_equal(ev[0].kind, OFM_EVT_LINK_DOWN);
    assert_int_equal(ev[0].sw, t->sw_a);
    assert_int_equal(ev[0].port, t->port_a);
    /* a GPU behind sw_a towards a GPU on the other baseboard */
    const ofm_switch_desc *sa = ofm_platform_switch(p, t->sw_a);
    uint32_t src = UINT32_MAX, dst = UINT32_MAX;
    for (size_t i = 0; i < p->naccess; i++)
        if (p->access[i].sw == t->sw_a && src == UINT32_MAX)
            src = p->access[i].gpu;
    for (size_t g = 0; g < p->ngpus; g++)
        if (p->gpus[g].baseboard != sa->baseboard)
            dst = p->gpus[g].phys_id;
    assert_true(src != UINT32_MAX && dst != UINT32_MAX);
    ofm_emu_probe_result r;
    assert_int_equal(ofm_emu_probe(h, src, dst, true, &r), OFM_HAL_OK);
    assert_true(r.arrives);
    /* the 2 source links into sw_a spray over its trunks, the dead one too:
     * part of their traffic is lost, so they do not count (as in fmctl audit) */
    assert_int_equal(r.links, 10);
    assert_true(r.dropped);
    assert_int_equal(r.drop_sw, t->sw_a);
    assert_int_equal(r.drop_port, t->port_a);
    assert_int_equal(r.drop_sxid, 15002);
    /* the fault outlives a reboot */
    assert_int_equal(ofm_emu_reboot(h), OFM_HAL_OK);
    assert_int_equal(h->ops->switch_port(h, t->sw_a, t->port_a, &lk), OFM_HAL_OK);
    assert_int_equal(lk.state, OFM_LINK_FAILED);
    fixture_close(h, dir);
}

static void corrupt_and_expect(const char *dir, void (*damage)(const char *), const char *needle)
{
    char path[256], err[512];
    snprintf(path, sizeof path, "%s/state.bin", dir);
    damage(path);
    ofm_hal *h = NULL;
    assert_int_equal(ofm_emu_open(dir, &h, err, sizeof err), OFM_HAL_ECORRUPT);
    assert_null(h);
    if (!strstr(err, needle))
        fail_msg("error '%s' lacks '%s'", err, needle);
    assert_non_null(strstr(err, path));
}

static void flip_byte(const char *path)
{
    int fd = open(path, O_RDWR);
    unsigned char b;
    assert_int_equal(pread(fd, &b, 1, 300), 1);
    b ^= 0x40;
    assert_int_equal(pwrite(fd, &b, 1, 300), 1);
    close(fd);
}
static void truncate_half(const char *path)
{
    FILE *f = fopen(path, "r");
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    assert_int_equal(truncate(path, n / 2), 0);
}
static void bump_version(const char *path)
{
    int fd = open(path, O_RDWR);
    uint32_t v = 99;
    assert_int_equal(pwrite(fd, &v, 4, 8), 4);
    close(fd);
}
/* A directory made by an openfm before the 72-port / 72-GPU layout: its
 * header says version 1 and its payload has the old size. */
static void older_version(const char *path)
{
    int fd = open(path, O_RDWR);
    uint32_t v = 1;
    assert_int_equal(pwrite(fd, &v, 4, 8), 4);
    assert_int_equal(ftruncate(fd, 40000), 0);
    close(fd);
}
static void bad_magic(const char *path)
{
    int fd = open(path, O_RDWR);
    assert_int_equal(pwrite(fd, "XXXX", 4, 0), 4);
    close(fd);
}

/* A writer bug (not a disk error) could store a value no hardware has: the
 * checksum is right, but the reader must still refuse it. */
static void impossible_link_state(const char *path)
{
    int fd = open(path, O_RDWR);
    emu_header hdr;
    assert_int_equal(pread(fd, &hdr, sizeof hdr, 0), (ssize_t)sizeof hdr);
    unsigned char *payload = malloc(hdr.payload_size);
    assert_non_null(payload);
    assert_int_equal(pread(fd, payload, hdr.payload_size, sizeof hdr), (ssize_t)hdr.payload_size);
    payload[offsetof(emu_fixed, port_state) + 2 * OFM_MAX_SWITCH_PORTS + 7] = 9;
    hdr.crc32 = emu_crc32(payload, hdr.payload_size, 0);
    assert_int_equal(pwrite(fd, &hdr, sizeof hdr, 0), (ssize_t)sizeof hdr);
    assert_int_equal(pwrite(fd, payload, hdr.payload_size, sizeof hdr), (ssize_t)hdr.payload_size);
    free(payload);
    close(fd);
}

#define OLDER_MSG                                                                                  \
    ("state format version 1 was created by an older openfm (this one reads version 3): "          \
     "recreate with 'fmctl emu create --force'")

static void test_corruption_reported(void **state)
{
    (void)state;
    void (*dmg[])(const char *) = {flip_byte, truncate_half, bump_version, bad_magic,
                                   impossible_link_state, older_version};
    const char *msg[] = {"checksum mismatch", "truncated", "state format version 99", "bad magic",
                         "switch slot 2 port 7: bad link state 9",
                         OLDER_MSG};
    for (size_t i = 0; i < sizeof dmg / sizeof dmg[0]; i++) {
        char dir[64];
        ofm_hal *h = fixture_open("hgx-h100", dir, sizeof dir);
        assert_non_null(h);
        ofm_hal_close(h);
        corrupt_and_expect(dir, dmg[i], msg[i]);
        char err[256];
        ofm_emu_destroy(dir, err, sizeof err);
    }
}

/* Every emulated GPU address is one lspci could print (8-bit bus) and no two
 * are the same: a 72-GPU rack ran past bus 0xff (0000:106:00.0). */
static void test_gpu_addresses_valid_at_rack_scale(void **state)
{
    (void)state;
    char dir[64];
    ofm_hal *h = fixture_open("gb200-nvl72", dir, sizeof dir);
    assert_non_null(h);
    static ofm_hal_gpu g[OFM_MAX_GPUS];
    size_t n = 0;
    assert_int_equal(h->ops->list_gpus(h, g, OFM_MAX_GPUS, &n), OFM_HAL_OK);
    assert_int_equal(n, 72);
    for (size_t i = 0; i < n; i++) {
        unsigned dom, bus, dev, fn;
        char tail;
        if (sscanf(g[i].pci_bdf, "%4x:%2x:%2x.%1x%c", &dom, &bus, &dev, &fn, &tail) != 4 ||
            strlen(g[i].pci_bdf) != 12)
            fail_msg("GPU %u: '%s' is not DDDD:BB:DD.F", g[i].phys_id, g[i].pci_bdf);
        for (size_t k = 0; k < i; k++)
            if (!strcmp(g[k].pci_bdf, g[i].pci_bdf))
                fail_msg("GPUs %u and %u share %s", g[k].phys_id, g[i].phys_id, g[i].pci_bdf);
    }
    fixture_close(h, dir);
}

static void test_create_refuses_existing(void **state)
{
    (void)state;
    char dir[64], err[512];
    ofm_hal *h = fixture_open("hgx-h100", dir, sizeof dir);
    assert_non_null(h);
    assert_int_equal(ofm_emu_create(dir, "hgx-2", false, err, sizeof err), OFM_HAL_EBUSY);
    assert_non_null(strstr(err, "already holds an emulated system"));
    assert_int_equal(ofm_emu_fm_attach(h), OFM_HAL_OK);
    assert_true(ofm_emu_fm_running(h));
    assert_int_equal(ofm_emu_destroy(dir, err, sizeof err), OFM_HAL_EBUSY);
    ofm_emu_fm_detach(h);
    assert_false(ofm_emu_fm_running(h));
    fixture_close(h, dir);
    assert_int_equal(ofm_emu_create("/tmp", "no-such-platform", false, err, sizeof err), OFM_HAL_EINVAL);
    assert_non_null(strstr(err, "unknown platform 'no-such-platform'"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_h100_links_up_by_ali),
        cmocka_unit_test(test_a100_links_need_training),
        cmocka_unit_test(test_routes_survive_the_writer),
        cmocka_unit_test(test_probe_without_routes_is_dropped),
        cmocka_unit_test(test_full_mesh_reaches_every_pair),
        cmocka_unit_test(test_faults_visible),
        cmocka_unit_test(test_trunk_link_down),
        cmocka_unit_test(test_corruption_reported),
        cmocka_unit_test(test_create_refuses_existing),
        cmocka_unit_test(test_gpu_addresses_valid_at_rack_scale),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
