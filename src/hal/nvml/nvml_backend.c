/* GPU side of a real machine through NVML (docs/hardware.md).
 *
 * The library is loaded with dlopen - openfm has no link-time dependency on
 * the driver - and each function is resolved on its own from a table that
 * says whether openfm can run without it. A library lacking a required
 * function is refused with its name; a missing optional one turns only the
 * operations that need it into "not available from this driver". */
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hal/backend_int.h"
#include "hal/nvml/nvml_abi.h"
#include "hal/nvml/nvml_backend.h"

#define DEFAULT_LIBRARY "libnvidia-ml.so.1"

#define X(name, args) typedef nvmlReturn_t (*name##_fn) args;
OFM_NVML_FUNCTIONS(X)
#undef X

typedef struct {
    void *lib;
    char lib_name[256];
    bool model; /* openfm's NVML model, not NVIDIA's library: records are emulated */
#define X(name, args) name##_fn name;
    OFM_NVML_FUNCTIONS(X)
#undef X
    ofm_nvml_error_string_fn nvmlErrorString;
    unsigned ndev;
    nvmlDevice_t dev[OFM_MAX_GPUS];
    uint32_t id[OFM_MAX_GPUS];        /* module ID, or the index when it is unknown */
    nvmlReturn_t activation[OFM_MAX_GPUS]; /* last MIG mode activation status */
} nv;

static const struct {
    const char *name;
    size_t off;
} symbols[] = {
#define X(name, args) {#name, offsetof(nv, name)},
    OFM_NVML_FUNCTIONS(X)
#undef X
    {"nvmlErrorString", offsetof(nv, nvmlErrorString)},
};

/* Without these openfm cannot identify a single GPU. */
static const char *const required[] = {
    "nvmlInit_v2",           "nvmlShutdown",          "nvmlSystemGetDriverVersion",
    "nvmlDeviceGetCount_v2", "nvmlDeviceGetHandleByIndex_v2", "nvmlDeviceGetUUID",
    "nvmlDeviceGetPciInfo_v3", "nvmlDeviceGetName",
};

static nv *nv_of(ofm_hal *h) { return (nv *)h->impl; }

bool ofm_nvml_symbol_required(const char *name)
{
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
        if (!strcmp(required[i], name))
            return true;
    return false;
}

size_t ofm_nvml_symbol_count(void) { return sizeof symbols / sizeof symbols[0]; }
const char *ofm_nvml_symbol_name(size_t i) { return i < ofm_nvml_symbol_count() ? symbols[i].name : NULL; }

bool ofm_nvml_has(ofm_hal *h, const char *name)
{
    nv *n = nv_of(h);
    for (size_t i = 0; i < ofm_nvml_symbol_count(); i++)
        if (!strcmp(symbols[i].name, name)) {
            void *p;
            memcpy(&p, (char *)n + symbols[i].off, sizeof p);
            return p != NULL;
        }
    return false;
}

const char *ofm_nvml_library(ofm_hal *h) { return nv_of(h)->lib_name; }

static const char *nvml_str(nv *n, nvmlReturn_t r)
{
    if (n->nvmlErrorString) {
        const char *s = n->nvmlErrorString(r);
        if (s)
            return s;
    }
    switch (r) {
    case NVML_ERROR_UNINITIALIZED: return "Uninitialized";
    case NVML_ERROR_INVALID_ARGUMENT: return "Invalid Argument";
    case NVML_ERROR_NOT_SUPPORTED: return "Not Supported";
    case NVML_ERROR_NO_PERMISSION: return "Insufficient Permissions";
    case NVML_ERROR_NOT_FOUND: return "Not Found";
    case NVML_ERROR_DRIVER_NOT_LOADED: return "Driver Not Loaded";
    case NVML_ERROR_GPU_IS_LOST: return "GPU is lost";
    case NVML_ERROR_IN_USE: return "In use by another client";
    case NVML_ERROR_INSUFFICIENT_RESOURCES: return "Insufficient Resources";
    default: return "Unknown Error";
    }
}

static int code_of(nvmlReturn_t r)
{
    switch (r) {
    case NVML_SUCCESS: return OFM_HAL_OK;
    case NVML_ERROR_INVALID_ARGUMENT: return OFM_HAL_EINVAL;
    case NVML_ERROR_NOT_SUPPORTED: return OFM_HAL_ENOTSUP;
    case NVML_ERROR_NOT_FOUND: return OFM_HAL_ENOENT;
    case NVML_ERROR_GPU_IS_LOST: return OFM_HAL_ENODEV;
    case NVML_ERROR_IN_USE: return OFM_HAL_EBUSY;
    case NVML_ERROR_INSUFFICIENT_RESOURCES: return OFM_HAL_ENOSPC;
    default: return OFM_HAL_EIO;
    }
}

/* An NVML call failed: say which, in NVML's own words. */
static int nfail(ofm_hal *h, nvmlReturn_t r, const char *what)
{
    return ofm_hal_fail(h, code_of(r), "%s: %s", what, nvml_str(nv_of(h), r));
}

