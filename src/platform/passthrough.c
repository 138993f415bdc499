/* Full-passthrough plans (FM §6.1-6.8). The guide tabulates, per board
 * family and VM size, how many NVSwitches and NVLinks a VM gets and how VMs
 * may be grouped; it does not say which ones. openfm derives them from the
 * wiring, with one fixed rule per family (docs/virtualization.md):
 *   - a VM never spans baseboards unless it takes both (16 GPUs);
 *   - GPUs are grouped in ascending physical ID order within their board:
 *     8 = the board, 4 = first/second half, 2 = consecutive pairs;
 *   - switches likewise: 8 = all of the board's, 4 = the first or last three
 *     (ascending ID), 2 = the board's k-th switch for the k-th pair;
 *   - a VM uses exactly the access links between its GPUs and its switches
 *     (and, at 16 GPUs, the trunks); every other link of its GPUs and
 *     switches must be disabled (FM §6.8). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "openfm/passthrough.h"

static const ofm_pt_guide_row guide[] = {
    {"HGX-2", 16, 12, 6, "16 of 18", "none"},
    {"HGX-2", 8, 6, 6, "8 of 18", "one set of eight GPUs per baseboard"},
    {"HGX-2", 4, 3, 3, "4 of 18", "two sets of four per baseboard"},
    {"HGX-2", 2, 1, 1, "2 of 18", "four sets of two per baseboard"},
    {"HGX-2", 1, 0, 0, "0 of 18", "none"},
    {"HGX A100", 16, 12, 12, "32 of 36", "two baseboards"},
    {"HGX A100", 8, 6, 12, "16 of 36", "one set of eight per baseboard"},
    {"HGX A100", 4, 3, 6, "6 of 36 (as printed; the wiring gives 8)", "two sets of four per baseboard"},
    {"HGX A100", 2, 1, 2, "4 of 36", "four sets of two per baseboard"},
    {"HGX A100", 1, 0, 0, "0 of 36", "none"},
    {"HGX H100", 8, 4, 18, "32 of 64 on two switches, 40 of 64 on the other two", "none"},
    {"HGX H100", 1, 0, 0, "0", "the GPU's NVLinks must be disabled"},
};

/* The family by switch generation, and the GPU NVLink count its table is for. */
static const char *family_of(const ofm_platform *p, uint32_t *links)
{
    if (!p->nswitches)
        return NULL;
    switch (p->switches[0].gen) {
    case OFM_SWITCH_GEN1: *links = 6; return "HGX-2";
    case OFM_SWITCH_GEN2: *links = 12; return "HGX A100";
    case OFM_SWITCH_GEN3: *links = 18; return "HGX H100";
    case OFM_SWITCH_GEN4: *links = 18; return "HGX B200";
    }
    return NULL;
}

static const ofm_pt_guide_row *row_of(const char *family, uint32_t size)
{
    for (size_t i = 0; i < sizeof guide / sizeof guide[0]; i++)
        if (!strcmp(guide[i].family, family) && guide[i].size == size)
            return &guide[i];
    return NULL;
}

static size_t boards(const ofm_platform *p, uint32_t *ids)
{
    size_t n = 0;
    for (size_t i = 0; i < p->ngpus; i++) {
        bool seen = false;
        for (size_t k = 0; k < n; k++)
            seen |= ids[k] == p->gpus[i].baseboard;
        if (!seen && n < 16)
            ids[n++] = p->gpus[i].baseboard;
    }
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && ids[j - 1] > ids[j]; j--) {
            uint32_t t = ids[j];
            ids[j] = ids[j - 1];
            ids[j - 1] = t;
        }
    return n;
}

static void sort_u32(uint32_t *v, size_t n)
{
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && v[j - 1] > v[j]; j--) {
            uint32_t t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
}

static size_t board_gpus(const ofm_platform *p, uint32_t board, uint32_t *out)
{
    size_t n = 0;
    for (size_t i = 0; i < p->ngpus; i++)
        if (p->gpus[i].baseboard == board)
            out[n++] = p->gpus[i].phys_id;
    sort_u32(out, n);
    return n;
}

