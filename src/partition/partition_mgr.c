/* Partition state machine and routing for shared NVSwitch / vGPU modes. */
#include "partition/partition_mgr.h"

#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fabric/fabric.h"
#include "openfm/log.h"
#include "openfm/partition_rules.h"
#include "partition/state_file.h"
#include "partition/state_journal.h"
#include "partition/vf_check.h"

struct ofm_partition_mgr {
    ofm_hal *hal;
    const ofm_fabric_ctx *fctx;
    const ofm_platform *p;
    char state_file[512];
    ofm_pm_journal *journal;                /* every change is durable before it is answered */
    bool awaiting;                          /* --restart, before set_activated */
    bool restart_mode;                      /* this run started with --restart */
    /* the partition table: the platform's own (p->partitions) first, then
     * the partitions defined live, in the order they were defined */
    size_t nparts;
    ofm_partition_desc parts[OFM_PM_MAX_PARTITIONS];
    bool live[OFM_PM_MAX_PARTITIONS];
    bool supported[OFM_PM_MAX_PARTITIONS];  /* indexed like parts */
    bool active[OFM_PM_MAX_PARTITIONS];
    unsigned nvfs[OFM_PM_MAX_PARTITIONS];
    fmPciDevice_t vfs[OFM_PM_MAX_PARTITIONS][FM_MAX_NUM_GPUS];
    ofm_hal_gpu gpus[OFM_MAX_GPUS];         /* identity, indexed like p->gpus */
    /* what the switches held when --restart read them back, until the
     * hypervisor's list is applied; afterwards every change is per partition */
    ofm_route_plan current;
    ofm_route_groups routes[OFM_PM_MAX_PARTITIONS]; /* of each active partition, once built */
    uint32_t usable_links[OFM_MAX_GPUS];    /* per GPU (platform index), fixed after bring-up */
    ofm_fabric_health scratch_health;       /* one partition's links (large: not on the stack) */
};

static int part_index(const ofm_partition_mgr *pm, unsigned id)
{
    for (size_t i = 0; i < pm->nparts; i++)
        if (pm->parts[i].id == id)
            return (int)i;
    return -1;
}

static bool is_vgpu(const ofm_partition_mgr *pm) { return pm->fctx->mode == OFM_FABRIC_MODE_VGPU; }

/* H100 and later (NVSwitch gen3+, links trained by ALI). */
static bool hopper_or_later(const ofm_platform *p)
{
    return p->ali || (p->nswitches > 0 && p->switches[0].gen >= OFM_SWITCH_GEN3);
}

static bool mig_enabled(ofm_partition_mgr *pm, uint32_t gpu)
{
    ofm_hal_mig_mode m;
    return pm->hal->ops->mig_mode_get && pm->hal->ops->mig_mode_get(pm->hal, gpu, &m) == OFM_HAL_OK &&
           m.current;
}

/* Routes of the active set (plus `extra` when >= 0, minus `without` when >= 0). */
static int plan_for(ofm_partition_mgr *pm, int extra, int without, ofm_route_plan *out)
{
    ofm_route_plan one;
    ofm_route_plan_init(&one);
    out->n = 0;
    int rc = 0;
    for (size_t i = 0; i < pm->nparts && !rc; i++) {
        bool on = (pm->active[i] && (int)i != without) || (int)i == extra;
        const ofm_partition_desc *d = &pm->parts[i];
        if (!on || d->ngpus < 2)
            continue;
        /* each partition over its own link count (FM §11.1) */
        ofm_partition_health(pm->p, &pm->fctx->decision.effective, d, &pm->scratch_health);
        rc = ofm_route_plan_build(pm->p, &pm->scratch_health, d->gpus, d->ngpus, &one);
        if (!rc)
            rc = ofm_route_plan_merge(out, &one);
    }
    ofm_route_plan_free(&one);
    return rc;
}

/* Program `next` (diff against what is programmed) and adopt it. */
static fmReturn_t program(ofm_partition_mgr *pm, ofm_route_plan *next)
{
    ofm_route_plan diff;
    ofm_route_plan_init(&diff);
    if (ofm_route_plan_diff(&pm->current, next, &diff)) {
        ofm_route_plan_free(&diff);
        return FM_ST_GENERIC_ERROR;
    }
    int rc = diff.n ? pm->hal->ops->route_write(pm->hal, diff.e, diff.n) : OFM_HAL_OK;
    ofm_route_plan_free(&diff);
    if (rc != OFM_HAL_OK) {
        OFM_ERR("programming NVSwitch routing failed: %s (%s); the previous routing stays in place",
                ofm_hal_last_error(pm->hal), ofm_hal_strerror(rc));
        return FM_ST_GENERIC_ERROR;
    }
    ofm_route_plan tmp = pm->current;
    pm->current = *next;
    *next = tmp;
    return FM_ST_SUCCESS;
}

static void fill_state(const ofm_partition_mgr *pm, ofm_pm_state *s)
{
    memset(s, 0, sizeof *s);
    snprintf(s->platform, sizeof s->platform, "%s", pm->p->name);
    s->ngpus = pm->p->ngpus;
    for (size_t i = 0; i < pm->p->ngpus; i++) {
        s->gpu_id[i] = pm->p->gpus[i].phys_id;
        snprintf(s->gpu_uuid[i], sizeof s->gpu_uuid[i], "%s", pm->gpus[i].uuid);
    }
    s->npartitions = pm->nparts;
    for (size_t i = 0; i < pm->nparts; i++) {
        s->part_id[i] = pm->parts[i].id;
        s->live[i] = pm->live[i];
        if (pm->live[i]) {
            s->part_ngpus[i] = pm->parts[i].ngpus;
            memcpy(s->part_gpus[i], pm->parts[i].gpus, pm->parts[i].ngpus * sizeof s->part_gpus[i][0]);
            s->part_nvlinks[i] = pm->parts[i].nvlinks_per_gpu;
        }
        s->supported[i] = pm->supported[i];
        s->active[i] = pm->active[i];
        s->nvfs[i] = pm->nvfs[i];
        memcpy(s->vfs[i], pm->vfs[i], sizeof s->vfs[i]);
    }
}

/* What a change alters, kept to undo it. */
typedef struct {
    bool active[OFM_PM_MAX_PARTITIONS];
    unsigned nvfs[OFM_PM_MAX_PARTITIONS];
    fmPciDevice_t vfs[OFM_PM_MAX_PARTITIONS][FM_MAX_NUM_GPUS];
} pm_book;

static void book_save(const ofm_partition_mgr *pm, pm_book *b)
{
    memcpy(b->active, pm->active, sizeof b->active);
    memcpy(b->nvfs, pm->nvfs, sizeof b->nvfs);
    memcpy(b->vfs, pm->vfs, sizeof b->vfs);
}

static void book_restore(ofm_partition_mgr *pm, const pm_book *b)
{
    memcpy(pm->active, b->active, sizeof b->active);
    memcpy(pm->nvfs, b->nvfs, sizeof b->nvfs);
    memcpy(pm->vfs, b->vfs, sizeof b->vfs);
}

/* The routes for the change are programmed and the bookkeeping updated:
 * make it durable before anyone is told. If that fails, the bookkeeping is
 * put back here and the caller puts the routes back, and the client gets an
 * error, so that what the file says, what the hardware forwards and what
 * the client was told agree. A crash between programming and this record is
 * reconciled by --restart: the routes are read back from the hardware and
 * the hypervisor's fmSetActivatedFabricPartitions decides. */
