/* Bring-up pipeline: discover -> match topology -> train / wait for ALI ->
 * validate -> HA policy -> routes -> GPU fabric registration -> ready.
 * Each step is timed and logged; every finding is logged with device, port
 * and what the operator should do. Routes go to the switches in ONE batched
 * route_write (the emulator makes each call one transaction). */
#include "manager/manager_int.h"
#include "openfm/log.h"

#include <dirent.h>
#include <stdarg.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

uint64_t ofm_mgr_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Copy with truncation (paths longer than the status field are cut). */
static void set_str(char *dst, size_t len, const char *src)
{
    size_t n = strnlen(src, len - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static double ms_since(uint64_t t0) { return (double)(ofm_mgr_now_ns() - t0) / 1e6; }

typedef struct {
    ofm_hal *h;
    const ofm_bringup_opts *o;
    ofm_fabric_status *st;
    ofm_fabric_ctx *ctx;
    ofm_fabric_observed *obs;
    int obs_sw[OFM_MAX_SWITCHES];  /* model switch index -> discovered index, -1 */
    int obs_gpu[OFM_MAX_GPUS];     /* model GPU index -> discovered index, -1 */
    bool mig_nolink[OFM_MAX_GPUS]; /* model GPU index: MIG mode keeps its NVLinks down */
} run;

static int fail(run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(run *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->st->message, sizeof r->st->message, fmt, ap);
    va_end(ap);
    r->st->state = OFM_SYS_FAILED;
    OFM_CRIT("fabric bring-up failed: %s; the system stays uninitialised and CUDA applications "
             "fail with cudaErrorSystemNotReady",
             r->st->message);
    return -1;
}

/* ------------------------------------------------------------ discovery */

static int discover(run *r)
{
    ofm_hal *h = r->h;
    char ver[64] = "", why[400];
    if (h->ops->driver_version && h->ops->driver_version(h, ver, sizeof ver) != OFM_HAL_OK)
        snprintf(ver, sizeof ver, "unknown");
    if (ofm_observe(h, r->obs, why, sizeof why) < 0)
        return fail(r, "%s", why);
    OFM_INFO("discover: %zu NVSwitch(es), %zu GPU(s), driver %s, backend %s", r->obs->nswitches,
             r->obs->ngpus, ver, h->ops->name);
    return 0;
}

/* ------------------------------------------------------ topology match */

static bool load_candidate(const char *name_or_path, const char *dir, ofm_platform *p)
{
    ofm_error err;
    if (ofm_platform_load(name_or_path, dir, p, &err) == 0)
        return true;
    char buf[OFM_ERROR_MSG_LEN + OFM_ERROR_ORIGIN_LEN + 16];
    OFM_WARN("topology: skipping %s: %s", name_or_path, ofm_error_format(&err, buf, sizeof buf));
    return false;
}

/* No model named: recognise one from discovery (src/manager/recognise.c)
 * and say which, or why none fits. */
typedef struct {
    ofm_match_result res;
    char source[256];
    bool have;
} match_pick;

static int match_discovery(run *r, const char *dir)
{
    match_pick *pick = calloc(1, sizeof *pick);
    if (!pick)
        return fail(r, "out of memory");
    pick->have = ofm_recognise_platform(r->obs, dir, &r->ctx->platform, pick->source,
                                        sizeof pick->source, &pick->res) >= 0;
    const ofm_platform *best = &r->ctx->platform;
    const ofm_match_result *m = &pick->res;
    char seen[160];
    snprintf(seen, sizeof seen, "%zu NVSwitch(es)%s%s, %zu GPU(s)%s%s", r->obs->nswitches,
             r->obs->nswitches ? " gen " : "",
             r->obs->nswitches ? (r->obs->switches[0].gen == OFM_SWITCH_GEN4   ? "4"
                                  : r->obs->switches[0].gen == OFM_SWITCH_GEN3 ? "3"
                                  : r->obs->switches[0].gen == OFM_SWITCH_GEN2 ? "2"
                                                                               : "1")
                               : "",
             r->obs->ngpus, r->obs->ngpus ? " " : "", r->obs->ngpus ? r->obs->gpus[0].model : "");
    if (pick->have && m->fits) {
        set_str(r->st->topology_source, sizeof r->st->topology_source, pick->source);
        OFM_INFO("topology: discovery (%s) matches %s (%s): %ld of %ld links wired as modelled",
                 seen, best->name, pick->source, m->links_as_modelled, m->links_modelled);
        if (!m->exact)
            OFM_WARN("topology: fewer devices than %s describes (%zu of %zu NVSwitches, %zu of "
                     "%zu GPUs): validation reports which",
                     best->name, r->obs->nswitches, best->nswitches, r->obs->ngpus, best->ngpus);
        free(pick);
        return 0;
    }
    int rc;
    if (!pick->have) {
        rc = fail(r, "no topology in %s or among the built-ins could be loaded; install the "
                     "topology file for this system in TOPOLOGY_FILE_PATH",
                  dir ? dir : "(none)");
    } else {
        for (size_t i = 0; i < m->ndiffs; i++)
            OFM_ERR("topology: %s (%s) differs at NVSwitch %u port %u: expected %s, found %s",
                    best->name, pick->source, m->diffs[i].sw, m->diffs[i].port,
                    m->diffs[i].expected, m->diffs[i].found);
        if (m->structural[0])
            rc = fail(r, "no topology matches what discovery found (%s); closest is %s (%s): %s; "
                         "put this system's topology file in TOPOLOGY_FILE_PATH (%s)",
                      seen, best->name, pick->source, m->structural, dir ? dir : "not set");
        else
            rc = fail(r, "no topology matches what discovery found (%s); closest is %s (%s), "
                         "which differs at %zu port(s), first NVSwitch %u port %u: expected %s, "
                         "found %s; check the NVLink cabling or put this system's topology file "
                         "in TOPOLOGY_FILE_PATH (%s)",
                      seen, best->name, pick->source, m->ndiffs + m->more_diffs, m->diffs[0].sw,
                      m->diffs[0].port, m->diffs[0].expected, m->diffs[0].found,
                      dir ? dir : "not set");
    }
    free(pick);
    return rc;
}

/* Pick the model: the topology the backend names (emulator) when it can be
 * loaded - from TOPOLOGY_FILE_PATH first - else the one recognised from
 * discovery among the built-ins and the files of TOPOLOGY_FILE_PATH. */
static int match_topology(run *r)
{
    ofm_platform *best = &r->ctx->platform;
    ofm_platform *cand = malloc(sizeof *cand);
    if (!cand)
        return fail(r, "out of memory");
    const ofm_platform *named = ofm_hal_platform(r->h);
    const char *dir = r->o->topology_dir;
    long best_score = -1;
    if (named) {
        char path[512];
        int n = dir ? snprintf(path, sizeof path, "%s/%s.topo", dir, named->name) : -1;
        FILE *f = n > 0 && (size_t)n < sizeof path ? fopen(path, "r") : NULL;
        if (f) {
            fclose(f);
            if (load_candidate(path, NULL, cand)) {
                *best = *cand;
                set_str(r->st->topology_source, sizeof r->st->topology_source, path);
                best_score = 0;
            }
        }
        if (best_score < 0 && load_candidate(named->name, NULL, cand)) {
            *best = *cand;
            snprintf(r->st->topology_source, sizeof r->st->topology_source, "built-in %s",
                     named->name);
            best_score = 0;
        }
        if (best_score < 0) {
            /* A model the backend was created from but that is neither a
             * file here nor built in: trust the backend's copy. */
            *best = *named;
            snprintf(r->st->topology_source, sizeof r->st->topology_source, "backend model %s",
                     named->name);
            best_score = 0;
        }
    }
    free(cand);
    /* No model named (real hardware): recognise one from discovery. */
    if (best_score < 0 && match_discovery(r, dir) < 0)
        return -1;
    snprintf(r->st->platform, sizeof r->st->platform, "%s", best->name);
    OFM_INFO("topology: %s (%s), %zu GPUs, %zu NVSwitches, %zu access links, %zu trunk links",
             best->name, r->st->topology_source, best->ngpus, best->nswitches, best->naccess,
             best->ntrunks);
    return 0;
}

static void map_devices(run *r)
{
    const ofm_platform *p = &r->ctx->platform;
    for (size_t i = 0; i < p->nswitches && i < OFM_MAX_SWITCHES; i++) {
        r->obs_sw[i] = -1;
        for (size_t k = 0; k < r->obs->nswitches; k++)
            if (r->obs->switches[k].phys_id == p->switches[i].id)
                r->obs_sw[i] = (int)k;
    }
    for (size_t i = 0; i < p->ngpus && i < OFM_MAX_GPUS; i++) {
        r->obs_gpu[i] = -1;
        for (size_t k = 0; k < r->obs->ngpus; k++)
            if (r->obs->gpus[k].phys_id == p->gpus[i].phys_id)
                r->obs_gpu[i] = (int)k;
    }
}

/* ------------------------------------------------------------- training */

/* On platforms whose links the manager trains (A100 and earlier), a GPU in
 * MIG mode has its NVLinks disabled by the driver: training them anyway would
 * route traffic to a GPU that cannot take it. Such GPUs keep their links
 * untrained and get no routes until MIG mode is disabled (FM §8.9); ALI
 * platforms (H100 and later) keep NVLink up in MIG mode. */
static void note_mig_gpus(run *r)
{
    const ofm_platform *p = &r->ctx->platform;
    if (p->ali || !r->h->ops->mig_mode_get)
        return;
    for (size_t i = 0; i < p->ngpus && i < OFM_MAX_GPUS; i++) {
        int k = r->obs_gpu[i];
        ofm_hal_mig_mode mm;
        if (k < 0 || r->obs->gpus[k].health != OFM_DEV_OK ||
            r->h->ops->mig_mode_get(r->h, p->gpus[i].phys_id, &mm) != OFM_HAL_OK || !mm.current)
            continue;
        r->mig_nolink[i] = true;
        r->obs->gpu_links_off[k] = true;
        OFM_WARN("GPU %u (%s): MIG mode is enabled, so its NVLinks stay untrained and unrouted "
                 "(FM §8.9); it has no NVLink peer access until MIG mode is disabled",
                 p->gpus[i].phys_id, r->obs->gpus[k].pci_bdf);
    }
}

/* Model ports (access and trunk) of present switches that are not active. */
static size_t pending_ports(run *r, uint32_t *sw_out, uint32_t *port_out, size_t cap)
{
    const ofm_platform *p = &r->ctx->platform;
    size_t n = 0;
    for (size_t si = 0; si < p->nswitches && si < OFM_MAX_SWITCHES; si++) {
        int k = r->obs_sw[si];
        if (k < 0 || r->obs->switches[k].health != OFM_DEV_OK)
            continue;
        for (uint32_t port = 0; port < OFM_MAX_SWITCH_PORTS && port < r->obs->switches[k].nports;
             port++) {
            if (r->obs->ports[k][port].state == OFM_LINK_ACTIVE)
                continue;
            int a = ofm_fabric_access_at(p, p->switches[si].id, port);
            int t = a < 0 ? ofm_fabric_trunk_at(p, p->switches[si].id, port) : -1;
            if (a < 0 && t < 0)
                continue;
            /* A missing or failed GPU cannot train: validation reports it once. */
            if (a >= 0) {
                int gi = ofm_fabric_gpu_index(p, p->access[a].gpu);
                int gk = gi >= 0 ? r->obs_gpu[gi] : -1;
                if (gk < 0 || r->obs->gpus[gk].health != OFM_DEV_OK || r->mig_nolink[gi])
                    continue;
            }
            /* A trunk trains from one end: list it at its first end only,
             * unless that end's switch is absent. */
            if (t >= 0 && p->trunks[t].sw_a != p->switches[si].id) {
                int other = ofm_fabric_switch_index(p, p->trunks[t].sw_a);
                int ok = other >= 0 ? r->obs_sw[other] : -1;
                if (ok >= 0 && r->obs->switches[ok].health == OFM_DEV_OK)
                    continue;
            }
            if (n < cap) {
                sw_out[n] = (uint32_t)si;
                port_out[n] = port;
            }
            n++;
        }
    }
    return n;
}

static void train(run *r)
{
    const ofm_platform *p = &r->ctx->platform;
    enum { CAP = OFM_MAX_SWITCHES * OFM_MAX_SWITCH_PORTS };
    uint32_t sws[CAP], ports[CAP];
    uint64_t t0 = ofm_mgr_now_ns();
    size_t n = pending_ports(r, sws, ports, CAP);
    if (n > CAP)
        n = CAP;
    if (!p->ali) {
        size_t trained = 0;
        for (size_t i = 0; i < n; i++) {
            uint32_t sw = p->switches[sws[i]].id;
            int k = r->obs_sw[sws[i]];
            int rc = r->h->ops->train_port(r->h, sw, ports[i]);
            if (rc != OFM_HAL_OK)  /* detail only: validation reports it with the action */
                OFM_DEBUG("train: switch %u port %u: training failed: %s", sw, ports[i],
                          ofm_hal_last_error(r->h));
            else
                trained++;
            if (r->h->ops->switch_port(r->h, sw, ports[i], &r->obs->ports[k][ports[i]]) != OFM_HAL_OK)
                memset(&r->obs->ports[k][ports[i]], 0, sizeof r->obs->ports[k][ports[i]]);
            /* The far end of a trunk came up (or not) with this one. */
            int t = ofm_fabric_trunk_at(p, sw, ports[i]);
            if (t >= 0) {
                const ofm_trunk_link *tl = &p->trunks[t];
                bool at_a = tl->sw_a == sw && tl->port_a == ports[i];
                uint32_t fsw = at_a ? tl->sw_b : tl->sw_a, fport = at_a ? tl->port_b : tl->port_a;
                int fi = ofm_fabric_switch_index(p, fsw);
                int fk = fi >= 0 ? r->obs_sw[fi] : -1;
                if (fk >= 0 && fport < OFM_MAX_SWITCH_PORTS &&
                    r->h->ops->switch_port(r->h, fsw, fport, &r->obs->ports[fk][fport]) != OFM_HAL_OK)
                    memset(&r->obs->ports[fk][fport], 0, sizeof r->obs->ports[fk][fport]);
            }
        }
        OFM_INFO("train: %zu link(s) needed training, %zu trained, %.2f ms", n, trained,
                 ms_since(t0));
        return;
    }
    /* ALI: links train in hardware; give them the wait budget. */
    uint32_t budget = r->o->ali_wait_ms ? r->o->ali_wait_ms : 1000;
    uint64_t deadline = t0 + (uint64_t)budget * 1000000u;
    while (n > 0 && ofm_mgr_now_ns() < deadline) {
        struct timespec ts = {0, 2 * 1000 * 1000};
        nanosleep(&ts, NULL);
        for (size_t i = 0; i < n; i++) {
            int k = r->obs_sw[sws[i]];
            if (r->h->ops->switch_port(r->h, p->switches[sws[i]].id, ports[i],
                                       &r->obs->ports[k][ports[i]]) != OFM_HAL_OK)
                memset(&r->obs->ports[k][ports[i]], 0, sizeof r->obs->ports[k][ports[i]]);
        }
        n = pending_ports(r, sws, ports, CAP);
        if (n > CAP)
            n = CAP;
    }
    if (n > 0) {
        /* name them (the first few): the operator greps the log for a port */
        char list[256] = "";
        size_t len = 0, shown = 0;
        for (; shown < n && shown < 8; shown++) {
            int w = snprintf(list + len, sizeof list - len, "%sswitch %u port %u", shown ? ", " : "",
                             p->switches[sws[shown]].id, ports[shown]);
            if (w < 0 || (size_t)w >= sizeof list - len)
                break;
            len += (size_t)w;
        }
        OFM_WARN("ali: %zu link(s) still not active after %u ms: %s%s; validation names the GPU "
                 "link at each and what to do",
                 n, budget, list, shown < n ? ", ..." : "");
    }
    OFM_INFO("ali: waited %.2f ms for autonomous link training", ms_since(t0));
}

/* ---------------------------------------------------------------- routes */

static int read_programmed(run *r, ofm_route_plan *cur)
{
    const ofm_platform *p = &r->ctx->platform;
    /* room for a full table of the largest switch: one read per switch */
    size_t cap = 1024;
    for (size_t si = 0; si < p->nswitches; si++)
        if ((size_t)p->switches[si].nports * p->ngpus > cap)
            cap = (size_t)p->switches[si].nports * p->ngpus;
    ofm_route_entry *buf = malloc(cap * sizeof *buf);
    if (!buf)
        return -1;
    ofm_route_plan all;
    ofm_route_plan_init(&all);
    for (size_t si = 0; si < p->nswitches; si++) {
        if (r->obs_sw[si] < 0 || r->obs->switches[r->obs_sw[si]].health != OFM_DEV_OK)
            continue;
        size_t n = 0;
        int rc = r->h->ops->route_read(r->h, p->switches[si].id, buf, cap, &n);
        if (rc == OFM_HAL_OK && n > cap) {
            ofm_route_entry *nb = realloc(buf, n * sizeof *buf);
            if (!nb) {
                free(buf);
                ofm_route_plan_free(&all);
                return -1;
            }
            buf = nb;
            cap = n;
            rc = r->h->ops->route_read(r->h, p->switches[si].id, buf, cap, &n);
        }
        if (rc != OFM_HAL_OK) {
            OFM_WARN("routes: cannot read the table of switch %u: %s", p->switches[si].id,
                     ofm_hal_last_error(r->h));
            continue;
        }
        n = n < cap ? n : cap;
        if (!n)
            continue;
        if (all.n + n > all.cap) {
            size_t ncap = all.cap ? all.cap : 1024;
            while (ncap < all.n + n)
                ncap *= 2;
            ofm_route_entry *ne = realloc(all.e, ncap * sizeof *ne);
            if (!ne) {
                free(buf);
                ofm_route_plan_free(&all);
                return -1;
            }
            all.e = ne;
            all.cap = ncap;
        }
        if (n) /* a switch with no entries: all.e may still be NULL */
            memcpy(all.e + all.n, buf, n * sizeof *buf);
        all.n += n;
    }
    free(buf);
    /* one merge of everything read: sorted and folded once */
    int rc = ofm_route_plan_merge(cur, &all);
    ofm_route_plan_free(&all);
    return rc < 0 ? -1 : 0;
}

static int program_routes(run *r)
{
    const ofm_platform *p = &r->ctx->platform;
    const ofm_policy_decision *d = &r->ctx->decision;
    uint64_t t0 = ofm_mgr_now_ns();
    ofm_route_plan want, cur, diff;
    ofm_route_plan_init(&want);
    ofm_route_plan_init(&cur);
    ofm_route_plan_init(&diff);
    int rc = -1;

    if (r->o->mode == OFM_FABRIC_MODE_BARE_METAL) {
        uint32_t gpus[OFM_MAX_GPUS];
        size_t n = 0;
        for (size_t i = 0; i < p->ngpus; i++)
            if (d->gpu_p2p[i])
                gpus[n++] = p->gpus[i].phys_id;
        if (ofm_route_plan_build(p, &d->effective, gpus, n, &want) < 0) {
            fail(r, "cannot compute the routing plan (out of memory)");
            goto out;
        }
    } else if (r->o->restart) {
        OFM_INFO("routes: resilient restart, switch routing tables left as they are");
        rc = 0;
        goto out;
    }
    if (read_programmed(r, &cur) < 0 || ofm_route_plan_diff(&cur, &want, &diff) < 0) {
        fail(r, "cannot compute the routing update (out of memory)");
        goto out;
    }
    if (diff.n > 0) {
        int hrc = r->h->ops->route_write(r->h, diff.e, diff.n);
        if (hrc != OFM_HAL_OK) {
            fail(r, "programming %zu routing entries failed: %s (%s); restart the fabric manager, "
                    "reset GPUs and NVSwitches if it persists (FM §13.1)",
                 diff.n, ofm_hal_last_error(r->h), ofm_hal_strerror(hrc));
            goto out;
        }
    }
    r->st->routes_programmed = want.n;
    size_t cleared = 0;
    for (size_t i = 0; i < diff.n; i++)
        cleared += ofm_portset_empty(diff.e[i].egress);
    OFM_INFO("routes: %zu entries planned, %zu written (%zu stale cleared) in one batch, %.2f ms%s",
             want.n, diff.n, cleared, ms_since(t0),
             r->o->mode == OFM_FABRIC_MODE_BARE_METAL
                 ? ""
                 : "; shared NVSwitch/vGPU mode: no GPU reaches another until a partition is "
                   "activated");
    rc = 0;
out:
    ofm_route_plan_free(&want);
    ofm_route_plan_free(&cur);
    ofm_route_plan_free(&diff);
    return rc;
}

/* ---------------------------------------------------------- registration */

/* When the backend cannot set the state (the GPU driver runs registration
 * itself, as on real H100 systems), read what the GPU reports, waiting while
 * it is still Not Started / In Progress. Returns false when nothing could be
 * read or the GPU takes no part in registration. */
static bool read_registration(run *r, uint32_t id, uint64_t deadline, ofm_hal_fabric_info *fi)
{
    if (!r->h->ops->fabric_get)
        return false;
    for (;;) {
        if (r->h->ops->fabric_get(r->h, id, fi) != OFM_HAL_OK || fi->state == OFM_FABRIC_NOT_SUPPORTED)
            return false;
        if (fi->state == OFM_FABRIC_COMPLETED || ofm_mgr_now_ns() >= deadline)
            return true;
        struct timespec ts = {0, 2 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

/* Returns how many GPUs lost peer access here, after the routes were
 * planned (their failure was only visible in the GPU's own report). */
static size_t register_gpus(run *r)
{
    const ofm_platform *p = &r->ctx->platform;
    ofm_policy_decision *d = &r->ctx->decision;
    uint64_t t0 = ofm_mgr_now_ns();
    uint32_t budget = r->o->ali_wait_ms ? r->o->ali_wait_ms : 1000;
    uint64_t deadline = t0 + (uint64_t)budget * 1000000u;
    size_t ok = 0, failed = 0, lost = 0;
    /* A backend that registers many GPUs in one transaction does so for
     * every GPU the loop below would register (a rack: 72 writes -> 1). */
    int batch_rc[OFM_MAX_GPUS];
    bool batched = false;
    if (r->h->ops->fabric_set_many) {
        uint32_t ids[OFM_MAX_GPUS];
        size_t idx[OFM_MAX_GPUS], n = 0;
        for (size_t i = 0; i < p->ngpus && i < OFM_MAX_GPUS; i++) {
            int k = r->obs_gpu[i];
            if (k >= 0 && r->ctx->observed.gpu_ok[i] && !d->gpu_register_fail[i] &&
                !r->obs->gpu_fail_registration[k]) {
                idx[n] = i;
                ids[n++] = p->gpus[i].phys_id;
            }
        }
        int rcs[OFM_MAX_GPUS];
        if (n && r->h->ops->fabric_set_many(r->h, ids, n, OFM_FABRIC_COMPLETED, 0, rcs) ==
                     OFM_HAL_OK) {
            batched = true;
            for (size_t j = 0; j < n; j++)
                batch_rc[idx[j]] = rcs[j];
        }
    }
    for (size_t i = 0; i < p->ngpus; i++) {
        int k = r->obs_gpu[i];
        ofm_gpu_status *g = &r->st->gpus[i];
        if (k < 0)
            continue; /* not on the bus: nothing to show */
        if (!r->ctx->observed.gpu_ok[i]) {
            /* present but unusable: its registration never starts */
            g->fabric_state = p->ali ? OFM_FABRIC_NOT_STARTED : OFM_FABRIC_NOT_SUPPORTED;
            continue;
        }
        uint32_t id = p->gpus[i].phys_id;
        if (!r->h->ops->fabric_set && !r->h->ops->fabric_get) {
            g->fabric_state = OFM_FABRIC_NOT_SUPPORTED;
            continue;
        }
        /* One write per GPU: each HAL write is a transaction, and the
         * in-progress state is only visible for the length of this loop. */
        bool can = !d->gpu_register_fail[i] && !r->obs->gpu_fail_registration[k];
        int rc = !r->h->ops->fabric_set ? OFM_HAL_ENOTSUP
                 : can && batched        ? batch_rc[i]
                 : can                   ? r->h->ops->fabric_set(r->h, id, OFM_FABRIC_COMPLETED, 0)
                                         : OFM_HAL_EIO;
        int status = -1;
        char why[200] = "";
        if (rc == OFM_HAL_ENOTSUP) {
            /* Not ours to set: the GPU's own report decides. A failed
             * registration is a failure, never "not supported". */
            ofm_hal_fabric_info fi;
            if (!read_registration(r, id, deadline, &fi)) {
                g->fabric_state = OFM_FABRIC_NOT_SUPPORTED;
                continue;
            }
            g->fabric_state = fi.state;
            g->fabric_status = fi.status;
            if (fi.state == OFM_FABRIC_COMPLETED && fi.status == 0 && can) {
                ok++;
                continue;
            }
            status = fi.state == OFM_FABRIC_COMPLETED && fi.status ? fi.status : -1;
            snprintf(why, sizeof why, ": the GPU reports %s/%s", ofm_fabric_state_name(fi.state),
                     ofm_fabric_status_text(fi.state, fi.status));
        } else if (rc == OFM_HAL_OK && can) {
            g->fabric_state = OFM_FABRIC_COMPLETED;
            g->fabric_status = 0;
            ok++;
            continue;
        } else if (can && batched) {
            snprintf(why, sizeof why, ": the registration returned %s", ofm_hal_strerror(rc));
        } else if (can) {
            snprintf(why, sizeof why, ": %s", ofm_hal_last_error(r->h));
        }
        /* Registration failed: the GPU loses NVLink peer access but stays
         * usable for non-peer work (FM §2.2). A GPU still In Progress when
         * the wait ends keeps its state; it gets no routes either way. */
        if (g->fabric_state != OFM_FABRIC_IN_PROGRESS && g->fabric_state != OFM_FABRIC_NOT_STARTED) {
            g->fabric_state = OFM_FABRIC_COMPLETED;
            g->fabric_status = status;
        }
        if (r->h->ops->fabric_set && rc != OFM_HAL_ENOTSUP)
            r->h->ops->fabric_set(r->h, id, OFM_FABRIC_COMPLETED, status);
        lost += d->gpu_p2p[i];
        d->gpu_p2p[i] = false;
        failed++;
        OFM_ERR("register: GPU %u (%s) failed to register with the NVLink fabric%s: it has no "
                "NVLink peer access but stays usable for non-peer work; to recover stop CUDA "
                "applications and DCGM, stop the fabric manager, reset the GPU (nvidia-smi -r), "
                "start the fabric manager again (FM §2.2)",
                id, r->obs->gpus[k].pci_bdf, why);
    }
    OFM_INFO("register: %zu GPU(s) registered (Completed/Success), %zu failed, %.2f ms", ok,
             failed, ms_since(t0));
    return lost;
}

/* ---------------------------------------------------------------- status */

static void fill_status(run *r)
{
    const ofm_platform *p = &r->ctx->platform;
    const ofm_policy_decision *d = &r->ctx->decision;
    const ofm_fabric_health *obsh = &r->ctx->observed;
    ofm_fabric_status *st = r->st;
    st->ngpus = p->ngpus;
    st->nswitches = p->nswitches;
    st->bandwidth_reduced = d->bandwidth_reduced;
    for (size_t i = 0; i < p->ngpus; i++) {
        ofm_gpu_status *g = &st->gpus[i];
        int k = r->obs_gpu[i];
        g->phys_id = p->gpus[i].phys_id;
        if (k >= 0) {
            snprintf(g->uuid, sizeof g->uuid, "%s", r->obs->gpus[k].uuid);
            snprintf(g->pci_bdf, sizeof g->pci_bdf, "%s", r->obs->gpus[k].pci_bdf);
        }
        g->present = obsh->gpu_ok[i];
        g->p2p = d->gpu_p2p[i];
        g->links_expected = ofm_fabric_gpu_usable_links(p, NULL, g->phys_id);
        g->links_usable = g->p2p ? ofm_fabric_gpu_usable_links(p, &d->effective, g->phys_id) : 0;
        g->health = k < 0 ? OFM_DEV_MISSING : r->obs->gpus[k].health;
        g->partition = -1;
    }
    st->access_expected = (uint32_t)p->naccess;
    st->trunk_expected = (uint32_t)p->ntrunks;
    st->access_active = st->trunk_active = 0;
    for (size_t a = 0; a < p->naccess; a++)
        st->access_active += obsh->access_ok[a];
    for (size_t t = 0; t < p->ntrunks; t++)
        st->trunk_active += obsh->trunk_ok[t];
    for (size_t si = 0; si < p->nswitches; si++) {
        ofm_switch_status_entry *s = &st->switches[si];
        int k = r->obs_sw[si];
        uint32_t id = p->switches[si].id;
        s->id = id;
        if (k >= 0) {
            snprintf(s->uuid, sizeof s->uuid, "%s", r->obs->switches[k].uuid);
            snprintf(s->pci_bdf, sizeof s->pci_bdf, "%s", r->obs->switches[k].pci_bdf);
        }
        s->status = k < 0 || r->obs->switches[k].health == OFM_DEV_MISSING ? OFM_SW_MISSING
                    : r->obs->switches[k].health != OFM_DEV_OK             ? OFM_SW_FAILED
                    : d->switch_disabled[si]                               ? OFM_SW_DISABLED
                                                                           : OFM_SW_OK;
        s->links_expected = s->links_active = 0;
        for (size_t a = 0; a < p->naccess; a++)
            if (p->access[a].sw == id) {
                s->links_expected++;
                s->links_active += obsh->access_ok[a];
            }
        for (size_t t = 0; t < p->ntrunks; t++)
            if (p->trunks[t].sw_a == id || p->trunks[t].sw_b == id) {
                s->links_expected++;
                s->links_active += obsh->trunk_ok[t];
            }
    }
}

/* A device missing because the driver excluded it (FM §9.6) is not a fault
 * to chase: say which one and how it comes back. */
static void log_if_excluded(run *r, const ofm_finding *f, const ofm_hal_excluded *x, size_t nx)
{
    bool sw = f->kind == OFM_FIND_SWITCH_MISSING;
    if (!sw && f->kind != OFM_FIND_GPU_MISSING)
        return;
    uint32_t id = sw ? f->sw : f->gpu;
    for (size_t i = 0; i < nx; i++)
        if (x[i].is_switch == sw && x[i].phys_id == id) {
            OFM_WARN("validate: %s %u (%s, PCI %s) is excluded by the driver (%s, FM §9.6): the fabric is "
                     "configured without it%s; 'fmctl include %s %u' and a reboot bring it back",
                     sw ? "NVSwitch" : "GPU", id, x[i].uuid, x[i].pci_bdf,
                     sw ? "NvSwitchExcludelist" : "NVreg_ExcludedGpus",
                     sw ? " (and per NVSWITCH_FAILURE_MODE)" : "", sw ? "switch" : "gpu", id);
            return;
        }
}

static void log_findings(run *r, const ofm_validation_report *rep)
{
    ofm_hal_excluded x[OFM_MAX_GPUS + OFM_MAX_SWITCHES];
    size_t nx = 0;
    if (!r->h->ops->list_excluded || r->h->ops->list_excluded(r->h, x, sizeof x / sizeof x[0], &nx))
        nx = 0;
    if (nx > sizeof x / sizeof x[0])
        nx = sizeof x / sizeof x[0];
    for (size_t i = 0; i < rep->n; i++) {
        const ofm_finding *f = &rep->items[i];
        log_if_excluded(r, f, x, nx);
        ofm_log(f->severity == OFM_SEV_ERROR ? OFM_LOG_ERR : OFM_LOG_WARN, "validate: %s; %s",
                f->msg, f->action);
        if (f->severity == OFM_SEV_ERROR)
            r->st->findings_errors++;
        else
            r->st->findings_warnings++;
    }
    if (rep->dropped)
        OFM_ERR("validate: %zu further finding(s) not shown", rep->dropped);
}

/* ------------------------------------------------------------- pipeline */

/* The monitor starts after the events the HAL already held when bring-up
 * began: what failed before is what bring-up itself finds and reports (a
 * missing GPU, a link down), and replaying it after "ready" as new runtime
 * errors, with runtime advice, misleads the operator. Events raised during
 * bring-up are still the monitor's. Only a backend that can say where its
 * events end without reading them (the optional event_cursor_now) is asked:
 * reading events has side effects on the NVSwitch driver's backend. */
static void skip_old_events(run *r)
{
    uint64_t c = 0;
    if (r->h->ops->event_cursor_now && r->h->ops->event_cursor_now(r->h, &c) == OFM_HAL_OK)
        r->ctx->event_cursor = c;
}

int ofm_bringup(ofm_hal *h, const ofm_bringup_opts *opts, ofm_fabric_status *st,
                ofm_fabric_ctx *ctx_out)
{
    uint64_t t0 = ofm_mgr_now_ns(), ts;
    ofm_fabric_status_init(st);
    st->state = OFM_SYS_INITIALIZING;
    st->mode = opts->mode;
    snprintf(st->message, sizeof st->message, "fabric initialisation in progress: not ready");
    run r = {.h = h, .o = opts, .st = st};
    r.ctx = ctx_out ? ctx_out : malloc(sizeof *r.ctx);
    r.obs = calloc(1, sizeof *r.obs);
    ofm_validation_report *rep = malloc(sizeof *rep);
    int rc = -1;
    if (!r.ctx || !r.obs || !rep) {
        fail(&r, "out of memory");
        goto out;
    }
    memset(r.ctx, 0, sizeof *r.ctx);
    r.ctx->mode = opts->mode;
    skip_old_events(&r);
    OFM_INFO("fabric bring-up: mode %d (%s), system not ready until it completes", (int)opts->mode,
             opts->mode == OFM_FABRIC_MODE_BARE_METAL ? "bare metal"
             : opts->mode == OFM_FABRIC_MODE_SHARED   ? "shared NVSwitch"
                                                      : "vGPU");

    ts = ofm_mgr_now_ns();
    if (discover(&r) < 0)
        goto out;
    OFM_INFO("discover: done in %.2f ms", ms_since(ts));

    ts = ofm_mgr_now_ns();
    if (match_topology(&r) < 0)
        goto out;
    map_devices(&r);
    OFM_INFO("topology: matched in %.2f ms", ms_since(ts));
    char why[320];
    if (!ofm_mode_supported(&r.ctx->platform, opts->mode, why, sizeof why)) {
        fail(&r, "%s", why);
        goto out;
    }

    note_mig_gpus(&r);
    train(&r);

    ts = ofm_mgr_now_ns();
    size_t errors = ofm_fabric_validate(&r.ctx->platform, r.obs, &r.ctx->observed, rep);
    log_findings(&r, rep);
    OFM_INFO("validate: %zu error(s), %zu warning(s), %.2f ms", errors, rep->n - (errors - rep->dropped),
             ms_since(ts));

    ts = ofm_mgr_now_ns();
    ofm_policy_decide(&r.ctx->platform, &r.ctx->observed, &opts->failure, opts->mode,
                      &r.ctx->decision);
    if (r.ctx->decision.abort) {
        fail(&r, "%s", r.ctx->decision.reason);
        fill_status(&r);
        goto out;
    }
    if (r.ctx->decision.reason[0])
        OFM_WARN("policy: %s", r.ctx->decision.reason);
    /* GPUs the backend reports as unable to register get no routes: they
     * lose peer access only (FM §2.2). */
    for (size_t i = 0; i < r.ctx->platform.ngpus; i++)
        if (r.obs_gpu[i] >= 0 && r.obs->gpu_fail_registration[r.obs_gpu[i]]) {
            r.ctx->decision.gpu_register_fail[i] = true;
            r.ctx->decision.gpu_p2p[i] = false;
        }
    OFM_INFO("policy: applied in %.2f ms", ms_since(ts));

    if (program_routes(&r) < 0) {
        fill_status(&r);
        goto out;
    }
    /* A GPU whose failed registration only showed now must not keep the
     * routes planned for it (bare metal; partitions are routed later). */
    if (register_gpus(&r) > 0 && opts->mode == OFM_FABRIC_MODE_BARE_METAL &&
        program_routes(&r) < 0) {
        fill_status(&r);
        goto out;
    }
    fill_status(&r);

    st->state = OFM_SYS_READY;
    st->bringup_ns = ofm_mgr_now_ns() - t0;
    size_t p2p = 0;
    for (size_t i = 0; i < st->ngpus; i++)
        p2p += st->gpus[i].p2p;
    snprintf(st->message, sizeof st->message, "fabric ready: %zu of %zu GPU(s) with NVLink peer "
                                              "access%s",
             p2p, st->ngpus, st->bandwidth_reduced ? ", NVLink bandwidth reduced by HA policy" : "");
    OFM_INFO("fabric ready on %s in %.2f ms: %zu/%zu GPUs with NVLink P2P, %u/%u access and "
             "%u/%u trunk links active",
             st->platform, (double)st->bringup_ns / 1e6, p2p, st->ngpus, st->access_active,
             st->access_expected, st->trunk_active, st->trunk_expected);
    rc = 0;
out:
    if (rc < 0)
        st->bringup_ns = ofm_mgr_now_ns() - t0;
    /* a rack-scale domain reports its health (docs/nvl72.md) */
    if (r.ctx)
        ofm_domain_health_update(&r.ctx->platform, st);
    if (st->domain_health == OFM_DOMAIN_HEALTHY)
        OFM_INFO("NVLink domain health: HEALTHY");
    else if (st->domain_health != OFM_DOMAIN_NONE)
        OFM_WARN("NVLink domain health: %s: %s", ofm_domain_health_name(st->domain_health),
                 st->domain_reason);
    if (!ctx_out)
        free(r.ctx);
    free(r.obs);
    free(rep);
    return rc;
}
