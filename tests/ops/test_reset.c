/* GPU reset (FM §13.9).
 * - Preconditions: refused while `fmctl mig hold` holds the GPU; in shared
 *   NVSwitch mode refused while the GPU is in an activated partition (the
 *   partition named), allowed once it is deactivated, and the partition then
 *   activates again over retrained links; on A100 refused when no fabric
 *   manager answers (a single-GPU reset is unsupported there without one),
 *   allowed on H100 saying the partition state was not checked.
 * - Effect under a running daemon on A100: the reset takes the GPU's 12
 *   switch-side links down (the emulator's own event ring says so) and the
 *   daemon resets and retrains them: with the daemon stopped they stay down
 *   (the emulator does not retrain them by itself), after it resumes the
 *   probe reaches through them again, both ways. `fmctl status --json`,
 *   `/metrics` and `fmctl events` all show it and agree with the probe.
 * - Resetting an NVSwitch alone is refused; usage errors. */
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include "ops_views.h"
#include "ops_daemon.h"

static uint32_t probe_links(ofm_hal *h, uint32_t src, uint32_t dst)
{
    ofm_emu_probe_result r;
    assert_int_equal(ofm_emu_probe(h, src, dst, true, &r), 0);
    return r.links;
}

/* Link-down events the reset itself caused for `gpu` after *cursor, from
 * the emulator's own ring (what the hardware reported). */
static size_t reset_downs(ofm_hal *h, uint64_t *cursor, uint32_t gpu)
{
    ofm_hal_event ev[256];
    size_t n, downs = 0;
    do {
        assert_int_equal(h->ops->read_events(h, cursor, ev, 256, &n), 0);
        for (size_t i = 0; i < n; i++)
            if (ev[i].kind == OFM_EVT_LINK_DOWN && ev[i].gpu == gpu && strstr(ev[i].detail, "GPU reset"))
                downs++;
    } while (n == 256);
    return downs;
}

/* Whether the process is stopped ('T' in /proc/PID/stat). */
static bool is_stopped(pid_t pid)
{
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *rp = strrchr(buf, ')'); /* the state follows the command name */
    return rp && rp[1] == ' ' && rp[2] == 'T';
}

/* Whether the emulator lock `name` is free now (nobody holds it at all). */
static bool lock_free(const char *emu, const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", emu, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return true; /* never created: nobody holds it */
    bool free_now = flock(fd, LOCK_EX | LOCK_NB) == 0;
    close(fd);
    return free_now;
}

/* Stop the daemon between two emulator transactions: kill(SIGSTOP) returns
 * before the target has stopped, so poll /proc until it shows 'T'; a
 * daemon stopped while holding an emulator lock would block the test's
 * reset, so then let it run on and stop it again. Deadline, no sleeps. */
static void stop_daemon(pid_t pid, const char *emu)
{
    uint64_t t0 = ops_now_ms();
    for (;;) {
        assert_int_equal(kill(pid, SIGSTOP), 0);
        while (!is_stopped(pid))
            if (ops_now_ms() - t0 > 20000)
                fail_msg("daemon %ld did not stop", (long)pid);
        if (lock_free(emu, "state.lock") && lock_free(emu, "mig.lock"))
            return;
        assert_int_equal(kill(pid, SIGCONT), 0);
        if (ops_now_ms() - t0 > 20000)
            fail_msg("daemon %ld always stopped holding an emulator lock", (long)pid);
    }
}

typedef struct {
    uint32_t gpu, retrains, usable;
} want_retrain;

static int retrained(const ofm_status_doc *doc, const void *arg)
{
    const want_retrain *w = arg;
    const ofm_gpu_status *g = ops_gpu(doc, w->gpu);
    return g && g->link_retrains == w->retrains && g->links_usable == w->usable;
}

/* Sequence number of the first event of `type` containing `text`; 0 none. */
static int64_t seq_of(const ops_evlist *l, const char *type, const char *text)
{
    json_object *e = ops_ev_find(l, type, text);
    return e ? ops_ev_num(e, "seq") : 0;
}

