/* The emulator's routing store (format 3, src/hal/emu/emu_routes.c): what is
 * written is what is read back - entry for entry, through a fresh handle that
 * reads state.bin from disk - whatever the mix of entries that share their
 * switch's egress toward a GPU and entries that do not; and state.bin grows
 * with the links, not with ports x GPUs. A state directory of format 2 (the
 * dense table) is refused with the reason. Routing groups written through
 * route_write_groups give the table their expanded entries give. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "emu/emu_fixture.h"
#include "hal/emu/emu_int.h"

/* The oracle: a dense copy of every table, [switch][port][gpu]. */
static ofm_portset oracle[OFM_MAX_SWITCHES][OFM_MAX_SWITCH_PORTS][OFM_MAX_GPUS];

static long file_size(const char *dir)
{
    char path[256];
    snprintf(path, sizeof path, "%s/state.bin", dir);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return (long)st.st_size;
}

/* Every switch's table as the HAL reads it equals the oracle. */
static void expect_oracle(ofm_hal *h, const ofm_platform *p)
{
    static ofm_route_entry got[OFM_MAX_SWITCH_PORTS * OFM_MAX_GPUS];
    for (size_t si = 0; si < p->nswitches; si++) {
        size_t n = 0;
        assert_int_equal(h->ops->route_read(h, p->switches[si].id, got,
                                            sizeof got / sizeof got[0], &n),
                         OFM_HAL_OK);
        size_t want = 0;
        for (uint32_t port = 0; port < p->switches[si].nports; port++)
            for (size_t gi = 0; gi < p->ngpus; gi++)
                want += !ofm_portset_empty(oracle[si][port][gi]);
        assert_int_equal(n, want);
        for (size_t k = 0; k < n; k++) {
            int gi = -1;
            for (size_t g = 0; g < p->ngpus; g++)
                if (p->gpus[g].phys_id == got[k].dst_gpu)
                    gi = (int)g;
            assert_true(gi >= 0);
            if (!ofm_portset_eq(got[k].egress, oracle[si][got[k].in_port][gi]))
                fail_msg("switch %u port %u GPU %u: read %llx:%llx", p->switches[si].id,
                         got[k].in_port, got[k].dst_gpu, (unsigned long long)got[k].egress.w[1],
                         (unsigned long long)got[k].egress.w[0]);
        }
    }
}

/* Random batches over a small pool of egress sets per (switch, GPU), so
 * entries keep moving between "common" and "exception", including every
 * port of a (switch, GPU) changing at once and entries being cleared. */
/* A batch of route_write_groups: random (switch, GPU) pairs, each once, a
 * random subset of the switch's ports, an egress from the same small pool
 * (or none). The oracle gets one entry per port of the group. */
static size_t group_batch(const ofm_platform *p, ofm_route_group *g, size_t cap, unsigned round,
                          unsigned *stamp)
{
    size_t n = 1 + (size_t)rand() % cap, k = 0;
    for (size_t i = 0; i < n; i++) {
        size_t si = (size_t)rand() % p->nswitches, gi = (size_t)rand() % p->ngpus;
        uint32_t nports = p->switches[si].nports;
        if (stamp[si * OFM_MAX_GPUS + gi] == round + 1)
            continue;
        stamp[si * OFM_MAX_GPUS + gi] = round + 1;
        ofm_portset in = ofm_portset_none();
        unsigned density = 1 + (unsigned)rand() % 4; /* a few ports to all of them */
        for (uint32_t port = 0; port < nports; port++)
            if ((unsigned)rand() % 4 < density)
                ofm_portset_add(&in, port);
        int pick = rand() % 5;
        ofm_portset eg = pick ? ofm_portset_of((uint32_t)(pick + gi) % nports) : ofm_portset_none();
        g[k++] = (ofm_route_group){.sw = p->switches[si].id, .dst_gpu = p->gpus[gi].phys_id,
                                   .in_ports = in, .egress = eg};
        for (uint32_t port = 0; port < nports; port++)
            if (ofm_portset_has(in, port))
                oracle[si][port][gi] = eg;
    }
    return k;
}

