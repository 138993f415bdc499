/* Routing plans: build for a GPU set, merge, diff, and the reachability walk
 * the routing audit uses. Destination-based: an entry says "on switch s,
 * traffic entering port p for GPU d leaves on these ports". */
#include "fabric/fabric.h"
#include "fabric/portmap.h"

#include <stdlib.h>
#include <string.h>

void ofm_route_plan_init(ofm_route_plan *pl) { memset(pl, 0, sizeof *pl); }

void ofm_route_plan_free(ofm_route_plan *pl)
{
    free(pl->e);
    memset(pl, 0, sizeof *pl);
}

static int plan_push(ofm_route_plan *pl, uint32_t sw, uint32_t in_port, uint32_t dst,
                     ofm_portset egress)
{
    if (pl->n == pl->cap) {
        size_t cap = pl->cap ? pl->cap * 2 : 256;
        ofm_route_entry *e = realloc(pl->e, cap * sizeof *e);
        if (!e)
            return -1;
        pl->e = e;
        pl->cap = cap;
    }
    pl->e[pl->n++] = (ofm_route_entry){.sw = sw, .in_port = in_port, .dst_gpu = dst, .egress = egress};
    return 0;
}

static int entry_cmp(const void *a, const void *b)
{
    const ofm_route_entry *x = a, *y = b;
    if (x->sw != y->sw)
        return x->sw < y->sw ? -1 : 1;
    if (x->in_port != y->in_port)
        return x->in_port < y->in_port ? -1 : 1;
    if (x->dst_gpu != y->dst_gpu)
        return x->dst_gpu < y->dst_gpu ? -1 : 1;
    return 0;
}

/* Sort and fold duplicate keys (egress OR-ed), dropping empty egress sets unless
 * keep_clears. */
static void plan_normalise(ofm_route_plan *pl, bool keep_clears)
{
    /* Plans are built, read back and merged in key order almost always: a
     * scan is O(n) where sorting a rack's 92016 entries again is not. */
    bool sorted = true;
    for (size_t i = 1; i < pl->n && sorted; i++)
        sorted = entry_cmp(&pl->e[i - 1], &pl->e[i]) <= 0;
    if (!sorted)
        qsort(pl->e, pl->n, sizeof *pl->e, entry_cmp);
    size_t w = 0;
    for (size_t r = 0; r < pl->n; r++) {
        if (!keep_clears && ofm_portset_empty(pl->e[r].egress))
            continue;
        if (w > 0 && entry_cmp(&pl->e[w - 1], &pl->e[r]) == 0)
            pl->e[w - 1].egress = ofm_portset_or(pl->e[w - 1].egress, pl->e[r].egress);
        else
            pl->e[w++] = pl->e[r];
    }
    pl->n = w;
}

typedef struct {
    bool inset[OFM_MAX_GPUS];
    ofm_portset direct[OFM_MAX_SWITCHES][OFM_MAX_GPUS];  /* usable access ports of s to d */
    bool has_src[OFM_MAX_SWITCHES][OFM_MAX_GPUS];      /* s has an access port of a set GPU other than d */
} build_scratch;