static fmReturn_t persist(ofm_partition_mgr *pm, const pm_book *before, const char *what)
{
    bool changed[OFM_PM_MAX_PARTITIONS] = {false}, any = false;
    for (size_t i = 0; i < pm->nparts; i++) {
        changed[i] = before->active[i] != pm->active[i] || before->nvfs[i] != pm->nvfs[i] ||
                     memcmp(before->vfs[i], pm->vfs[i], pm->nvfs[i] * sizeof pm->vfs[i][0]);
        any |= changed[i];
    }
    if (!any)
        return FM_ST_SUCCESS;
    ofm_pm_state *s = malloc(sizeof *s);
    ofm_error err;
    char b[700];
    if (!s) {
        ofm_error_set(&err, pm->state_file, 0, "out of memory");
    } else {
        fill_state(pm, s);
        if (!ofm_pm_journal_record(pm->journal, s, changed, &err)) {
            if (ofm_pm_journal_compaction_due(pm->journal) && ofm_pm_journal_compact(pm->journal, s, &err))
                OFM_WARN("cannot compact the resiliency state file (the change itself is recorded): %s",
                         ofm_error_format(&err, b, sizeof b));
            free(s);
            return FM_ST_SUCCESS;
        }
        free(s);
    }
    OFM_ERR("%s failed: the resiliency state could not be made durable: %s; the NVSwitch routing is "
            "rolled back and the client is answered with an error",
            what, ofm_error_format(&err, b, sizeof b));
    book_restore(pm, before);
    return FM_ST_GENERIC_ERROR;
}

static void rollback_failed(const char *what)
{
    OFM_CRIT("rolling back the routing after the failed %s did not work either: the hardware may "
             "forward what the state file does not record until the next change", what);
}

/* Program or clear the routes of partition i alone. Its entries are its
 * own: every entry is keyed by a destination GPU, and no other active
 * partition holds that GPU, so a change writes exactly this partition's
 * entries and never reads, merges or rewrites anyone else's (the cost is
 * the partition's size, not the fabric's). The plan is kept while the
 * partition is active, so deactivation only writes its clears. It is kept
 * in group form (one egress per switch and destination, with the ingress
 * ports that use it): GB200 NVL72's whole domain is 1296 groups where it is
 * 92016 entries, and a backend that stores routes that way (the emulator)
 * takes them as they are. */
static fmReturn_t write_routes(ofm_partition_mgr *pm, size_t i, bool on)
{
    const ofm_partition_desc *d = &pm->parts[i];
    if (d->ngpus < 2)
        return FM_ST_SUCCESS; /* a lone GPU has no routes */
    ofm_route_groups *gs = &pm->routes[i];
    if (!gs->n) {
        /* each partition over its own link count (FM §11.1) */
        ofm_partition_health(pm->p, &pm->fctx->decision.effective, d, &pm->scratch_health);
        if (ofm_route_groups_build(pm->p, &pm->scratch_health, d->gpus, d->ngpus, gs)) {
            OFM_ERR("cannot compute the routes of partition %" PRIu32 " (out of memory)", d->id);
            return FM_ST_GENERIC_ERROR;
        }
    }
    if (!on)
        for (size_t k = 0; k < gs->n; k++)
            gs->g[k].egress = ofm_portset_none();
    int rc = gs->n ? ofm_hal_route_write_groups(pm->hal, gs->g, gs->n) : OFM_HAL_OK;
    if (!on || rc != OFM_HAL_OK)
        ofm_route_groups_free(gs); /* built again when next needed */
    if (rc != OFM_HAL_OK) {
        OFM_ERR("programming NVSwitch routing failed: %s (%s); the previous routing stays in place",
                ofm_hal_last_error(pm->hal), ofm_hal_strerror(rc));
        return FM_ST_GENERIC_ERROR;
    }
    return FM_ST_SUCCESS;
}

static int journal_start(ofm_partition_mgr *pm, ofm_error *err)
{
    ofm_pm_state *s = malloc(sizeof *s);
    if (!s)
        return ofm_error_set(err, NULL, 0, "out of memory");
    fill_state(pm, s);
    ofm_error e;
    int rc = ofm_pm_journal_start(pm->state_file, s, &pm->journal, &e);
    free(s);
    if (rc) {
        char b[700];
        ofm_error_set(err, NULL, 0, "cannot write the resiliency state file (STATE_FILE_NAME): %s",
                      ofm_error_format(&e, b, sizeof b));
    }
    return rc;
}

static void load_identity(ofm_partition_mgr *pm)
{
    ofm_hal_gpu g[OFM_MAX_GPUS];
    size_t n = 0;
    pm->hal->ops->list_gpus(pm->hal, g, OFM_MAX_GPUS, &n);
    for (size_t i = 0; i < pm->p->ngpus; i++) {
        memset(&pm->gpus[i], 0, sizeof pm->gpus[i]);
        pm->gpus[i].phys_id = pm->p->gpus[i].phys_id;
        for (size_t k = 0; k < n && k < OFM_MAX_GPUS; k++)
            if (g[k].phys_id == pm->p->gpus[i].phys_id)
                pm->gpus[i] = g[k];
    }
}

static int read_programmed(ofm_partition_mgr *pm)
{
    pm->current.n = 0;
    size_t cap = OFM_MAX_SWITCH_PORTS * OFM_MAX_GPUS;
    ofm_route_entry *buf = malloc(cap * sizeof *buf);
    if (!buf)
        return -1;
    for (size_t s = 0; s < pm->p->nswitches; s++) {
        size_t n = 0;
        if (pm->hal->ops->route_read(pm->hal, pm->p->switches[s].id, buf, cap, &n) != OFM_HAL_OK)
            continue; /* a missing switch holds no routes */
        ofm_route_plan one = {.e = buf, .n = n < cap ? n : cap, .cap = cap};
        if (ofm_route_plan_merge(&pm->current, &one)) {
            free(buf);
            return -1;
        }
    }
    free(buf);
    return 0;
}

/* Whether partition `d` can run on this system as bring-up left it: the
 * HA policy's verdict (H100 lists every partition regardless, FM §11.3.2)
 * and, in vGPU mode, no GPU in MIG mode at start-up (FM §8.9.1). When it
 * cannot, `why` says so. */
static bool usable(ofm_partition_mgr *pm, const ofm_partition_desc *d, char *why, size_t cap)
{
    const ofm_platform *p = pm->p;
    if (!p->ali && !ofm_policy_partition_ok(p, &pm->fctx->decision, d)) {
        snprintf(why, cap, "partition %" PRIu32 ": a GPU, NVLink or NVSwitch it needs failed at "
                 "initialisation (the HA policy removed it)", d->id);
        return false;
    }
    for (uint32_t k = 0; is_vgpu(pm) && k < d->ngpus; k++)
        if (mig_enabled(pm, d->gpus[k])) {
            snprintf(why, cap, "GPU %" PRIu32 " is in MIG mode at start-up: partition %" PRIu32
                     " is not supported in vGPU mode (FM §8.9.1)", d->gpus[k], d->id);
            return false;
        }
    return true;
}

/* NVLinks per GPU a live definition routes over: none for a lone GPU,
 * otherwise every link the model gives its GPUs (the least of them). */
static uint32_t live_nvlinks(const ofm_platform *p, const ofm_partition_desc *d)
{
    if (d->ngpus < 2)
        return 0;
    uint32_t n = UINT32_MAX;
    for (uint32_t k = 0; k < d->ngpus; k++) {
        uint32_t l = ofm_platform_gpu_link_count(p, d->gpus[k]);
        n = l < n ? l : n;
    }
    return n;
}

