/* An NVML for tests: a shared library with NVML's ABI (the declarations of
 * src/hal/nvml/nvml_abi.h) that serves the GPUs of an emulated system from
 * its state directory, so the NVML backend runs end to end without a GPU.
 * Inventory, NVLink state, fabric registration (as the daemon drives it
 * through the emulator standing in for the switch driver) and MIG all come
 * from the emulator, read fresh on every call.
 *
 * The system: $OPENFM_NVML_MODEL_DIR, else the emulator's default resolution
 * ($OPENFM_EMU_DIR...). $OPENFM_NVML_MODEL_NO_DRIVER=1 makes nvmlInit fail as
 * on a machine whose kernel driver is not loaded. Built in several variants,
 * each lacking one function (a linker version script hides it), never
 * installed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hal/nvml/nvml_abi.h"
#include "mig/mig.h"
#include "openfm/emu.h"
#include "openfm/hal.h"

/* Marker the backend looks for: records from here are emulated. */
const int openfm_nvml_model = 1;

#define X(name, args) nvmlReturn_t name args;
OFM_NVML_FUNCTIONS(X)
#undef X
const char *nvmlErrorString(nvmlReturn_t r);

struct nvmlDevice_st {
    size_t idx;
    uint32_t gi, ci;             /* MIG device handles (mig_pool) only */
};
struct nvmlGpuInstance_st {
    size_t dev;
    uint32_t id;
};
struct nvmlComputeInstance_st {
    size_t dev;
    uint32_t gi, id;
};

#define POOL 512
static ofm_hal *H;
static int refs;
static ofm_hal_gpu gpus[OFM_MAX_GPUS];
static size_t ngpus;
static struct nvmlDevice_st devs[OFM_MAX_GPUS];
static struct nvmlGpuInstance_st gi_pool[POOL];
static size_t ngi_pool;
static struct nvmlComputeInstance_st ci_pool[POOL];
static size_t nci_pool;
static struct nvmlDevice_st mig_pool[POOL];
static size_t nmig_pool;

static nvmlReturn_t of_hal(int rc)
{
    switch (rc) {
    case OFM_HAL_OK: return NVML_SUCCESS;
    case OFM_HAL_EINVAL: return NVML_ERROR_INVALID_ARGUMENT;
    case OFM_HAL_ENOENT: return NVML_ERROR_NOT_FOUND;
    case OFM_HAL_EBUSY: return NVML_ERROR_IN_USE;
    case OFM_HAL_ENOSPC: return NVML_ERROR_INSUFFICIENT_RESOURCES;
    case OFM_HAL_ENOTSUP: return NVML_ERROR_NOT_SUPPORTED;
    case OFM_HAL_ENODEV: return NVML_ERROR_GPU_IS_LOST;
    default: return NVML_ERROR_UNKNOWN;
    }
}

/* Handles stay valid for the life of the library, like NVIDIA's. */
static nvmlGpuInstance_t gi_handle(size_t dev, uint32_t id)
{
    for (size_t i = 0; i < ngi_pool; i++)
        if (gi_pool[i].dev == dev && gi_pool[i].id == id)
            return &gi_pool[i];
    if (ngi_pool == POOL)
        return NULL;
    gi_pool[ngi_pool] = (struct nvmlGpuInstance_st){dev, id};
    return &gi_pool[ngi_pool++];
}

static nvmlComputeInstance_t ci_handle(size_t dev, uint32_t gi, uint32_t id)
{
    for (size_t i = 0; i < nci_pool; i++)
        if (ci_pool[i].dev == dev && ci_pool[i].gi == gi && ci_pool[i].id == id)
            return &ci_pool[i];
    if (nci_pool == POOL)
        return NULL;
    ci_pool[nci_pool] = (struct nvmlComputeInstance_st){dev, gi, id};
    return &ci_pool[nci_pool++];
}

