/*
 * nv_fm_types.h — data types of the Fabric Manager SDK, as implemented by
 * openfm's libnvfm.
 *
 * Written for openfm from the published description of the API (the Fabric
 * Manager user guide, chapter 5, and the SDK facts listed in openfm's
 * SPEC.md section 4). Names, values, field order and version words are kept
 * identical to the documented interface so that existing clients build and
 * run unchanged. Return codes -11 to -29 exist in newer SDKs; their numeric
 * values are fixed but the NAMES used here are openfm's own (see docs/sdk.md).
 *
 * Every structure contains only unsigned int and char arrays, so its layout
 * is the same for any C or C++ compiler on a given ABI.
 */
#ifndef NV_FM_TYPES_H
#define NV_FM_TYPES_H

#ifdef __cplusplus
extern "C" {
#endif

/* ---- return codes ---------------------------------------------------- */
typedef enum fmReturn_enum {
    FM_ST_SUCCESS = 0,
    FM_ST_BADPARAM = -1,
    FM_ST_GENERIC_ERROR = -2,
    FM_ST_NOT_SUPPORTED = -3,
    FM_ST_UNINITIALIZED = -4,
    FM_ST_TIMEOUT = -5,
    FM_ST_VERSION_MISMATCH = -6,
    FM_ST_IN_USE = -7,
    FM_ST_NOT_CONFIGURED = -8,
    FM_ST_CONNECTION_NOT_VALID = -9,
    FM_ST_NVLINK_ERROR = -10,
    /* Newer-SDK codes. Values are fixed; names are openfm's. */
    FM_ST_RESOURCE_UNAVAILABLE = -11,
    FM_ST_RESOURCE_EXHAUSTED = -12,
    FM_ST_RESOURCE_BUSY = -13,
    FM_ST_PARTITION_NOT_FOUND = -14,
    FM_ST_PARTITION_EXISTS = -15,
    FM_ST_PARTITION_NOT_ACTIVE = -16,
    FM_ST_PARTITION_ALREADY_ACTIVE = -17,
    FM_ST_PARTITION_INVALID = -18,
    FM_ST_NOT_READY = -19,
    FM_ST_WIRING_MISMATCH = -20,
    FM_ST_WIRING_LINK_MISSING = -21,
    FM_ST_WIRING_LINK_UNEXPECTED = -22,
    FM_ST_WIRING_PORT_DOWN = -23,
    FM_ST_WIRING_TRUNK_DOWN = -24,
    FM_ST_WIRING_SWITCH_MISSING = -25,
    FM_ST_WIRING_GPU_MISSING = -26,
    FM_ST_WIRING_TOPOLOGY_UNKNOWN = -27,
    FM_ST_WIRING_ROUTING_FAILED = -28,
    FM_ST_WIRING_ERROR = -29
} fmReturn_t;

/* ---- handles and identifiers ----------------------------------------- */
/* Opaque connection handle returned by fmConnect(). */
typedef void *fmHandle_t;
typedef unsigned int fmFabricPartitionId_t;

/* ---- limits ---------------------------------------------------------- */
#define FM_MAX_STR_LENGTH 256
#define FM_UUID_BUFFER_SIZE 80
#define FM_DEVICE_PCI_BUS_ID_BUFFER_SIZE 32
#define FM_TRANSACTION_ID_BUFFER_SIZE 40
#define FM_MAX_NUM_GPUS 16
#define FM_MAX_NUM_NVSWITCHES 12
#define FM_MAX_FABRIC_PARTITIONS 64
#define FM_MAX_NUM_NVLINK_PORTS 64
/* Port used when addressInfo names no port. */
#define FM_CMD_PORT_NUMBER 6666

/* A struct's version word: its size in the low 24 bits, the layout version
 * in the high 8 bits. */
#define MAKE_FM_PARAM_VERSION(typeName, ver) \
    ((unsigned int)(sizeof(typeName) | ((unsigned int)(ver) << 24U)))

/* ---- fmConnect() parameters ------------------------------------------ */
/* Values of fmConnectParams_v2.addressType. 0 (unset) means "decide from
 * addressIsUnixSocket", so v1-style code keeps working. */
typedef enum fmAddressType_enum {
    FM_ADDRESS_TYPE_UNSET = 0,
    FM_ADDRESS_TYPE_INET = 1,  /* "a.b.c.d" or "a.b.c.d:port" */
    FM_ADDRESS_TYPE_UNIX = 2,  /* socket path */
    FM_ADDRESS_TYPE_VSOCK = 3  /* "cid:port" */
} fmAddressType_t;

typedef struct {
    unsigned int version;
    char addressInfo[FM_MAX_STR_LENGTH];
    unsigned int timeoutMs;
    unsigned int addressIsUnixSocket;
} fmConnectParams_v1;

#define fmConnectParams_version1 MAKE_FM_PARAM_VERSION(fmConnectParams_v1, 1)

/* v2 appends addressType, which supersedes addressIsUnixSocket when set. */
typedef struct {
    unsigned int version;
    char addressInfo[FM_MAX_STR_LENGTH];
    unsigned int timeoutMs;
    unsigned int addressIsUnixSocket;
    unsigned int addressType;
} fmConnectParams_v2;

#define fmConnectParams_version2 MAKE_FM_PARAM_VERSION(fmConnectParams_v2, 2)

typedef fmConnectParams_v2 fmConnectParams_t;
#define fmConnectParams_version fmConnectParams_version2

/* ---- PCI function of a vGPU virtual function ------------------------- */
typedef struct {
    unsigned int domain;
    unsigned int bus;
    unsigned int device;
    unsigned int function;
} fmPciDevice_t;

/* ---- supported partitions -------------------------------------------- */
typedef struct {
    unsigned int physicalId;
    char uuid[FM_UUID_BUFFER_SIZE];
    char pciBusId[FM_DEVICE_PCI_BUS_ID_BUFFER_SIZE];
    unsigned int numNvLinksAvailable;
    unsigned int maxNumNvLinks;
    unsigned int nvlinkLineRateMBps;
} fmFabricPartitionGpuInfo_t;

typedef struct {
    fmFabricPartitionId_t partitionId;
    unsigned int isActive;
    unsigned int numGpus;
    fmFabricPartitionGpuInfo_t gpuInfo[FM_MAX_NUM_GPUS];
} fmFabricPartitionInfo_t;

typedef struct {
    unsigned int version;
    unsigned int numPartitions;
    unsigned int maxNumPartitions;
    fmFabricPartitionInfo_t partitionInfo[FM_MAX_FABRIC_PARTITIONS];
} fmFabricPartitionList_v2;

typedef fmFabricPartitionList_v2 fmFabricPartitionList_t;
/* The v2 layout carries layout number 1 in its version word (SPEC §4). */
#define fmFabricPartitionList_version1 MAKE_FM_PARAM_VERSION(fmFabricPartitionList_v2, 1)
#define fmFabricPartitionList_version fmFabricPartitionList_version1

/* ---- activated partitions (after a Fabric Manager restart) ----------- */
typedef struct {
    unsigned int version;
    unsigned int numPartitions;
    fmFabricPartitionId_t partitionIds[FM_MAX_FABRIC_PARTITIONS];
} fmActivatedFabricPartitionList_v1;

typedef fmActivatedFabricPartitionList_v1 fmActivatedFabricPartitionList_t;
#define fmActivatedFabricPartitionList_version1 \
    MAKE_FM_PARAM_VERSION(fmActivatedFabricPartitionList_v1, 1)
#define fmActivatedFabricPartitionList_version fmActivatedFabricPartitionList_version1

/* ---- devices with failed NVLinks ------------------------------------- */
typedef struct {
    char uuid[FM_UUID_BUFFER_SIZE];
    char pciBusId[FM_DEVICE_PCI_BUS_ID_BUFFER_SIZE];
    unsigned int numPorts;
    unsigned int portNum[FM_MAX_NUM_NVLINK_PORTS];
} fmNvlinkFailedDeviceInfo_t;

typedef struct {
    unsigned int version;
    unsigned int numGpus;
    unsigned int numSwitches;
    fmNvlinkFailedDeviceInfo_t gpuInfo[FM_MAX_NUM_GPUS];
    fmNvlinkFailedDeviceInfo_t switchInfo[FM_MAX_NUM_NVSWITCHES];
} fmNvlinkFailedDevices_v1;

typedef fmNvlinkFailedDevices_v1 fmNvlinkFailedDevices_t;
#define fmNvlinkFailedDevices_version1 MAKE_FM_PARAM_VERSION(fmNvlinkFailedDevices_v1, 1)
#define fmNvlinkFailedDevices_version fmNvlinkFailedDevices_version1

/* ---- unsupported partitions ------------------------------------------ */
typedef struct {
    fmFabricPartitionId_t partitionId;
    unsigned int numGpus;
    unsigned int gpuPhysicalIds[FM_MAX_NUM_GPUS];
} fmUnsupportedFabricPartitionInfo_t;

typedef struct {
    unsigned int version;
    unsigned int numPartitions;
    fmUnsupportedFabricPartitionInfo_t partitionInfo[FM_MAX_FABRIC_PARTITIONS];
} fmUnsupportedFabricPartitionList_v1;

typedef fmUnsupportedFabricPartitionList_v1 fmUnsupportedFabricPartitionList_t;
#define fmUnsupportedFabricPartitionList_version1 \
    MAKE_FM_PARAM_VERSION(fmUnsupportedFabricPartitionList_v1, 1)
#define fmUnsupportedFabricPartitionList_version fmUnsupportedFabricPartitionList_version1

#ifdef __cplusplus
}
#endif

#endif /* NV_FM_TYPES_H */
