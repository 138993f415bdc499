/* openfm platform model: the static description of an NVSwitch system.
 *
 * A platform is pure data loaded from a topology file (docs/topology-format.md).
 * Fixed-size arrays keep the model allocation-free, trivially copyable and
 * safe to hand to a fuzzer: the loader is a pure function of the bytes. */
#ifndef OPENFM_PLATFORM_H
#define OPENFM_PLATFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "openfm/error.h"

#define OFM_MAX_GPUS 72          /* a GB200 NVL72 rack is one NVLink domain of 72 GPUs */
#define OFM_MAX_SWITCHES 64      /* the driver supports at most 64 switch minors */
#define OFM_MAX_SWITCH_PORTS 72  /* fourth-generation NVSwitch: 72 ports (ofm_portset holds 128) */
#define OFM_MAX_GPU_LINKS 18     /* H100: 18 NVLinks per GPU */
#define OFM_MAX_ACCESS_LINKS (OFM_MAX_GPUS * OFM_MAX_GPU_LINKS)
#define OFM_MAX_TRUNK_LINKS 1024
#define OFM_MAX_PARTITIONS 64    /* FM_MAX_FABRIC_PARTITIONS */
#define OFM_MAX_BRIDGE_LINKS (OFM_MAX_ACCESS_LINKS / 2) /* each uses two GPU links */
#define OFM_MAX_TRAYS OFM_MAX_GPUS  /* per kind (compute, switch); NVL72: 18 and 9 */
#define OFM_AFFINITY_LEN 64
#define OFM_NAME_LEN 64
#define OFM_MODEL_LEN 32

typedef enum {
    OFM_SWITCH_GEN1 = 1, /* SV10, DGX-2 / HGX-2 */
    OFM_SWITCH_GEN2 = 2, /* LR10, A100 / A800 */
    OFM_SWITCH_GEN3 = 3, /* LS10, H100 / H800 / H200 */
    OFM_SWITCH_GEN4 = 4, /* fourth generation (NVLink 5, 72 ports), B200 / GB200 */
} ofm_switch_gen;

typedef struct {
    uint32_t phys_id;            /* physical / module ID as the guide numbers GPUs */
    char model[OFM_MODEL_LEN];   /* e.g. "H100-SXM5-80GB" */
    uint32_t nvlinks;            /* NVLinks the GPU has */
    uint32_t line_rate_mbps;     /* per link, per direction, in MB/s (25000 = 25 GB/s) */
    uint32_t baseboard;          /* 1-based baseboard number */
    uint32_t tray, slot;         /* rack scale: compute tray ID and 1-based slot in it (0: none) */
    /* Host affinity, from an 'affinity' record: values of the topology file
     * (documented assumptions for the board), not read from the machine. */
    bool has_affinity;
    char cpus[OFM_AFFINITY_LEN]; /* CPU list as the kernel prints it: "0-47,96-143" */
    uint32_t numa_node;
} ofm_gpu_desc;

typedef struct {
    uint32_t id;                 /* physical switch ID as the guide numbers switches */
    ofm_switch_gen gen;
    uint32_t nports;
    uint32_t baseboard;
    uint32_t tray;               /* rack scale: switch tray ID (0: none) */
} ofm_switch_desc;

typedef struct {                 /* GPU NVLink <-> switch port */
    uint32_t gpu;                /* GPU phys_id */
    uint32_t gpu_link;
    uint32_t sw;                 /* switch id */
    uint32_t sw_port;
} ofm_access_link;

typedef struct {                 /* switch port <-> switch port, stored once per cable */
    uint32_t sw_a, port_a;
    uint32_t sw_b, port_b;
} ofm_trunk_link;

typedef struct {                 /* GPU link <-> GPU link, no switch (an NVLink bridge) */
    uint32_t gpu_a, link_a;
    uint32_t gpu_b, link_b;
} ofm_bridge_link;

typedef struct {
    uint32_t id;
    uint32_t ngpus;
    uint32_t gpus[OFM_MAX_GPUS]; /* phys_ids, ascending */
    uint32_t nvlinks_per_gpu;    /* as listed in the guide's partition tables */
} ofm_partition_desc;

typedef struct {
    char name[OFM_NAME_LEN];          /* "hgx-h100" */
    char description[128];
    bool ali;                         /* links train autonomously (gen3) */
    size_t ngpus, nswitches, naccess, ntrunks, npartitions, nbridges;
    ofm_gpu_desc gpus[OFM_MAX_GPUS];
    ofm_switch_desc switches[OFM_MAX_SWITCHES];
    ofm_access_link access[OFM_MAX_ACCESS_LINKS];
    ofm_trunk_link trunks[OFM_MAX_TRUNK_LINKS];
    ofm_partition_desc partitions[OFM_MAX_PARTITIONS];
    /* NVLink-bridge systems: GPUs linked directly, no NVSwitch (a platform
     * has switches or bridges, never both). Nothing to manage: the links
     * train on their own and need no routing. */
    ofm_bridge_link bridges[OFM_MAX_BRIDGE_LINKS];
    /* Rack scale ('tray' records, GB200 NVL72): tray IDs in file order. A
     * platform with compute trays is a rack-scale NVLink domain (see below). */
    size_t ncompute_trays, nswitch_trays;
    uint32_t compute_trays[OFM_MAX_TRAYS];
    uint32_t switch_trays[OFM_MAX_TRAYS];
} ofm_platform;

