/* fmctl nvlink: the NVLink views of 'nvidia-smi nvlink', read from the
 * hardware through the HAL (like nvidia-smi, not through the daemon):
 *   status    per link: line rate or <inactive>, and the far end
 *   errors    per link: replay, recovery and CRC error totals (nvidia-smi -e)
 *   counters  per link: the four raw counters (CRC flit, CRC data, replay,
 *             recovery), as DCGM's per-link fields split them
 * GPUs in MIG mode answer as nvidia-smi does: NVLink queries are not
 * supported for devices in MIG mode. Fourth-generation NVSwitches (HGX B200)
 * report no SXids: errors and counters also show each link's switch-port
 * telemetry error counts, and each such switch's chip totals. */
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openfm/hal.h"
#include "tools/fmctl.h"
#include "tools/fmctl_backend.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: fmctl nvlink status|errors|counters [-i GPU] [--json] [--backend SPEC | --emu-dir DIR]\n"
               "\n"
               "  status     each link's line rate (GB/s per direction) or <inactive>, and the\n"
               "             NVSwitch port at its far end (nvidia-smi nvlink -s)\n"
               "  errors     each link's Replay, Recovery and CRC (flit + data) error totals\n"
               "             (nvidia-smi nvlink -e)\n"
               "  counters   each link's CRC flit, CRC data, replay and recovery counters\n"
               "\n"
               "  -i, --id GPU           only the GPU with this index (0-based, nvidia-smi order)\n"
               "  --json                 machine-readable output\n"
               "  --emu-dir DIR          the emulated system in DIR\n"
               FMCTL_BACKEND_HELP
               "  -h, --help             this text\n"
               "\n"
               "On fourth-generation NVSwitches (HGX B200), which report no SXids, errors and\n"
               "counters also show the fatal / non-fatal error counts of each link's switch port\n"
               "and of each switch chip, read from the switches' telemetry.\n"
               "Counters are totals since the driver loaded (an emulated reboot clears them).\n"
               "The text ends with a summary line: GPUs and links shown, how many are active\n"
               "and (errors, counters) how many have a non-zero count, naming the first ones.\n"
               "Exit status: 0 success, 1 a GPU could not be read, 2 usage or no backend.\n");
}

static void rate_text(uint32_t mbps, char *buf, size_t len)
{
    if (mbps % 1000 == 0)
        snprintf(buf, len, "%u GB/s", mbps / 1000);
    else
        snprintf(buf, len, "%.3f GB/s", mbps / 1000.0);
}

typedef enum { V_STATUS, V_ERRORS, V_COUNTERS } view;

/* The telemetry of the switches that have it, read once per run. */
static struct {
    size_t n;
    uint32_t id[OFM_MAX_SWITCHES];
    ofm_hal_switch_telemetry t[OFM_MAX_SWITCHES];
} tel;

static int read_telemetry(ofm_hal *h)
{
    ofm_hal_switch sw[OFM_MAX_SWITCHES];
    size_t n = 0;
    if (!h->ops->switch_telemetry || !h->ops->list_switches ||
        h->ops->list_switches(h, sw, OFM_MAX_SWITCHES, &n) != OFM_HAL_OK)
        return 0;
    for (size_t i = 0; i < n && i < OFM_MAX_SWITCHES; i++) {
        int rc = h->ops->switch_telemetry(h, sw[i].phys_id, &tel.t[tel.n]);
        if (rc == OFM_HAL_OK) {
            tel.id[tel.n++] = sw[i].phys_id;
        } else if (rc != OFM_HAL_ENOTSUP) {
            fprintf(stderr, "fmctl nvlink: NVSwitch %u telemetry: %s\n", sw[i].phys_id,
                    ofm_hal_last_error(h));
            return 1;
        }
    }
    return 0;
}

static const ofm_hal_error_counts *port_tel(uint32_t sw, uint32_t port)
{
    for (size_t i = 0; i < tel.n; i++)
        if (tel.id[i] == sw && port < tel.t[i].nports && port < OFM_MAX_SWITCH_PORTS)
            return &tel.t[i].port[port];
    return NULL;
}