/* The library has no such function. */
static int absent(ofm_hal *h, const char *fn)
{
    return ofm_hal_fail(h, OFM_HAL_ENOTSUP, "%s: not available from this driver (%s)", fn,
                        nv_of(h)->lib_name);
}

#define NEED(h, fn)                                                                               \
    do {                                                                                          \
        if (!nv_of(h)->fn)                                                                        \
            return absent(h, #fn);                                                                \
    } while (0)

static int dev_of(ofm_hal *h, uint32_t gpu, nvmlDevice_t *d, unsigned *idx)
{
    nv *n = nv_of(h);
    for (unsigned i = 0; i < n->ndev; i++)
        if (n->id[i] == gpu) {
            *d = n->dev[i];
            if (idx)
                *idx = i;
            return OFM_HAL_OK;
        }
    return ofm_hal_fail(h, OFM_HAL_EINVAL, "no GPU %u", gpu);
}

/* "00000000:18:00.0" (NVML) -> "0000:18:00.0" (openfm's records). */
static void bdf_of(const nvmlPciInfo_t *pci, char *out, size_t len)
{
    const char *dot = memchr(pci->busId, '.', sizeof pci->busId);
    unsigned fn = dot && dot[1] >= '0' && dot[1] <= '7' ? (unsigned)(dot[1] - '0') : 0;
    snprintf(out, len, "%04x:%02x:%02x.%u", pci->domain & 0xffff, pci->bus & 0xff,
             pci->device & 0x1f, fn);
}

/* "NVIDIA H100 80GB HBM3" -> "H100-80GB-HBM3", the model names of the
 * topologies and the MIG catalogs. */
static void model_of(const char *name, char *out, size_t len)
{
    if (!strncmp(name, "NVIDIA ", 7))
        name += 7;
    size_t n = strnlen(name, len - 1);
    memcpy(out, name, n);
    out[n] = '\0';
    for (char *c = out; *c; c++)
        if (*c == ' ')
            *c = '-';
}

static int driver_version(ofm_hal *h, char *buf, size_t len)
{
    char v[NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE] = "";
    nvmlReturn_t r = nv_of(h)->nvmlSystemGetDriverVersion(v, sizeof v);
    if (r)
        return nfail(h, r, "nvmlSystemGetDriverVersion");
    v[sizeof v - 1] = '\0';
    snprintf(buf, len, "%s", v);
    return OFM_HAL_OK;
}

static int list_gpus(ofm_hal *h, ofm_hal_gpu *out, size_t cap, size_t *count)
{
    nv *n = nv_of(h);
    for (unsigned i = 0; i < n->ndev && i < cap; i++) {
        ofm_hal_gpu *g = &out[i];
        memset(g, 0, sizeof *g);
        g->prov = h->prov;
        g->phys_id = n->id[i];
        char uuid[NVML_DEVICE_UUID_V2_BUFFER_SIZE] = "", name[NVML_DEVICE_NAME_V2_BUFFER_SIZE] = "";
        nvmlPciInfo_t pci;
        memset(&pci, 0, sizeof pci);
        nvmlReturn_t r = n->nvmlDeviceGetUUID(n->dev[i], uuid, sizeof uuid);
        if (!r)
            r = n->nvmlDeviceGetPciInfo_v3(n->dev[i], &pci);
        if (!r)
            r = n->nvmlDeviceGetName(n->dev[i], name, sizeof name);
        if (r == NVML_ERROR_GPU_IS_LOST) {
            g->health = OFM_DEV_FAILED;
            continue;
        }
        if (r)
            return nfail(h, r, "reading GPU identity");
        uuid[sizeof uuid - 1] = name[sizeof name - 1] = '\0';
        snprintf(g->uuid, sizeof g->uuid, "%.79s", uuid);
        bdf_of(&pci, g->pci_bdf, sizeof g->pci_bdf);
        model_of(name, g->model, sizeof g->model);
        if (n->nvmlDeviceGetNvLinkState) {
            /* links the driver answers for: NOT_SUPPORTED past the last one */
            nvmlEnableState_t on;
            while (g->nvlinks < NVML_NVLINK_MAX_LINKS &&
                   n->nvmlDeviceGetNvLinkState(n->dev[i], g->nvlinks, &on) == NVML_SUCCESS)
                g->nvlinks++;
        }
    }
    *count = n->ndev;
    return OFM_HAL_OK;
}

static int gpu_link(ofm_hal *h, uint32_t gpu, uint32_t link, ofm_hal_link *out)
{
    nv *n = nv_of(h);
    nvmlDevice_t d = NULL;
    int rc = dev_of(h, gpu, &d, NULL);
    if (rc)
        return rc;
    NEED(h, nvmlDeviceGetNvLinkState);
    nvmlEnableState_t on;
    nvmlReturn_t r = n->nvmlDeviceGetNvLinkState(d, link, &on);
    if (r)
        return nfail(h, r, "nvmlDeviceGetNvLinkState");
    memset(out, 0, sizeof *out);
    out->prov = h->prov;
    out->state = on == NVML_FEATURE_ENABLED ? OFM_LINK_ACTIVE : OFM_LINK_OFF;
    out->remote_id = out->remote_link = UINT32_MAX; /* NVML names no port */
    if (on != NVML_FEATURE_ENABLED)
        return OFM_HAL_OK;
    nvmlIntNvLinkDeviceType_t t = NVML_NVLINK_DEVICE_TYPE_UNKNOWN;
    if (n->nvmlDeviceGetNvLinkRemoteDeviceType &&
        n->nvmlDeviceGetNvLinkRemoteDeviceType(d, link, &t) == NVML_SUCCESS)
        out->remote_type = t == NVML_NVLINK_DEVICE_TYPE_SWITCH ? OFM_REMOTE_SWITCH
                           : t == NVML_NVLINK_DEVICE_TYPE_GPU  ? OFM_REMOTE_GPU
                                                               : OFM_REMOTE_NONE;
    return OFM_HAL_OK;
}

int ofm_nvml_link_remote_pci(ofm_hal *h, uint32_t gpu, uint32_t link, char *buf, size_t len)
{
    nvmlDevice_t d = NULL;
    int rc = dev_of(h, gpu, &d, NULL);
    if (rc)
        return rc;
    NEED(h, nvmlDeviceGetNvLinkRemotePciInfo_v2);
    nvmlPciInfo_t pci;
    nvmlReturn_t r = nv_of(h)->nvmlDeviceGetNvLinkRemotePciInfo_v2(d, link, &pci);
    if (r)
        return nfail(h, r, "nvmlDeviceGetNvLinkRemotePciInfo_v2");
    bdf_of(&pci, buf, len);
    return OFM_HAL_OK;
}

int ofm_nvml_link_version(ofm_hal *h, uint32_t gpu, uint32_t link, uint32_t *version)
{
    nvmlDevice_t d = NULL;
    int rc = dev_of(h, gpu, &d, NULL);
    if (rc)
        return rc;
    NEED(h, nvmlDeviceGetNvLinkVersion);
    unsigned v;
    nvmlReturn_t r = nv_of(h)->nvmlDeviceGetNvLinkVersion(d, link, &v);
    if (r)
        return nfail(h, r, "nvmlDeviceGetNvLinkVersion");
    *version = v;
    return OFM_HAL_OK;
}

/* nvidia-smi nvlink -e's counters, at the GPU end of the link. */
static int gpu_link_errors(ofm_hal *h, uint32_t gpu, uint32_t link, ofm_hal_link_errors *out)
{
    nvmlDevice_t d = NULL;
    int rc = dev_of(h, gpu, &d, NULL);
    if (rc)
        return rc;
    NEED(h, nvmlDeviceGetNvLinkErrorCounter);
    static const nvmlNvLinkErrorCounter_t which[4] = {
        NVML_NVLINK_ERROR_DL_CRC_FLIT, NVML_NVLINK_ERROR_DL_CRC_DATA, NVML_NVLINK_ERROR_DL_REPLAY,
        NVML_NVLINK_ERROR_DL_RECOVERY};
    unsigned long long v[4];
    for (int i = 0; i < 4; i++) {
        nvmlReturn_t r = nv_of(h)->nvmlDeviceGetNvLinkErrorCounter(d, link, which[i], &v[i]);
        if (r)
            return nfail(h, r, "nvmlDeviceGetNvLinkErrorCounter");
    }
    memset(out, 0, sizeof *out);
    out->prov = h->prov;
    out->crc_flit = v[0];
    out->crc_data = v[1];
    out->replay = v[2];
    out->recovery = v[3];
    return OFM_HAL_OK;
}

static void uuid_text(const unsigned char *u, char *out, size_t len)
{
    snprintf(out, len,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1],
             u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14],
             u[15]);
}