int ofm_route_plan_build(const ofm_platform *p, const ofm_fabric_health *h, const uint32_t *gpus,
                         size_t n, ofm_route_plan *out)
{
    out->n = 0;
    ofm_portmap *m = ofm_portmap_build(p);
    build_scratch *s = calloc(1, sizeof *s);
    if (!m || !s)
        goto fail;

    size_t ngpus = p->ngpus < OFM_MAX_GPUS ? p->ngpus : OFM_MAX_GPUS;
    size_t nsw = p->nswitches < OFM_MAX_SWITCHES ? p->nswitches : OFM_MAX_SWITCHES;
    if (!gpus) {
        for (size_t i = 0; i < ngpus; i++)
            s->inset[i] = true;
    } else {
        for (size_t i = 0; i < n; i++) {
            int gi = ofm_fabric_gpu_index(p, gpus[i]);
            if (gi < 0)
                goto fail;
            s->inset[gi] = true;
        }
    }
    for (size_t i = 0; i < ngpus; i++)
        if (h && !h->gpu_ok[i])
            s->inset[i] = false;

    /* One pass over the access links: direct egress per (switch, GPU). */
    for (size_t a = 0; a < p->naccess && a < OFM_MAX_ACCESS_LINKS; a++) {
        if (!ofm_portmap_access_usable(m, h, (int)a))
            continue;
        int gi = m->gpu_of_access[a], si = m->sw_of_access[a];
        if (!s->inset[gi])
            continue;
        ofm_portset_add(&s->direct[si][gi], p->access[a].sw_port);
        for (size_t d = 0; d < ngpus; d++)
            if ((int)d != gi)
                s->has_src[si][d] = true;
    }

    for (size_t si = 0; si < nsw; si++) {
        uint32_t sw = p->switches[si].id;
        uint32_t nports = p->switches[si].nports < OFM_MAX_SWITCH_PORTS ? p->switches[si].nports
                                                                        : OFM_MAX_SWITCH_PORTS;
        if (h && !h->switch_ok[si])
            continue;
        /* Egress per destination: direct ports, else trunks to a switch that
         * has direct ports to it (documented boards need one hop at most). */
        ofm_portset egress[OFM_MAX_GPUS] = {{{0, 0}}};
        for (size_t d = 0; d < ngpus; d++) {
            if (!s->inset[d])
                continue;
            egress[d] = s->direct[si][d];
            if (!ofm_portset_empty(egress[d]))
                continue;
            for (uint32_t port = 0; port < nports; port++) {
                int t = m->trunk[si][port];
                if (!ofm_portmap_trunk_usable(m, h, t))
                    continue;
                int other = m->trunk_sw_a[t] == (int)si ? m->trunk_sw_b[t] : m->trunk_sw_a[t];
                if (!ofm_portset_empty(s->direct[other][d]))
                    ofm_portset_add(&egress[d], port);
            }
        }
        for (uint32_t port = 0; port < nports; port++) {
            int a = m->access[si][port];
            int t = m->trunk[si][port];
            if (a >= 0) {
                if (!ofm_portmap_access_usable(m, h, a))
                    continue;
                int src = m->gpu_of_access[a];
                if (!s->inset[src])
                    continue;
                for (size_t d = 0; d < ngpus; d++)
                    if ((int)d != src && s->inset[d] && !ofm_portset_empty(egress[d]) &&
                        plan_push(out, sw, port, p->gpus[d].phys_id, egress[d]) < 0)
                        goto fail;
            } else if (t >= 0) {
                /* Traffic arriving over a trunk is delivered locally; only
                 * destinations the far switch sends this way get an entry. */
                if (!ofm_portmap_trunk_usable(m, h, t))
                    continue;
                int other = m->trunk_sw_a[t] == (int)si ? m->trunk_sw_b[t] : m->trunk_sw_a[t];
                for (size_t d = 0; d < ngpus; d++)
                    if (s->inset[d] && !ofm_portset_empty(s->direct[si][d]) &&
                        ofm_portset_empty(s->direct[other][d]) &&
                        s->has_src[other][d] &&
                        plan_push(out, sw, port, p->gpus[d].phys_id, s->direct[si][d]) < 0)
                        goto fail;
            }
        }
    }
    plan_normalise(out, false);
    free(m);
    free(s);
    return 0;
fail:
    free(m);
    free(s);
    out->n = 0;
    return -1;
}

int ofm_route_plan_merge(ofm_route_plan *dst, const ofm_route_plan *src)
{
    for (size_t i = 0; i < src->n; i++) {
        const ofm_route_entry *e = &src->e[i];
        if (plan_push(dst, e->sw, e->in_port, e->dst_gpu, e->egress) < 0)
            return -1;
    }
    plan_normalise(dst, false);
    return 0;
}

static int plan_copy_sorted(const ofm_route_plan *in, ofm_route_plan *out)
{
    ofm_route_plan_init(out);
    for (size_t i = 0; i < in->n; i++)
        if (plan_push(out, in->e[i].sw, in->e[i].in_port, in->e[i].dst_gpu, in->e[i].egress) < 0)
            return -1;
    plan_normalise(out, false);
    return 0;
}

int ofm_route_plan_diff(const ofm_route_plan *from, const ofm_route_plan *to, ofm_route_plan *out)
{
    ofm_route_plan a, b;
    out->n = 0;
    int rc = -1;
    if (plan_copy_sorted(from, &a) < 0) {
        ofm_route_plan_free(&a);
        return -1;
    }
    if (plan_copy_sorted(to, &b) < 0)
        goto done;
    size_t i = 0, j = 0;
    while (i < a.n || j < b.n) {
        int c = i == a.n ? 1 : j == b.n ? -1 : entry_cmp(&a.e[i], &b.e[j]);
        const ofm_route_entry *e = c < 0 ? &a.e[i] : &b.e[j];
        ofm_portset egress = c < 0 ? ofm_portset_none() : e->egress;
        bool emit = c != 0 || !ofm_portset_eq(a.e[i].egress, b.e[j].egress);
        if (emit && plan_push(out, e->sw, e->in_port, e->dst_gpu, egress) < 0)
            goto done;
        if (c <= 0)
            i++;
        if (c >= 0)
            j++;
    }
    rc = 0;
done:
    ofm_route_plan_free(&a);
    ofm_route_plan_free(&b);
    if (rc < 0)
        out->n = 0;
    return rc;
}

