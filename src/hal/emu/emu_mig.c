/* The emulator's MIG model: per-GPU mode (current/pending), client holders,
 * GPU and compute instances, enforced with the same catalog and rules the
 * planner uses (mig/mig.h), so "Insufficient Resources" here is what the
 * hardware would say.
 *
 * State lives in <dir>/mig.state, a small text file (diffable when debugging a
 * test) ending in a CRC line; writers hold mig.lock exclusively and replace
 * the file by write-temp-and-rename, readers hold it shared. Lock order is
 * mig.lock before the core's state.lock (link changes happen inside). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "hal/emu/emu_int.h"
#include "hal/emu/emu_mig.h"
#include "mig/mig.h"
#include "openfm/fileio.h"

#define MIG_MAGIC "openfm-mig-state"
#define MIG_VERSION 1
#define MIG_MAX_CI 8

typedef struct { uint32_t id, profile, start, size; } ci_rec;
typedef struct {
    uint32_t id, profile, start, size;
    uint32_t nci;
    ci_rec ci[MIG_MAX_CI];
} gi_rec;
typedef struct {
    bool current, pending;
    uint32_t holders;
    uint32_t ngi;
    gi_rec gi[OFM_MIG_MAX_GIS];
} gpu_rec;
typedef struct {
    gpu_rec g[OFM_MAX_GPUS];
} mig_state;

typedef struct {
    ofm_hal *h;
    int lock_fd;
    mig_state *st;
} mig_txn;

static void path_of(const ofm_hal *h, const char *name, char *out, size_t len)
{
    snprintf(out, len, "%s/%s", ofm_emu_dir(h), name);
}

static int parse_state(ofm_hal *h, const char *path, char *buf, size_t len, mig_state *st)
{
    const ofm_platform *p = emu_of(h)->p;
    /* last line "end CRC" covers every byte before it */
    if (len == 0 || buf[len - 1] != '\n')
        return emu_fail(h, OFM_HAL_ECORRUPT, "%s: truncated (no final newline); the MIG state is "
                        "lost: delete the file or run 'fmctl emu reboot'", path);
    buf[len - 1] = 0;
    char *last = strrchr(buf, '\n');
    size_t body = last ? (size_t)(last - buf) + 1 : 0;
    unsigned crc;
    if (!last || sscanf(last + 1, "end %8x", &crc) != 1 ||
        crc != emu_crc32(buf, body, 0))
        return emu_fail(h, OFM_HAL_ECORRUPT, "%s: checksum mismatch or truncated; the MIG state "
                        "is lost: delete the file or run 'fmctl emu reboot'", path);
    *last = 0;
    unsigned line = 0;
    char *save = NULL;
    for (char *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        line++;
        unsigned a, b, c, d, e2, f;
        int used = 0;
        if (line == 1) {
            if (sscanf(l, MIG_MAGIC " v%u%n", &a, &used) != 1 || l[used] || a != MIG_VERSION)
                return emu_fail(h, OFM_HAL_ECORRUPT, "%s:1: not a version %d MIG state file",
                                path, MIG_VERSION);
            continue;
        }
        int gi;
        if (sscanf(l, "gpu %u %u %u %u%n", &a, &b, &c, &d, &used) == 4 && !l[used]) {
            if ((gi = emu_gpu_index(p, a)) < 0 || b > 1 || c > 1 || d > 1000000)
                goto bad;
            st->g[gi].current = b;
            st->g[gi].pending = c;
            st->g[gi].holders = d;
        } else if (sscanf(l, "gi %u %u %u %u %u%n", &a, &b, &c, &d, &e2, &used) == 5 && !l[used]) {
            if ((gi = emu_gpu_index(p, a)) < 0 || st->g[gi].ngi >= OFM_MIG_MAX_GIS ||
                d >= OFM_MIG_MAX_SLICES || e2 < 1 || e2 > OFM_MIG_MAX_SLICES - d || c > 255)
                goto bad;
            st->g[gi].gi[st->g[gi].ngi++] = (gi_rec){b, c, d, e2, 0, {{0}}};
        } else if (sscanf(l, "ci %u %u %u %u %u %u%n", &a, &b, &c, &d, &e2, &f, &used) == 6 &&
                   !l[used]) {
            if ((gi = emu_gpu_index(p, a)) < 0 || !st->g[gi].ngi || e2 >= OFM_MIG_MAX_SLICES ||
                f < 1 || f > OFM_MIG_MAX_SLICES - e2 || c > 255 || d > 255)
                goto bad;
            gi_rec *g = &st->g[gi].gi[st->g[gi].ngi - 1];
            if (g->id != b || g->nci >= MIG_MAX_CI)
                goto bad;
            g->ci[g->nci++] = (ci_rec){c, d, e2, f};
        } else {
            goto bad;
        }
        continue;
    bad:
        return emu_fail(h, OFM_HAL_ECORRUPT, "%s:%u: malformed record '%.60s'; delete the file "
                        "or run 'fmctl emu reboot'", path, line, l);
    }
    return OFM_HAL_OK;
}

