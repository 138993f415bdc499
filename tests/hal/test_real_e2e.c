/* The real openfm daemon on the composed backend `nvml+emu:DIR`: GPUs read
 * through the NVML backend over the NVML model, switches from the emulator
 * standing in for the NVSwitch driver. Nothing names the platform, so
 * bring-up must recognise it from discovery; the outcome must equal a run on
 * the plain emulator backend, and a wiring that differs from every model in
 * one port must be reported with that switch and port. */
#include <json-c/json.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/daemon_harness.h"
#include "openfm/emu.h"
#include "openfm/hal.h"
#include "openfm/platform.h"

static char buf[1 << 16];

static void use_model(const char *emu_dir)
{
    char lib[512];
    snprintf(lib, sizeof lib, "%s/lib/nvml-model/libnvidia-ml.so", getenv("OPENFM_BUILD_DIR"));
    setenv("OPENFM_NVML_LIBRARY", lib, 1);
    setenv("OPENFM_NVML_MODEL_DIR", emu_dir, 1);
}

static void log_has(const dh_daemon *d, const char *needle)
{
    char *log = dh_read_log(d);
    assert_non_null(log);
    if (!strstr(log, needle))
        fail_msg("log lacks '%s':\n%s", needle, log);
    free(log);
}

/* The "gpus" array of the daemon's status document, as JSON text. */
static char *status_gpus(const dh_daemon *d)
{
    char path[160];
    snprintf(path, sizeof path, "%s/status.json", d->dir);
    json_object *o = json_object_from_file(path);
    assert_non_null(o);
    json_object *g;
    assert_true(json_object_object_get_ex(o, "gpus", &g));
    char *s = strdup(json_object_to_json_string_ext(g, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
    return s;
}

/* Daemons of the running test: a failed assertion must not leave them behind. */
static dh_daemon g_ref, g_d;

static int teardown(void **state)
{
    (void)state;
    dh_daemon *all[] = {&g_ref, &g_d};
    for (size_t i = 0; i < 2; i++) {
        if (all[i]->pid > 0)
            dh_stop(all[i], 0);
        if (all[i]->dir[0])
            dh_cleanup(all[i]);
        memset(all[i], 0, sizeof *all[i]);
        all[i]->pid = -1;
        all[i]->nfd = -1;
    }
    return 0;
}

static int start(dh_daemon *d, const char *platform, const char *extra)
{
    if (dh_init(d, platform) || dh_write_config(d, extra))
        return -1;
    int st = 0;
    return dh_start(d, NULL, 20000, &st) == 0 ? 0 : (st ? st : -1);
}

static void test_bringup_through_nvml_equals_emulator(void **state)
{
    (void)state;
    /* reference: the emulator backend, which names its platform */
    dh_daemon *ref = &g_ref;
    assert_int_equal(start(ref, "hgx-h100", NULL), 0);
    char *want = status_gpus(ref);
    dh_stop(ref, 0);

dh_daemon *d = &g_d;
    assert_int_equal(dh_init(d, "hgx-h100"), 0);
    use_model(d->emu);
    char extra[2048];
    snprintf(extra, sizeof extra, "OPENFM_BACKEND=nvml+emu:%s\n", d->emu);
    assert_int_equal(dh_write_config(d, extra), 0);
    assert_int_equal(dh_start(d, NULL, 20000, NULL), 0);
    log_has(d, "using backend nvml+emu");
    log_has(d, "topology: discovery (4 NVSwitch(es) gen 3, 8 GPU(s) H100-SXM5-80GB) matches "
                "hgx-h100 (built-in hgx-h100): 144 of 144 links wired as modelled");
    log_has(d, "register: 8 GPU(s) registered");
    char *got = status_gpus(d);
    assert_string_equal(got, want);
    free(got);
    free(want);

    /* the registration the daemon drove, read back through NVML */
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s hw --json --backend nvml+emu:%s", dh_bin("fmctl"), d->emu);
    assert_int_equal(dh_run(cmd, buf, sizeof buf), 0);
    json_object *o = json_tokener_parse(buf);
    assert_non_null(o);
    json_object *gpus = json_object_object_get(o, "gpus"), *items;
    assert_true(json_object_object_get_ex(gpus, "items", &items));
    assert_int_equal(json_object_array_length(items), 8);
    assert_non_null(strstr(json_object_get_string(json_object_object_get(gpus, "source")),
                           "NVML model"));
    for (size_t i = 0; i < 8; i++) {
        json_object *g = json_object_array_get_idx(items, i), *f = json_object_object_get(g, "fabric");
        assert_non_null(f);
        assert_string_equal(json_object_get_string(json_object_object_get(f, "state")), "Completed");
        assert_string_equal(json_object_get_string(json_object_object_get(f, "status")), "Success");
        assert_int_equal(json_object_get_int(json_object_object_get(g, "module_id")), (int)i + 1);
        json_object *l = json_object_object_get(g, "nvlinks");
        assert_int_equal(json_object_get_int(json_object_object_get(l, "active")), 18);
        assert_int_equal(json_object_get_int(json_object_object_get(l, "version")), 4);
    }
    json_object_put(o);

    /* fmctl audit recognises the platform the same way and reads the same matrix */
    static char via_emu[1 << 14];
    snprintf(cmd, sizeof cmd, "%s audit --emu-dir %s", dh_bin("fmctl"), d->emu);
    assert_int_equal(dh_run(cmd, via_emu, sizeof via_emu), 0);
    snprintf(cmd, sizeof cmd, "%s audit --backend nvml+emu:%s --topology-path %s", dh_bin("fmctl"),
             d->emu, d->dir);
    assert_int_equal(dh_run(cmd, buf, sizeof buf), 0);
    /* the title says where the tables were read; the matrix must be the same */
    assert_non_null(strchr(buf, '\n'));
    assert_non_null(strchr(via_emu, '\n'));
    assert_string_equal(strchr(buf, '\n'), strchr(via_emu, '\n'));
    assert_non_null(strstr(buf, "18"));

    /* and the switches carry traffic: the emulator's probe is the oracle */
    ofm_hal *h;
    char err[512];
    assert_int_equal(ofm_emu_open(d->emu, &h, err, sizeof err), 0);
    ofm_emu_probe_result r;
    assert_int_equal(ofm_emu_probe(h, 1, 8, true, &r), 0);
    assert_true(r.arrives);
    assert_int_equal(r.links, 18);
    ofm_hal_close(h);
    assert_int_equal(dh_stop(d, 0), 0);
}

/* hgx-h100 with GPU 1's link 0 moved from its modelled port to a port of
 * the same switch that the model leaves unconnected. */
static int write_miswired(const char *path, uint32_t *sw, uint32_t *port)
{
    ofm_platform *p = malloc(sizeof *p);
    ofm_error e;
    if (!p || ofm_platform_load("hgx-h100", NULL, p, &e))
        return -1;
    const ofm_access_link *a = NULL;
    for (size_t i = 0; i < p->naccess; i++)
        if (p->access[i].gpu == 1 && p->access[i].gpu_link == 0)
            a = &p->access[i];
    if (!a)
        return -1;
    *sw = a->sw;
    *port = UINT32_MAX;
    for (uint32_t q = 0; q < 64 && *port == UINT32_MAX; q++) {
        bool used = false;
        for (size_t i = 0; i < p->naccess; i++)
            used |= p->access[i].sw == a->sw && p->access[i].sw_port == q;
        if (!used)
            *port = q;
    }
    char src[512];
    snprintf(src, sizeof src, "%s/share/topologies/hgx-h100.topo", getenv("OPENFM_SOURCE_DIR"));
    FILE *in = fopen(src, "r"), *out = fopen(path, "w");
    if (!in || !out || *port == UINT32_MAX)
        return -1;
    char line[512], from[80];
    snprintf(from, sizeof from, "access gpu=1 link=0 switch=%u port=%u\n", a->sw, a->sw_port);
    while (fgets(line, sizeof line, in)) {
        if (!strncmp(line, "platform ", 9))
            fprintf(out, "platform site-h100\n");
        else if (!strcmp(line, from))
            fprintf(out, "access gpu=1 link=0 switch=%u port=%u\n", a->sw, *port);
        else
            fputs(line, out);
    }
    fclose(in);
    free(p);
    return fclose(out);
}

static void test_miswired_port_is_named(void **state)
{
    (void)state;
dh_daemon *d = &g_d;
    char topo[1024], want[1400];
    uint32_t sw = 0, port = 0;
    assert_int_equal(dh_init(d, NULL), 0);
    snprintf(topo, sizeof topo, "%s/site-h100.topo", d->dir);
    assert_int_equal(write_miswired(topo, &sw, &port), 0);
    char err[512];
    assert_int_equal(ofm_emu_create(d->emu, topo, false, err, sizeof err), 0);
    use_model(d->emu);
    char extra[2048];
    snprintf(extra, sizeof extra, "OPENFM_BACKEND=nvml+emu:%s\nTOPOLOGY_FILE_PATH=%s/none\n",
             d->emu, d->dir);
    assert_int_equal(dh_write_config(d, extra), 0);
    int st = 0;
    assert_int_equal(dh_start(d, NULL, 20000, &st), -1);
    assert_int_equal(st, 1);
    snprintf(want, sizeof want,
             "hgx-h100 (built-in hgx-h100) differs at NVSwitch %u port %u: expected nothing, "
             "found GPU 1 link 0", sw, port);
    log_has(d, want);
    snprintf(want, sizeof want, "closest is hgx-h100 (built-in hgx-h100), which differs at 1 "
                                "port(s), first NVSwitch %u port %u", sw, port);
    log_has(d, want);

    /* the site's own topology file describes it: then it matches */
    snprintf(extra, sizeof extra, "OPENFM_BACKEND=nvml+emu:%s\nTOPOLOGY_FILE_PATH=%s\n", d->emu,
             d->dir);
    assert_int_equal(dh_write_config(d, extra), 0);
    assert_int_equal(dh_start(d, NULL, 20000, NULL), 0);
    snprintf(want, sizeof want, "matches site-h100 (%s)", topo);
    log_has(d, want);
    assert_int_equal(dh_stop(d, 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_bringup_through_nvml_equals_emulator, teardown),
        cmocka_unit_test_teardown(test_miswired_port_is_named, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