/* ---------------------------------------------------------- reachability */

typedef struct {
    const ofm_platform *p;
    const ofm_fabric_health *h;
    const ofm_portmap *m;
    size_t ngpus;
    ofm_portset *tbl;  /* [switch][port][gpu] -> egress */
} walk_ctx;

static ofm_portset *tbl_at(const walk_ctx *w, int si, uint32_t port, int gi)
{
    return &w->tbl[((size_t)si * OFM_MAX_SWITCH_PORTS + port) * w->ngpus + (size_t)gi];
}

/* Does all traffic entering (si, port) for GPU dst reach one of dst's access
 * ports? Depth bounds loops in a bad table. */
static bool delivers(const walk_ctx *w, int si, uint32_t port, int dst, int depth)
{
    if (depth > 4)
        return false;
    ofm_portset eg = *tbl_at(w, si, port, dst);
    if (ofm_portset_empty(eg) || ofm_portset_beyond(eg, OFM_MAX_SWITCH_PORTS))
        return false;
    for (uint32_t e = 0; e < OFM_MAX_SWITCH_PORTS; e++) {
        if (!ofm_portset_has(eg, e))
            continue;
        int a = w->m->access[si][e];
        int t = w->m->trunk[si][e];
        if (a >= 0) {
            if (w->m->gpu_of_access[a] != dst || !ofm_portmap_access_usable(w->m, w->h, a))
                return false;
        } else if (t >= 0) {
            if (!ofm_portmap_trunk_usable(w->m, w->h, t))
                return false;
            const ofm_trunk_link *tl = &w->p->trunks[t];
            bool at_a = w->m->trunk_sw_a[t] == si && tl->port_a == e;
            int osi = at_a ? w->m->trunk_sw_b[t] : w->m->trunk_sw_a[t];
            uint32_t oport = at_a ? tl->port_b : tl->port_a;
            if (!delivers(w, osi, oport, dst, depth + 1))
                return false;
        } else {
            return false;
        }
    }
    return true;
}

int ofm_reachability(const ofm_platform *p, const ofm_fabric_health *h,
                     const ofm_route_entry *programmed, size_t n, ofm_reach_matrix *mx)
{
    memset(mx, 0, sizeof *mx);
    walk_ctx w = {.p = p, .h = h};
    w.ngpus = p->ngpus < OFM_MAX_GPUS ? p->ngpus : OFM_MAX_GPUS;
    size_t nsw = p->nswitches < OFM_MAX_SWITCHES ? p->nswitches : OFM_MAX_SWITCHES;
    mx->n = w.ngpus;
    for (size_t i = 0; i < w.ngpus; i++)
        mx->gpu[i] = p->gpus[i].phys_id;
    if (w.ngpus == 0 || nsw == 0)
        return 0;
    ofm_portmap *m = ofm_portmap_build(p);
    w.m = m;
    w.tbl = calloc(nsw * OFM_MAX_SWITCH_PORTS * w.ngpus, sizeof *w.tbl);
    if (!m || !w.tbl) {
        free(m);
        free(w.tbl);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        int si = ofm_fabric_switch_index(p, programmed[i].sw);
        int gi = ofm_fabric_gpu_index(p, programmed[i].dst_gpu);
        if (si < 0 || gi < 0 || programmed[i].in_port >= OFM_MAX_SWITCH_PORTS)
            continue;
        *tbl_at(&w, si, programmed[i].in_port, gi) = programmed[i].egress;
    }
    for (size_t a = 0; a < p->naccess && a < OFM_MAX_ACCESS_LINKS; a++) {
        if (!ofm_portmap_access_usable(m, h, (int)a))
            continue;
        int src = m->gpu_of_access[a], si = m->sw_of_access[a];
        for (size_t d = 0; d < w.ngpus; d++)
            if ((int)d != src && delivers(&w, si, p->access[a].sw_port, (int)d, 0))
                mx->links[src][d]++;
    }
    free(m);
    free(w.tbl);
    return 0;
}
