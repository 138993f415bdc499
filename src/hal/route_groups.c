/* Routing groups (ofm_route_group) for backends that only take entries: the
 * expansion into one entry per ingress port, and the writer that prefers a
 * backend's own group hook. */
#include <stdlib.h>

#include "hal/backend_int.h"
#include "openfm/hal.h"

int ofm_route_groups_expand(const ofm_route_group *g, size_t n, ofm_route_entry **out, size_t *nout)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += ofm_portset_count(g[i].in_ports);
    *out = NULL;
    *nout = 0;
    if (!total)
        return 0;
    ofm_route_entry *e = malloc(total * sizeof *e);
    if (!e)
        return -1;
    size_t k = 0;
    /* per run of one switch's groups: ingress port order, as route_read
     * returns a switch's entries and as a plan is sorted */
    for (size_t run = 0; run < n;) {
        size_t end = run + 1;
        while (end < n && g[end].sw == g[run].sw)
            end++;
        ofm_portset any = ofm_portset_none();
        for (size_t i = run; i < end; i++)
            any = ofm_portset_or(any, g[i].in_ports);
        for (uint32_t port = 0; port < OFM_PORTSET_BITS; port++) {
            if (!ofm_portset_has(any, port))
                continue;
            for (size_t i = run; i < end; i++)
                if (ofm_portset_has(g[i].in_ports, port))
                    e[k++] = (ofm_route_entry){.sw = g[i].sw, .in_port = port,
                                               .dst_gpu = g[i].dst_gpu, .egress = g[i].egress};
        }
        run = end;
    }
    *out = e;
    *nout = k;
    return 0;
}

int ofm_hal_route_write_groups(ofm_hal *h, const ofm_route_group *g, size_t n)
{
    if (h->ops->route_write_groups)
        return h->ops->route_write_groups(h, g, n);
    ofm_route_entry *e;
    size_t ne;
    if (ofm_route_groups_expand(g, n, &e, &ne))
        return ofm_hal_fail(h, OFM_HAL_ENOSPC, "out of memory expanding %zu routing groups", n);
    int rc = ne ? h->ops->route_write(h, e, ne) : OFM_HAL_OK;
    free(e);
    return rc;
}
