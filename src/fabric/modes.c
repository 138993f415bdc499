/* Which FABRIC_MODE values a platform supports (FM §3, §8.1). Shared
 * NVSwitch and bare metal run everywhere. vGPU needs SR-IOV GPUs: the
 * first-generation NVSwitch systems (DGX-2 / HGX-2, V100) never supported it.
 * The guide's release also excluded H100; later releases support vGPU on
 * H100, H800, H200 and B200 boards with full-size profiles only, so openfm
 * keeps it on for every platform but gen1. */
#include "fabric/fabric.h"

#include <stdio.h>

bool ofm_mode_supported(const ofm_platform *p, ofm_fabric_mode mode, char *why, size_t len)
{
    if (mode != OFM_FABRIC_MODE_VGPU)
        return true;
    for (size_t i = 0; i < p->nswitches; i++)
        if (p->switches[i].gen == OFM_SWITCH_GEN1) {
            snprintf(why, len,
                     "FABRIC_MODE=2 (vGPU) is not supported on %s: first-generation NVSwitch "
                     "systems (DGX-2 / HGX-2) have no vGPU support (FM §8.1); the supported modes "
                     "on this platform are FABRIC_MODE=0 (bare metal or full passthrough) and "
                     "FABRIC_MODE=1 (shared NVSwitch)",
                     p->name);
            return false;
        }
    return true;
}
