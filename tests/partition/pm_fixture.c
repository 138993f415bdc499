#include "pm_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "openfm/log.h"

/* What the manager logged since the last pmfx_log_clear() (the tail when
 * more than fits). */
static char g_log[65536];
static size_t g_loglen;

static void quiet(void *ctx, ofm_log_level level, const char *msg)
{
    (void)ctx;
    (void)level;
    size_t n = strlen(msg);
    if (n + 2 > sizeof g_log)
        return;
    if (g_loglen + n + 2 > sizeof g_log)
        g_loglen = 0;
    memcpy(g_log + g_loglen, msg, n);
    g_log[g_loglen + n] = '\n';
    g_loglen += n + 1;
    g_log[g_loglen] = '\0';
}

void pmfx_log_clear(void)
{
    g_loglen = 0;
    g_log[0] = '\0';
}

const char *pmfx_log(void) { return g_log; }

fmPciDevice_t pmfx_vf(pmfx *f, uint32_t gpu, unsigned k)
{
    ofm_hal_pci_fn v[OFM_HAL_MAX_VFS];
    size_t n = 0;
    assert_int_equal(ofm_hal_gpu_vfs(f->h, gpu, v, OFM_HAL_MAX_VFS, &n), OFM_HAL_OK);
    assert_true(k < n);
    return (fmPciDevice_t){v[k].domain, v[k].bus, v[k].device, v[k].function};
}

pmfx *pmfx_open(const char *platform, ofm_fabric_mode mode, void (*before)(ofm_hal *h))
{
    pmfx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->ctx = calloc(1, sizeof *f->ctx);
    assert_non_null(f->ctx);
    pmfx_log_clear();
    ofm_log_set_sink(quiet, NULL);
    snprintf(f->dir, sizeof f->dir, "/tmp/ofm-pm-test-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->emu, sizeof f->emu, "%s/emu", f->dir);
    snprintf(f->state, sizeof f->state, "%s/fm.state", f->dir);
    char err[512];
    if (ofm_emu_create(f->emu, platform, false, err, sizeof err) != OFM_HAL_OK)
        fail_msg("create %s: %s", platform, err);
    if (ofm_emu_open(f->emu, &f->h, err, sizeof err) != OFM_HAL_OK)
        fail_msg("open: %s", err);
    if (before)
        before(f->h);
    ofm_bringup_opts o = {.mode = mode, .ali_wait_ms = 50};
    ofm_fabric_status_init(&f->st);
    if (ofm_bringup(f->h, &o, &f->st, f->ctx))
        fail_msg("bring-up of %s failed: %s", platform, f->st.message);
    return f;
}

int pmfx_pm(pmfx *f, bool restart, ofm_error *err)
{
    ofm_pm_opts o = {.hal = f->h, .fctx = f->ctx, .state_file = f->state, .restart = restart};
    ofm_pm_destroy(f->pm);
    f->pm = NULL;
    return ofm_pm_create(&o, &f->pm, err);
}

void pmfx_close(pmfx *f)
{
    char err[512];
    ofm_pm_destroy(f->pm);
    ofm_hal_close(f->h);
    ofm_emu_destroy(f->emu, err, sizeof err);
    unlink(f->state);
    rmdir(f->emu);
    rmdir(f->dir);
    ofm_log_set_sink(NULL, NULL);
    free(f->ctx);
    free(f);
}

uint32_t pmfx_links(pmfx *f, uint32_t a, uint32_t b)
{
    ofm_emu_probe_result r;
    assert_int_equal(ofm_emu_probe(f->h, a, b, true, &r), OFM_HAL_OK);
    return r.arrives ? r.links : 0;
}

/* The definition the manager holds (the platform's table or defined live). */
static ofm_partition_desc def_of(pmfx *f, unsigned id)
{
    ofm_partition_desc d;
    if (!ofm_pm_definition(f->pm, id, &d))
        fail_msg("partition %u is not defined", id);
    return d;
}

static int part_of(pmfx *f, const unsigned *active, unsigned n, uint32_t gpu)
{
    for (unsigned k = 0; k < n; k++) {
        ofm_partition_desc d = def_of(f, active[k]);
        for (uint32_t g = 0; g < d.ngpus; g++)
            if (d.gpus[g] == gpu)
                return (int)active[k];
    }
    return -1;
}

void pmfx_check_isolation(pmfx *f, const unsigned *active, unsigned n, uint32_t links)
{
    const ofm_platform *p = &f->ctx->platform;
    for (size_t i = 0; i < p->ngpus; i++)
        for (size_t j = 0; j < p->ngpus; j++) {
            if (i == j)
                continue;
            uint32_t a = p->gpus[i].phys_id, b = p->gpus[j].phys_id;
            int pa = part_of(f, active, n, a), pb = part_of(f, active, n, b);
            uint32_t got = pmfx_links(f, a, b);
            uint32_t want = 0;
            if (pa >= 0 && pa == pb)
                want = links ? links : def_of(f, (unsigned)pa).nvlinks_per_gpu;
            if (got != want)
                fail_msg("GPU %u -> GPU %u: probe sees %u links, expected %u (partitions %d / %d)",
                         a, b, got, want, pa, pb);
        }
}
