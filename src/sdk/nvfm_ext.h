/*
 * openfm extensions to the Fabric Manager SDK, for in-tree tools (fmctl).
 * Not part of NVIDIA's API and not exported from libnvfm.so: link the
 * static ofm_sdk library to use them.
 */
#ifndef OPENFM_NVFM_EXT_H
#define OPENFM_NVFM_EXT_H

#include <stdint.h>

#include "nv_fm_agent.h"
#include "wire/wire.h"

/* Fetch the daemon's status document (JSON). On FM_ST_SUCCESS *json is a
 * malloc'd NUL-terminated string the caller frees. */
fmReturn_t ofmGetStatusJson(fmHandle_t handle, char **json);

/* The daemon's event log (SXid/Xid, NVLink up/down, partition and device
 * state changes): up to `max` (<= OFM_WIRE_MAX_EVENTS) events with a
 * sequence number above `after_seq`, oldest first, plus the oldest retained
 * and newest sequence numbers, so a follower that reconnects with its last
 * sequence number misses nothing still retained. */
fmReturn_t ofmGetEvents(fmHandle_t handle, uint64_t after_seq, unsigned max, ofm_wire_events *out);

/* ---- Partitions defined live (docs/partitions.md) ----
 * Mutating calls need the same rights as fmActivateFabricPartition (root or
 * OPENFM_API_ADMIN_GROUP). When a call is refused, ofmReturnText(rc) on the
 * same thread gives the daemon's reason: the rule broken and the offending
 * GPU or partition ID. */

/* Define a partition of `ngpus` GPUs (physical IDs, any order, 1 to
 * OFM_WIRE_MAX_PARTITION_GPUS), with ID `requestedId`, or the lowest free
 * ID of the platform's range when requestedId is OFM_PARTITION_ID_ANY. On
 * FM_ST_SUCCESS the definition is durable and *newId holds its ID. Other
 * answers: FM_ST_BADPARAM (a rule of the platform, an unknown or repeated
 * GPU, an ID out of range), FM_ST_PARTITION_ID_IN_USE,
 * FM_ST_PARTITION_EXISTS (another partition has exactly these GPUs),
 * FM_ST_RESOURCE_EXHAUSTED (table full), FM_ST_NOT_CONFIGURED (after
 * --restart, until fmSetActivatedFabricPartitions), FM_ST_NOT_SUPPORTED
 * (bare-metal mode, or not an administrator). */
#define OFM_PARTITION_ID_ANY 0xffffffffu
fmReturn_t ofmCreateFabricPartition(fmHandle_t handle, const unsigned int *gpuPhysicalIds,
                                    unsigned int ngpus, unsigned int requestedId,
                                    fmFabricPartitionId_t *newId);

/* Delete a partition defined live. FM_ST_BADPARAM: no such partition;
 * FM_ST_NOT_SUPPORTED: one of the platform's own partitions (its topology
 * table), which cannot be deleted; FM_ST_IN_USE: it is active. */
fmReturn_t ofmDeleteFabricPartition(fmHandle_t handle, fmFabricPartitionId_t partitionId);

/* The whole partition table, the platform's partitions first, then those
 * defined live in the order they were defined; also the partitions the
 * public structures cannot hold (public_view 0). `out` may be large
 * (about 80 KiB): allocate it. */
fmReturn_t ofmListFabricPartitions(fmHandle_t handle, ofm_wire_partition_defs *out);

/* fmActivateFabricPartition / fmDeactivateFabricPartition for every
 * partition, also those the public calls answer FM_ST_NOT_SUPPORTED for
 * (more than FM_MAX_NUM_GPUS GPUs, or beyond the FM_MAX_FABRIC_PARTITIONS
 * of the public list). Shared NVSwitch mode only (vGPU activation needs
 * VFs: fmActivateFabricPartitionWithVFs). */
fmReturn_t ofmActivateFabricPartitionAny(fmHandle_t handle, fmFabricPartitionId_t partitionId);
fmReturn_t ofmDeactivateFabricPartitionAny(fmHandle_t handle, fmFabricPartitionId_t partitionId);

/* Stable name of a return code, e.g. "FM_ST_IN_USE"; "FM_ST_UNKNOWN" for
 * values this build does not know. */
const char *ofmReturnName(fmReturn_t rc);

/* One-line explanation for operators, e.g. "partition or its GPUs are
 * already in use". When the last SDK call on this thread failed with rc
 * for a reason the library knows precisely (fmConnect: an address that
 * does not parse or resolve), that reason is returned instead. */
const char *ofmReturnText(fmReturn_t rc);

#endif
