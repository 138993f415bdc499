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

/* ---- privileges and hooks around MIG mode changes ---- */
/* Whether this process has CAP_SYS_ADMIN in its effective set (capget). */
bool ofm_mig_has_sys_admin(void);
/* 0 when this process may change MIG mode through `h`, else -1 with the
 * refusal in `why`: CAP_SYS_ADMIN is needed, except that on an emulated
 * system a process that could never hold it (non-root, or a container whose
 * bounding set lacks it) administers its own. */
int ofm_mig_may_change_mode(const ofm_hal *h, char *why, size_t len);

#define OFM_MIG_HOOKS_MAX 16
#define OFM_MIG_HOOK_ARGS 16
#define OFM_MIG_HOOK_ARGLEN 1024

/* A service that uses GPUs and must not run while their MIG mode changes. */
typedef struct {
    char name[64];
    unsigned line;
    bool all_gpus;
    bool gpus[OFM_MAX_GPUS];     /* 0-based GPU indices it uses (all_gpus false) */
    char stop[OFM_MIG_HOOK_ARGS][OFM_MIG_HOOK_ARGLEN];
    size_t nstop;                /* 0: 'systemctl stop NAME' on real GPUs */
    char start[OFM_MIG_HOOK_ARGS][OFM_MIG_HOOK_ARGLEN];
    size_t nstart;
    uint32_t timeout_s;
} ofm_mig_service;

/* A hooks file (docs/mig.md, "MIG hooks") and the state of one run. Large:
 * allocate it on the heap. */
typedef struct {
    char origin[256];
    ofm_mig_service svc[OFM_MIG_HOOKS_MAX];
    size_t n;
    bool stopped[OFM_MIG_HOOKS_MAX];
    bool released[OFM_MIG_HOOKS_MAX][OFM_MAX_GPUS]; /* emulated holds given up */
} ofm_mig_hooks;

int ofm_mig_hooks_parse(const char *buf, size_t len, const char *origin, ofm_mig_hooks *out,
                        ofm_error *err);
int ofm_mig_hooks_load(const char *path, ofm_mig_hooks *out, ofm_error *err);
/* Stop, in file order, every service using a GPU whose index is set in
 * `changing` (ngpus entries): run its stop command (default on real GPUs:
 * systemctl stop NAME) and, on the emulator, release the GPUs it holds.
 * -1 when a command failed; the caller then changes nothing but still calls
 * ofm_mig_hooks_start, which restarts exactly what was stopped, in reverse
 * order, and holds again what was released. Progress goes to `log`. */
int ofm_mig_hooks_stop(ofm_mig_hooks *k, ofm_hal *h, const ofm_hal_gpu *gpus, size_t ngpus,
                       const bool *changing, bool enable, FILE *log);
int ofm_mig_hooks_start(ofm_mig_hooks *k, ofm_hal *h, const ofm_hal_gpu *gpus, size_t ngpus,
                        const bool *changing, bool enable, FILE *log);

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
/* apply, with the services of `hooks` (may be NULL) stopped around the MIG
 * mode changes it makes. A mode change needs ofm_mig_may_change_mode: when
 * refused, nothing changes and 1 is returned. */
int ofm_mig_apply_hooked(ofm_hal *h, const ofm_mig_cfg *cfg, const ofm_mig_cfg_label *l,
                         ofm_mig_hooks *hooks, FILE *log);
int ofm_mig_assert(ofm_hal *h, const ofm_mig_cfg *cfg, const ofm_mig_cfg_label *l, FILE *log);
/* Write the current layout of every MIG-capable GPU as a config `apply` accepts. */
int ofm_mig_export(ofm_hal *h, const char *label, FILE *out);

#endif
