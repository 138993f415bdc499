/* The part of NVML's public C ABI that openfm uses, declared from the public
 * nvml.h (NVIDIA/go-nvml): versioned symbol names, types, constants and
 * struct layouts. Sizes are pinned by static asserts so a layout mistake
 * fails the build, not a GPU. Shared by the NVML backend and the NVML model
 * used by the tests. */
#ifndef OPENFM_NVML_ABI_H
#define OPENFM_NVML_ABI_H

#include <assert.h>
#include <stddef.h>

typedef int nvmlReturn_t;
enum {
    NVML_SUCCESS = 0,
    NVML_ERROR_UNINITIALIZED = 1,
    NVML_ERROR_INVALID_ARGUMENT = 2,
    NVML_ERROR_NOT_SUPPORTED = 3,
    NVML_ERROR_NO_PERMISSION = 4,
    NVML_ERROR_ALREADY_INITIALIZED = 5,
    NVML_ERROR_NOT_FOUND = 6,
    NVML_ERROR_INSUFFICIENT_SIZE = 7,
    NVML_ERROR_DRIVER_NOT_LOADED = 9,
    NVML_ERROR_LIBRARY_NOT_FOUND = 12,
    NVML_ERROR_FUNCTION_NOT_FOUND = 13,
    NVML_ERROR_GPU_IS_LOST = 15,
    NVML_ERROR_RESET_REQUIRED = 16,
    NVML_ERROR_IN_USE = 19,
    NVML_ERROR_INSUFFICIENT_RESOURCES = 23,
    NVML_ERROR_ARGUMENT_VERSION_MISMATCH = 25,
    NVML_ERROR_UNKNOWN = 999,
};

/* Handles are opaque pointers owned by the library. */
typedef struct nvmlDevice_st *nvmlDevice_t;
typedef struct nvmlGpuInstance_st *nvmlGpuInstance_t;
typedef struct nvmlComputeInstance_st *nvmlComputeInstance_t;

typedef enum { NVML_FEATURE_DISABLED = 0, NVML_FEATURE_ENABLED = 1 } nvmlEnableState_t;

typedef enum {
    NVML_NVLINK_DEVICE_TYPE_GPU = 0x00,
    NVML_NVLINK_DEVICE_TYPE_IBMNPU = 0x01,
    NVML_NVLINK_DEVICE_TYPE_SWITCH = 0x02,
    NVML_NVLINK_DEVICE_TYPE_UNKNOWN = 0xFF,
} nvmlIntNvLinkDeviceType_t;

/* Which NVLink data-link-layer error counter nvmlDeviceGetNvLinkErrorCounter
 * reads (the counters nvidia-smi nvlink -e prints). */
typedef enum {
    NVML_NVLINK_ERROR_DL_REPLAY = 0,   /* data-link replays */
    NVML_NVLINK_ERROR_DL_RECOVERY = 1, /* link recoveries */
    NVML_NVLINK_ERROR_DL_CRC_FLIT = 2, /* flits that failed their CRC */
    NVML_NVLINK_ERROR_DL_CRC_DATA = 3, /* data CRC errors */
} nvmlNvLinkErrorCounter_t;

#define NVML_DEVICE_PCI_BUS_ID_BUFFER_SIZE 32
#define NVML_DEVICE_PCI_BUS_ID_BUFFER_V2_SIZE 16
#define NVML_DEVICE_UUID_V2_BUFFER_SIZE 96
#define NVML_DEVICE_NAME_V2_BUFFER_SIZE 96
#define NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE 80
#define NVML_NVLINK_MAX_LINKS 36
#define NVML_DEVICE_MIG_DISABLE 0
#define NVML_DEVICE_MIG_ENABLE 1
#define NVML_GPU_INSTANCE_PROFILE_COUNT 0x12
#define NVML_COMPUTE_INSTANCE_PROFILE_COUNT 0x9
#define NVML_COMPUTE_INSTANCE_ENGINE_PROFILE_SHARED 0

