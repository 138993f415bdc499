/* Uses every public name of the SDK headers and checks every value against
 * the numbers of NVIDIA's public SDK header (docs/sdk.md lists them).
 * test_sdk_install builds it from the installed headers as C99, C11 and
 * C++11 with -Werror: a missing name fails the compile, a wrong value
 * fails a compile-time check (CHECK below), and the C build is also run,
 * printing each checked name so the test can count them.
 * Valid C99 and C++11; no C11 features, so the check is a negative array. */
#include <nv_fm_agent.h>
#include <nv_fm_types.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define NC_CAT2(a, b) a##b
#define NC_CAT(a, b) NC_CAT2(a, b)
/* Fails to compile when cond is false. */
#define CHECK(cond) typedef char NC_CAT(names_check_, __LINE__)[(cond) ? 1 : -1]

/* ---- return codes ---- */
CHECK(FM_ST_SUCCESS == 0);
CHECK(FM_ST_BADPARAM == -1);
CHECK(FM_ST_GENERIC_ERROR == -2);
CHECK(FM_ST_NOT_SUPPORTED == -3);
CHECK(FM_ST_UNINITIALIZED == -4);
CHECK(FM_ST_TIMEOUT == -5);
CHECK(FM_ST_VERSION_MISMATCH == -6);
CHECK(FM_ST_IN_USE == -7);
CHECK(FM_ST_NOT_CONFIGURED == -8);
CHECK(FM_ST_CONNECTION_NOT_VALID == -9);
CHECK(FM_ST_NVLINK_ERROR == -10);
CHECK(FM_ST_RESOURCE_BAD == -11);
CHECK(FM_ST_RESOURCE_IN_USE == -12);
CHECK(FM_ST_RESOURCE_NOT_IN_USE == -13);
CHECK(FM_ST_RESOURCE_EXHAUSTED == -14);
CHECK(FM_ST_RESOURCE_NOT_READY == -15);
CHECK(FM_ST_PARTITION_EXISTS == -16);
CHECK(FM_ST_PARTITION_ID_IN_USE == -17);
CHECK(FM_ST_PARTITION_ID_NOT_IN_USE == -18);
CHECK(FM_ST_PARTITION_NAME_IN_USE == -19);
CHECK(FM_ST_PARTITION_NAME_NOT_IN_USE == -20);
CHECK(FM_ST_PARTITION_ID_NAME_MISMATCH == -21);
CHECK(FM_ST_NOT_READY == -22);
CHECK(FM_ST_RESOURCE_USED_IN_THIS_PARTITION == -23);
CHECK(FM_ST_RESOURCE_USED_IN_ANOTHER_PARTITION == -24);
CHECK(FM_ST_PARTITION_MISWIRED_TRUNKS == -25);
CHECK(FM_ST_PARTITION_INSUFFICIENT_TRUNKS == -26);
CHECK(FM_ST_PARTITION_MISSING_SWITCHES == -27);
CHECK(FM_ST_PARTITION_NETWORK_CONFIG_ERROR == -28);
CHECK(FM_ST_PARTITION_ROUTE_PROGRAMMING_ERROR == -29);
CHECK(sizeof(enum fmReturn_enum) == sizeof(fmReturn_t));

/* ---- constants ---- */
CHECK(FM_MAX_STR_LENGTH == 256);
CHECK(FM_UUID_BUFFER_SIZE == 80);
CHECK(FM_DEVICE_PCI_BUS_ID_BUFFER_SIZE == 32);
CHECK(FM_CMD_PORT_NUMBER == 6666);
CHECK(FM_TRANSACTION_ID_BUFFER_SIZE == 40);
CHECK(FM_MAX_NUM_GPUS == 16);
CHECK(FM_MAX_NUM_NVSWITCHES == 12);
CHECK(FM_MAX_FABRIC_PARTITIONS == 64);
CHECK(FM_MAX_NUM_NVLINK_PORTS == 64);
CHECK(sizeof(fmHandle_t) == sizeof(void *));
CHECK(sizeof(fmFabricPartitionId_t) == 4);