/* Rack-scale NVLink domains (GB200 NVL72): the one place their partition
 * facts live. A partition is any non-empty set of the domain's GPUs, its ID
 * in OFM_RACK_PARTITION_ID_MIN..MAX; the default partition, ID
 * OFM_RACK_DEFAULT_PARTITION_ID, holds every GPU. */
#define OFM_RACK_PARTITION_ID_MIN 1u
#define OFM_RACK_PARTITION_ID_MAX 32766u
#define OFM_RACK_DEFAULT_PARTITION_ID 32766u

/* True for a rack-scale domain (the model declares compute trays). */
static inline bool ofm_platform_is_rack(const ofm_platform *p) { return p->ncompute_trays > 0; }

/* The rack partition rule: ID in range, at least one GPU, every GPU declared
 * and listed once. Returns true, or false with the broken rule in `why`
 * ("partition ID 0 is outside 1-32766", "GPU 80 is not in the domain", ...). */
bool ofm_rack_partition_ok(const ofm_platform *p, uint32_t id, const uint32_t *gpus, size_t n,
                           char *why, size_t whylen);

/* GPUs of compute tray `tray` (phys IDs in slot order); returns how many
 * (0 when there is no such tray), filling at most cap. */
size_t ofm_platform_tray_gpus(const ofm_platform *p, uint32_t tray, uint32_t *out, size_t cap);
/* Switches of switch tray `tray`; returns how many, filling at most cap. */
size_t ofm_platform_tray_switches(const ofm_platform *p, uint32_t tray, uint32_t *out, size_t cap);

/* Parse a topology file held in memory. `origin` names it in error messages.
 * Returns 0 and fills *out, or -1 with err->line/err->msg set. Never reads
 * past buf+len, never allocates beyond the caller's structures. */
int ofm_platform_parse(const char *buf, size_t len, const char *origin,
                       ofm_platform *out, ofm_error *err);

/* Load a topology from a file path. */
int ofm_platform_load_file(const char *path, ofm_platform *out, ofm_error *err);

/* Whether the platform's NVSwitches are fourth-generation chips that a
 * subnet manager programs through a NIC bridge (HGX B200) rather than the
 * fabric manager through PCIe ioctls. Such switches report errors as port and
 * chip telemetry counters, never SXids, and cannot be excluded by a kernel
 * module parameter (docs/b200.md). */
static inline bool ofm_platform_sm_managed(const ofm_platform *p)
{
    for (size_t i = 0; i < p->nswitches && i < OFM_MAX_SWITCHES; i++)
        if (p->switches[i].gen >= OFM_SWITCH_GEN4)
            return true;
    return false;
}

/* Resolve a platform NAME (built-in, e.g. "hgx-h100") or a FILE path. A name
 * without '/' that is not built-in is looked up as NAME.topo in `search_dir`
 * when search_dir is non-NULL. */
int ofm_platform_load(const char *name_or_path, const char *search_dir,
                      ofm_platform *out, ofm_error *err);

/* Built-in platforms, compiled into the binary from share/topologies/. */
size_t ofm_platform_builtin_count(void);
const char *ofm_platform_builtin_name(size_t i);
/* Raw text of a built-in topology file, or NULL if the name is unknown. */
const char *ofm_platform_builtin_text(const char *name, size_t *len);

/* Lookups; return NULL / -1 when absent. */
const ofm_gpu_desc *ofm_platform_gpu(const ofm_platform *p, uint32_t phys_id);
const ofm_switch_desc *ofm_platform_switch(const ofm_platform *p, uint32_t id);
const ofm_partition_desc *ofm_platform_partition(const ofm_platform *p, uint32_t id);

/* NVLinks GPU `src` can use toward GPU `dst` through the switches when every
 * link is up and routing is complete (the NV<n> of a topology matrix). */
uint32_t ofm_platform_nvlinks_between(const ofm_platform *p, uint32_t src, uint32_t dst);
/* NVLinks bridging GPU `a` and GPU `b` directly (0 on NVSwitch systems). */
uint32_t ofm_platform_bridge_links(const ofm_platform *p, uint32_t a, uint32_t b);
/* Access links of a GPU in the model. */
uint32_t ofm_platform_gpu_link_count(const ofm_platform *p, uint32_t gpu);
/* Access links on a switch; trunk port count in *trunks when non-NULL. */
uint32_t ofm_platform_switch_link_count(const ofm_platform *p, uint32_t sw, uint32_t *trunks);

#endif
