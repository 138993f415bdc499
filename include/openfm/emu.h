/* The emulator backend's own API: create and destroy emulated systems, inject
 * faults, and probe traffic. Used by tests, by `fmctl emu` and by the daemon's
 * --emulate. Everything else talks to an emulated system through hal.h.
 *
 * An emulated system is a directory (see docs/emulator.md):
 *   topology.topo  the model it was created from (opening needs no other file)
 *   state.bin      versioned, checksummed hardware state (links, routes, faults, events)
 *   kmsg           the emulated kernel log (SXid / Xid lines in the FM §3.3 format)
 *   state.lock     flock: writers exclusive, readers shared
 *   fm.lock        held (flock) by a running fabric manager */
#ifndef OPENFM_EMU_H
#define OPENFM_EMU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "openfm/hal.h"
#include "openfm/modprobe.h"
#include "openfm/platform.h"

#define OFM_EMU_DEFAULT_DRIVER "580.95.05" /* the ABI the NVSwitch backend speaks */

/* Where root's emulated systems live unless $OPENFM_EMU_ROOT says otherwise. */
#define OFM_EMU_ROOT_DIR_SYSTEM "/var/lib/openfm/emu"

/* Open the emulated system in `dir` ("" or NULL: the default one); the same
 * as ofm_hal_open("emu:DIR"). */
int ofm_emu_open(const char *dir, ofm_hal **out, char *err, size_t errlen);
/* The model the emulated system was created from (emulator handles only). */
const ofm_platform *ofm_emu_platform(const ofm_hal *h);

/* Resolve the directory of the emulated system to use: `explicit_dir` when
 * non-NULL, else $OPENFM_EMU_DIR, else <root dir>/default where the root dir
 * is $OPENFM_EMU_ROOT, else /var/lib/openfm/emu for root, else
 * $XDG_RUNTIME_DIR/openfm-emu or /tmp/openfm-emu-<uid>. Opening or creating a
 * system refuses a directory not owned by the caller (or root), writable by
 * group or others, or reachable through another user's link or directory. */
int ofm_emu_resolve_dir(const char *explicit_dir, char *out, size_t len);
/* Parent directory `fmctl emu list` scans ($OPENFM_EMU_ROOT or the runtime dir). */
int ofm_emu_root_dir(char *out, size_t len);

/* Create (boot) an emulated system from a platform name or topology file.
 * Fails if `dir` already holds one, unless `force`; never while a fabric
 * manager holds the system (the error names its PID). */
int ofm_emu_create(const char *dir, const char *platform, bool force, char *err, size_t errlen);
int ofm_emu_destroy(const char *dir, char *err, size_t errlen);
/* Power-cycle: links drop and retrain by ALI on gen3, stay down on gen1/2;
 * routing tables and fabric registration are cleared; faults stay. */
int ofm_emu_reboot(ofm_hal *h);
/* Reboot with the driver's exclusion lists (FM §9.6, read from the modprobe
 * file by the caller; NULL = empty): devices whose UUID is listed are left
 * off the bus, devices the previous boot excluded and the lists no longer
 * name come back. The record of what this boot excluded is `<dir>/excluded`
 * (the HAL's list_excluded). ofm_emu_reboot = both lists empty. */
int ofm_emu_reboot_excluding(ofm_hal *h, const ofm_modprobe_list *gpus,
                             const ofm_modprobe_list *switches);
/* What the last boot excluded (the HAL's list_excluded). */
int ofm_emu_list_excluded(ofm_hal *h, ofm_hal_excluded *out, size_t cap, size_t *n);

/* --- fault injection (each is logged to kmsg and visible through the HAL) --- */
int ofm_emu_inject_port_down(ofm_hal *h, uint32_t sw, uint32_t port);
int ofm_emu_inject_port_repair(ofm_hal *h, uint32_t sw, uint32_t port);
int ofm_emu_inject_switch(ofm_hal *h, uint32_t sw, ofm_dev_health health);
int ofm_emu_inject_gpu(ofm_hal *h, uint32_t gpu, ofm_dev_health health);
/* Rack-scale systems (GB200 NVL72): every GPU of compute tray `tray`, or
 * every NVSwitch chip of switch tray `tray`, at once (EINVAL: no such tray). */
