/* Which GPU sets may form a partition on a platform: one implementation for
 * the partition tables of topology files (checked at load) and for
 * partitions defined live through the SDK or `fmctl partition create`.
 *
 * The rules are a per-platform hook (ofm_partition_rules_of): HGX baseboards
 * follow FM §11.2.2, HGX-2 (first-generation NVSwitch) allows only its
 * fixed table (FM §11.1), a rack-scale NVLink domain (GB200 NVL72) takes
 * any set of its GPUs with IDs 1-32766; a new platform with rules of its
 * own adds a record in partition_rules.c (docs/partitions.md). */
#ifndef OPENFM_PARTITION_RULES_H
#define OPENFM_PARTITION_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "openfm/platform.h"

typedef struct ofm_partition_rules {
    const char *name;        /* shown in refusals, e.g. "FM §11.2.2" */
    /* false: partitions come only from the platform's table; the reason
     * says why (a refusal quotes it) */
    bool live_allowed;
    const char *no_live_reason;
    uint32_t id_min, id_max; /* IDs a live definition may take */
    /* 0 when `d` obeys the platform's rule; else -1 and `why` (cap bytes)
     * names the rule and the offending GPUs or baseboards, starting with
     * "partition ID: ". NULL: any set of GPUs is a partition. */
    int (*check)(const ofm_platform *p, const ofm_partition_desc *d, char *why, size_t cap);
} ofm_partition_rules;

/* The rules of `p` (never NULL). */
const ofm_partition_rules *ofm_partition_rules_of(const ofm_platform *p);

/* The platform's rule alone (what a topology file's table must obey). */
int ofm_partition_rules_check(const ofm_platform *p, const ofm_partition_desc *d, char *why,
                              size_t cap);

/* Everything a live definition must satisfy, in this order: the platform
 * allows live definitions; the ID is in the platform's range; 1 to
 * OFM_MAX_GPUS GPUs, each a GPU of the platform, none twice; the platform's
 * rule. On success d->gpus is sorted ascending. On failure `why` names the
 * broken rule and the offending GPU or ID. */
int ofm_partition_validate_live(const ofm_platform *p, ofm_partition_desc *d, char *why,
                                size_t cap);

/* Parse a GPU list "1,5,9-12" (decimal physical IDs and ascending ranges,
 * at most OFM_MAX_GPUS GPUs, each <= 1023, none twice) into gpus[]. Returns
 * the count, or -1 with `why` saying what is wrong. Shared by fmctl and
 * the tests; the daemon checks the result against the platform. */
int ofm_partition_parse_gpu_list(const char *s, uint32_t *gpus, size_t cap, char *why,
                                 size_t whycap);

#endif
