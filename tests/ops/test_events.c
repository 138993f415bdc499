/* fmctl events against the real daemon: after a link failure, an SXid, MIG
 * enabled on an A100 and partition changes, the log has each event once,
 * in sequence, agreeing with the emulator's probe; --since resumes after a
 * sequence number; a --follow reader sees new events as they happen. */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ops_views.h"
#include "ops_daemon.h"

static void test_fabric_events(void **state)
{
    (void)state;
    assert_int_equal(dh_init(&d, "hgx-a100"), 0);
    assert_int_equal(dh_write_config(&d, "OPENFM_METRICS_LISTEN=\n"), 0);
    assert_int_equal(dh_start(&d, NULL, 20000, NULL), 0);
    ofm_hal *h = ops_open(&d);
    const ofm_platform *p = ofm_hal_platform(h);
    const ofm_access_link *a = &p->access[0];
    uint32_t other = p->gpus[0].phys_id == a->gpu ? p->gpus[1].phys_id : p->gpus[0].phys_id;
    ops_evlist l;

    assert_int_equal(ops_fmctl("emu inject link-down --switch %u --port %u --emu-dir %s", a->sw,
                               a->sw_port, d.emu), 0);
    assert_int_equal(ops_fmctl("emu inject sxid --switch %u --port %u --code 12020 --emu-dir %s",
                               a->sw, a->sw_port + 1, d.emu), 0);
    char want[96];
    snprintf(want, sizeof want, "GPU %u: NVLinks usable 12 -> 11", a->gpu);
    /* the link failure and the SXid may reach the daemon in different
     * polls: wait for the later one's effect too */
    ops_wait_event(&d, &l, "FabricManagerState", "READY -> DEGRADED");
    json_object_put(l.all);
    ops_wait_event(&d, &l, "GpuState", want);
    /* the status change agrees with what the hardware carries */
    ofm_emu_probe_result r;
    assert_int_equal(ofm_emu_probe(h, a->gpu, other, true, &r), 0);
    assert_int_equal(r.links, 11);
    json_object *down = ops_ev_find(&l, "NVLinkDown", NULL);
    assert_non_null(down);
    assert_int_equal(ops_ev_num(down, "nvswitch"), a->sw);
    assert_int_equal(ops_ev_num(down, "port"), a->sw_port);
    assert_int_equal(ops_ev_num(down, "gpu"), a->gpu);
    json_object *sx = ops_ev_find(&l, "SXid", NULL);
    assert_non_null(sx);
    assert_int_equal(ops_ev_num(sx, "code"), 12020);
    assert_non_null(ops_ev_find(&l, "FabricManagerState", "READY -> DEGRADED"));
    /* the status counts the SXid on its switch, as the event log has it */
    static ofm_status_doc doc;
    ops_status(&d, &doc);
    int si = -1;
    for (size_t i = 0; i < doc.fabric.nswitches; i++)
        if (doc.fabric.switches[i].id == a->sw)
            si = (int)i;
    assert_true(si >= 0);
    assert_int_equal(doc.fabric.switches[si].sxid_fatal, 1);
    assert_int_equal(doc.fabric.state, OFM_SYS_DEGRADED);
    /* sequence numbers: 1, 2, 3, ... with no gap and no repeat */
    for (size_t i = 0; i < l.n; i++)
        assert_int_equal(ops_ev_num(l.ev[i], "seq"), (int64_t)i + 1);
    uint64_t last = (uint64_t)ops_ev_num(l.ev[l.n - 1], "seq");
    json_object_put(l.all);

    /* MIG on an A100: its links go down, the GPU's state says so */
    assert_int_equal(ops_fmctl("mig --emu-dir %s -i 1 --mode 1", d.emu), 0);
    uint32_t g2 = p->gpus[1].phys_id;
    snprintf(want, sizeof want, "GPU %u: MIG mode Disabled -> Enabled", g2);
    ops_wait_event(&d, &l, "GpuState", want);
    json_object_put(l.all);

    /* a reader resuming after `last` gets exactly what followed */
    ops_events(&d, last, &l);
    assert_true(l.n >= 1);
    assert_int_equal(ops_ev_num(l.ev[0], "seq"), (int64_t)last + 1);
    assert_non_null(ops_ev_find(&l, "GpuState", want));
    assert_null(ops_ev_find(&l, "SXid", NULL));
    json_object_put(l.all);

    /* an NVSwitch failing at run time reports no error of its own: the
     * state change is still in the daemon's log, with what to do */
    uint32_t sw2 = p->switches[p->nswitches - 1].id;
    assert_int_equal(ops_fmctl("emu inject switch-failed --switch %u --emu-dir %s", sw2, d.emu), 0);
    snprintf(want, sizeof want, "NVSwitch %u: OK -> FAILED", sw2);
    ops_wait_event(&d, &l, "SwitchState", want);
    json_object_put(l.all);
    char *log = dh_read_log(&d);
    assert_non_null(log);
    snprintf(want, sizeof want, "] NVSwitch %u (pci bus id 00000000:", sw2);
    const char *line = strstr(log, want);
    const char *bol = line;
    while (bol && bol > log && bol[-1] != '\n')
        bol--;
    if (!line || strncmp(strstr(bol, "] [") + 3, "ERROR]", 6) ||
        !strstr(line, "is FAILED at run time (was OK): traffic over its NVLinks is lost") ||
        !strstr(line, "reset all GPUs and NVSwitches (or reboot), then restart the fabric manager"))
        fail_msg("no actionable line for NVSwitch %u failing in:\n%s", sw2, log);
    free(log);

    /* the human view */
    assert_int_equal(ops_fmctl("events --socket %s", d.sock), 0);
    if (!strstr(ops_out, "NVLinkDown") || !strstr(ops_out, "SXid 12020"))
        fail_msg("human view:\n%s", ops_out);
    ofm_hal_close(h);
    assert_int_equal(dh_stop(&d, 0), 0);
    dh_cleanup(&d);
    memset(&d, 0, sizeof d);
}