static bool dev_ok(nvmlDevice_t d)
{
    return H && d && d >= devs && d < devs + ngpus;
}
#define DEV(d)                                                                                    \
    do {                                                                                          \
        if (!H)                                                                                   \
            return NVML_ERROR_UNINITIALIZED;                                                      \
        if (!dev_ok(d))                                                                           \
            return NVML_ERROR_INVALID_ARGUMENT;                                                   \
    } while (0)
#define PHYS(d) (gpus[(d)->idx].phys_id)

static nvmlReturn_t copy_str(char *dst, unsigned len, const char *src)
{
    if (!dst || strlen(src) + 1 > len)
        return NVML_ERROR_INSUFFICIENT_SIZE;
    memcpy(dst, src, strlen(src) + 1);
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlInit_v2(void)
{
    if (H) {
        refs++;
        return NVML_SUCCESS;
    }
    const char *off = getenv("OPENFM_NVML_MODEL_NO_DRIVER");
    if (off && *off == '1')
        return NVML_ERROR_DRIVER_NOT_LOADED;
    const char *dir = getenv("OPENFM_NVML_MODEL_DIR");
    char err[512];
    if (ofm_emu_open(dir && *dir ? dir : "", &H, err, sizeof err) != OFM_HAL_OK) {
        fprintf(stderr, "NVML model: %s\n", err);
        return NVML_ERROR_DRIVER_NOT_LOADED;
    }
    size_t n = 0;
    if (H->ops->list_gpus(H, gpus, OFM_MAX_GPUS, &n) != OFM_HAL_OK) {
        ofm_hal_close(H);
        H = NULL;
        return NVML_ERROR_UNKNOWN;
    }
    ngpus = n < OFM_MAX_GPUS ? n : OFM_MAX_GPUS;
    for (size_t i = 0; i < ngpus; i++)
        devs[i].idx = i;
    refs = 1;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlShutdown(void)
{
    if (!H)
        return NVML_ERROR_UNINITIALIZED;
    if (--refs == 0) {
        ofm_hal_close(H);
        H = NULL;
        ngi_pool = nci_pool = nmig_pool = 0;
    }
    return NVML_SUCCESS;
}

const char *nvmlErrorString(nvmlReturn_t r)
{
    switch (r) {
    case NVML_SUCCESS: return "Success";
    case NVML_ERROR_UNINITIALIZED: return "Uninitialized";
    case NVML_ERROR_INVALID_ARGUMENT: return "Invalid Argument";
    case NVML_ERROR_NOT_SUPPORTED: return "Not Supported";
    case NVML_ERROR_NOT_FOUND: return "Not Found";
    case NVML_ERROR_INSUFFICIENT_SIZE: return "Insufficient Size";
    case NVML_ERROR_DRIVER_NOT_LOADED: return "Driver Not Loaded";
    case NVML_ERROR_GPU_IS_LOST: return "GPU is lost";
    case NVML_ERROR_IN_USE: return "In use by another client";
    case NVML_ERROR_INSUFFICIENT_RESOURCES: return "Insufficient Resources";
    case NVML_ERROR_ARGUMENT_VERSION_MISMATCH: return "Argument Version Mismatch";
    default: return "Unknown Error";
    }
}

nvmlReturn_t nvmlSystemGetDriverVersion(char *version, unsigned int length)
{
    if (!H)
        return NVML_ERROR_UNINITIALIZED;
    char v[64];
    int rc = H->ops->driver_version(H, v, sizeof v);
    return rc ? of_hal(rc) : copy_str(version, length, v);
}

nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *count)
{
    if (!H)
        return NVML_ERROR_UNINITIALIZED;
    *count = (unsigned)ngpus;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device)
{
    if (!H)
        return NVML_ERROR_UNINITIALIZED;
    if (index >= ngpus || !device)
        return NVML_ERROR_INVALID_ARGUMENT;
    *device = &devs[index];
    return NVML_SUCCESS;
}

static bool mig_ok(nvmlDevice_t d)
{
    return H && d && d >= mig_pool && d < mig_pool + nmig_pool;
}

nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t d, char *uuid, unsigned int length)
{
    if (mig_ok(d)) {
        /* the emulator's MIG devices carry openfm's derived names */
        char m[OFM_MIG_UUID_LEN];
        if (ofm_mig_device_uuid(gpus[d->idx].uuid, d->gi, d->ci, m, sizeof m))
            return NVML_ERROR_UNKNOWN;
        return copy_str(uuid, length, m);
    }
    DEV(d);
    return copy_str(uuid, length, gpus[d->idx].uuid);
}

