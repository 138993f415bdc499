/*
 * nv_fm_agent.h — entry points of the Fabric Manager SDK (libnvfm), as
 * implemented by openfm. Written for openfm from the published description
 * of the API (Fabric Manager user guide chapter 5, docs/sdk.md).
 *
 * Usage: fmLibInit(), fmConnect(), any number of calls, fmDisconnect(),
 * fmLibShutdown(). A handle may be shared by several threads (calls on one
 * handle are serialised) or each thread may connect its own.
 *
 * openfm behaviour worth knowing (details in docs/sdk.md):
 *  - fmLibInit() while already initialised returns FM_ST_IN_USE and leaves
 *    the library initialised; it is not reference counted. fmLibShutdown()
 *    closes every open handle.
 *  - Every call checks the version word of its structure first: NULL gives
 *    FM_ST_BADPARAM, an unknown version FM_ST_VERSION_MISMATCH.
 *  - timeoutMs of fmConnect() bounds the connect and every later call on
 *    the handle (0 selects the library default of 60000 ms); expiry gives
 *    FM_ST_TIMEOUT. A connection the daemon dropped gives
 *    FM_ST_CONNECTION_NOT_VALID.
 */
#ifndef NV_FM_AGENT_H
#define NV_FM_AGENT_H

#include "nv_fm_types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Marks the entry points: libnvfm is built with hidden visibility and
 * exports exactly these (and src/sdk/nvfm.map names each). */
#ifndef FM_LIB_API
#if defined(__GNUC__)
#define FM_LIB_API __attribute__((visibility("default")))
#else
#define FM_LIB_API
#endif
#endif
/* Name used by earlier openfm releases. */
#define NVFM_API FM_LIB_API

fmReturn_t FM_LIB_API fmLibInit(void);
fmReturn_t FM_LIB_API fmLibShutdown(void);

fmReturn_t FM_LIB_API fmConnect(fmConnectParams_t *connectParams, fmHandle_t *pFmHandle);
fmReturn_t FM_LIB_API fmDisconnect(fmHandle_t pFmHandle);

fmReturn_t FM_LIB_API fmGetSupportedFabricPartitions(fmHandle_t pFmHandle,
                                                     fmFabricPartitionList_t *pFmFabricPartition);
fmReturn_t FM_LIB_API fmActivateFabricPartition(fmHandle_t pFmHandle,
                                                fmFabricPartitionId_t partitionId);
fmReturn_t FM_LIB_API fmActivateFabricPartitionWithVFs(fmHandle_t pFmHandle,
                                                       fmFabricPartitionId_t partitionId,
                                                       fmPciDevice_t *vfList, unsigned int numVfs);
fmReturn_t FM_LIB_API fmDeactivateFabricPartition(fmHandle_t pFmHandle,
                                                  fmFabricPartitionId_t partitionId);
fmReturn_t FM_LIB_API fmSetActivatedFabricPartitions(
    fmHandle_t pFmHandle, fmActivatedFabricPartitionList_t *pFmActivatedPartitionList);
fmReturn_t FM_LIB_API fmGetNvlinkFailedDevices(fmHandle_t pFmHandle,
                                               fmNvlinkFailedDevices_t *pFmNvlinkFailedDevices);
fmReturn_t FM_LIB_API fmGetUnsupportedFabricPartitions(
    fmHandle_t pFmHandle, fmUnsupportedFabricPartitionList_t *pFmUnupportedFabricPartition);

#ifdef __cplusplus
}
#endif

#endif /* NV_FM_AGENT_H */
