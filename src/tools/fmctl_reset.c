/* fmctl reset gpu|switch ID: the GPU reset of FM §13.9 with its
 * preconditions and its effect on the fabric. Preconditions: no client holds
 * the GPU; in shared NVSwitch / vGPU mode the GPU is in no activated
 * partition (asked of the running fabric manager over its SDK socket); and
 * on A100-class NVSwitch systems (no autonomous link training) a fabric
 * manager runs, because the reset takes the GPU's switch-side links down and
 * the fabric manager is what resets and retrains them: without one the guide
 * supports no single-GPU reset, so neither does fmctl (it does not stand in
 * for the fabric manager: on real hardware it opens the switches only as an
 * observer). With one, fmctl waits until the links are back. Resetting an
 * NVSwitch alone is not something the platform supports either. */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "openfm/hal.h"
#include "openfm/platform.h"
#include "sdk/nvfm_ext.h"
#include "status/status.h"
#include "tools/fmctl.h"
#include "tools/fmctl_backend.h"
#include "tools/fmctl_connect.h"
#include "tools/fmctl_linkwait.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: fmctl reset gpu ID [--wait-timeout S] [--backend SPEC] [--emu-dir DIR]\n"
            "                          [connection options]\n"
            "       fmctl reset switch ID\n"
            "\n"
            "Reset one GPU (FM §13.9), as 'nvidia-smi -r -i' does, after checking the guide's\n"
            "preconditions; each refusal says which one failed and changes nothing:\n"
            "  - no client holds the GPU (stop it first);\n"
            "  - in shared NVSwitch and vGPU modes the GPU is in no activated partition (the\n"
            "    running fabric manager is asked; deactivate the partition first, reset, then\n"
            "    activate it again);\n"
            "  - on A100-class NVSwitch systems a fabric manager runs: the reset takes the GPU's\n"
            "    switch-side NVLinks down and the fabric manager resets and retrains them. Without\n"
            "    one a single-GPU reset is not supported: reset all GPUs and NVSwitches connected\n"
            "    over NVLink together, or reboot.\n"
            "On A100-class systems fmctl then waits until the fabric manager has retrained the\n"
            "links (an A100 left in MIG mode keeps them untrained). On H100 and later the links\n"
            "train on their own. One line says what happened.\n"
            "Resetting an NVSwitch alone is not supported: it is refused.\n"
            "\n"
            "  ID                     the GPU's physical ID\n"
            "  --wait-timeout S       give up waiting for the links after S seconds (default 30)\n"
            FMCTL_BACKEND_HELP
            "  --emu-dir DIR          the emulated system (with the emulator backend)\n"
            FMCTL_CONN_HELP
            "  -h, --help             this text\n"
            "\n"
            "Exit status: 0 reset, 1 refused or failed (including links that did not come\n"
            "back), 2 bad usage.\n");
}

static bool parse_id(const char *s, uint32_t *out)
{
    if (!*s || strlen(s) > 9)
        return false;
    for (const char *c = s; *c; c++)
        if (!isdigit((unsigned char)*c))
            return false;
    *out = (uint32_t)strtoul(s, NULL, 10);
    return true;
}

/* What the running fabric manager says, if one answers. */
typedef struct {
    bool running;
    char where[300];          /* the address asked */
    ofm_status_doc doc;       /* valid when running */
} fm_view;

/* 0: asked (fm->running says whether one answered); 1: one answered but its
 * status could not be read (printed). */
static int ask_fm(const fmctl_conn_opts *co, fm_view *fm)
{
    fmHandle_t fh = NULL;
    fm->running = false;
    if (fmctl_try_connect(co, &fh, fm->where, sizeof fm->where) != FM_ST_SUCCESS)
        return 0;
    char *json = NULL;
    fmReturn_t rc = ofmGetStatusJson(fh, &json);
    fmctl_disconnect(fh);
    ofm_error err;
    if (rc != FM_ST_SUCCESS || !json || ofm_status_from_json(json, &fm->doc, &err)) {
        fprintf(stderr, "fmctl reset: the fabric manager at %s answered but its status could not be "
                        "read (%s), so the partition precondition cannot be checked; nothing was "
                        "reset\n", fm->where, rc != FM_ST_SUCCESS || !json ? ofmReturnName(rc) : err.msg);
        free(json);
        return 1;
    }
    free(json);
    fm->running = true;
    return 0;
}

