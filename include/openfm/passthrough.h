/* Full-passthrough VM plans (FM §6): which GPUs, NVSwitches and NVLinks go
 * into a VM of each size the platform supports, and which links must be
 * disabled. The guide gives counts and constraints per board family; the
 * exact devices and links here are derived from the platform's wiring
 * (docs/virtualization.md says how). A pure function of the model. */
#ifndef OPENFM_PASSTHROUGH_H
#define OPENFM_PASSTHROUGH_H

#include <stdio.h>

#include "openfm/platform.h"

#define OFM_PT_MAX_PLANS OFM_MAX_GPUS /* 1-GPU VMs: one per GPU */

/* The guide's row for one VM size of the board family (FM §6.1). */
typedef struct {
    const char *family;          /* "HGX A100" */
    uint32_t size;               /* GPUs */
    uint32_t switches;           /* NVSwitches passed through */
    uint32_t gpu_links;          /* NVLinks per GPU used */
    const char *switch_links;    /* as the guide prints it: "16 of 36" */
    const char *constraint;      /* "one set of eight GPUs per baseboard" */
} ofm_pt_guide_row;

typedef struct {
    uint32_t size, set, nsets;   /* set n of nsets of this size (1-based) */
    const ofm_pt_guide_row *guide;
    size_t ngpus, nswitches;
    uint32_t gpus[OFM_MAX_GPUS];         /* phys IDs, ascending */
    uint32_t switches[OFM_MAX_SWITCHES]; /* IDs, ascending */
    /* indices into the platform's access[] / trunks[] */
    size_t naccess, ngpu_block, nsw_block, ntrunk, ntrunk_block;
    uint16_t access[OFM_MAX_ACCESS_LINKS];    /* used: GPU and switch both in the VM */
    uint16_t gpu_block[OFM_MAX_ACCESS_LINKS]; /* disable on the GPU: switch outside */
    uint16_t sw_block[OFM_MAX_ACCESS_LINKS];  /* disable on the switch: GPU outside */
    uint16_t trunk[OFM_MAX_TRUNK_LINKS];      /* used (16-GPU VMs) */
    uint16_t trunk_block[OFM_MAX_TRUNK_LINKS]; /* disable on the VM's switches */
    uint32_t gpu_links_min, gpu_links_max;    /* used NVLinks per GPU */
    uint32_t sw_links_min, sw_links_max;      /* used ports per switch (access + trunk) */
} ofm_pt_plan;

/* VM sizes the platform supports, descending; returns the count. */
size_t ofm_pt_sizes(const ofm_platform *p, uint32_t *out, size_t cap);
/* The plans of VMs of `size` GPUs. 0 with *n set, or -1 with the reason in
 * `why` (a size the guide forbids on this board, a platform without
 * NVSwitch). `out` needs OFM_PT_MAX_PLANS entries (large: heap). */
int ofm_pt_plans(const ofm_platform *p, uint32_t size, ofm_pt_plan *out, size_t *n, char *why,
                 size_t whylen);
/* The plan whose GPUs are exactly `gpus` (phys IDs, any order), or -1 with
 * why not (naming the sets that exist). */
int ofm_pt_plan_for(const ofm_platform *p, const uint32_t *gpus, size_t ngpus, ofm_pt_plan *out,
                    char *why, size_t whylen);
/* The VM's topology file: what openfm running inside the guest loads. */
int ofm_pt_guest_topology(const ofm_platform *p, const ofm_pt_plan *plan, FILE *out);

#endif
