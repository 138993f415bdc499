/* Two processes hammer the routing tables of every switch with whole-fabric
 * batches while a third reads: every read, and the final state, must be one
 * complete batch, never a mix. A writer SIGKILLed mid-stream leaves the last
 * batch it committed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "emu_fixture.h"

#define ROUNDS 1000

/* One batch covers every access ingress port of every switch; its egress
 * mask is unique to (writer, round), so a table is "one batch entirely"
 * exactly when all of its entries, on all switches, carry the same mask. */
static uint64_t pattern(int writer, int round)
{
    return (uint64_t)(writer + 1) << 40 | (uint64_t)(round + 1);
}

static size_t batch(const ofm_platform *p, uint64_t egress, ofm_route_entry *out)
{
    size_t n = 0;
    for (size_t i = 0; i < p->naccess; i++)
        for (size_t g = 0; g < p->ngpus; g++)
            out[n++] = (ofm_route_entry){p->access[i].sw, p->access[i].sw_port, p->gpus[g].phys_id,
                                         {{egress, 0}}};
    return n;
}

static ofm_route_entry wbuf[OFM_MAX_ACCESS_LINKS * OFM_MAX_GPUS];

/* rounds < 0: until killed */
static int writer(const char *dir, int id, int rounds)
{
    ofm_hal *h;
    char err[256];
    if (ofm_emu_open(dir, &h, err, sizeof err))
        return 1;
    for (int r = 0; rounds < 0 || r < rounds; r++) {
        size_t n = batch(ofm_hal_platform(h), pattern(id, r), wbuf);
        if (h->ops->route_write(h, wbuf, n))
            return 1;
    }
    ofm_hal_close(h);
    return 0;
}

/* The mask every entry carries: 0 before any batch, or UINT64_MAX if a
 * switch's table mixes batches or misses entries. Each route_read is its own
 * transaction, so while writers run different switches may legitimately show
 * different batches: `across` (quiescent reads only) also requires them to
 * agree. While writers run, `*seen_sw` gets each switch's mask. */
static uint64_t whole_batch(ofm_hal *h, bool across, uint64_t *seen_sw)
{
    static ofm_route_entry e[OFM_MAX_SWITCH_PORTS * OFM_MAX_GPUS];
    const ofm_platform *p = ofm_hal_platform(h);
    uint64_t all = 0;
    for (size_t s = 0; s < p->nswitches; s++) {
        size_t n, expect = 0;
        for (size_t i = 0; i < p->naccess; i++)
            expect += p->access[i].sw == p->switches[s].id ? p->ngpus : 0;
        assert_int_equal(h->ops->route_read(h, p->switches[s].id, e, OFM_MAX_SWITCH_PORTS * OFM_MAX_GPUS, &n),
                         OFM_HAL_OK);
        uint64_t m = n ? e[0].egress.w[0] : 0;
        for (size_t i = 0; i < n; i++)
            if (!ofm_portset_eq(e[i].egress, e[0].egress))
                return UINT64_MAX;
        if (n && n != expect)
            return UINT64_MAX;
        if (seen_sw)
            seen_sw[s] = m;
        if (s == 0)
            all = m;
        else if (across && m != all)
            return UINT64_MAX;
    }
    return all;
}

static bool written_by(uint64_t m, int writers, int rounds)
{
    uint32_t w = (uint32_t)(m >> 40), r = (uint32_t)(m & 0xffffffffffull);
    return m != UINT64_MAX && w >= 1 && (int)w <= writers && r >= 1 && (int)r <= rounds;
}

static void test_no_torn_tables(void **state)
{
    (void)state;
    char dir[64];
    ofm_hal *h = fixture_open("hgx-h100", dir, sizeof dir);
    assert_non_null(h);
    pid_t a = fork();
    if (a == 0)
        _exit(writer(dir, 0, ROUNDS));
    pid_t b = fork();
    if (b == 0)
        _exit(writer(dir, 1, ROUNDS));
    int reads = 0, st;
    pid_t done = 0;
    /* read while both run, until both have exited */
    for (int exited = 0; exited < 2;) {
        uint64_t sw[OFM_MAX_SWITCHES];
        if (whole_batch(h, false, sw) == UINT64_MAX)
            fail_msg("read %d: a switch table is not one whole batch", reads);
        for (size_t s = 0; s < ofm_hal_platform(h)->nswitches; s++)
            if (sw[s] && !written_by(sw[s], 2, ROUNDS))
                fail_msg("read %d: switch index %zu holds mask %#llx, never written", reads, s,
                         (unsigned long long)sw[s]);
        reads++;
        while ((done = waitpid(-1, &st, WNOHANG)) > 0) {
            assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
            exited++;
        }
    }
    /* the last batch of one of the writers, entirely */
    uint64_t m = whole_batch(h, true, NULL);
    assert_true(m == pattern(0, ROUNDS - 1) || m == pattern(1, ROUNDS - 1));
    print_message("%d consistent reads during %d batch writes\n", reads, 2 * ROUNDS);
    fixture_close(h, dir);
}

/* A writer killed at any point leaves the last committed batch, readable. */
static void test_killed_writer_leaves_whole_state(void **state)
{
    (void)state;
    char dir[64], err[512];
    ofm_hal *h = fixture_open("hgx-h100", dir, sizeof dir);
    assert_non_null(h);
    for (int k = 0; k < 20; k++) {
        pid_t w = fork();
        if (w == 0)
            _exit(writer(dir, k, -1));
        /* let it commit a varying number of batches: each read waits on its lock */
        uint64_t m = 0;
        for (int reads = 0; reads <= k || (m >> 40) != (uint64_t)k + 1; reads++)
            m = whole_batch(h, false, NULL);
        kill(w, SIGKILL);
        int st;
        assert_int_equal(waitpid(w, &st, 0), w);
        ofm_hal *fresh = NULL;
        assert_int_equal(ofm_emu_open(dir, &fresh, err, sizeof err), OFM_HAL_OK);
        m = whole_batch(fresh, true, NULL);
        if (!written_by(m, k + 1, 1 << 30) || (m >> 40) != (uint64_t)k + 1)
            fail_msg("after killing writer %d: mask %#llx", k, (unsigned long long)m);
        ofm_hal_close(fresh);
    }
    fixture_close(h, dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_no_torn_tables),
                                       cmocka_unit_test(test_killed_writer_leaves_whole_state)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