/* The activated partition holding the GPU, -1 none. */
static int64_t active_partition(const ofm_status_doc *doc, uint32_t gpu)
{
    for (size_t i = 0; doc->have_partitions && i < doc->npartitions; i++)
        for (uint32_t k = 0; doc->partitions[i].active && k < doc->partitions[i].ngpus; k++)
            if (doc->partitions[i].gpus[k] == gpu)
                return doc->partitions[i].id;
    return -1;
}

static int reset_gpu(ofm_hal *h, uint32_t id, const fmctl_conn_opts *co, unsigned wait_s)
{
    ofm_hal_gpu gpus[OFM_MAX_GPUS], *g = NULL;
    size_t n = 0;
    if (!h->ops->list_gpus || h->ops->list_gpus(h, gpus, OFM_MAX_GPUS, &n)) {
        fprintf(stderr, "fmctl reset: cannot list GPUs: %s\n", h->last_error);
        return 1;
    }
    for (size_t i = 0; i < n && i < OFM_MAX_GPUS; i++)
        if (gpus[i].phys_id == id)
            g = &gpus[i];
    if (!g) {
        fprintf(stderr, "fmctl reset: no GPU %u on this system\n", id);
        return 1;
    }
    if (!h->ops->gpu_reset) {
        fprintf(stderr, "fmctl reset: the %s backend cannot reset GPUs\n", h->ops->name);
        return 1;
    }
    uint32_t holders = 0;
    if (h->ops->gpu_hold && h->ops->gpu_hold(h, id, 0, &holders) == OFM_HAL_OK && holders) {
        fprintf(stderr, "fmctl reset: GPU %u not reset: in use by %u client%s; stop %s and reset again\n",
                id, holders, holders == 1 ? "" : "s", holders == 1 ? "it" : "them");
        return 1;
    }
    static fm_view fm;
    if (ask_fm(co, &fm))
        return 1;
    int64_t part = fm.running ? active_partition(&fm.doc, id) : -1;
    if (part >= 0) {
        fprintf(stderr, "fmctl reset: GPU %u not reset: it is in activated partition %lld (%s mode); "
                        "deactivate the partition first (fmctl partition deactivate %lld), reset the "
                        "GPU, then activate the partition again\n",
                id, (long long)part, ofm_status_mode_name(fm.doc.fabric.mode), (long long)part);
        return 1;
    }
    bool has_switches;
    bool ali = fmctl_links_autonomous(h, &has_switches);
    if (has_switches && !ali && !fm.running) {
        const ofm_platform *p = ofm_hal_platform(h);
        fprintf(stderr, "fmctl reset: GPU %u not reset: on an A100-class NVSwitch system%s%s%s a single "
                        "GPU can be reset only while the fabric manager runs, which resets and "
                        "retrains the GPU's switch-side NVLinks (FM §13.9); no fabric manager "
                        "answered at %s (--socket or --address if it listens elsewhere). Start it and "
                        "reset again, or reset all GPUs and NVSwitches connected over NVLink "
                        "together (or reboot)\n",
                id, p ? " (" : "", p ? p->name : "", p ? ")" : "", fm.where);
        return 1;
    }
    fmctl_sw_port ports[FMCTL_GPU_MAX_PORTS];
    size_t np = has_switches && !ali ? fmctl_gpu_switch_ports(h, g, ports, FMCTL_GPU_MAX_PORTS) : 0;

    if (h->ops->gpu_reset(h, id)) {
        fprintf(stderr, "fmctl reset: GPU %u not reset: %s\n", id, h->last_error);
        return 1;
    }
    char unchecked[400] = "";
    if (!fm.running)
        snprintf(unchecked, sizeof unchecked,
                 " (no fabric manager answered at %s, so no partition state was checked)", fm.where);
    if (!has_switches) {
        printf("GPU %u reset%s.\n", id, unchecked);
        return 0;
    }
    if (ali) {
        printf("GPU %u reset; its NVLinks train on their own (no fabric manager step needed)%s.\n", id,
               unchecked);
        return 0;
    }
    ofm_hal_mig_mode m;
    if (h->ops->mig_mode_get && h->ops->mig_mode_get(h, id, &m) == OFM_HAL_OK && m.current) {
        printf("GPU %u reset; MIG mode is on, so its NVLinks stay untrained.\n", id);
        return 0;
    }
    for (size_t i = 0; i < fm.doc.fabric.ngpus && i < OFM_MAX_GPUS; i++)
        if (fm.doc.fabric.gpus[i].phys_id == id && !fm.doc.fabric.gpus[i].p2p) {
            printf("GPU %u reset; the fabric manager gives it no NVLink peer access (HA policy at "
                   "start), so its switch-side NVLinks stay down.\n", id);
            return 0;
        }
    size_t up = 0;
    if (!fmctl_wait_links(h, ports, np, wait_s, &up)) {
        fprintf(stderr, "fmctl reset: GPU %u reset, but the fabric manager at %s did not retrain its "
                        "switch-side NVLinks within %u s (%zu of %zu up); see 'fmctl events' and its "
                        "log\n", id, fm.where, wait_s, up, np);
        return 1;
    }
    if (up < np) {
        fprintf(stderr, "fmctl reset: GPU %u reset, but only %zu of its %zu switch-side NVLinks came "
                        "back (the others failed to train); see 'fmctl events' and the fabric "
                        "manager's log\n", id, up, np);
        return 1;
    }
    printf("GPU %u reset; the fabric manager reset and retrained its %zu switch-side NVLinks (%zu up).\n",
           id, np, up);
    return 0;
}

