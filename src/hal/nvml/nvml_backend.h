/* What the NVML backend offers beyond the HAL, for `fmctl hw` and tests:
 * which library functions it found, and the NVLink version. */
#ifndef OPENFM_NVML_BACKEND_H
#define OPENFM_NVML_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "openfm/hal.h"

/* True for a handle of the NVML backend itself (not a composition). */
bool ofm_nvml_is(const ofm_hal *h);
/* Symbol table: names in resolution order, and whether openfm needs them. */
size_t ofm_nvml_symbol_count(void);
const char *ofm_nvml_symbol_name(size_t i);
bool ofm_nvml_symbol_required(const char *name);
/* Whether the loaded library exports `name`. */
bool ofm_nvml_has(ofm_hal *h, const char *name);
const char *ofm_nvml_library(ofm_hal *h);
int ofm_nvml_link_remote_pci(ofm_hal *h, uint32_t gpu, uint32_t link, char *buf, size_t len);
int ofm_nvml_link_version(ofm_hal *h, uint32_t gpu, uint32_t link, uint32_t *version);

#endif
