/* Resiliency state file (STATE_FILE_NAME, FM §12): the detected GPUs (UUID,
 * physical ID) and the partition table with what was supported and active,
 * loaded by --restart.
 *
 * The file is a journal of checksummed records (docs/partitions.md):
 *
 *   openfm-state 2
 *   record 1 snapshot 812 9d3c01aa        <- seq, kind, body bytes, CRC-32
 *   platform hgx-h100                     <- body: the whole state
 *   gpu 1 GPU-...
 *   partition 0 supported=1 active=0 vfs=-
 *   record 2 change 41 5e10c2f7
 *   partition 3 supported=1 active=1 vfs=-  <- body: the partitions one change touched
 *
 * A change costs one appended record and one fdatasync (state_journal.c);
 * the state is the snapshot with every change applied in order. Any record
 * that is torn, truncated, out of sequence or fails its checksum makes the
 * whole file refused, naming the record, its byte offset and the fault.
 * Version 1 files (one text snapshot ending in "end") still load. */
#ifndef OPENFM_PARTITION_STATE_FILE_H
#define OPENFM_PARTITION_STATE_FILE_H

#include <stdbool.h>
#include <stddef.h>

#include "nv_fm_types.h"
#include "openfm/error.h"
#include "openfm/platform.h"

typedef struct {
    char platform[OFM_NAME_LEN];
    size_t ngpus;
    unsigned gpu_id[OFM_MAX_GPUS];
    char gpu_uuid[OFM_MAX_GPUS][80];
    size_t npartitions;
    unsigned part_id[OFM_MAX_PARTITIONS];
    bool supported[OFM_MAX_PARTITIONS];
    bool active[OFM_MAX_PARTITIONS];
    unsigned nvfs[OFM_MAX_PARTITIONS];
    fmPciDevice_t vfs[OFM_MAX_PARTITIONS][FM_MAX_NUM_GPUS];
} ofm_pm_state;

/* Largest state file accepted, and the largest encoded record. */
#define OFM_PM_STATE_MAX_BYTES (256u * 1024u)
#define OFM_PM_RECORD_MAX (48u * 1024u)

/* Strict: every record and line checked; errors name file:line and, for
 * records, the record number and byte offset. */
int ofm_pm_state_load(const char *path, ofm_pm_state *s, ofm_error *err);
int ofm_pm_state_parse(const char *buf, size_t len, const char *origin, ofm_pm_state *s,
                       ofm_error *err);

/* Encoders used by the journal. Each writes into buf (cap bytes) and returns
 * the length, or 0 when it does not fit. `changed` (indexed like the state's
 * partitions) selects the partitions a change record carries. */
size_t ofm_pm_state_encode_file(const ofm_pm_state *s, char *buf, size_t cap);
size_t ofm_pm_state_encode_change(const ofm_pm_state *s, const bool *changed, unsigned seq,
                                  char *buf, size_t cap);

#endif
