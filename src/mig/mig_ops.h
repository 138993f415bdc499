/* MIG operations over the HAL, shared by `fmctl mig`, `fmctl status` and the
 * boot-time apply. */
#ifndef OPENFM_MIG_OPS_H
#define OPENFM_MIG_OPS_H

#include <stdio.h>

#include "mig/mig.h"
#include "openfm/hal.h"

/* "Disabled", "Enabled, 3 GPU instances", "Disabled (pending enable: reset the
 * GPU)" or "N/A" (no MIG on this GPU); `gpu` is the phys_id. */
int ofm_mig_summary(ofm_hal *h, uint32_t gpu, char *buf, size_t len);

/* ---- MIG devices (what CUDA enumerates: one per compute instance) ---- */
typedef struct {
    uint32_t index;              /* "Device N" of nvidia-smi -L, per GPU */
    uint32_t gi_id, ci_id;
    uint32_t gi_profile_id, ci_profile_id;
    char name[40];               /* "3g.40gb", or "1c.3g.40gb" for a part of the GI */
    char uuid[80];               /* "MIG-..." */
} ofm_mig_device;

/* The MIG devices of GPU `g`, GPU instance ID order then compute instance ID
 * order; *n is the count even when it exceeds cap. UUIDs come from the
 * backend when it names MIG devices (NVML), else from openfm's derivation
 * (ofm_mig_device_uuid). 0 or OFM_HAL_E* with the HAL's last error set. */
int ofm_mig_devices(ofm_hal *h, const ofm_hal_gpu *g, ofm_mig_device *out, size_t cap, size_t *n);
/* The UUID of one MIG device, by the same rule. */
int ofm_mig_device_uuid_of(ofm_hal *h, const ofm_hal_gpu *g, uint32_t gi, uint32_t ci, char *out,
                           size_t len);

/* ---- declarative configs (mig-parted's YAML format, version v1) ---- */
#define OFM_MIG_CFG_MAX_LABELS 32
#define OFM_MIG_CFG_MAX_SPECS 8
#define OFM_MIG_CFG_MAX_DEVS 16

typedef struct {
    char name[24];               /* profile name as written ("1g.10gb") */
    uint32_t count;
    unsigned line;
} ofm_mig_cfg_dev;

typedef struct {
    unsigned line;
    bool all_devices;
    uint32_t devices[OFM_MAX_GPUS]; /* 0-based GPU indices */
    size_t ndevices;
    uint32_t filters[8];         /* PCI IDs 0xDDDDVVVV; none = any GPU */
    size_t nfilters;
    bool enabled;
    bool has_enabled;
    ofm_mig_cfg_dev devs[OFM_MIG_CFG_MAX_DEVS];
    size_t ndevs;
} ofm_mig_cfg_spec;

typedef struct {
    char label[64];
    unsigned line;
    ofm_mig_cfg_spec specs[OFM_MIG_CFG_MAX_SPECS];
    size_t nspecs;
} ofm_mig_cfg_label;

typedef struct {
    char origin[256];
    ofm_mig_cfg_label labels[OFM_MIG_CFG_MAX_LABELS];
    size_t nlabels;
} ofm_mig_cfg;

/* Parse a config held in memory; unknown fields and bad values fail with
 * origin:line. `out` is large: allocate it on the heap. */
int ofm_mig_cfg_parse(const char *buf, size_t len, const char *origin, ofm_mig_cfg *out,
                      ofm_error *err);
int ofm_mig_cfg_load(const char *path, ofm_mig_cfg *out, ofm_error *err);
const ofm_mig_cfg_label *ofm_mig_cfg_find(const ofm_mig_cfg *c, const char *label);

/* Apply / check a label on the GPUs of `h` (0-based enumeration order).
 * Messages (what changed, what differs, why something failed) go to `log`.
 * apply: 0 when every selected GPU now matches; assert: 0 when all match, 1
 * when some differ; -1 on configuration errors (origin:line in `log`). */
int ofm_mig_apply(ofm_hal *h, const ofm_mig_cfg *cfg, const ofm_mig_cfg_label *l, FILE *log);
int ofm_mig_assert(ofm_hal *h, const ofm_mig_cfg *cfg, const ofm_mig_cfg_label *l, FILE *log);
/* Write the current layout of every MIG-capable GPU as a config `apply` accepts. */
int ofm_mig_export(ofm_hal *h, const char *label, FILE *out);

#endif
