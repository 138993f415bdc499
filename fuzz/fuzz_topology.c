/* libFuzzer target: the topology parser must reject or accept any byte
 * string without crashing, and an accepted model must be self-consistent. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "openfm/platform.h"

static ofm_platform P;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ofm_error err;
    if (ofm_platform_parse((const char *)data, size, "fuzz", &P, &err) == 0) {
        /* invariants the loader promises */
        if (!P.ngpus || (!P.nswitches == !P.nbridges) || P.naccess > OFM_MAX_ACCESS_LINKS ||
            P.nbridges > OFM_MAX_BRIDGE_LINKS)
            abort();
        for (size_t i = 0; i < P.nbridges; i++)
            if (!ofm_platform_gpu(&P, P.bridges[i].gpu_a) ||
                !ofm_platform_gpu(&P, P.bridges[i].gpu_b) ||
                P.bridges[i].gpu_a == P.bridges[i].gpu_b)
                abort();
        for (size_t i = 0; i < P.naccess; i++)
            if (!ofm_platform_gpu(&P, P.access[i].gpu) || !ofm_platform_switch(&P, P.access[i].sw))
                abort();
        for (size_t i = 0; i < P.ngpus; i++)
            (void)ofm_platform_nvlinks_between(&P, P.gpus[i].phys_id, P.gpus[0].phys_id);
    }
    return 0;
}