/* Totals over the GPUs shown, for the closing summary line: on a 72-GPU rack
 * the per-link lines run to over a thousand. */
static struct {
    size_t gpus, links, active, errored;
    char first[160]; /* the first links with errors, "GPU i link l" */
} sum;

static void count_link(size_t idx, uint32_t l, bool active, const ofm_hal_link_errors *er,
                       const ofm_hal_error_counts *pt)
{
    sum.links++;
    sum.active += active;
    if (!(er->crc_flit || er->crc_data || er->replay || er->recovery ||
          (pt && (pt->fatal || pt->nonfatal))))
        return;
    if (sum.errored++ < 4) {
        size_t off = strlen(sum.first);
        snprintf(sum.first + off, sizeof sum.first - off, "%sGPU %zu link %u", off ? ", " : "",
                 idx, l);
    }
}

static void print_summary(view v)
{
    printf("Summary: %zu GPU%s, %zu link%s, %zu active", sum.gpus, sum.gpus == 1 ? "" : "s",
           sum.links, sum.links == 1 ? "" : "s", sum.active);
    if (v != V_STATUS) {
        printf("; %zu with errors", sum.errored);
        if (sum.errored)
            printf(" (%s%s)", sum.first, sum.errored > 4 ? ", ..." : "");
    }
    printf("\n");
}

