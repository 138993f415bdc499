/* openfm hardware abstraction layer.
 *
 * Everything above this interface (fabric, partition manager, daemon, tools)
 * talks to switches and GPUs only through these calls, so the emulator and a
 * real backend (nvswitch ioctls + NVML) are interchangeable. The shape follows
 * the real driver: enumerate, per-port link state, train/reset, per-ingress-port
 * routing entries (destination GPU -> egress port set), error rings with a
 * cursor, GPU fabric registration state, MIG mode and instances.
 *
 * Every record read through the HAL carries `prov`, so tools never present
 * emulated data as hardware fact.
 *
 * Return convention: 0 on success, a negative OFM_HAL_E* code on failure, with
 * a human-readable reason available from ofm_hal_last_error(). */
#ifndef OPENFM_HAL_H
#define OPENFM_HAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "openfm/platform.h"
#include "openfm/portset.h"

enum {
    OFM_HAL_OK = 0,
    OFM_HAL_EINVAL = -1,    /* bad argument (unknown device, port out of range) */
    OFM_HAL_ENODEV = -2,    /* device missing or failed */
    OFM_HAL_EIO = -3,       /* operation failed on the device (training failed...) */
    OFM_HAL_EBUSY = -4,     /* in use (e.g. GPU reset while a client holds it) */
    OFM_HAL_ENOTSUP = -5,   /* not supported on this device/backend */
    OFM_HAL_ECORRUPT = -6,  /* backend state unreadable, truncated or of another version */
    OFM_HAL_ENOSPC = -7,    /* table full / insufficient resources */
    OFM_HAL_ENOENT = -8,    /* no such object (instance, entry) */
    OFM_HAL_EABSENT = -9,   /* no hardware of this kind on this machine (driver/devices not found) */
};

typedef enum { OFM_PROV_EMULATED = 1, OFM_PROV_REAL = 2 } ofm_provenance;

typedef enum {
    OFM_LINK_OFF = 0,
    OFM_LINK_TRAINING = 1,
    OFM_LINK_ACTIVE = 2,
    OFM_LINK_FAILED = 3,
} ofm_link_state;

typedef enum { OFM_REMOTE_NONE = 0, OFM_REMOTE_GPU = 2, OFM_REMOTE_SWITCH = 3 } ofm_remote_type;

typedef enum {
    OFM_DEV_OK = 0,
    OFM_DEV_MISSING = 1,  /* not enumerated on the bus */
    OFM_DEV_FAILED = 2,   /* enumerated but unusable */
} ofm_dev_health;

typedef struct {
    ofm_provenance prov;
    uint32_t phys_id;
    char uuid[80];
    char pci_bdf[32];          /* "0000:05:00.0" */
    ofm_switch_gen gen;
    uint32_t nports;
    uint32_t baseboard;
    ofm_dev_health health;
} ofm_hal_switch;

typedef struct {
    ofm_provenance prov;
    uint32_t phys_id;          /* module ID on H100 */
    char uuid[80];             /* "GPU-xxxxxxxx-...." */
    char pci_bdf[32];
    char model[32];
    uint32_t nvlinks;
    uint32_t line_rate_mbps;
    uint32_t baseboard;
    ofm_dev_health health;
} ofm_hal_gpu;

typedef struct {
    ofm_provenance prov;
    ofm_link_state state;
    ofm_remote_type remote_type;
    uint32_t remote_id;        /* GPU phys_id or switch id */
    uint32_t remote_link;      /* GPU link number or switch port; UINT32_MAX: not known */
} ofm_hal_link;

/* One routing entry: on switch `sw`, traffic entering `in_port` for GPU `dst`
 * leaves on the ports in `egress`. An empty set means invalid / cleared: the
 * switch drops such traffic with SXid 11004. */
typedef struct {
    uint32_t sw;
    uint32_t in_port;
    uint32_t dst_gpu;
    ofm_portset egress;
} ofm_route_entry;

/* Routing entries in group form: on switch `sw`, traffic entering any port
 * of `in_ports` for GPU `dst_gpu` leaves on `egress` (empty: cleared). One
 * group stands for one ofm_route_entry per port of in_ports. Plans are
 * naturally in this form (the egress toward a GPU depends on the switch, not
 * on the ingress port), and on a rack it is 72 times smaller: GB200 NVL72's
 * whole domain is 1296 groups where it is 92016 entries. */
typedef struct {
    uint32_t sw;
    uint32_t dst_gpu;
    ofm_portset in_ports;
    ofm_portset egress;
} ofm_route_group;

