/* Partition rules per platform (see openfm/partition_rules.h). */
#include "openfm/partition_rules.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const ofm_gpu_desc *gpu_of(const ofm_platform *p, uint32_t id)
{
    for (size_t i = 0; i < p->ngpus && i < OFM_MAX_GPUS; i++)
        if (p->gpus[i].phys_id == id)
            return &p->gpus[i];
    return NULL;
}

/* NVIDIA's rules for partition definitions on HGX baseboards (FM §11.2.2):
 * 2- and 4-GPU partitions lie on one baseboard; an 8-GPU partition spanning
 * two baseboards has four GPUs on each. Every default table obeys them. */
static int hgx_check(const ofm_platform *p, const ofm_partition_desc *d, char *why, size_t cap)
{
    uint32_t board[OFM_MAX_GPUS], count[OFM_MAX_GPUS] = {0}, first[OFM_MAX_GPUS], nboards = 0;
    for (uint32_t k = 0; k < d->ngpus && k < OFM_MAX_GPUS; k++) {
        const ofm_gpu_desc *g = gpu_of(p, d->gpus[k]);
        if (!g)
            continue;
        uint32_t b = 0;
        while (b < nboards && board[b] != g->baseboard)
            b++;
        if (b == nboards) {
            board[nboards] = g->baseboard;
            first[nboards++] = g->phys_id;
        }
        count[b]++;
    }
    if ((d->ngpus == 2 || d->ngpus == 4) && nboards > 1) {
        snprintf(why, cap,
                 "partition %" PRIu32 ": a %" PRIu32 "-GPU partition must lie on one baseboard, "
                 "but its GPUs are on baseboards %" PRIu32 " and %" PRIu32 " (GPU %" PRIu32
                 " and GPU %" PRIu32 ") (FM §11.2.2)",
                 d->id, d->ngpus, board[0], board[1], first[0], first[1]);
        return -1;
    }
    if (d->ngpus == 8 && nboards > 1)
        for (uint32_t b = 0; b < nboards; b++)
            if (count[b] != 4) {
                char list[256] = "";
                for (uint32_t k = 0; k < d->ngpus && k < OFM_MAX_GPUS; k++) {
                    const ofm_gpu_desc *g = gpu_of(p, d->gpus[k]);
                    size_t off = strlen(list);
                    if (g && g->baseboard == board[b] && off < sizeof list)
                        snprintf(list + off, sizeof list - off, "%s%" PRIu32, off ? "," : "",
                                 g->phys_id);
                }
                snprintf(why, cap,
                         "partition %" PRIu32 ": an 8-GPU partition spanning two baseboards must "
                         "have four GPUs on each, but has %" PRIu32 " on baseboard %" PRIu32
                         " (GPUs %s) (FM §11.2.2)",
                         d->id, count[b], board[b], list);
                return -1;
            }
    return 0;
}

static const ofm_partition_rules hgx_rules = {
    .name = "FM §11.2.2",
    .live_allowed = true,
    .id_min = 0,
    .id_max = 1023, /* the range of a topology file's partition IDs */
    .check = hgx_check,
};

/* First-generation NVSwitch resets NVLink ports in odd/even pairs, so HGX-2
 * supports only its fixed partition mapping (FM §11.1). */
static const ofm_partition_rules gen1_rules = {
    .name = "FM §11.1",
    .live_allowed = false,
    .no_live_reason = "first-generation NVSwitch systems (HGX-2 / DGX-2) support only their fixed "
                      "partition mapping (FM §11.1)",
    .id_min = 0,
    .id_max = 1023,
    .check = NULL,
};

/* Systems without NVSwitches (NVLink bridges) have no partitions to manage. */
static const ofm_partition_rules bridge_rules = {
    .name = "no NVSwitch",
    .live_allowed = false,
    .no_live_reason = "this system has no NVSwitch: its GPUs are linked directly by NVLink "
                      "bridges, so there is nothing to partition",
    .id_min = 0,
    .id_max = 1023,
    .check = NULL,
};

/* Rack-scale NVLink domains (GB200 NVL72): any set of the domain's GPUs is
 * a partition, IDs 1-32766 (the rule itself lives in platform.c). */
static int rack_check(const ofm_platform *p, const ofm_partition_desc *d, char *why, size_t cap)
{
    char w[200];
    if (ofm_rack_partition_ok(p, d->id, d->gpus, d->ngpus, w, sizeof w))
        return 0;
    snprintf(why, cap, "partition %" PRIu32 ": %s", d->id, w);
    return -1;
}

static const ofm_partition_rules rack_rules = {
    .name = "rack-scale NVLink domain",
    .live_allowed = true,
    .id_min = OFM_RACK_PARTITION_ID_MIN,
    .id_max = OFM_RACK_PARTITION_ID_MAX,
    .check = rack_check,
};

/* A new platform with rules of its own gets a rules record above and a
 * line here. */
const ofm_partition_rules *ofm_partition_rules_of(const ofm_platform *p)
{
    if (ofm_platform_is_rack(p))
        return &rack_rules;
    if (p->nswitches == 0)
        return &bridge_rules;
    if (p->switches[0].gen == OFM_SWITCH_GEN1)
        return &gen1_rules;
    return &hgx_rules;
}

int ofm_partition_rules_check(const ofm_platform *p, const ofm_partition_desc *d, char *why, size_t cap)
{
    const ofm_partition_rules *r = ofm_partition_rules_of(p);
    return r->check ? r->check(p, d, why, cap) : 0;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

int ofm_partition_validate_live(const ofm_platform *p, ofm_partition_desc *d, char *why, size_t cap)
{
    const ofm_partition_rules *r = ofm_partition_rules_of(p);
    if (!r->live_allowed) {
        snprintf(why, cap, "partition %" PRIu32 ": partitions cannot be defined on %s: %s", d->id,
                 p->name, r->no_live_reason);
        return -1;
    }
    if (d->id < r->id_min || d->id > r->id_max) {
        snprintf(why, cap,
                 "partition ID %" PRIu32 " is out of range: %s partition IDs are %" PRIu32
                 "-%" PRIu32,
                 d->id, p->name, r->id_min, r->id_max);
        return -1;
    }
    if (d->ngpus == 0 || d->ngpus > OFM_MAX_GPUS || d->ngpus > p->ngpus) {
        snprintf(why, cap,
                 "partition %" PRIu32 ": %" PRIu32 " GPUs; a partition has 1 to %zu GPUs on %s",
                 d->id, d->ngpus, p->ngpus, p->name);
        return -1;
    }
    for (uint32_t k = 0; k < d->ngpus; k++)
        if (!gpu_of(p, d->gpus[k])) {
            snprintf(why, cap, "partition %" PRIu32 ": GPU %" PRIu32 " does not exist on %s",
                     d->id, d->gpus[k], p->name);
            return -1;
        }
    qsort(d->gpus, d->ngpus, sizeof d->gpus[0], cmp_u32);
    for (uint32_t k = 1; k < d->ngpus; k++)
        if (d->gpus[k] == d->gpus[k - 1]) {
            snprintf(why, cap, "partition %" PRIu32 ": GPU %" PRIu32 " is listed twice", d->id,
                     d->gpus[k]);
            return -1;
        }
    return r->check ? r->check(p, d, why, cap) : 0;
}
