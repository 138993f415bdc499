/* Switch-side links of a reset GPU (FM §13.9). On A100-class NVSwitch
 * systems (second-generation switches, no autonomous link training) a GPU
 * reset takes the GPU's NVLinks down on the switch side too, and they stay
 * down until the fabric manager resets and retrains those switch ports. The
 * manager notices it from the live state, not from a dedicated event: the
 * driver reports only the links going down, and a GPU whose every access
 * link the HA policy uses went down together while the GPU itself stayed
 * healthy and out of MIG mode is what a reset (or MIG disabled by one)
 * looks like. A single failed link does not match and is left to the
 * runtime failure policy (FM §9: no recovery at run time).
 *
 * Each episode is handled once: when no link trained, the GPU is re-armed
 * only once one of its links is seen up again, so a GPU that no longer
 * responds is not retrained forever.
 *
 * Resetting a switch port may drop its routing entries (the emulator and
 * the driver's reset-and-drain both can), so the entries of the reset
 * ingress ports are read before and written back, in one batch, after the
 * reset and before the links train: what was programmed stays programmed, in
 * every fabric mode, and is in place by the time a link reads ACTIVE. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manager/manager_int.h"

void ofm_relink_init(ofm_relink *r)
{
    for (size_t i = 0; i < OFM_MAX_GPUS; i++)
        r->armed[i] = true;
}

/* The GPU's access links the HA policy uses on switches that are up now, as
 * indexes into p->access: links of a switch that failed since cannot train
 * and are not the reset's doing. */
static size_t used_links(const ofm_fabric_ctx *c, const ofm_fabric_status *st, size_t gi,
                         size_t *out)
{
    const ofm_platform *p = &c->platform;
    const ofm_policy_decision *d = &c->decision;
    size_t n = 0;
    for (size_t a = 0; a < p->naccess; a++) {
        if (p->access[a].gpu != p->gpus[gi].phys_id || !d->effective.access_ok[a])
            continue;
        int si = ofm_fabric_switch_index(p, p->access[a].sw);
        if (si >= 0 && d->effective.switch_ok[si] &&
            ((size_t)si >= st->nswitches || st->switches[si].status == OFM_SW_OK) &&
            n < OFM_MAX_GPU_LINKS)
            out[n++] = a;
    }
    return n;
}

/* Entries of switch `sw` whose ingress port is one of `ports`, appended to
 * *saved. -1 only when out of memory; an unreadable table saves nothing. */
static int save_routes(ofm_hal *h, uint32_t sw, const uint32_t *ports, size_t np,
                       ofm_route_entry **saved, size_t *ns, size_t *cap)
{
    if (!h->ops->route_read)
        return 0;
    size_t bcap = 1024, n = 0;
    ofm_route_entry *buf = malloc(bcap * sizeof *buf);
    if (!buf)
        return -1;
    int rc = h->ops->route_read(h, sw, buf, bcap, &n);
    if (rc == OFM_HAL_OK && n > bcap) {
        ofm_route_entry *nb = realloc(buf, n * sizeof *buf);
        if (!nb) {
            free(buf);
            return -1;
        }
        buf = nb;
        bcap = n;
        rc = h->ops->route_read(h, sw, buf, bcap, &n);
    }
    if (rc != OFM_HAL_OK)
        n = 0;
    for (size_t i = 0; i < n && i < bcap; i++) {
        bool mine = false;
        for (size_t k = 0; k < np && !mine; k++)
            mine = buf[i].in_port == ports[k];
        if (!mine)
            continue;
        if (*ns == *cap) {
            size_t nc = *cap ? *cap * 2 : 256;
            ofm_route_entry *g = realloc(*saved, nc * sizeof *g);
            if (!g) {
                free(buf);
                return -1;
            }
            *saved = g;
            *cap = nc;
        }
        (*saved)[(*ns)++] = buf[i];
    }
    free(buf);
    return 0;
}

