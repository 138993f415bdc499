/* MIG devices: the compute instances of a GPU as CUDA sees them, each with
 * the name nvidia-smi -L prints and the UUID CUDA_VISIBLE_DEVICES takes. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mig/mig_ops.h"

static int fail(ofm_hal *h, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(ofm_hal *h, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(h->last_error, sizeof h->last_error, fmt, ap);
    va_end(ap);
    return code;
}

int ofm_mig_device_uuid_of(ofm_hal *h, const ofm_hal_gpu *g, uint32_t gi, uint32_t ci, char *out,
                           size_t len)
{
    if (h->ops->mig_device_uuid)
        return h->ops->mig_device_uuid(h, g->phys_id, gi, ci, out, len);
    if (ofm_mig_device_uuid(g->uuid, gi, ci, out, len))
        return fail(h, OFM_HAL_EINVAL, "GPU %u has no UUID to name its MIG devices by",
                    g->phys_id);
    return OFM_HAL_OK;
}

/* "3g.40gb" for a compute instance spanning its GPU instance, else the CI
 * profile's own name ("1c.3g.40gb"). */
static void ci_name(const ofm_mig_gi_profile *gp, uint32_t ci_profile, char *out, size_t len)
{
    ofm_mig_ci_profile cp[8];
    size_t n = gp ? ofm_mig_ci_profiles(gp, cp, 8) : 0;
    for (size_t k = 0; k < n; k++)
        if (cp[k].id == ci_profile) {
            snprintf(out, len, "%s", cp[k].name);
            return;
        }
    snprintf(out, len, "%s", gp ? gp->name : "unknown");
}

int ofm_mig_devices(ofm_hal *h, const ofm_hal_gpu *g, ofm_mig_device *out, size_t cap, size_t *n)
{
    *n = 0;
    if (!h->ops->gi_list || !h->ops->ci_list)
        return fail(h, OFM_HAL_ENOTSUP, "GPU %u: this backend has no MIG instances", g->phys_id);
    const ofm_mig_catalog *c = ofm_mig_catalog_for_model(g->model);
    ofm_hal_gpu_instance gis[OFM_MIG_MAX_GIS];
    size_t ngi = 0;
    int rc = h->ops->gi_list(h, g->phys_id, gis, OFM_MIG_MAX_GIS, &ngi);
    if (rc)
        return rc;
    if (ngi > OFM_MIG_MAX_GIS)
        ngi = OFM_MIG_MAX_GIS;
    /* GI ID order, then CI ID order: the order does not depend on the
     * backend's listing order, so device numbers are the same on both */
    for (size_t i = 1; i < ngi; i++)
        for (size_t j = i; j > 0 && gis[j - 1].gi_id > gis[j].gi_id; j--) {
            ofm_hal_gpu_instance t = gis[j];
            gis[j] = gis[j - 1];
            gis[j - 1] = t;
        }
    for (size_t i = 0; i < ngi; i++) {
        ofm_hal_compute_instance cis[OFM_MIG_MAX_SLICES];
        size_t nci = 0;
        if ((rc = h->ops->ci_list(h, g->phys_id, gis[i].gi_id, cis, OFM_MIG_MAX_SLICES, &nci)))
            return rc;
        if (nci > OFM_MIG_MAX_SLICES)
            nci = OFM_MIG_MAX_SLICES;
        for (size_t a = 1; a < nci; a++)
            for (size_t b = a; b > 0 && cis[b - 1].ci_id > cis[b].ci_id; b--) {
                ofm_hal_compute_instance t = cis[b];
                cis[b] = cis[b - 1];
                cis[b - 1] = t;
            }
        const ofm_mig_gi_profile *gp = c ? ofm_mig_profile_by_id(c, gis[i].profile_id) : NULL;
        for (size_t k = 0; k < nci; k++) {
            if (*n < cap) {
                ofm_mig_device *d = &out[*n];
                memset(d, 0, sizeof *d);
                d->index = (uint32_t)*n;
                d->gi_id = gis[i].gi_id;
                d->ci_id = cis[k].ci_id;
                d->gi_profile_id = gis[i].profile_id;
                d->ci_profile_id = cis[k].profile_id;
                ci_name(gp, cis[k].profile_id, d->name, sizeof d->name);
                if ((rc = ofm_mig_device_uuid_of(h, g, d->gi_id, d->ci_id, d->uuid,
                                                 sizeof d->uuid)))
                    return rc;
            }
            (*n)++;
        }
    }
    return OFM_HAL_OK;
}