nvmlReturn_t nvmlDeviceGetMaxMigDeviceCount(nvmlDevice_t d, unsigned int *count)
{
    DEV(d);
    const ofm_mig_catalog *c = ofm_mig_catalog_for_model(gpus[d->idx].model);
    *count = c ? c->compute_slices : 0; /* one device per compute slice at most */
    return NVML_SUCCESS;
}

/* MIG device `index` of a GPU: its compute instances, GI by GI, in ID order. */
nvmlReturn_t nvmlDeviceGetMigDeviceHandleByIndex(nvmlDevice_t d, unsigned int index,
                                                 nvmlDevice_t *mig)
{
    DEV(d);
    ofm_hal_gpu_instance gis[32];
    size_t n = 0, k = 0;
    int rc = H->ops->gi_list(H, PHYS(d), gis, 32, &n);
    if (rc)
        return of_hal(rc);
    for (size_t i = 0; i < n && i < 32; i++) {
        ofm_hal_compute_instance cis[16];
        size_t nc = 0;
        if ((rc = H->ops->ci_list(H, PHYS(d), gis[i].gi_id, cis, 16, &nc)) != 0)
            return of_hal(rc);
        for (size_t j = 0; j < nc && j < 16; j++, k++) {
            if (k != index)
                continue;
            struct nvmlDevice_st want = {d->idx, gis[i].gi_id, cis[j].ci_id};
            for (size_t p = 0; p < nmig_pool; p++)
                if (mig_pool[p].idx == want.idx && mig_pool[p].gi == want.gi &&
                    mig_pool[p].ci == want.ci) {
                    *mig = &mig_pool[p];
                    return NVML_SUCCESS;
                }
            if (nmig_pool == POOL)
                return NVML_ERROR_UNKNOWN;
            mig_pool[nmig_pool] = want;
            *mig = &mig_pool[nmig_pool++];
            return NVML_SUCCESS;
        }
    }
    return NVML_ERROR_NOT_FOUND;
}

