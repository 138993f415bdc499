/* openfm manager: orchestration of the fabric logic over the HAL.
 *
 *   ofm_bringup       discover -> match topology -> train / wait for ALI ->
 *                     validate -> HA policy -> routes (bare metal only) ->
 *                     GPU fabric registration -> ready
 *   ofm_monitor_poll  read new HAL events, classify and log each SXid/Xid
 *                     with its scope and recovery, mark the fabric degraded
 *                     on fatal trunk errors in bare-metal mode
 *
 * Both keep their observable state in ofm_fabric_status, a plain struct the
 * daemon serialises into its status output. Single-threaded: the daemon calls
 * these from its event loop. */
#ifndef OPENFM_MANAGER_H
#define OPENFM_MANAGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fabric/fabric.h"
#include "openfm/hal.h"
#include "openfm/platform.h"

typedef enum {
    OFM_SYS_NOT_READY = 0,    /* bring-up not started: CUDA would get cudaErrorSystemNotReady */
    OFM_SYS_INITIALIZING = 1, /* bring-up running: still not ready */
    OFM_SYS_READY = 2,        /* fabric configured (maybe with reduced bandwidth, see policy) */
    OFM_SYS_DEGRADED = 3,     /* runtime fatal trunk error (bare metal): CUDA jobs blocked
                                 until GPUs and switches are reset */
    OFM_SYS_FAILED = 4,       /* bring-up aborted: system left uninitialised */
} ofm_system_state;

const char *ofm_system_state_name(ofm_system_state s); /* "NOT_READY", "READY", ... */

typedef enum {
    OFM_SW_OK = 0,
    OFM_SW_MISSING = 1,
    OFM_SW_FAILED = 2,
    OFM_SW_DISABLED = 3,      /* disabled by HA policy */
} ofm_switch_status;

const char *ofm_switch_status_name(ofm_switch_status s);

/* Health of a rack-scale NVLink domain (GB200 NVL72), the states NVIDIA's
 * rack tools report: NONE on other platforms. */
typedef enum {
    OFM_DOMAIN_NONE = 0,
    OFM_DOMAIN_HEALTHY = 1,   /* every GPU, chip and link of the model in use */
    OFM_DOMAIN_DEGRADED = 2,  /* serving, with GPUs left out or links/chips lost */
    OFM_DOMAIN_UNHEALTHY = 3, /* not serving: bring-up failed, fabric-fatal error, < 2 GPUs */
} ofm_domain_health;

const char *ofm_domain_health_name(ofm_domain_health h); /* "HEALTHY", ... ; "" for NONE */

typedef enum { OFM_MIG_NA = 0, OFM_MIG_DISABLED = 1, OFM_MIG_ENABLED = 2 } ofm_gpu_mig;

const char *ofm_gpu_mig_name(ofm_gpu_mig m);   /* "N/A", "Disabled", "Enabled" */

typedef struct {
    uint32_t phys_id;
    char uuid[80];
    char pci_bdf[32];
    bool present;             /* enumerated and healthy */
    bool p2p;                 /* has NVLink peer access (routes programmed / allowed) */
    ofm_fabric_state fabric_state;  /* registration, as set through the HAL */
    int fabric_status;        /* 0 success */
    uint32_t links_usable;    /* access links usable now: allowed by the HA policy, GPU has
                                 peer access, and the link is active right now */
    uint32_t links_expected;  /* access links in the model */
    /* Live state (ofm_fabric_status_refresh), not only what bring-up saw. */
    uint32_t links_active;    /* access links active right now, policy aside */
    ofm_dev_health health;    /* as the backend enumerates it now */
    bool excluded;            /* missing because the driver excluded it (FM §9.6) */
    ofm_gpu_mig mig;          /* MIG mode now */
    bool mig_pending;         /* MIG mode changes at the next GPU reset */
    uint32_t mig_instances;   /* GPU instances while MIG is enabled */
    int32_t partition;        /* active partition holding the GPU, -1 none (shared/vGPU) */
    uint32_t last_xid;        /* last Xid seen on the GPU, 0 none */
    uint32_t link_retrains;   /* GPU resets whose switch-side links FM retrained (FM §13.9) */
    uint64_t xids;            /* Xids seen since start */
} ofm_gpu_status;

typedef struct {
    uint32_t id;
    char uuid[80];
    char pci_bdf[32];
    ofm_switch_status status;
    bool excluded;            /* missing because the driver excluded it (FM §9.6) */
    uint32_t links_active;    /* model links (access + trunk) active right now */
    uint32_t links_expected;
    uint64_t sxid_fatal;      /* SXids seen since start, by class */
    uint64_t sxid_nonfatal;
} ofm_switch_status_entry;