/* Entry i of a loaded state as a definition, checked again against this
 * platform's rules (the file may come from an older openfm). */
static int state_definition(const ofm_partition_mgr *pm, const ofm_pm_state *s, size_t i,
                            ofm_partition_desc *d, char *why, size_t cap)
{
    memset(d, 0, sizeof *d);
    d->id = s->part_id[i];
    d->ngpus = s->part_ngpus[i] <= OFM_MAX_GPUS ? s->part_ngpus[i] : OFM_MAX_GPUS;
    memcpy(d->gpus, s->part_gpus[i], d->ngpus * sizeof d->gpus[0]);
    d->nvlinks_per_gpu = s->part_nvlinks[i];
    return ofm_partition_validate_live(pm->p, d, why, cap);
}

/* A normal start reinitialises routing and activations, but partitions
 * defined live are configuration: they are read back from the state file
 * the previous run left, when it is this platform's, and checked again.
 * Returns how many were carried over. */
static size_t carry_over_definitions(ofm_partition_mgr *pm)
{
    if (access(pm->state_file, F_OK) != 0)
        return 0;
    ofm_pm_state *s = malloc(sizeof *s);
    ofm_error err;
    char b[700];
    size_t n = 0;
    if (!s)
        return 0;
    if (ofm_pm_state_load(pm->state_file, s, &err)) {
        OFM_WARN("partitions defined live before are not carried over: %s",
                 ofm_error_format(&err, b, sizeof b));
    } else if (strcmp(s->platform, pm->p->name)) {
        OFM_WARN("partitions defined live before are not carried over: %s was written for "
                 "platform %s", pm->state_file, s->platform);
    } else {
        for (size_t i = 0; i < s->npartitions && pm->nparts < OFM_PM_MAX_PARTITIONS; i++) {
            if (!s->live[i])
                continue;
            ofm_partition_desc d;
            char why[OFM_ERROR_MSG_LEN];
            if (state_definition(pm, s, i, &d, why, sizeof why)) {
                OFM_WARN("partition %u defined live before is dropped: %s", s->part_id[i], why);
                continue;
            }
            if (part_index(pm, d.id) >= 0) {
                OFM_WARN("partition %u defined live before is dropped: the ID is taken by the "
                         "platform's table", d.id);
                continue;
            }
            size_t k = pm->nparts++;
            pm->parts[k] = d;
            pm->live[k] = true;
            pm->supported[k] = usable(pm, &d, why, sizeof why);
            if (!pm->supported[k])
                OFM_WARN("partition %u defined live is not supported in this run: %s", d.id, why);
            n++;
        }
        if (n)
            OFM_INFO("%zu partition definition(s) made live before carried over from %s", n,
                     pm->state_file);
    }
    free(s);
    return n;
}

/* --restart: load and check the state file, keep the routes, and wait for
 * the hypervisor's list. */
static int restore(ofm_partition_mgr *pm, const ofm_pm_opts *o, ofm_error *err)
{
    const ofm_platform *p = pm->p;
    char b[700], why[OFM_ERROR_MSG_LEN] = "";
    ofm_pm_state *s = malloc(sizeof *s);
    if (!s)
        return ofm_error_set(err, NULL, 0, "out of memory");
    if (ofm_pm_state_load(o->state_file, s, err)) {
        ofm_error e2 = *err;
        ofm_error_set(err, NULL, 0, "cannot recover state from %s: %s; start without --restart",
                      o->state_file, ofm_error_format(&e2, b, sizeof b));
        free(s);
        return -1;
    }
    /* the platform's table, in order, with the live definitions after or
     * between its entries as the file has them */
    size_t nb = 0;
    if (strcmp(s->platform, p->name))
        snprintf(why, sizeof why, "it was saved for another platform");
    else if (s->ngpus != p->ngpus)
        snprintf(why, sizeof why, "the GPU count differs");
    for (size_t i = 0; !why[0] && i < s->npartitions; i++) {
        ofm_partition_desc d;
        char w[OFM_ERROR_MSG_LEN];
        if (!s->live[i]) {
            if (nb >= p->npartitions || s->part_id[i] != p->partitions[nb].id)
                snprintf(why, sizeof why, "its partition table differs from this platform's");
            else
                d = p->partitions[nb++];
        } else if (state_definition(pm, s, i, &d, w, sizeof w)) {
            snprintf(why, sizeof why, "a partition defined live no longer obeys this platform's "
                     "rules: %.200s", w);
        }
        if (why[0])
            break;
        pm->parts[i] = d;
        pm->live[i] = s->live[i];
        pm->supported[i] = s->supported[i];
        pm->active[i] = s->active[i]; /* provisional until the hypervisor says */
        pm->nvfs[i] = s->nvfs[i];
        memcpy(pm->vfs[i], s->vfs[i], sizeof pm->vfs[i]);
    }
    if (!why[0] && nb != p->npartitions)
        snprintf(why, sizeof why, "the GPU or partition count differs");
    for (size_t i = 0; !why[0] && i < p->ngpus; i++)
        if (s->gpu_id[i] != p->gpus[i].phys_id ||
            (pm->gpus[i].uuid[0] && strcmp(s->gpu_uuid[i], pm->gpus[i].uuid)))
            snprintf(why, sizeof why, "a GPU's UUID or physical ID changed (hardware was replaced)");
    pm->nparts = s->npartitions;
    free(s);
    if (why[0])
        return ofm_error_set(err, NULL, 0, "cannot recover state from %s: %s; start without "
                             "--restart", o->state_file, why);
    if (read_programmed(pm))
        return ofm_error_set(err, NULL, 0, "cannot read the programmed routing tables");
    /* the loaded state becomes the new snapshot; if that cannot be
     * written now, the tenants keep running and the hypervisor's list is
     * refused until it can */
    ofm_error je;
    if (ofm_pm_journal_new(o->state_file, &pm->journal, &je)) {
        *err = je;
        return -1;
    }
    ofm_pm_state *cur = malloc(sizeof *cur);
    if (cur)
        fill_state(pm, cur);
    if (!cur || ofm_pm_journal_compact(pm->journal, cur, &je))
        OFM_WARN("resiliency restart: cannot rewrite the state file: %s; "
                 "fmSetActivatedFabricPartitions will be refused until it can be written",
                 cur ? ofm_error_format(&je, b, sizeof b) : "out of memory");
    free(cur);
    pm->awaiting = true;
    pm->restart_mode = true;
    OFM_INFO("resiliency restart: state loaded from %s, %zu routing entries left in place; "
             "partition operations wait for fmSetActivatedFabricPartitions",
             o->state_file, pm->current.n);
    return 0;
}