static int load(mig_txn *t)
{
    char path[4200];
    path_of(t->h, "mig.state", path, sizeof path);
    memset(t->st, 0, sizeof *t->st);
    char *buf;
    size_t n;
    ofm_error err;
    if (ofm_file_read(path, "MIG state", 1u << 20, OFM_FILE_NOFOLLOW, &buf, &n, &err)) {
        if (errno == ENOENT)
            return OFM_HAL_OK; /* no MIG change made yet */
        char b[700];
        return emu_fail(t->h, errno == EFBIG ? OFM_HAL_ECORRUPT : OFM_HAL_EIO, "%s",
                        ofm_error_format(&err, b, sizeof b));
    }
    int rc = parse_state(t->h, path, buf, n, t->st);
    free(buf);
    return rc;
}

static int begin(ofm_hal *h, bool write, mig_txn *t)
{
    t->h = h;
    t->st = calloc(1, sizeof *t->st);
    if (!t->st)
        return emu_fail(h, OFM_HAL_EIO, "out of memory");
    char path[4200];
    path_of(h, "mig.lock", path, sizeof path);
    t->lock_fd = emu_open_lock(path);
    if (t->lock_fd < 0 || flock(t->lock_fd, write ? LOCK_EX : LOCK_SH) < 0) {
        int rc = emu_fail(h, OFM_HAL_EIO, "%s: %s", path, strerror(errno));
        if (t->lock_fd >= 0)
            close(t->lock_fd);
        free(t->st);
        return rc;
    }
    int rc = load(t);
    if (rc) {
        close(t->lock_fd);
        free(t->st);
    }
    return rc;
}

static void end(mig_txn *t)
{
    close(t->lock_fd);
    free(t->st);
}

static int commit(mig_txn *t)
{
    const ofm_platform *p = emu_of(t->h)->p;
    size_t cap = 64 + p->ngpus * (64 + OFM_MIG_MAX_GIS * (64 + MIG_MAX_CI * 64));
    char *buf = malloc(cap);
    if (!buf)
        return emu_fail(t->h, OFM_HAL_EIO, "out of memory");
    size_t n = (size_t)snprintf(buf, cap, MIG_MAGIC " v%d\n", MIG_VERSION);
    for (size_t i = 0; i < p->ngpus; i++) {
        const gpu_rec *g = &t->st->g[i];
        n += (size_t)snprintf(buf + n, cap - n, "gpu %u %d %d %u\n", p->gpus[i].phys_id,
                              g->current, g->pending, g->holders);
        for (size_t k = 0; k < g->ngi; k++) {
            const gi_rec *r = &g->gi[k];
            n += (size_t)snprintf(buf + n, cap - n, "gi %u %u %u %u %u\n", p->gpus[i].phys_id,
                                  r->id, r->profile, r->start, r->size);
            for (size_t c = 0; c < r->nci; c++)
                n += (size_t)snprintf(buf + n, cap - n, "ci %u %u %u %u %u %u\n",
                                      p->gpus[i].phys_id, r->id, r->ci[c].id, r->ci[c].profile,
                                      r->ci[c].start, r->ci[c].size);
        }
    }
    n += (size_t)snprintf(buf + n, cap - n, "end %08x\n", emu_crc32(buf, n, 0));
    char path[4200];
    path_of(t->h, "mig.state", path, sizeof path);
    ofm_error err;
    int rc = ofm_file_write_atomic(path, buf, n, 0600, OFM_FILE_NOSYNC, &err);
    free(buf);
    if (rc) {
        char b[700];
        return emu_fail(t->h, OFM_HAL_EIO, "%s", ofm_error_format(&err, b, sizeof b));
    }
    return OFM_HAL_OK;
}