static void relink_gpu(ofm_hal *h, const ofm_fabric_ctx *c, size_t gi, const size_t *links,
                       size_t nl, ofm_relink_result *res)
{
    const ofm_platform *p = &c->platform;
    memset(res, 0, sizeof *res);
    res->gpu = p->gpus[gi].phys_id;
    /* Only links that are down (OFF): a FAILED one is a fault, not the reset. */
    size_t todo[OFM_MAX_GPU_LINKS];
    size_t nt = 0;
    for (size_t i = 0; i < nl; i++) {
        ofm_hal_link l;
        const ofm_access_link *a = &p->access[links[i]];
        if (h->ops->switch_port(h, a->sw, a->sw_port, &l) == OFM_HAL_OK && l.state == OFM_LINK_OFF)
            todo[nt++] = links[i];
    }
    res->ports = nt;

    ofm_route_entry *saved = NULL;
    size_t ns = 0, scap = 0;
    bool oom = false;
    for (size_t si = 0; si < p->nswitches && !oom; si++) {
        uint32_t ports[OFM_MAX_GPU_LINKS];
        size_t np = 0;
        for (size_t i = 0; i < nt; i++)
            if (p->access[todo[i]].sw == p->switches[si].id)
                ports[np++] = p->access[todo[i]].sw_port;
        if (np && save_routes(h, p->switches[si].id, ports, np, &saved, &ns, &scap))
            oom = true;
    }
    if (oom) {
        free(saved);
        res->failed = nt;
        snprintf(res->why, sizeof res->why, "out of memory saving the routing entries");
        return;
    }

    /* Reset, write the routes back, then train: a link that reads ACTIVE
     * already carries its routes, so whoever waits for the links (fmctl
     * reset, fmctl mig) cannot see traffic dropped in between. The entries
     * are switch registers, writable while the port is down. */
    for (size_t i = 0; i < nt; i++) {
        const ofm_access_link *a = &p->access[todo[i]];
        int rc = h->ops->reset_port ? h->ops->reset_port(h, a->sw, a->sw_port) : OFM_HAL_ENOTSUP;
        if (rc != OFM_HAL_OK && rc != OFM_HAL_ENOTSUP && !res->why[0])
            snprintf(res->why, sizeof res->why, "reset of switch %u port %u: %s", a->sw, a->sw_port,
                     ofm_hal_last_error(h));
    }
    if (ns) {
        if (h->ops->route_write && h->ops->route_write(h, saved, ns) == OFM_HAL_OK) {
            res->routes = ns;
        } else {
            res->route_error = true;
            if (!res->why[0])
                snprintf(res->why, sizeof res->why, "rewriting %zu routing entries: %s", ns,
                         h->ops->route_write ? ofm_hal_last_error(h) : "the backend cannot");
        }
    }
    for (size_t i = 0; i < nt; i++) {
        const ofm_access_link *a = &p->access[todo[i]];
        int rc = h->ops->train_port ? h->ops->train_port(h, a->sw, a->sw_port) : OFM_HAL_ENOTSUP;
        if (rc == OFM_HAL_OK) {
            res->trained++;
        } else {
            res->failed++;
            if (!res->why[0])
                snprintf(res->why, sizeof res->why, "switch %u port %u: %s", a->sw, a->sw_port,
                         ofm_hal_last_error(h));
        }
    }
    free(saved);
}

size_t ofm_relink_scan(ofm_relink *r, ofm_hal *h, const ofm_fabric_ctx *c, const ofm_fabric_status *st,
                       ofm_relink_result *out, size_t cap)
{
    const ofm_platform *p = &c->platform;
    if (p->ali || !p->nswitches || st->ngpus != p->ngpus || !h->ops->switch_port)
        return 0;
    size_t n = 0;
    for (size_t gi = 0; gi < p->ngpus && n < cap; gi++) {
        const ofm_gpu_status *g = &st->gpus[gi];
        if (g->links_active) {
            r->armed[gi] = true;
            continue;
        }
        if (!r->armed[gi] || g->health != OFM_DEV_OK || g->mig == OFM_MIG_ENABLED ||
            !c->decision.gpu_p2p[gi] || !c->decision.effective.gpu_ok[gi])
            continue;
        size_t links[OFM_MAX_GPU_LINKS];
        size_t nl = used_links(c, st, gi, links);
        if (!nl)
            continue;
        relink_gpu(h, c, gi, links, nl, &out[n]);
        /* links that trained end the episode; if none did, wait until one
         * is seen up before trying again */
        r->armed[gi] = out[n].trained > 0;
        if (out[n].ports)
            n++;
    }
    return n;
}
