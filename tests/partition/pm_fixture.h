/* Shared fixture for partition-manager unit tests: an emulated system in a
 * fresh temp dir, brought up in FABRIC_MODE 1 or 2, and a partition manager
 * on top of it. Isolation is judged by the emulator's traffic probe. */
#ifndef OFM_TEST_PM_FIXTURE_H
#define OFM_TEST_PM_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>

#include "manager/manager.h"
#include "openfm/emu.h"
#include "partition/partition_mgr.h"

typedef struct {
    char dir[64];
    char emu[96];
    char state[96];
    ofm_hal *h;
    ofm_fabric_status st;
    ofm_fabric_ctx *ctx;
    ofm_partition_mgr *pm;
} pmfx;

/* Create the system; `before` (may be NULL) runs between creation and
 * bring-up (fault injection). Does not create the manager. */
pmfx *pmfx_open(const char *platform, ofm_fabric_mode mode, void (*before)(ofm_hal *h));
/* Create the manager (normal start or --restart); returns ofm_pm_create's rc. */
int pmfx_pm(pmfx *f, bool restart, ofm_error *err);
void pmfx_close(pmfx *f);
/* Links the probe sees from a to b (0 when dropped). */
uint32_t pmfx_links(pmfx *f, uint32_t a, uint32_t b);
/* Every ordered pair of distinct GPUs: reachable (over `links` links) iff
 * both are in the same partition of `active` (ids, n of them); links 0:
 * the partition's NVLinks per GPU from the model. */
void pmfx_check_isolation(pmfx *f, const unsigned *active, unsigned n, uint32_t links);
/* The manager's log lines since the last clear (pmfx_open clears). */
const char *pmfx_log(void);
void pmfx_log_clear(void);
/* VF k (0-based) of a GPU, as the emulator's SR-IOV model places it. */
fmPciDevice_t pmfx_vf(pmfx *f, uint32_t gpu, unsigned k);

#endif
