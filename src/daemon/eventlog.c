/* Event log ring and the producers that compare state snapshots. */
#include "daemon/eventlog.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "daemon/daemon.h"
#include "openfm/log.h"
#include "partition/partition_mgr.h"

static ofm_wire_event ring[OFM_EVENTLOG_SIZE];
static uint64_t next_seq = 1; /* sequence numbers start at 1; 0 means "from the start" */

void ofm_eventlog_add(ofm_wire_event_type t, uint32_t code, int32_t gpu, int32_t sw, int32_t port,
                      int32_t partition, bool fatal, const char *fmt, ...)
{
    ofm_wire_event *e = &ring[next_seq % OFM_EVENTLOG_SIZE];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    memset(e, 0, sizeof *e);
    e->seq = next_seq++;
    e->time_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    e->type = t;
    e->code = code;
    e->gpu = gpu;
    e->nvswitch = sw;
    e->port = port;
    e->partition = partition;
    e->fatal = fatal;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->text, sizeof e->text, fmt, ap);
    va_end(ap);
}

fmReturn_t ofm_eventlog_get(void *ctx, uint64_t after_seq, unsigned max, ofm_wire_events *out)
{
    (void)ctx;
    uint64_t last = next_seq - 1;
    uint64_t first = last == 0 ? 0 : last >= OFM_EVENTLOG_SIZE ? last - OFM_EVENTLOG_SIZE + 1 : 1;
    out->first_seq = first;
    out->last_seq = last;
    out->n = 0;
    if (max > OFM_WIRE_MAX_EVENTS)
        max = OFM_WIRE_MAX_EVENTS;
    uint64_t s = after_seq + 1 > first ? after_seq + 1 : first;
    for (; first && s <= last && out->n < max; s++)
        out->ev[out->n++] = ring[s % OFM_EVENTLOG_SIZE];
    return FM_ST_SUCCESS;
}

/* The event's GPU: -1 (none) for a trunk port, an unused port or the chip. */
static int32_t gpu_of(const ofm_fabric_error *rec)
{
    return rec && rec->gpu != OFM_ERROR_NO_GPU && rec->gpu <= INT32_MAX ? (int32_t)rec->gpu : -1;
}

void ofm_eventlog_on_hal_event(void *arg, const ofm_hal_event *e, const ofm_fabric_error *rec)
{
    (void)arg;
    uint64_t before = next_seq;
    switch (e->kind) {
    case OFM_EVT_SXID:
        ofm_eventlog_add(OFM_EV_SXID, e->code, gpu_of(rec), (int32_t)e->sw,
                         (int32_t)e->port, -1, e->fatal, "%s", rec ? rec->summary : e->detail);
        break;
    case OFM_EVT_XID:
        ofm_eventlog_add(OFM_EV_XID, e->code, (int32_t)e->gpu, -1, -1, -1, e->fatal, "%s",
                         rec ? rec->summary : e->detail);
        break;
    case OFM_EVT_LINK_DOWN:
        ofm_eventlog_add(OFM_EV_LINK_DOWN, 0, gpu_of(rec), (int32_t)e->sw,
                         (int32_t)e->port, -1, false, "%s",
                         rec ? rec->summary : "NVLink down");
        break;
    case OFM_EVT_SWITCH_ERROR:
        ofm_eventlog_add(OFM_EV_SWITCH_ERROR, e->code, gpu_of(rec),
                         (int32_t)e->sw,
                         e->port == OFM_HAL_PORT_CHIP ? -1 : (int32_t)e->port, -1, e->fatal, "%s",
                         rec ? rec->summary : e->detail);
        break;
    case OFM_EVT_LINK_UP:
        if (e->detail[0])
            ofm_eventlog_add(OFM_EV_LINK_UP, 0, -1, (int32_t)e->sw, (int32_t)e->port, -1, false,
                             "NVLink up: NVSwitch %u port %u (%.100s)", e->sw, e->port, e->detail);
        else
            ofm_eventlog_add(OFM_EV_LINK_UP, 0, -1, (int32_t)e->sw, (int32_t)e->port, -1, false,
                             "NVLink up: NVSwitch %u port %u", e->sw, e->port);
        break;
    }
    /* when the hardware reported it, not when the monitor read it */
    if (next_seq != before && e->time_ns)
        ring[before % OFM_EVENTLOG_SIZE].time_ns = e->time_ns;
}

/* ---------------------------------------------------------------- state */