/* mode 0: route_write only; 1: route_write and route_write_groups
 * alternating; 2: route_write_groups only (its path without exceptions,
 * until groups overlap with other egress sets). */
static void randomized_mode(const char *platform, unsigned seed, int rounds, int mode)
{
    char dir[64];
    ofm_hal *h = fixture_open(platform, dir, sizeof dir);
    assert_non_null(h);
    const ofm_platform *p = ofm_emu_platform(h);
    memset(oracle, 0, sizeof oracle);
    srand(seed);
    static ofm_route_entry batch[4096];
    static unsigned stamp[OFM_MAX_SWITCHES * OFM_MAX_SWITCH_PORTS * OFM_MAX_GPUS];
    memset(stamp, 0, sizeof stamp);
    static ofm_route_group groups[256];
    static unsigned gstamp[OFM_MAX_SWITCHES * OFM_MAX_GPUS];
    memset(gstamp, 0, sizeof gstamp);
    assert_non_null(h->ops->route_write_groups);
    for (int round = 0; round < rounds; round++) {
        if (mode == 2 || (mode == 1 && round % 2)) {
            size_t k = group_batch(p, groups, sizeof groups / sizeof groups[0], (unsigned)round,
                                   gstamp);
            assert_int_equal(ofm_hal_route_write_groups(h, groups, k), OFM_HAL_OK);
            if (round % 8 == 7) {
                char err[512];
                ofm_hal *h2 = NULL;
                assert_int_equal(ofm_emu_open(dir, &h2, err, sizeof err), OFM_HAL_OK);
                expect_oracle(h2, p);
                ofm_hal_close(h2);
            }
            continue;
        }
        size_t n = 1 + (size_t)rand() % (sizeof batch / sizeof batch[0]);
        bool whole = rand() % 4 == 0; /* one (switch, GPU) on every port */
        size_t wsi = (size_t)rand() % p->nswitches, wgi = (size_t)rand() % p->ngpus;
        ofm_portset weg = ofm_portset_of((uint32_t)rand() % p->switches[wsi].nports);
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            size_t si = whole ? wsi : (size_t)rand() % p->nswitches;
            uint32_t nports = p->switches[si].nports;
            uint32_t port = whole ? (uint32_t)(i % nports) : (uint32_t)rand() % nports;
            size_t gi = whole ? wgi : (size_t)rand() % p->ngpus;
            if (whole && i >= nports)
                break;
            ofm_portset eg;
            int pick = rand() % 5;
            if (whole)
                eg = weg;
            else if (pick == 0)
                eg = ofm_portset_none();
            else
                eg = ofm_portset_of((uint32_t)(pick + gi) % nports); /* 4 choices */
            /* a batch names each key once, as every writer does */
            size_t key = (si * OFM_MAX_SWITCH_PORTS + port) * OFM_MAX_GPUS + gi;
            if (stamp[key] == (unsigned)round + 1)
                continue;
            stamp[key] = (unsigned)round + 1;
            batch[k++] = (ofm_route_entry){p->switches[si].id, port, p->gpus[gi].phys_id, eg};
            oracle[si][port][gi] = eg;
        }
        assert_int_equal(h->ops->route_write(h, batch, k), OFM_HAL_OK);
        if (round % 8 == 7) {
            /* a fresh handle reads the file, not this handle's memory */
            char err[512];
            ofm_hal *h2 = NULL;
            assert_int_equal(ofm_emu_open(dir, &h2, err, sizeof err), OFM_HAL_OK);
            expect_oracle(h2, p);
            ofm_hal_close(h2);
        }
    }
    expect_oracle(h, p);
    /* clearing every switch leaves an empty, canonical store */
    for (size_t si = 0; si < p->nswitches; si++)
        assert_int_equal(h->ops->route_clear_switch(h, p->switches[si].id), OFM_HAL_OK);
    memset(oracle, 0, sizeof oracle);
    expect_oracle(h, p);
    fixture_close(h, dir);
}