static int fabric_get(ofm_hal *h, uint32_t gpu, ofm_hal_fabric_info *out)
{
    nv *n = nv_of(h);
    nvmlDevice_t d = NULL;
    int rc = dev_of(h, gpu, &d, NULL);
    if (rc)
        return rc;
    memset(out, 0, sizeof *out);
    out->prov = h->prov;
    nvmlReturn_t r = NVML_ERROR_FUNCTION_NOT_FOUND;
    if (n->nvmlDeviceGetGpuFabricInfoV) {
        /* newest layout first; drivers that predate it say so by version */
        nvmlGpuFabricInfo_v3_t v;
        memset(&v, 0, sizeof v);
        v.version = NVML_GPU_FABRIC_INFO_V3;
        r = n->nvmlDeviceGetGpuFabricInfoV(d, &v);
        if (r == NVML_ERROR_ARGUMENT_VERSION_MISMATCH) {
            memset(&v, 0, sizeof v);
            v.version = NVML_GPU_FABRIC_INFO_V2;
            r = n->nvmlDeviceGetGpuFabricInfoV(d, &v);
        }
        if (!r) {
            out->state = (ofm_fabric_state)v.state;
            out->status = v.status;
            out->clique_id = v.cliqueId;
            uuid_text(v.clusterUuid, out->cluster_uuid, sizeof out->cluster_uuid);
        }
    }
    if (r == NVML_ERROR_FUNCTION_NOT_FOUND && n->nvmlDeviceGetGpuFabricInfo) {
        nvmlGpuFabricInfo_t v;
        memset(&v, 0, sizeof v);
        r = n->nvmlDeviceGetGpuFabricInfo(d, &v);
        if (!r) {
            out->state = (ofm_fabric_state)v.state;
            out->status = v.status;
            out->clique_id = v.cliqueId;
            uuid_text(v.clusterUuid, out->cluster_uuid, sizeof out->cluster_uuid);
        }
    }
    if (r == NVML_ERROR_FUNCTION_NOT_FOUND)
        return absent(h, "nvmlDeviceGetGpuFabricInfoV/nvmlDeviceGetGpuFabricInfo");
    if (r == NVML_ERROR_NOT_SUPPORTED) { /* pre-Hopper GPUs have no fabric probe */
        out->state = OFM_FABRIC_NOT_SUPPORTED;
        return OFM_HAL_OK;
    }
    if (r)
        return nfail(h, r, "GPU fabric info");
    if (out->state > OFM_FABRIC_COMPLETED)
        return ofm_hal_fail(h, OFM_HAL_EIO, "GPU %u: NVML reports unknown fabric state %d", gpu,
                            (int)out->state);
    return OFM_HAL_OK;
}

