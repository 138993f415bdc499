/* Placement engine: exact search over memory-slice placements.
 *
 * Counts, the single media-engine set and compute slices do not depend on
 * where instances go, so they are checked up front; what remains is packing
 * intervals on a grid of at most 16 slices. A depth-first search, largest
 * profiles first and starts in catalog order, memoises failed
 * (depth, used-slice mask) states, so it is exact and deterministic and
 * visits at most depth x 2^slices states. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mig/mig.h"

typedef struct {
    char *s;
    size_t len, pos;
} sbuf;

static void sb_add(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_add(sbuf *b, const char *fmt, ...)
{
    if (!b->s || b->pos >= b->len)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->s + b->pos, b->len - b->pos, fmt, ap);
    va_end(ap);
    if (n > 0)
        b->pos = b->pos + (size_t)n >= b->len ? b->len - 1 : b->pos + (size_t)n;
}

static uint32_t range_mask(uint32_t start, uint32_t size)
{
    return ((1u << size) - 1u) << start;
}

static void sb_range(sbuf *b, uint32_t start, uint32_t size)
{
    if (size == 1)
        sb_add(b, "%u", start);
    else
        sb_add(b, "%u-%u", start, start + size - 1);
}

/* "3g.40gb needs slices 0-3 or 4-7; slices 0-1 are used by GI 1 (2g.20gb), 4-7 by GI 2 (4g.40gb)" */
static void explain_overlap(const ofm_mig_catalog *c, const ofm_mig_placed *exist, size_t nexist,
                            const ofm_mig_gi_profile *p, const uint32_t *starts, size_t nstarts,
                            sbuf *b)
{
    sb_add(b, "%s needs slices ", p->name);
    for (size_t i = 0; i < nstarts; i++) {
        sb_add(b, "%s", i == 0 ? "" : i + 1 == nstarts ? " or " : ", ");
        sb_range(b, starts[i], p->slices);
    }
    uint32_t want = 0;
    for (size_t i = 0; i < nstarts; i++)
        want |= range_mask(starts[i], p->slices);
    bool first = true;
    for (size_t i = 0; i < nexist; i++) {
        const ofm_mig_gi_profile *q = ofm_mig_profile_by_id(c, exist[i].profile_id);
        if (!q || !(range_mask(exist[i].start, q->slices) & want))
            continue;
        sb_add(b, "%s", !first ? ", " : q->slices == 1 ? "; slice " : "; slices ");
        sb_range(b, exist[i].start, q->slices);
        sb_add(b, "%s by GI %u (%s)", !first ? "" : q->slices == 1 ? " is used" : " are used",
               exist[i].gi_id, q->name);
        first = false;
    }
}

static uint32_t used_mask(const ofm_mig_catalog *c, const ofm_mig_placed *exist, size_t nexist)
{
    uint32_t m = 0;
    for (size_t i = 0; i < nexist; i++) {
        const ofm_mig_gi_profile *q = ofm_mig_profile_by_id(c, exist[i].profile_id);
        if (q)
            m |= range_mask(exist[i].start, q->slices);
    }
    return m;
}

/* Rules that do not depend on placement, for the existing set plus `add`. */
static int check_counts(const ofm_mig_catalog *c, const ofm_mig_placed *exist, size_t nexist,
                        const ofm_mig_gi_profile *const *add, size_t nadd, bool compute_too,
                        sbuf *b)
{
    uint32_t compute = 0, media = 0;
    const char *media_by = NULL;
    uint32_t media_gi = 0;
    for (size_t i = 0; i < nexist; i++) {
        const ofm_mig_gi_profile *q = ofm_mig_profile_by_id(c, exist[i].profile_id);
        if (!q)
            continue;
        compute += q->compute;
        if (q->media && !media++) {
            media_by = q->name;
            media_gi = exist[i].gi_id;
        }
    }
    for (size_t i = 0; i < nadd; i++) {
        compute += add[i]->compute;
        if (add[i]->media)
            media++;
        uint32_t n = 0;
        for (size_t j = 0; j < nexist; j++)
            n += exist[j].profile_id == add[i]->id;
        for (size_t j = 0; j < nadd; j++)
            n += add[j] == add[i];
        if (n > add[i]->max) {
            sb_add(b, "at most %u instance%s of %s", add[i]->max, add[i]->max == 1 ? "" : "s",
                   add[i]->name);
            return -1;
        }
    }
    if (media > 1) {
        sb_add(b, "at most 1 instance with media engines (+me) per GPU");
        if (media_by)
            sb_add(b, ": GI %u (%s) has them", media_gi, media_by);
        return -1;
    }
    if (compute_too && compute > c->compute_slices) {
        sb_add(b, "needs %u compute slices, the GPU has %u", compute, c->compute_slices);
        return -1;
    }
    return 0;
}

int ofm_mig_check(const ofm_mig_catalog *c, const ofm_mig_placed *exist, size_t nexist,
                  const ofm_mig_gi_profile *p, uint32_t start, char *why, size_t whylen)
{
    sbuf b = {why, whylen, 0};
    if (why && whylen)
        why[0] = 0;
    bool valid = false;
    for (size_t i = 0; i < p->nplacements; i++)
        valid |= p->placements[i] == start;
    if (!valid) {
        sb_add(&b, "%s cannot start at slice %u; valid starts:", p->name, start);
        for (size_t i = 0; i < p->nplacements; i++)
            sb_add(&b, " %u", p->placements[i]);
        return -1;
    }
    if (check_counts(c, exist, nexist, &p, 1, false, &b))
        return -1;
    if (used_mask(c, exist, nexist) & range_mask(start, p->slices)) {
        explain_overlap(c, exist, nexist, p, &start, 1, &b);
        return -1;
    }
    return check_counts(c, exist, nexist, &p, 1, true, &b);
}

