/* openfm fabric logic: pure functions over the platform model and what the
 * HAL observed. No I/O, no logging, no globals: everything here is
 * deterministic and testable on its own.
 *
 *   health      which GPUs, switches, access links and trunks are usable
 *   validate    discovered devices and links vs the model -> findings + health
 *   policy      HA failure modes at initialisation (FM §9, §13.8) -> decision
 *   route       routing plan for a set of GPUs, plan diff, reachability walk
 *   sxid / xid  classification tables (FM §3.3, §9.6.1.2, §13.4-§13.7)
 *
 * Arrays called "indexed like the platform" use the same index as the
 * platform's gpus[] / switches[] / access[] / trunks[] arrays, never the
 * physical ID. */
#ifndef OPENFM_FABRIC_H
#define OPENFM_FABRIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "openfm/hal.h"
#include "openfm/platform.h"

/* ------------------------------------------------------------------ health */

typedef struct {
    bool gpu_ok[OFM_MAX_GPUS];            /* indexed like p->gpus */
    bool switch_ok[OFM_MAX_SWITCHES];     /* indexed like p->switches */
    bool access_ok[OFM_MAX_ACCESS_LINKS]; /* indexed like p->access */
    bool trunk_ok[OFM_MAX_TRUNK_LINKS];   /* indexed like p->trunks */
    /* The GPU's access links are off by design, not failed: an A100 in MIG
     * mode, whose NVLinks the driver disables (FM §8.9). Its access_ok are
     * false; the policy gives the real reason instead of a link failure. */
    bool gpu_links_off[OFM_MAX_GPUS];
} ofm_fabric_health;

/* Everything in the model usable. */
void ofm_fabric_health_all_ok(const ofm_platform *p, ofm_fabric_health *h);

/* Index helpers (linear scans over the model; -1 when absent). */
int ofm_fabric_gpu_index(const ofm_platform *p, uint32_t phys_id);
int ofm_fabric_switch_index(const ofm_platform *p, uint32_t sw_id);
/* Access link at switch port, or -1 (the port is a trunk or unused). */
int ofm_fabric_access_at(const ofm_platform *p, uint32_t sw_id, uint32_t port);
/* Trunk with one end at switch port, or -1. */
int ofm_fabric_trunk_at(const ofm_platform *p, uint32_t sw_id, uint32_t port);
/* The switch on the other board that `sw_id` trunks to most (its "peer" in
 * FM §9), or -1 on single-board systems. Returns the peer's switch id. */
int64_t ofm_fabric_peer_switch(const ofm_platform *p, uint32_t sw_id);
/* Number of baseboards the model spans (1 or 2 on documented boards). */
uint32_t ofm_fabric_board_count(const ofm_platform *p);

/* -------------------------------------------------------------- validation */

/* What discovery saw, as read through the HAL. Switch port arrays are indexed
 * like `switches` (the discovered list, not the model). */
typedef struct {
    size_t nswitches, ngpus;
    ofm_hal_switch switches[OFM_MAX_SWITCHES];
    ofm_hal_gpu gpus[OFM_MAX_GPUS];
    ofm_hal_link ports[OFM_MAX_SWITCHES][OFM_MAX_SWITCH_PORTS];
    bool gpu_fail_registration[OFM_MAX_GPUS]; /* indexed like `gpus`; from fabric_get */
    /* indexed like `gpus`: NVLinks down by design (MIG mode on A100, FM §8.9),
     * so validation does not report them as failures */
    bool gpu_links_off[OFM_MAX_GPUS];
} ofm_fabric_observed;

typedef enum {
    OFM_FIND_SWITCH_MISSING = 1,  /* in the model, not enumerated */
    OFM_FIND_SWITCH_FAILED,       /* enumerated but unusable */
    OFM_FIND_SWITCH_EXTRA,        /* enumerated, not in the model */
    OFM_FIND_GPU_MISSING,
    OFM_FIND_GPU_FAILED,
    OFM_FIND_GPU_EXTRA,
    OFM_FIND_ACCESS_DOWN,         /* expected GPU link, port not active */
    OFM_FIND_ACCESS_MISWIRED,     /* port active but leads somewhere else */
    OFM_FIND_TRUNK_DOWN,
    OFM_FIND_TRUNK_MISWIRED,
    OFM_FIND_LINK_EXTRA,          /* active port the model does not list */
} ofm_finding_kind;