/* ---- connect parameters ---- */
CHECK(NV_FM_API_ADDR_TYPE_UNKNOWN == 0);
CHECK(NV_FM_API_ADDR_TYPE_INET == 1);
CHECK(NV_FM_API_ADDR_TYPE_UNIX == 2);
CHECK(NV_FM_API_ADDR_TYPE_VSOCK == 3);
CHECK(sizeof(enum nvFmApiAddrTypes) == 4);
CHECK(sizeof(fmConnectParams_v1) == 268);
CHECK(sizeof(fmConnectParams_v2) == 272);
CHECK(sizeof(fmConnectParams_t) == 272);
CHECK(offsetof(fmConnectParams_v2, addressInfo) == 4);
CHECK(offsetof(fmConnectParams_v2, timeoutMs) == 260);
CHECK(offsetof(fmConnectParams_v2, addressIsUnixSocket) == 264);
CHECK(offsetof(fmConnectParams_v2, addressType) == 268);
CHECK(MAKE_FM_PARAM_VERSION(fmConnectParams_v1, 1) == 0x0100010Cu);
CHECK(fmConnectV1Params_version1 == 0x0100010Cu);
CHECK(fmConnectV2Params_version2 == 0x02000110u);
CHECK(fmConnectParams_version == 0x02000110u);

/* ---- partition structures ---- */
CHECK(sizeof(fmPciDevice_t) == 16);
CHECK(sizeof(fmFabricPartitionGpuInfo_t) == 128);
CHECK(offsetof(fmFabricPartitionGpuInfo_t, pciBusId) == 84);
CHECK(offsetof(fmFabricPartitionGpuInfo_t, nvlinkLineRateMBps) == 124);
CHECK(sizeof(fmFabricPartitionInfo_t) == 2060);
CHECK(sizeof(fmFabricPartitionList_v2) == 131852);
CHECK(sizeof(fmFabricPartitionList_t) == 131852);
CHECK(fmFabricPartitionList_version2 == (131852u | 1u << 24));
CHECK(fmFabricPartitionList_version == fmFabricPartitionList_version2);
CHECK(sizeof(fmActivatedFabricPartitionList_v1) == 264);
CHECK(sizeof(fmActivatedFabricPartitionList_t) == 264);
CHECK(fmActivatedFabricPartitionList_version1 == (264u | 1u << 24));
CHECK(fmActivatedFabricPartitionList_version == fmActivatedFabricPartitionList_version1);
CHECK(sizeof(fmNvlinkFailedDeviceInfo_t) == 372);
CHECK(sizeof(fmNvlinkFailedDevices_v1) == 10428);
CHECK(sizeof(fmNvlinkFailedDevices_t) == 10428);
CHECK(fmNvlinkFailedDevices_version1 == (10428u | 1u << 24));
CHECK(fmNvlinkFailedDevices_version == fmNvlinkFailedDevices_version1);
CHECK(sizeof(fmUnsupportedFabricPartitionInfo_t) == 72);
CHECK(sizeof(fmUnsupportedFabricPartitionList_v1) == 4616);
CHECK(sizeof(fmUnsupportedFabricPartitionList_t) == 4616);
CHECK(fmUnsupportedFabricPartitionList_version1 == (4616u | 1u << 24));
CHECK(fmUnsupportedFabricPartitionList_version == fmUnsupportedFabricPartitionList_version1);

/* ---- the export macro: redeclaring an entry point with it must agree ---- */
fmReturn_t FM_LIB_API fmLibInit(void);