/* OFM_EVT_SWITCH_ERROR: a switch's telemetry error counter rose. Switches
 * managed through a subnet manager (fourth generation, HGX B200) report no
 * SXids: their errors are port and chip counters read through telemetry, and
 * a backend turns a rise into this event (`code` = how many errors were
 * added, `port` = OFM_HAL_PORT_CHIP for an error of the chip itself). */
typedef enum {
    OFM_EVT_SXID = 1,
    OFM_EVT_XID = 2,
    OFM_EVT_LINK_DOWN = 3,
    OFM_EVT_LINK_UP = 4,
    OFM_EVT_SWITCH_ERROR = 5,
} ofm_event_kind;
#define OFM_EVT_KIND_MAX OFM_EVT_SWITCH_ERROR
#define OFM_HAL_PORT_CHIP UINT32_MAX

typedef struct {
    ofm_provenance prov;
    uint64_t seq;              /* monotonically increasing; cursor for read_events */
    uint64_t time_ns;          /* CLOCK_REALTIME */
    ofm_event_kind kind;
    uint32_t code;             /* SXid or Xid number; SWITCH_ERROR: errors added */
    bool fatal;                /* as the hardware reported it */
    uint32_t sw;               /* switch id for SXid / switch link events */
    uint32_t port;             /* switch port (SXid) or GPU link */
    uint32_t gpu;              /* GPU phys_id for Xid / GPU link events */
    char detail[128];
} ofm_hal_event;

typedef enum {
    OFM_FABRIC_NOT_SUPPORTED = 0,
    OFM_FABRIC_NOT_STARTED = 1,
    OFM_FABRIC_IN_PROGRESS = 2,
    OFM_FABRIC_COMPLETED = 3,
} ofm_fabric_state;

typedef struct {
    ofm_provenance prov;
    ofm_fabric_state state;
    int status;                /* 0 success, otherwise an error code (NVML-style) */
    char cluster_uuid[80];
    uint32_t clique_id;
} ofm_hal_fabric_info;

typedef struct {
    ofm_provenance prov;
    bool current;              /* MIG mode now */
    bool pending;              /* MIG mode after the next reset */
} ofm_hal_mig_mode;

typedef struct {
    uint32_t gi_id;
    uint32_t profile_id;
    uint32_t start;            /* memory slice */
    uint32_t size;             /* memory slices */
} ofm_hal_gpu_instance;

typedef struct {
    uint32_t gi_id;
    uint32_t ci_id;
    uint32_t profile_id;
    uint32_t start;            /* compute slice within the GI */
    uint32_t size;
} ofm_hal_compute_instance;

/* A PCI function, as lspci names it (domain:bus:device.function); the
 * SR-IOV virtual functions of a GPU are reported this way. */
typedef struct {
    uint32_t domain;
    uint32_t bus;
    uint32_t device;
    uint32_t function;
} ofm_hal_pci_fn;

/* Most virtual functions per GPU that openfm handles. */
#define OFM_HAL_MAX_VFS 64

typedef struct {
    ofm_provenance prov;
    uint64_t crc_flit;        /* flits that failed their CRC */
    uint64_t crc_data;        /* data CRC errors */
    uint64_t replay;          /* link-level replays */
    uint64_t recovery;        /* link recoveries (retrains) */
} ofm_hal_link_errors;

/* Error counters of a switch read through telemetry (fourth-generation
 * NVSwitch, where they replace SXids): per port, and for the chip, whose
 * counts include its ports' and errors of the chip itself. Totals since the
 * switch last booted. */
typedef struct {
    uint64_t fatal;
    uint64_t nonfatal;
} ofm_hal_error_counts;

typedef struct {
    ofm_provenance prov;
    ofm_hal_error_counts chip;
    uint32_t nports;
    ofm_hal_error_counts port[OFM_MAX_SWITCH_PORTS];
} ofm_hal_switch_telemetry;

/* A device the driver found on the bus but left out because it is on an
 * exclusion list (NVreg_ExcludedGpus / NvSwitchExcludelist, FM §9.6): what
 * `nvidia-smi -B` lists. phys_id is the topology's ID where the backend
 * knows it (the emulator), else UINT32_MAX. */
typedef struct {
    bool is_switch;
    uint32_t phys_id;
    char uuid[80];
    char pci_bdf[32];
} ofm_hal_excluded;

typedef struct ofm_hal ofm_hal;

/* Operations. Every one may be NULL: callers treat a missing operation as
 * "not supported by this backend" (OFM_HAL_ENOTSUP). The last group are hooks
 * only some backends have; code above the HAL works without them. */