/* The GPU's record and catalog, or an error saying why MIG is unavailable. */
static int gpu_of(mig_txn *t, uint32_t gpu, gpu_rec **g, const ofm_mig_catalog **cat)
{
    const ofm_platform *p = emu_of(t->h)->p;
    int gi = emu_gpu_index(p, gpu);
    if (gi < 0)
        return emu_fail(t->h, OFM_HAL_EINVAL, "no GPU %u in %s", gpu, p->name);
    *g = &t->st->g[gi];
    *cat = ofm_mig_catalog_for_model(p->gpus[gi].model);
    if (!*cat)
        return emu_fail(t->h, OFM_HAL_ENOTSUP, "GPU %u (%s) does not support MIG", gpu,
                        p->gpus[gi].model);
    return OFM_HAL_OK;
}

static gi_rec *find_gi(gpu_rec *g, uint32_t id)
{
    for (size_t i = 0; i < g->ngi; i++)
        if (g->gi[i].id == id)
            return &g->gi[i];
    return NULL;
}

#define TXN(h, write, ...)                                                                         \
    do {                                                                                           \
        mig_txn t;                                                                                 \
        int rc = begin((h), (write), &t);                                                          \
        if (rc)                                                                                    \
            return rc;                                                                             \
        __VA_ARGS__;                                                                               \
        if (rc == OFM_HAL_OK && (write))                                                           \
            rc = commit(&t);                                                                       \
        end(&t);                                                                                   \
        return rc;                                                                                 \
    } while (0)

int ofm_emu_mig_mode_get(ofm_hal *h, uint32_t gpu, ofm_hal_mig_mode *out)
{
    /* a GPU without MIG is answered from the model, without the MIG files:
     * the live refresh asks about every GPU several times a second (a GB200
     * NVL72 rack: 72 GPUs, none in the MIG catalog) */
    const ofm_platform *p = emu_of(h)->p;
    int gi = emu_gpu_index(p, gpu);
    if (gi < 0)
        return emu_fail(h, OFM_HAL_EINVAL, "no GPU %u in %s", gpu, p->name);
    if (!ofm_mig_catalog_for_model(p->gpus[gi].model))
        return emu_fail(h, OFM_HAL_ENOTSUP, "GPU %u (%s) does not support MIG", gpu,
                        p->gpus[gi].model);
    TXN(h, false, {
        gpu_rec *g = NULL;
        const ofm_mig_catalog *c;
        if ((rc = gpu_of(&t, gpu, &g, &c)) == OFM_HAL_OK)
            *out = (ofm_hal_mig_mode){OFM_PROV_EMULATED, g->current, g->pending};
    });
}

/* Mode takes effect: instances go, and on Ampere the NVLinks go down when
 * it is enabled and stay down when it is disabled (the reset that applies
 * it leaves them untrained): training them again is the fabric manager's
 * job, through train_port, as on the real system (FM §8.9, §13.9). Hopper
 * and later keep NVLink up in MIG mode. */
static int apply_mode(mig_txn *t, uint32_t gpu, gpu_rec *g, const ofm_mig_catalog *c)
{
    bool was = g->current;
    g->current = g->pending;
    g->ngi = 0;
    if (c->arch != OFM_MIG_AMPERE || was == g->current)
        return OFM_HAL_OK;
    if (g->current)
        return ofm_emu_set_gpu_links(t->h, gpu, false);
    return OFM_HAL_OK;
}

int ofm_emu_mig_mode_set(ofm_hal *h, uint32_t gpu, bool enable)
{
    TXN(h, true, {
        gpu_rec *g = NULL;
        const ofm_mig_catalog *c;
        if ((rc = gpu_of(&t, gpu, &g, &c)) == OFM_HAL_OK) {
            if (!enable && g->ngi)
                rc = emu_fail(h, OFM_HAL_EBUSY, "GPU %u: In use by another client (%u GPU "
                              "instance%s exist; destroy them first)", gpu, g->ngi,
                              g->ngi == 1 ? "" : "s");
            else {
                g->pending = enable;
                /* Hopper+ switch at once when nobody holds the GPU; Ampere
                 * waits for a GPU reset. */
                if (c->arch != OFM_MIG_AMPERE && !g->holders)
                    rc = apply_mode(&t, gpu, g, c);
            }
        }
    });
}

