/* Pure translation between openfm's routing plan (per ingress port:
 * destination GPU -> egress port set) and the LS10 (third-generation
 * NVSwitch) ingress tables: remap policy (address slot -> target ID), routing
 * ID (target ID -> destination ports) and routing LAN (how those ports split
 * into load-balancing groups). No I/O: the backend feeds the result to the
 * driver in batches, and reads the tables back through the inverse. */
#ifndef OPENFM_NVSWITCH_LS10_TABLES_H
#define OPENFM_NVSWITCH_LS10_TABLES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hal/nvswitch/nvswitch_abi.h"
#include "openfm/hal.h"

/* LS10 table depths (primary remap, routing ID, routing LAN). */
#define LS10_REMAP_DEPTH 4096
#define LS10_RID_DEPTH 2048
#define LS10_RLAN_DEPTH 2048
/* Remap addresses use bits 46:36; each GPU gets one 256 GiB-aligned slot. */
#define LS10_SLOT_SHIFT 38
#define LS10_MAX_TARGET 511

/* A GPU's identity in the tables, derived from its physical (module) ID:
 * target ID, remap index and fabric (GPA) base address. -1 when the ID does
 * not fit the tables. */
int ls10_target_of_gpu(uint32_t gpu_phys);
uint64_t ls10_slot_address(uint32_t target);

/* The three entries one (ingress port, destination) pair needs. */
typedef struct {
    uint32_t port;           /* ingress port */
    uint32_t index;          /* = target ID = remap index */
    bool valid;              /* false: invalidate (isolate) this destination */
    nvsw_remap_entry remap;
    nvsw_rid_entry rid;
    nvsw_rlan_entry rlan;
} ls10_write;

/* Encode one route entry. Fails (-1) on a destination that cannot be a
 * target, or an egress set of more than 16 ports (one RID entry). */
int ls10_encode(const ofm_route_entry *e, ls10_write *out);

/* Encode a batch for one switch, sorted by (port, index) so the backend can
 * write contiguous runs. `out` must hold n entries. Returns the count or -1
 * (with *bad the index of the first entry that could not be encoded). */
int ls10_encode_all(const ofm_route_entry *e, size_t n, ls10_write *out, size_t *bad);

/* A driver call's worth of entries: same port, same validity, contiguous
 * indices, at most NVSW_TABLE_BATCH. */
typedef struct {
    size_t first;            /* position in the ls10_write array */
    size_t count;
} ls10_run;
size_t ls10_runs(const ls10_write *w, size_t n, ls10_run *runs, size_t cap);

/* Decode what one ingress port's tables say, as the driver returns them:
 * remap entries (non-empty ones, in table order, no index), routing ID and
 * routing LAN entries with their indices. Appends one route per valid
 * destination to out (up to cap; *n counts all). Entries that are
 * inconsistent (a valid remap whose RID is missing, a RID whose RLAN groups
 * do not cover its ports) count in *inconsistent and yield no route. */
void ls10_decode_port(uint32_t sw, uint32_t port, const nvsw_remap_entry *remap, size_t nremap,
                      const nvsw_rid_idx_entry *rid, size_t nrid, const nvsw_rlan_idx_entry *rlan,
                      size_t nrlan, ofm_route_entry *out, size_t cap, size_t *n,
                      size_t *inconsistent);

#endif