static int mig_mode_get(ofm_hal *h, uint32_t gpu, ofm_hal_mig_mode *out)
{
    nvmlDevice_t d = NULL;
    int rc = dev_of(h, gpu, &d, NULL);
    if (rc)
        return rc;
    NEED(h, nvmlDeviceGetMigMode);
    unsigned cur, pend;
    nvmlReturn_t r = nv_of(h)->nvmlDeviceGetMigMode(d, &cur, &pend);
    if (r)
        return nfail(h, r, "nvmlDeviceGetMigMode");
    *out = (ofm_hal_mig_mode){h->prov, cur == NVML_DEVICE_MIG_ENABLE, pend == NVML_DEVICE_MIG_ENABLE};
    return OFM_HAL_OK;
}

static int mig_mode_set(ofm_hal *h, uint32_t gpu, bool enable)
{
    nvmlDevice_t d = NULL;
    unsigned idx = 0;
    int rc = dev_of(h, gpu, &d, &idx);
    if (rc)
        return rc;
    NEED(h, nvmlDeviceSetMigMode);
    nvmlReturn_t act = NVML_SUCCESS;
    nvmlReturn_t r = nv_of(h)->nvmlDeviceSetMigMode(
        d, enable ? NVML_DEVICE_MIG_ENABLE : NVML_DEVICE_MIG_DISABLE, &act);
    if (r)
        return nfail(h, r, "nvmlDeviceSetMigMode");
    /* the driver resets the GPU itself when it can; this says whether it could */
    nv_of(h)->activation[idx] = act;
    return OFM_HAL_OK;
}

/* NVML has no GPU reset of its own: the driver applied a MIG mode change
 * when nobody held the GPU (set_mig_mode's activation status). */
static int gpu_reset(ofm_hal *h, uint32_t gpu)
{
    nvmlDevice_t d = NULL;
    unsigned idx = 0;
    int rc = dev_of(h, gpu, &d, &idx);
    if (rc)
        return rc;
    ofm_hal_mig_mode m;
    if ((rc = mig_mode_get(h, gpu, &m)) != OFM_HAL_OK)
        return rc;
    if (m.current == m.pending)
        return OFM_HAL_OK;
    nvmlReturn_t act = nv_of(h)->activation[idx];
    if (act)
        return nfail(h, act, "GPU reset");
    return ofm_hal_fail(h, OFM_HAL_ENOTSUP,
                        "GPU %u: MIG mode change pending; NVML cannot reset the GPU: stop its "
                        "clients and run 'nvidia-smi -r -i <index>'", gpu);
}

/* Profile IDs the driver offers on this GPU, via the profile-index table. */
static int gi_profile_ids(ofm_hal *h, nvmlDevice_t d, unsigned *ids, unsigned *nids)
{
    NEED(h, nvmlDeviceGetGpuInstanceProfileInfo);
    *nids = 0;
    for (unsigned p = 0; p < NVML_GPU_INSTANCE_PROFILE_COUNT; p++) {
        nvmlGpuInstanceProfileInfo_t info;
        memset(&info, 0, sizeof info);
        if (nv_of(h)->nvmlDeviceGetGpuInstanceProfileInfo(d, p, &info) == NVML_SUCCESS)
            ids[(*nids)++] = info.id;
    }
    return OFM_HAL_OK;
}

static int gi_handle(ofm_hal *h, uint32_t gpu, uint32_t gi_id, nvmlGpuInstance_t *gi)
{
    nvmlDevice_t d = NULL;
    int rc = dev_of(h, gpu, &d, NULL);
    if (rc)
        return rc;
    NEED(h, nvmlDeviceGetGpuInstanceById);
    nvmlReturn_t r = nv_of(h)->nvmlDeviceGetGpuInstanceById(d, gi_id, gi);
    return r ? nfail(h, r, "GPU instance") : OFM_HAL_OK;
}