typedef struct {
    const ofm_mig_gi_profile **items; /* sorted */
    size_t n;
    uint8_t *failed;                  /* bit per (depth, mask) */
    uint32_t nmasks;
    uint32_t *starts;
} search;

static bool dfs(search *s, size_t depth, uint32_t mask)
{
    if (depth == s->n)
        return true;
    size_t bit = depth * s->nmasks + mask;
    if (s->failed[bit / 8] & (1u << (bit % 8)))
        return false;
    const ofm_mig_gi_profile *p = s->items[depth];
    for (size_t i = 0; i < p->nplacements; i++) {
        uint32_t r = range_mask(p->placements[i], p->slices);
        if (mask & r)
            continue;
        s->starts[depth] = p->placements[i];
        if (dfs(s, depth + 1, mask | r))
            return true;
    }
    s->failed[bit / 8] |= (uint8_t)(1u << (bit % 8));
    return false;
}

static int by_size_desc(const void *a, const void *b)
{
    const ofm_mig_gi_profile *p = *(const ofm_mig_gi_profile *const *)a;
    const ofm_mig_gi_profile *q = *(const ofm_mig_gi_profile *const *)b;
    if (p->slices != q->slices)
        return p->slices > q->slices ? -1 : 1;
    if (p->nplacements != q->nplacements) /* most constrained first */
        return p->nplacements < q->nplacements ? -1 : 1;
    if (p->compute != q->compute)
        return p->compute > q->compute ? -1 : 1;
    return p->id < q->id ? -1 : p->id > q->id;
}

int ofm_mig_place(const ofm_mig_catalog *c, const ofm_mig_placed *exist, size_t nexist,
                  const uint32_t *want, size_t nwant, uint32_t *out, char *why, size_t whylen)
{
    sbuf b = {why, whylen, 0};
    if (why && whylen)
        why[0] = 0;
    if (nwant > OFM_MIG_MAX_GIS) {
        sb_add(&b, "%zu instances requested; a GPU holds at most %u", nwant, c->mem_slices);
        return -1;
    }
    const ofm_mig_gi_profile *items[OFM_MIG_MAX_GIS];
    for (size_t i = 0; i < nwant; i++) {
        items[i] = ofm_mig_profile_by_id(c, want[i]);
        if (!items[i]) {
            sb_add(&b, "profile ID %u does not exist on %s", want[i], c->name);
            return -1;
        }
    }
    if (check_counts(c, exist, nexist, items, nwant, false, &b))
        return -1;
    /* a profile with every placement taken is the clearest reason */
    uint32_t base = used_mask(c, exist, nexist);
    for (size_t i = 0; i < nwant; i++) {
        const ofm_mig_gi_profile *p = items[i];
        bool any = false;
        for (size_t k = 0; k < p->nplacements; k++)
            any |= !(base & range_mask(p->placements[k], p->slices));
        if (!any) {
            explain_overlap(c, exist, nexist, p, p->placements, p->nplacements, &b);
            return -1;
        }
    }
    if (check_counts(c, exist, nexist, items, nwant, true, &b))
        return -1;
    const ofm_mig_gi_profile *sorted[OFM_MIG_MAX_GIS];
    memcpy(sorted, items, nwant * sizeof items[0]);
    qsort(sorted, nwant, sizeof sorted[0], by_size_desc);
    uint32_t starts[OFM_MIG_MAX_GIS];
    search s = {sorted, nwant, NULL, 1u << c->mem_slices, starts};
    s.failed = calloc(((size_t)nwant + 1) * s.nmasks / 8 + 1, 1);
    if (!s.failed) {
        sb_add(&b, "out of memory");
        return -1;
    }
    bool ok = dfs(&s, 0, base);
    free(s.failed);
    if (ok) {
        /* map sorted results back to the caller's order */
        bool taken[OFM_MIG_MAX_GIS] = {false};
        for (size_t i = 0; i < nwant; i++)
            for (size_t j = 0; j < nwant; j++)
                if (!taken[j] && sorted[j] == items[i]) {
                    taken[j] = true;
                    out[i] = starts[j];
                    break;
                }
        return 0;
    }
    /* each fits somewhere on its own, but the combination does not pack */
    sb_add(&b, "no arrangement of");
    for (size_t i = 0; i < nwant; i++)
        sb_add(&b, "%s %s", i ? "," : "", sorted[i]->name);
    uint32_t need = 0;
    for (size_t i = 0; i < nwant; i++)
        need += sorted[i]->slices;
    sb_add(&b, " fits: they need %u memory slices at their allowed starts; free slices:", need);
    bool any = false;
    for (uint32_t i = 0; i < c->mem_slices;) {
        if (base & (1u << i)) {
            i++;
            continue;
        }
        uint32_t j = i;
        while (j < c->mem_slices && !(base & (1u << j)))
            j++;
        sb_add(&b, " ");
        sb_range(&b, i, j - i);
        any = true;
        i = j;
    }
    if (!any)
        sb_add(&b, " none");
    return -1;
}