int fmctl_reset_main(int argc, char **argv)
{
    static const struct option lo[] = {{"backend", required_argument, NULL, 'b'},
                                       {"emu-dir", required_argument, NULL, 'd'},
                                       {"address", required_argument, NULL, 'a'},
                                       {"socket", required_argument, NULL, 's'},
                                       {"timeout", required_argument, NULL, 't'},
                                       {"wait-timeout", required_argument, NULL, 'W'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
    const char *backend = NULL, *emu_dir = NULL;
    fmctl_conn_opts co = {0};
    unsigned wait_s = 30;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        char *end;
        long v;
        switch (c) {
        case 'b': backend = optarg; break;
        case 'd': emu_dir = optarg; break;
        case 'a': co.address = optarg; break;
        case 's': co.socket = optarg; break;
        case 't':
            if (fmctl_parse_timeout("fmctl reset", optarg, &co.timeout_ms))
                return 2;
            break;
        case 'W':
            v = strtol(optarg, &end, 10);
            if (!*optarg || *end || v < 1 || v > 3600) {
                fprintf(stderr, "fmctl reset: --wait-timeout: '%.40s' is not 1-3600 seconds\n", optarg);
                return 2;
            }
            wait_s = (unsigned)v;
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (argc - optind != 2 || (strcmp(argv[optind], "gpu") && strcmp(argv[optind], "switch"))) {
        usage(stderr);
        return 2;
    }
    uint32_t id;
    if (!parse_id(argv[optind + 1], &id)) {
        fprintf(stderr, "fmctl reset: '%.40s' is not a physical ID\n", argv[optind + 1]);
        return 2;
    }
    if (!strcmp(argv[optind], "switch")) {
        fprintf(stderr, "fmctl reset: NVSwitch %u not reset: resetting an NVSwitch alone is not supported; "
                        "reset all GPUs and NVSwitches connected over NVLink together, or reboot the system\n",
                id);
        return 1;
    }
    ofm_hal *h;
    if (fmctl_open_backend("fmctl reset", backend, emu_dir, &h))
        return 1;
    int rc = reset_gpu(h, id, &co, wait_s);
    ofm_hal_close(h);
    return rc;
}
