/* The SDK entry points: argument and version checks, then one exchange
 * with the daemon. The checks happen locally so that a caller's mistake is
 * reported without a round trip. */
#include <stdlib.h>
#include <string.h>

#include "nv_fm_agent.h"
#include "sdk/nvfm_ext.h"
#include "sdk/sdk_internal.h"

static fmReturn_t run(fmHandle_t handle, ofm_wire_request *rq, ofm_wire_reply *rp)
{
    nvfm_detail_clear();
    nvfm_handle *h;
    fmReturn_t rc = nvfm_acquire(handle, &h);
    if (rc != FM_ST_SUCCESS)
        return rc;
    rc = nvfm_call(h, rq, rp);
    nvfm_release(h);
    /* the daemon's reason for a refusal, for ofmReturnText() */
    if (rc != FM_ST_SUCCESS && rp->detail[0])
        nvfm_detail_set(rc, "%s", rp->detail);
    return rc;
}

/* Library state and handle come before the structure: an uninitialised
 * library must say so whatever the arguments. */
static fmReturn_t precheck(fmHandle_t handle, const void *param)
{
    nvfm_detail_clear();
    if (!nvfm_initialized())
        return FM_ST_UNINITIALIZED;
    if (!handle || !param)
        return FM_ST_BADPARAM;
    return FM_ST_SUCCESS;
}

fmReturn_t fmGetSupportedFabricPartitions(fmHandle_t pFmHandle,
                                          fmFabricPartitionList_t *pFmFabricPartition)
{
    fmReturn_t rc = precheck(pFmHandle, pFmFabricPartition);
    if (rc != FM_ST_SUCCESS)
        return rc;
    if (!ofm_wire_struct_version_ok(OFM_OP_GET_SUPPORTED, pFmFabricPartition->version))
        return FM_ST_VERSION_MISMATCH;
    ofm_wire_request rq = {.op = OFM_OP_GET_SUPPORTED,
                           .struct_version = pFmFabricPartition->version};
    ofm_wire_reply rp = {.partitions = pFmFabricPartition};
    return run(pFmHandle, &rq, &rp);
}

static fmReturn_t by_id(fmHandle_t handle, ofm_wire_op op, fmFabricPartitionId_t id)
{
    if (!nvfm_initialized())
        return FM_ST_UNINITIALIZED;
    if (!handle)
        return FM_ST_BADPARAM;
    ofm_wire_request rq = {.op = op, .partition_id = id};
    ofm_wire_reply rp = {0};
    return run(handle, &rq, &rp);
}

fmReturn_t fmActivateFabricPartition(fmHandle_t pFmHandle, fmFabricPartitionId_t partitionId)
{
    return by_id(pFmHandle, OFM_OP_ACTIVATE, partitionId);
}

fmReturn_t fmDeactivateFabricPartition(fmHandle_t pFmHandle, fmFabricPartitionId_t partitionId)
{
    return by_id(pFmHandle, OFM_OP_DEACTIVATE, partitionId);
}

fmReturn_t fmActivateFabricPartitionWithVFs(fmHandle_t pFmHandle,
                                            fmFabricPartitionId_t partitionId,
                                            fmPciDevice_t *vfList, unsigned int numVfs)
{
    fmReturn_t rc = precheck(pFmHandle, vfList);
    if (rc != FM_ST_SUCCESS)
        return rc;
    /* One VF per GPU of the partition: at least one, at most a full board. */
    if (numVfs == 0 || numVfs > FM_MAX_NUM_GPUS)
        return FM_ST_BADPARAM;
    ofm_wire_request rq = {.op = OFM_OP_ACTIVATE_WITH_VFS, .partition_id = partitionId,
                           .num_vfs = numVfs};
    memcpy(rq.vfs, vfList, numVfs * sizeof *vfList);
    ofm_wire_reply rp = {0};
    return run(pFmHandle, &rq, &rp);
}

fmReturn_t fmSetActivatedFabricPartitions(
    fmHandle_t pFmHandle, fmActivatedFabricPartitionList_t *pFmActivatedPartitionList)
{
    fmReturn_t rc = precheck(pFmHandle, pFmActivatedPartitionList);
    if (rc != FM_ST_SUCCESS)
        return rc;
    if (!ofm_wire_struct_version_ok(OFM_OP_SET_ACTIVATED, pFmActivatedPartitionList->version))
        return FM_ST_VERSION_MISMATCH;
    if (pFmActivatedPartitionList->numPartitions > FM_MAX_FABRIC_PARTITIONS)
        return FM_ST_BADPARAM;
    ofm_wire_request rq = {.op = OFM_OP_SET_ACTIVATED,
                           .struct_version = pFmActivatedPartitionList->version,
                           .num_ids = pFmActivatedPartitionList->numPartitions};
    memcpy(rq.ids, pFmActivatedPartitionList->partitionIds,
           rq.num_ids * sizeof rq.ids[0]);
    ofm_wire_reply rp = {0};
    return run(pFmHandle, &rq, &rp);
}

