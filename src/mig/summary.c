/* One-line MIG summary of a GPU for `fmctl status` and `fmctl mig`. */
#include <stdio.h>

#include "mig/mig_ops.h"

int ofm_mig_summary(ofm_hal *h, uint32_t gpu, char *buf, size_t len)
{
    ofm_hal_mig_mode m;
    int rc = h->ops->mig_mode_get(h, gpu, &m);
    if (rc == OFM_HAL_ENOTSUP) {
        snprintf(buf, len, "N/A");
        return 0;
    }
    if (rc) {
        snprintf(buf, len, "unknown (%s)", ofm_hal_last_error(h));
        return rc;
    }
    size_t ngi = 0;
    if (m.current) {
        ofm_hal_gpu_instance gis[OFM_MIG_MAX_GIS];
        if (h->ops->gi_list(h, gpu, gis, OFM_MIG_MAX_GIS, &ngi))
            ngi = 0;
    }
    if (m.current == m.pending)
        snprintf(buf, len, m.current ? "Enabled, %zu GPU instance%s" : "Disabled", ngi,
                 ngi == 1 ? "" : "s");
    else
        snprintf(buf, len, "%s (pending %s: reset the GPU)", m.current ? "Enabled" : "Disabled",
                 m.pending ? "enable" : "disable");
    return 0;
}