typedef struct {
    char busIdLegacy[NVML_DEVICE_PCI_BUS_ID_BUFFER_V2_SIZE];
    unsigned int domain;
    unsigned int bus;
    unsigned int device;
    unsigned int pciDeviceId;
    unsigned int pciSubSystemId;
    char busId[NVML_DEVICE_PCI_BUS_ID_BUFFER_SIZE];
} nvmlPciInfo_t;
static_assert(sizeof(nvmlPciInfo_t) == 68, "nvmlPciInfo_t layout");

/* A GPU the driver left out at load because NVreg_ExcludedGpus names it:
 * NVML gives no device handle for it, only its PCI identity and UUID. */
#define NVML_DEVICE_UUID_BUFFER_SIZE 80
typedef struct {
    nvmlPciInfo_t pciInfo;
    char uuid[NVML_DEVICE_UUID_BUFFER_SIZE];
} nvmlExcludedDeviceInfo_t;
static_assert(sizeof(nvmlExcludedDeviceInfo_t) == 148, "nvmlExcludedDeviceInfo_t layout");

/* GPU fabric registration (the probe the fabric manager answers). */
#define NVML_GPU_FABRIC_UUID_LEN 16
#define NVML_GPU_FABRIC_STATE_NOT_SUPPORTED 0
#define NVML_GPU_FABRIC_STATE_NOT_STARTED 1
#define NVML_GPU_FABRIC_STATE_IN_PROGRESS 2
#define NVML_GPU_FABRIC_STATE_COMPLETED 3
typedef unsigned char nvmlGpuFabricState_t;

typedef struct {
    unsigned char clusterUuid[NVML_GPU_FABRIC_UUID_LEN];
    nvmlReturn_t status;
    unsigned int cliqueId;
    nvmlGpuFabricState_t state;
} nvmlGpuFabricInfo_t;
static_assert(sizeof(nvmlGpuFabricInfo_t) == 28, "nvmlGpuFabricInfo_t layout");

typedef struct {
    unsigned int version;
    unsigned char clusterUuid[NVML_GPU_FABRIC_UUID_LEN];
    nvmlReturn_t status;
    unsigned int cliqueId;
    nvmlGpuFabricState_t state;
    unsigned int healthMask;
} nvmlGpuFabricInfo_v2_t;
static_assert(sizeof(nvmlGpuFabricInfo_v2_t) == 36, "nvmlGpuFabricInfo_v2_t layout");

typedef struct {
    unsigned int version;
    unsigned char clusterUuid[NVML_GPU_FABRIC_UUID_LEN];
    nvmlReturn_t status;
    unsigned int cliqueId;
    nvmlGpuFabricState_t state;
    unsigned int healthMask;
    unsigned char healthSummary;
} nvmlGpuFabricInfo_v3_t;
static_assert(sizeof(nvmlGpuFabricInfo_v3_t) == 40, "nvmlGpuFabricInfo_v3_t layout");
static_assert(offsetof(nvmlGpuFabricInfo_v3_t, state) == 28, "fabric state offset");

/* A versioned struct carries its size in the low 24 bits, the version above. */
#define OFM_NVML_STRUCT_VERSION(type, ver) ((unsigned int)(sizeof(type) | ((ver) << 24U)))
#define NVML_GPU_FABRIC_INFO_V2 OFM_NVML_STRUCT_VERSION(nvmlGpuFabricInfo_v2_t, 2)
#define NVML_GPU_FABRIC_INFO_V3 OFM_NVML_STRUCT_VERSION(nvmlGpuFabricInfo_v3_t, 3)

/* MIG */
typedef struct {
    unsigned int start;
    unsigned int size;
} nvmlGpuInstancePlacement_t;
static_assert(sizeof(nvmlGpuInstancePlacement_t) == 8, "nvmlGpuInstancePlacement_t layout");

