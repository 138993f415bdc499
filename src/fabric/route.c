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
    ofm_portset src_ports[OFM_MAX_GPUS];   /* this switch's usable access ports of set GPU g */
} build_scratch;

void ofm_route_groups_free(ofm_route_groups *gs)
{
    free(gs->g);
    gs->g = NULL;
    gs->n = 0;
}

/* For each switch and destination d of the set, the egress toward d:
 * d's direct ports, else trunks to a switch that has direct ports to d
 * (documented boards need one hop at most). Its ingress ports: every usable
 * access port of another GPU of the set, and every trunk whose far switch
 * sends traffic for d this way (d has no direct port there, and some other
 * GPU of the set is attached there). Traffic arriving over a trunk is only
 * delivered locally. */
int ofm_route_groups_build(const ofm_platform *p, const ofm_fabric_health *h, const uint32_t *gpus,
                           size_t n, ofm_route_groups *out)
{
    ofm_route_groups_free(out);
    ofm_portmap *m = ofm_portmap_build(p);
    build_scratch *s = calloc(1, sizeof *s);
    size_t ngpus = p->ngpus < OFM_MAX_GPUS ? p->ngpus : OFM_MAX_GPUS;
    size_t nsw = p->nswitches < OFM_MAX_SWITCHES ? p->nswitches : OFM_MAX_SWITCHES;
    out->g = malloc((nsw * ngpus > 0 ? nsw * ngpus : 1) * sizeof *out->g);
    if (!m || !s || !out->g)
        goto fail;

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
        uint32_t nports = p->switches[si].nports < OFM_MAX_SWITCH_PORTS ? p->switches[si].nports
                                                                        : OFM_MAX_SWITCH_PORTS;
        if (h && !h->switch_ok[si])
            continue;
        /* the ingress side, once per switch: access ports by source GPU */
        ofm_portset all_src = ofm_portset_none();
        memset(s->src_ports, 0, sizeof s->src_ports);
        for (uint32_t port = 0; port < nports; port++) {
            int a = m->access[si][port];
            if (a < 0 || !ofm_portmap_access_usable(m, h, a) || !s->inset[m->gpu_of_access[a]])
                continue;
            ofm_portset_add(&s->src_ports[m->gpu_of_access[a]], port);
            ofm_portset_add(&all_src, port);
        }
        /* and its usable trunk ports with the switch at the far end */
        uint32_t tport[OFM_MAX_SWITCH_PORTS];
        int tother[OFM_MAX_SWITCH_PORTS];
        size_t ntr = 0;
        for (uint32_t port = 0; port < nports; port++) {
            int t = m->trunk[si][port];
            if (t < 0 || !ofm_portmap_trunk_usable(m, h, t))
                continue;
            tport[ntr] = port;
            tother[ntr++] = m->trunk_sw_a[t] == (int)si ? m->trunk_sw_b[t] : m->trunk_sw_a[t];
        }
        for (size_t d = 0; d < ngpus; d++) {
            if (!s->inset[d])
                continue;
            ofm_portset egress = s->direct[si][d];
            bool local = !ofm_portset_empty(egress);
            ofm_portset in = {{all_src.w[0] & ~s->src_ports[d].w[0],
                               all_src.w[1] & ~s->src_ports[d].w[1]}};
            for (size_t k = 0; k < ntr; k++) {
                int other = tother[k];
                if (!local && !ofm_portset_empty(s->direct[other][d]))
                    ofm_portset_add(&egress, tport[k]);
                if (local && m->access[si][tport[k]] < 0 && ofm_portset_empty(s->direct[other][d]) &&
                    s->has_src[other][d])
                    ofm_portset_add(&in, tport[k]);
            }
            if (ofm_portset_empty(egress) || ofm_portset_empty(in))
                continue;
            out->g[out->n++] = (ofm_route_group){.sw = p->switches[si].id,
                                                 .dst_gpu = p->gpus[d].phys_id,
                                                 .in_ports = in, .egress = egress};
        }
    }
    free(m);
    free(s);
    return 0;
fail:
    free(m);
    free(s);
    ofm_route_groups_free(out);
    return -1;
}

int ofm_route_plan_build(const ofm_platform *p, const ofm_fabric_health *h, const uint32_t *gpus,
                         size_t n, ofm_route_plan *out)
{
    out->n = 0;
    ofm_route_groups gs = {0};
    if (ofm_route_groups_build(p, h, gpus, n, &gs))
        return -1;
    /* per switch (groups are by switch), in ingress port order */
    size_t total = 0;
    for (size_t i = 0; i < gs.n; i++)
        total += ofm_portset_count(gs.g[i].in_ports);
    if (total > out->cap) {
        ofm_route_entry *e = realloc(out->e, total * sizeof *e);
        if (!e) {
            ofm_route_groups_free(&gs);
            return -1;
        }
        out->e = e;
        out->cap = total;
    }
    int rc = 0;
    for (size_t run = 0; run < gs.n && !rc;) {
        size_t end = run + 1;
        while (end < gs.n && gs.g[end].sw == gs.g[run].sw)
            end++;
        for (uint32_t port = 0; port < OFM_PORTSET_BITS && !rc; port++)
            for (size_t i = run; i < end && !rc; i++)
                if (ofm_portset_has(gs.g[i].in_ports, port))
                    rc = plan_push(out, gs.g[i].sw, port, gs.g[i].dst_gpu, gs.g[i].egress);
        run = end;
    }
    ofm_route_groups_free(&gs);
    if (rc) {
        out->n = 0;
        return -1;
    }
    plan_normalise(out, false);
    return 0;
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