static struct {
    bool valid;
    ofm_system_state state;
    struct {
        ofm_dev_health health;
        uint32_t usable;
        ofm_gpu_mig mig;
    } gpu[OFM_MAX_GPUS];
    ofm_switch_status sw[OFM_MAX_SWITCHES];
    size_t np;
    uint32_t pid[OFM_PM_MAX_PARTITIONS];
    bool pactive[OFM_PM_MAX_PARTITIONS];
} snap;

static const char *health_word(ofm_dev_health h)
{
    return h == OFM_DEV_OK ? "OK" : h == OFM_DEV_MISSING ? "missing" : "failed";
}

/* A device that changed state at run time gets a log line an operator can
 * act on, not only an entry in `fmctl events`: the monitor logs the errors
 * the hardware reports, but a switch or GPU that goes away (or comes back)
 * may report none. */
static void log_gpu_change(const ofm_gpu_status *g, ofm_dev_health was)
{
    char pci[48];
    ofm_pci_bus_id_long(g->pci_bdf, pci, sizeof pci);
    if (g->health != OFM_DEV_OK)
        OFM_WARN("GPU %u (pci bus id %s) is %s at run time (was %s): it has no NVLink peer access "
                 "now; recovery: reset the GPU (nvidia-smi -r) or reboot, then restart the fabric "
                 "manager so that it rejoins the fabric",
                 g->phys_id, pci, health_word(g->health),
                 health_word(was));
    else
        OFM_INFO("GPU %u (pci bus id %s) reports OK again (was %s); 'fmctl status' shows whether it "
                 "has NVLink peer access (a GPU that left the fabric rejoins it when the fabric "
                 "manager restarts)",
                 g->phys_id, pci, health_word(was));
}

static void log_switch_change(const ofm_switch_status_entry *s, ofm_switch_status was)
{
    char pci[48];
    ofm_pci_bus_id_long(s->pci_bdf, pci, sizeof pci);
    if (s->status != OFM_SW_OK)
        OFM_ERR("NVSwitch %u (pci bus id %s, UUID %s) is %s at run time (was %s): traffic over its "
                "NVLinks is lost, and routes are not re-planned at run time (the HA failure modes "
                "of FM §9 apply at start-up); recovery: stop the jobs on the affected GPUs, reset "
                "all GPUs and NVSwitches (or reboot), then restart the fabric manager",
                s->id, pci, s->uuid[0] ? s->uuid : "unknown",
                ofm_switch_status_name(s->status), ofm_switch_status_name(was));
    else
        OFM_INFO("NVSwitch %u (pci bus id %s) reports OK again (was %s); 'fmctl audit' shows "
                 "whether its routing is intact (restart the fabric manager if not)",
                 s->id, pci, ofm_switch_status_name(was));
}