typedef struct {
    const char *name;          /* "emu", "nvml", "nvswitch", "nvml+emu"... */
    void (*close)(ofm_hal *h);
    int (*driver_version)(ofm_hal *h, char *buf, size_t len);
    int (*list_switches)(ofm_hal *h, ofm_hal_switch *out, size_t cap, size_t *n);
    int (*list_gpus)(ofm_hal *h, ofm_hal_gpu *out, size_t cap, size_t *n);
    int (*switch_port)(ofm_hal *h, uint32_t sw, uint32_t port, ofm_hal_link *out);
    int (*gpu_link)(ofm_hal *h, uint32_t gpu, uint32_t link, ofm_hal_link *out);
    int (*train_port)(ofm_hal *h, uint32_t sw, uint32_t port);
    int (*reset_port)(ofm_hal *h, uint32_t sw, uint32_t port);
    /* Apply entries atomically: other processes see all or none of them. */
    int (*route_write)(ofm_hal *h, const ofm_route_entry *e, size_t n);
    /* Clear every entry of one switch (all ingress ports). */
    int (*route_clear_switch)(ofm_hal *h, uint32_t sw);
    /* Read valid entries of one switch; *n is the count available even when > cap. */
    int (*route_read)(ofm_hal *h, uint32_t sw, ofm_route_entry *out, size_t cap, size_t *n);
    /* Events with seq > *cursor; advances *cursor past what was returned. */
    int (*read_events)(ofm_hal *h, uint64_t *cursor, ofm_hal_event *out, size_t cap, size_t *n);
    int (*fabric_get)(ofm_hal *h, uint32_t gpu, ofm_hal_fabric_info *out);
    int (*fabric_set)(ofm_hal *h, uint32_t gpu, ofm_fabric_state st, int status);
    int (*mig_mode_get)(ofm_hal *h, uint32_t gpu, ofm_hal_mig_mode *out);
    int (*mig_mode_set)(ofm_hal *h, uint32_t gpu, bool enable);
    int (*gpu_reset)(ofm_hal *h, uint32_t gpu);
    int (*gi_create)(ofm_hal *h, uint32_t gpu, uint32_t profile_id, uint32_t start, uint32_t size,
                     uint32_t *gi_id);
    int (*gi_destroy)(ofm_hal *h, uint32_t gpu, uint32_t gi_id);
    int (*gi_list)(ofm_hal *h, uint32_t gpu, ofm_hal_gpu_instance *out, size_t cap, size_t *n);
    int (*ci_create)(ofm_hal *h, uint32_t gpu, uint32_t gi_id, uint32_t profile_id, uint32_t start,
                     uint32_t size, uint32_t *ci_id);
    int (*ci_destroy)(ofm_hal *h, uint32_t gpu, uint32_t gi_id, uint32_t ci_id);
    int (*ci_list)(ofm_hal *h, uint32_t gpu, uint32_t gi_id, ofm_hal_compute_instance *out,
                   size_t cap, size_t *n);

    /* --- optional hooks --- */
    /* The platform model the backend was built from (the emulator knows it;
     * real hardware does not, and bring-up matches discovery instead). */
    const ofm_platform *(*platform_hint)(ofm_hal *h);
    /* Exclusive claim of the fabric by one fabric manager for its lifetime
     * (EBUSY names the holder); release undoes it. */
    int (*claim)(ofm_hal *h);
    void (*release)(ofm_hal *h);
    /* Whether GPU fabric registration is known in advance to fail for this
     * GPU (an injected fault). Real drivers instead fail fabric_set. */
    int (*gpu_register_fault)(ofm_hal *h, uint32_t gpu, bool *will_fail);
    /* Emulated clients holding a GPU (make resets fail "In use"); delta
     * +1/-1/0, *holders the count after the change. */
    int (*gpu_hold)(ofm_hal *h, uint32_t gpu, int delta, uint32_t *holders);
    /* The SR-IOV virtual functions of a GPU, VF 1 first; *n is the count
     * even when it exceeds cap. */
    int (*gpu_vfs)(ofm_hal *h, uint32_t gpu, ofm_hal_pci_fn *out, size_t cap, size_t *n);
    /* The UUID ("MIG-...") the driver gives compute instance `ci` of GPU
     * instance `gi`: the name CUDA_VISIBLE_DEVICES takes. Backends whose
     * MIG devices have no driver-given name (the emulator) leave it NULL and
     * openfm derives its own (ofm_mig_device_uuid, src/mig). */
    int (*mig_device_uuid)(ofm_hal *h, uint32_t gpu, uint32_t gi, uint32_t ci, char *out,
                           size_t len);
    /* Switch side of a composed backend: the GPU side's inventory (PCI
     * address, UUID, physical ID), so ports whose far end is a GPU name it
     * even when the GPU's own fabric probe went to another process. */
    void (*learn_gpus)(ofm_hal *h, const ofm_hal_gpu *gpus, size_t n);
    /* NVLink error counters of a switch port (what nvidia-smi nvlink -e and
     * DCGM's per-link error fields show): totals since the driver loaded. */
    int (*link_errors)(ofm_hal *h, uint32_t sw, uint32_t port, ofm_hal_link_errors *out);
    /* The same counters read at the GPU end of GPU link `link` (NVML's
     * nvmlDeviceGetNvLinkErrorCounter): what a GPU-side backend has where the
     * switch driver reports none. */
    int (*gpu_link_errors)(ofm_hal *h, uint32_t gpu, uint32_t link, ofm_hal_link_errors *out);
    /* Devices excluded at the last boot (see ofm_hal_excluded); *n is the
     * count even when it exceeds cap. */
    int (*list_excluded)(ofm_hal *h, ofm_hal_excluded *out, size_t cap, size_t *n);
    /* A switch's telemetry error counters (ofm_hal_switch_telemetry);
     * ENOTSUP for switches that report SXids instead. */
    int (*switch_telemetry)(ofm_hal *h, uint32_t sw, ofm_hal_switch_telemetry *out);
    /* Optional: fabric_set for n GPUs at once, rcs[i] getting what
     * fabric_set(gpus[i]) would return - one transaction instead of n, which
     * a 72-GPU rack's bring-up feels (the emulator). Returns OFM_HAL_OK when
     * every rcs[i] is filled, else the batch did not run at all. */
    int (*fabric_set_many)(ofm_hal *h, const uint32_t *gpus, size_t n, ofm_fabric_state st,
                           int status, int *rcs);
    /* Optional: switch_port for ports 0..cap-1 of one switch in one
     * transaction (the emulator: one read instead of 72 on a fourth-generation
     * chip); *n = the switch's port count. Same errors as switch_port. */
    int (*switch_ports)(ofm_hal *h, uint32_t sw, ofm_hal_link *out, size_t cap, size_t *n);
    /* Optional: route_write of the entries n groups stand for, atomically,
     * without expanding them (the emulator stores routes in this form). Use
     * ofm_hal_route_write_groups, which expands for backends without it. */
    int (*route_write_groups)(ofm_hal *h, const ofm_route_group *g, size_t n);
    /* Optional: link_errors for n (switch, port) pairs in one read, rcs[i]
     * getting what link_errors(sw[i], port[i]) would return (the daemon
     * re-reads a rack's 1296 ports every sweep). Returns OFM_HAL_OK when
     * every rcs[i] is filled, else the batch did not run at all. */
    int (*link_errors_many)(ofm_hal *h, const uint32_t *sw, const uint32_t *port, size_t n,
                            ofm_hal_link_errors *out, int *rcs);
    /* Optional: fabric_get for n GPUs in one transaction, rcs[i] getting
     * what fabric_get(gpus[i]) would return (the live refresh reads every
     * GPU's registration). Returns OFM_HAL_OK when every rcs[i] is filled,
     * else the batch did not run at all. */
    int (*fabric_get_many)(ofm_hal *h, const uint32_t *gpus, size_t n, ofm_hal_fabric_info *out,
                           int *rcs);
    /* Optional: the read_events cursor after every event the backend holds
     * now, without reading them (the emulator's event ring outlives every
     * process). Bring-up starts the monitor there, so that what failed before
     * the start is reported by bring-up, not replayed as new. The NVSwitch
     * backend moves its per-switch position in the driver's error buffers
     * past what they hold (GET_ERRORS only, nothing else read_events does). */
    int (*event_cursor_now)(ofm_hal *h, uint64_t *cursor);
} ofm_hal_ops;