int ofm_emu_gpu_reset(ofm_hal *h, uint32_t gpu)
{
    TXN(h, true, {
        gpu_rec *g = NULL;
        const ofm_mig_catalog *c;
        const ofm_platform *p = emu_of(h)->p;
        int gi = emu_gpu_index(p, gpu);
        if (gi < 0)
            rc = emu_fail(h, OFM_HAL_EINVAL, "no GPU %u in %s", gpu, p->name);
        else if (t.st->g[gi].holders)
            rc = emu_fail(h, OFM_HAL_EBUSY, "GPU %u: In use by another client (%u process%s hold "
                          "the GPU; stop them and reset again)", gpu, t.st->g[gi].holders,
                          t.st->g[gi].holders == 1 ? "" : "es");
        else {
            if (gpu_of(&t, gpu, &g, &c) == OFM_HAL_OK)
                rc = apply_mode(&t, gpu, g, c);
            else
                t.st->g[gi].ngi = 0; /* a GPU without MIG resets fine */
            /* A100-class NVSwitch systems (no ALI): the reset takes the
             * switch-side links down, and they stay down until someone
             * trains them: a running fabric manager notices and retrains
             * them (FM §13.9); the emulator does not do it for it. */
            if (rc == OFM_HAL_OK && !p->ali && p->nswitches && !(g && g->current))
                rc = ofm_emu_set_gpu_links_why(h, gpu, false, "GPU reset");
        }
    });
}

int ofm_emu_mig_hold(ofm_hal *h, uint32_t gpu, int delta)
{
    TXN(h, true, {
        const ofm_platform *p = emu_of(h)->p;
        int gi = emu_gpu_index(p, gpu);
        if (gi < 0)
            rc = emu_fail(h, OFM_HAL_EINVAL, "no GPU %u in %s", gpu, p->name);
        else if (delta < -1000000 || delta > 1000000)
            rc = emu_fail(h, OFM_HAL_EINVAL, "GPU %u: holder change %d out of range", gpu, delta);
        else if (delta < 0 && t.st->g[gi].holders < (uint32_t)-delta)
            rc = emu_fail(h, OFM_HAL_EINVAL, "GPU %u has %u holder(s), cannot release %d", gpu,
                          t.st->g[gi].holders, -delta);
        else if (delta > 0 && t.st->g[gi].holders > 1000000)
            rc = emu_fail(h, OFM_HAL_EINVAL, "GPU %u: too many holders", gpu);
        else
            t.st->g[gi].holders = (uint32_t)((int64_t)t.st->g[gi].holders + delta);
    });
}

int ofm_emu_mig_holders(ofm_hal *h, uint32_t gpu, uint32_t *out)
{
    TXN(h, false, {
        int gi = emu_gpu_index(emu_of(h)->p, gpu);
        if (gi < 0)
            rc = emu_fail(h, OFM_HAL_EINVAL, "no GPU %u", gpu);
        else
            *out = t.st->g[gi].holders;
    });
}

static int need_enabled(ofm_hal *h, uint32_t gpu, const gpu_rec *g)
{
    if (!g->current)
        return emu_fail(h, OFM_HAL_ENOTSUP, "GPU %u: MIG mode is not enabled%s", gpu,
                        g->pending ? " (enable pending: reset the GPU)" : "");
    return OFM_HAL_OK;
}

