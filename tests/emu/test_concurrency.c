/* Two processes hammer one switch's routing table with whole-table batches
 * of different patterns while a third reads: every read, and the final
 * state, must be one complete batch, never a mix. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "emu_fixture.h"

#define ROUNDS 300

static size_t batch(const ofm_platform *p, uint64_t pattern, ofm_route_entry *out)
{
    size_t n = 0;
    for (size_t i = 0; i < p->naccess; i++)
        if (p->access[i].sw == 2)
            for (size_t g = 0; g < p->ngpus; g++)
                out[n++] = (ofm_route_entry){2, p->access[i].sw_port, p->gpus[g].phys_id, pattern};
    return n;
}

static int writer(const char *dir, uint64_t pattern)
{
    ofm_hal *h;
    char err[256];
    if (ofm_hal_open_emu(dir, &h, err, sizeof err))
        return 1;
    static ofm_route_entry e[OFM_MAX_SWITCH_PORTS * OFM_MAX_GPUS];
    size_t n = batch(ofm_hal_platform(h), pattern, e);
    for (int i = 0; i < ROUNDS; i++)
        if (h->ops->route_write(h, e, n))
            return 1;
    ofm_hal_close(h);
    return 0;
}

static int uniform(ofm_hal *h, size_t expect)
{
    static ofm_route_entry e[OFM_MAX_SWITCH_PORTS * OFM_MAX_GPUS];
    size_t n;
    assert_int_equal(h->ops->route_read(h, 2, e, OFM_MAX_SWITCH_PORTS * OFM_MAX_GPUS, &n), OFM_HAL_OK);
    if (n == 0)
        return 1; /* before the first batch */
    assert_int_equal(n, expect);
    for (size_t i = 1; i < n; i++)
        if (e[i].egress != e[0].egress)
            return 0;
    return e[0].egress == 0x5555 || e[0].egress == 0xaaaa;
}

static void test_no_torn_tables(void **state)
{
    (void)state;
    char dir[64];
    ofm_hal *h = fixture_open("hgx-h100", dir, sizeof dir);
    assert_non_null(h);
    static ofm_route_entry e[OFM_MAX_SWITCH_PORTS * OFM_MAX_GPUS];
    size_t expect = batch(ofm_hal_platform(h), 1, e);
    pid_t a = fork();
    if (a == 0)
        _exit(writer(dir, 0x5555));
    pid_t b = fork();
    if (b == 0)
        _exit(writer(dir, 0xaaaa));
    int reads = 0, st;
    pid_t done = 0;
    /* read while both run, until both have exited */
    for (int exited = 0; exited < 2;) {
        assert_true(uniform(h, expect));
        reads++;
        while ((done = waitpid(-1, &st, WNOHANG)) > 0) {
            assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
            exited++;
        }
    }
    assert_true(uniform(h, expect));
    print_message("%d consistent reads during %d writes\n", reads, 2 * ROUNDS);
    fixture_close(h, dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_no_torn_tables)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