typedef enum { OFM_SEV_WARNING = 1, OFM_SEV_ERROR = 2 } ofm_finding_severity;

typedef struct {
    ofm_finding_kind kind;
    ofm_finding_severity severity;
    uint32_t sw, port;            /* switch id / port, when the finding has them */
    uint32_t gpu, gpu_link;       /* GPU phys_id / link, when it has them */
    char msg[256];                /* "switch 3 port 40: expected GPU 1 link 2, found nothing" */
    char action[160];             /* what the operator should do */
} ofm_finding;

#define OFM_MAX_FINDINGS 256

typedef struct {
    size_t n;
    size_t dropped;               /* findings beyond OFM_MAX_FINDINGS (counted, not stored) */
    ofm_finding items[OFM_MAX_FINDINGS];
} ofm_validation_report;

/* Compare observation with model. Fills *health (links count as usable only
 * when active and wired as the model says; devices when enumerated and OK;
 * GPUs flagged fail_registration stay ok here - registration is a later step)
 * and *rep (every deviation, per device and port). Returns the number of
 * ERROR-severity findings. */
size_t ofm_fabric_validate(const ofm_platform *p, const ofm_fabric_observed *obs,
                           ofm_fabric_health *health, ofm_validation_report *rep);

/* Score how well a model explains an observation (for topology matching):
 * number of model access/trunk links seen active as described, or -1 when
 * GPU/switch generation or counts rule the model out. */
long ofm_fabric_match_score(const ofm_platform *p, const ofm_fabric_observed *obs);

/* Matching discovery against one model, explained (src/fabric/match.c).
 * A model fits when every switch seen exists in it with the same generation,
 * every GPU seen exists in it and is of the same GPU family, and no active
 * port leads somewhere the model does not say; ports that are down
 * contradict nothing (validation reports them). `exact` adds: the counts of
 * switches and GPUs are the model's. */
#define OFM_MATCH_MAX_DIFFS 16
typedef struct {
    uint32_t sw, port;
    char expected[64];            /* "GPU 1 link 0", "NVSwitch 3 port 12", "nothing" */
    char found[64];
} ofm_match_diff;

typedef struct {
    bool fits;                    /* nothing discovered contradicts the model */
    bool exact;                   /* fits, and switch and GPU counts are the model's */
    long links_as_modelled;       /* model links seen active exactly as described */
    long links_modelled;
    char structural[200];         /* why counts/devices rule the model out, else "" */
    size_t ndiffs, more_diffs;    /* wiring differences (first OFM_MATCH_MAX_DIFFS kept) */
    ofm_match_diff diffs[OFM_MATCH_MAX_DIFFS];
} ofm_match_result;

void ofm_fabric_match(const ofm_platform *p, const ofm_fabric_observed *obs, ofm_match_result *r);
/* True when two GPU model names are the same GPU family ("H100-SXM5-80GB" and
 * "H100-80GB-HBM3": the part before the first '-', case-insensitive). */
bool ofm_fabric_same_gpu_family(const char *a, const char *b);

/* ------------------------------------------------------------------ policy */

typedef enum {
    OFM_FABRIC_MODE_BARE_METAL = 0,  /* also full passthrough */
    OFM_FABRIC_MODE_SHARED = 1,      /* shared NVSwitch */
    OFM_FABRIC_MODE_VGPU = 2,
} ofm_fabric_mode;

typedef struct {
    int access_link;   /* ACCESS_LINK_FAILURE_MODE 0/1 */
    int trunk_link;    /* TRUNK_LINK_FAILURE_MODE 0/1 */
    int nvswitch;      /* NVSWITCH_FAILURE_MODE 0/1 */
} ofm_failure_modes;