static void test_reset_a100_bare_metal(void **state)
{
    (void)state;
    assert_int_equal(dh_init(&d, "hgx-a100"), 0);
    assert_int_equal(dh_write_config(&d, "OPENFM_METRICS_LISTEN=127.0.0.1:0\n"), 0);
    ofm_hal *h = ops_open(&d);
    const ofm_platform *p = ofm_hal_platform(h);
    uint32_t gpu = p->gpus[2].phys_id, peer = p->gpus[0].phys_id;
    uint64_t cursor = 0;
    reset_downs(h, &cursor, gpu);

    assert_int_equal(dh_start(&d, NULL, 20000, NULL), 0);
    unsigned port = ops_metrics_port(&d);
    assert_int_equal(probe_links(h, peer, gpu), 12);
    assert_int_equal(probe_links(h, gpu, peer), 12);

    /* a client holds it (fmctl mig -i takes the GPU's index): refused,
     * nothing changes */
    assert_int_equal(ops_fmctl("mig hold -i 2 --emu-dir %s", d.emu), 0);
    assert_int_equal(ops_fmctl("reset gpu %u --emu-dir %s --socket %s", gpu, d.emu, d.sock), 1);
    if (!strstr(ops_out, "in use by 1 client"))
        fail_msg("refusal does not name the holder count:\n%s", ops_out);
    uint32_t holders = 0;
    assert_int_equal(h->ops->gpu_hold(h, gpu, 0, &holders), 0);
    assert_int_equal(holders, 1);
    assert_int_equal(reset_downs(h, &cursor, gpu), 0);
    assert_int_equal(ops_fmctl("mig release -i 2 --emu-dir %s", d.emu), 0);

    /* the reset: the hardware takes the 12 links down, the fabric manager
     * resets and retrains them, fmctl waits for that */
    assert_int_equal(ops_fmctl("reset gpu %u --emu-dir %s --socket %s", gpu, d.emu, d.sock), 0);
    if (!strstr(ops_out, "the fabric manager reset and retrained its 12 switch-side NVLinks (12 up)"))
        fail_msg("reset under a fabric manager says:\n%s", ops_out);
    assert_int_equal(reset_downs(h, &cursor, gpu), 12);
    /* both ways: traffic from the GPU enters the reset ports, whose routing
     * entries the switch-side reset dropped and the daemon wrote back */
    assert_int_equal(probe_links(h, peer, gpu), 12);
    assert_int_equal(probe_links(h, gpu, peer), 12);

    /* fmctl status --json */
    static ofm_status_doc doc;
    want_retrain w = {gpu, 1, 12};
    ops_wait(&d, &doc, retrained, &w, 20000, "the GPU's links retrained once");
    assert_int_equal(ops_gpu(&doc, gpu)->links_usable, probe_links(h, gpu, peer));
    assert_int_equal(ops_gpu(&doc, gpu)->links_active, 12);
    assert_int_equal(ops_gpu(&doc, peer)->link_retrains, 0);

    /* /metrics */
    json_object *o = ops_scrape(port);
    assert_true(ops_gpu_sample(o, "openfm_gpu_link_retrains_total", gpu) == 1);
    assert_true(ops_gpu_sample(o, "openfm_gpu_link_retrains_total", peer) == 0);
    assert_true(ops_gpu_sample(o, "openfm_gpu_nvlinks_usable", gpu) == probe_links(h, gpu, peer));
    assert_true(ops_sample(o, "openfm_nvlinks_active", "kind", "access") ==
                ops_sample(o, "openfm_nvlinks_expected", "kind", "access"));
    json_object_put(o);

    /* fmctl events: the 12 links down, the usable count falling to 0, the
     * fabric manager's retraining, 12 links up, the count back at 12 */
    ops_evlist l;
    char down[64], back[64], done[96];
    snprintf(down, sizeof down, "GPU %u: NVLinks usable 12 -> 0", gpu);
    snprintf(back, sizeof back, "GPU %u: NVLinks usable 0 -> 12", gpu);
    snprintf(done, sizeof done, "GPU %u reset: fabric manager reset and retrained its 12", gpu);
    ops_wait_event(&d, &l, "GpuState", back);
    assert_int_equal(ops_ev_count_gpu(&l, "NVLinkDown", gpu), 12);
    assert_int_equal(ops_ev_count_gpu(&l, "NVLinkUp", gpu), 12);
    int64_t s_down = seq_of(&l, "GpuState", down), s_done = seq_of(&l, "GpuState", done),
            s_back = seq_of(&l, "GpuState", back);
    if (!(s_down > 0 && s_down < s_done && s_done < s_back))
        fail_msg("events out of order or missing (down %lld, retrained %lld, back %lld)",
                 (long long)s_down, (long long)s_done, (long long)s_back);
    json_object_put(l.all);

    /* The daemon is what retrains them: stopped, the links stay down after a
     * reset (the probe gets nothing through); resumed, it retrains them. */
    stop_daemon(d.pid, d.emu);
    assert_int_equal(h->ops->gpu_reset(h, gpu), 0);
    assert_int_equal(reset_downs(h, &cursor, gpu), 12);
    assert_int_equal(probe_links(h, gpu, peer), 0);
    assert_int_equal(probe_links(h, peer, gpu), 0);
    assert_int_equal(kill(d.pid, SIGCONT), 0);
    w.retrains = 2;
    ops_wait(&d, &doc, retrained, &w, 20000, "the GPU's links retrained a second time");
    assert_int_equal(probe_links(h, gpu, peer), 12);
    assert_int_equal(probe_links(h, peer, gpu), 12);
    char *log = dh_read_log(&d);
    if (!log || !strstr(log, "reset and retrained 12 of them"))
        fail_msg("the log does not say the links were retrained:\n%s", log ? log : "(none)");
    free(log);
    ofm_hal_close(h);
}

