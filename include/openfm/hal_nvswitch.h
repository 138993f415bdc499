/* The NVSwitch driver backend: the switch side of the HAL over the NVIDIA
 * kernel driver's ioctls (release 580.95.05 ABI, third-generation NVSwitch
 * only). The GPU side (identity, fabric state, MIG) comes from a GPU-side
 * HAL when one is given (NVML); without one, GPUs are known from their
 * in-band fabric probe requests and the NVLink status of the switch ports. */
#ifndef OPENFM_HAL_NVSWITCH_H
#define OPENFM_HAL_NVSWITCH_H

#include <stdbool.h>
#include <stdint.h>

#include "openfm/hal.h"

typedef struct {
    /* true for the fabric manager: acquire the fabric-management capability,
     * mark the driver configured, keep its heartbeat, configure ports and
     * answer GPU probes. false for observers (fmctl audit): read only. */
    bool manager;
    /* heartbeat timeout handed to the driver (ms); 0 keeps the driver's */
    uint32_t heartbeat_timeout_ms;
    /* optional GPU-side backend; the switch backend closes it with itself */
    ofm_hal *gpu_side;
} ofm_nvswitch_opts;

/* Open the driver: check its ABI version, enumerate the switches (excluded
 * ones are reported, not opened), refuse other generations than LS10. On
 * failure errbuf holds one line saying what is wrong and what to do. */
int ofm_hal_open_nvswitch(const ofm_nvswitch_opts *opts, ofm_hal **out, char *errbuf, size_t errlen);

/* True when the NVSwitch control node exists (a driver, or a model of it). */
bool ofm_nvswitch_present(void);

#endif