typedef struct {
    unsigned int id;
    unsigned int isP2pSupported;
    unsigned int sliceCount;
    unsigned int instanceCount;
    unsigned int multiprocessorCount;
    unsigned int copyEngineCount;
    unsigned int decoderCount;
    unsigned int encoderCount;
    unsigned int jpegCount;
    unsigned int ofaCount;
    unsigned long long memorySizeMB;
} nvmlGpuInstanceProfileInfo_t;
static_assert(sizeof(nvmlGpuInstanceProfileInfo_t) == 48, "nvmlGpuInstanceProfileInfo_t layout");

typedef struct {
    nvmlDevice_t device;
    unsigned int id;
    unsigned int profileId;
    nvmlGpuInstancePlacement_t placement;
} nvmlGpuInstanceInfo_t;
static_assert(sizeof(nvmlGpuInstanceInfo_t) == 24, "nvmlGpuInstanceInfo_t layout");

typedef struct {
    unsigned int start;
    unsigned int size;
} nvmlComputeInstancePlacement_t;
static_assert(sizeof(nvmlComputeInstancePlacement_t) == 8, "nvmlComputeInstancePlacement_t layout");

typedef struct {
    unsigned int id;
    unsigned int sliceCount;
    unsigned int instanceCount;
    unsigned int multiprocessorCount;
    unsigned int sharedCopyEngineCount;
    unsigned int sharedDecoderCount;
    unsigned int sharedEncoderCount;
    unsigned int sharedJpegCount;
    unsigned int sharedOfaCount;
} nvmlComputeInstanceProfileInfo_t;
static_assert(sizeof(nvmlComputeInstanceProfileInfo_t) == 36,
              "nvmlComputeInstanceProfileInfo_t layout");

typedef struct {
    nvmlDevice_t device;
    nvmlGpuInstance_t gpuInstance;
    unsigned int id;
    unsigned int profileId;
    nvmlComputeInstancePlacement_t placement;
} nvmlComputeInstanceInfo_t;
static_assert(sizeof(nvmlComputeInstanceInfo_t) == 32, "nvmlComputeInstanceInfo_t layout");

/* The functions, by the symbol names the library exports. X(name, ret, args):
 * every use site expands this list, so the backend's symbol table, its
 * function pointer types and the model's definitions cannot disagree. */