static size_t board_switches(const ofm_platform *p, uint32_t board, uint32_t *out)
{
    size_t n = 0;
    for (size_t i = 0; i < p->nswitches; i++)
        if (p->switches[i].baseboard == board)
            out[n++] = p->switches[i].id;
    sort_u32(out, n);
    return n;
}

size_t ofm_pt_sizes(const ofm_platform *p, uint32_t *out, size_t cap)
{
    uint32_t links, b[16];
    const char *fam = family_of(p, &links);
    size_t n = 0, nb = boards(p, b);
    if (!fam)
        return 0;
    for (size_t i = 0; i < sizeof guide / sizeof guide[0] && n < cap; i++) {
        if (strcmp(guide[i].family, fam))
            continue;
        if (guide[i].size == 16 && nb < 2)
            continue;
        out[n++] = guide[i].size;
    }
    return n;
}

static bool has(const uint32_t *v, size_t n, uint32_t x)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] == x)
            return true;
    return false;
}

/* Fill the links of a plan whose GPUs and switches are set. */
static void links_of(const ofm_platform *p, ofm_pt_plan *pl)
{
    pl->naccess = pl->ngpu_block = pl->nsw_block = pl->ntrunk = pl->ntrunk_block = 0;
    for (size_t i = 0; i < p->naccess; i++) {
        const ofm_access_link *a = &p->access[i];
        bool g = has(pl->gpus, pl->ngpus, a->gpu), s = has(pl->switches, pl->nswitches, a->sw);
        if (g && s)
            pl->access[pl->naccess++] = (uint16_t)i;
        else if (g)
            pl->gpu_block[pl->ngpu_block++] = (uint16_t)i;
        else if (s)
            pl->sw_block[pl->nsw_block++] = (uint16_t)i;
    }
    for (size_t i = 0; i < p->ntrunks; i++) {
        bool a = has(pl->switches, pl->nswitches, p->trunks[i].sw_a),
             b = has(pl->switches, pl->nswitches, p->trunks[i].sw_b);
        if (a && b)
            pl->trunk[pl->ntrunk++] = (uint16_t)i;
        else if (a || b)
            pl->trunk_block[pl->ntrunk_block++] = (uint16_t)i;
    }
    pl->gpu_links_min = pl->sw_links_min = UINT32_MAX;
    pl->gpu_links_max = pl->sw_links_max = 0;
    for (size_t k = 0; k < pl->ngpus; k++) {
        uint32_t c = 0;
        for (size_t i = 0; i < pl->naccess; i++)
            c += p->access[pl->access[i]].gpu == pl->gpus[k];
        pl->gpu_links_min = c < pl->gpu_links_min ? c : pl->gpu_links_min;
        pl->gpu_links_max = c > pl->gpu_links_max ? c : pl->gpu_links_max;
    }
    for (size_t k = 0; k < pl->nswitches; k++) {
        uint32_t c = 0;
        for (size_t i = 0; i < pl->naccess; i++)
            c += p->access[pl->access[i]].sw == pl->switches[k];
        /* the guide counts a 16-GPU VM's trunk ports too (32 of 36) */
        for (size_t i = 0; i < pl->ntrunk; i++)
            c += (p->trunks[pl->trunk[i]].sw_a == pl->switches[k]) +
                 (p->trunks[pl->trunk[i]].sw_b == pl->switches[k]);
        pl->sw_links_min = c < pl->sw_links_min ? c : pl->sw_links_min;
        pl->sw_links_max = c > pl->sw_links_max ? c : pl->sw_links_max;
    }
    if (!pl->nswitches)
        pl->sw_links_min = 0;
}

