/* The emulated switches' routing tables, stored in a form that grows with
 * the number of links rather than with ports x GPUs.
 *
 * The hardware holds one entry per (ingress port, destination GPU); a dense
 * copy of that is nports x ngpus egress sets - 1.5 MB on a GB200 NVL72 rack
 * (18 chips x 72 ports x 72 GPUs x 16 bytes), rewritten on every commit. But
 * every plan openfm (or the driver model) programs sends traffic for GPU g
 * out of a switch through the same ports whatever port it came in on: the
 * egress depends on (switch, destination), and the ingress port only decides
 * whether there is an entry at all (partition isolation). So the store keeps
 *   common[switch][gpu]  the egress set toward each GPU (switches x GPUs),
 *   valid[port]          a bit per GPU: this ingress port's entry for that
 *                        GPU is common[switch][gpu] (one 128-bit set a port),
 *   exceptions           the entries whose egress differs, per ingress port
 *                        in memory (at most one per GPU, so a change costs
 *                        O(GPUs) whatever the table), one sorted list on disk,
 * which holds any table exactly and is ~40 KiB on NVL72.
 *
 * Canonical form, kept by every change: common is empty exactly when no port
 * uses it, and an exception is never empty nor equal to common. */
#include <stdlib.h>
#include <string.h>

#include "hal/emu/emu_int.h"

static size_t total_ports(const ofm_platform *p)
{
    size_t n = 0;
    for (size_t i = 0; i < p->nswitches; i++)
        n += p->switches[i].nports;
    return n;
}

void emu_routes_free(emu_routes *r)
{
    free(r->common);
    free(r->valid);
    free(r->users);
    for (size_t i = 0; r->rows && i < r->nrows; i++)
        free(r->rows[i].v);
    free(r->rows);
    memset(r, 0, sizeof *r);
}

int emu_routes_alloc(emu_routes *r, const ofm_platform *p)
{
    memset(r, 0, sizeof *r);
    size_t ncommon = p->nswitches * p->ngpus, nports = total_ports(p);
    r->common = calloc(ncommon ? ncommon : 1, sizeof *r->common);
    r->valid = calloc(nports ? nports : 1, sizeof *r->valid);
    r->users = calloc(ncommon ? ncommon : 1, sizeof *r->users);
    r->rows = calloc(nports ? nports : 1, sizeof *r->rows);
    r->nrows = nports;
    if (!r->common || !r->valid || !r->users || !r->rows) {
        emu_routes_free(r);
        return -1;
    }
    return 0;
}

void emu_routes_clear(emu_impl *e)
{
    emu_routes *r = &e->st.r;
    const ofm_platform *p = e->p;
    if (!r->common)
        return; /* never allocated: nothing to clear */
    memset(r->common, 0, p->nswitches * p->ngpus * sizeof *r->common);
    memset(r->valid, 0, r->nrows * sizeof *r->valid);
    memset(r->users, 0, p->nswitches * p->ngpus * sizeof *r->users);
    for (size_t i = 0; i < r->nrows; i++)
        r->rows[i].n = 0;
    r->nexc = 0;
}

static uint32_t key_of(const emu_impl *e, size_t row, size_t gi)
{
    return (uint32_t)(row * e->p->ngpus + gi);
}

/* Index of the exception with `key` in its row, or -(insertion point) - 1. */
static long exc_find(const emu_exc_row *x, uint32_t key)
{
    uint32_t lo = 0, hi = x->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (x->v[mid].key < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < x->n && x->v[lo].key == key)
        return (long)lo;
    return -(long)lo - 1;
}

ofm_portset emu_route_get(const emu_impl *e, size_t si, uint32_t port, size_t gi)
{
    const emu_routes *r = &e->st.r;
    size_t row = e->route_base[si] + port;
    if (r->rows[row].n) {
        long k = exc_find(&r->rows[row], key_of(e, row, gi));
        if (k >= 0)
            return r->rows[row].v[k].egress;
    }
    if (ofm_portset_has(r->valid[row], (uint32_t)gi))
        return r->common[si * e->p->ngpus + gi];
    return ofm_portset_none();
}

static void exc_remove(emu_routes *r, emu_exc_row *x, long k)
{
    memmove(&x->v[k], &x->v[k + 1], (x->n - (size_t)k - 1) * sizeof *x->v);
    x->n--;
    r->nexc--;
}

static int exc_insert(emu_routes *r, emu_exc_row *x, long at, uint32_t key, ofm_portset egress)
{
    if (x->n == x->cap) {
        uint32_t cap = x->cap ? x->cap * 2 : 4;
        emu_route_exc *n = realloc(x->v, cap * sizeof *n);
        if (!n)
            return -1;
        x->v = n;
        x->cap = cap;
    }
    memmove(&x->v[at + 1], &x->v[at], (x->n - (size_t)at) * sizeof *x->v);
    x->v[at] = (emu_route_exc){.key = key, .egress = egress};
    x->n++;
    r->nexc++;
    return 0;
}