static int show_gpu(ofm_hal *h, size_t idx, const ofm_hal_gpu *g, view v, json_object *ja)
{
    ofm_hal_mig_mode mm;
    bool mig = h->ops->mig_mode_get && h->ops->mig_mode_get(h, g->phys_id, &mm) == OFM_HAL_OK &&
               mm.current;
    const char *vendor = strncmp(g->model, "NVIDIA", 6) ? "NVIDIA " : "";
    json_object *jg = NULL, *jl = NULL;
    if (ja) {
        jg = json_object_new_object();
        json_object_object_add(jg, "index", json_object_new_int64((int64_t)idx));
        json_object_object_add(jg, "physical_id", json_object_new_int64(g->phys_id));
        json_object_object_add(jg, "uuid", json_object_new_string(g->uuid));
        json_object_object_add(jg, "pci_bus_id", json_object_new_string(g->pci_bdf));
        json_object_object_add(jg, "mig_mode", json_object_new_boolean(mig));
        json_object_object_add(jg, "provenance",
                               json_object_new_string(g->prov == OFM_PROV_EMULATED ? "emulated" : "hardware"));
        jl = json_object_new_array();
        json_object_object_add(jg, "links", jl);
        json_object_array_add(ja, jg);
    } else {
        printf("GPU %zu: %s%s (UUID: %s)\n", idx, vendor, g->model, g->uuid);
    }
    sum.gpus++;
    if (mig) {
        if (!ja)
            printf("\tNvlink queries are not supported for Devices in MIG mode\n");
        return 0;
    }
    int bad = 0;
    for (uint32_t l = 0; l < g->nvlinks && l < OFM_MAX_GPU_LINKS; l++) {
        ofm_hal_link lk;
        if (h->ops->gpu_link(h, g->phys_id, l, &lk) != OFM_HAL_OK) {
            fprintf(stderr, "fmctl nvlink: GPU %zu link %u: %s\n", idx, l, ofm_hal_last_error(h));
            bad = 1;
            continue;
        }
        bool active = lk.state == OFM_LINK_ACTIVE;
        bool to_switch = lk.remote_type == OFM_REMOTE_SWITCH;
        ofm_hal_link_errors er = {0};
        /* at the GPU end where the backend reads them there (NVML), else at
         * the switch port the link ends on */
        bool gpu_side = h->ops->gpu_link_errors != NULL, can = gpu_side || (to_switch && h->ops->link_errors);
        bool have_err = v != V_STATUS && can &&
                        (gpu_side ? h->ops->gpu_link_errors(h, g->phys_id, l, &er)
                                  : h->ops->link_errors(h, lk.remote_id, lk.remote_link, &er)) == OFM_HAL_OK;
        /* NVML may have no counters for a link that is down: not a failure */
        if (v != V_STATUS && !have_err && can && (active || !gpu_side)) {
            fprintf(stderr, "fmctl nvlink: GPU %zu link %u: %s\n", idx, l, ofm_hal_last_error(h));
            bad = 1;
        }
        const ofm_hal_error_counts *pt = to_switch ? port_tel(lk.remote_id, lk.remote_link) : NULL;
        count_link(idx, l, active, &er, pt);
        char rate[32];
        rate_text(g->line_rate_mbps, rate, sizeof rate);
        if (ja) {
            json_object *j = json_object_new_object();
            json_object_object_add(j, "link", json_object_new_int64(l));
            json_object_object_add(j, "state", json_object_new_string(ofm_link_state_name(lk.state)));
            json_object_object_add(j, "line_rate_mbps", json_object_new_int64(active ? g->line_rate_mbps : 0));
            json_object *r = NULL;
            if (to_switch) {
                r = json_object_new_object();
                json_object_object_add(r, "nvswitch", json_object_new_int64(lk.remote_id));
                json_object_object_add(r, "port", json_object_new_int64(lk.remote_link));
            }
            json_object_object_add(j, "remote", r);
            if (v != V_STATUS) {
                json_object *e = json_object_new_object();
                json_object_object_add(e, "crc_flit", json_object_new_int64((int64_t)er.crc_flit));
                json_object_object_add(e, "crc_data", json_object_new_int64((int64_t)er.crc_data));
                json_object_object_add(e, "replay", json_object_new_int64((int64_t)er.replay));
                json_object_object_add(e, "recovery", json_object_new_int64((int64_t)er.recovery));
                if (pt) {
                    json_object_object_add(e, "nvswitch_port_fatal",
                                           json_object_new_int64((int64_t)pt->fatal));
                    json_object_object_add(e, "nvswitch_port_nonfatal",
                                           json_object_new_int64((int64_t)pt->nonfatal));
                }
                json_object_object_add(j, "errors", e);
            }
            json_object_array_add(jl, j);
            continue;
        }
        switch (v) {
        case V_STATUS:
            if (!active)
                printf("\t Link %u: <inactive>\n", l);
            else if (to_switch)
                printf("\t Link %u: %s  (NVSwitch %u port %u)\n", l, rate, lk.remote_id, lk.remote_link);
            else
                printf("\t Link %u: %s\n", l, rate);
            break;
        case V_ERRORS:
            printf("\t Link %u: Replay Errors: %" PRIu64 "\n", l, er.replay);
            printf("\t Link %u: Recovery Errors: %" PRIu64 "\n", l, er.recovery);
            printf("\t Link %u: CRC Errors: %" PRIu64 "\n", l, er.crc_flit + er.crc_data);
            if (pt) {
                printf("\t Link %u: NVSwitch Port Fatal Errors: %" PRIu64 "\n", l, pt->fatal);
                printf("\t Link %u: NVSwitch Port Non-Fatal Errors: %" PRIu64 "\n", l, pt->nonfatal);
            }
            break;
        case V_COUNTERS:
            printf("\t Link %u: CRC Flit Errors: %" PRIu64 ", CRC Data Errors: %" PRIu64
                   ", Replay Errors: %" PRIu64 ", Recovery Errors: %" PRIu64,
                   l, er.crc_flit, er.crc_data, er.replay, er.recovery);
            if (pt)
                printf(", NVSwitch Port Fatal Errors: %" PRIu64 ", NVSwitch Port Non-Fatal Errors: %" PRIu64,
                       pt->fatal, pt->nonfatal);
            printf("\n");
            break;
        }
    }
    if (!ja && v == V_ERRORS)
        printf("\n");
    return bad;
}

