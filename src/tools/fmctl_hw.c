/* fmctl hw: what the hardware backends see, read-only - the driver version,
 * the NVSwitches (switch side) and the GPUs (GPU side: NVML), each record
 * marked with where it came from. A side that cannot be opened (no driver,
 * no library, a library too old) is one clear line; the rest still prints. */
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hal/nvml/nvml_backend.h"
#include "openfm/hal.h"
#include "tools/fmctl.h"

static void usage(FILE *f)
{
    fprintf(f,
        "usage: fmctl hw [--json] [--backend SPEC]\n"
        "\n"
        "Shows what openfm's hardware backends see, without changing anything: the driver\n"
        "version, the NVSwitches, and the GPUs with UUID, PCI address, module ID, NVLink\n"
        "count and state, fabric registration state and MIG mode. Every record names its\n"
        "source. Something the driver does not offer is shown as 'not available from this\n"
        "driver'; a missing driver or library is one line, not a failure.\n"
        "\n"
        "  --backend SPEC  real (default: GPUs through NVML, switches through the NVSwitch\n"
        "                  driver), nvml+emu:DIR (GPUs through NVML, switches from the\n"
        "                  emulator) or emu:DIR (everything from the emulator)\n"
        "  --json          one JSON document\n"
        "  -h, --help      this text\n"
        "\n"
        "Environment: OPENFM_NVML_LIBRARY (default libnvidia-ml.so.1), OPENFM_DEV_ROOT.\n"
        "Exit status: 0, also when a driver or library is missing (the output says so);\n"
        "2 usage error.\n");
}

/* One side of the machine: opened on its own so that one missing side does
 * not hide the other. */
typedef struct {
    const char *spec;
    ofm_hal *h;
    char err[700];
    char source[320];
} side;

static void open_side(side *s)
{
    if (ofm_hal_open(s->spec, NULL, &s->h, s->err, sizeof s->err) != OFM_HAL_OK) {
        s->h = NULL;
        return;
    }
    if (ofm_nvml_is(s->h))
        snprintf(s->source, sizeof s->source, "NVML %s%s", ofm_nvml_library(s->h),
                 s->h->prov == OFM_PROV_EMULATED ? " (openfm's NVML model: emulated)" : "");
    else
        snprintf(s->source, sizeof s->source, "%s%s", s->h->ops->name,
                 s->h->prov == OFM_PROV_EMULATED ? " (emulated)" : "");
}

static json_object *jstr(const char *s) { return json_object_new_string(s); }

static void switches(side *s, bool json, json_object *root)
{
    json_object *o = json ? json_object_new_object() : NULL;
    if (!s->h) {
        if (json) {
            json_object_object_add(o, "error", jstr(s->err));
            json_object_object_add(root, "switches", o);
        } else
            printf("NVSwitches: not available: %s\n", s->err);
        return;
    }
    ofm_hal_switch sw[OFM_MAX_SWITCHES];
    size_t n = 0;
    int rc = s->h->ops->list_switches ? s->h->ops->list_switches(s->h, sw, OFM_MAX_SWITCHES, &n)
                                      : OFM_HAL_ENOTSUP;
    if (json) {
        json_object_object_add(o, "source", jstr(s->source));
        if (rc)
            json_object_object_add(o, "error", jstr(ofm_hal_last_error(s->h)));
        json_object *a = json_object_new_array();
        for (size_t i = 0; !rc && i < n && i < OFM_MAX_SWITCHES; i++) {
            json_object *x = json_object_new_object();
            json_object_object_add(x, "id", json_object_new_int64(sw[i].phys_id));
            json_object_object_add(x, "uuid", jstr(sw[i].uuid));
            json_object_object_add(x, "pci_bus_id", jstr(sw[i].pci_bdf));
            json_object_object_add(x, "generation", json_object_new_int(sw[i].gen));
            json_object_object_add(x, "ports", json_object_new_int64(sw[i].nports));
            json_object_object_add(x, "health", jstr(sw[i].health == OFM_DEV_OK ? "ok" : "failed"));
            json_object_array_add(a, x);
        }
        json_object_object_add(o, "items", a);
        json_object_object_add(root, "switches", o);
        return;
    }
    if (rc) {
        printf("NVSwitches (source: %s): %s\n", s->source, ofm_hal_last_error(s->h));
        return;
    }
    printf("NVSwitches (source: %s): %zu\n", s->source, n);
    for (size_t i = 0; i < n && i < OFM_MAX_SWITCHES; i++)
        printf("  NVSwitch %" PRIu32 "  %s  %s  gen %d, %" PRIu32 " ports, %s\n", sw[i].phys_id,
               sw[i].pci_bdf, sw[i].uuid, (int)sw[i].gen, sw[i].nports,
               sw[i].health == OFM_DEV_OK ? "ok" : "FAILED");
}