static void randomized(const char *platform, unsigned seed, int rounds)
{
    randomized_mode(platform, seed, rounds, 0);
}

/* route_write_groups gives the table route_write of the expanded entries
 * gives, from any table (with and without exceptions) */
static void test_groups_random(void **state)
{
    (void)state;
    randomized_mode("hgx-h100", 11, 40, 1);
    randomized_mode("hgx-a100-2b", 12, 40, 2);
    randomized_mode("gb200-nvl72", 13, 24, 1);
    randomized_mode("gb200-nvl72", 14, 24, 2);
}

static void test_random_h100(void **state)
{
    (void)state;
    randomized("hgx-h100", 1, 40);
}

static void test_random_a100_2b(void **state)
{
    (void)state;
    randomized("hgx-a100-2b", 2, 40);
}

static void test_random_nvl72(void **state)
{
    (void)state;
    randomized("gb200-nvl72", 3, 32);
}

/* Every pair routed on every link: the routing part of state.bin is
 * (switches x GPUs + ports) egress sets, ~40 KiB on NVL72 where the dense
 * table was 1.5 MB; and it holds no exception for a plan of this shape. */
static void test_size_is_linear(void **state)
{
    (void)state;
    const char *names[] = {"hgx-h100", "gb200-nvl72"};
    long sizes[2];
    static ofm_route_entry mesh[OFM_MAX_SWITCHES * OFM_MAX_SWITCH_PORTS * OFM_MAX_GPUS];
    for (int i = 0; i < 2; i++) {
        char dir[64];
        ofm_hal *h = fixture_open(names[i], dir, sizeof dir);
        assert_non_null(h);
        const ofm_platform *p = ofm_emu_platform(h);
        long empty = file_size(dir);
        size_t n = fixture_full_mesh(p, mesh);
        assert_int_equal(h->ops->route_write(h, mesh, n), OFM_HAL_OK);
        sizes[i] = file_size(dir);
        assert_int_equal(sizes[i], empty); /* no exceptions: same size as no routes */
        size_t ports = 0;
        for (size_t s = 0; s < p->nswitches; s++)
            ports += p->switches[s].nports;
        long routes = (long)((p->nswitches * p->ngpus + ports) * sizeof(ofm_portset) + 8);
        assert_int_equal(sizes[i], (long)(sizeof(emu_header) + sizeof(emu_fixed)) + routes);
        printf("state.bin %s: %ld bytes (routing tables %ld bytes for %zu entries)\n", names[i],
               sizes[i], routes, n);
        fixture_close(h, dir);
    }
    /* 9x the GPUs, 13.5x the links ... well under 4x the file */
    assert_true(sizes[1] < 4 * sizes[0]);
    assert_true(sizes[1] < 100 * 1024);
}

/* A directory written by the dense-table openfm (format 2) is refused. */
static void test_format_2_refused(void **state)
{
    (void)state;
    char dir[64], path[128], err[512];
    ofm_hal *h = fixture_open("gb200-nvl72", dir, sizeof dir);
    assert_non_null(h);
    ofm_hal_close(h);
    snprintf(path, sizeof path, "%s/state.bin", dir);
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    uint32_t v = 2;
    assert_int_equal(pwrite(fd, &v, 4, offsetof(emu_header, version)), 4);
    close(fd);
    assert_int_equal(ofm_emu_open(dir, &h, err, sizeof err), OFM_HAL_ECORRUPT);
    assert_non_null(strstr(err, "state format version 2 was created by an older openfm (this one "
                                "reads version 3): recreate with 'fmctl emu create --force'"));
    assert_int_equal(ofm_emu_create(dir, "gb200-nvl72", true, err, sizeof err), OFM_HAL_OK);
    assert_int_equal(ofm_emu_open(dir, &h, err, sizeof err), OFM_HAL_OK);
    fixture_close(h, dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_h100),
        cmocka_unit_test(test_random_a100_2b),
        cmocka_unit_test(test_random_nvl72),
        cmocka_unit_test(test_groups_random),
        cmocka_unit_test(test_size_is_linear),
        cmocka_unit_test(test_format_2_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