static int gi_create(ofm_hal *h, uint32_t gpu, uint32_t profile_id, uint32_t start, uint32_t size,
                     uint32_t *gi_id)
{
    nv *n = nv_of(h);
    nvmlDevice_t d = NULL;
    int rc = dev_of(h, gpu, &d, NULL);
    if (rc)
        return rc;
    NEED(h, nvmlDeviceCreateGpuInstanceWithPlacement);
    NEED(h, nvmlGpuInstanceGetInfo);
    if (!size) {
        /* the placement's size is the profile's: ask the driver */
        NEED(h, nvmlDeviceGetGpuInstancePossiblePlacements_v2);
        nvmlGpuInstancePlacement_t pl[16];
        unsigned np = 16;
        nvmlReturn_t r = n->nvmlDeviceGetGpuInstancePossiblePlacements_v2(d, profile_id, pl, &np);
        if (r)
            return nfail(h, r, "GPU instance placements");
        for (unsigned i = 0; i < np && i < 16; i++)
            if (pl[i].start == start)
                size = pl[i].size;
        if (!size && np)
            size = pl[0].size; /* a start that fits no placement: the driver says why */
    }
    nvmlGpuInstancePlacement_t want = {start, size};
    nvmlGpuInstance_t gi;
    nvmlReturn_t r = n->nvmlDeviceCreateGpuInstanceWithPlacement(d, profile_id, &want, &gi);
    if (r)
        return nfail(h, r, "create GPU instance");
    nvmlGpuInstanceInfo_t info;
    if ((r = n->nvmlGpuInstanceGetInfo(gi, &info)) != NVML_SUCCESS)
        return nfail(h, r, "nvmlGpuInstanceGetInfo");
    *gi_id = info.id;
    return OFM_HAL_OK;
}

static int gi_destroy(ofm_hal *h, uint32_t gpu, uint32_t gi_id)
{
    NEED(h, nvmlGpuInstanceDestroy);
    nvmlGpuInstance_t gi;
    int rc = gi_handle(h, gpu, gi_id, &gi);
    if (rc)
        return rc;
    nvmlReturn_t r = nv_of(h)->nvmlGpuInstanceDestroy(gi);
    return r ? nfail(h, r, "destroy GPU instance") : OFM_HAL_OK;
}

static int gi_list(ofm_hal *h, uint32_t gpu, ofm_hal_gpu_instance *out, size_t cap, size_t *count)
{
    nv *n = nv_of(h);
    nvmlDevice_t d = NULL;
    int rc = dev_of(h, gpu, &d, NULL);
    if (rc)
        return rc;
    NEED(h, nvmlDeviceGetGpuInstances);
    NEED(h, nvmlGpuInstanceGetInfo);
    unsigned ids[NVML_GPU_INSTANCE_PROFILE_COUNT], nids = 0;
    if ((rc = gi_profile_ids(h, d, ids, &nids)) != OFM_HAL_OK)
        return rc;
    size_t k = 0;
    for (unsigned p = 0; p < nids; p++) {
        nvmlGpuInstance_t gis[32];
        unsigned ng = 32;
        nvmlReturn_t r = n->nvmlDeviceGetGpuInstances(d, ids[p], gis, &ng);
        if (r == NVML_ERROR_NOT_SUPPORTED) /* MIG disabled */
            return nfail(h, r, "GPU instances");
        if (r)
            return nfail(h, r, "nvmlDeviceGetGpuInstances");
        for (unsigned i = 0; i < ng && i < 32; i++) {
            nvmlGpuInstanceInfo_t info;
            if ((r = n->nvmlGpuInstanceGetInfo(gis[i], &info)) != NVML_SUCCESS)
                return nfail(h, r, "nvmlGpuInstanceGetInfo");
            if (k < cap)
                out[k] = (ofm_hal_gpu_instance){info.id, info.profileId, info.placement.start,
                                                info.placement.size};
            k++;
        }
    }
    /* the driver's order is per profile; openfm lists by ID like nvidia-smi */
    for (size_t i = 1; i < k && i < cap; i++)
        for (size_t j = i; j > 0 && out[j - 1].gi_id > out[j].gi_id; j--) {
            ofm_hal_gpu_instance t = out[j];
            out[j] = out[j - 1];
            out[j - 1] = t;
        }
    *count = k;
    return OFM_HAL_OK;
}

/* Compute-instance profile `profile_id` of a GI: its slice count. */
static int ci_profile_size(ofm_hal *h, nvmlGpuInstance_t gi, uint32_t profile_id, unsigned *size)
{
    NEED(h, nvmlGpuInstanceGetComputeInstanceProfileInfo);
    for (unsigned p = 0; p < NVML_COMPUTE_INSTANCE_PROFILE_COUNT; p++) {
        nvmlComputeInstanceProfileInfo_t info;
        memset(&info, 0, sizeof info);
        if (nv_of(h)->nvmlGpuInstanceGetComputeInstanceProfileInfo(
                gi, p, NVML_COMPUTE_INSTANCE_ENGINE_PROFILE_SHARED, &info) == NVML_SUCCESS &&
            info.id == profile_id) {
            *size = info.sliceCount;
            return OFM_HAL_OK;
        }
    }
    return ofm_hal_fail(h, OFM_HAL_EINVAL, "no compute instance profile %u", profile_id);
}