int ofm_pm_create(const ofm_pm_opts *o, ofm_partition_mgr **out, ofm_error *err)
{
    ofm_partition_mgr *pm = calloc(1, sizeof *pm);
    if (!pm)
        return ofm_error_set(err, NULL, 0, "out of memory");
    pm->hal = o->hal;
    pm->fctx = o->fctx;
    pm->p = &o->fctx->platform;
    snprintf(pm->state_file, sizeof pm->state_file, "%s", o->state_file);
    ofm_route_plan_init(&pm->current);
    load_identity(pm);
    const ofm_platform *p = pm->p;
    /* the HA decision is final for this run: answer list requests from a table */
    for (size_t g = 0; g < p->ngpus; g++)
        pm->usable_links[g] = ofm_fabric_gpu_usable_links(p, &o->fctx->decision.effective, p->gpus[g].phys_id);

    if (o->restart) {
        if (restore(pm, o, err)) {
            ofm_pm_destroy(pm);
            return -1;
        }
        *out = pm;
        return 0;
    }

    pm->nparts = p->npartitions;
    memcpy(pm->parts, p->partitions, p->npartitions * sizeof p->partitions[0]);
    char first_why[256] = "", ids[160] = "";
    size_t nunsup = 0, idlen = 0;
    for (size_t i = 0; i < p->npartitions; i++) {
        char why[256];
        pm->supported[i] = usable(pm, &pm->parts[i], why, sizeof why);
        if (!pm->supported[i] && is_vgpu(pm) && strstr(why, "MIG"))
            OFM_WARN("%s; disable MIG and restart the fabric manager to get it back", why);
        if (pm->supported[i])
            continue;
        if (!nunsup++)
            snprintf(first_why, sizeof first_why, "%s", why);
        int w = snprintf(ids + idlen, sizeof ids - idlen, "%s%" PRIu32, idlen ? ", " : "",
                         pm->parts[i].id);
        idlen = w < 0 || (size_t)w >= sizeof ids - idlen ? sizeof ids - 1 : idlen + (size_t)w;
    }
    /* which ones, and why: the count alone leaves the operator guessing */
    if (nunsup)
        OFM_WARN("%zu default partition(s) not supported in this run: %s (first: %s); they cannot "
                 "be activated until the failed device is repaired and the fabric manager restarts "
                 "('fmctl partition unsupported' lists them)",
                 nunsup, ids, first_why);
    size_t ncarried = carry_over_definitions(pm);
    /* isolation first: no GPU reaches another until a partition is activated */
    for (size_t s = 0; s < p->nswitches; s++)
        if (o->fctx->decision.effective.switch_ok[s] &&
            pm->hal->ops->route_clear_switch(pm->hal, p->switches[s].id) != OFM_HAL_OK)
            OFM_WARN("cannot clear routing on switch %" PRIu32 ": %s", p->switches[s].id,
                     ofm_hal_last_error(pm->hal));
    if (journal_start(pm, err)) {
        ofm_pm_destroy(pm);
        return -1;
    }
    size_t nsup = 0;
    for (size_t i = 0; i < p->npartitions; i++)
        nsup += pm->supported[i];
    OFM_INFO("%s mode: %zu of %zu default partitions supported%s; all GPUs isolated",
             is_vgpu(pm) ? "vGPU" : "shared NVSwitch", nsup, p->npartitions,
             ncarried ? ", plus the partitions defined live before" : "");
    *out = pm;
    return 0;
}

void ofm_pm_destroy(ofm_partition_mgr *pm)
{
    if (!pm)
        return;
    ofm_route_plan_free(&pm->current);
    for (size_t i = 0; i < OFM_PM_MAX_PARTITIONS; i++)
        ofm_route_groups_free(&pm->routes[i]);
    ofm_pm_journal_close(pm->journal);
    free(pm);
}

bool ofm_pm_awaiting_restart_list(const ofm_partition_mgr *pm) { return pm->awaiting; }

/* Which partitions the public calls serve: the supported ones the public
 * structures can hold (at most FM_MAX_NUM_GPUS GPUs), the first
 * FM_MAX_FABRIC_PARTITIONS of them in table order. The others are served by
 * the openfm extension calls only (docs/partitions.md). */
static void public_view(const ofm_partition_mgr *pm, bool *pub)
{
    unsigned n = 0;
    for (size_t i = 0; i < pm->nparts; i++) {
        pub[i] = pm->supported[i] && pm->parts[i].ngpus <= FM_MAX_NUM_GPUS &&
                 n < FM_MAX_FABRIC_PARTITIONS;
        n += pub[i];
    }
}

static bool is_public(const ofm_partition_mgr *pm, size_t i)
{
    bool pub[OFM_PM_MAX_PARTITIONS];
    public_view(pm, pub);
    return pub[i];
}

/* A public call for a partition only the extension calls serve. */
static fmReturn_t not_public(const ofm_partition_mgr *pm, size_t i, const char *call)
{
    const ofm_partition_desc *d = &pm->parts[i];
    if (d->ngpus > FM_MAX_NUM_GPUS)
        OFM_WARN("%s for partition %" PRIu32 " refused (FM_ST_NOT_SUPPORTED): it has %" PRIu32
                 " GPUs and the public SDK structures hold %d; use fmctl partition or the openfm "
                 "extension calls", call, d->id, d->ngpus, FM_MAX_NUM_GPUS);
    else
        OFM_WARN("%s for partition %" PRIu32 " refused (FM_ST_NOT_SUPPORTED): it is beyond the "
                 "%d partitions the public list holds; use fmctl partition or the openfm "
                 "extension calls", call, d->id, FM_MAX_FABRIC_PARTITIONS);
    return FM_ST_NOT_SUPPORTED;
}

fmReturn_t ofm_pm_get_supported(ofm_partition_mgr *pm, fmFabricPartitionList_t *out)
{
    if (pm->awaiting)
        return FM_ST_NOT_CONFIGURED;
    const ofm_platform *p = pm->p;
    bool pub[OFM_PM_MAX_PARTITIONS];
    public_view(pm, pub);
    unsigned n = 0;
    for (size_t i = 0; i < pm->nparts && n < FM_MAX_FABRIC_PARTITIONS; i++) {
        if (!pub[i])
            continue;
        const ofm_partition_desc *d = &pm->parts[i];
        fmFabricPartitionInfo_t *pi = &out->partitionInfo[n++];
        memset(pi, 0, sizeof *pi);
        pi->partitionId = d->id;
        pi->isActive = pm->active[i];
        pi->numGpus = d->ngpus > FM_MAX_NUM_GPUS ? FM_MAX_NUM_GPUS : d->ngpus;
        for (unsigned k = 0; k < pi->numGpus; k++) {
            fmFabricPartitionGpuInfo_t *g = &pi->gpuInfo[k];
            const ofm_gpu_desc *gd = ofm_platform_gpu(p, d->gpus[k]);
            int gi = ofm_fabric_gpu_index(p, d->gpus[k]);
            g->physicalId = d->gpus[k];
            /* FM §5.1: on H100-class systems the hypervisor maps partition
             * GPUs by physical (module) ID; UUID and BDF stay empty. */
            if (gi >= 0 && !hopper_or_later(p)) {
                snprintf(g->uuid, sizeof g->uuid, "%s", pm->gpus[gi].uuid);
                snprintf(g->pciBusId, sizeof g->pciBusId, "%s", pm->gpus[gi].pci_bdf);
            }
            /* single-GPU partitions use no NVLinks (FM §11) */
            uint32_t usable = gi >= 0 ? pm->usable_links[gi] : 0;
            g->numNvLinksAvailable = d->ngpus < 2 ? 0 : usable < d->nvlinks_per_gpu ? usable : d->nvlinks_per_gpu;
            g->maxNumNvLinks = d->ngpus > 1 && gd ? gd->nvlinks : 0;
            g->nvlinkLineRateMBps = gd ? gd->line_rate_mbps : 0;
        }
    }
    out->numPartitions = n;
    out->maxNumPartitions = FM_MAX_FABRIC_PARTITIONS;
    return FM_ST_SUCCESS;
}

/* The refusals a hypervisor's mistake causes: one line each, so that the
 * operator sees which partition a client asked for and why it was refused. */
static fmReturn_t refuse_change(const char *what, unsigned id, fmReturn_t rc, const char *code,
                         const char *why)
{
    OFM_WARN("%s of partition %u refused (%s): %s", what, id, code, why);
    return rc;
}

#define AWAITING_WHY                                                                               \
    "the fabric manager was started with --restart and waits for the hypervisor's "                 \
    "fmSetActivatedFabricPartitions first"

