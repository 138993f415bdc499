/*
 * nv_fm_agent.h — entry points of the Fabric Manager SDK (libnvfm), as
 * implemented by openfm. Written for openfm from the published description
 * of the API (Fabric Manager user guide chapter 5, openfm SPEC.md §4).
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

#if defined(__GNUC__) && defined(NVFM_BUILDING_LIBRARY)
#define NVFM_API __attribute__((visibility("default")))
#else
#define NVFM_API
#endif

NVFM_API fmReturn_t fmLibInit(void);
NVFM_API fmReturn_t fmLibShutdown(void);

NVFM_API fmReturn_t fmConnect(fmConnectParams_t *connectParams, fmHandle_t *pFmHandle);
NVFM_API fmReturn_t fmDisconnect(fmHandle_t pFmHandle);

NVFM_API fmReturn_t fmGetSupportedFabricPartitions(fmHandle_t pFmHandle,
                                                   fmFabricPartitionList_t *pFmFabricPartition);
NVFM_API fmReturn_t fmActivateFabricPartition(fmHandle_t pFmHandle,
                                              fmFabricPartitionId_t partitionId);
NVFM_API fmReturn_t fmActivateFabricPartitionWithVFs(fmHandle_t pFmHandle,
                                                     fmFabricPartitionId_t partitionId,
                                                     fmPciDevice_t *vfList, unsigned int numVfs);
NVFM_API fmReturn_t fmDeactivateFabricPartition(fmHandle_t pFmHandle,
                                                fmFabricPartitionId_t partitionId);
NVFM_API fmReturn_t fmSetActivatedFabricPartitions(
    fmHandle_t pFmHandle, fmActivatedFabricPartitionList_t *pFmActivatedPartitionList);
NVFM_API fmReturn_t fmGetNvlinkFailedDevices(fmHandle_t pFmHandle,
                                             fmNvlinkFailedDevices_t *pFmNvlinkFailedDevices);
NVFM_API fmReturn_t fmGetUnsupportedFabricPartitions(
    fmHandle_t pFmHandle, fmUnsupportedFabricPartitionList_t *pFmUnupportedFabricPartition);

#ifdef __cplusplus
}
#endif

#endif /* NV_FM_AGENT_H */