static int ci_create(ofm_hal *h, uint32_t gpu, uint32_t gi_id, uint32_t profile_id, uint32_t start,
                     uint32_t size, uint32_t *ci_id)
{
    nv *n = nv_of(h);
    NEED(h, nvmlGpuInstanceCreateComputeInstanceWithPlacement);
    NEED(h, nvmlComputeInstanceGetInfo_v2);
    nvmlGpuInstance_t gi;
    int rc = gi_handle(h, gpu, gi_id, &gi);
    if (rc)
        return rc;
    unsigned sz = size;
    if (!sz && (rc = ci_profile_size(h, gi, profile_id, &sz)) != OFM_HAL_OK)
        return rc;
    nvmlComputeInstancePlacement_t want = {start, sz};
    nvmlComputeInstance_t ci;
    nvmlReturn_t r = n->nvmlGpuInstanceCreateComputeInstanceWithPlacement(gi, profile_id, &want, &ci);
    if (r)
        return nfail(h, r, "create compute instance");
    nvmlComputeInstanceInfo_t info;
    if ((r = n->nvmlComputeInstanceGetInfo_v2(ci, &info)) != NVML_SUCCESS)
        return nfail(h, r, "nvmlComputeInstanceGetInfo_v2");
    *ci_id = info.id;
    return OFM_HAL_OK;
}

/* Walk the compute instances of one GI; `each` returns non-zero to stop. */
static int ci_walk(ofm_hal *h, uint32_t gpu, uint32_t gi_id,
                   int (*each)(ofm_hal *h, nvmlComputeInstance_t ci,
                               const nvmlComputeInstanceInfo_t *info, void *arg),
                   void *arg)
{
    nv *n = nv_of(h);
    NEED(h, nvmlGpuInstanceGetComputeInstances);
    NEED(h, nvmlComputeInstanceGetInfo_v2);
    NEED(h, nvmlGpuInstanceGetComputeInstanceProfileInfo);
    nvmlGpuInstance_t gi;
    int rc = gi_handle(h, gpu, gi_id, &gi);
    if (rc)
        return rc;
    for (unsigned p = 0; p < NVML_COMPUTE_INSTANCE_PROFILE_COUNT; p++) {
        nvmlComputeInstanceProfileInfo_t pi;
        memset(&pi, 0, sizeof pi);
        if (n->nvmlGpuInstanceGetComputeInstanceProfileInfo(
                gi, p, NVML_COMPUTE_INSTANCE_ENGINE_PROFILE_SHARED, &pi) != NVML_SUCCESS)
            continue;
        nvmlComputeInstance_t cis[16];
        unsigned nc = 16;
        nvmlReturn_t r = n->nvmlGpuInstanceGetComputeInstances(gi, pi.id, cis, &nc);
        if (r)
            return nfail(h, r, "nvmlGpuInstanceGetComputeInstances");
        for (unsigned i = 0; i < nc && i < 16; i++) {
            nvmlComputeInstanceInfo_t info;
            if ((r = n->nvmlComputeInstanceGetInfo_v2(cis[i], &info)) != NVML_SUCCESS)
                return nfail(h, r, "nvmlComputeInstanceGetInfo_v2");
            if ((rc = each(h, cis[i], &info, arg)) != 0)
                return rc > 0 ? OFM_HAL_OK : rc;
        }
    }
    return OFM_HAL_OK;
}

typedef struct {
    uint32_t gi_id;
    ofm_hal_compute_instance *out;
    size_t cap, k;
} ci_list_arg;

static int ci_list_one(ofm_hal *h, nvmlComputeInstance_t ci, const nvmlComputeInstanceInfo_t *info,
                       void *arg)
{
    (void)h;
    (void)ci;
    ci_list_arg *a = arg;
    if (a->k < a->cap)
        a->out[a->k] = (ofm_hal_compute_instance){a->gi_id, info->id, info->profileId,
                                                  info->placement.start, info->placement.size};
    a->k++;
    return 0;
}

static int ci_list(ofm_hal *h, uint32_t gpu, uint32_t gi_id, ofm_hal_compute_instance *out,
                   size_t cap, size_t *count)
{
    ci_list_arg a = {gi_id, out, cap, 0};
    int rc = ci_walk(h, gpu, gi_id, ci_list_one, &a);
    for (size_t i = 1; i < a.k && i < cap; i++)
        for (size_t j = i; j > 0 && out[j - 1].ci_id > out[j].ci_id; j--) {
            ofm_hal_compute_instance t = out[j];
            out[j] = out[j - 1];
            out[j - 1] = t;
        }
    *count = a.k;
    return rc;
}

typedef struct {
    uint32_t ci_id;
    bool found;
} ci_destroy_arg;

static int ci_destroy_one(ofm_hal *h, nvmlComputeInstance_t ci,
                          const nvmlComputeInstanceInfo_t *info, void *arg)
{
    ci_destroy_arg *a = arg;
    if (info->id != a->ci_id)
        return 0;
    a->found = true;
    nvmlReturn_t r = nv_of(h)->nvmlComputeInstanceDestroy(ci);
    return r ? nfail(h, r, "destroy compute instance") : 1;
}