static fmReturn_t activate(ofm_partition_mgr *pm, unsigned id, const fmPciDevice_t *vfs,
                           unsigned nvfs, bool public_call)
{
    if (pm->awaiting)
        return refuse_change("activation", id, FM_ST_NOT_CONFIGURED, "FM_ST_NOT_CONFIGURED", AWAITING_WHY);
    int i = part_index(pm, id);
    if (i < 0)
        return refuse_change("activation", id, FM_ST_BADPARAM, "FM_ST_BADPARAM",
                      "no such partition is defined (fmctl partition list shows the table)");
    const ofm_partition_desc *d = &pm->parts[i];
    if (!pm->supported[i]) {
        OFM_WARN("activation of partition %u refused: it is not supported on this system "
                 "(a GPU, link or switch it needs failed at initialisation)", id);
        return FM_ST_BADPARAM; /* FM §5.7: "unsupported partition id" */
    }
    if (public_call && !is_public(pm, (size_t)i))
        return not_public(pm, (size_t)i, nvfs ? "fmActivateFabricPartitionWithVFs"
                                              : "fmActivateFabricPartition");
    if (nvfs > 0 && d->ngpus > FM_MAX_NUM_GPUS) {
        OFM_WARN("activation of partition %u refused (FM_ST_NOT_SUPPORTED): a VF list holds at "
                 "most %d VFs, one per GPU, and the partition has %" PRIu32 " GPUs", id,
                 FM_MAX_NUM_GPUS, d->ngpus);
        return FM_ST_NOT_SUPPORTED;
    }
    if (is_vgpu(pm) && nvfs == 0) {
        OFM_WARN("activation of partition %u refused: vGPU mode needs "
                 "fmActivateFabricPartitionWithVFs (FM §5.8)", id);
        return FM_ST_NOT_SUPPORTED;
    }
    if (!is_vgpu(pm) && nvfs > 0)
        return FM_ST_NOT_SUPPORTED;
    if (nvfs > FM_MAX_NUM_GPUS)
        return FM_ST_BADPARAM;
    if (nvfs) {
        char why[256];
        if (ofm_vf_list_check(pm->hal, pm->p, d, vfs, nvfs, why, sizeof why)) {
            OFM_WARN("activation of partition %u refused (FM_ST_BADPARAM): %s", id, why);
            return FM_ST_BADPARAM;
        }
    }
    if (pm->active[i])
        return refuse_change("activation", id, FM_ST_IN_USE, "FM_ST_IN_USE", "it is already active");
    for (size_t k = 0; k < pm->nparts; k++) {
        if (!pm->active[k])
            continue;
        const ofm_partition_desc *o = &pm->parts[k];
        for (uint32_t a = 0; a < d->ngpus; a++)
            for (uint32_t b = 0; b < o->ngpus; b++)
                if (d->gpus[a] == o->gpus[b]) {
                    OFM_INFO("activation of partition %u refused: GPU %" PRIu32
                             " is in active partition %" PRIu32, id, d->gpus[a], o->id);
                    return FM_ST_IN_USE;
                }
    }
    /* FM §8.9.2: MIG enabled after start-up breaks multi-GPU partitions on A100 */
    if (d->ngpus > 1 && !pm->p->ali)
        for (uint32_t a = 0; a < d->ngpus; a++)
            if (mig_enabled(pm, d->gpus[a])) {
                OFM_WARN("activation of partition %u failed: GPU %" PRIu32 " is in MIG mode, which "
                         "disables its NVLinks on A100; disable MIG first", id, d->gpus[a]);
                return FM_ST_NVLINK_ERROR;
            }
    pm_book before;
    book_save(pm, &before);
    fmReturn_t rc = write_routes(pm, (size_t)i, true);
    if (rc == FM_ST_SUCCESS) {
        pm->active[i] = true;
        pm->nvfs[i] = nvfs;
        if (nvfs)
            memcpy(pm->vfs[i], vfs, nvfs * sizeof *vfs);
        char what[64];
        snprintf(what, sizeof what, "activation of partition %u", id);
        rc = persist(pm, &before, what);
        if (rc != FM_ST_SUCCESS && write_routes(pm, (size_t)i, false) != FM_ST_SUCCESS)
            rollback_failed(what);
    }
    if (rc != FM_ST_SUCCESS)
        return rc;
    OFM_INFO("partition %u activated (%" PRIu32 " GPUs%s)", id, d->ngpus, nvfs ? ", with VFs" : "");
    return FM_ST_SUCCESS;
}

fmReturn_t ofm_pm_activate(ofm_partition_mgr *pm, unsigned id, const fmPciDevice_t *vfs, unsigned nvfs)
{
    return activate(pm, id, vfs, nvfs, true);
}

fmReturn_t ofm_pm_activate_any(ofm_partition_mgr *pm, unsigned id, const fmPciDevice_t *vfs,
                               unsigned nvfs)
{
    return activate(pm, id, vfs, nvfs, false);
}

static fmReturn_t deactivate(ofm_partition_mgr *pm, unsigned id, bool public_call)
{
    if (pm->awaiting)
        return refuse_change("deactivation", id, FM_ST_NOT_CONFIGURED, "FM_ST_NOT_CONFIGURED", AWAITING_WHY);
    int i = part_index(pm, id);
    if (i < 0)
        return refuse_change("deactivation", id, FM_ST_BADPARAM, "FM_ST_BADPARAM",
                      "no such partition is defined (fmctl partition list shows the table)");
    if (public_call && !is_public(pm, (size_t)i) && pm->supported[i])
        return not_public(pm, (size_t)i, "fmDeactivateFabricPartition");
    if (!pm->active[i])
        return refuse_change("deactivation", id, FM_ST_UNINITIALIZED, "FM_ST_UNINITIALIZED",
                      "it is not active");
    pm_book before;
    book_save(pm, &before);
    fmReturn_t rc = write_routes(pm, (size_t)i, false);
    if (rc == FM_ST_SUCCESS) {
        pm->active[i] = false;
        pm->nvfs[i] = 0;
        char what[64];
        snprintf(what, sizeof what, "deactivation of partition %u", id);
        rc = persist(pm, &before, what);
        if (rc != FM_ST_SUCCESS && write_routes(pm, (size_t)i, true) != FM_ST_SUCCESS)
            rollback_failed(what);
    }
    if (rc != FM_ST_SUCCESS)
        return rc;
    OFM_INFO("partition %u deactivated", id);
    return FM_ST_SUCCESS;
}

fmReturn_t ofm_pm_deactivate(ofm_partition_mgr *pm, unsigned id) { return deactivate(pm, id, true); }

fmReturn_t ofm_pm_deactivate_any(ofm_partition_mgr *pm, unsigned id) { return deactivate(pm, id, false); }

__attribute__((format(printf, 4, 5))) static fmReturn_t refuse(fmReturn_t rc, char *why, size_t cap,
                                                              const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, cap, fmt, ap);
    va_end(ap);
    return rc;
}

static void gpu_list_text(const ofm_partition_desc *d, char *buf, size_t cap)
{
    buf[0] = '\0';
    for (uint32_t k = 0; k < d->ngpus; k++) {
        size_t off = strlen(buf);
        if (off + 12 >= cap)
            break;
        snprintf(buf + off, cap - off, "%s%" PRIu32, k ? "," : "", d->gpus[k]);
    }
}

/* Make the table change durable (the state after it is the table now);
 * a failure leaves the file as it was. */
