/* GPU side through NVML: being written (issue 10, step 3). */
#include <stdio.h>

#include "hal/backend_int.h"

int ofm_nvml_backend_open(const char *arg, const ofm_hal_open_opts *opts, ofm_hal **out,
                          char *errbuf, size_t errlen)
{
    (void)arg;
    (void)opts;
    *out = NULL;
    snprintf(errbuf, errlen, "the NVML backend is not part of this openfm build yet");
    return OFM_HAL_ENOTSUP;
}
