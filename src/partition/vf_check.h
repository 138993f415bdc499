/* Validation of the VF list of fmActivateFabricPartitionWithVFs. */
#ifndef OPENFM_PARTITION_VF_CHECK_H
#define OPENFM_PARTITION_VF_CHECK_H

#include <stddef.h>

#include "nv_fm_types.h"
#include "openfm/hal.h"
#include "openfm/platform.h"

/* A vGPU activation needs exactly one VF per GPU of the partition, no VF
 * twice, and every VF one of the SR-IOV virtual functions of a GPU of the
 * partition (as the HAL reports them). A VF may be written in either PCI
 * form, device.function (function 0-7) or the ARI form device 0, function
 * 0-255; both name the same routing ID. Returns 0, or -1 with `why` set to
 * one line naming the offending VF and the rule. */
int ofm_vf_list_check(ofm_hal *h, const ofm_platform *p, const ofm_partition_desc *d,
                      const fmPciDevice_t *vfs, unsigned n, char *why, size_t len);

#endif