static void valid_set(emu_impl *e, size_t si, size_t row, size_t gi, bool on)
{
    emu_routes *r = &e->st.r;
    ofm_portset *v = &r->valid[row];
    uint64_t bit = UINT64_C(1) << (gi % 64);
    bool was = (v->w[gi / 64] & bit) != 0;
    if (was == on)
        return;
    if (on)
        v->w[gi / 64] |= bit;
    else
        v->w[gi / 64] &= ~bit;
    r->users[si * e->p->ngpus + gi] += on ? 1 : -1;
}

/* No port uses common[si][gi] any more: the exceptions toward gi on this
 * switch (if any) elect a new common egress, the first one's. */
static void promote(emu_impl *e, size_t si, size_t gi)
{
    emu_routes *r = &e->st.r;
    size_t c = si * e->p->ngpus + gi;
    r->common[c] = ofm_portset_none();
    uint32_t nports = e->p->switches[si].nports;
    bool have = false;
    ofm_portset pick = ofm_portset_none();
    for (uint32_t port = 0; port < nports && r->nexc; port++) {
        size_t row = e->route_base[si] + port;
        emu_exc_row *x = &r->rows[row];
        long k = x->n ? exc_find(x, key_of(e, row, gi)) : -1;
        if (k < 0)
            continue;
        if (!have) {
            pick = x->v[k].egress;
            have = true;
            r->common[c] = pick;
        }
        if (ofm_portset_eq(x->v[k].egress, pick)) {
            exc_remove(r, x, k);
            valid_set(e, si, row, gi, true);
        }
    }
}

int emu_route_set(emu_impl *e, size_t si, uint32_t port, size_t gi, ofm_portset egress)
{
    emu_routes *r = &e->st.r;
    size_t row = e->route_base[si] + port;
    emu_exc_row *x = &r->rows[row];
    uint32_t key = key_of(e, row, gi);
    size_t c = si * e->p->ngpus + gi;
    long k = x->n ? exc_find(x, key) : -1;
    if (k >= 0) {
        if (!ofm_portset_empty(egress) && !ofm_portset_eq(egress, r->common[c])) {
            x->v[k].egress = egress; /* still an exception */
            return 0;
        }
        exc_remove(r, x, k);
    }
    valid_set(e, si, row, gi, false);
    if (!r->users[c])
        promote(e, si, gi); /* the remaining exceptions, if any, elect a new common egress */
    if (ofm_portset_empty(egress))
        return 0;
    if (!r->users[c] || ofm_portset_eq(egress, r->common[c])) {
        r->common[c] = egress;
        valid_set(e, si, row, gi, true);
        return 0;
    }
    k = exc_find(x, key);
    return exc_insert(r, x, -k - 1, key, egress);
}

/* Every port of `ports` gets `egress` toward GPU gi: the same table as one
 * emu_route_set per port, in two passes over the ports' valid bits rather
 * than O(ports) searches, when the switch holds no exceptions (what openfm's
 * own plans leave: one egress per destination). */
int emu_route_set_group(emu_impl *e, size_t si, ofm_portset ports, size_t gi, ofm_portset egress)
{
    emu_routes *r = &e->st.r;
    size_t c = si * e->p->ngpus + gi;
    uint32_t nports = e->p->switches[si].nports;
    bool set = !ofm_portset_empty(egress);
    ofm_portset *valid = &r->valid[e->route_base[si]];
    const uint64_t bit = UINT64_C(1) << (gi % 64);
    const size_t w = gi / 64;
    /* pass 1 (no exceptions only): how many of the ports select common now */
    uint32_t was = 0, count = 0;
    for (unsigned k = 0; !r->nexc && k < 2; k++)
        for (uint64_t m = ports.w[k]; m; m &= m - 1) {
            uint32_t port = k * 64 + (uint32_t)__builtin_ctzll(m);
            if (port >= nports)
                break;
            was += (valid[port].w[w] & bit) != 0;
            count++;
        }
    uint32_t rest = r->nexc ? 0 : r->users[c] - was; /* other ports using common */
    if (r->nexc || (set && rest && !ofm_portset_eq(egress, r->common[c]))) {
        /* exceptions exist or arise: port by port */
        for (uint32_t port = 0; port < nports; port++)
            if (ofm_portset_has(ports, port) && emu_route_set(e, si, port, gi, egress))
                return -1;
        return 0;
    }
    /* pass 2: every port selects common (set) or has no entry (clear) */
    for (unsigned k = 0; k < 2; k++)
        for (uint64_t m = ports.w[k]; m; m &= m - 1) {
            uint32_t port = k * 64 + (uint32_t)__builtin_ctzll(m);
            if (port >= nports)
                break;
            if (set)
                valid[port].w[w] |= bit;
            else
                valid[port].w[w] &= ~bit;
        }
    r->users[c] = (uint16_t)(rest + (set ? count : 0));
    if (set)
        r->common[c] = egress;
    else if (!rest)
        r->common[c] = ofm_portset_none();
    return 0;
}

