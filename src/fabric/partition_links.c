/* Which NVLinks a partition routes over, when the guide gives it fewer than
 * its GPUs have. HGX-2's 4- and 2-GPU partitions and its cross-board 8-GPU
 * partitions get 5 of the 6 links per GPU (FM §11.1); the guide does not say
 * which link is left out, so openfm fixes one rule (docs/routing.md):
 *
 *   order each GPU's access links by the position of their switch among the
 *   switches of that switch's baseboard (model order), then by GPU link
 *   number, and keep the first N (N = the partition's NVLinks per GPU).
 *
 * On HGX-2 every GPU has one link to each of its board's six switches, so
 * every GPU of such a partition leaves out its link to the board's last
 * switch (6 on board 1, 12 on board 2). Leaving out the same switch position
 * everywhere keeps the partition symmetric: each GPU reaches each other over
 * exactly N links, and for cross-board partitions the left-out switches are
 * trunk peers (6 <-> 12), so no trunk leads to a switch the partition does
 * not use. Partitions whose count equals the GPUs' links are untouched. */
#include "fabric/fabric.h"

#include <string.h>

/* Position of switch `sw` among the switches of its baseboard, or -1. */
static int board_position(const ofm_platform *p, uint32_t sw)
{
    int si = ofm_fabric_switch_index(p, sw);
    if (si < 0)
        return -1;
    int pos = 0;
    for (int i = 0; i < si; i++)
        pos += p->switches[i].baseboard == p->switches[si].baseboard;
    return pos;
}

void ofm_partition_health(const ofm_platform *p, const ofm_fabric_health *base,
                          const ofm_partition_desc *d, ofm_fabric_health *out)
{
    if (base)
        *out = *base;
    else
        ofm_fabric_health_all_ok(p, out);
    if (d->ngpus < 2)
        return;
    for (uint32_t k = 0; k < d->ngpus; k++) {
        uint32_t gpu = d->gpus[k];
        if (ofm_fabric_gpu_usable_links(p, NULL, gpu) <= d->nvlinks_per_gpu)
            continue;
        /* Selection by rank: the link's rank is the number of the GPU's
         * links that sort before it; ranks >= N are left out. */
        for (size_t a = 0; a < p->naccess && a < OFM_MAX_ACCESS_LINKS; a++) {
            if (p->access[a].gpu != gpu)
                continue;
            int pa = board_position(p, p->access[a].sw);
            uint32_t rank = 0;
            for (size_t b = 0; b < p->naccess && b < OFM_MAX_ACCESS_LINKS; b++) {
                if (b == a || p->access[b].gpu != gpu)
                    continue;
                int pb = board_position(p, p->access[b].sw);
                if (pb < pa || (pb == pa && p->access[b].gpu_link < p->access[a].gpu_link))
                    rank++;
            }
            if (rank >= d->nvlinks_per_gpu)
                out->access_ok[a] = false;
        }
    }
}
