/* fmctl emu as an operator uses it: what it prints and how it exits. */
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

static char out[1 << 16], errout[4096];

/* Run bin/fmctl emu ARGS (NULL-terminated); stdout into out[], stderr into
 * errout[]; returns the exit status. stdout is drained while the child runs;
 * its stderr is a line or two, which the pipe buffer holds. */
static int fmctl(const char *const *args)
{
    char bin[4096];
    const char *bd = getenv("OPENFM_BUILD_DIR");
    snprintf(bin, sizeof bin, "%s/bin/fmctl", bd ? bd : ".");
    int po[2], pe[2];
    assert_int_equal(pipe(po), 0);
    assert_int_equal(pipe(pe), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(po[1], 1);
        dup2(pe[1], 2);
        close(po[0]), close(pe[0]), close(po[1]), close(pe[1]);
        const char *argv[32] = {"fmctl", "emu"};
        size_t n = 2;
        for (; args[n - 2] && n < 31; n++)
            argv[n] = args[n - 2];
        argv[n] = NULL;
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    close(po[1]), close(pe[1]);
    size_t k = 0;
    ssize_t r;
    while ((r = read(po[0], out + k, sizeof out - 1 - k)) > 0)
        k += (size_t)r;
    out[k] = '\0';
    k = 0;
    while ((r = read(pe[0], errout + k, sizeof errout - 1 - k)) > 0)
        k += (size_t)r;
    errout[k] = '\0';
    close(po[0]), close(pe[0]);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void expect_match(const char *text, const char *re)
{
    regex_t rx;
    assert_int_equal(regcomp(&rx, re, REG_EXTENDED | REG_NEWLINE | REG_NOSUB), 0);
    int m = regexec(&rx, text, 0, NULL, 0);
    regfree(&rx);
    if (m)
        fail_msg("output does not match /%s/:\n%s", re, text);
}

/* Kernel log timestamps never go backwards within a boot. */
static void expect_ordered_timestamps(const char *log)
{
    double prev = -1;
    for (const char *l = log; *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : l + strlen(l)) {
        double t;
        assert_int_equal(sscanf(l, "[%lf]", &t), 1);
        if (t < prev)
            fail_msg("timestamp %.6f after %.6f in:\n%s", t, prev, log);
        prev = t;
    }
}

static void make_root(char *root, size_t len, char *sys, size_t slen)
{
    snprintf(root, len, "/tmp/ofm-fmctl-emu-XXXXXX");
    assert_non_null(mkdtemp(root));
    snprintf(sys, slen, "%s/h100", root);
}

static void remove_root(const char *root, const char *sys)
{
    char err[256];
    ofm_emu_destroy(sys, err, sizeof err);
    rmdir(root);
}

static void test_help_and_usage_errors(void **state)
{
    (void)state;
    assert_int_equal(fmctl((const char *[]){"--help", NULL}), 0);
    const char *cmds[] = {"create", "destroy", "list", "show", "log", "reboot", "routes", "probe",
                          "link-down", "switch-missing", "gpu-failed", "fabric-fail",
                          "driver-version", "sxid", "xid", "--emu-dir", "OPENFM_EMU_DIR",
                          "Exit status"};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (!strstr(out, cmds[i]))
            fail_msg("--help does not mention '%s'", cmds[i]);
    assert_int_equal(fmctl((const char *[]){"create", "--emu-dir", "/tmp/x", NULL}), 2);
    assert_non_null(strstr(errout, "--platform NAME|FILE is required"));
    assert_int_equal(fmctl((const char *[]){"probe", "1", "x2", "--emu-dir", "/nonexistent", NULL}), 2);
    assert_int_equal(fmctl((const char *[]){"inject", "sxid", "--switch", "1", "--port", "99", NULL}), 2);
    assert_non_null(strstr(errout, "--port: '99' is not a number in 0-71"));
    assert_int_equal(fmctl((const char *[]){"show", "--emu-dir", "/nonexistent/openfm", NULL}), 2);
    assert_non_null(strstr(errout, "no emulated system here"));
    /* an overlong directory is named as such (create and destroy exited 2 silently) */
    static char longdir[5000];
    memset(longdir, 'd', sizeof longdir - 1);
    longdir[0] = '/';
    const char *verbs[] = {"create", "destroy", "show"};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(fmctl((const char *[]){verbs[i], "--platform", "hgx-h100", "--emu-dir",
                                                longdir, NULL}),
                         2);
        if (!strstr(errout, "emulator directory path longer than 4095 characters"))
            fail_msg("emu %s with a 4999-character directory: '%s'", verbs[i], errout);
    }
}

static void test_probe_drop_logged_then_arrives(void **state)
{
    (void)state;
    char root[64], sys[96];
    make_root(root, sizeof root, sys, sizeof sys);
    assert_int_equal(fmctl((const char *[]){"create", "--platform", "hgx-h100", "--emu-dir", sys, NULL}), 0);
    assert_non_null(strstr(out, "Created emulated hgx-h100"));
    /* no manager ran: every access link is up by ALI, nothing is routed */
    assert_int_equal(fmctl((const char *[]){"show", "--emu-dir", sys, NULL}), 0);
    expect_match(out, "GPU 1 .*NVLinks active 18/18");
    /* the SR-IOV model: 16 VFs per GPU from routing-ID offset 4 (docs/emulator.md) */
    expect_match(out, "^ +GPU 1 +0000:18:00\\.0 .*\n +SR-IOV VFs \\(16\\): 0000:18:00\\.4 "
                      "0000:18:00\\.5 0000:18:00\\.6 0000:18:00\\.7 0000:18:01\\.0 ");
    expect_match(out, "^ +0000:26:01\\.4 .* 0000:26:02\\.3$");
    assert_int_equal(fmctl((const char *[]){"show", "--json", "--emu-dir", sys, NULL}), 0);
    assert_non_null(strstr(out, "\"vfs\":["));
    assert_non_null(strstr(out, "\"0000:34:00.4\""));
    assert_non_null(strstr(out, "\"0000:34:02.3\""));
    assert_int_equal(fmctl((const char *[]){"probe", "1", "2", "--emu-dir", sys, NULL}), 1);
    expect_match(out, "^GPU 1 -> GPU 2: dropped at switch [0-9]+ port [0-9]+: SXid 11004 "
                      "\\(ingress invalid ACL\\)$");
    assert_int_equal(fmctl((const char *[]){"log", "--emu-dir", sys, NULL}), 0);
    expect_match(out, "^\\[ *[0-9]+\\.[0-9]{6}\\] nvidia-nvswitch[0-9]+: SXid \\(PCI:0000:[0-9a-f]{2}:00\\.0\\): "
                      "11004, Non-fatal, Link [0-9]+ ingress invalid ACL$");
    expect_match(out, "^\\[ *[0-9]+\\.[0-9]{6}\\] NVRM: Xid \\(PCI:0000:[0-9a-f]{2}:00\\): 45, ");
    /* --quiet probes leave the log alone */
    size_t loglen = strlen(out);
    assert_int_equal(fmctl((const char *[]){"probe", "2", "3", "--quiet", "--emu-dir", sys, NULL}), 1);
    assert_int_equal(fmctl((const char *[]){"log", "--emu-dir", sys, NULL}), 0);
    assert_int_equal(strlen(out), loglen);

    /* a full mesh written by another process makes it arrive over all 18 links */
    char err[512];
    ofm_hal *h = NULL;
    assert_int_equal(ofm_emu_open(sys, &h, err, sizeof err), OFM_HAL_OK);
    static ofm_route_entry mesh[OFM_MAX_SWITCHES * OFM_MAX_SWITCH_PORTS * 16];
    size_t n = fixture_full_mesh(ofm_hal_platform(h), mesh);
    assert_int_equal(h->ops->route_write(h, mesh, n), OFM_HAL_OK);
    ofm_hal_close(h);
    assert_int_equal(fmctl((const char *[]){"probe", "1", "2", "--emu-dir", sys, NULL}), 0);
    expect_match(out, "^GPU 1 -> GPU 2: arrives over 18 links \\(450 GB/s\\)$");
    assert_int_equal(fmctl((const char *[]){"probe", "--all", "--quiet", "--emu-dir", sys, NULL}), 0);
    expect_match(out, "^GPU1 +X +NV18 +NV18");
    assert_int_equal(fmctl((const char *[]){"routes", "--switch", "1", "--json", "--emu-dir", sys, NULL}), 0);
    expect_match(out, "\"dst_gpu\"");
    remove_root(root, sys);
}

static void test_injected_faults_show_up(void **state)
{
    (void)state;
    char root[64], sys[96];
    make_root(root, sizeof root, sys, sizeof sys);
    assert_int_equal(fmctl((const char *[]){"create", "--platform", "hgx-h100", "--emu-dir", sys, NULL}), 0);
    const char *e[] = {"--emu-dir", sys};
    assert_int_equal(fmctl((const char *[]){"inject", "link-down", "--switch", "1", "--port", "40", e[0], e[1], NULL}), 0);
    assert_int_equal(fmctl((const char *[]){"inject", "gpu-failed", "--gpu", "3", e[0], e[1], NULL}), 0);
    assert_int_equal(fmctl((const char *[]){"inject", "fabric-fail", "--gpu", "4", e[0], e[1], NULL}), 0);
    assert_int_equal(fmctl((const char *[]){"inject", "driver-version", "535.54.03", e[0], e[1], NULL}), 0);
    assert_int_equal(fmctl((const char *[]){"show", e[0], e[1], NULL}), 0);
    expect_match(out, "driver 535\\.54\\.03");
    expect_match(out, "GPU 3 .* FAILED ");
    expect_match(out, "GPU 4 .*registration fault injected");
    expect_match(out, "switch 1 .*failed 1,");
    /* default classification from the FM §13 tables, overridable */
    assert_int_equal(fmctl((const char *[]){"inject", "sxid", "--switch", "2", "--port", "5", "--code", "24007", e[0], e[1], NULL}), 0);
    assert_int_equal(fmctl((const char *[]){"inject", "sxid", "--switch", "2", "--port", "6", "--code", "11004", e[0], e[1], NULL}), 0);
    assert_int_equal(fmctl((const char *[]){"inject", "sxid", "--switch", "2", "--port", "7", "--code", "11004", "--fatal", e[0], e[1], NULL}), 0);
    assert_int_equal(fmctl((const char *[]){"inject", "xid", "--gpu", "5", "--code", "48", e[0], e[1], NULL}), 0);
    assert_int_equal(fmctl((const char *[]){"log", e[0], e[1], NULL}), 0);
    expect_match(out, "SXid \\(PCI:[0-9a-f:.]+\\): 24007, Fatal, Link 5 ");
    expect_match(out, "SXid \\(PCI:[0-9a-f:.]+\\): 11004, Non-fatal, Link 6 ");
    /* 12028 sits in FM §13.4, the non-fatal table */
    assert_int_equal(fmctl((const char *[]){"inject", "sxid", "--switch", "2", "--port", "8", "--code", "12028", e[0], e[1], NULL}), 0);
    assert_int_equal(fmctl((const char *[]){"log", "--since", "3", e[0], e[1], NULL}), 0);
    expect_match(out, "SXid \\(PCI:[0-9a-f:.]+\\): 12028, Non-fatal, Link 8 ");
    assert_null(strstr(out, "booted hgx-h100"));
    expect_match(out, "SXid \\(PCI:[0-9a-f:.]+\\): 11004, Fatal, Link 7 ");
    expect_match(out, "SXid \\(PCI:[0-9a-f:.]+\\): 24007, Severity 1 Engine instance 5 Sub-engine instance 00$");
    expect_match(out, "NVRM: Xid \\(PCI:[0-9a-f:]+\\): 48, ");
    expect_ordered_timestamps(out);
    /* unknown devices are refused with the reason */
    assert_int_equal(fmctl((const char *[]){"inject", "gpu-missing", "--gpu", "77", e[0], e[1], NULL}), 1);
    assert_non_null(strstr(errout, "no GPU 77"));
    /* a port with no NVLink cannot go down (the daemon logged "NVLink down" for it) */
    assert_int_equal(fmctl((const char *[]){"inject", "link-down", "--switch", "1", "--port", "0", e[0], e[1], NULL}), 1);
    assert_non_null(strstr(errout, "switch 1 port 0 has no NVLink in hgx-h100"));
    remove_root(root, sys);
}

/* create --force replaces the whole system: the old one's MIG layout and
 * error counters went on into the new one; destroy left them behind (and the
 * directory with them). */
static void test_force_and_destroy_leave_nothing(void **state)
{
    (void)state;
    char root[64], sys[96], path[160];
    make_root(root, sizeof root, sys, sizeof sys);
    const char *e[] = {"--emu-dir", sys};
    assert_int_equal(fmctl((const char *[]){"create", "--platform", "hgx-h100", e[0], e[1], NULL}), 0);
    assert_int_equal(fmctl((const char *[]){"inject", "link-errors", "--switch", "1", "--port", "40",
                                            "--replay", "7", e[0], e[1], NULL}),
                     0);
    snprintf(path, sizeof path, "%s/nvlink_errors", sys);
    assert_int_equal(access(path, F_OK), 0);
    assert_int_equal(fmctl((const char *[]){"create", "--platform", "hgx-h100", "--force", e[0], e[1], NULL}), 0);
    assert_int_not_equal(access(path, F_OK), 0);
    assert_int_equal(fmctl((const char *[]){"inject", "link-errors", "--switch", "1", "--port", "40",
                                            "--replay", "7", e[0], e[1], NULL}),
                     0);
    assert_int_equal(fmctl((const char *[]){"destroy", e[0], e[1], NULL}), 0);
    assert_int_not_equal(access(sys, F_OK), 0); /* the directory itself is gone */
    rmdir(root);
}

static void test_list_shows_systems_and_damage(void **state)
{
    (void)state;
    char root[64], sys[96], bad[96];
    make_root(root, sizeof root, sys, sizeof sys);
    snprintf(bad, sizeof bad, "%s/broken", root);
    assert_int_equal(fmctl((const char *[]){"create", "--platform", "hgx-h100", "--emu-dir", sys, NULL}), 0);
    assert_int_equal(fmctl((const char *[]){"create", "--platform", "hgx-a100-2b", "--emu-dir", bad, NULL}), 0);
    char path[160];
    snprintf(path, sizeof path, "%s/state.bin", bad);
    assert_int_equal(truncate(path, 100), 0);
    setenv("OPENFM_EMU_ROOT", root, 1);
    int rc = fmctl((const char *[]){"list", NULL});
    unsetenv("OPENFM_EMU_ROOT");
    assert_int_equal(rc, 0);
    expect_match(out, "/h100 +hgx-h100");
    expect_match(out, "/broken +unreadable: .*truncated");
    /* an existing system is not overwritten without --force */
    assert_int_equal(fmctl((const char *[]){"create", "--platform", "hgx-2", "--emu-dir", sys, NULL}), 1);
    assert_non_null(strstr(errout, "already holds an emulated system"));
    assert_int_equal(fmctl((const char *[]){"destroy", "--emu-dir", bad, NULL}), 0);
    assert_int_equal(access(bad, F_OK), -1);
    remove_root(root, sys);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_help_and_usage_errors),
        cmocka_unit_test(test_probe_drop_logged_then_arrives),
        cmocka_unit_test(test_injected_faults_show_up),
        cmocka_unit_test(test_list_shows_systems_and_damage),
        cmocka_unit_test(test_force_and_destroy_leave_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