/* Shared NVSwitch mode: the partition lifecycle around the reset. */
static void test_reset_shared_partition(void **state)
{
    (void)state;
    assert_int_equal(dh_init(&d, "hgx-a100"), 0);
    assert_int_equal(dh_write_config(&d, "FABRIC_MODE=1\nOPENFM_METRICS_LISTEN=\n"), 0);
    assert_int_equal(dh_start(&d, NULL, 20000, NULL), 0);
    static ofm_status_doc doc;
    ops_status(&d, &doc);
    const ofm_pm_entry *pe = NULL;
    for (size_t i = 0; i < doc.npartitions && !pe; i++)
        if (doc.partitions[i].ngpus == 2 && doc.partitions[i].supported)
            pe = &doc.partitions[i];
    assert_non_null(pe);
    uint32_t id = pe->id, gpu = pe->gpus[0], other = pe->gpus[1];
    ofm_hal *h = ops_open(&d);
    uint64_t cursor = 0;
    reset_downs(h, &cursor, gpu);

    assert_int_equal(ops_fmctl("partition activate %u --socket %s", id, d.sock), 0);
    uint32_t links = probe_links(h, gpu, other);
    assert_true(links > 0);
    /* refused while activated: names the partition, says what to do */
    assert_int_equal(ops_fmctl("reset gpu %u --emu-dir %s --socket %s", gpu, d.emu, d.sock), 1);
    char want[128];
    snprintf(want, sizeof want, "it is in activated partition %u (shared NVSwitch mode)", id);
    if (!strstr(ops_out, want))
        fail_msg("refusal does not name the partition (want '%s'):\n%s", want, ops_out);
    snprintf(want, sizeof want, "fmctl partition deactivate %u", id);
    assert_non_null(strstr(ops_out, want));
    assert_int_equal(reset_downs(h, &cursor, gpu), 0);
    assert_int_equal(probe_links(h, gpu, other), links);

    /* deactivate, reset (the fabric manager retrains the links), activate */
    assert_int_equal(ops_fmctl("partition deactivate %u --socket %s", id, d.sock), 0);
    assert_int_equal(ops_fmctl("reset gpu %u --emu-dir %s --socket %s", gpu, d.emu, d.sock), 0);
    if (!strstr(ops_out, "reset and retrained its 12 switch-side NVLinks (12 up)"))
        fail_msg("reset after deactivation says:\n%s", ops_out);
    assert_int_equal(reset_downs(h, &cursor, gpu), 12);
    assert_int_equal(ops_fmctl("partition activate %u --socket %s", id, d.sock), 0);
    assert_int_equal(probe_links(h, gpu, other), links);
    assert_int_equal(probe_links(h, other, gpu), links);
    ofm_hal_close(h);
}

