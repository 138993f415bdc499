/*
 * nv_fm_types.h — data types of the Fabric Manager SDK, as implemented by
 * openfm's libnvfm.
 *
 * Written for openfm from the published description of the API (the Fabric
 * Manager user guide, chapter 5) and the identifiers of NVIDIA's public
 * SDK header (listed in docs/sdk.md). Names, values, field order and
 * version words are identical to NVIDIA's, so that existing clients build
 * and run unchanged.
 *
 * Every structure holds only unsigned int, char arrays and one enum whose
 * values fit an int, so its layout is the same for any C or C++ compiler on
 * a given ABI (unless enums are packed, e.g. -fshort-enums, which breaks
 * fmConnectParams_v2). The library pins each size with a static assertion
 * (src/sdk/abi_layout.h).
 */
#ifndef NV_FM_TYPES_H
#define NV_FM_TYPES_H

#ifdef __cplusplus
extern "C" {
#endif

/* ---- return codes ---------------------------------------------------- */
/* 0 to -10 are the codes of the user guide (FM §5); -11 to -29 are the
 * newer codes of NVIDIA's current public header, under NVIDIA's names.
 * docs/sdk.md says which of them openfm's daemon ever answers. */
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
    FM_ST_RESOURCE_BAD = -11,
    FM_ST_RESOURCE_IN_USE = -12,
    FM_ST_RESOURCE_NOT_IN_USE = -13,
    FM_ST_RESOURCE_EXHAUSTED = -14,
    FM_ST_RESOURCE_NOT_READY = -15,
    FM_ST_PARTITION_EXISTS = -16,
    FM_ST_PARTITION_ID_IN_USE = -17,
    FM_ST_PARTITION_ID_NOT_IN_USE = -18,
    FM_ST_PARTITION_NAME_IN_USE = -19,
    FM_ST_PARTITION_NAME_NOT_IN_USE = -20,
    FM_ST_PARTITION_ID_NAME_MISMATCH = -21,
    FM_ST_NOT_READY = -22,
    FM_ST_RESOURCE_USED_IN_THIS_PARTITION = -23,
    FM_ST_RESOURCE_USED_IN_ANOTHER_PARTITION = -24,
    FM_ST_PARTITION_MISWIRED_TRUNKS = -25,
    FM_ST_PARTITION_INSUFFICIENT_TRUNKS = -26,
    FM_ST_PARTITION_MISSING_SWITCHES = -27,
    FM_ST_PARTITION_NETWORK_CONFIG_ERROR = -28,
    FM_ST_PARTITION_ROUTE_PROGRAMMING_ERROR = -29
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
typedef struct {
    unsigned int version;
    char addressInfo[FM_MAX_STR_LENGTH];
    unsigned int timeoutMs;
    unsigned int addressIsUnixSocket; /* 1: addressInfo is a socket path */
} fmConnectParams_v1;

/* How addressInfo of fmConnectParams_v2 is read. UNKNOWN (0) leaves the
 * choice to addressIsUnixSocket, so code written for v1 keeps working. */
enum nvFmApiAddrTypes {
    NV_FM_API_ADDR_TYPE_UNKNOWN = 0,
    NV_FM_API_ADDR_TYPE_INET = 1,  /* "host", "host:port"; host a dotted quad or a name */
    NV_FM_API_ADDR_TYPE_UNIX = 2,  /* socket path */
    NV_FM_API_ADDR_TYPE_VSOCK = 3  /* "cid:port" */
};

/* v2 appends addressType, which supersedes the deprecated
 * addressIsUnixSocket when it is not UNKNOWN. */
typedef struct {
    unsigned int version;
    char addressInfo[FM_MAX_STR_LENGTH];
    unsigned int timeoutMs;
    unsigned int addressIsUnixSocket;
    enum nvFmApiAddrTypes addressType;
} fmConnectParams_v2;

typedef fmConnectParams_v2 fmConnectParams_t;
#define fmConnectV1Params_version1 MAKE_FM_PARAM_VERSION(fmConnectParams_v1, 1)
#define fmConnectV2Params_version2 MAKE_FM_PARAM_VERSION(fmConnectParams_v2, 2)
#define fmConnectParams_version fmConnectV2Params_version2

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
/* The _v2 layout's version word carries layout number 1. */
#define fmFabricPartitionList_version2 MAKE_FM_PARAM_VERSION(fmFabricPartitionList_v2, 1)
#define fmFabricPartitionList_version fmFabricPartitionList_version2

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

/* ---- names of earlier openfm releases --------------------------------- */
/* Kept so code written against openfm's first headers still builds; they
 * are plain aliases of the names above. */
typedef enum nvFmApiAddrTypes fmAddressType_t;
#define FM_ADDRESS_TYPE_UNSET NV_FM_API_ADDR_TYPE_UNKNOWN
#define FM_ADDRESS_TYPE_INET NV_FM_API_ADDR_TYPE_INET
#define FM_ADDRESS_TYPE_UNIX NV_FM_API_ADDR_TYPE_UNIX
#define FM_ADDRESS_TYPE_VSOCK NV_FM_API_ADDR_TYPE_VSOCK
#define fmConnectParams_version1 fmConnectV1Params_version1
#define fmConnectParams_version2 fmConnectV2Params_version2
#define fmFabricPartitionList_version1 fmFabricPartitionList_version2

#ifdef __cplusplus
}
#endif

#endif /* NV_FM_TYPES_H */