struct ofm_hal {
    const ofm_hal_ops *ops;
    ofm_provenance prov;
    char last_error[256];
    void *impl;                /* backend private state */
};

/* ------------------------------------------------------------ opening
 * The one place that opens hardware (src/hal/backend.c). `spec`:
 *   emu:DIR      the emulated system in DIR ("emu:" or "emu": the default
 *                emulated system, see opts->emu_dir)
 *   nvml         NVIDIA's management library only (GPU side; no switches)
 *   nvswitch     the NVSwitch driver only (switch side)
 *   nvml+SWITCH  composed: GPU side from NVML, switch side from SWITCH
 *                (nvswitch, or emu:DIR for tests: the emulator then stands
 *                in for the NVSwitch driver and names no platform)
 *   real         nvml+nvswitch
 *   auto         real when NVSwitch device nodes exist, else OFM_HAL_EABSENT
 *                with a one-line explanation of what was looked for. */
typedef struct {
    const char *emu_dir;       /* emu with no DIR: this, else ofm_emu_resolve_dir's default */
    const char *emulate;       /* emu: create the system from this platform if DIR has none */
    const char *dev_root;      /* device node directory; NULL: $OPENFM_DEV_ROOT, else /dev */
    const char *nvml_library;  /* NULL: $OPENFM_NVML_LIBRARY, else libnvidia-ml.so.1 */
    /* The fabric manager opens the switch side as its manager (capability,
     * driver state, heartbeat, port configuration, GPU probes); tools open
     * it as observers (read only). */
    bool manager;
    uint32_t heartbeat_timeout_ms; /* handed to the NVSwitch driver; 0: 10000 */
} ofm_hal_open_opts;