static int persist_definition(ofm_partition_mgr *pm, bool define, size_t i, unsigned id,
                              ofm_error *err)
{
    ofm_pm_state *s = malloc(sizeof *s);
    if (!s)
        return ofm_error_set(err, pm->state_file, 0, "out of memory");
    fill_state(pm, s);
    int rc = define ? ofm_pm_journal_define(pm->journal, s, i, err)
                    : ofm_pm_journal_undefine(pm->journal, s, id, err);
    if (!rc && ofm_pm_journal_compaction_due(pm->journal)) {
        ofm_error e;
        char b[700];
        if (ofm_pm_journal_compact(pm->journal, s, &e))
            OFM_WARN("cannot compact the resiliency state file (the change itself is recorded): %s",
                     ofm_error_format(&e, b, sizeof b));
    }
    free(s);
    return rc;
}

fmReturn_t ofm_pm_define(ofm_partition_mgr *pm, const uint32_t *gpus, unsigned ngpus, bool has_id,
                         unsigned id, unsigned *new_id, char *why, size_t cap)
{
    why[0] = '\0';
    if (pm->awaiting)
        return refuse(FM_ST_NOT_CONFIGURED, why, cap, "the fabric manager is waiting for the "
                      "hypervisor's active partition list after --restart");
    const ofm_partition_rules *r = ofm_partition_rules_of(pm->p);
    if (ngpus == 0 || ngpus > OFM_MAX_GPUS)
        return refuse(FM_ST_BADPARAM, why, cap, "a partition has 1 to %zu GPUs, not %u",
                      pm->p->ngpus, ngpus);
    ofm_partition_desc d;
    memset(&d, 0, sizeof d);
    d.ngpus = ngpus;
    memcpy(d.gpus, gpus, ngpus * sizeof d.gpus[0]);
    if (has_id) {
        d.id = id;
    } else if (r->live_allowed) {
        /* the lowest free ID of the platform's range */
        d.id = r->id_min;
        while (d.id < r->id_max && part_index(pm, d.id) >= 0)
            d.id++;
        if (part_index(pm, d.id) >= 0)
            return refuse(FM_ST_RESOURCE_EXHAUSTED, why, cap, "every partition ID %" PRIu32
                          "-%" PRIu32 " is taken", r->id_min, r->id_max);
    }
    if (ofm_partition_validate_live(pm->p, &d, why, cap))
        return FM_ST_BADPARAM;
    char list[400];
    int k = part_index(pm, d.id);
    if (k >= 0) {
        gpu_list_text(&pm->parts[k], list, sizeof list);
        return refuse(FM_ST_PARTITION_ID_IN_USE, why, cap, "partition ID %" PRIu32 " is already "
                      "defined (GPUs %s)", d.id, list);
    }
    for (size_t i = 0; i < pm->nparts; i++)
        if (pm->parts[i].ngpus == d.ngpus &&
            !memcmp(pm->parts[i].gpus, d.gpus, d.ngpus * sizeof d.gpus[0])) {
            gpu_list_text(&d, list, sizeof list);
            return refuse(FM_ST_PARTITION_EXISTS, why, cap, "partition %" PRIu32 " already has "
                          "exactly these GPUs (%s)", pm->parts[i].id, list);
        }
    if (pm->nparts >= OFM_PM_MAX_PARTITIONS)
        return refuse(FM_ST_RESOURCE_EXHAUSTED, why, cap, "the partition table is full (%d "
                      "partitions); delete one first", OFM_PM_MAX_PARTITIONS);
    if (!usable(pm, &d, why, cap))
        return FM_ST_BADPARAM;
    d.nvlinks_per_gpu = live_nvlinks(pm->p, &d);
    size_t i = pm->nparts++;
    pm->parts[i] = d;
    pm->live[i] = true;
    pm->supported[i] = true;
    pm->active[i] = false;
    pm->nvfs[i] = 0;
    ofm_error err;
    if (persist_definition(pm, true, i, d.id, &err)) {
        pm->nparts--;
        pm->live[i] = pm->supported[i] = false;
        char b[700];
        OFM_ERR("definition of partition %" PRIu32 " failed: it could not be made durable: %s",
                d.id, ofm_error_format(&err, b, sizeof b));
        return refuse(FM_ST_GENERIC_ERROR, why, cap, "the definition could not be recorded in "
                      "the state file: %.200s", err.msg);
    }
    gpu_list_text(&d, list, sizeof list);
    OFM_INFO("partition %" PRIu32 " defined (GPUs %s, %" PRIu32 " NVLinks per GPU)%s", d.id, list,
             d.nvlinks_per_gpu,
             is_public(pm, i) ? "" : "; the public SDK calls do not serve it (more than 16 GPUs "
                                     "or beyond the 64 partitions of the public list)");
    *new_id = d.id;
    return FM_ST_SUCCESS;
}

fmReturn_t ofm_pm_undefine(ofm_partition_mgr *pm, unsigned id, char *why, size_t cap)
{
    why[0] = '\0';
    if (pm->awaiting)
        return refuse(FM_ST_NOT_CONFIGURED, why, cap, "the fabric manager is waiting for the "
                      "hypervisor's active partition list after --restart");
    int i = part_index(pm, id);
    if (i < 0)
        return refuse(FM_ST_BADPARAM, why, cap, "no partition %u is defined", id);
    if (!pm->live[i])
        return refuse(FM_ST_NOT_SUPPORTED, why, cap, "partition %u is one of the platform's "
                      "default partitions; only partitions defined live can be deleted", id);
    if (pm->active[i])
        return refuse(FM_ST_IN_USE, why, cap, "partition %u is active; deactivate it first", id);
    /* keep the removed entry to put it back if the record cannot be made durable */
    ofm_partition_desc d = pm->parts[i];
    bool sup = pm->supported[i];
    size_t rest = pm->nparts - (size_t)i - 1;
#define SHIFT(a, dir)                                                                              \
    memmove(&pm->a[(size_t)i + (dir)], &pm->a[(size_t)i + 1 - (dir)], rest * sizeof pm->a[0])
    ofm_route_groups_free(&pm->routes[i]);
    SHIFT(routes, 0);
    memset(&pm->routes[pm->nparts - 1], 0, sizeof pm->routes[0]);
    SHIFT(parts, 0);
    SHIFT(live, 0);
    SHIFT(supported, 0);
    SHIFT(active, 0);
    SHIFT(nvfs, 0);
    SHIFT(vfs, 0);
    pm->nparts--;
    ofm_error err;
    if (persist_definition(pm, false, 0, id, &err)) {
        SHIFT(routes, 1);
        memset(&pm->routes[i], 0, sizeof pm->routes[0]);
        SHIFT(parts, 1);
        SHIFT(live, 1);
        SHIFT(supported, 1);
        SHIFT(active, 1);
        SHIFT(nvfs, 1);
        SHIFT(vfs, 1);
        pm->nparts++;
        pm->parts[i] = d;
        pm->live[i] = true;
        pm->supported[i] = sup;
        pm->active[i] = false;
        pm->nvfs[i] = 0;
        char b[700];
        OFM_ERR("deletion of partition %u failed: it could not be made durable: %s", id,
                ofm_error_format(&err, b, sizeof b));
        return refuse(FM_ST_GENERIC_ERROR, why, cap, "the deletion could not be recorded in the "
                      "state file: %.200s", err.msg);
    }
#undef SHIFT
    OFM_INFO("partition %u deleted", id);
    return FM_ST_SUCCESS;
}

