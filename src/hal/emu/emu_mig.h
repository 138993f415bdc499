/* Seam between the emulator core (emu.c, owns hw state, links, locking) and
 * the emulator's MIG model (emu_mig.c, owns GPU/compute instances).
 *
 * MIG mode (current/pending) and instances are kept in the emulated system's
 * directory in a file of their own (mig.state), so the MIG model evolves
 * without touching the switch/route state format. */
#ifndef OPENFM_EMU_MIG_H
#define OPENFM_EMU_MIG_H

#include "openfm/hal.h"

/* --- provided by the emulator core (emu.c) --- */
/* Directory of the emulated system the handle is open on. */
const char *ofm_emu_dir(const ofm_hal *h);
/* Bring every NVLink of a GPU down (up == false) or retrain them (up == true),
 * as the A100 driver does when MIG mode is enabled/disabled. Logged to the
 * emulated kernel log like any link transition. */
int ofm_emu_set_gpu_links(ofm_hal *h, uint32_t gpu, bool up);
/* The same, naming why in the link events' detail. */
int ofm_emu_set_gpu_links_why(ofm_hal *h, uint32_t gpu, bool up, const char *why);
/* True while a fabric manager holds the emulated system (needed on A100 for
 * links to retrain after MIG is disabled). */
bool ofm_emu_fm_running(const ofm_hal *h);

/* --- provided by the MIG model (emu_mig.c); the core's ops table points here --- */
int ofm_emu_mig_mode_get(ofm_hal *h, uint32_t gpu, ofm_hal_mig_mode *out);
int ofm_emu_mig_mode_set(ofm_hal *h, uint32_t gpu, bool enable);
int ofm_emu_gpu_reset(ofm_hal *h, uint32_t gpu);
int ofm_emu_gi_create(ofm_hal *h, uint32_t gpu, uint32_t profile_id, uint32_t start, uint32_t size,
                      uint32_t *gi_id);
int ofm_emu_gi_destroy(ofm_hal *h, uint32_t gpu, uint32_t gi_id);
int ofm_emu_gi_list(ofm_hal *h, uint32_t gpu, ofm_hal_gpu_instance *out, size_t cap, size_t *n);
int ofm_emu_ci_create(ofm_hal *h, uint32_t gpu, uint32_t gi_id, uint32_t profile_id, uint32_t start,
                      uint32_t size, uint32_t *ci_id);
int ofm_emu_ci_destroy(ofm_hal *h, uint32_t gpu, uint32_t gi_id, uint32_t ci_id);
int ofm_emu_ci_list(ofm_hal *h, uint32_t gpu, uint32_t gi_id, ofm_hal_compute_instance *out,
                    size_t cap, size_t *n);
/* Emulated reboot: Ampere keeps MIG mode (pending becomes current), Hopper and
 * later lose it; instances never survive. Called by `fmctl emu reboot`. */
int ofm_emu_mig_reboot(ofm_hal *h);
/* Emulated clients holding a GPU (CUDA processes, DCGM...): while any do, a
 * GPU reset fails with EBUSY "In use by another client". delta +1/-1. */
int ofm_emu_mig_hold(ofm_hal *h, uint32_t gpu, int delta);
int ofm_emu_mig_holders(ofm_hal *h, uint32_t gpu, uint32_t *out);

#endif
