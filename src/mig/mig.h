/* openfm MIG: profile catalog, placement engine and the operations `fmctl mig`
 * and the emulator share.
 *
 * The catalog is built from share/mig/NAME.mig (embedded at build time, one file
 * per GPU model; format in docs/mig.md). It is pure data: no HAL, so the
 * emulator's MIG model enforces the same rules the planner plans with. */
#ifndef OPENFM_MIG_H
#define OPENFM_MIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "openfm/error.h"

#define OFM_MIG_MAX_PROFILES 16
#define OFM_MIG_MAX_PLACEMENTS 12
#define OFM_MIG_MAX_SLICES 16
#define OFM_MIG_MAX_MODELS 8
#define OFM_MIG_MAX_GIS 16       /* more than any grid holds */

typedef enum { OFM_MIG_AMPERE = 1, OFM_MIG_HOPPER = 2, OFM_MIG_BLACKWELL = 3 } ofm_mig_arch;

typedef struct {
    uint32_t id;                 /* driver profile ID (nvidia-smi "ID") */
    char name[24];               /* "3g.40gb" */
    uint32_t max;                /* instances of this profile at most */
    double mem_gib;
    uint32_t sms;
    uint32_t dec, enc, ce, jpeg, ofa;
    uint32_t slices;             /* memory slices (placement size) */
    uint32_t compute;            /* compute slices */
    bool media;                  /* takes the GPU's only media-engine set (+me) */
    uint32_t nplacements;
    uint32_t placements[OFM_MIG_MAX_PLACEMENTS]; /* start slices, ascending */
} ofm_mig_gi_profile;

typedef struct {
    char name[32];               /* "A100-80GB" */
    char models[OFM_MIG_MAX_MODELS][32]; /* platform model strings that map here */
    size_t nmodels;
    uint32_t pci_id;             /* 0xDDDDVVVV */
    ofm_mig_arch arch;
    uint32_t mem_slices, compute_slices;
    size_t nprofiles;
    ofm_mig_gi_profile profiles[OFM_MIG_MAX_PROFILES];
} ofm_mig_catalog;

/* Compute-instance profile inside a GI (derived from the GI's compute slices). */
typedef struct {
    uint32_t id;                 /* 1c=0 2c=1 3c=2 4c=3 7c=4 8c=5 6c=6 */
    char name[40];               /* "1c.3g.40gb", or the GI name for the default */
    uint32_t size;               /* compute slices */
    uint32_t max;                /* instances of it in an empty GI */
    uint32_t sms;
    bool is_default;             /* spans the whole GI */
} ofm_mig_ci_profile;

/* Parse one catalog file held in memory; errors carry origin:line. */
int ofm_mig_catalog_parse(const char *buf, size_t len, const char *origin, ofm_mig_catalog *out,
                          ofm_error *err);
size_t ofm_mig_catalog_count(void);
const ofm_mig_catalog *ofm_mig_catalog_at(size_t i);
/* Catalog for a platform GPU model ("A100-SXM4-80GB"), case-insensitive; NULL if MIG-less. */
const ofm_mig_catalog *ofm_mig_catalog_for_model(const char *model);
const ofm_mig_catalog *ofm_mig_catalog_by_name(const char *name);
const ofm_mig_gi_profile *ofm_mig_profile_by_id(const ofm_mig_catalog *c, uint32_t id);
/* By name ("3g.40gb") or decimal ID ("9"). */
const ofm_mig_gi_profile *ofm_mig_profile_lookup(const ofm_mig_catalog *c, const char *s);
const char *ofm_mig_arch_name(ofm_mig_arch a);
/* CI profiles available in a GI of profile `gip`; returns the count. */
size_t ofm_mig_ci_profiles(const ofm_mig_gi_profile *gip, ofm_mig_ci_profile *out, size_t cap);

/* ---- placement engine ---- */
typedef struct {
    uint32_t gi_id;              /* for explanations only */
    uint32_t profile_id;
    uint32_t start;
} ofm_mig_placed;

/* Find start slices for `want` (profile IDs, any order) next to the `nexist`
 * existing instances. On success *out[i] is the start of want[i] and 0 is
 * returned. The search is exact: it fails only when no assignment exists, and
 * it is deterministic. On failure returns -1 and writes why to `why`. */
int ofm_mig_place(const ofm_mig_catalog *c, const ofm_mig_placed *exist, size_t nexist,
                  const uint32_t *want, size_t nwant, uint32_t *out, char *why, size_t whylen);
/* Whether profile `p` may be created at `start` next to `exist` (hardware rules:
 * valid placement, no overlap, compute, max count, one media set). Returns 0 or
 * -1 with `why`. */
int ofm_mig_check(const ofm_mig_catalog *c, const ofm_mig_placed *exist, size_t nexist,
                  const ofm_mig_gi_profile *p, uint32_t start, char *why, size_t whylen);

/* ---- MIG device identity ---- */
#define OFM_MIG_UUID_LEN 41      /* "MIG-" + 36-character UUID + NUL */
/* openfm's derived MIG device UUID for compute instance `ci` of GPU instance
 * `gi` on the GPU whose UUID is `gpu_uuid`: "MIG-xxxxxxxx-xxxx-8xxx-yxxx-
 * xxxxxxxxxxxx", a version-8 UUID of FNV-1a/splitmix64 over
 * "<gpu uuid lowercased>/gi<G>/ci<C>" (docs/mig.md). Returns 0, or -1 when
 * the GPU UUID is empty or `len` is under OFM_MIG_UUID_LEN. */
int ofm_mig_device_uuid(const char *gpu_uuid, uint32_t gi, uint32_t ci, char *out, size_t len);

#endif