fmReturn_t fmGetNvlinkFailedDevices(fmHandle_t pFmHandle,
                                    fmNvlinkFailedDevices_t *pFmNvlinkFailedDevices)
{
    fmReturn_t rc = precheck(pFmHandle, pFmNvlinkFailedDevices);
    if (rc != FM_ST_SUCCESS)
        return rc;
    if (!ofm_wire_struct_version_ok(OFM_OP_GET_NVLINK_FAILED, pFmNvlinkFailedDevices->version))
        return FM_ST_VERSION_MISMATCH;
    ofm_wire_request rq = {.op = OFM_OP_GET_NVLINK_FAILED,
                           .struct_version = pFmNvlinkFailedDevices->version};
    ofm_wire_reply rp = {.failed = pFmNvlinkFailedDevices};
    return run(pFmHandle, &rq, &rp);
}

fmReturn_t fmGetUnsupportedFabricPartitions(
    fmHandle_t pFmHandle, fmUnsupportedFabricPartitionList_t *pFmUnupportedFabricPartition)
{
    fmReturn_t rc = precheck(pFmHandle, pFmUnupportedFabricPartition);
    if (rc != FM_ST_SUCCESS)
        return rc;
    if (!ofm_wire_struct_version_ok(OFM_OP_GET_UNSUPPORTED, pFmUnupportedFabricPartition->version))
        return FM_ST_VERSION_MISMATCH;
    ofm_wire_request rq = {.op = OFM_OP_GET_UNSUPPORTED,
                           .struct_version = pFmUnupportedFabricPartition->version};
    ofm_wire_reply rp = {.unsupported = pFmUnupportedFabricPartition};
    return run(pFmHandle, &rq, &rp);
}

fmReturn_t ofmGetStatusJson(fmHandle_t handle, char **json)
{
    fmReturn_t rc = precheck(handle, json);
    if (rc != FM_ST_SUCCESS)
        return rc;
    *json = NULL;
    ofm_wire_request rq = {.op = OFM_OP_GET_STATUS_JSON};
    ofm_wire_reply rp = {0};
    rc = run(handle, &rq, &rp);
    if (rc == FM_ST_SUCCESS)
        *json = rp.json;
    else
        free(rp.json);
    return rc;
}

fmReturn_t ofmGetEvents(fmHandle_t handle, uint64_t after_seq, unsigned max, ofm_wire_events *out)
{
    fmReturn_t rc = precheck(handle, out);
    if (rc != FM_ST_SUCCESS)
        return rc;
    if (max == 0 || max > OFM_WIRE_MAX_EVENTS)
        return FM_ST_BADPARAM;
    memset(out, 0, sizeof *out);
    ofm_wire_request rq = {.op = OFM_OP_GET_EVENTS, .after_seq = after_seq, .max_events = max};
    ofm_wire_reply rp = {.events = out};
    return run(handle, &rq, &rp);
}

fmReturn_t ofmCreateFabricPartition(fmHandle_t handle, const unsigned int *gpuPhysicalIds,
                                    unsigned int ngpus, unsigned int requestedId,
                                    fmFabricPartitionId_t *newId)
{
    fmReturn_t rc = precheck(handle, newId);
    if (rc != FM_ST_SUCCESS)
        return rc;
    if (!gpuPhysicalIds || ngpus == 0 || ngpus > OFM_WIRE_MAX_PARTITION_GPUS) {
        nvfm_detail_set(FM_ST_BADPARAM, "a partition has 1 to %d GPUs, not %u",
                        OFM_WIRE_MAX_PARTITION_GPUS, ngpus);
        return FM_ST_BADPARAM;
    }
    ofm_wire_request rq = {.op = OFM_OP_DEFINE_PARTITION,
                           .has_id = requestedId != OFM_PARTITION_ID_ANY,
                           .partition_id = requestedId != OFM_PARTITION_ID_ANY ? requestedId : 0,
                           .num_gpus = ngpus};
    memcpy(rq.gpus, gpuPhysicalIds, ngpus * sizeof rq.gpus[0]);
    ofm_wire_reply rp = {0};
    rc = run(handle, &rq, &rp);
    if (rc == FM_ST_SUCCESS)
        *newId = rp.defined_id;
    return rc;
}

fmReturn_t ofmDeleteFabricPartition(fmHandle_t handle, fmFabricPartitionId_t partitionId)
{
    return by_id(handle, OFM_OP_DELETE_PARTITION, partitionId);
}

fmReturn_t ofmListFabricPartitions(fmHandle_t handle, ofm_wire_partition_defs *out)
{
    fmReturn_t rc = precheck(handle, out);
    if (rc != FM_ST_SUCCESS)
        return rc;
    memset(out, 0, sizeof *out);
    ofm_wire_request rq = {.op = OFM_OP_LIST_DEFINITIONS};
    ofm_wire_reply rp = {.defs = out};
    return run(handle, &rq, &rp);
}

fmReturn_t ofmActivateFabricPartitionAny(fmHandle_t handle, fmFabricPartitionId_t partitionId)
{
    return by_id(handle, OFM_OP_ACTIVATE_ANY, partitionId);
}

fmReturn_t ofmDeactivateFabricPartitionAny(fmHandle_t handle, fmFabricPartitionId_t partitionId)
{
    return by_id(handle, OFM_OP_DEACTIVATE_ANY, partitionId);
}