void ofm_eventlog_track(ofm_daemon *d)
{
    const ofm_fabric_status *st = &d->status;
    static ofm_pm_entry pe[OFM_PM_MAX_PARTITIONS];
    size_t np = d->pm ? ofm_pm_entries(d->pm, pe, OFM_PM_MAX_PARTITIONS) : 0;
    np = np > OFM_PM_MAX_PARTITIONS ? OFM_PM_MAX_PARTITIONS : np;
    if (snap.valid) {
        if (st->state != snap.state)
            ofm_eventlog_add(OFM_EV_FM_STATE, 0, -1, -1, -1, -1, st->state == OFM_SYS_DEGRADED,
                             "fabric manager %s -> %s: %s", ofm_system_state_name(snap.state),
                             ofm_system_state_name(st->state), st->message);
        for (size_t i = 0; i < st->ngpus && i < OFM_MAX_GPUS; i++) {
            const ofm_gpu_status *g = &st->gpus[i];
            if (g->health != snap.gpu[i].health) {
                ofm_eventlog_add(OFM_EV_GPU_STATE, 0, (int32_t)g->phys_id, -1, -1, -1, false,
                                 "GPU %u: device %s -> %s", g->phys_id,
                                 health_word(snap.gpu[i].health), health_word(g->health));
                log_gpu_change(g, snap.gpu[i].health);
            }
            if (g->links_usable != snap.gpu[i].usable)
                ofm_eventlog_add(OFM_EV_GPU_STATE, 0, (int32_t)g->phys_id, -1, -1, -1, false,
                                 "GPU %u: NVLinks usable %u -> %u of %u", g->phys_id,
                                 snap.gpu[i].usable, g->links_usable, g->links_expected);
            if (g->mig != snap.gpu[i].mig)
                ofm_eventlog_add(OFM_EV_GPU_STATE, 0, (int32_t)g->phys_id, -1, -1, -1, false,
                                 "GPU %u: MIG mode %s -> %s", g->phys_id,
                                 ofm_gpu_mig_name(snap.gpu[i].mig), ofm_gpu_mig_name(g->mig));
        }
        for (size_t i = 0; i < st->nswitches && i < OFM_MAX_SWITCHES; i++)
            if (st->switches[i].status != snap.sw[i]) {
                ofm_eventlog_add(OFM_EV_SWITCH_STATE, 0, -1, (int32_t)st->switches[i].id, -1, -1,
                                 false, "NVSwitch %u: %s -> %s", st->switches[i].id,
                                 ofm_switch_status_name(snap.sw[i]),
                                 ofm_switch_status_name(st->switches[i].status));
                log_switch_change(&st->switches[i], snap.sw[i]);
            }
        for (size_t i = 0; i < np; i++) {
            /* by ID: defining or deleting a partition moves the others in the table */
            bool was = false;
            for (size_t k = 0; k < snap.np; k++)
                if (snap.pid[k] == pe[i].id)
                    was = snap.pactive[k];
            if (pe[i].active == was)
                continue;
            char gpus[128] = "";
            size_t used = 0;
            for (uint32_t k = 0; k < pe[i].ngpus && used < sizeof gpus; k++)
                used += (size_t)snprintf(gpus + used, sizeof gpus - used, "%s%u", k ? ", " : "",
                                         pe[i].gpus[k]);
            ofm_eventlog_add(pe[i].active ? OFM_EV_PARTITION_ACTIVATED : OFM_EV_PARTITION_DEACTIVATED,
                             0, -1, -1, -1, (int32_t)pe[i].id, false, "partition %u %s (GPUs %s)",
                             pe[i].id, pe[i].active ? "activated" : "deactivated", gpus);
        }
    }
    snap.valid = true;
    snap.state = st->state;
    for (size_t i = 0; i < st->ngpus && i < OFM_MAX_GPUS; i++) {
        snap.gpu[i].health = st->gpus[i].health;
        snap.gpu[i].usable = st->gpus[i].links_usable;
        snap.gpu[i].mig = st->gpus[i].mig;
    }
    for (size_t i = 0; i < st->nswitches && i < OFM_MAX_SWITCHES; i++)
        snap.sw[i] = st->switches[i].status;
    snap.np = np;
    for (size_t i = 0; i < np; i++) {
        snap.pid[i] = pe[i].id;
        snap.pactive[i] = pe[i].active;
    }
}

/* ---------------------------------------------------------------- start */

void ofm_eventlog_startup(ofm_daemon *d)
{
    const ofm_fabric_status *st = &d->status;
    ofm_eventlog_add(OFM_EV_FM_STATE, 0, -1, -1, -1, -1, st->state != OFM_SYS_READY,
                     "fabric manager started: %s on %s: %s", ofm_system_state_name(st->state),
                     st->platform, st->message);
    for (size_t i = 0; i < st->ngpus && i < OFM_MAX_GPUS; i++) {
        const ofm_gpu_status *g = &st->gpus[i];
        if (g->excluded)
            ofm_eventlog_add(OFM_EV_GPU_STATE, 0, (int32_t)g->phys_id, -1, -1, -1, false,
                             "GPU %u: excluded by the driver (NVreg_ExcludedGpus) at start; not "
                             "in the fabric", g->phys_id);
        else if (g->health != OFM_DEV_OK)
            ofm_eventlog_add(OFM_EV_GPU_STATE, 0, (int32_t)g->phys_id, -1, -1, -1, false,
                             "GPU %u: device %s at start; not in the fabric", g->phys_id,
                             health_word(g->health));
    }
    for (size_t i = 0; i < st->nswitches && i < OFM_MAX_SWITCHES; i++) {
        const ofm_switch_status_entry *s = &st->switches[i];
        if (s->status == OFM_SW_OK)
            continue;
        ofm_eventlog_add(OFM_EV_SWITCH_STATE, 0, -1, (int32_t)s->id, -1, -1, false,
                         "NVSwitch %u: %s at start%s", s->id, ofm_switch_status_name(s->status),
                         s->excluded ? " (excluded by the driver, NvSwitchExcludelist)" : "");
    }
}