typedef struct {
    uint64_t seq;
    uint64_t time_ns;
    ofm_event_kind kind;
    uint32_t code;            /* SXid / Xid number */
    ofm_sxid_class cls;       /* SXid only */
    bool trunk;               /* SXid hit a trunk port */
    uint32_t sw, port;
    uint32_t gpu;             /* the GPU the error is on; OFM_ERROR_NO_GPU for none */
    char summary[256];        /* the logged line, without recovery text */
} ofm_fabric_error;

/* An error on no GPU's port: a trunk port, an unused port, the switch chip.
 * Not 0: nothing forbids a topology from numbering a GPU 0. */
#define OFM_ERROR_NO_GPU UINT32_MAX

#define OFM_STATUS_MAX_ERRORS 32

typedef struct {
    ofm_system_state state;
    ofm_fabric_mode mode;
    char platform[OFM_NAME_LEN];
    char topology_source[256];       /* file the model came from, or "built-in" */
    char message[320];               /* why not ready / failed / degraded; policy summary */
    bool bandwidth_reduced;          /* HA policy disabled switches at init */
    size_t ngpus;                    /* indexed like the model's gpus */
    ofm_gpu_status gpus[OFM_MAX_GPUS];
    size_t nswitches;                /* indexed like the model's switches */
    ofm_switch_status_entry switches[OFM_MAX_SWITCHES];
    uint32_t access_active, access_expected;
    uint32_t trunk_active, trunk_expected;
    size_t routes_programmed;        /* entries in the last route_write */
    size_t findings_errors, findings_warnings;
    uint64_t bringup_ns;             /* wall time of the last bring-up */
    /* Rack-scale domains only (ofm_domain_health_update): the domain's health
     * and, unless HEALTHY, what makes it so ("compute tray 3 (GPUs 9-12)
     * without NVLink; switch tray 2 (NVSwitch 3, 4) down: 16 of 18 NVLinks
     * per GPU"). */
    ofm_domain_health domain_health;
    char domain_reason[320];
    uint64_t generation;             /* +1 whenever anything above changes */
    uint64_t updated_ns;             /* CLOCK_REALTIME of the last change */
    /* Ring of the last OFM_STATUS_MAX_ERRORS runtime errors, oldest first
     * when read with ofm_fabric_status_error(). */
    uint64_t errors_total;
    size_t errors_head;
    ofm_fabric_error errors[OFM_STATUS_MAX_ERRORS];
} ofm_fabric_status;

void ofm_fabric_status_init(ofm_fabric_status *st);
/* System accepts CUDA work: READY. */
bool ofm_fabric_status_ready(const ofm_fabric_status *st);
/* Number of stored errors (<= OFM_STATUS_MAX_ERRORS) and the i-th, oldest first. */
size_t ofm_fabric_status_error_count(const ofm_fabric_status *st);
const ofm_fabric_error *ofm_fabric_status_error(const ofm_fabric_status *st, size_t i);

/* Bring the live fields up to date from the backend: link states, device
 * health, GPU fabric registration and MIG mode. Cheap enough to run after
 * every event batch (one HAL read per model link and per GPU). Per-GPU
 * `partition` is the caller's (the partition manager lives above this layer).
 * Returns true when anything shown in the status changed; then
 * st->generation and st->updated_ns move. */
struct ofm_fabric_ctx;
/* Derive the domain health of a rack-scale model `p` from the status's
 * state, GPUs and switches (NONE for other models). Returns true when it
 * changed; a change after bring-up is logged (src/manager/domain_health.c). */
bool ofm_domain_health_update(const ofm_platform *p, ofm_fabric_status *st);
bool ofm_fabric_status_refresh(ofm_hal *h, const struct ofm_fabric_ctx *ctx,
                               ofm_fabric_status *st);
/* Record that st changed outside refresh (partition change, monitor). */
void ofm_fabric_status_touch(ofm_fabric_status *st);

/* What bring-up decided, for the partition manager and the monitor. Large
 * (holds the model): allocate it, don't put it on the stack. */
typedef struct ofm_fabric_ctx {
    ofm_platform platform;           /* the matched model */
    ofm_fabric_health observed;      /* health as validated at bring-up */
    ofm_policy_decision decision;    /* HA outcome: effective health, partition predicate */
    ofm_fabric_mode mode;
    uint64_t event_cursor;           /* HAL event cursor when bring-up started */
} ofm_fabric_ctx;