int ofm_emu_gi_create(ofm_hal *h, uint32_t gpu, uint32_t profile_id, uint32_t start, uint32_t size,
                      uint32_t *gi_id)
{
    TXN(h, true, {
        gpu_rec *g = NULL;
        const ofm_mig_catalog *c;
        const ofm_mig_gi_profile *pr = NULL;
        if ((rc = gpu_of(&t, gpu, &g, &c)) == OFM_HAL_OK && (rc = need_enabled(h, gpu, g)) == 0) {
            pr = ofm_mig_profile_by_id(c, profile_id);
            if (!pr)
                rc = emu_fail(h, OFM_HAL_EINVAL, "GPU %u (%s): no GPU instance profile %u", gpu,
                              c->name, profile_id);
            else if (size && size != pr->slices)
                rc = emu_fail(h, OFM_HAL_EINVAL, "profile %s is %u slices, not %u", pr->name,
                              pr->slices, size);
        }
        if (rc == OFM_HAL_OK) {
            ofm_mig_placed ex[OFM_MIG_MAX_GIS];
            for (size_t i = 0; i < g->ngi; i++)
                ex[i] = (ofm_mig_placed){g->gi[i].id, g->gi[i].profile, g->gi[i].start};
            char why[200];
            if (ofm_mig_check(c, ex, g->ngi, pr, start, why, sizeof why))
                rc = emu_fail(h, OFM_HAL_ENOSPC, "Insufficient Resources: %s", why);
        }
        if (rc == OFM_HAL_OK) {
            uint32_t id = 1; /* the driver's choice: lowest free ID */
            while (find_gi(g, id))
                id++;
            g->gi[g->ngi++] = (gi_rec){id, profile_id, start, pr->slices, 0, {{0}}};
            *gi_id = id;
        }
    });
}

int ofm_emu_gi_destroy(ofm_hal *h, uint32_t gpu, uint32_t gi_id)
{
    TXN(h, true, {
        gpu_rec *g = NULL;
        const ofm_mig_catalog *c;
        if ((rc = gpu_of(&t, gpu, &g, &c)) == OFM_HAL_OK) {
            gi_rec *r = find_gi(g, gi_id);
            if (!r)
                rc = emu_fail(h, OFM_HAL_ENOENT, "GPU %u: no GPU instance ID %u", gpu, gi_id);
            else if (r->nci)
                rc = emu_fail(h, OFM_HAL_EBUSY, "In use by another client (GPU instance %u has "
                              "%u compute instance%s)", gi_id, r->nci, r->nci == 1 ? "" : "s");
            else
                *r = g->gi[--g->ngi];
        }
    });
}

static int by_gi_id(const void *a, const void *b)
{
    const ofm_hal_gpu_instance *x = a, *y = b;
    return x->gi_id < y->gi_id ? -1 : x->gi_id > y->gi_id;
}

int ofm_emu_gi_list(ofm_hal *h, uint32_t gpu, ofm_hal_gpu_instance *out, size_t cap, size_t *n)
{
    *n = 0;
    TXN(h, false, {
        gpu_rec *g = NULL;
        const ofm_mig_catalog *c;
        if ((rc = gpu_of(&t, gpu, &g, &c)) == OFM_HAL_OK) {
            *n = g->ngi;
            for (size_t i = 0; i < g->ngi && i < cap; i++)
                out[i] = (ofm_hal_gpu_instance){g->gi[i].id, g->gi[i].profile, g->gi[i].start,
                                                g->gi[i].size};
            qsort(out, g->ngi < cap ? g->ngi : cap, sizeof *out, by_gi_id);
        }
    });
}

static const ofm_mig_gi_profile *gi_profile(const ofm_mig_catalog *c, const gi_rec *r)
{
    return ofm_mig_profile_by_id(c, r->profile);
}

int ofm_emu_ci_create(ofm_hal *h, uint32_t gpu, uint32_t gi_id, uint32_t profile_id, uint32_t start,
                      uint32_t size, uint32_t *ci_id)
{
    TXN(h, true, {
        gpu_rec *g = NULL;
        const ofm_mig_catalog *c;
        gi_rec *r = NULL;
        ofm_mig_ci_profile cps[8], *cp = NULL;
        if ((rc = gpu_of(&t, gpu, &g, &c)) == OFM_HAL_OK && (rc = need_enabled(h, gpu, g)) == 0 &&
            !(r = find_gi(g, gi_id)))
            rc = emu_fail(h, OFM_HAL_ENOENT, "GPU %u: no GPU instance ID %u", gpu, gi_id);
        if (rc == OFM_HAL_OK) {
            const ofm_mig_gi_profile *gp = gi_profile(c, r);
            size_t ncp = gp ? ofm_mig_ci_profiles(gp, cps, 8) : 0;
            for (size_t i = 0; i < ncp; i++)
                if (cps[i].id == profile_id)
                    cp = &cps[i];
            if (!cp)
                rc = emu_fail(h, OFM_HAL_EINVAL, "GPU instance %u: no compute instance profile %u",
                              gi_id, profile_id);
            else if (size && size != cp->size)
                rc = emu_fail(h, OFM_HAL_EINVAL, "compute profile %s is %u slices, not %u",
                              cp->name, cp->size, size);
            else if (start % cp->size || start + cp->size > gp->compute)
                rc = emu_fail(h, OFM_HAL_EINVAL, "compute profile %s cannot start at %u", cp->name,
                              start);
        }
        if (rc == OFM_HAL_OK) {
            for (size_t i = 0; i < r->nci; i++)
                if (start < r->ci[i].start + r->ci[i].size && r->ci[i].start < start + cp->size)
                    rc = emu_fail(h, OFM_HAL_ENOSPC, "Insufficient Resources: compute slices "
                                  "%u-%u overlap compute instance %u", start,
                                  start + cp->size - 1, r->ci[i].id);
        }
        if (rc == OFM_HAL_OK) {
            uint32_t id = 0;
            for (bool again = true; again;) {
                again = false;
                for (size_t i = 0; i < r->nci; i++)
                    if (r->ci[i].id == id) {
                        id++;
                        again = true;
                    }
            }
            r->ci[r->nci++] = (ci_rec){id, profile_id, start, cp->size};
            *ci_id = id;
        }
    });
}