int ofm_emu_inject_compute_tray(ofm_hal *h, uint32_t tray, ofm_dev_health health);
int ofm_emu_inject_switch_tray(ofm_hal *h, uint32_t tray, ofm_dev_health health);
int ofm_emu_inject_fabric_fail(ofm_hal *h, uint32_t gpu, bool fail);
int ofm_emu_inject_driver_version(ofm_hal *h, const char *version);
/* `desc` is the error description printed after the link number. */
int ofm_emu_inject_sxid(ofm_hal *h, uint32_t sw, uint32_t port, uint32_t code, bool fatal,
                        const char *desc);
int ofm_emu_inject_xid(ofm_hal *h, uint32_t gpu, uint32_t code, const char *detail);
/* Raise a switch port's NVLink error counters by the given amounts (the
 * link's far end shows the same counts: both ends of an emulated link share
 * them). Counters start at 0 at every (emulated) boot. */
int ofm_emu_inject_link_errors(ofm_hal *h, uint32_t sw, uint32_t port, const ofm_hal_link_errors *add);
/* The counters (also the HAL's link_errors operation). */
int ofm_emu_link_errors(ofm_hal *h, uint32_t sw, uint32_t port, ofm_hal_link_errors *out);
/* The same for n ports, reading the counters once (the HAL's link_errors_many). */
int ofm_emu_link_errors_many(ofm_hal *h, const uint32_t *sw, const uint32_t *port, size_t n,
                             ofm_hal_link_errors *out, int *rcs);
/* Zero every counter (emulated reboot). */
int ofm_emu_link_errors_reset(ofm_hal *h);

/* Fourth-generation NVSwitches (HGX B200) report no SXids: their errors
 * are telemetry counters per port and per chip. Raise a port's (port =
 * OFM_HAL_PORT_CHIP: the chip's own) fatal or non-fatal counter by `count`
 * and record it as an OFM_EVT_SWITCH_ERROR event; ENOTSUP on switches that
 * report SXids (inject those with ofm_emu_inject_sxid, which in turn refuses
 * fourth-generation switches). Nothing is written to kmsg. */
int ofm_emu_inject_switch_error(ofm_hal *h, uint32_t sw, uint32_t port, bool fatal, uint32_t count,
                                const char *desc);
/* The counters (also the HAL's switch_telemetry operation). */
int ofm_emu_switch_telemetry(ofm_hal *h, uint32_t sw, ofm_hal_switch_telemetry *out);
/* Zero them (emulated reboot). */
int ofm_emu_switch_telemetry_reset(ofm_hal *h);

/* --- traffic probe: the ground truth for routing and isolation tests --- */
typedef struct {
    bool arrives;
    uint32_t links;          /* source links ALL of whose traffic reaches dst: one whose
                                load-balanced copies are partly dropped (a dead or wrong
                                egress port) does not count, as in fmctl audit */
    uint32_t dst_links;      /* distinct destination links any of it arrives on */
    uint32_t max_hops;       /* switches traversed on the longest path */
    uint64_t bandwidth_mbps; /* links x line rate (per direction) */
    /* first drop seen (when !arrives, or when some links arrive and others don't) */
    bool dropped;
    uint32_t drop_sw, drop_port, drop_sxid;
    /* the drop happened on a fourth-generation NVSwitch: it has no SXid
     * (drop_sxid is 0) and is counted in the switch's telemetry instead, as a
     * fatal or non-fatal port error */
    bool drop_counted, drop_fatal;
    char drop_reason[96];
} ofm_emu_probe_result;

/* Walk GPU `src` -> GPU `dst` through the programmed tables. Unless `quiet`, a
 * drop is recorded like the hardware would: SXid on the switch (on a
 * fourth-generation switch a telemetry port counter and an
 * OFM_EVT_SWITCH_ERROR event instead), Xid 45 on the source GPU, in kmsg and
 * the event ring. */
int ofm_emu_probe(ofm_hal *h, uint32_t src, uint32_t dst, bool quiet, ofm_emu_probe_result *out);
/* Every ordered pair of distinct GPUs in ONE transaction, so the matrix is a
 * single snapshot even while a fabric manager changes routes. `out` holds
 * ngpus x ngpus results in model order, row = source; the diagonal is zeroed. */
int ofm_emu_probe_all(ofm_hal *h, bool quiet, ofm_emu_probe_result *out);

/* A running fabric manager holds the system (fm.lock) for its lifetime. */
int ofm_emu_fm_attach(ofm_hal *h);
void ofm_emu_fm_detach(ofm_hal *h);
/* True while some process holds the system as its fabric manager. */
bool ofm_emu_fm_running(const ofm_hal *h);

/* Path of the emulated kernel log. */
int ofm_emu_kmsg_path(const ofm_hal *h, char *out, size_t len);

#endif
