#ifndef OPENFM_FMCTL_BACKEND_H
#define OPENFM_FMCTL_BACKEND_H

#include "openfm/hal.h"

#define FMCTL_BACKEND_HELP                                                                        \
    "  --backend SPEC         hardware to read: emu:DIR, real, nvml, nvml+emu:DIR\n"             \
    "                         (default $OPENFM_BACKEND, else the emulated system)\n"

/* Open the backend a tool was asked for; prints "<tool>: <why>" on failure
 * and returns the OFM_HAL_E* code. */
int fmctl_open_backend(const char *tool, const char *cli_spec, const char *emu_dir, ofm_hal **h);

#endif