typedef struct {
    bool abort;                              /* leave the system uninitialised */
    char reason[320];                        /* why, when abort; else a summary or "" */
    bool gpu_p2p[OFM_MAX_GPUS];              /* GPU keeps NVLink peer access (routes) */
    bool gpu_register_fail[OFM_MAX_GPUS];    /* H100: GPU cannot register with the fabric */
    bool switch_disabled[OFM_MAX_SWITCHES];  /* disabled by policy (with its peer) */
    bool bandwidth_reduced;                  /* switches disabled: 5/6 bandwidth (A100) */
    /* Partition filtering for shared NVSwitch / vGPU (see ofm_policy_partition_ok). */
    bool drop_trunk_partitions;              /* partitions spanning both boards */
    bool drop_gpu_partitions[OFM_MAX_GPUS];  /* partitions containing this GPU */
    bool drop_multi_on_board[OFM_MAX_GPUS + 1]; /* multi-GPU partitions on board b (1-based) */
    ofm_fabric_health effective;             /* health after the policy: use for routing */
} ofm_policy_decision;

/* Apply the HA policy of FM §9/§13.8 to init-time health. Pure: identical
 * inputs give identical decisions. Runtime errors must never be fed here. */
void ofm_policy_decide(const ofm_platform *p, const ofm_fabric_health *observed,
                       const ofm_failure_modes *modes, ofm_fabric_mode mode,
                       ofm_policy_decision *out);

/* FABRIC_MODE `mode` runs on platform p (vGPU: not on gen1 NVSwitch systems,
 * FM §8.1). When not, `why` says so, naming the platform and the modes it
 * supports. */
bool ofm_mode_supported(const ofm_platform *p, ofm_fabric_mode mode, char *why, size_t len);

/* Partition still supported after the decision (shared NVSwitch / vGPU).
 * Also false when a partition GPU is not usable at all. */
bool ofm_policy_partition_ok(const ofm_platform *p, const ofm_policy_decision *d,
                             const ofm_partition_desc *part);

/* ------------------------------------------------------------------ routes */

/* A routing plan: entries sorted by (sw, in_port, dst_gpu), unique keys,
 * a non-empty egress set. Heap-backed; release with ofm_route_plan_free. */
typedef struct {
    ofm_route_entry *e;
    size_t n, cap;
} ofm_route_plan;

void ofm_route_plan_init(ofm_route_plan *pl);
void ofm_route_plan_free(ofm_route_plan *pl);

/* Plan for exactly the GPUs gpus[0..n) (phys_ids; a GPU the health marks
 * unusable is skipped): every GPU of the set reaches every other over all
 * its usable access links, through trunks when the set spans boards; no
 * entry leads to or carries traffic from a GPU outside the set. gpus == NULL
 * means every GPU of the model. Replaces *out's content. Returns 0, or -1 on
 * an unknown GPU id or allocation failure (with *out emptied). */
int ofm_route_plan_build(const ofm_platform *p, const ofm_fabric_health *h,
                         const uint32_t *gpus, size_t n, ofm_route_plan *out);

/* The same plan in group form (ofm_route_group, hal.h): one group per
 * (switch, destination GPU) that has entries, its ingress ports and their
 * common egress - a plan sends traffic for a GPU out of a switch the same
 * way whatever port it came in on. Ordered by switch, then GPU, both indexed
 * like the platform. ofm_route_plan_build is this, expanded. */
typedef struct {
    ofm_route_group *g;
    size_t n;
} ofm_route_groups;

void ofm_route_groups_free(ofm_route_groups *gs);
int ofm_route_groups_build(const ofm_platform *p, const ofm_fabric_health *h,
                           const uint32_t *gpus, size_t n, ofm_route_groups *out);

/* Union of two plans (for several active partitions). Entries with the same
 * key have their egress sets OR-ed. Returns 0 or -1 (allocation). */
int ofm_route_plan_merge(ofm_route_plan *dst, const ofm_route_plan *src);

/* Entries to write to go from `from` to `to`, for one HAL route_write call:
 * new or changed entries as in `to`, entries only in `from` with an empty egress set
 * (cleared). Either input may be unsorted. Returns 0 or -1. */
int ofm_route_plan_diff(const ofm_route_plan *from, const ofm_route_plan *to,
                        ofm_route_plan *out);