int ofm_pt_plans(const ofm_platform *p, uint32_t size, ofm_pt_plan *out, size_t *n, char *why,
                 size_t whylen)
{
    *n = 0;
    uint32_t links, b[16], sizes[8];
    const char *fam = family_of(p, &links);
    if (!fam) {
        snprintf(why, whylen, "%s has no NVSwitch: there is nothing to plan; pass GPUs joined by "
                              "an NVLink bridge to the same VM together",
                 p->name);
        return -1;
    }
    size_t nsizes = ofm_pt_sizes(p, sizes, 8), nb = boards(p, b);
    if (!has(sizes, nsizes, size)) {
        char list[64] = "";
        for (size_t i = 0, o = 0; i < nsizes && o < sizeof list; i++)
            o += (size_t)snprintf(list + o, sizeof list - o, "%s%" PRIu32, i ? ", " : "", sizes[i]);
        snprintf(why, whylen, "%s (%s) supports full-passthrough VMs of %s GPUs, not %" PRIu32
                              "%s (FM §6.1)",
                 p->name, fam, list, size,
                 size == 16 ? ": 16-GPU VMs need two baseboards"
                 : (size == 2 || size == 4) && !strcmp(fam, "HGX H100")
                     ? ": the guide gives H100-class boards no 2- or 4-GPU passthrough "
                       "configuration (their NVSwitches are shared by all eight GPUs); use "
                       "shared NVSwitch mode"
                     : "");
        return -1;
    }
    const ofm_pt_guide_row *row = row_of(fam, size);
    size_t k = 0;
    if (size == 16) {
        ofm_pt_plan *pl = &out[k++];
        memset(pl, 0, sizeof *pl);
        for (size_t i = 0; i < p->ngpus; i++)
            pl->gpus[pl->ngpus++] = p->gpus[i].phys_id;
        for (size_t i = 0; i < p->nswitches; i++)
            pl->switches[pl->nswitches++] = p->switches[i].id;
        sort_u32(pl->gpus, pl->ngpus);
        sort_u32(pl->switches, pl->nswitches);
    } else {
        for (size_t bi = 0; bi < nb; bi++) {
            uint32_t g[OFM_MAX_GPUS], s[OFM_MAX_SWITCHES];
            size_t ng = board_gpus(p, b[bi], g), ns = board_switches(p, b[bi], s);
            /* switches per VM: all for 8, half for 4, one for 2 (FM §6.1) */
            size_t per = size == 1 ? 0 : size == 8 ? ns : size == 4 ? ns / 2 : 1;
            for (size_t first = 0, set = 0; first + size <= ng; first += size, set++) {
                if (k == OFM_PT_MAX_PLANS || (per && (set + 1) * per > ns))
                    break;
                ofm_pt_plan *pl = &out[k++];
                memset(pl, 0, sizeof *pl);
                for (size_t i = 0; i < size; i++)
                    pl->gpus[pl->ngpus++] = g[first + i];
                for (size_t i = 0; i < per; i++)
                    pl->switches[pl->nswitches++] = s[set * per + i];
            }
        }
    }
    for (size_t i = 0; i < k; i++) {
        out[i].size = size;
        out[i].set = (uint32_t)i + 1;
        out[i].nsets = (uint32_t)k;
        out[i].guide = p->gpus[0].nvlinks == links ? row : NULL;
        links_of(p, &out[i]);
    }
    *n = k;
    if (!k) {
        snprintf(why, whylen, "%s has no set of %" PRIu32 " GPUs on one baseboard", p->name, size);
        return -1;
    }
    return 0;
}