#define OFM_NVML_FUNCTIONS(X)                                                                     \
    X(nvmlInit_v2, (void))                                                                        \
    X(nvmlShutdown, (void))                                                                       \
    X(nvmlSystemGetDriverVersion, (char *version, unsigned int length))                           \
    X(nvmlDeviceGetCount_v2, (unsigned int *count))                                               \
    X(nvmlDeviceGetHandleByIndex_v2, (unsigned int index, nvmlDevice_t *device))                  \
    X(nvmlDeviceGetUUID, (nvmlDevice_t device, char *uuid, unsigned int length))                  \
    X(nvmlDeviceGetPciInfo_v3, (nvmlDevice_t device, nvmlPciInfo_t *pci))                         \
    X(nvmlDeviceGetName, (nvmlDevice_t device, char *name, unsigned int length))                  \
    X(nvmlDeviceGetModuleId, (nvmlDevice_t device, unsigned int *moduleId))                       \
    X(nvmlDeviceGetNvLinkState, (nvmlDevice_t device, unsigned int link, nvmlEnableState_t *on))  \
    X(nvmlDeviceGetNvLinkRemotePciInfo_v2,                                                        \
      (nvmlDevice_t device, unsigned int link, nvmlPciInfo_t *pci))                               \
    X(nvmlDeviceGetNvLinkRemoteDeviceType,                                                        \
      (nvmlDevice_t device, unsigned int link, nvmlIntNvLinkDeviceType_t *type))                  \
    X(nvmlDeviceGetNvLinkVersion, (nvmlDevice_t device, unsigned int link, unsigned int *version)) \
    X(nvmlDeviceGetNvLinkErrorCounter, (nvmlDevice_t device, unsigned int link,                  \
                                        nvmlNvLinkErrorCounter_t counter,                         \
                                        unsigned long long *counterValue))                        \
    X(nvmlDeviceGetGpuFabricInfo, (nvmlDevice_t device, nvmlGpuFabricInfo_t *info))               \
    X(nvmlDeviceGetGpuFabricInfoV, (nvmlDevice_t device, nvmlGpuFabricInfo_v3_t *info))           \
    X(nvmlDeviceGetMigMode, (nvmlDevice_t device, unsigned int *current, unsigned int *pending))  \
    X(nvmlDeviceSetMigMode, (nvmlDevice_t device, unsigned int mode, nvmlReturn_t *activation))   \
    X(nvmlDeviceGetGpuInstanceProfileInfo,                                                        \
      (nvmlDevice_t device, unsigned int profile, nvmlGpuInstanceProfileInfo_t *info))            \
    X(nvmlDeviceGetGpuInstancePossiblePlacements_v2,                                              \
      (nvmlDevice_t device, unsigned int profileId, nvmlGpuInstancePlacement_t *placements,       \
       unsigned int *count))                                                                      \
    X(nvmlDeviceCreateGpuInstanceWithPlacement,                                                   \
      (nvmlDevice_t device, unsigned int profileId, const nvmlGpuInstancePlacement_t *placement,  \
       nvmlGpuInstance_t *gpuInstance))                                                           \
    X(nvmlGpuInstanceDestroy, (nvmlGpuInstance_t gpuInstance))                                    \
    X(nvmlDeviceGetGpuInstances, (nvmlDevice_t device, unsigned int profileId,                    \
                                  nvmlGpuInstance_t *gpuInstances, unsigned int *count))          \
    X(nvmlDeviceGetGpuInstanceById,                                                               \
      (nvmlDevice_t device, unsigned int id, nvmlGpuInstance_t *gpuInstance))                     \
    X(nvmlGpuInstanceGetInfo, (nvmlGpuInstance_t gpuInstance, nvmlGpuInstanceInfo_t *info))       \
    X(nvmlGpuInstanceGetComputeInstanceProfileInfo,                                               \
      (nvmlGpuInstance_t gpuInstance, unsigned int profile, unsigned int engProfile,              \
       nvmlComputeInstanceProfileInfo_t *info))                                                   \
    X(nvmlGpuInstanceCreateComputeInstanceWithPlacement,                                          \
      (nvmlGpuInstance_t gpuInstance, unsigned int profileId,                                     \
       const nvmlComputeInstancePlacement_t *placement, nvmlComputeInstance_t *computeInstance))  \
    X(nvmlComputeInstanceDestroy, (nvmlComputeInstance_t computeInstance))                        \
    X(nvmlGpuInstanceGetComputeInstances,                                                         \
      (nvmlGpuInstance_t gpuInstance, unsigned int profileId,                                     \
       nvmlComputeInstance_t *computeInstances, unsigned int *count))                             \
    X(nvmlComputeInstanceGetInfo_v2,                                                              \
      (nvmlComputeInstance_t computeInstance, nvmlComputeInstanceInfo_t *info))                   \
    X(nvmlDeviceGetMaxMigDeviceCount, (nvmlDevice_t device, unsigned int *count))                 \
    X(nvmlDeviceGetMigDeviceHandleByIndex,                                                        \
      (nvmlDevice_t device, unsigned int index, nvmlDevice_t *migDevice))                         \
    X(nvmlDeviceGetGpuInstanceId, (nvmlDevice_t device, unsigned int *id))                        \
    X(nvmlDeviceGetComputeInstanceId, (nvmlDevice_t device, unsigned int *id))                    \
    X(nvmlGetExcludedDeviceCount, (unsigned int *deviceCount))                                    \
    X(nvmlGetExcludedDeviceInfoByIndex, (unsigned int index, nvmlExcludedDeviceInfo_t *info))

/* nvmlErrorString returns a string, not a code: kept out of the list. */
typedef const char *(*ofm_nvml_error_string_fn)(nvmlReturn_t result);

#endif