/* An SXid or a link failure on a trunk port (two-board A100: the boards are
 * joined by trunks) is on no GPU: the event, the status's last_errors and the
 * text say so, never "GPU 0"; an access port's still names its GPU. */
static void test_trunk_port_names_no_gpu(void **state)
{
    (void)state;
    assert_int_equal(dh_init(&d, "hgx-a100-2b"), 0);
    assert_int_equal(dh_write_config(&d, "OPENFM_METRICS_LISTEN=\n"), 0);
    assert_int_equal(dh_start(&d, NULL, 20000, NULL), 0);
    ofm_hal *h = ops_open(&d);
    const ofm_platform *p = ofm_hal_platform(h);
    assert_true(p->ntrunks > 1);
    const ofm_trunk_link *t = &p->trunks[0], *t2 = &p->trunks[1];
    const ofm_access_link *a = &p->access[0];
    assert_int_equal(ops_fmctl("emu inject sxid --switch %u --port %u --code 12021 --non-fatal "
                               "--emu-dir %s", t->sw_a, t->port_a, d.emu), 0);
    assert_int_equal(ops_fmctl("emu inject link-down --switch %u --port %u --emu-dir %s",
                               t2->sw_a, t2->port_a, d.emu), 0);
    assert_int_equal(ops_fmctl("emu inject sxid --switch %u --port %u --code 12021 --non-fatal "
                               "--emu-dir %s", a->sw, a->sw_port, d.emu), 0);
    ops_evlist l;
    char want[64];
    snprintf(want, sizeof want, "port %u (trunk", t2->port_a);
    ops_wait_event(&d, &l, "NVLinkDown", want);
    json_object_put(l.all);
    snprintf(want, sizeof want, "access port (GPU %u", a->gpu);
    ops_wait_event(&d, &l, "SXid", want);
    json_object *trunk_sx = ops_ev_find(&l, "SXid", "trunk port");
    json_object *trunk_down = ops_ev_find(&l, "NVLinkDown", "trunk link");
    json_object *access_sx = ops_ev_find(&l, "SXid", want);
    assert_non_null(trunk_sx);
    assert_non_null(trunk_down);
    json_object *g = NULL;
    assert_true(json_object_object_get_ex(trunk_sx, "gpu", &g));
    assert_null(g); /* JSON null: no GPU */
    assert_true(json_object_object_get_ex(trunk_down, "gpu", &g));
    assert_null(g);
    assert_int_equal(ops_ev_num(trunk_sx, "nvswitch"), t->sw_a);
    assert_int_equal(ops_ev_num(trunk_sx, "port"), t->port_a);
    assert_int_equal(ops_ev_num(access_sx, "gpu"), a->gpu);
    json_object_put(l.all);

    /* the status document: gpu null on the trunk errors, the GPU on the access one */
    assert_int_equal(ops_fmctl("status --json --socket %s", d.sock) <= 1, 1);
    if (!strstr(ops_out, "\"gpu\":null") && !strstr(ops_out, "\"gpu\": null"))
        fail_msg("no \"gpu\": null in last_errors:\n%s", ops_out);
    static ofm_status_doc doc;
    ops_status(&d, &doc);
    size_t none = 0, on_gpu = 0;
    for (size_t i = 0; i < ofm_fabric_status_error_count(&doc.fabric); i++) {
        const ofm_fabric_error *e = ofm_fabric_status_error(&doc.fabric, i);
        if (e->trunk)
            none += e->gpu == OFM_ERROR_NO_GPU;
        else if (e->kind == OFM_EVT_SXID)
            on_gpu += e->gpu == a->gpu;
    }
    assert_int_equal(none, 2);
    assert_int_equal(on_gpu, 1);
    /* the human view of the events names no GPU 0 */
    assert_int_equal(ops_fmctl("events --socket %s", d.sock), 0);
    assert_null(strstr(ops_out, "GPU 0"));
    ofm_hal_close(h);
    assert_int_equal(dh_stop(&d, 0), 0);
    dh_cleanup(&d);
    memset(&d, 0, sizeof d);
}