nvmlReturn_t nvmlDeviceGetGpuInstanceId(nvmlDevice_t d, unsigned int *id)
{
    if (!mig_ok(d))
        return H ? NVML_ERROR_NOT_SUPPORTED : NVML_ERROR_UNINITIALIZED;
    *id = d->gi;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetComputeInstanceId(nvmlDevice_t d, unsigned int *id)
{
    if (!mig_ok(d))
        return H ? NVML_ERROR_NOT_SUPPORTED : NVML_ERROR_UNINITIALIZED;
    *id = d->ci;
    return NVML_SUCCESS;
}

static const ofm_mig_catalog *catalog_of(nvmlDevice_t d)
{
    return ofm_mig_catalog_for_model(gpus[d->idx].model);
}

static void pci_of(const char *bdf, nvmlPciInfo_t *pci)
{
    unsigned dom = 0, bus = 0, dv = 0, fn = 0;
    sscanf(bdf, "%x:%x:%x.%u", &dom, &bus, &dv, &fn);
    memset(pci, 0, sizeof *pci);
    pci->domain = dom;
    pci->bus = bus;
    pci->device = dv;
    snprintf(pci->busIdLegacy, sizeof pci->busIdLegacy, "%04x:%02x:%02x.%u", dom & 0xffff,
             bus & 0xff, dv & 0x1f, fn & 7);
    snprintf(pci->busId, sizeof pci->busId, "%08x:%02x:%02x.%u", dom, bus & 0xff, dv & 0x1f, fn & 7);
}

nvmlReturn_t nvmlDeviceGetPciInfo_v3(nvmlDevice_t d, nvmlPciInfo_t *pci)
{
    DEV(d);
    pci_of(gpus[d->idx].pci_bdf, pci);
    const ofm_mig_catalog *c = catalog_of(d);
    pci->pciDeviceId = c ? c->pci_id : 0x000010deu;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t d, char *name, unsigned int length)
{
    DEV(d);
    char n[64];
    snprintf(n, sizeof n, "NVIDIA %s", gpus[d->idx].model);
    return copy_str(name, length, n);
}

nvmlReturn_t nvmlDeviceGetModuleId(nvmlDevice_t d, unsigned int *moduleId)
{
    DEV(d);
    *moduleId = PHYS(d);
    return NVML_SUCCESS;
}

static nvmlReturn_t link_of(nvmlDevice_t d, unsigned link, ofm_hal_link *l)
{
    if (link >= gpus[d->idx].nvlinks)
        return NVML_ERROR_INVALID_ARGUMENT;
    return of_hal(H->ops->gpu_link(H, PHYS(d), link, l));
}

nvmlReturn_t nvmlDeviceGetNvLinkState(nvmlDevice_t d, unsigned int link, nvmlEnableState_t *on)
{
    DEV(d);
    ofm_hal_link l;
    nvmlReturn_t r = link_of(d, link, &l);
    if (!r)
        *on = l.state == OFM_LINK_ACTIVE ? NVML_FEATURE_ENABLED : NVML_FEATURE_DISABLED;
    return r;
}

nvmlReturn_t nvmlDeviceGetNvLinkRemoteDeviceType(nvmlDevice_t d, unsigned int link,
                                                 nvmlIntNvLinkDeviceType_t *type)
{
    DEV(d);
    ofm_hal_link l;
    nvmlReturn_t r = link_of(d, link, &l);
    if (!r)
        *type = l.remote_type == OFM_REMOTE_SWITCH ? NVML_NVLINK_DEVICE_TYPE_SWITCH
                : l.remote_type == OFM_REMOTE_GPU  ? NVML_NVLINK_DEVICE_TYPE_GPU
                                                   : NVML_NVLINK_DEVICE_TYPE_UNKNOWN;
    return r;
}

nvmlReturn_t nvmlDeviceGetNvLinkRemotePciInfo_v2(nvmlDevice_t d, unsigned int link,
                                                 nvmlPciInfo_t *pci)
{
    DEV(d);
    ofm_hal_link l;
    nvmlReturn_t r = link_of(d, link, &l);
    if (r)
        return r;
    if (l.remote_type != OFM_REMOTE_SWITCH)
        return NVML_ERROR_NOT_SUPPORTED;
    ofm_hal_switch sw[OFM_MAX_SWITCHES];
    size_t n = 0;
    if ((r = of_hal(H->ops->list_switches(H, sw, OFM_MAX_SWITCHES, &n))) != NVML_SUCCESS)
        return r;
    for (size_t i = 0; i < n && i < OFM_MAX_SWITCHES; i++)
        if (sw[i].phys_id == l.remote_id) {
            pci_of(sw[i].pci_bdf, pci);
            return NVML_SUCCESS;
        }
    return NVML_ERROR_NOT_FOUND;
}

nvmlReturn_t nvmlDeviceGetNvLinkVersion(nvmlDevice_t d, unsigned int link, unsigned int *version)
{
    DEV(d);
    if (link >= gpus[d->idx].nvlinks)
        return NVML_ERROR_INVALID_ARGUMENT;
    /* NVLink 2 with first-generation NVSwitch, 3 with the second, 4 with the third */
    const ofm_platform *p = ofm_emu_platform(H);
    *version = p->nswitches ? (unsigned)p->switches[0].gen + 1 : 0;
    return NVML_SUCCESS;
}

/* The emulator keeps the counters per link, keyed by the switch port at its
 * far end: NVML reads them at the GPU end of the same link. */
nvmlReturn_t nvmlDeviceGetNvLinkErrorCounter(nvmlDevice_t d, unsigned int link,
                                             nvmlNvLinkErrorCounter_t counter,
                                             unsigned long long *value)
{
    DEV(d);
    ofm_hal_link l;
    nvmlReturn_t r = link_of(d, link, &l);
    if (r)
        return r;
    if (l.remote_type != OFM_REMOTE_SWITCH)
        return NVML_ERROR_NOT_SUPPORTED;
    ofm_hal_link_errors e;
    if ((r = of_hal(ofm_emu_link_errors(H, l.remote_id, l.remote_link, &e))) != NVML_SUCCESS)
        return r;
    switch (counter) {
    case NVML_NVLINK_ERROR_DL_REPLAY: *value = e.replay; break;
    case NVML_NVLINK_ERROR_DL_RECOVERY: *value = e.recovery; break;
    case NVML_NVLINK_ERROR_DL_CRC_FLIT: *value = e.crc_flit; break;
    case NVML_NVLINK_ERROR_DL_CRC_DATA: *value = e.crc_data; break;
    default: return NVML_ERROR_INVALID_ARGUMENT;
    }
    return NVML_SUCCESS;
}

static nvmlReturn_t fabric(nvmlDevice_t d, unsigned char *uuid, nvmlReturn_t *status,
                           unsigned *clique, nvmlGpuFabricState_t *state)
{
    ofm_hal_fabric_info fi;
    int rc = H->ops->fabric_get(H, PHYS(d), &fi);
    if (rc)
        return of_hal(rc);
    memset(uuid, 0, NVML_GPU_FABRIC_UUID_LEN);
    const char *s = fi.cluster_uuid;
    for (int k = 0; *s && k < NVML_GPU_FABRIC_UUID_LEN * 2; s++) {
        if (*s == '-')
            continue;
        unsigned v = 0;
        if (sscanf(s, "%1x", &v) != 1)
            break;
        uuid[k / 2] |= (unsigned char)(k % 2 ? v : v << 4);
        k++;
    }
    *status = fi.status ? NVML_ERROR_UNKNOWN : NVML_SUCCESS;
    *clique = fi.clique_id;
    *state = (nvmlGpuFabricState_t)fi.state;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetGpuFabricInfo(nvmlDevice_t d, nvmlGpuFabricInfo_t *info)
{
    DEV(d);
    return fabric(d, info->clusterUuid, &info->status, &info->cliqueId, &info->state);
}

nvmlReturn_t nvmlDeviceGetGpuFabricInfoV(nvmlDevice_t d, nvmlGpuFabricInfo_v3_t *info)
{
    DEV(d);
    if (info->version != NVML_GPU_FABRIC_INFO_V3 && info->version != NVML_GPU_FABRIC_INFO_V2)
        return NVML_ERROR_ARGUMENT_VERSION_MISMATCH;
    info->healthMask = 0;
    if (info->version == NVML_GPU_FABRIC_INFO_V3)
        info->healthSummary = 0;
    return fabric(d, info->clusterUuid, &info->status, &info->cliqueId, &info->state);
}

nvmlReturn_t nvmlDeviceGetMigMode(nvmlDevice_t d, unsigned int *current, unsigned int *pending)
{
    DEV(d);
    ofm_hal_mig_mode m;
    int rc = H->ops->mig_mode_get(H, PHYS(d), &m);
    if (rc)
        return of_hal(rc);
    *current = m.current;
    *pending = m.pending;
    return NVML_SUCCESS;
}

/* The driver resets the GPU to apply the mode when nobody holds it. */
nvmlReturn_t nvmlDeviceSetMigMode(nvmlDevice_t d, unsigned int mode, nvmlReturn_t *activation)
{
    DEV(d);
    if (mode > 1)
        return NVML_ERROR_INVALID_ARGUMENT;
    int rc = H->ops->mig_mode_set(H, PHYS(d), mode == 1);
    if (rc)
        return of_hal(rc);
    ofm_hal_mig_mode m;
    *activation = NVML_SUCCESS;
    if (H->ops->mig_mode_get(H, PHYS(d), &m) == OFM_HAL_OK && m.current != m.pending)
        *activation = of_hal(H->ops->gpu_reset(H, PHYS(d)));
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetGpuInstanceProfileInfo(nvmlDevice_t d, unsigned int profile,
                                                 nvmlGpuInstanceProfileInfo_t *info)
{
    DEV(d);
    const ofm_mig_catalog *c = catalog_of(d);
    if (!c)
        return NVML_ERROR_NOT_SUPPORTED;
    if (profile >= c->nprofiles)
        return profile < NVML_GPU_INSTANCE_PROFILE_COUNT ? NVML_ERROR_NOT_SUPPORTED
                                                         : NVML_ERROR_INVALID_ARGUMENT;
    const ofm_mig_gi_profile *p = &c->profiles[profile];
    memset(info, 0, sizeof *info);
    info->id = p->id;
    info->sliceCount = p->compute;
    info->instanceCount = p->max;
    info->multiprocessorCount = p->sms;
    info->copyEngineCount = p->ce;
    info->decoderCount = p->dec;
    info->encoderCount = p->enc;
    info->jpegCount = p->jpeg;
    info->ofaCount = p->ofa;
    info->memorySizeMB = (unsigned long long)(p->mem_gib * 1024.0);
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetGpuInstancePossiblePlacements_v2(nvmlDevice_t d, unsigned int profileId,
                                                           nvmlGpuInstancePlacement_t *pl,
                                                           unsigned int *count)
{
    DEV(d);
    const ofm_mig_catalog *c = catalog_of(d);
    const ofm_mig_gi_profile *p = c ? ofm_mig_profile_by_id(c, profileId) : NULL;
    if (!p)
        return c ? NVML_ERROR_INVALID_ARGUMENT : NVML_ERROR_NOT_SUPPORTED;
    if (!pl) {
        *count = p->nplacements;
        return NVML_SUCCESS;
    }
    if (*count < p->nplacements) {
        *count = p->nplacements;
        return NVML_ERROR_INSUFFICIENT_SIZE;
    }
    for (uint32_t i = 0; i < p->nplacements; i++)
        pl[i] = (nvmlGpuInstancePlacement_t){p->placements[i], p->slices};
    *count = p->nplacements;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceCreateGpuInstanceWithPlacement(nvmlDevice_t d, unsigned int profileId,
                                                      const nvmlGpuInstancePlacement_t *pl,
                                                      nvmlGpuInstance_t *gi)
{
    DEV(d);
    uint32_t id;
    int rc = H->ops->gi_create(H, PHYS(d), profileId, pl->start, pl->size, &id);
    if (rc)
        return of_hal(rc);
    *gi = gi_handle(d->idx, id);
    return *gi ? NVML_SUCCESS : NVML_ERROR_UNKNOWN;
}

static nvmlReturn_t gi_find(size_t dev, uint32_t id, ofm_hal_gpu_instance *out)
{
    ofm_hal_gpu_instance gis[32];
    size_t n = 0;
    int rc = H->ops->gi_list(H, gpus[dev].phys_id, gis, 32, &n);
    if (rc)
        return of_hal(rc);
    for (size_t i = 0; i < n && i < 32; i++)
        if (gis[i].gi_id == id) {
            *out = gis[i];
            return NVML_SUCCESS;
        }
    return NVML_ERROR_NOT_FOUND;
}

#define GI(g)                                                                                     \
    do {                                                                                          \
        if (!H)                                                                                   \
            return NVML_ERROR_UNINITIALIZED;                                                      \
        if (!(g) || (g) < gi_pool || (g) >= gi_pool + ngi_pool)                                   \
            return NVML_ERROR_INVALID_ARGUMENT;                                                   \
    } while (0)

nvmlReturn_t nvmlGpuInstanceDestroy(nvmlGpuInstance_t gi)
{
    GI(gi);
    return of_hal(H->ops->gi_destroy(H, gpus[gi->dev].phys_id, gi->id));
}

nvmlReturn_t nvmlDeviceGetGpuInstances(nvmlDevice_t d, unsigned int profileId,
                                       nvmlGpuInstance_t *out, unsigned int *count)
{
    DEV(d);
    ofm_hal_gpu_instance gis[32];
    size_t n = 0;
    int rc = H->ops->gi_list(H, PHYS(d), gis, 32, &n);
    if (rc)
        return of_hal(rc);
    unsigned k = 0;
    for (size_t i = 0; i < n && i < 32; i++) {
        if (gis[i].profile_id != profileId)
            continue;
        if (k >= *count)
            return NVML_ERROR_INSUFFICIENT_SIZE;
        out[k++] = gi_handle(d->idx, gis[i].gi_id);
    }
    *count = k;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetGpuInstanceById(nvmlDevice_t d, unsigned int id, nvmlGpuInstance_t *gi)
{
    DEV(d);
    ofm_hal_gpu_instance g;
    nvmlReturn_t r = gi_find(d->idx, id, &g);
    if (!r)
        *gi = gi_handle(d->idx, id);
    return r;
}

nvmlReturn_t nvmlGpuInstanceGetInfo(nvmlGpuInstance_t gi, nvmlGpuInstanceInfo_t *info)
{
    GI(gi);
    ofm_hal_gpu_instance g;
    nvmlReturn_t r = gi_find(gi->dev, gi->id, &g);
    if (r)
        return r;
    info->device = &devs[gi->dev];
    info->id = g.gi_id;
    info->profileId = g.profile_id;
    info->placement = (nvmlGpuInstancePlacement_t){g.start, g.size};
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlGpuInstanceGetComputeInstanceProfileInfo(nvmlGpuInstance_t gi, unsigned int profile,
                                                          unsigned int engProfile,
                                                          nvmlComputeInstanceProfileInfo_t *info)
{
    GI(gi);
    if (engProfile != NVML_COMPUTE_INSTANCE_ENGINE_PROFILE_SHARED)
        return NVML_ERROR_INVALID_ARGUMENT;
    ofm_hal_gpu_instance g;
    nvmlReturn_t r = gi_find(gi->dev, gi->id, &g);
    if (r)
        return r;
    const ofm_mig_catalog *c = catalog_of(&devs[gi->dev]);
    const ofm_mig_gi_profile *gp = c ? ofm_mig_profile_by_id(c, g.profile_id) : NULL;
    ofm_mig_ci_profile cps[8];
    size_t n = gp ? ofm_mig_ci_profiles(gp, cps, 8) : 0;
    for (size_t i = 0; i < n; i++)
        if (cps[i].id == profile) {
            memset(info, 0, sizeof *info);
            info->id = cps[i].id;
            info->sliceCount = cps[i].size;
            info->instanceCount = cps[i].max;
            info->multiprocessorCount = cps[i].sms;
            return NVML_SUCCESS;
        }
    return NVML_ERROR_NOT_SUPPORTED;
}

nvmlReturn_t nvmlGpuInstanceCreateComputeInstanceWithPlacement(
    nvmlGpuInstance_t gi, unsigned int profileId, const nvmlComputeInstancePlacement_t *pl,
    nvmlComputeInstance_t *ci)
{
    GI(gi);
    uint32_t id;
    int rc = H->ops->ci_create(H, gpus[gi->dev].phys_id, gi->id, profileId, pl->start, pl->size, &id);
    if (rc)
        return of_hal(rc);
    *ci = ci_handle(gi->dev, gi->id, id);
    return *ci ? NVML_SUCCESS : NVML_ERROR_UNKNOWN;
}

#define CI(c)                                                                                     \
    do {                                                                                          \
        if (!H)                                                                                   \
            return NVML_ERROR_UNINITIALIZED;                                                      \
        if (!(c) || (c) < ci_pool || (c) >= ci_pool + nci_pool)                                   \
            return NVML_ERROR_INVALID_ARGUMENT;                                                   \
    } while (0)

nvmlReturn_t nvmlComputeInstanceDestroy(nvmlComputeInstance_t ci)
{
    CI(ci);
    return of_hal(H->ops->ci_destroy(H, gpus[ci->dev].phys_id, ci->gi, ci->id));
}

nvmlReturn_t nvmlGpuInstanceGetComputeInstances(nvmlGpuInstance_t gi, unsigned int profileId,
                                                nvmlComputeInstance_t *out, unsigned int *count)
{
    GI(gi);
    ofm_hal_compute_instance cis[16];
    size_t n = 0;
    int rc = H->ops->ci_list(H, gpus[gi->dev].phys_id, gi->id, cis, 16, &n);
    if (rc)
        return of_hal(rc);
    unsigned k = 0;
    for (size_t i = 0; i < n && i < 16; i++) {
        if (cis[i].profile_id != profileId)
            continue;
        if (k >= *count)
            return NVML_ERROR_INSUFFICIENT_SIZE;
        out[k++] = ci_handle(gi->dev, gi->id, cis[i].ci_id);
    }
    *count = k;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlComputeInstanceGetInfo_v2(nvmlComputeInstance_t ci, nvmlComputeInstanceInfo_t *info)
{
    CI(ci);
    ofm_hal_compute_instance cis[16];
    size_t n = 0;
    int rc = H->ops->ci_list(H, gpus[ci->dev].phys_id, ci->gi, cis, 16, &n);
    if (rc)
        return of_hal(rc);
    for (size_t i = 0; i < n && i < 16; i++)
        if (cis[i].ci_id == ci->id) {
            info->device = &devs[ci->dev];
            info->gpuInstance = gi_handle(ci->dev, ci->gi);
            info->id = ci->id;
            info->profileId = cis[i].profile_id;
            info->placement = (nvmlComputeInstancePlacement_t){cis[i].start, cis[i].size};
            return NVML_SUCCESS;
        }
    return NVML_ERROR_NOT_FOUND;
}

/* GPUs the emulated driver load left out (the emulator's exclusion record),
 * the way NVML lists them: no handle, PCI identity and UUID only. */
static size_t excluded_gpus(ofm_hal_excluded *out, size_t cap)
{
    ofm_hal_excluded x[OFM_MAX_GPUS + OFM_MAX_SWITCHES];
    size_t n = 0, k = 0;
    if (!H || ofm_emu_list_excluded(H, x, sizeof x / sizeof x[0], &n) != OFM_HAL_OK)
        return 0;
    for (size_t i = 0; i < n && i < sizeof x / sizeof x[0]; i++)
        if (!x[i].is_switch && k < cap)
            out[k++] = x[i];
    return k;
}

nvmlReturn_t nvmlGetExcludedDeviceCount(unsigned int *count)
{
    if (!H)
        return NVML_ERROR_UNINITIALIZED;
    if (!count)
        return NVML_ERROR_INVALID_ARGUMENT;
    ofm_hal_excluded x[OFM_MAX_GPUS];
    *count = (unsigned)excluded_gpus(x, OFM_MAX_GPUS);
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlGetExcludedDeviceInfoByIndex(unsigned int index, nvmlExcludedDeviceInfo_t *info)
{
    if (!H)
        return NVML_ERROR_UNINITIALIZED;
    ofm_hal_excluded x[OFM_MAX_GPUS];
    size_t n = excluded_gpus(x, OFM_MAX_GPUS);
    if (!info || index >= n)
        return NVML_ERROR_INVALID_ARGUMENT;
    memset(info, 0, sizeof *info);
    pci_of(x[index].pci_bdf, &info->pciInfo);
    snprintf(info->uuid, sizeof info->uuid, "%s", x[index].uuid);
    return NVML_SUCCESS;
}
