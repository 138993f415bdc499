/* apply / assert / export of declarative MIG configs. A GPU whose layout
 * already matches is left alone (its instances may be in use); only GPUs
 * that differ are rebuilt, with placements from the placement engine. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mig/mig_ops.h"

typedef struct {
    bool enabled;
    uint32_t ids[OFM_MIG_MAX_GIS];  /* wanted profile IDs */
    size_t n;
} layout;

typedef struct {
    ofm_hal_gpu gpus[OFM_MAX_GPUS];
    size_t ngpus;
} gpu_list;

static int list(ofm_hal *h, gpu_list *g, FILE *log)
{
    if (h->ops->list_gpus(h, g->gpus, OFM_MAX_GPUS, &g->ngpus)) {
        fprintf(log, "cannot list GPUs: %s\n", ofm_hal_last_error(h));
        return -1;
    }
    if (g->ngpus > OFM_MAX_GPUS)
        g->ngpus = OFM_MAX_GPUS;
    return 0;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* The spec selecting GPU `idx`, NULL if none; -1 via *bad when two do. */
static const ofm_mig_cfg_spec *spec_for(const ofm_mig_cfg *cfg, const ofm_mig_cfg_label *l,
                                        size_t idx, const ofm_mig_catalog *c, FILE *log, bool *bad)
{
    const ofm_mig_cfg_spec *found = NULL;
    for (size_t i = 0; i < l->nspecs; i++) {
        const ofm_mig_cfg_spec *s = &l->specs[i];
        bool sel = s->all_devices;
        for (size_t k = 0; k < s->ndevices; k++)
            sel |= s->devices[k] == idx;
        if (sel && s->nfilters) {
            bool any = false;
            for (size_t k = 0; k < s->nfilters && c; k++)
                any |= s->filters[k] == c->pci_id;
            sel = any;
        }
        if (!sel)
            continue;
        if (found) {
            fprintf(log, "%s:%u: GPU %zu is also selected by the spec at line %u of '%s'\n",
                    cfg->origin, s->line, idx, found->line, l->label);
            *bad = true;
            return NULL;
        }
        found = s;
    }
    return found;
}

static int target_of(const ofm_mig_cfg *cfg, const ofm_mig_cfg_spec *s, size_t idx,
                     const ofm_mig_catalog *c, layout *t, FILE *log)
{
    memset(t, 0, sizeof *t);
    t->enabled = s->enabled;
    if (!s->enabled)
        return 0;
    if (!c) {
        fprintf(log, "%s:%u: GPU %zu does not support MIG\n", cfg->origin, s->line, idx);
        return -1;
    }
    for (size_t i = 0; i < s->ndevs; i++) {
        const ofm_mig_gi_profile *p = ofm_mig_profile_lookup(c, s->devs[i].name);
        if (!p) {
            fprintf(log, "%s:%u: profile '%s' does not exist on GPU %zu (%s); its profiles:",
                    cfg->origin, s->devs[i].line, s->devs[i].name, idx, c->name);
            for (size_t k = 0; k < c->nprofiles; k++)
                fprintf(log, " %s", c->profiles[k].name);
            fprintf(log, "\n");
            return -1;
        }
        for (uint32_t k = 0; k < s->devs[i].count; k++) {
            if (t->n == OFM_MIG_MAX_GIS) {
                fprintf(log, "%s:%u: too many instances for GPU %zu\n", cfg->origin,
                        s->devs[i].line, idx);
                return -1;
            }
            t->ids[t->n++] = p->id;
        }
    }
    qsort(t->ids, t->n, sizeof t->ids[0], cmp_u32);
    uint32_t out[OFM_MIG_MAX_GIS];
    char why[300];
    if (t->n && ofm_mig_place(c, NULL, 0, t->ids, t->n, out, why, sizeof why)) {
        fprintf(log, "%s:%u: the layout for GPU %zu (%s) cannot exist: %s\n", cfg->origin,
                s->line, idx, c->name, why);
        return -1;
    }
    return 0;
}

static int current_of(ofm_hal *h, uint32_t gpu, layout *cur, ofm_hal_mig_mode *m)
{
    memset(cur, 0, sizeof *cur);
    int rc = h->ops->mig_mode_get(h, gpu, m);
    if (rc)
        return rc;
    cur->enabled = m->current;
    if (!m->current)
        return 0;
    ofm_hal_gpu_instance gis[OFM_MIG_MAX_GIS];
    size_t n;
    if ((rc = h->ops->gi_list(h, gpu, gis, OFM_MIG_MAX_GIS, &n)))
        return rc;
    for (size_t i = 0; i < n && i < OFM_MIG_MAX_GIS; i++)
        cur->ids[cur->n++] = gis[i].profile_id;
    qsort(cur->ids, cur->n, sizeof cur->ids[0], cmp_u32);
    return 0;
}

static bool same(const layout *a, const layout *b, const ofm_hal_mig_mode *m)
{
    if (a->enabled != b->enabled || m->pending != m->current)
        return false;
    return !a->enabled || (a->n == b->n && !memcmp(a->ids, b->ids, a->n * sizeof a->ids[0]));
}

static void describe(const layout *t, const ofm_mig_catalog *c, char *buf, size_t len)
{
    size_t pos = (size_t)snprintf(buf, len, "MIG %s", t->enabled ? "enabled" : "disabled");
    for (size_t i = 0; i < t->n && pos < len;) {
        size_t j = i;
        while (j < t->n && t->ids[j] == t->ids[i])
            j++;
        const ofm_mig_gi_profile *p = c ? ofm_mig_profile_by_id(c, t->ids[i]) : NULL;
        pos += (size_t)snprintf(buf + pos, len - pos, "%s %s x%zu", i ? "," : ":",
                                p ? p->name : "?", j - i);
        i = j;
    }
}

static int teardown(ofm_hal *h, uint32_t gpu, size_t idx, FILE *log)
{
    ofm_hal_gpu_instance gis[OFM_MIG_MAX_GIS];
    size_t n;
    if (h->ops->gi_list(h, gpu, gis, OFM_MIG_MAX_GIS, &n))
        return -1;
    for (size_t i = 0; i < n && i < OFM_MIG_MAX_GIS; i++) {
        ofm_hal_compute_instance cis[8];
        size_t nci = 0;
        h->ops->ci_list(h, gpu, gis[i].gi_id, cis, 8, &nci);
        for (size_t k = 0; k < nci && k < 8; k++)
            h->ops->ci_destroy(h, gpu, gis[i].gi_id, cis[k].ci_id);
        if (h->ops->gi_destroy(h, gpu, gis[i].gi_id)) {
            fprintf(log, "GPU %zu: cannot destroy GPU instance %u: %s\n", idx, gis[i].gi_id,
                    ofm_hal_last_error(h));
            return -1;
        }
    }
    return 0;
}

static int set_mode(ofm_hal *h, uint32_t gpu, size_t idx, bool en, FILE *log)
{
    ofm_hal_mig_mode m;
    if (h->ops->mig_mode_set(h, gpu, en) || h->ops->mig_mode_get(h, gpu, &m)) {
        fprintf(log, "GPU %zu: cannot %s MIG mode: %s\n", idx, en ? "enable" : "disable",
                ofm_hal_last_error(h));
        return -1;
    }
    if (m.current != m.pending && h->ops->gpu_reset(h, gpu)) {
        fprintf(log, "GPU %zu: MIG mode %s is pending a GPU reset, which failed: %s. Stop the "
                     "processes using the GPU and apply again (or reboot).\n", idx,
                en ? "enable" : "disable", ofm_hal_last_error(h));
        return -1;
    }
    return 0;
}

static int build(ofm_hal *h, uint32_t gpu, size_t idx, const layout *t, const ofm_mig_catalog *c,
                 FILE *log)
{
    uint32_t out[OFM_MIG_MAX_GIS];
    char why[300];
    if (ofm_mig_place(c, NULL, 0, t->ids, t->n, out, why, sizeof why)) {
        fprintf(log, "GPU %zu: %s\n", idx, why);
        return -1;
    }
    for (size_t i = 0; i < t->n; i++) {
        uint32_t gi, ci;
        const ofm_mig_gi_profile *p = ofm_mig_profile_by_id(c, t->ids[i]);
        ofm_mig_ci_profile cp[8];
        size_t ncp = ofm_mig_ci_profiles(p, cp, 8);
        if (h->ops->gi_create(h, gpu, p->id, out[i], 0, &gi) ||
            h->ops->ci_create(h, gpu, gi, cp[ncp - 1].id, 0, 0, &ci)) {
            fprintf(log, "GPU %zu: creating %s at slice %u failed: %s\n", idx, p->name, out[i],
                    ofm_hal_last_error(h));
            return -1;
        }
    }
    return 0;
}

static int run(ofm_hal *h, const ofm_mig_cfg *cfg, const ofm_mig_cfg_label *l, FILE *log,
               bool apply, ofm_mig_hooks *hooks)
{
    gpu_list g;
    if (list(h, &g, log))
        return -1;
    /* validate the whole label first: nothing changes on a bad config */
    layout targets[OFM_MAX_GPUS];
    bool selected[OFM_MAX_GPUS] = {false};
    for (size_t i = 0; i < l->nspecs; i++)
        for (size_t k = 0; k < l->specs[i].ndevices; k++)
            if (l->specs[i].devices[k] >= g.ngpus) {
                fprintf(log, "%s:%u: GPU index %u does not exist (this system has %zu GPUs, "
                             "numbered from 0)\n", cfg->origin, l->specs[i].line,
                        l->specs[i].devices[k], g.ngpus);
                return -1;
            }
    for (size_t idx = 0; idx < g.ngpus; idx++) {
        const ofm_mig_catalog *c = ofm_mig_catalog_for_model(g.gpus[idx].model);
        bool bad = false;
        const ofm_mig_cfg_spec *s = spec_for(cfg, l, idx, c, log, &bad);
        if (bad)
            return -1;
        if (!s)
            continue;
        if (target_of(cfg, s, idx, c, &targets[idx], log))
            return -1;
        selected[idx] = true;
    }
    /* GPUs whose MIG mode this apply changes: privileges are checked and
     * the services using them stopped before anything changes */
    bool changing[OFM_MAX_GPUS] = {false}, any = false, en_any = false;
    for (size_t idx = 0; apply && idx < g.ngpus; idx++) {
        ofm_hal_mig_mode m0;
        if (selected[idx] && h->ops->mig_mode_get(h, g.gpus[idx].phys_id, &m0) == OFM_HAL_OK &&
            (m0.current != targets[idx].enabled || m0.pending != targets[idx].enabled)) {
            changing[idx] = any = true;
            en_any |= targets[idx].enabled;
        }
    }
    char why[256];
    if (any && ofm_mig_may_change_mode(h, why, sizeof why)) {
        for (size_t idx = 0; idx < g.ngpus; idx++)
            if (changing[idx])
                fprintf(log, "GPU %zu: cannot %s MIG mode: %s\n", idx,
                        targets[idx].enabled ? "enable" : "disable", why);
        fprintf(log, "nothing was changed\n");
        return 1;
    }
    int rc = 0;
    if (any && hooks && ofm_mig_hooks_stop(hooks, h, g.gpus, g.ngpus, changing, en_any, log)) {
        fprintf(log, "a MIG hook failed: nothing was changed\n");
        ofm_mig_hooks_start(hooks, h, g.gpus, g.ngpus, changing, en_any, log);
        return 1;
    }
    for (size_t idx = 0; idx < g.ngpus; idx++) {
        if (!selected[idx])
            continue;
        uint32_t gpu = g.gpus[idx].phys_id;
        const ofm_mig_catalog *c = ofm_mig_catalog_for_model(g.gpus[idx].model);
        layout cur;
        ofm_hal_mig_mode m;
        char want[256], have[256];
        describe(&targets[idx], c, want, sizeof want);
        if (current_of(h, gpu, &cur, &m)) {
            if (!targets[idx].enabled && !c) {
                fprintf(log, "GPU %zu: no MIG, matches\n", idx);
                continue;
            }
            fprintf(log, "GPU %zu: %s\n", idx, ofm_hal_last_error(h));
            rc = 1;
            continue;
        }
        describe(&cur, c, have, sizeof have);
        if (same(&targets[idx], &cur, &m)) {
            fprintf(log, "GPU %zu: already matches '%s' (%s), unchanged\n", idx, l->label, want);
            continue;
        }
        if (!apply) {
            fprintf(log, "GPU %zu: differs from '%s': want %s; have %s%s\n", idx, l->label, want,
                    have, m.current != m.pending ? " (mode change pending a GPU reset)" : "");
            rc = 1;
            continue;
        }
        int r = 0;
        if (cur.enabled)
            r = teardown(h, gpu, idx, log);
        if (!r && (m.current != targets[idx].enabled || m.pending != targets[idx].enabled))
            r = set_mode(h, gpu, idx, targets[idx].enabled, log);
        if (!r && targets[idx].enabled)
            r = build(h, gpu, idx, &targets[idx], c, log);
        if (r) {
            rc = 1;
            continue;
        }
        fprintf(log, "GPU %zu: applied '%s': %s (was %s)\n", idx, l->label, want, have);
    }
    if (any && hooks && ofm_mig_hooks_start(hooks, h, g.gpus, g.ngpus, changing, en_any, log))
        rc = 1;
    return rc;
}

int ofm_mig_apply(ofm_hal *h, const ofm_mig_cfg *cfg, const ofm_mig_cfg_label *l, FILE *log)
{
    return run(h, cfg, l, log, true, NULL);
}

int ofm_mig_apply_hooked(ofm_hal *h, const ofm_mig_cfg *cfg, const ofm_mig_cfg_label *l,
                         ofm_mig_hooks *hooks, FILE *log)
{
    return run(h, cfg, l, log, true, hooks);
}

int ofm_mig_assert(ofm_hal *h, const ofm_mig_cfg *cfg, const ofm_mig_cfg_label *l, FILE *log)
{
    return run(h, cfg, l, log, false, NULL);
}

int ofm_mig_export(ofm_hal *h, const char *label, FILE *out)
{
    gpu_list g;
    if (list(h, &g, stderr))
        return -1;
    fprintf(out, "version: v1\nmig-configs:\n  \"%s\":\n", label);
    size_t written = 0;
    for (size_t idx = 0; idx < g.ngpus; idx++) {
        const ofm_mig_catalog *c = ofm_mig_catalog_for_model(g.gpus[idx].model);
        layout cur;
        ofm_hal_mig_mode m;
        if (!c || current_of(h, g.gpus[idx].phys_id, &cur, &m))
            continue;
        /* a pending change is what the GPU will be after the next reset */
        cur.enabled = m.pending;
        fprintf(out, "    - devices: [%zu]\n      mig-enabled: %s\n      mig-devices: {", idx,
                cur.enabled ? "true" : "false");
        for (size_t i = 0; cur.enabled && i < cur.n;) {
            size_t j = i;
            while (j < cur.n && cur.ids[j] == cur.ids[i])
                j++;
            const ofm_mig_gi_profile *p = ofm_mig_profile_by_id(c, cur.ids[i]);
            fprintf(out, "%s\"%s\": %zu", i ? ", " : "", p ? p->name : "?", j - i);
            i = j;
        }
        fprintf(out, "}\n");
        written++;
    }
    if (!written)
        fprintf(out, "    []\n");
    return 0;
}
