/* LS10 routing tables <-> routing plan. See ls10_tables.h. */
#include <stdlib.h>
#include <string.h>

#include "hal/nvswitch/ls10_tables.h"

int ls10_target_of_gpu(uint32_t gpu_phys)
{
    /* Physical (module) IDs are small and unique within a node, so they serve
     * as target IDs directly; ID 0 is kept free so an all-zero entry never
     * looks like a route. */
    return gpu_phys >= 1 && gpu_phys <= LS10_MAX_TARGET ? (int)gpu_phys : -1;
}

uint64_t ls10_slot_address(uint32_t target) { return (uint64_t)target << LS10_SLOT_SHIFT; }

int ls10_encode(const ofm_route_entry *e, ls10_write *out)
{
    int t = ls10_target_of_gpu(e->dst_gpu);
    if (t < 0 || e->in_port >= NVSW_MAX_LINKS)
        return -1;
    memset(out, 0, sizeof *out);
    out->port = e->in_port;
    out->index = (uint32_t)t;
    out->valid = !ofm_portset_empty(e->egress);
    if (!out->valid)
        return 0;
    uint32_t n = 0;
    for (uint32_t p = 0; p < OFM_PORTSET_BITS; p++)
        if (ofm_portset_has(e->egress, p)) {
            if (n == NVSW_RID_PORTS_MAX)
                return -1;
            out->rid.ports[n].port = p;
            out->rid.ports[n].vc_map = NVSW_VCMAP_SAME;
            n++;
        }
    out->remap.valid = 1;
    out->remap.target_id = (uint32_t)t;
    out->remap.address = ls10_slot_address((uint32_t)t);
    /* Enforce the address type; no address rewriting: the slot is the GPU. */
    out->remap.flags = NVSW_REMAP_FLAG_ADDR_TYPE;
    out->rid.valid = 1;
    out->rid.use_routing_lan = 1;
    out->rid.nports = n;
    /* One group over every listed port: traffic spreads across the ganged
     * links to the destination. */
    out->rlan.valid = 1;
    out->rlan.ngroups = 1;
    out->rlan.group[0].group_select = 0;
    out->rlan.group[0].group_size = n;
    return 0;
}

static int cmp_write(const void *a, const void *b)
{
    const ls10_write *x = a, *y = b;
    if (x->port != y->port)
        return x->port < y->port ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

int ls10_encode_all(const ofm_route_entry *e, size_t n, ls10_write *out, size_t *bad)
{
    for (size_t i = 0; i < n; i++)
        if (ls10_encode(&e[i], &out[i]) < 0) {
            if (bad)
                *bad = i;
            return -1;
        }
    qsort(out, n, sizeof *out, cmp_write);
    return (int)n;
}

size_t ls10_runs(const ls10_write *w, size_t n, ls10_run *runs, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && j - i < NVSW_TABLE_BATCH && w[j].port == w[i].port &&
               w[j].valid == w[i].valid && w[j].index == w[j - 1].index + 1)
            j++;
        if (k < cap)
            runs[k] = (ls10_run){i, j - i};
        k++;
        i = j;
    }
    return k;
}

static const nvsw_rid_entry *find_rid(const nvsw_rid_idx_entry *rid, size_t n, uint32_t idx)
{
    for (size_t i = 0; i < n; i++)
        if (rid[i].index == idx)
            return &rid[i].entry;
    return NULL;
}

static const nvsw_rlan_entry *find_rlan(const nvsw_rlan_idx_entry *rl, size_t n, uint32_t idx)
{
    for (size_t i = 0; i < n; i++)
        if (rl[i].index == idx)
            return &rl[i].entry;
    return NULL;
}

void ls10_decode_port(uint32_t sw, uint32_t port, const nvsw_remap_entry *remap, size_t nremap,
                      const nvsw_rid_idx_entry *rid, size_t nrid, const nvsw_rlan_idx_entry *rlan,
                      size_t nrlan, ofm_route_entry *out, size_t cap, size_t *n,
                      size_t *inconsistent)
{
    for (size_t i = 0; i < nremap; i++) {
        const nvsw_remap_entry *r = &remap[i];
        if (!r->valid)
            continue;  /* isolated destination: no route */
        uint32_t t = r->target_id;
        const nvsw_rid_entry *id = find_rid(rid, nrid, t);
        if (t > LS10_MAX_TARGET || r->address != ls10_slot_address(t) || !id || !id->valid ||
            id->nports < 1 || id->nports > NVSW_RID_PORTS_MAX) {
            (*inconsistent)++;
            continue;
        }
        ofm_portset egress = ofm_portset_none();
        for (uint32_t k = 0; k < id->nports; k++)
            ofm_portset_add(&egress, id->ports[k].port);
        if (id->use_routing_lan) {
            const nvsw_rlan_entry *lan = find_rlan(rlan, nrlan, t);
            uint32_t covered = 0;
            if (lan && lan->valid && lan->ngroups <= NVSW_RLAN_GROUPS_MAX)
                for (uint32_t g = 0; g < lan->ngroups; g++)
                    covered += lan->group[g].group_size;
            if (!lan || !lan->valid || covered != id->nports) {
                (*inconsistent)++;
                continue;
            }
        }
        if (*n < cap)
            out[*n] = (ofm_route_entry){sw, port, t, egress};
        (*n)++;
    }
}