/* ------------------------------------------------------------ on disk */

/* common[], valid[], then a uint64 count and that many exceptions, sorted */
size_t emu_routes_bytes(const emu_impl *e)
{
    const ofm_platform *p = e->p;
    return (p->nswitches * p->ngpus + total_ports(p)) * sizeof(ofm_portset) + sizeof(uint64_t) +
           e->st.r.nexc * sizeof(emu_route_exc);
}

void emu_routes_write(const emu_impl *e, char *out)
{
    const ofm_platform *p = e->p;
    const emu_routes *r = &e->st.r;
    size_t nc = p->nswitches * p->ngpus * sizeof *r->common, nv = r->nrows * sizeof *r->valid;
    memcpy(out, r->common, nc);
    memcpy(out + nc, r->valid, nv);
    uint64_t n = r->nexc;
    memcpy(out + nc + nv, &n, sizeof n);
    char *w = out + nc + nv + sizeof n;
    /* rows in order, each sorted: the whole list is sorted by key */
    for (size_t i = 0; i < r->nrows; i++)
        if (r->rows[i].n) {
            memcpy(w, r->rows[i].v, r->rows[i].n * sizeof *r->rows[i].v);
            w += r->rows[i].n * sizeof *r->rows[i].v;
        }
}

size_t emu_routes_max_bytes(const ofm_platform *p)
{
    size_t np = total_ports(p);
    return (p->nswitches * p->ngpus + np) * sizeof(ofm_portset) + sizeof(uint64_t) +
           np * p->ngpus * sizeof(emu_route_exc);
}

/* Strict: sizes, ranges, order and the canonical form are checked, so a
 * table no writer could have produced is refused rather than served. */
const char *emu_routes_read(emu_impl *e, const char *buf, size_t len)
{
    const ofm_platform *p = e->p;
    emu_routes *r = &e->st.r;
    size_t ng = p->ngpus, nc = p->nswitches * ng, np = r->nrows;
    size_t fixed = (nc + np) * sizeof(ofm_portset) + sizeof(uint64_t);
    if (len < fixed)
        return "routing tables truncated";
    uint64_t n;
    memcpy(&n, buf + fixed - sizeof n, sizeof n);
    if (n > np * ng || len != fixed + n * sizeof(emu_route_exc))
        return "routing exception list has the wrong length";
    memcpy(r->common, buf, nc * sizeof *r->common);
    memcpy(r->valid, buf + nc * sizeof *r->common, np * sizeof *r->valid);
    for (size_t i = 0; i < np; i++)
        r->rows[i].n = 0;
    r->nexc = 0;
    memset(r->users, 0, nc * sizeof *r->users);
    for (size_t si = 0; si < p->nswitches; si++)
        for (uint32_t port = 0; port < p->switches[si].nports; port++) {
            ofm_portset v = r->valid[e->route_base[si] + port];
            if (ofm_portset_beyond(v, (uint32_t)ng))
                return "routing entry for a GPU the platform does not have";
            for (size_t gi = 0; gi < ng; gi++)
                r->users[si * ng + gi] += ofm_portset_has(v, (uint32_t)gi);
        }
    for (size_t si = 0; si < p->nswitches; si++)
        for (size_t gi = 0; gi < ng; gi++) {
            ofm_portset c = r->common[si * ng + gi];
            if (ofm_portset_beyond(c, p->switches[si].nports))
                return "egress set names ports the switch does not have";
            if (ofm_portset_empty(c) != !r->users[si * ng + gi])
                return "routing tables not in canonical form";
        }
    uint32_t prev = 0;
    for (size_t i = 0; i < n; i++) {
        emu_route_exc x;
        memcpy(&x, buf + fixed + i * sizeof x, sizeof x);
        if (x.key >= np * ng || (i && x.key <= prev))
            return "routing exception list out of order";
        prev = x.key;
        size_t gi = x.key % ng, row = x.key / ng, si = 0;
        while (si + 1 < p->nswitches && e->route_base[si + 1] <= row)
            si++;
        size_t c = si * ng + gi;
        if (ofm_portset_empty(x.egress) || ofm_portset_beyond(x.egress, p->switches[si].nports) ||
            ofm_portset_eq(x.egress, r->common[c]) || !r->users[c] ||
            ofm_portset_has(r->valid[row], (uint32_t)gi))
            return "routing exception not in canonical form";
        emu_exc_row *xr = &r->rows[row];
        if (exc_insert(r, xr, (long)xr->n, x.key, x.egress)) /* sorted input: append */
            return "out of memory";
    }
    return NULL;
}