/* Without a fabric manager: unsupported on A100 (nothing happens), allowed
 * on H100 saying what was not checked. */
static void test_reset_without_fm(void **state)
{
    (void)state;
    assert_int_equal(dh_init(&d, "hgx-a100"), 0);
    ofm_hal *h = ops_open(&d);
    uint32_t gpu = ofm_hal_platform(h)->gpus[1].phys_id;
    uint64_t cursor = 0;
    reset_downs(h, &cursor, gpu);
    ofm_emu_probe_result r;
    assert_int_equal(ofm_emu_probe(h, gpu, ofm_hal_platform(h)->gpus[0].phys_id, true, &r), 0);
    assert_int_equal(ops_fmctl("reset gpu %u --emu-dir %s --socket %s", gpu, d.emu, d.sock), 1);
    if (!strstr(ops_out, "a single GPU can be reset only while the fabric manager runs") ||
        !strstr(ops_out, "no fabric manager answered at") || !strstr(ops_out, d.sock) ||
        !strstr(ops_out, "reset all GPUs and NVSwitches connected over NVLink"))
        fail_msg("A100 reset without a fabric manager says:\n%s", ops_out);
    /* not reset: the hardware reported nothing */
    assert_int_equal(reset_downs(h, &cursor, gpu), 0);
    ofm_hal_close(h);
    dh_cleanup(&d);
    memset(&d, 0, sizeof d);

    assert_int_equal(dh_init(&d, "hgx-h100"), 0);
    assert_int_equal(ops_fmctl("reset gpu 1 --emu-dir %s --socket %s", d.emu, d.sock), 0);
    if (!strstr(ops_out, "GPU 1 reset; its NVLinks train on their own") ||
        !strstr(ops_out, "so no partition state was checked"))
        fail_msg("H100 reset without a fabric manager says:\n%s", ops_out);
}

static void test_reset_usage(void **state)
{
    (void)state;
    assert_int_equal(dh_init(&d, "hgx-a100"), 0);
    assert_int_equal(ops_fmctl("reset switch 0 --emu-dir %s", d.emu), 1);
    assert_non_null(strstr(ops_out, "resetting an NVSwitch alone is not supported"));
    assert_int_equal(ops_fmctl("reset gpu 99 --emu-dir %s --socket %s", d.emu, d.sock), 1);
    assert_non_null(strstr(ops_out, "no GPU 99"));
    assert_int_equal(ops_fmctl("reset gpu x1 --emu-dir %s", d.emu), 2);
    assert_non_null(strstr(ops_out, "not a physical ID"));
    assert_int_equal(ops_fmctl("reset gpu 1 --wait-timeout 0 --emu-dir %s", d.emu), 2);
    assert_non_null(strstr(ops_out, "--wait-timeout: '0' is not 1-3600 seconds"));
    assert_int_equal(ops_fmctl("reset --emu-dir %s", d.emu), 2);
    assert_int_equal(ops_fmctl("reset nic 0 --emu-dir %s", d.emu), 2);
    assert_int_equal(ops_fmctl("reset gpu 0 1 --emu-dir %s", d.emu), 2);
    assert_int_equal(ops_fmctl("reset --help"), 0);
    assert_non_null(strstr(ops_out, "usage: fmctl reset gpu ID"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_reset_usage, ops_teardown),
        cmocka_unit_test_teardown(test_reset_without_fm, ops_teardown),
        cmocka_unit_test_teardown(test_reset_a100_bare_metal, ops_teardown),
        cmocka_unit_test_teardown(test_reset_shared_partition, ops_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