int ofm_hal_open(const char *spec, const ofm_hal_open_opts *opts, ofm_hal **out, char *errbuf,
                 size_t errlen);
/* Which spec a program should open, in the documented order: the command
 * line's --backend, else a configured OPENFM_BACKEND, else the emulator when
 * any emulator setting is present (`emu_selected`), else `fallback`. */
const char *ofm_hal_select(const char *cli_spec, const char *cfg_spec, bool emu_selected,
                           const char *fallback);
/* Check a spec's syntax without opening anything (errbuf says why not). */
int ofm_hal_spec_check(const char *spec, char *errbuf, size_t errlen);
/* What `auto` means on this machine: "real" when NVSwitch device nodes exist,
 * else OFM_HAL_EABSENT with one line saying what was looked for, what was
 * not found and what to do. Only looks at device nodes: answers at once. */
int ofm_hal_resolve_auto(const ofm_hal_open_opts *opts, const char **spec, char *errbuf,
                         size_t errlen);
/* The device directory the real backends and `auto` look in. */
const char *ofm_hal_dev_root(const ofm_hal_open_opts *opts);
void ofm_hal_close(ofm_hal *h);

/* Write routing groups atomically: through the backend's route_write_groups
 * when it has one, else as the entries they stand for, in one route_write
 * (src/hal/route_groups.c). */
int ofm_hal_route_write_groups(ofm_hal *h, const ofm_route_group *g, size_t n);
/* The entries n groups stand for, ordered by (switch, ingress port) in the
 * groups' switch order, then by group order; *out is malloc'ed (NULL when
 * *nout is 0). Returns -1 on allocation failure. */
int ofm_route_groups_expand(const ofm_route_group *g, size_t n, ofm_route_entry **out, size_t *nout);
const char *ofm_hal_last_error(const ofm_hal *h);
const char *ofm_hal_strerror(int code);
const char *ofm_link_state_name(ofm_link_state s);
/* The words of nvidia-smi's Fabric section: state "N/A", "Not Started",
 * "In Progress", "Completed"; status "N/A" unless completed, then "Success"
 * or the failure (NVML return code: 23 "Insufficient Resources", ...). */
const char *ofm_fabric_state_name(ofm_fabric_state s);
const char *ofm_fabric_status_text(ofm_fabric_state s, int status);

/* The platform model the backend names (platform_hint), or NULL when it does
 * not know one (real hardware: bring-up matches discovery instead). */
const ofm_platform *ofm_hal_platform(const ofm_hal *h);
/* Optional hooks, with their documented fallbacks when the backend has none:
 * claim succeeds, release does nothing, no registration fault is known,
 * gpu_hold is ENOTSUP. */
int ofm_hal_claim(ofm_hal *h);
void ofm_hal_release(ofm_hal *h);
bool ofm_hal_register_fault(ofm_hal *h, uint32_t gpu);
/* A GPU's virtual functions (src/hal/sriov.c): the backend's gpu_vfs when it
 * has one, else the virtfnN links of the GPU's PCI device in sysfs. 0 with
 * *n set (0 when SR-IOV is not enabled), or OFM_HAL_E* (ENODEV: no such
 * GPU). */
int ofm_hal_gpu_vfs(ofm_hal *h, uint32_t gpu, ofm_hal_pci_fn *out, size_t cap, size_t *n);

#endif
