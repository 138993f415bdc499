/* Domain health of a rack-scale NVLink domain (GB200 NVL72): HEALTHY,
 * DEGRADED or UNHEALTHY, as NVIDIA's rack tools report it, derived from the
 * live status alone so that bring-up, the runtime refresh and every view
 * agree. Trays are named where a whole tray is out: operators service trays.
 *
 *   UNHEALTHY  the fabric does not serve CUDA work (bring-up failed or not
 *              done, a fabric-fatal error) or fewer than two GPUs have
 *              NVLink peer access;
 *   DEGRADED   it serves, but GPUs are left out, chips are down, or GPUs use
 *              fewer NVLinks than the model gives them;
 *   HEALTHY    everything in the model is in use. */
#include "manager/manager_int.h"
#include "openfm/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *ofm_domain_health_name(ofm_domain_health h)
{
    switch (h) {
    case OFM_DOMAIN_NONE: return "";
    case OFM_DOMAIN_HEALTHY: return "HEALTHY";
    case OFM_DOMAIN_DEGRADED: return "DEGRADED";
    case OFM_DOMAIN_UNHEALTHY: return "UNHEALTHY";
    }
    return "";
}

typedef struct {
    char *buf;
    size_t len, used;
} text;

__attribute__((format(printf, 2, 3))) static void add(text *t, const char *fmt, ...)
{
    if (t->used >= t->len)
        return;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(t->buf + t->used, t->len - t->used, fmt, ap);
    va_end(ap);
    if (w > 0)
        t->used += (size_t)w;
}

/* GPUs flagged `out` (indexed like the model): whole compute trays by name,
 * the rest by ID. */
static void list_gpus(const ofm_platform *p, const bool *out, text *t)
{
    bool said[OFM_MAX_GPUS] = {false};
    size_t n = 0;
    for (size_t k = 0; k < p->ncompute_trays && k < OFM_MAX_TRAYS; k++) {
        uint32_t ids[OFM_MAX_GPUS];
        size_t m = ofm_platform_tray_gpus(p, p->compute_trays[k], ids, OFM_MAX_GPUS);
        bool all = m > 0;
        for (size_t i = 0; i < m && i < OFM_MAX_GPUS && all; i++) {
            const ofm_gpu_desc *g = ofm_platform_gpu(p, ids[i]);
            all = g && out[g - p->gpus];
        }
        if (!all)
            continue;
        add(t, "%scompute tray %u (GPUs %u-%u)", n++ ? ", " : "", p->compute_trays[k], ids[0],
            ids[m - 1]);
        for (size_t i = 0; i < m && i < OFM_MAX_GPUS; i++)
            said[ofm_platform_gpu(p, ids[i]) - p->gpus] = true;
    }
    for (size_t gi = 0; gi < p->ngpus && gi < OFM_MAX_GPUS; gi++)
        if (out[gi] && !said[gi])
            add(t, "%sGPU %u", n++ ? ", " : "", p->gpus[gi].phys_id);
}

static void list_switches(const ofm_platform *p, const bool *down, text *t)
{
    bool said[OFM_MAX_SWITCHES] = {false};
    size_t n = 0;
    for (size_t k = 0; k < p->nswitch_trays && k < OFM_MAX_TRAYS; k++) {
        uint32_t ids[OFM_MAX_SWITCHES];
        size_t m = ofm_platform_tray_switches(p, p->switch_trays[k], ids, OFM_MAX_SWITCHES);
        bool all = m > 0;
        for (size_t i = 0; i < m && i < OFM_MAX_SWITCHES && all; i++) {
            const ofm_switch_desc *s = ofm_platform_switch(p, ids[i]);
            all = s && down[s - p->switches];
        }
        if (!all)
            continue;
        add(t, "%sswitch tray %u (NVSwitch", n++ ? ", " : "", p->switch_trays[k]);
        for (size_t i = 0; i < m && i < OFM_MAX_SWITCHES; i++) {
            add(t, "%s %u", i ? "," : "", ids[i]);
            said[ofm_platform_switch(p, ids[i]) - p->switches] = true;
        }
        add(t, ")");
    }
    for (size_t si = 0; si < p->nswitches && si < OFM_MAX_SWITCHES; si++)
        if (down[si] && !said[si])
            add(t, "%sNVSwitch %u", n++ ? ", " : "", p->switches[si].id);
}

bool ofm_domain_health_update(const ofm_platform *p, ofm_fabric_status *st)
{
    ofm_domain_health h = OFM_DOMAIN_NONE;
    char why[sizeof st->domain_reason] = "";
    text t = {why, sizeof why, 0};
    if (ofm_platform_is_rack(p) && st->ngpus == p->ngpus && st->nswitches == p->nswitches) {
        bool out[OFM_MAX_GPUS] = {false}, down[OFM_MAX_SWITCHES] = {false};
        size_t nout = 0, ndown = 0, p2p = 0;
        uint32_t min_links = UINT32_MAX, expected = 0;
        for (size_t gi = 0; gi < st->ngpus && gi < OFM_MAX_GPUS; gi++) {
            const ofm_gpu_status *g = &st->gpus[gi];
            bool ok = g->present && g->p2p && g->health == OFM_DEV_OK && g->links_usable;
            out[gi] = !ok;
            nout += !ok;
            p2p += ok;
            if (ok && g->links_usable < min_links)
                min_links = g->links_usable;
            if (g->links_expected > expected)
                expected = g->links_expected;
        }
        for (size_t si = 0; si < st->nswitches && si < OFM_MAX_SWITCHES; si++) {
            down[si] = st->switches[si].status != OFM_SW_OK;
            ndown += down[si];
        }
        bool serving = st->state == OFM_SYS_READY;
        if (!serving || p2p < 2) {
            h = OFM_DOMAIN_UNHEALTHY;
            if (!serving)
                add(&t, "fabric %s", ofm_system_state_name(st->state));
            else
                add(&t, "%zu GPU(s) with NVLink peer access", p2p);
        } else if (nout || ndown || min_links < expected) {
            h = OFM_DOMAIN_DEGRADED;
        } else {
            h = OFM_DOMAIN_HEALTHY;
        }
        if (h != OFM_DOMAIN_HEALTHY && nout) {
            add(&t, "%s%zu of %zu GPUs without NVLink: ", t.used ? "; " : "", nout, st->ngpus);
            list_gpus(p, out, &t);
        }
        if (h != OFM_DOMAIN_HEALTHY && ndown) {
            add(&t, "%s%zu of %zu NVSwitch chips down: ", t.used ? "; " : "", ndown,
                st->nswitches);
            list_switches(p, down, &t);
        }
        if (h != OFM_DOMAIN_HEALTHY && p2p && min_links < expected)
            add(&t, "%sfewest NVLinks per GPU %u of %u", t.used ? "; " : "", min_links, expected);
    }
    bool changed = h != st->domain_health || strcmp(why, st->domain_reason);
    if (changed && st->domain_health != OFM_DOMAIN_NONE && h != OFM_DOMAIN_NONE) {
        if (h == OFM_DOMAIN_HEALTHY)
            OFM_INFO("NVLink domain health: HEALTHY (was %s)",
                     ofm_domain_health_name(st->domain_health));
        else
            OFM_WARN("NVLink domain health: %s (was %s): %s", ofm_domain_health_name(h),
                     ofm_domain_health_name(st->domain_health), why);
    }
    st->domain_health = h;
    snprintf(st->domain_reason, sizeof st->domain_reason, "%s", why);
    return changed;
}