int ofm_pt_plan_for(const ofm_platform *p, const uint32_t *gpus, size_t ngpus, ofm_pt_plan *out,
                    char *why, size_t whylen)
{
    static ofm_pt_plan plans[OFM_PT_MAX_PLANS];
    size_t n = 0;
    for (size_t i = 0; i < ngpus; i++)
        if (!ofm_platform_gpu(p, gpus[i])) {
            snprintf(why, whylen, "%s has no GPU %" PRIu32, p->name, gpus[i]);
            return -1;
        }
    if (ofm_pt_plans(p, (uint32_t)ngpus, plans, &n, why, whylen))
        return -1;
    uint32_t want[OFM_MAX_GPUS];
    memcpy(want, gpus, ngpus * sizeof *want);
    sort_u32(want, ngpus);
    for (size_t i = 0; i + 1 < ngpus; i++)
        if (want[i] == want[i + 1]) {
            snprintf(why, whylen, "GPU %" PRIu32 " is listed twice", want[i]);
            return -1;
        }
    for (size_t i = 0; i < n; i++)
        if (!memcmp(plans[i].gpus, want, ngpus * sizeof *want)) {
            *out = plans[i];
            return 0;
        }
    size_t o = (size_t)snprintf(why, whylen, "these GPUs cannot form a %zu-GPU passthrough VM: "
                                             "the %zu-GPU sets are", ngpus, ngpus);
    for (size_t i = 0; i < n && o < whylen; i++) {
        o += (size_t)snprintf(why + o, whylen - o, "%s {", i ? "," : "");
        for (size_t g = 0; g < plans[i].ngpus && o < whylen; g++)
            o += (size_t)snprintf(why + o, whylen - o, "%s%" PRIu32, g ? "," : "", plans[i].gpus[g]);
        if (o < whylen)
            o += (size_t)snprintf(why + o, whylen - o, "}");
    }
    if (o < whylen && plans[0].guide)
        snprintf(why + o, whylen - o, " (%s)", plans[0].guide->constraint);
    return -1;
}

int ofm_pt_guest_topology(const ofm_platform *p, const ofm_pt_plan *pl, FILE *f)
{
    fprintf(f, "# Guest topology of a %" PRIu32 "-GPU full-passthrough VM on %s (set %" PRIu32
               " of %" PRIu32 "), written by 'fmctl passthrough plan'.\n"
               "# The VM's GPUs, NVSwitches and the NVLinks between them; IDs, link and port\n"
               "# numbers as on the host. Load it in the guest (TOPOLOGY_FILE_PATH, or\n"
               "# fmctl emu create --platform FILE to rehearse).\n",
            pl->size, p->name, pl->set, pl->nsets);
    fprintf(f, "platform %.40s-vm%" PRIu32 "g%" PRIu32 "\n", p->name, pl->size, pl->set);
    fprintf(f, "description \"%" PRIu32 "-GPU passthrough VM of %.60s\"\n", pl->size, p->name);
    fprintf(f, "ali %s\n", p->ali ? "yes" : "no");
    for (size_t i = 0; i < pl->ngpus; i++) {
        const ofm_gpu_desc *g = ofm_platform_gpu(p, pl->gpus[i]);
        fprintf(f, "gpu %" PRIu32 " model=%s nvlinks=%" PRIu32 " rate=%" PRIu32 " board=%" PRIu32
                   "\n", g->phys_id, g->model, g->nvlinks, g->line_rate_mbps, g->baseboard);
    }
    for (size_t i = 0; i < pl->nswitches; i++) {
        const ofm_switch_desc *s = ofm_platform_switch(p, pl->switches[i]);
        fprintf(f, "switch %" PRIu32 " gen=%d ports=%" PRIu32 " board=%" PRIu32 "\n", s->id,
                (int)s->gen, s->nports, s->baseboard);
    }
    for (size_t i = 0; i < pl->naccess; i++) {
        const ofm_access_link *a = &p->access[pl->access[i]];
        fprintf(f, "access gpu=%" PRIu32 " link=%" PRIu32 " switch=%" PRIu32 " port=%" PRIu32 "\n",
                a->gpu, a->gpu_link, a->sw, a->sw_port);
    }
    for (size_t i = 0; i < pl->ntrunk; i++) {
        const ofm_trunk_link *t = &p->trunks[pl->trunk[i]];
        fprintf(f, "trunk %" PRIu32 ":%" PRIu32 " %" PRIu32 ":%" PRIu32 "\n", t->sw_a, t->port_a,
                t->sw_b, t->port_b);
    }
    if (pl->nswitches) {
        /* the whole VM as the one partition a shared-mode guest could use */
        fprintf(f, "partition 0 gpus=");
        for (size_t i = 0; i < pl->ngpus; i++)
            fprintf(f, "%s%" PRIu32, i ? "," : "", pl->gpus[i]);
        fprintf(f, " nvlinks=%" PRIu32 "\n", pl->gpu_links_min);
    }
    return ferror(f) ? -1 : 0;
}