static int ci_destroy(ofm_hal *h, uint32_t gpu, uint32_t gi_id, uint32_t ci_id)
{
    NEED(h, nvmlComputeInstanceDestroy);
    ci_destroy_arg a = {ci_id, false};
    int rc = ci_walk(h, gpu, gi_id, ci_destroy_one, &a);
    if (rc == OFM_HAL_OK && !a.found)
        return ofm_hal_fail(h, OFM_HAL_ENOENT, "GPU %u: GPU instance %u has no compute instance %u",
                            gpu, gi_id, ci_id);
    return rc;
}

/* The driver's name for a MIG device: walk the GPU's MIG device handles for
 * the one on GPU instance `gi`, compute instance `ci`, and ask its UUID (the
 * string CUDA_VISIBLE_DEVICES takes). */
static int mig_device_uuid(ofm_hal *h, uint32_t gpu, uint32_t gi, uint32_t ci, char *out,
                           size_t len)
{
    nvmlDevice_t d = NULL;
    if (dev_of(h, gpu, &d, NULL))
        return OFM_HAL_EINVAL;
    NEED(h, nvmlDeviceGetMaxMigDeviceCount);
    NEED(h, nvmlDeviceGetMigDeviceHandleByIndex);
    NEED(h, nvmlDeviceGetGpuInstanceId);
    NEED(h, nvmlDeviceGetComputeInstanceId);
    nv *n = nv_of(h);
    unsigned max = 0;
    nvmlReturn_t r = n->nvmlDeviceGetMaxMigDeviceCount(d, &max);
    if (r)
        return nfail(h, r, "nvmlDeviceGetMaxMigDeviceCount");
    for (unsigned i = 0; i < max && i < 64; i++) {
        nvmlDevice_t m = NULL;
        unsigned g = 0, c = 0;
        r = n->nvmlDeviceGetMigDeviceHandleByIndex(d, i, &m);
        if (r == NVML_ERROR_NOT_FOUND)
            continue; /* an unused slot */
        if (r)
            return nfail(h, r, "nvmlDeviceGetMigDeviceHandleByIndex");
        if ((r = n->nvmlDeviceGetGpuInstanceId(m, &g)) != NVML_SUCCESS)
            return nfail(h, r, "nvmlDeviceGetGpuInstanceId");
        if ((r = n->nvmlDeviceGetComputeInstanceId(m, &c)) != NVML_SUCCESS)
            return nfail(h, r, "nvmlDeviceGetComputeInstanceId");
        if (g != gi || c != ci)
            continue;
        char uuid[NVML_DEVICE_UUID_V2_BUFFER_SIZE] = "";
        if ((r = n->nvmlDeviceGetUUID(m, uuid, sizeof uuid)) != NVML_SUCCESS)
            return nfail(h, r, "nvmlDeviceGetUUID (MIG device)");
        uuid[sizeof uuid - 1] = '\0';
        if (strlen(uuid) + 1 > len)
            return ofm_hal_fail(h, OFM_HAL_EINVAL, "MIG device UUID '%s' longer than %zu", uuid,
                                len - 1);
        memcpy(out, uuid, strlen(uuid) + 1);
        return OFM_HAL_OK;
    }
    return ofm_hal_fail(h, OFM_HAL_ENOENT, "GPU %u: no MIG device on GPU instance %u compute "
                        "instance %u", gpu, gi, ci);
}

/* The GPUs the driver excluded at load (NVreg_ExcludedGpus, FM §9.6), as
 * NVML lists them: UUID and PCI address. NVML has no handle for them, so
 * their module (physical) ID is unknown: phys_id is UINT32_MAX and callers
 * match by UUID or PCI address. NVSwitches are the switch side's. */
static int list_excluded(ofm_hal *h, ofm_hal_excluded *out, size_t cap, size_t *count)
{
    nv *n = nv_of(h);
    NEED(h, nvmlGetExcludedDeviceCount);
    NEED(h, nvmlGetExcludedDeviceInfoByIndex);
    unsigned cnt = 0;
    nvmlReturn_t r = n->nvmlGetExcludedDeviceCount(&cnt);
    if (r)
        return nfail(h, r, "nvmlGetExcludedDeviceCount");
    for (unsigned i = 0; i < cnt && i < cap; i++) {
        nvmlExcludedDeviceInfo_t info;
        memset(&info, 0, sizeof info);
        if ((r = n->nvmlGetExcludedDeviceInfoByIndex(i, &info)))
            return nfail(h, r, "nvmlGetExcludedDeviceInfoByIndex");
        ofm_hal_excluded *x = &out[i];
        memset(x, 0, sizeof *x);
        x->is_switch = false;
        x->phys_id = UINT32_MAX;
        info.uuid[sizeof info.uuid - 1] = '\0';
        snprintf(x->uuid, sizeof x->uuid, "%s", info.uuid);
        bdf_of(&info.pciInfo, x->pci_bdf, sizeof x->pci_bdf);
    }
    *count = cnt;
    return OFM_HAL_OK;
}

