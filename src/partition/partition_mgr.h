/* Partition manager for shared NVSwitch (FABRIC_MODE=1) and vGPU (=2) modes.
 *
 * Holds the supported partition table (the platform's default table minus
 * what the HA policy or MIG rules removed), the active set, the VF order of
 * vGPU activations, and the resiliency state file. Every activation or
 * deactivation is one batched HAL route write computed as the difference
 * between the routes of the active set before and after, so other running
 * partitions' entries are never touched. Return codes follow FM §5 / §13.2. */
#ifndef OPENFM_PARTITION_MGR_H
#define OPENFM_PARTITION_MGR_H

#include <stdbool.h>

#include "manager/manager.h"
#include "nv_fm_types.h"
#include "openfm/error.h"
#include "openfm/hal.h"
#include "partition/state_file.h"

typedef struct ofm_partition_mgr ofm_partition_mgr;

typedef struct {
    ofm_hal *hal;
    const ofm_fabric_ctx *fctx;   /* model + HA decision from bring-up */
    const char *state_file;       /* STATE_FILE_NAME */
    bool restart;                 /* --restart: load the state, keep routes */
} ofm_pm_opts;

/* Normal start: clears every routing entry (no GPU reaches another), builds
 * the supported list, writes the state file. Restart: loads and checks the
 * state file, leaves routes alone, and refuses partition operations until
 * ofm_pm_set_activated(). Returns 0 or -1 with err set. */
int ofm_pm_create(const ofm_pm_opts *o, ofm_partition_mgr **out, ofm_error *err);
void ofm_pm_destroy(ofm_partition_mgr *pm);

fmReturn_t ofm_pm_get_supported(ofm_partition_mgr *pm, fmFabricPartitionList_t *out);
/* vfs may be NULL with nvfs 0 (fmActivateFabricPartition); vGPU mode requires VFs. */
fmReturn_t ofm_pm_activate(ofm_partition_mgr *pm, unsigned id, const fmPciDevice_t *vfs,
                           unsigned nvfs);
fmReturn_t ofm_pm_deactivate(ofm_partition_mgr *pm, unsigned id);
/* The public calls above serve only the partitions the public structures
 * can hold (docs/partitions.md); a partition they cannot (more than
 * FM_MAX_NUM_GPUS GPUs, or beyond the FM_MAX_FABRIC_PARTITIONS of the public
 * list) is answered FM_ST_NOT_SUPPORTED. These serve every partition (the
 * openfm extension calls and fmctl). */
fmReturn_t ofm_pm_activate_any(ofm_partition_mgr *pm, unsigned id, const fmPciDevice_t *vfs,
                               unsigned nvfs);
fmReturn_t ofm_pm_deactivate_any(ofm_partition_mgr *pm, unsigned id);

/* Partitions defined live (any platform; its rules in
 * openfm/partition_rules.h). Define: `gpus` (physical IDs, any order) with
 * the requested ID when has_id, else the lowest free ID of the platform's
 * range; on success *new_id. Refusals fill `why` (the rule broken and the
 * offending GPU or ID): FM_ST_BADPARAM (rules, unknown or repeated GPUs,
 * ID out of range, a GPU the HA policy removed), FM_ST_PARTITION_ID_IN_USE,
 * FM_ST_PARTITION_EXISTS (same GPUs as another partition),
 * FM_ST_RESOURCE_EXHAUSTED (table full), FM_ST_NOT_CONFIGURED (waiting
 * after --restart), FM_ST_GENERIC_ERROR (not durable; nothing changed).
 * Undefine: FM_ST_BADPARAM (unknown), FM_ST_NOT_SUPPORTED (one of the
 * platform's own partitions), FM_ST_IN_USE (active). Both are durable in the
 * state file before they return success. */
fmReturn_t ofm_pm_define(ofm_partition_mgr *pm, const uint32_t *gpus, unsigned ngpus, bool has_id,
                         unsigned id, unsigned *new_id, char *why, size_t cap);
fmReturn_t ofm_pm_undefine(ofm_partition_mgr *pm, unsigned id, char *why, size_t cap);

/* One partition of the whole table, for the extension list. */
typedef struct {
    ofm_partition_desc desc;
    bool live;        /* defined live, not the platform's */
    bool supported;
    bool active;
    bool public_view; /* listed and served by the public calls */
} ofm_pm_def;
/* Up to cap entries in table order (built-in first); *n how many. */
fmReturn_t ofm_pm_definitions(const ofm_partition_mgr *pm, ofm_pm_def *out, size_t cap, size_t *n);
/* The definition of partition `id` (built-in or live); false if none. */
bool ofm_pm_definition(const ofm_partition_mgr *pm, unsigned id, ofm_partition_desc *out);
fmReturn_t ofm_pm_set_activated(ofm_partition_mgr *pm, const fmActivatedFabricPartitionList_t *l);
fmReturn_t ofm_pm_failed_devices(ofm_partition_mgr *pm, fmNvlinkFailedDevices_t *out);
fmReturn_t ofm_pm_unsupported(ofm_partition_mgr *pm, fmUnsupportedFabricPartitionList_t *out);

/* Still waiting for the hypervisor's active list after --restart. */
bool ofm_pm_awaiting_restart_list(const ofm_partition_mgr *pm);
/* Active partitions whose routes enter or leave NVSwitch `sw` at `port`, and
 * active partitions holding `gpu`: their IDs in ids[0..cap), returns the count
 * (the monitor names them in SXid / Xid lines). */
size_t ofm_pm_partitions_on_port(ofm_partition_mgr *pm, uint32_t sw, uint32_t port, uint32_t *ids,
                                 size_t cap);
size_t ofm_pm_partitions_with_gpu(ofm_partition_mgr *pm, uint32_t gpu, uint32_t *ids, size_t cap);

/* JSON array of {id, gpus, active, supported, vfs} for the status document. */
char *ofm_pm_json(const ofm_partition_mgr *pm);

/* One partition of the table as the status shows it. */
typedef struct {
    uint32_t id;
    bool supported;                 /* not removed by the HA policy or MIG rules */
    bool active;
    uint32_t ngpus;
    uint32_t gpus[OFM_MAX_GPUS];    /* physical IDs */
    unsigned nvfs;                  /* vGPU: VFs in activation order */
    fmPciDevice_t vfs[FM_MAX_NUM_GPUS];
} ofm_pm_entry;

/* Copy up to cap entries of the partition table; returns how many exist. */
size_t ofm_pm_entries(const ofm_partition_mgr *pm, ofm_pm_entry *out, size_t cap);

#endif
