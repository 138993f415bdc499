/* fmctl reset gpu|switch ID: the GPU reset of FM §13.9 with its
 * preconditions and its effect on the fabric. On A100-class NVSwitch systems
 * (no ALI) a GPU reset takes the GPU's switch-side links down: a running
 * fabric manager resets and retrains them as part of the reset; without one
 * this tool trains them itself, as the fabric manager would. Resetting an
 * NVSwitch alone is not something the platform supports, so that is refused. */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openfm/hal.h"
#include "openfm/platform.h"
#include "tools/fmctl.h"
#include "tools/fmctl_backend.h"

#define RESET_MAX_PORTS 64

static void usage(FILE *f)
{
    fprintf(f,
            "usage: fmctl reset gpu ID [--backend SPEC] [--emu-dir DIR]\n"
            "       fmctl reset switch ID\n"
            "\n"
            "Reset one GPU (FM §13.9). Refused while a client holds the GPU (stop it first).\n"
            "On A100-class NVSwitch systems the reset takes the GPU's switch-side NVLinks\n"
            "down: a running fabric manager resets and retrains them; without one, fmctl\n"
            "trains them itself. An A100 in MIG mode keeps its links untrained. On H100 and\n"
            "later the links train on their own. One line says what happened.\n"
            "Resetting an NVSwitch alone is not supported: it is refused.\n"
            "Not checked yet: in shared NVSwitch mode, deactivate the GPU's partition first.\n"
            "\n"
            "  ID                     the GPU's physical ID\n"
            FMCTL_BACKEND_HELP
            "  --emu-dir DIR          the emulated system (with the emulator backend)\n"
            "\n"
            "Exit status: 0 reset, 1 refused or failed, 2 bad usage.\n");
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

typedef struct {
    uint32_t sw, port;
} sw_port;

/* The GPU's switch-side ports: from the platform model when the backend has
 * one (they are known even while down), else from the links' far ends now,
 * before the reset takes them down. */
static size_t gpu_ports(ofm_hal *h, const ofm_hal_gpu *g, sw_port *out, size_t cap)
{
    size_t n = 0;
    const ofm_platform *p = ofm_hal_platform(h);
    if (p) {
        for (size_t i = 0; i < p->naccess && n < cap; i++)
            if (p->access[i].gpu == g->phys_id)
                out[n++] = (sw_port){p->access[i].sw, p->access[i].sw_port};
        return n;
    }
    for (uint32_t l = 0; h->ops->gpu_link && l < g->nvlinks && n < cap; l++) {
        ofm_hal_link k;
        if (h->ops->gpu_link(h, g->phys_id, l, &k) == OFM_HAL_OK && k.remote_type == OFM_REMOTE_SWITCH &&
            k.remote_link != UINT32_MAX)
            out[n++] = (sw_port){k.remote_id, k.remote_link};
    }
    return n;
}

/* Links train autonomously (ALI) from the third NVSwitch generation on. */
static bool links_autonomous(ofm_hal *h, bool *has_switches)
{
    const ofm_platform *p = ofm_hal_platform(h);
    if (p) {
        *has_switches = p->nswitches > 0;
        return p->ali;
    }
    ofm_hal_switch s[OFM_MAX_SWITCHES];
    size_t n = 0;
    if (!h->ops->list_switches || h->ops->list_switches(h, s, OFM_MAX_SWITCHES, &n) || n == 0) {
        *has_switches = false;
        return true;
    }
    *has_switches = true;
    return s[0].gen >= OFM_SWITCH_GEN3;
}

static int reset_gpu(ofm_hal *h, uint32_t id)
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
    bool has_switches;
    bool ali = links_autonomous(h, &has_switches);
    sw_port ports[RESET_MAX_PORTS];
    size_t np = has_switches && !ali ? gpu_ports(h, g, ports, RESET_MAX_PORTS) : 0;

    if (h->ops->gpu_reset(h, id)) {
        fprintf(stderr, "fmctl reset: GPU %u not reset: %s\n", id, h->last_error);
        return 1;
    }
    if (!has_switches) {
        printf("GPU %u reset.\n", id);
        return 0;
    }
    if (ali) {
        printf("GPU %u reset; its NVLinks train on their own (no fabric manager step needed).\n", id);
        return 0;
    }
    ofm_hal_mig_mode m;
    if (h->ops->mig_mode_get && h->ops->mig_mode_get(h, id, &m) == OFM_HAL_OK && m.current) {
        printf("GPU %u reset; MIG mode is on, so its NVLinks stay untrained.\n", id);
        return 0;
    }
    size_t up = 0, trained = 0, managed = 0, failed = 0;
    char why[256] = "";
    for (size_t i = 0; i < np; i++) {
        ofm_hal_link k;
        if (h->ops->switch_port && h->ops->switch_port(h, ports[i].sw, ports[i].port, &k) == OFM_HAL_OK &&
            k.state == OFM_LINK_ACTIVE) {
            up++;
            continue;
        }
        int rc = h->ops->train_port ? h->ops->train_port(h, ports[i].sw, ports[i].port) : OFM_HAL_ENOTSUP;
        if (rc == OFM_HAL_OK)
            trained++;
        else if (rc == OFM_HAL_EBUSY)
            managed++;
        else {
            failed++;
            if (!why[0])
                snprintf(why, sizeof why, "%s", h->last_error);
        }
    }
    if (failed) {
        fprintf(stderr, "fmctl reset: GPU %u reset, but %zu of its %zu switch-side links did not train: %s\n", id,
                failed, np, why);
        return 1;
    }
    if (managed)
        printf("GPU %u reset; the fabric manager running resets and retrains its switch-side links "
               "(%zu up, %zu left to it).\n", id, up + trained, managed);
    else if (trained)
        printf("GPU %u reset; no fabric manager runs, so fmctl retrained its %zu switch-side links (%zu up).\n",
               id, trained, up + trained);
    else
        printf("GPU %u reset; the fabric manager retrained its %zu switch-side links.\n", id, up);
    return 0;
}

int fmctl_reset_main(int argc, char **argv)
{
    static const struct option lo[] = {{"backend", required_argument, NULL, 'b'},
                                       {"emu-dir", required_argument, NULL, 'd'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
    const char *backend = NULL, *emu_dir = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (c) {
        case 'b': backend = optarg; break;
        case 'd': emu_dir = optarg; break;
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
    int rc = reset_gpu(h, id);
    ofm_hal_close(h);
    return rc;
}