static void gpu_one(side *s, size_t idx, const ofm_hal_gpu *g, bool json, json_object *a)
{
    ofm_hal *h = s->h;
    bool nvml = ofm_nvml_is(h);
    char mod[96], links[200], fab[300], mig[200], ver[64] = "";
    json_object *x = json ? json_object_new_object() : NULL;
    json_object *gaps = json ? json_object_new_array() : NULL;
    if (nvml && !ofm_nvml_has(h, "nvmlDeviceGetModuleId")) {
        snprintf(mod, sizeof mod, "module ID not available from this driver");
        if (json)
            json_object_array_add(gaps, jstr("nvmlDeviceGetModuleId: not available from this driver"));
    } else
        snprintf(mod, sizeof mod, "module %" PRIu32, g->phys_id);
    /* NVLinks */
    uint32_t active = 0;
    int lrc = OFM_HAL_OK;
    for (uint32_t l = 0; l < g->nvlinks && lrc == OFM_HAL_OK; l++) {
        ofm_hal_link lk;
        lrc = h->ops->gpu_link ? h->ops->gpu_link(h, g->phys_id, l, &lk) : OFM_HAL_ENOTSUP;
        active += lrc == OFM_HAL_OK && lk.state == OFM_LINK_ACTIVE;
    }
    uint32_t v = 0;
    if (nvml && g->nvlinks && ofm_nvml_link_version(h, g->phys_id, 0, &v) == OFM_HAL_OK)
        snprintf(ver, sizeof ver, ", NVLink %" PRIu32, v);
    if (nvml && !ofm_nvml_has(h, "nvmlDeviceGetNvLinkState"))
        snprintf(links, sizeof links, "NVLinks: nvmlDeviceGetNvLinkState not available from this driver");
    else if (lrc)
        snprintf(links, sizeof links, "NVLinks: %s", ofm_hal_last_error(h));
    else
        snprintf(links, sizeof links, "NVLinks %" PRIu32 " (%" PRIu32 " active%s)", g->nvlinks,
                 active, ver);
    if (json && (lrc || (nvml && !ofm_nvml_has(h, "nvmlDeviceGetNvLinkState"))))
        json_object_array_add(gaps, jstr(links));
    /* fabric */
    ofm_hal_fabric_info fi;
    int frc = h->ops->fabric_get ? h->ops->fabric_get(h, g->phys_id, &fi) : OFM_HAL_ENOTSUP;
    if (frc) {
        snprintf(fab, sizeof fab, "fabric: %.280s", ofm_hal_last_error(h));
        if (json)
            json_object_array_add(gaps, jstr(fab));
    } else
        snprintf(fab, sizeof fab, "fabric %s/%s, clique %" PRIu32, ofm_fabric_state_name(fi.state),
                 fi.status ? "Failure" : "Success", fi.clique_id);
    /* MIG */
    ofm_hal_mig_mode m;
    int mrc = h->ops->mig_mode_get ? h->ops->mig_mode_get(h, g->phys_id, &m) : OFM_HAL_ENOTSUP;
    if (mrc) {
        snprintf(mig, sizeof mig, "MIG: %.180s", ofm_hal_last_error(h));
        if (json)
            json_object_array_add(gaps, jstr(mig));
    } else
        snprintf(mig, sizeof mig, "MIG %s%s", m.current ? "Enabled" : "Disabled",
                 m.current != m.pending ? (m.pending ? " (enable pending)" : " (disable pending)") : "");
    if (!json) {
        printf("  GPU %zu  %s  %s  %s  %s\n", idx, g->pci_bdf, g->uuid, g->model, mod);
        printf("      %s; %s; %s\n", links, fab, mig);
        return;
    }
    json_object_object_add(x, "index", json_object_new_int64((int64_t)idx));
    json_object_object_add(x, "uuid", jstr(g->uuid));
    json_object_object_add(x, "pci_bus_id", jstr(g->pci_bdf));
    json_object_object_add(x, "name", jstr(g->model));
    json_object_object_add(x, "module_id", nvml && !ofm_nvml_has(h, "nvmlDeviceGetModuleId")
                                               ? NULL
                                               : json_object_new_int64(g->phys_id));
    json_object *jl = json_object_new_object();
    json_object_object_add(jl, "count", json_object_new_int64(g->nvlinks));
    json_object_object_add(jl, "active", lrc ? NULL : json_object_new_int64(active));
    json_object_object_add(jl, "version", v ? json_object_new_int64(v) : NULL);
    json_object_object_add(x, "nvlinks", jl);
    if (!frc) {
        json_object *jf = json_object_new_object();
        json_object_object_add(jf, "state", jstr(ofm_fabric_state_name(fi.state)));
        json_object_object_add(jf, "status", jstr(fi.status ? "Failure" : "Success"));
        json_object_object_add(jf, "clique_id", json_object_new_int64(fi.clique_id));
        json_object_object_add(jf, "cluster_uuid", jstr(fi.cluster_uuid));
        json_object_object_add(x, "fabric", jf);
    }
    if (!mrc) {
        json_object *jm = json_object_new_object();
        json_object_object_add(jm, "current", json_object_new_boolean(m.current));
        json_object_object_add(jm, "pending", json_object_new_boolean(m.pending));
        json_object_object_add(x, "mig", jm);
    }
    json_object_object_add(x, "not_available", gaps);
    json_object_array_add(a, x);
}