fmReturn_t ofm_pm_definitions(const ofm_partition_mgr *pm, ofm_pm_def *out, size_t cap, size_t *n)
{
    if (pm->awaiting)
        return FM_ST_NOT_CONFIGURED;
    bool pub[OFM_PM_MAX_PARTITIONS];
    public_view(pm, pub);
    *n = 0;
    for (size_t i = 0; i < pm->nparts && *n < cap; i++) {
        ofm_pm_def *e = &out[(*n)++];
        memset(e, 0, sizeof *e);
        e->desc = pm->parts[i];
        e->live = pm->live[i];
        e->supported = pm->supported[i];
        e->active = pm->active[i];
        e->public_view = pub[i];
    }
    return FM_ST_SUCCESS;
}

bool ofm_pm_definition(const ofm_partition_mgr *pm, unsigned id, ofm_partition_desc *out)
{
    int i = part_index(pm, id);
    if (i >= 0)
        *out = pm->parts[i];
    return i >= 0;
}

/* fmSetActivatedFabricPartitions outside the restart window: the fabric
 * manager made every change itself and knows what runs, and the call exists
 * to tell a restarted one what kept running while it was away (FM §5.10,
 * §12). So the list may only confirm the active set; it never tears down or
 * starts a partition. A list that differs is refused and each difference
 * logged by partition ID. */
static fmReturn_t confirm_active_list(ofm_partition_mgr *pm, const bool *want)
{
    unsigned nact = 0, ndiff = 0;
    for (size_t i = 0; i < pm->nparts; i++) {
        nact += pm->active[i];
        if (pm->active[i] == want[i])
            continue;
        ndiff++;
        if (pm->active[i])
            OFM_WARN("fmSetActivatedFabricPartitions outside the restart window: partition %" PRIu32
                     " is active but not in the list; it keeps running (deactivate it with "
                     "fmDeactivateFabricPartition)",
                     pm->parts[i].id);
        else
            OFM_WARN("fmSetActivatedFabricPartitions outside the restart window: partition %" PRIu32
                     " is in the list but not active; it is not activated (use "
                     "fmActivateFabricPartition%s)",
                     pm->parts[i].id, is_vgpu(pm) ? "WithVFs" : "");
    }
    if (ndiff) {
        OFM_WARN("fmSetActivatedFabricPartitions refused (FM_ST_NOT_SUPPORTED): outside a "
                 "--restart it can only confirm the active partitions; nothing was changed");
        return FM_ST_NOT_SUPPORTED;
    }
    OFM_INFO("fmSetActivatedFabricPartitions outside the restart window: the list matches the %u "
             "active partition(s); nothing changes",
             nact);
    return FM_ST_SUCCESS;
}

fmReturn_t ofm_pm_set_activated(ofm_partition_mgr *pm, const fmActivatedFabricPartitionList_t *l)
{
    if (l->numPartitions > FM_MAX_FABRIC_PARTITIONS) {
        OFM_WARN("fmSetActivatedFabricPartitions refused (FM_ST_BADPARAM): the list holds %u "
                 "partitions, at most %d", l->numPartitions, FM_MAX_FABRIC_PARTITIONS);
        return FM_ST_BADPARAM;
    }
    bool want[OFM_PM_MAX_PARTITIONS] = {false};
    for (unsigned k = 0; k < l->numPartitions; k++) {
        int i = part_index(pm, l->partitionIds[k]);
        if (i < 0 || !pm->supported[i]) {
            OFM_WARN("fmSetActivatedFabricPartitions refused (FM_ST_BADPARAM): partition %u %s",
                     l->partitionIds[k], i < 0 ? "is not defined" : "is not supported on this system");
            return FM_ST_BADPARAM;
        }
        want[i] = true;
    }
    /* overlapping partitions cannot both be running */
    for (size_t a = 0; a < pm->nparts; a++)
        for (size_t b = a + 1; b < pm->nparts; b++)
            if (want[a] && want[b])
                for (uint32_t x = 0; x < pm->parts[a].ngpus; x++)
                    for (uint32_t y = 0; y < pm->parts[b].ngpus; y++)
                        if (pm->parts[a].gpus[x] == pm->parts[b].gpus[y])
                            return FM_ST_IN_USE;
    if (!pm->awaiting)
        return confirm_active_list(pm, want);
    /* vGPU: a partition runs only with the VFs it was activated with; the
     * list cannot supply them, so only partitions recorded with VFs can be
     * declared running (FM §5.8, §12). */
    for (size_t i = 0; is_vgpu(pm) && i < pm->nparts; i++)
        if (want[i] && pm->nvfs[i] == 0) {
            OFM_WARN("fmSetActivatedFabricPartitions refused (FM_ST_BADPARAM): partition %" PRIu32
                     " is not recorded as running with VFs, and vGPU mode never activates a "
                     "partition without its VFs; leave it out, then activate it with "
                     "fmActivateFabricPartitionWithVFs. Still waiting for the active list",
                     pm->parts[i].id);
            return FM_ST_BADPARAM;
        }
    pm_book before;
    book_save(pm, &before);
    memcpy(pm->active, want, sizeof want);
    ofm_route_plan next; /* after program(): the routes before the change */
    ofm_route_plan_init(&next);
    fmReturn_t rc = plan_for(pm, -1, -1, &next) ? FM_ST_GENERIC_ERROR : program(pm, &next);
    if (rc == FM_ST_SUCCESS) {
        for (size_t i = 0; i < pm->nparts; i++)
            if (!want[i])
                pm->nvfs[i] = 0;
        rc = persist(pm, &before, "setting the active partition list");
        if (rc != FM_ST_SUCCESS && program(pm, &next) != FM_ST_SUCCESS)
            rollback_failed("setting the active partition list");
    } else {
        book_restore(pm, &before);
    }
    ofm_route_plan_free(&next);
    /* from now on every change writes only its own partition's entries */
    if (rc == FM_ST_SUCCESS)
        ofm_route_plan_free(&pm->current);
    if (rc != FM_ST_SUCCESS)
        return rc;
    pm->awaiting = false;
    for (size_t i = 0; i < pm->nparts; i++) {
        unsigned id = pm->parts[i].id;
        if (before.active[i] && want[i])
            OFM_INFO("resiliency restart: partition %u keeps running, its routes kept", id);
        else if (before.active[i])
            OFM_INFO("resiliency restart: partition %u was active when the fabric manager stopped "
                     "and is not in the hypervisor's list: its routes are removed", id);
        else if (want[i])
            OFM_INFO("resiliency restart: partition %u was not recorded as active but is in the "
                     "hypervisor's list: its routes are programmed", id);
    }
    OFM_INFO("active partition list set by the hypervisor: %u partition(s); resiliency restart "
             "complete, partition operations enabled",
             l->numPartitions);
    return FM_ST_SUCCESS;
}