static void test_follow_and_partitions(void **state)
{
    (void)state;
    assert_int_equal(dh_init(&d, "hgx-h100"), 0);
    assert_int_equal(dh_write_config(&d, "FABRIC_MODE=1\nOPENFM_METRICS_LISTEN=\n"), 0);
    assert_int_equal(dh_start(&d, NULL, 20000, NULL), 0);

    /* a follower started before anything happened */
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(pfd[1], 1);
        close(pfd[0]);
        close(pfd[1]);
        execl(dh_bin("fmctl"), "fmctl", "events", "--follow", "--json", "--socket", d.sock,
              (char *)NULL);
        _exit(127);
    }
    close(pfd[1]);
    assert_int_equal(ops_fmctl("partition activate 1 --socket %s", d.sock), 0);
    assert_int_equal(ops_fmctl("partition deactivate 1 --socket %s", d.sock), 0);
    /* --json is JSON for every partition command (these two printed
     * "...: success"); on H100 both lists are empty (FM §5.11) */
    assert_int_equal(ops_fmctl("partition failed-devices --json --socket %s", d.sock), 0);
    json_object *fj = json_tokener_parse(ops_out);
    json_object *fg = NULL;
    if (!fj || !json_object_object_get_ex(fj, "gpus", &fg) || json_object_array_length(fg) != 0)
        fail_msg("failed-devices --json: %s", ops_out);
    json_object_put(fj);
    assert_int_equal(ops_fmctl("partition unsupported --json --socket %s", d.sock), 0);
    fj = json_tokener_parse(ops_out);
    if (!fj || !json_object_is_type(fj, json_type_array) || json_object_array_length(fj) != 0)
        fail_msg("unsupported --json: %s", ops_out);
    json_object_put(fj);
    /* read until both partition events arrived, with a deadline */
    static char buf[1 << 16];
    size_t got = 0;
    buf[0] = 0;
    uint64_t t0 = ops_now_ms();
    while (!(strstr(buf, "\"PartitionActivated\"") && strstr(buf, "\"PartitionDeactivated\""))) {
        struct pollfd pf = {.fd = pfd[0], .events = POLLIN};
        int left = (int)(20000 - (ops_now_ms() - t0));
        if (left <= 0 || poll(&pf, 1, left) <= 0)
            break;
        ssize_t n = read(pfd[0], buf + got, sizeof buf - 1 - got);
        if (n <= 0)
            break;
        got += (size_t)n;
        buf[got] = 0;
    }
    buf[got] = 0;
    kill(pid, SIGTERM);
    int st;
    waitpid(pid, &st, 0);
    close(pfd[0]);
    if (!strstr(buf, "\"PartitionActivated\"") || !strstr(buf, "\"PartitionDeactivated\""))
        fail_msg("the follower did not see both partition events:\n%s", buf);
    const char *act = strstr(buf, "\"PartitionActivated\"");
    assert_true(act < strstr(buf, "\"PartitionDeactivated\""));
    assert_non_null(strstr(buf, "\"partition\":1,"));
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    assert_int_equal(dh_stop(&d, 0), 0);
    dh_cleanup(&d);
    memset(&d, 0, sizeof d);
}

static void test_usage(void **state)
{
    (void)state;
    assert_int_equal(ops_fmctl("events --since -3"), 2);
    assert_non_null(strstr(ops_out, "is not a sequence number"));
    assert_int_equal(ops_fmctl("events --socket /nonexistent/sock"), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_fabric_events, ops_teardown),
        cmocka_unit_test_teardown(test_trunk_port_names_no_gpu, ops_teardown),
        cmocka_unit_test_teardown(test_follow_and_partitions, ops_teardown),
        cmocka_unit_test_teardown(test_usage, ops_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