static void gpus(side *s, bool json, json_object *root)
{
    json_object *o = json ? json_object_new_object() : NULL;
    if (!s->h) {
        if (json) {
            json_object_object_add(o, "error", jstr(s->err));
            json_object_object_add(root, "gpus", o);
        } else
            printf("GPUs: not available: %s\n", s->err);
        return;
    }
    ofm_hal_gpu g[OFM_MAX_GPUS];
    size_t n = 0;
    int rc = s->h->ops->list_gpus(s->h, g, OFM_MAX_GPUS, &n);
    if (n > OFM_MAX_GPUS)
        n = OFM_MAX_GPUS;
    if (json) {
        json_object_object_add(o, "source", jstr(s->source));
        if (rc)
            json_object_object_add(o, "error", jstr(ofm_hal_last_error(s->h)));
        if (ofm_nvml_is(s->h)) {
            json_object *miss = json_object_new_array();
            for (size_t i = 0; i < ofm_nvml_symbol_count(); i++)
                if (!ofm_nvml_has(s->h, ofm_nvml_symbol_name(i)))
                    json_object_array_add(miss, jstr(ofm_nvml_symbol_name(i)));
            json_object_object_add(o, "functions_not_available", miss);
        }
        json_object *a = json_object_new_array();
        for (size_t i = 0; !rc && i < n; i++)
            gpu_one(s, i, &g[i], true, a);
        json_object_object_add(o, "items", a);
        json_object_object_add(root, "gpus", o);
        return;
    }
    if (rc) {
        printf("GPUs (source: %s): %s\n", s->source, ofm_hal_last_error(s->h));
        return;
    }
    printf("GPUs (source: %s): %zu\n", s->source, n);
    if (ofm_nvml_is(s->h)) {
        const char *sep = "  not available from this driver: ";
        for (size_t i = 0; i < ofm_nvml_symbol_count(); i++)
            if (!ofm_nvml_has(s->h, ofm_nvml_symbol_name(i))) {
                printf("%s%s", sep, ofm_nvml_symbol_name(i));
                sep = ", ";
            }
        if (sep[0] == ',')
            printf("\n");
    }
    for (size_t i = 0; i < n; i++)
        gpu_one(s, i, &g[i], false, NULL);
}

int fmctl_hw_main(int argc, char **argv)
{
    static const struct option lo[] = {{"json", no_argument, NULL, 'j'},
                                       {"backend", required_argument, NULL, 'B'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
    bool json = false;
    const char *spec = "real";
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "jh", lo, NULL)) != -1) {
        switch (c) {
        case 'j': json = true; break;
        case 'B': spec = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "fmctl hw: unexpected argument '%.60s'\n", argv[optind]);
        return 2;
    }
    char err[300];
    if (ofm_hal_spec_check(spec, err, sizeof err)) {
        fprintf(stderr, "fmctl hw: --backend: %s\n", err);
        return 2;
    }
    /* split the spec into its two sides */
    side sw = {0}, gp = {0};
    if (!strcmp(spec, "real") || !strcmp(spec, "auto")) {
        sw.spec = "nvswitch";
        gp.spec = "nvml";
    } else if (!strncmp(spec, "nvml+", 5)) {
        sw.spec = spec + 5;
        gp.spec = "nvml";
    } else if (!strcmp(spec, "nvml")) {
        gp.spec = "nvml";
    } else {
        sw.spec = gp.spec = spec;
    }
    if (sw.spec)
        open_side(&sw);
    else
        snprintf(sw.err, sizeof sw.err, "backend %s has no switch side", spec);
    open_side(&gp);
    json_object *root = json ? json_object_new_object() : NULL;
    char ver[80] = "";
    side *vs = gp.h && gp.h->ops->driver_version ? &gp : sw.h ? &sw : NULL;
    int vrc = vs && vs->h->ops->driver_version
                  ? vs->h->ops->driver_version(vs->h, ver, sizeof ver)
                  : OFM_HAL_ENOTSUP;
    if (json) {
        json_object *d = json_object_new_object();
        json_object_object_add(d, "version", vrc ? NULL : jstr(ver));
        json_object_object_add(d, "source", vs ? jstr(vs->source) : NULL);
        json_object_object_add(root, "driver", d);
    } else if (vrc)
        printf("Driver version: not available (%s)\n", gp.h ? ofm_hal_last_error(gp.h) : gp.err);
    else
        printf("Driver version: %s (source: %s)\n", ver, vs->source);
    switches(&sw, json, root);
    gpus(&gp, json, root);
    if (json) {
        printf("%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY));
        json_object_put(root);
    }
    if (sw.h && sw.h != gp.h)
        ofm_hal_close(sw.h);
    if (gp.h)
        ofm_hal_close(gp.h);
    return 0;
}
