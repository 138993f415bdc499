/* GPU x GPU NVLink counts implied by the model alone (every link up, full
 * routing): what `nvidia-smi topo -m` would print as NV<n> on a healthy
 * system. The live equivalent over programmed routes is in src/fabric. */
#include <string.h>

#include "openfm/platform.h"

static int sw_index(const ofm_platform *p, uint32_t id)
{
    for (size_t i = 0; i < p->nswitches; i++)
        if (p->switches[i].id == id)
            return (int)i;
    return -1;
}

uint32_t ofm_platform_bridge_links(const ofm_platform *p, uint32_t a, uint32_t b)
{
    uint32_t n = 0;
    if (a == b)
        return 0;
    for (size_t i = 0; i < p->nbridges && i < OFM_MAX_BRIDGE_LINKS; i++)
        n += (p->bridges[i].gpu_a == a && p->bridges[i].gpu_b == b) ||
             (p->bridges[i].gpu_a == b && p->bridges[i].gpu_b == a);
    return n;
}

uint32_t ofm_platform_nvlinks_between(const ofm_platform *p, uint32_t src, uint32_t dst)
{
    if (src == dst)
        return 0;
    if (p->nbridges)
        return ofm_platform_bridge_links(p, src, dst);
    /* switches with a direct link to dst */
    bool reaches[OFM_MAX_SWITCHES] = {false};
    for (size_t i = 0; i < p->naccess; i++)
        if (p->access[i].gpu == dst) {
            int s = sw_index(p, p->access[i].sw);
            if (s >= 0)
                reaches[s] = true;
        }
    /* ... or a trunk to such a switch (one hop: boards are pairwise cabled) */
    bool via_trunk[OFM_MAX_SWITCHES] = {false};
    for (size_t i = 0; i < p->ntrunks; i++) {
        int a = sw_index(p, p->trunks[i].sw_a), b = sw_index(p, p->trunks[i].sw_b);
        if (a < 0 || b < 0)
            continue;
        if (reaches[b])
            via_trunk[a] = true;
        if (reaches[a])
            via_trunk[b] = true;
    }
    uint32_t n = 0;
    for (size_t i = 0; i < p->naccess; i++)
        if (p->access[i].gpu == src) {
            int s = sw_index(p, p->access[i].sw);
            if (s >= 0 && (reaches[s] || via_trunk[s]))
                n++;
        }
    return n;
}

uint32_t ofm_platform_gpu_link_count(const ofm_platform *p, uint32_t gpu)
{
    uint32_t n = 0;
    for (size_t i = 0; i < p->naccess; i++)
        n += p->access[i].gpu == gpu;
    return n;
}

uint32_t ofm_platform_switch_link_count(const ofm_platform *p, uint32_t sw, uint32_t *trunks)
{
    uint32_t n = 0, t = 0;
    for (size_t i = 0; i < p->naccess; i++)
        n += p->access[i].sw == sw;
    for (size_t i = 0; i < p->ntrunks; i++)
        t += (p->trunks[i].sw_a == sw) + (p->trunks[i].sw_b == sw);
    if (trunks)
        *trunks = t;
    return n;
}
