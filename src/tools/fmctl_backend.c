/* How fmctl subcommands that read the hardware pick their backend: --backend
 * SPEC, else $OPENFM_BACKEND, else the emulated system (--emu-dir,
 * $OPENFM_EMU_DIR, or the default one) - the same order as the daemon's,
 * except that a tool falls back to the emulator rather than to `auto`. */
#include <stdio.h>
#include <stdlib.h>

#include "tools/fmctl_backend.h"

int fmctl_open_backend(const char *tool, const char *cli_spec, const char *emu_dir, ofm_hal **h)
{
    const char *spec = ofm_hal_select(cli_spec, getenv("OPENFM_BACKEND"), true, "emu:");
    ofm_hal_open_opts o = {.emu_dir = emu_dir};
    char err[700];
    int rc = ofm_hal_open(spec, &o, h, err, sizeof err);
    if (rc != OFM_HAL_OK) {
        fprintf(stderr, "%s: %s\n", tool, err);
        return rc;
    }
    return OFM_HAL_OK;
}
