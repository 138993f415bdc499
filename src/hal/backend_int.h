/* Backends as seen by the opener (src/hal/backend.c). Nothing outside
 * src/hal includes this: the rest of openfm opens backends with
 * ofm_hal_open() and a spec string.
 *
 * A backend is either whole (the emulator: switches and GPUs) or one side of
 * a real machine: the switch side (NVSwitch driver) or the GPU side (NVML).
 * ofm_hal_compose() joins one of each into the backend `real` that the
 * daemon drives; see compose.c for which operation comes from which side. */
#ifndef OPENFM_HAL_BACKEND_INT_H
#define OPENFM_HAL_BACKEND_INT_H

#include <stddef.h>

#include "openfm/hal.h"

/* Every opener: `arg` is the part of the spec after "NAME:" (may be ""). On
 * failure *out is NULL, errbuf says why in one line, and the return is a
 * negative OFM_HAL_E* (OFM_HAL_EABSENT: the driver or library is simply not
 * installed on this machine). */
typedef int (*ofm_hal_opener)(const char *arg, const ofm_hal_open_opts *opts, ofm_hal **out,
                              char *errbuf, size_t errlen);

/* The emulator on the system in `dir` (must exist). */
int ofm_emu_backend_open(const char *dir, ofm_hal **out, char *errbuf, size_t errlen);
/* GPU side: NVIDIA's management library, loaded with dlopen (src/hal/nvml). */
int ofm_nvml_backend_open(const char *arg, const ofm_hal_open_opts *opts, ofm_hal **out,
                          char *errbuf, size_t errlen);

/* Switch side: the NVSwitch kernel driver's ioctls (src/hal/nvswitch). */
int ofm_nvswitch_backend_open(const char *arg, const ofm_hal_open_opts *opts, ofm_hal **out,
                              char *errbuf, size_t errlen);

/* Compose a switch side and a GPU side into one backend named `name`; the
 * result owns both (closing it closes them). Never fails except for memory. */
int ofm_hal_compose(const char *name, ofm_hal *switch_side, ofm_hal *gpu_side, ofm_hal **out,
                    char *errbuf, size_t errlen);

/* Failure helper for backends: formats h->last_error, returns `code`. */
int ofm_hal_fail(ofm_hal *h, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
