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
 *   record 3 define 74 0c1d2e3f
 *   define 20 gpus=1-4 nvlinks=18          <- a partition defined live (version 3)
 *   partition 20 supported=1 active=0 vfs=-
 *   record 4 undefine 10 8f7e6d5c
 *   undefine 20                            <- and deleted again
 *
 * A snapshot writes a live definition's "define" line before its
 * "partition" line; built-in partitions (the platform's table) have none.
 *
 * A change costs one appended record and one fdatasync (state_journal.c);
 * the state is the snapshot with every change applied in order. Any record
 * that is torn, truncated, out of sequence or fails its checksum makes the
 * whole file refused, naming the record, its byte offset and the fault.
 * Version 1 files (one text snapshot ending in "end") and version 2 files
 * (records without definitions) still load; this openfm writes version 3. */
#ifndef OPENFM_PARTITION_STATE_FILE_H
#define OPENFM_PARTITION_STATE_FILE_H

#include <stdbool.h>
#include <stddef.h>

#include "nv_fm_types.h"
#include "openfm/error.h"
#include "openfm/platform.h"

/* Partitions a state holds: the platform's table (at most
 * OFM_MAX_PARTITIONS) plus the partitions defined live. */
#define OFM_PM_MAX_PARTITIONS 256

typedef struct {
    char platform[OFM_NAME_LEN];
    size_t ngpus;
    unsigned gpu_id[OFM_MAX_GPUS];
    char gpu_uuid[OFM_MAX_GPUS][80];
    size_t npartitions;
    unsigned part_id[OFM_PM_MAX_PARTITIONS];
    bool supported[OFM_PM_MAX_PARTITIONS];
    bool active[OFM_PM_MAX_PARTITIONS];
    unsigned nvfs[OFM_PM_MAX_PARTITIONS];
    fmPciDevice_t vfs[OFM_PM_MAX_PARTITIONS][FM_MAX_NUM_GPUS];
    /* defined live (a "define" line), with its GPUs and NVLinks per GPU;
     * false for the platform's own partitions */
    bool live[OFM_PM_MAX_PARTITIONS];
    unsigned part_ngpus[OFM_PM_MAX_PARTITIONS];
    uint32_t part_gpus[OFM_PM_MAX_PARTITIONS][OFM_MAX_GPUS];
    unsigned part_nvlinks[OFM_PM_MAX_PARTITIONS];
} ofm_pm_state;

/* Largest state file accepted, and the largest encoded record. */
#define OFM_PM_STATE_MAX_BYTES (256u * 1024u)
#define OFM_PM_RECORD_MAX (160u * 1024u)

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
/* A "define" record for partition index i of s (a live definition). */
size_t ofm_pm_state_encode_define(const ofm_pm_state *s, size_t i, unsigned seq, char *buf,
                                  size_t cap);
/* An "undefine" record for partition `id`. */
size_t ofm_pm_state_encode_undefine(unsigned id, unsigned seq, char *buf, size_t cap);

#endif
