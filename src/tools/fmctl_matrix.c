/* Tray-by-tray rendering of a GPU link-count matrix (fmctl_matrix.h). */
#include "tools/fmctl_matrix.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

bool fmctl_matrix_summarise(const ofm_platform *p, bool full)
{
    return ofm_platform_is_rack(p) && !full;
}

void fmctl_id_list(const uint32_t *ids, size_t n, char *buf, size_t len)
{
    size_t off = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && off < len; i++) {
        size_t j = i;
        while (j + 1 < n && ids[j + 1] == ids[j] + 1)
            j++;
        int w;
        if (j >= i + 2) /* three or more consecutive IDs read better as a range */
            w = snprintf(buf + off, len - off, "%s%" PRIu32 "-%" PRIu32, off ? "," : "", ids[i],
                         ids[j]);
        else {
            j = i;
            w = snprintf(buf + off, len - off, "%s%" PRIu32, off ? "," : "", ids[i]);
        }
        if (w < 0)
            break;
        off += (size_t)w;
        i = j;
    }
}

void fmctl_matrix_tray_cell(const ofm_platform *p, const fmctl_matrix_src *m, uint32_t a,
                            uint32_t b, uint32_t *lo, uint32_t *hi)
{
    uint32_t ga[OFM_MAX_GPUS], gb[OFM_MAX_GPUS];
    size_t na = ofm_platform_tray_gpus(p, a, ga, OFM_MAX_GPUS),
           nb = ofm_platform_tray_gpus(p, b, gb, OFM_MAX_GPUS);
    bool any = false;
    *lo = *hi = 0;
    for (size_t i = 0; i < na && i < OFM_MAX_GPUS; i++)
        for (size_t j = 0; j < nb && j < OFM_MAX_GPUS; j++) {
            if (ga[i] == gb[j])
                continue;
            uint32_t n = m->links(m->ctx, ga[i], gb[j]);
            if (!any || n < *lo)
                *lo = n;
            if (!any || n > *hi)
                *hi = n;
            any = true;
        }
}

json_object *fmctl_matrix_tray_json(const ofm_platform *p, const fmctl_matrix_src *m)
{
    json_object *rows = json_object_new_array();
    for (size_t i = 0; i < p->ncompute_trays; i++) {
        json_object *r = json_object_new_object(), *c = json_object_new_object();
        json_object_object_add(r, "tray", json_object_new_int64(p->compute_trays[i]));
        for (size_t j = 0; j < p->ncompute_trays; j++) {
            uint32_t lo, hi;
            fmctl_matrix_tray_cell(p, m, p->compute_trays[i], p->compute_trays[j], &lo, &hi);
            json_object *cell = json_object_new_object();
            json_object_object_add(cell, "min_nvlinks", json_object_new_int64(lo));
            json_object_object_add(cell, "max_nvlinks", json_object_new_int64(hi));
            char key[16];
            snprintf(key, sizeof key, "%" PRIu32, p->compute_trays[j]);
            json_object_object_add(c, key, cell);
        }
        json_object_object_add(r, "to_tray", c);
        json_object_array_add(rows, r);
    }
    return rows;
}

static void cell_text(const fmctl_matrix_src *m, uint32_t lo, uint32_t hi, char *c, size_t len)
{
    const char *pre = m->nv_style ? "NV" : "";
    if (!hi && m->nv_style)
        snprintf(c, len, "-");
    else if (lo == hi)
        snprintf(c, len, "%s%" PRIu32, pre, lo);
    else
        snprintf(c, len, "%s%" PRIu32 "-%" PRIu32, pre, lo, hi);
}

void fmctl_matrix_tray_text(const ofm_platform *p, const fmctl_matrix_src *m, const char *full_hint)
{
    size_t nt = p->ncompute_trays < OFM_MAX_TRAYS ? p->ncompute_trays : OFM_MAX_TRAYS;
    static char cell[OFM_MAX_TRAYS][OFM_MAX_TRAYS][16];
    int w = 4; /* columns as narrow as the widest cell allows */
    size_t uneven = 0;
    for (size_t i = 0; i < nt; i++)
        for (size_t j = 0; j < nt; j++) {
            uint32_t lo, hi;
            fmctl_matrix_tray_cell(p, m, p->compute_trays[i], p->compute_trays[j], &lo, &hi);
            cell_text(m, lo, hi, cell[i][j], sizeof cell[i][j]);
            uneven += lo != hi;
            char h[16];
            int hl = snprintf(h, sizeof h, "T%" PRIu32, p->compute_trays[j]);
            int l = (int)strlen(cell[i][j]) > hl ? (int)strlen(cell[i][j]) : hl;
            if (l > w)
                w = l;
        }
    printf("%-6s", "");
    for (size_t j = 0; j < nt; j++) {
        char h[16];
        snprintf(h, sizeof h, "T%" PRIu32, p->compute_trays[j]);
        printf("%-*s", w + 1, h);
    }
    printf("GPUs\n");
    uint32_t ids[OFM_MAX_GPUS];
    for (size_t i = 0; i < nt; i++) {
        char h[16], list[512];
        snprintf(h, sizeof h, "T%" PRIu32, p->compute_trays[i]);
        printf("%-6s", h);
        for (size_t j = 0; j < nt; j++)
            printf("%-*s", w + 1, cell[i][j]);
        size_t n = ofm_platform_tray_gpus(p, p->compute_trays[i], ids, OFM_MAX_GPUS);
        fmctl_id_list(ids, n < OFM_MAX_GPUS ? n : OFM_MAX_GPUS, list, sizeof list);
        printf("%s\n", list);
    }
    const char *pre = m->nv_style ? "NV" : "";
    printf("\nLegend:\n  T#      = compute tray #\n"
           "  %s#%*s= from every GPU of the row tray to every other GPU of the column tray\n"
           "            (the diagonal: within the tray): # %s\n"
           "  %s#-#%*s= the counts differ between GPU pairs (fewest-most); %s shows each\n",
           pre, 7 - (int)strlen(pre), "", m->what, pre, 5 - (int)strlen(pre), "", full_hint);
    if (m->nv_style)
        printf("  -       = No NVLink path\n");
    printf("  %zu GPUs in %zu compute trays, %zu NVSwitches in %zu switch trays; "
           "%zu tray pair(s) uneven\n",
           p->ngpus, p->ncompute_trays, p->nswitches, p->nswitch_trays, uneven);
}
