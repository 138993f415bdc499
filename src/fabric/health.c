/* Health flags and model lookups shared by validation, policy and routing. */
#include "fabric/fabric.h"

#include <string.h>

void ofm_fabric_health_all_ok(const ofm_platform *p, ofm_fabric_health *h)
{
    memset(h, 0, sizeof *h);
    for (size_t i = 0; i < p->ngpus && i < OFM_MAX_GPUS; i++)
        h->gpu_ok[i] = true;
    for (size_t i = 0; i < p->nswitches && i < OFM_MAX_SWITCHES; i++)
        h->switch_ok[i] = true;
    for (size_t i = 0; i < p->naccess && i < OFM_MAX_ACCESS_LINKS; i++)
        h->access_ok[i] = true;
    for (size_t i = 0; i < p->ntrunks && i < OFM_MAX_TRUNK_LINKS; i++)
        h->trunk_ok[i] = true;
}

int ofm_fabric_gpu_index(const ofm_platform *p, uint32_t phys_id)
{
    /* models number GPUs 1..n in order: that slot first */
    if (phys_id >= 1 && phys_id <= p->ngpus && p->gpus[phys_id - 1].phys_id == phys_id)
        return (int)(phys_id - 1);
    for (size_t i = 0; i < p->ngpus; i++)
        if (p->gpus[i].phys_id == phys_id)
            return (int)i;
    return -1;
}

int ofm_fabric_switch_index(const ofm_platform *p, uint32_t sw_id)
{
    for (size_t i = 0; i < p->nswitches; i++)
        if (p->switches[i].id == sw_id)
            return (int)i;
    return -1;
}

int ofm_fabric_access_at(const ofm_platform *p, uint32_t sw_id, uint32_t port)
{
    for (size_t i = 0; i < p->naccess; i++)
        if (p->access[i].sw == sw_id && p->access[i].sw_port == port)
            return (int)i;
    return -1;
}

int ofm_fabric_trunk_at(const ofm_platform *p, uint32_t sw_id, uint32_t port)
{
    for (size_t i = 0; i < p->ntrunks; i++) {
        const ofm_trunk_link *t = &p->trunks[i];
        if ((t->sw_a == sw_id && t->port_a == port) || (t->sw_b == sw_id && t->port_b == port))
            return (int)i;
    }
    return -1;
}

int64_t ofm_fabric_peer_switch(const ofm_platform *p, uint32_t sw_id)
{
    /* The peer is the switch most trunks lead to; ties go to the lowest id so
     * the answer is deterministic. */
    uint32_t count[OFM_MAX_SWITCHES] = {0};
    for (size_t i = 0; i < p->ntrunks; i++) {
        const ofm_trunk_link *t = &p->trunks[i];
        int other = -1;
        if (t->sw_a == sw_id && t->sw_b != sw_id)
            other = ofm_fabric_switch_index(p, t->sw_b);
        else if (t->sw_b == sw_id && t->sw_a != sw_id)
            other = ofm_fabric_switch_index(p, t->sw_a);
        if (other >= 0)
            count[other]++;
    }
    int best = -1;
    for (size_t i = 0; i < p->nswitches && i < OFM_MAX_SWITCHES; i++)
        if (count[i] > 0 && (best < 0 || count[i] > count[best]))
            best = (int)i;
    return best < 0 ? -1 : (int64_t)p->switches[best].id;
}

uint32_t ofm_fabric_board_count(const ofm_platform *p)
{
    uint32_t seen[OFM_MAX_GPUS + OFM_MAX_SWITCHES];
    uint32_t n = 0;
    for (size_t i = 0; i < p->ngpus + p->nswitches; i++) {
        uint32_t b = i < p->ngpus ? p->gpus[i].baseboard : p->switches[i - p->ngpus].baseboard;
        bool dup = false;
        for (uint32_t k = 0; k < n; k++)
            dup = dup || seen[k] == b;
        if (!dup && n < sizeof seen / sizeof seen[0])
            seen[n++] = b;
    }
    return n;
}

uint32_t ofm_fabric_gpu_usable_links(const ofm_platform *p, const ofm_fabric_health *h,
                                     uint32_t gpu_phys_id)
{
    int gi = ofm_fabric_gpu_index(p, gpu_phys_id);
    if (gi < 0 || (h && !h->gpu_ok[gi]))
        return 0;
    uint32_t n = 0;
    for (size_t i = 0; i < p->naccess; i++) {
        const ofm_access_link *a = &p->access[i];
        if (a->gpu != gpu_phys_id)
            continue;
        int si = ofm_fabric_switch_index(p, a->sw);
        if (si < 0)
            continue;
        if (h && (!h->access_ok[i] || !h->switch_ok[si]))
            continue;
        n++;
    }
    return n;
}
