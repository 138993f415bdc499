/* Backend-independent HAL helpers. */
#include <stddef.h>

#include "openfm/hal.h"

void ofm_hal_close(ofm_hal *h)
{
    if (h && h->ops && h->ops->close)
        h->ops->close(h);
}

const char *ofm_hal_last_error(const ofm_hal *h) { return h ? h->last_error : "no handle"; }

const char *ofm_hal_strerror(int code)
{
    switch (code) {
    case OFM_HAL_OK: return "success";
    case OFM_HAL_EINVAL: return "invalid argument";
    case OFM_HAL_ENODEV: return "no such device";
    case OFM_HAL_EIO: return "device I/O error";
    case OFM_HAL_EBUSY: return "in use";
    case OFM_HAL_ENOTSUP: return "not supported";
    case OFM_HAL_ECORRUPT: return "backend state corrupted";
    case OFM_HAL_ENOSPC: return "insufficient resources";
    case OFM_HAL_ENOENT: return "not found";
    case OFM_HAL_EABSENT: return "no such hardware on this machine";
    default: return "unknown error";
    }
}

const char *ofm_link_state_name(ofm_link_state s)
{
    switch (s) {
    case OFM_LINK_OFF: return "off";
    case OFM_LINK_TRAINING: return "training";
    case OFM_LINK_ACTIVE: return "active";
    case OFM_LINK_FAILED: return "failed";
    }
    return "?";
}

const char *ofm_fabric_state_name(ofm_fabric_state s)
{
    switch (s) {
    /* nvidia-smi prints N/A for a GPU that takes no part in fabric
     * registration (no NVSwitch fabric, or a pre-Hopper GPU) */
    case OFM_FABRIC_NOT_SUPPORTED: return "N/A";
    case OFM_FABRIC_NOT_STARTED: return "Not Started";
    case OFM_FABRIC_IN_PROGRESS: return "In Progress";
    case OFM_FABRIC_COMPLETED: return "Completed";
    }
    return "?";
}

const ofm_platform *ofm_hal_platform(const ofm_hal *h)
{
    return h && h->ops->platform_hint ? h->ops->platform_hint((ofm_hal *)h) : NULL;
}

int ofm_hal_claim(ofm_hal *h) { return h->ops->claim ? h->ops->claim(h) : OFM_HAL_OK; }

void ofm_hal_release(ofm_hal *h)
{
    if (h && h->ops->release)
        h->ops->release(h);
}

bool ofm_hal_register_fault(ofm_hal *h, uint32_t gpu)
{
    bool fail = false;
    if (h->ops->gpu_register_fault && h->ops->gpu_register_fault(h, gpu, &fail) != OFM_HAL_OK)
        return false;
    return fail;
}

const char *ofm_fabric_status_text(ofm_fabric_state s, int status)
{
    /* Only a completed registration has a status; before that nvidia-smi
     * shows N/A (FM §1.5: "State: In Progress, Status: N/A"). A completed
     * failure carries an NVML return code. */
    if (s != OFM_FABRIC_COMPLETED)
        return "N/A";
    switch (status) {
    case 0: return "Success";
    case 3: return "Not Supported";
    case 23: return "Insufficient Resources";
    case 999: return "Unknown Error";
    default: return "Failure";
    }
}
