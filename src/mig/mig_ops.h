/* MIG operations over the HAL, shared by `fmctl mig`, `fmctl status` and the
 * boot-time apply. */
#ifndef OPENFM_MIG_OPS_H
#define OPENFM_MIG_OPS_H

#include "mig/mig.h"
#include "openfm/hal.h"

/* "Disabled", "Enabled, 3 GPU instances", "Disabled (pending enable: reset the
 * GPU)" or "N/A" (no MIG on this GPU); `gpu` is the phys_id. */
int ofm_mig_summary(ofm_hal *h, uint32_t gpu, char *buf, size_t len);

#endif
