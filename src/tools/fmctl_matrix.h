/* The rack-scale form of a GPU x GPU link-count matrix, shared by every fmctl
 * view that prints one (topo matrix, audit, emu probe --all): on a domain with
 * compute trays, 72 x 72 numbers do not fit a terminal, so the default text is
 * one row and column per compute tray. Each view supplies the count of one
 * ordered GPU pair; the renderer knows nothing of where it came from. */
#ifndef OFM_FMCTL_MATRIX_H
#define OFM_FMCTL_MATRIX_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "openfm/platform.h"

/* NVLinks from GPU src to GPU dst (physical IDs), as the view sees them. */
typedef uint32_t (*fmctl_pair_links_fn)(const void *ctx, uint32_t src, uint32_t dst);

typedef struct {
    fmctl_pair_links_fn links;
    const void *ctx;
    /* cell style: true prints NV<n> and "-" for none (nvidia-smi topo), false
     * bare numbers with 0 (nvswitch-audit) */
    bool nv_style;
    const char *what; /* legend: what a count is, e.g. "NVLinks programmed" */
} fmctl_matrix_src;

/* True when the view should print the tray summary: a rack-scale platform
 * and no request for every GPU. */
bool fmctl_matrix_summarise(const ofm_platform *p, bool full);

/* The smallest and largest count over every ordered pair of distinct GPUs
 * from compute tray a to compute tray b. */
void fmctl_matrix_tray_cell(const ofm_platform *p, const fmctl_matrix_src *m, uint32_t a,
                            uint32_t b, uint32_t *lo, uint32_t *hi);

/* Prints the tray x tray summary with its legend; full_hint names the option
 * that prints every GPU. */
void fmctl_matrix_tray_text(const ofm_platform *p, const fmctl_matrix_src *m, const char *full_hint);

/* [{"tray": T, "to_tray": {"U": {"min_nvlinks": a, "max_nvlinks": b}}}] */
json_object *fmctl_matrix_tray_json(const ofm_platform *p, const fmctl_matrix_src *m);

/* "1-4,7": three or more consecutive IDs as a range. */
void fmctl_id_list(const uint32_t *ids, size_t n, char *buf, size_t len);

#endif