typedef struct {
    const char *topology_dir;        /* TOPOLOGY_FILE_PATH; NULL: built-ins only */
    ofm_fabric_mode mode;            /* FABRIC_MODE */
    ofm_failure_modes failure;       /* the three *_FAILURE_MODE keys */
    uint32_t ali_wait_ms;            /* budget for ALI links to come up (gen3); 0 = 2000 */
    bool restart;                    /* resilient restart (modes 1/2): leave routes alone */
} ofm_bringup_opts;

/* Run the whole bring-up. Logs each step with its timing at INFO and every
 * finding at WARNING/ERROR. On return st->state is READY or FAILED (with
 * st->message); ctx (may be NULL) receives the model and the decision.
 * Returns 0 when ready, -1 when bring-up failed. */
/* Read what the hardware shows: switches, GPUs and every port of every
 * usable switch (src/manager/recognise.c). -1 with `why` when the backend
 * cannot enumerate. */
int ofm_observe(ofm_hal *h, ofm_fabric_observed *obs, char *why, size_t len);
/* Which model is this? Every built-in and every NAME.topo in `dir` is matched
 * against `obs` (ofm_fabric_match); the best is copied to *out with its
 * source ("built-in NAME" or the file) and its match result. Returns 0 when
 * it fits, 1 when nothing fits (*out is then the closest model and `res`
 * says how it differs), -1 when no model could be loaded. */
int ofm_recognise_platform(const ofm_fabric_observed *obs, const char *dir, ofm_platform *out,
                           char *source, size_t srclen, ofm_match_result *res);

int ofm_bringup(ofm_hal *h, const ofm_bringup_opts *opts, ofm_fabric_status *st,
                ofm_fabric_ctx *ctx);

/* Which active partitions an error touches (shared NVSwitch / vGPU modes):
 * those whose routes use a switch port, those that hold a GPU. Supplied by
 * the partition manager; both members may be NULL. Each returns how many IDs
 * it wrote (at most cap), ascending. */
typedef struct {
    void *arg;
    size_t (*on_port)(void *arg, uint32_t sw, uint32_t port, uint32_t *ids, size_t cap);
    size_t (*with_gpu)(void *arg, uint32_t gpu, uint32_t *ids, size_t cap);
} ofm_partition_query;

/* Switch-side links of a reset GPU (src/manager/relink.c, FM §13.9): on
 * A100-class systems a GPU reset takes its NVLinks down on the switch side
 * and the fabric manager resets and retrains those ports. ofm_relink_scan
 * runs after a live refresh: every healthy non-MIG GPU with peer access whose
 * policy links are all down has its down (OFF) switch ports reset, trained
 * and their routing entries written back. Once per episode per GPU. */
typedef struct {
    bool armed[OFM_MAX_GPUS];   /* indexed like the model's gpus */
} ofm_relink;

typedef struct {
    uint32_t gpu;               /* phys_id */
    size_t ports;               /* switch ports found down and handled */
    size_t trained, failed;
    size_t routes;              /* routing entries written back */
    bool route_error;
    char why[256];              /* first failure, "" none */
} ofm_relink_result;

void ofm_relink_init(ofm_relink *r);
/* Handle every GPU that needs it; returns how many results were written
 * (at most cap). Does not touch st: refresh it afterwards. */
size_t ofm_relink_scan(ofm_relink *r, ofm_hal *h, const ofm_fabric_ctx *ctx,
                       const ofm_fabric_status *st, ofm_relink_result *out, size_t cap);

/* Runtime monitor. `ctx` must outlive the monitor. */
typedef struct {
    const ofm_fabric_ctx *ctx;
    uint64_t cursor;
    ofm_partition_query parts;  /* zeroed by ofm_monitor_init; set it in modes 1/2 */
    /* Optional: called for every event read (link-up included) after it was
     * classified; rec is NULL for events kept out of the error ring. */
    void (*on_event)(void *arg, const ofm_hal_event *e, const ofm_fabric_error *rec);
    void *arg;
} ofm_monitor;

/* A PCI address as NVIDIA's logs print it, with the 8-digit domain
 * ("00000000:18:00.0"); "unknown" for an empty one. */
void ofm_pci_bus_id_long(const char *bdf, char *out, size_t len);

/* Start reading events after those already seen by bring-up (ctx->event_cursor). */
void ofm_monitor_init(ofm_monitor *m, const ofm_fabric_ctx *ctx);
/* Read and handle every new event. Returns the number handled (>= 0) or a
 * negative OFM_HAL_E* code when the HAL read failed; that is not logged here
 * (ofm_hal_last_error has the reason) so the caller can report an outage
 * once rather than at every poll. */
int ofm_monitor_poll(ofm_monitor *m, ofm_hal *h, ofm_fabric_status *st);

#endif
