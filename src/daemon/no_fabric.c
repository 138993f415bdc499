/* A system whose GPUs share no NVSwitch (an NVLink bridge between two PCIe
 * cards, or PCIe only) has no fabric: its NVLinks train when the driver loads
 * and need no routing. The daemon says so on the terminal, before it
 * daemonizes, and exits with the documented "nothing to manage" status. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "daemon/no_fabric.h"
#include "openfm/platform.h"

static void say(FILE *out, size_t ngpu, const char *pairs)
{
    fprintf(out, "openfm: no NVSwitch on this system (%zu GPU%s; %s%s): there is no fabric to "
                 "manage. NVLink bridges train when the driver loads and need no fabric manager. "
                 "Exiting with status 3.\n",
            ngpu, ngpu == 1 ? "" : "s", *pairs ? "bridged: " : "no NVLink between GPUs", pairs);
}

/* A system --emulate would create: judged from its model, without creating
 * it (that, and its log line, belong to the normal start-up). */
static int from_model(const char *emulate, FILE *out)
{
    static ofm_platform p;
    ofm_error e;
    if (ofm_platform_load(emulate, NULL, &p, &e) || p.nswitches)
        return 0;
    char pairs[512] = "";
    size_t off = 0;
    for (size_t i = 0; i < p.ngpus; i++)
        for (size_t j = i + 1; j < p.ngpus; j++) {
            uint32_t n = ofm_platform_bridge_links(&p, p.gpus[i].phys_id, p.gpus[j].phys_id);
            if (n && off < sizeof pairs) {
                int w = snprintf(pairs + off, sizeof pairs - off,
                                 "%sGPUs %" PRIu32 " and %" PRIu32 " by %" PRIu32 " NVLinks",
                                 off ? ", " : "", p.gpus[i].phys_id, p.gpus[j].phys_id, n);
                off += w > 0 ? (size_t)w : 0;
            }
        }
    say(out, p.ngpus, pairs);
    return 3;
}

int ofm_daemon_no_fabric(const char *backend, const char *emulate, FILE *out)
{
    ofm_hal_open_opts o = {0};
    ofm_hal *h = NULL;
    char err[700];
    /* an unopenable backend is the normal start-up path's to report */
    if (ofm_hal_open(backend, &o, &h, err, sizeof err) != OFM_HAL_OK)
        return emulate && *emulate ? from_model(emulate, out) : 0;
    ofm_hal_switch sw[1];
    ofm_hal_gpu gpus[OFM_MAX_GPUS];
    size_t nsw = 1, ngpu = 0;
    if (!h->ops->list_switches || h->ops->list_switches(h, sw, 1, &nsw) != OFM_HAL_OK || nsw ||
        !h->ops->list_gpus || h->ops->list_gpus(h, gpus, OFM_MAX_GPUS, &ngpu) != OFM_HAL_OK ||
        !ngpu) {
        ofm_hal_close(h);
        return 0;
    }
    if (ngpu > OFM_MAX_GPUS)
        ngpu = OFM_MAX_GPUS;
    /* name the GPU-to-GPU links the GPUs report, as nvidia-smi nvlink -s would */
    char pairs[512] = "";
    size_t off = 0;
    for (size_t i = 0; i < ngpu; i++)
        for (size_t j = i + 1; j < ngpu; j++) {
            uint32_t n = 0;
            for (uint32_t l = 0; l < gpus[i].nvlinks && h->ops->gpu_link; l++) {
                ofm_hal_link lk;
                if (h->ops->gpu_link(h, gpus[i].phys_id, l, &lk) == OFM_HAL_OK &&
                    lk.state == OFM_LINK_ACTIVE && lk.remote_type == OFM_REMOTE_GPU &&
                    lk.remote_id == gpus[j].phys_id)
                    n++;
            }
            if (n && off < sizeof pairs) {
                int w = snprintf(pairs + off, sizeof pairs - off,
                                 "%sGPUs %" PRIu32 " and %" PRIu32 " by %" PRIu32 " NVLinks",
                                 off ? ", " : "", gpus[i].phys_id, gpus[j].phys_id, n);
                off += w > 0 ? (size_t)w : 0;
            }
        }
    say(out, ngpu, pairs);
    ofm_hal_close(h);
    return 3;
}
