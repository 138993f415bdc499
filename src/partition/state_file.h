/* Resiliency state file (STATE_FILE_NAME, FM §12): the detected GPUs (UUID,
 * physical ID) and the partition table with what was supported and active,
 * saved after a normal start and after every change, loaded by --restart. */
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

/* Written to a temp file, fsync'ed and renamed: a crash leaves the old or
 * the new file, never a mix. */
int ofm_pm_state_save(const char *path, const ofm_pm_state *s, ofm_error *err);
/* Strict: every line checked; errors name file:line. */
int ofm_pm_state_load(const char *path, ofm_pm_state *s, ofm_error *err);
int ofm_pm_state_parse(const char *buf, size_t len, const char *origin, ofm_pm_state *s,
                       ofm_error *err);

#endif