static int list_switches(ofm_hal *h, ofm_hal_switch *out, size_t cap, size_t *n)
{
    /* NVML sees GPUs only; NVSwitches are the switch side's */
    (void)h;
    (void)out;
    (void)cap;
    *n = 0;
    return OFM_HAL_OK;
}

static void nv_close(ofm_hal *h)
{
    nv *n = nv_of(h);
    if (n->nvmlShutdown)
        n->nvmlShutdown();
    if (n->lib)
        dlclose(n->lib);
    free(n);
    free(h);
}

static const ofm_hal_ops nvml_ops = {
    .name = "nvml",
    .close = nv_close,
    .driver_version = driver_version,
    .list_switches = list_switches,
    .list_gpus = list_gpus,
    .gpu_link = gpu_link,
    .gpu_link_errors = gpu_link_errors,
    .fabric_get = fabric_get,
    .mig_mode_get = mig_mode_get,
    .mig_mode_set = mig_mode_set,
    .gpu_reset = gpu_reset,
    .gi_create = gi_create,
    .gi_destroy = gi_destroy,
    .gi_list = gi_list,
    .ci_create = ci_create,
    .ci_destroy = ci_destroy,
    .ci_list = ci_list,
    .mig_device_uuid = mig_device_uuid,
    .list_excluded = list_excluded,
};

static int refuse(nv *n, int code, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int refuse(nv *n, int code, char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    if (n->lib)
        dlclose(n->lib);
    free(n);
    return code;
}

int ofm_nvml_backend_open(const char *arg, const ofm_hal_open_opts *opts, ofm_hal **out,
                          char *err, size_t errlen)
{
    (void)arg;
    *out = NULL;
    const char *env = getenv("OPENFM_NVML_LIBRARY");
    const char *lib = opts && opts->nvml_library && *opts->nvml_library ? opts->nvml_library
                      : env && *env                                   ? env
                                                                      : DEFAULT_LIBRARY;
    nv *n = calloc(1, sizeof *n);
    if (!n) {
        snprintf(err, errlen, "out of memory");
        return OFM_HAL_EIO;
    }
    snprintf(n->lib_name, sizeof n->lib_name, "%s", lib);
    n->lib = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
    if (!n->lib) {
        const char *why = dlerror();
        return refuse(n, OFM_HAL_EABSENT, err, errlen,
                      "NVML library %s cannot be loaded (%s): install the NVIDIA driver, or set "
                      "OPENFM_NVML_LIBRARY to its libnvidia-ml.so.1",
                      lib, why ? why : "not found");
    }
    for (size_t i = 0; i < ofm_nvml_symbol_count(); i++) {
        void *p = dlsym(n->lib, symbols[i].name);
        if (!p && ofm_nvml_symbol_required(symbols[i].name))
            return refuse(n, OFM_HAL_ENOTSUP, err, errlen,
                          "NVML library %s lacks the required function %s: it is not NVML, or "
                          "too old for openfm",
                          lib, symbols[i].name);
        memcpy((char *)n + symbols[i].off, &p, sizeof p);
    }
    n->model = dlsym(n->lib, "openfm_nvml_model") != NULL;
    nvmlReturn_t r = n->nvmlInit_v2();
    if (r) {
        int code = r == NVML_ERROR_DRIVER_NOT_LOADED ? OFM_HAL_EABSENT : code_of(r);
        return refuse(n, code, err, errlen, "NVML (%s) initialisation failed: %s%s", lib,
                      nvml_str(n, r),
                      r == NVML_ERROR_DRIVER_NOT_LOADED ? ": the NVIDIA kernel driver is not loaded"
                                                        : "");
    }
    unsigned cnt = 0;
    if ((r = n->nvmlDeviceGetCount_v2(&cnt)) != NVML_SUCCESS) {
        n->nvmlShutdown();
        return refuse(n, code_of(r), err, errlen, "NVML: cannot count GPUs: %s", nvml_str(n, r));
    }
    n->ndev = cnt < OFM_MAX_GPUS ? cnt : OFM_MAX_GPUS;
    for (unsigned i = 0; i < n->ndev; i++) {
        if ((r = n->nvmlDeviceGetHandleByIndex_v2(i, &n->dev[i])) != NVML_SUCCESS) {
            n->nvmlShutdown();
            return refuse(n, code_of(r), err, errlen, "NVML: GPU %u: %s", i, nvml_str(n, r));
        }
        /* module IDs number HGX GPUs as the topologies do; without them the
         * enumeration index is the only name NVML gives */
        unsigned mod;
        n->id[i] = n->nvmlDeviceGetModuleId && n->nvmlDeviceGetModuleId(n->dev[i], &mod) == 0
                       ? mod
                       : i;
    }
    ofm_hal *h = calloc(1, sizeof *h);
    if (!h) {
        n->nvmlShutdown();
        return refuse(n, OFM_HAL_EIO, err, errlen, "out of memory");
    }
    h->ops = &nvml_ops;
    h->prov = n->model ? OFM_PROV_EMULATED : OFM_PROV_REAL;
    h->impl = n;
    *out = h;
    return OFM_HAL_OK;
}

bool ofm_nvml_is(const ofm_hal *h) { return h && h->ops == &nvml_ops; }