/* Reachability: m->links[i][j] = number of GPU i's access links (i, j indexed
 * like p->gpus) whose traffic for GPU j is routed, hop by hop through the
 * programmed entries, to an access port of GPU j - with every egress port of
 * every hop leading there (load-balanced traffic must not be dropped). Links
 * of GPUs marked unusable in h (h may be NULL: all usable) count 0. The
 * diagonal is 0. `programmed` need not be sorted. Returns 0 or -1. */
typedef struct {
    size_t n;                                /* = p->ngpus */
    uint32_t gpu[OFM_MAX_GPUS];              /* phys_ids, like p->gpus */
    uint32_t links[OFM_MAX_GPUS][OFM_MAX_GPUS];
} ofm_reach_matrix;

int ofm_reachability(const ofm_platform *p, const ofm_fabric_health *h,
                     const ofm_route_entry *programmed, size_t n, ofm_reach_matrix *m);

/* Health to route partition `d` with: `base` (NULL: all usable) minus the
 * access links beyond the partition's NVLinks per GPU, chosen by the rule in
 * partition_links.c (HGX-2: each GPU's link to its board's last switch). */
void ofm_partition_health(const ofm_platform *p, const ofm_fabric_health *base,
                          const ofm_partition_desc *d, ofm_fabric_health *out);

/* Usable access links of a GPU in `h` (all of them when h == NULL). */
uint32_t ofm_fabric_gpu_usable_links(const ofm_platform *p, const ofm_fabric_health *h,
                                     uint32_t gpu_phys_id);

/* ------------------------------------------------------------ SXid / Xid */

typedef enum {
    OFM_SXID_UNKNOWN = 0,      /* not in the guide's tables: treat by the fatal flag */
    OFM_SXID_NON_FATAL = 1,    /* FM §13.4 */
    OFM_SXID_FATAL = 2,        /* FM §13.5 */
    OFM_SXID_ALWAYS_FATAL = 3, /* FM §13.6 */
    OFM_SXID_NOTABLE = 4,      /* FM §13.7 */
} ofm_sxid_class;

typedef struct {
    uint32_t code;
    const char *name;          /* error string, e.g. "Ingress invalid ACL" */
    ofm_sxid_class cls;
    const char *guest_impact;
    const char *guest_recovery;
    const char *other_vm_impact;
} ofm_sxid_info;

/* NULL when the number is not in the guide's tables. */
const ofm_sxid_info *ofm_sxid_lookup(uint32_t code);
const char *ofm_sxid_class_name(ofm_sxid_class c);  /* "non-fatal", "fatal", ... */
/* Effective class of an event: the table's, or by the hardware's fatal flag
 * for numbers the tables do not list. */
ofm_sxid_class ofm_sxid_classify(uint32_t code, bool hw_fatal);
/* Recovery procedure of FM §3.3 / §13.5 / §13.6 for an error of class `c` on
 * an access port (trunk == false) or a trunk port, in `mode`. */
const char *ofm_sxid_recovery(ofm_sxid_class c, bool trunk, ofm_fabric_mode mode);
/* Impact and recovery of one event: the guide's per-code text where its
 * tables give one (FM §13.4, §13.7, 20034 in §13.5), else by class, scope
 * and mode as ofm_sxid_recovery. Never NULL. */
void ofm_sxid_advice(uint32_t code, bool hw_fatal, bool trunk, ofm_fabric_mode mode,
                     const char **impact, const char **recovery);
/* Fatal to the whole fabric: always-fatal codes and 10003 (FM §13.6, §13.7). */
bool ofm_sxid_fabric_fatal(uint32_t code, bool hw_fatal);
/* Logged as an NVSwitch "fatal error": fatal, always fatal, or fabric-fatal. */
bool ofm_sxid_is_fatal(uint32_t code, bool hw_fatal);

typedef struct {
    uint32_t code;
    const char *meaning;
    bool exclusion_candidate;  /* FM §9.6.1.2: consider excluding the GPU */
} ofm_xid_info;

const ofm_xid_info *ofm_xid_lookup(uint32_t code);  /* NULL when unknown */
/* Recovery for GPU Xids (FM §3.3.2). */
const char *ofm_xid_recovery(uint32_t code);
/* The Xid aborts work on the GPU (everything except the recorded/corrected
 * ECC conditions 63, 92, 94): its log line is an alert. */
bool ofm_xid_fatal(uint32_t code);

#endif