/* Every field, by name and type (C++ rejects a field of the wrong type). */
static unsigned touch_fields(void)
{
    fmConnectParams_v1 c1;
    fmConnectParams_v2 c2;
    fmPciDevice_t vf;
    fmFabricPartitionList_t pl;
    fmActivatedFabricPartitionList_t al;
    fmNvlinkFailedDevices_t fd;
    fmUnsupportedFabricPartitionList_t ul;
    memset(&c1, 0, sizeof c1);
    memset(&c2, 0, sizeof c2);
    memset(&vf, 0, sizeof vf);
    memset(&pl, 0, sizeof pl);
    memset(&al, 0, sizeof al);
    memset(&fd, 0, sizeof fd);
    memset(&ul, 0, sizeof ul);
    enum nvFmApiAddrTypes *type = &c2.addressType;
    *type = NV_FM_API_ADDR_TYPE_INET;
    c1.version = fmConnectV1Params_version1;
    c1.addressInfo[0] = '\0';
    c1.timeoutMs = 1;
    c1.addressIsUnixSocket = 0;
    c2.version = fmConnectV2Params_version2;
    c2.timeoutMs = 1;
    c2.addressIsUnixSocket = 0;
    vf.domain = vf.bus = vf.device = vf.function = 1;
    pl.version = fmFabricPartitionList_version;
    pl.numPartitions = pl.maxNumPartitions = 1;
    fmFabricPartitionInfo_t *pi = &pl.partitionInfo[0];
    fmFabricPartitionId_t *pid = &pi->partitionId;
    *pid = 1;
    pi->isActive = pi->numGpus = 1;
    fmFabricPartitionGpuInfo_t *gi = &pi->gpuInfo[0];
    gi->physicalId = 1;
    gi->uuid[0] = gi->pciBusId[0] = '\0';
    gi->numNvLinksAvailable = gi->maxNumNvLinks = gi->nvlinkLineRateMBps = 1;
    al.version = fmActivatedFabricPartitionList_version;
    al.numPartitions = 1;
    al.partitionIds[0] = 1;
    fd.version = fmNvlinkFailedDevices_version;
    fd.numGpus = fd.numSwitches = 1;
    fmNvlinkFailedDeviceInfo_t *di = &fd.switchInfo[0];
    di->uuid[0] = di->pciBusId[0] = '\0';
    di->numPorts = 1;
    di->portNum[0] = fd.gpuInfo[0].portNum[0] = 1;
    ul.version = fmUnsupportedFabricPartitionList_version;
    ul.numPartitions = 1;
    fmUnsupportedFabricPartitionInfo_t *ui = &ul.partitionInfo[0];
    ui->partitionId = ui->numGpus = ui->gpuPhysicalIds[0] = 1;
    return c1.timeoutMs + c2.timeoutMs + (unsigned)*type + vf.function + gi->nvlinkLineRateMBps +
           al.partitionIds[0] + di->portNum[0] + ui->gpuPhysicalIds[0];
}

int main(void)
{
    /* Every entry point, with the exact prototype. */
    fmReturn_t (*init)(void) = fmLibInit;
    fmReturn_t (*shut)(void) = fmLibShutdown;
    fmReturn_t (*conn)(fmConnectParams_t *, fmHandle_t *) = fmConnect;
    fmReturn_t (*disc)(fmHandle_t) = fmDisconnect;
    fmReturn_t (*sup)(fmHandle_t, fmFabricPartitionList_t *) = fmGetSupportedFabricPartitions;
    fmReturn_t (*act)(fmHandle_t, fmFabricPartitionId_t) = fmActivateFabricPartition;
    fmReturn_t (*actvf)(fmHandle_t, fmFabricPartitionId_t, fmPciDevice_t *, unsigned int) =
        fmActivateFabricPartitionWithVFs;
    fmReturn_t (*deact)(fmHandle_t, fmFabricPartitionId_t) = fmDeactivateFabricPartition;
    fmReturn_t (*setact)(fmHandle_t, fmActivatedFabricPartitionList_t *) =
        fmSetActivatedFabricPartitions;
    fmReturn_t (*failed)(fmHandle_t, fmNvlinkFailedDevices_t *) = fmGetNvlinkFailedDevices;
    fmReturn_t (*unsup)(fmHandle_t, fmUnsupportedFabricPartitionList_t *) =
        fmGetUnsupportedFabricPartitions;
    unsigned nfns = (init != NULL) + (shut != NULL) + (conn != NULL) + (disc != NULL) +
                    (sup != NULL) + (act != NULL) + (actvf != NULL) + (deact != NULL) +
                    (setact != NULL) + (failed != NULL) + (unsup != NULL);

    /* The library behaves: a call before fmLibInit is refused. */
    fmHandle_t h = NULL;
    fmConnectParams_t cp;
    memset(&cp, 0, sizeof cp);
    cp.version = fmConnectParams_version;
    fmReturn_t rc = conn(&cp, &h);
    if (rc != FM_ST_UNINITIALIZED) {
        printf("fmConnect before fmLibInit: %d\n", (int)rc);
        return 1;
    }
    if (init() != FM_ST_SUCCESS || shut() != FM_ST_SUCCESS) {
        printf("fmLibInit/fmLibShutdown failed\n");
        return 1;
    }
    printf("entry points=%u fields=%u\n", nfns, touch_fields());
    return 0;
}
