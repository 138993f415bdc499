/* MIG test helpers: an emulated system in a fresh temp dir, either a built-in
 * platform or a two-GPU topology with any GPU model (A30, H200, B200...). */
#ifndef OFM_TEST_MIG_FIXTURE_H
#define OFM_TEST_MIG_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "openfm/emu.h"

static inline int mig_fixture_topo(const char *dir, const char *model, char *path, size_t len)
{
    snprintf(path, len, "%s.topo", dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f, "platform mig-test\nali no\n"
               "gpu 1 model=%s nvlinks=2 rate=25000 board=1\n"
               "gpu 2 model=%s nvlinks=2 rate=25000 board=1\n"
               "switch 1 gen=2 ports=36 board=1\n"
               "access gpu=1 link=0 switch=1 port=8\naccess gpu=1 link=1 switch=1 port=9\n"
               "access gpu=2 link=0 switch=1 port=10\naccess gpu=2 link=1 switch=1 port=11\n",
            model, model);
    return fclose(f);
}

/* `what`: a built-in platform name, or "model:GPU-MODEL" for a tiny topology. */
static inline ofm_hal *mig_fixture_open(const char *what, char *dir, size_t len)
{
    snprintf(dir, len, "/tmp/ofm-mig-test-XXXXXX");
    if (!mkdtemp(dir))
        return NULL;
    char err[512], topo[600];
    const char *plat = what;
    if (!strncmp(what, "model:", 6)) {
        if (mig_fixture_topo(dir, what + 6, topo, sizeof topo))
            return NULL;
        plat = topo;
    }
    int rc = ofm_emu_create(dir, plat, true, err, sizeof err);
    if (plat == topo)
        unlink(topo);
    if (rc != OFM_HAL_OK) {
        fprintf(stderr, "create: %s\n", err);
        return NULL;
    }
    ofm_hal *h = NULL;
    if (ofm_emu_open(dir, &h, err, sizeof err) != OFM_HAL_OK)
        fprintf(stderr, "open: %s\n", err);
    return h;
}

static inline void mig_fixture_close(ofm_hal *h, const char *dir)
{
    char err[512];
    ofm_hal_close(h);
    ofm_emu_destroy(dir, err, sizeof err);
    rmdir(dir);
}

#endif