fmReturn_t ofm_pm_failed_devices(ofm_partition_mgr *pm, fmNvlinkFailedDevices_t *out)
{
    /* FM §5.11: not supported in resiliency restart mode, which skips link
     * training, so there is no initialisation result to report. */
    if (pm->restart_mode)
        return FM_ST_NOT_SUPPORTED;
    out->numGpus = out->numSwitches = 0;
    if (pm->p->ali)
        return FM_ST_SUCCESS; /* H100: always empty (FM §5.11) */
    const ofm_platform *p = pm->p;
    const ofm_fabric_health *h = &pm->fctx->observed;
    for (size_t g = 0; g < p->ngpus && out->numGpus < FM_MAX_NUM_GPUS; g++) {
        fmNvlinkFailedDeviceInfo_t *fi = &out->gpuInfo[out->numGpus];
        memset(fi, 0, sizeof *fi);
        for (size_t a = 0; a < p->naccess; a++)
            if (p->access[a].gpu == p->gpus[g].phys_id && !h->access_ok[a] &&
                fi->numPorts < FM_MAX_NUM_NVLINK_PORTS)
                fi->portNum[fi->numPorts++] = p->access[a].gpu_link;
        if (fi->numPorts) {
            snprintf(fi->uuid, sizeof fi->uuid, "%s", pm->gpus[g].uuid);
            snprintf(fi->pciBusId, sizeof fi->pciBusId, "%s", pm->gpus[g].pci_bdf);
            out->numGpus++;
        }
    }
    for (size_t s = 0; s < p->nswitches && out->numSwitches < FM_MAX_NUM_NVSWITCHES; s++) {
        fmNvlinkFailedDeviceInfo_t *fi = &out->switchInfo[out->numSwitches];
        memset(fi, 0, sizeof *fi);
        uint32_t sw = p->switches[s].id;
        for (size_t a = 0; a < p->naccess; a++)
            if (p->access[a].sw == sw && !h->access_ok[a] && fi->numPorts < FM_MAX_NUM_NVLINK_PORTS)
                fi->portNum[fi->numPorts++] = p->access[a].sw_port;
        for (size_t t = 0; t < p->ntrunks; t++)
            if (!h->trunk_ok[t] && fi->numPorts < FM_MAX_NUM_NVLINK_PORTS) {
                if (p->trunks[t].sw_a == sw)
                    fi->portNum[fi->numPorts++] = p->trunks[t].port_a;
                else if (p->trunks[t].sw_b == sw)
                    fi->portNum[fi->numPorts++] = p->trunks[t].port_b;
            }
        if (fi->numPorts) {
            ofm_hal_switch sws[OFM_MAX_SWITCHES];
            size_t n = 0;
            pm->hal->ops->list_switches(pm->hal, sws, OFM_MAX_SWITCHES, &n);
            for (size_t k = 0; k < n && k < OFM_MAX_SWITCHES; k++)
                if (sws[k].phys_id == sw) {
                    snprintf(fi->uuid, sizeof fi->uuid, "%s", sws[k].uuid);
                    snprintf(fi->pciBusId, sizeof fi->pciBusId, "%s", sws[k].pci_bdf);
                }
            out->numSwitches++;
        }
    }
    return FM_ST_SUCCESS;
}

fmReturn_t ofm_pm_unsupported(ofm_partition_mgr *pm, fmUnsupportedFabricPartitionList_t *out)
{
    if (pm->awaiting)
        return FM_ST_NOT_CONFIGURED;
    out->numPartitions = 0;
    if (pm->p->ali)
        return FM_ST_SUCCESS; /* H100: always empty (FM §5.12) */
    for (size_t i = 0; i < pm->nparts && out->numPartitions < FM_MAX_FABRIC_PARTITIONS; i++) {
        if (pm->supported[i])
            continue;
        const ofm_partition_desc *d = &pm->parts[i];
        fmUnsupportedFabricPartitionInfo_t *u = &out->partitionInfo[out->numPartitions++];
        memset(u, 0, sizeof *u);
        u->partitionId = d->id;
        u->numGpus = d->ngpus > FM_MAX_NUM_GPUS ? FM_MAX_NUM_GPUS : d->ngpus;
        for (unsigned k = 0; k < u->numGpus; k++)
            u->gpuPhysicalIds[k] = d->gpus[k];
    }
    return FM_ST_SUCCESS;
}

size_t ofm_pm_entries(const ofm_partition_mgr *pm, ofm_pm_entry *out, size_t cap)
{
    for (size_t i = 0; i < pm->nparts && i < cap; i++) {
        const ofm_partition_desc *d = &pm->parts[i];
        ofm_pm_entry *e = &out[i];
        memset(e, 0, sizeof *e);
        e->id = d->id;
        e->supported = pm->supported[i];
        e->active = pm->active[i];
        e->ngpus = d->ngpus < OFM_MAX_GPUS ? d->ngpus : OFM_MAX_GPUS;
        for (uint32_t k = 0; k < e->ngpus; k++)
            e->gpus[k] = d->gpus[k];
        e->nvfs = pm->nvfs[i] < FM_MAX_NUM_GPUS ? pm->nvfs[i] : FM_MAX_NUM_GPUS;
        memcpy(e->vfs, pm->vfs[i], e->nvfs * sizeof e->vfs[0]);
    }
    return pm->nparts;
}

char *ofm_pm_json(const ofm_partition_mgr *pm)
{
    json_object *a = json_object_new_array();
    for (size_t i = 0; i < pm->nparts; i++) {
        const ofm_partition_desc *d = &pm->parts[i];
        json_object *j = json_object_new_object();
        json_object_object_add(j, "id", json_object_new_int64(d->id));
        json_object *g = json_object_new_array();
        for (uint32_t k = 0; k < d->ngpus; k++)
            json_object_array_add(g, json_object_new_int64(d->gpus[k]));
        json_object_object_add(j, "gpus", g);
        json_object_object_add(j, "supported", json_object_new_boolean(pm->supported[i]));
        json_object_object_add(j, "active", json_object_new_boolean(pm->active[i]));
        if (pm->nvfs[i]) {
            json_object *v = json_object_new_array();
            for (unsigned k = 0; k < pm->nvfs[i]; k++) {
                char b[32];
                snprintf(b, sizeof b, "%04x:%02x:%02x.%x", pm->vfs[i][k].domain, pm->vfs[i][k].bus,
                         pm->vfs[i][k].device, pm->vfs[i][k].function);
                json_object_array_add(v, json_object_new_string(b));
            }
            json_object_object_add(j, "vfs", v);
        }
        json_object_array_add(a, j);
    }
    char *s = strdup(json_object_to_json_string(a));
    json_object_put(a);
    return s;
}

size_t ofm_pm_partitions_on_port(ofm_partition_mgr *pm, uint32_t sw, uint32_t port, uint32_t *ids,
                                 size_t cap)
{
    /* A partition uses a port when its own routes enter or leave there: a
     * link a partition leaves out (HGX-2, FM §11.1) or a trunk it does not
     * cross is not its problem. */
    size_t n = 0;
    ofm_route_groups one = {0};
    for (size_t i = 0; i < pm->nparts && n < cap; i++) {
        const ofm_partition_desc *d = &pm->parts[i];
        if (!pm->active[i] || d->ngpus < 2)
            continue;
        /* the plan kept since activation, else built for this question */
        const ofm_route_groups *gs = &pm->routes[i];
        if (!gs->n) {
            ofm_partition_health(pm->p, &pm->fctx->decision.effective, d, &pm->scratch_health);
            if (ofm_route_groups_build(pm->p, &pm->scratch_health, d->gpus, d->ngpus, &one))
                continue;
            gs = &one;
        }
        for (size_t k = 0; k < gs->n; k++)
            if (gs->g[k].sw == sw &&
                (ofm_portset_has(gs->g[k].in_ports, port) || ofm_portset_has(gs->g[k].egress, port))) {
                ids[n++] = d->id;
                break;
            }
    }
    ofm_route_groups_free(&one);
    return n;
}

size_t ofm_pm_partitions_with_gpu(ofm_partition_mgr *pm, uint32_t gpu, uint32_t *ids, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < pm->nparts && n < cap; i++) {
        const ofm_partition_desc *d = &pm->parts[i];
        if (!pm->active[i])
            continue;
        for (uint32_t k = 0; k < d->ngpus; k++)
            if (d->gpus[k] == gpu) {
                ids[n++] = d->id;
                break;
            }
    }
    return n;
}