int ofm_emu_ci_destroy(ofm_hal *h, uint32_t gpu, uint32_t gi_id, uint32_t ci_id)
{
    TXN(h, true, {
        gpu_rec *g = NULL;
        const ofm_mig_catalog *c;
        gi_rec *r = NULL;
        if ((rc = gpu_of(&t, gpu, &g, &c)) == OFM_HAL_OK && !(r = find_gi(g, gi_id)))
            rc = emu_fail(h, OFM_HAL_ENOENT, "GPU %u: no GPU instance ID %u", gpu, gi_id);
        if (rc == OFM_HAL_OK) {
            size_t i = 0;
            while (i < r->nci && r->ci[i].id != ci_id)
                i++;
            if (i == r->nci)
                rc = emu_fail(h, OFM_HAL_ENOENT, "GPU %u GPU instance %u: no compute instance "
                              "ID %u", gpu, gi_id, ci_id);
            else
                r->ci[i] = r->ci[--r->nci];
        }
    });
}

int ofm_emu_ci_list(ofm_hal *h, uint32_t gpu, uint32_t gi_id, ofm_hal_compute_instance *out,
                    size_t cap, size_t *n)
{
    *n = 0;
    TXN(h, false, {
        gpu_rec *g = NULL;
        const ofm_mig_catalog *c;
        gi_rec *r = NULL;
        if ((rc = gpu_of(&t, gpu, &g, &c)) == OFM_HAL_OK && !(r = find_gi(g, gi_id)))
            rc = emu_fail(h, OFM_HAL_ENOENT, "GPU %u: no GPU instance ID %u", gpu, gi_id);
        if (rc == OFM_HAL_OK) {
            /* listed by ID, as the driver reports them */
            size_t k = 0;
            for (uint32_t id = 0; k < r->nci && id < 64; id++)
                for (size_t i = 0; i < r->nci; i++)
                    if (r->ci[i].id == id) {
                        if (k < cap)
                            out[k] = (ofm_hal_compute_instance){gi_id, id, r->ci[i].profile,
                                                                r->ci[i].start, r->ci[i].size};
                        k++;
                    }
            *n = r->nci;
        }
    });
}

int ofm_emu_mig_reboot(ofm_hal *h)
{
    TXN(h, true, {
        const ofm_platform *p = emu_of(h)->p;
        for (size_t i = 0; i < p->ngpus && rc == OFM_HAL_OK; i++) {
            gpu_rec *g = &t.st->g[i];
            const ofm_mig_catalog *c = ofm_mig_catalog_for_model(p->gpus[i].model);
            g->holders = 0;
            g->ngi = 0;
            if (!c) {
                g->current = g->pending = false;
                continue;
            }
            /* Ampere persists the (pending) mode in the GPU; Hopper+ boot with MIG off */
            if (c->arch == OFM_MIG_AMPERE)
                g->current = g->pending;
            else
                g->current = g->pending = false;
            if (c->arch == OFM_MIG_AMPERE && g->current)
                rc = ofm_emu_set_gpu_links(h, p->gpus[i].phys_id, false);
        }
    });
}
