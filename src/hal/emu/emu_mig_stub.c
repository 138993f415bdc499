/* Placeholder until the emulator's MIG model (emu_mig.c) lands: every MIG
 * operation reports "not supported", which is what NVML says on GPUs without
 * MIG. Deleted when emu_mig.c is added. */
#include "hal/emu/emu_mig.h"

int ofm_emu_mig_mode_get(ofm_hal *h, uint32_t gpu, ofm_hal_mig_mode *out)
{ (void)h; (void)gpu; (void)out; return OFM_HAL_ENOTSUP; }
int ofm_emu_mig_mode_set(ofm_hal *h, uint32_t gpu, bool enable)
{ (void)h; (void)gpu; (void)enable; return OFM_HAL_ENOTSUP; }
int ofm_emu_gpu_reset(ofm_hal *h, uint32_t gpu) { (void)h; (void)gpu; return OFM_HAL_ENOTSUP; }
int ofm_emu_gi_create(ofm_hal *h, uint32_t gpu, uint32_t profile_id, uint32_t start, uint32_t size,
                      uint32_t *gi_id)
{ (void)h; (void)gpu; (void)profile_id; (void)start; (void)size; (void)gi_id; return OFM_HAL_ENOTSUP; }
int ofm_emu_gi_destroy(ofm_hal *h, uint32_t gpu, uint32_t gi_id)
{ (void)h; (void)gpu; (void)gi_id; return OFM_HAL_ENOTSUP; }
int ofm_emu_gi_list(ofm_hal *h, uint32_t gpu, ofm_hal_gpu_instance *out, size_t cap, size_t *n)
{ (void)h; (void)gpu; (void)out; (void)cap; *n = 0; return OFM_HAL_ENOTSUP; }
int ofm_emu_ci_create(ofm_hal *h, uint32_t gpu, uint32_t gi_id, uint32_t profile_id, uint32_t start,
                      uint32_t size, uint32_t *ci_id)
{ (void)h; (void)gpu; (void)gi_id; (void)profile_id; (void)start; (void)size; (void)ci_id; return OFM_HAL_ENOTSUP; }
int ofm_emu_ci_destroy(ofm_hal *h, uint32_t gpu, uint32_t gi_id, uint32_t ci_id)
{ (void)h; (void)gpu; (void)gi_id; (void)ci_id; return OFM_HAL_ENOTSUP; }
int ofm_emu_ci_list(ofm_hal *h, uint32_t gpu, uint32_t gi_id, ofm_hal_compute_instance *out,
                    size_t cap, size_t *n)
{ (void)h; (void)gpu; (void)gi_id; (void)out; (void)cap; *n = 0; return OFM_HAL_ENOTSUP; }
int ofm_emu_mig_reboot(ofm_hal *h) { (void)h; return OFM_HAL_ENOTSUP; }