int fmctl_nvlink_main(int argc, char **argv)
{
    static const struct option lo[] = {
        {"id", required_argument, NULL, 'i'},      {"json", no_argument, NULL, 'j'},
        {"emu-dir", required_argument, NULL, 'E'}, {"backend", required_argument, NULL, 'B'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0}};
    long only = -1;
    bool json = false;
    const char *emu_dir = NULL, *backend = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "i:hj", lo, NULL)) != -1) {
        char *end;
        switch (c) {
        case 'i':
            only = strtol(optarg, &end, 10);
            if (!*optarg || *end || only < 0 || only >= OFM_MAX_GPUS) {
                fprintf(stderr, "fmctl nvlink: -i: '%.60s' is not a GPU index\n", optarg);
                return 2;
            }
            break;
        case 'j': json = true; break;
        case 'E': emu_dir = optarg; break;
        case 'B': backend = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    /* GNU getopt moved the view (and anything else) behind the options */
    if (argc - optind > 1) {
        fprintf(stderr, "fmctl nvlink: unexpected argument '%.60s'\n", argv[optind + 1]);
        return 2;
    }
    const char *what = optind < argc ? argv[optind] : NULL;
    view v;
    if (!what) {
        usage(stderr);
        return 2;
    } else if (!strcmp(what, "status")) {
        v = V_STATUS;
    } else if (!strcmp(what, "errors")) {
        v = V_ERRORS;
    } else if (!strcmp(what, "counters")) {
        v = V_COUNTERS;
    } else {
        fprintf(stderr, "fmctl nvlink: unknown view '%.60s' (status, errors or counters)\n", what);
        return 2;
    }
    ofm_hal *h;
    if (fmctl_open_backend("fmctl nvlink", backend, emu_dir, &h) != OFM_HAL_OK)
        return 2;
    ofm_hal_gpu gpus[OFM_MAX_GPUS];
    size_t n = 0;
    if (h->ops->list_gpus(h, gpus, OFM_MAX_GPUS, &n) != OFM_HAL_OK) {
        fprintf(stderr, "fmctl nvlink: cannot list GPUs: %s\n", ofm_hal_last_error(h));
        ofm_hal_close(h);
        return 2;
    }
    n = n > OFM_MAX_GPUS ? OFM_MAX_GPUS : n;
    if (only >= 0 && (size_t)only >= n) {
        fprintf(stderr, "fmctl nvlink: -i %ld: there are %zu GPUs (0-%zu)\n", only, n, n ? n - 1 : 0);
        ofm_hal_close(h);
        return 2;
    }
    json_object *ja = json ? json_object_new_array() : NULL;
    int bad = v != V_STATUS ? read_telemetry(h) : 0;
    for (size_t i = 0; i < n; i++)
        if (only < 0 || (size_t)only == i)
            bad |= show_gpu(h, i, &gpus[i], v, ja);
    json_object *js = ja && tel.n ? json_object_new_array() : NULL;
    for (size_t i = 0; i < tel.n; i++) {
        /* the chip's own counts: its ports' errors and errors of the chip itself */
        if (!js) {
            printf("NVSwitch %u (telemetry, no SXids): Fatal Errors: %" PRIu64
                   ", Non-Fatal Errors: %" PRIu64 "\n",
                   tel.id[i], tel.t[i].chip.fatal, tel.t[i].chip.nonfatal);
            continue;
        }
        json_object *s = json_object_new_object();
        json_object_object_add(s, "nvswitch", json_object_new_int64(tel.id[i]));
        json_object_object_add(s, "fatal", json_object_new_int64((int64_t)tel.t[i].chip.fatal));
        json_object_object_add(s, "nonfatal", json_object_new_int64((int64_t)tel.t[i].chip.nonfatal));
        json_object_array_add(js, s);
    }
    if (!ja)
        print_summary(v);
    if (ja) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "gpus", ja);
        if (js)
            json_object_object_add(o, "nvswitches", js);
        printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
                                                              JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(o);
    }
    ofm_hal_close(h);
    return bad;
}
