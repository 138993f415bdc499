/* SDK requests -> partition manager, with the mode rules of FM §5/§13.2:
 * bare metal answers NOT_SUPPORTED; until the partition manager exists the
 * answer is NOT_CONFIGURED. Also the resiliency timer after --restart. */
#include <grp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "daemon/eventlog.h"
#include "daemon/live_status.h"
#include "daemon/status_doc.h"
#include "openfm/log.h"
#include "partition/partition_mgr.h"

_Static_assert(OFM_WIRE_MAX_PARTITION_GPUS == OFM_MAX_GPUS, "a wire partition holds every GPU");
_Static_assert(OFM_WIRE_MAX_DEFINITIONS == OFM_PM_MAX_PARTITIONS, "the wire list holds the table");

static struct event *restart_timer;

static fmReturn_t gate(ofm_daemon *d)
{
    if (d->cfg.fabric_mode == 0)
        return FM_ST_NOT_SUPPORTED;
    if (!d->pm)
        return FM_ST_NOT_CONFIGURED;
    return FM_ST_SUCCESS;
}

#define GATE(d)                                                                                    \
    do {                                                                                           \
        fmReturn_t g_ = gate(d);                                                                   \
        if (g_ != FM_ST_SUCCESS)                                                                   \
            return g_;                                                                             \
    } while (0)

static fmReturn_t h_supported(void *ctx, fmFabricPartitionList_t *out)
{
    GATE((ofm_daemon *)ctx);
    return ofm_pm_get_supported(((ofm_daemon *)ctx)->pm, out);
}

static void changed(ofm_daemon *d, fmReturn_t rc)
{
    if (rc == FM_ST_SUCCESS)
        ofm_daemon_partitions_changed(d);
}

static fmReturn_t h_activate(void *ctx, fmFabricPartitionId_t id)
{
    ofm_daemon *d = ctx;
    GATE(d);
    fmReturn_t rc = ofm_pm_activate(d->pm, id, NULL, 0);
    changed(d, rc);
    return rc;
}

static fmReturn_t h_activate_vfs(void *ctx, fmFabricPartitionId_t id, const fmPciDevice_t *vfs, unsigned n)
{
    ofm_daemon *d = ctx;
    GATE(d);
    if (d->cfg.fabric_mode != 2)
        return FM_ST_NOT_SUPPORTED; /* VFs exist only in vGPU mode */
    fmReturn_t rc = ofm_pm_activate(d->pm, id, vfs, n);
    changed(d, rc);
    return rc;
}

static fmReturn_t h_deactivate(void *ctx, fmFabricPartitionId_t id)
{
    ofm_daemon *d = ctx;
    GATE(d);
    fmReturn_t rc = ofm_pm_deactivate(d->pm, id);
    changed(d, rc);
    return rc;
}

static fmReturn_t h_set_activated(void *ctx, const fmActivatedFabricPartitionList_t *l)
{
    ofm_daemon *d = ctx;
    GATE(d);
    fmReturn_t rc = ofm_pm_set_activated(d->pm, l);
    if (rc == FM_ST_SUCCESS && restart_timer) {
        event_free(restart_timer);
        restart_timer = NULL;
    }
    changed(d, rc);
    return rc;
}

static fmReturn_t h_failed(void *ctx, fmNvlinkFailedDevices_t *out)
{
    GATE((ofm_daemon *)ctx);
    return ofm_pm_failed_devices(((ofm_daemon *)ctx)->pm, out);
}

static fmReturn_t h_unsupported(void *ctx, fmUnsupportedFabricPartitionList_t *out)
{
    GATE((ofm_daemon *)ctx);
    return ofm_pm_unsupported(((ofm_daemon *)ctx)->pm, out);
}

/* Why a partition call cannot be served at all, for the reply's reason. */
static fmReturn_t gate_why(ofm_daemon *d, char *why, size_t cap)
{
    fmReturn_t g = gate(d);
    if (g == FM_ST_NOT_SUPPORTED)
        snprintf(why, cap, "partitions exist only in shared NVSwitch and vGPU modes (FABRIC_MODE=1 "
                 "or 2); this fabric manager runs in bare-metal mode");
    else if (g != FM_ST_SUCCESS)
        snprintf(why, cap, "the fabric is not initialised (yet): no partition manager");
    return g;
}

static fmReturn_t h_define(void *ctx, const uint32_t *gpus, unsigned n, int has_id,
                           fmFabricPartitionId_t id, fmFabricPartitionId_t *new_id, char *why,
                           size_t cap)
{
    ofm_daemon *d = ctx;
    fmReturn_t rc = gate_why(d, why, cap);
    if (rc != FM_ST_SUCCESS)
        return rc;
    unsigned nid = 0;
    rc = ofm_pm_define(d->pm, gpus, n, has_id != 0, id, &nid, why, cap);
    if (rc == FM_ST_SUCCESS)
        *new_id = nid;
    else
        OFM_WARN("partition definition refused (return code %d): %s", (int)rc, why);
    changed(d, rc);
    return rc;
}

static fmReturn_t h_delete(void *ctx, fmFabricPartitionId_t id, char *why, size_t cap)
{
    ofm_daemon *d = ctx;
    fmReturn_t rc = gate_why(d, why, cap);
    if (rc != FM_ST_SUCCESS)
        return rc;
    rc = ofm_pm_undefine(d->pm, id, why, cap);
    if (rc != FM_ST_SUCCESS)
        OFM_WARN("deletion of partition %u refused (return code %d): %s", id, (int)rc, why);
    changed(d, rc);
    return rc;
}

static fmReturn_t h_list_defs(void *ctx, ofm_wire_partition_defs *out)
{
    ofm_daemon *d = ctx;
    GATE(d);
    static ofm_pm_def defs[OFM_PM_MAX_PARTITIONS];
    size_t n = 0;
    fmReturn_t rc = ofm_pm_definitions(d->pm, defs, OFM_PM_MAX_PARTITIONS, &n);
    if (rc != FM_ST_SUCCESS)
        return rc;
    out->n = 0;
    for (size_t i = 0; i < n && i < OFM_WIRE_MAX_DEFINITIONS; i++) {
        ofm_wire_partition_def *w = &out->def[out->n++];
        w->id = defs[i].desc.id;
        w->ngpus = defs[i].desc.ngpus <= OFM_WIRE_MAX_PARTITION_GPUS ? defs[i].desc.ngpus
                                                                     : OFM_WIRE_MAX_PARTITION_GPUS;
        memcpy(w->gpus, defs[i].desc.gpus, w->ngpus * sizeof w->gpus[0]);
        w->nvlinks_per_gpu = defs[i].desc.nvlinks_per_gpu;
        w->live = defs[i].live;
        w->supported = defs[i].supported;
        w->active = defs[i].active;
        w->public_view = defs[i].public_view;
    }
    return FM_ST_SUCCESS;
}

static fmReturn_t h_activate_any(void *ctx, fmFabricPartitionId_t id)
{
    ofm_daemon *d = ctx;
    GATE(d);
    fmReturn_t rc = ofm_pm_activate_any(d->pm, id, NULL, 0);
    changed(d, rc);
    return rc;
}

static fmReturn_t h_deactivate_any(void *ctx, fmFabricPartitionId_t id)
{
    ofm_daemon *d = ctx;
    GATE(d);
    fmReturn_t rc = ofm_pm_deactivate_any(d->pm, id);
    changed(d, rc);
    return rc;
}

static fmReturn_t h_status(void *ctx, char **json)
{
    *json = ofm_daemon_status_json(ctx, true, true); /* compact: the wire's JSON limit */
    return *json ? FM_ST_SUCCESS : FM_ST_GENERIC_ERROR;
}

static const ofm_api_handlers handlers = {
    .get_supported = h_supported,
    .activate = h_activate,
    .activate_with_vfs = h_activate_vfs,
    .deactivate = h_deactivate,
    .set_activated = h_set_activated,
    .get_nvlink_failed_devices = h_failed,
    .get_unsupported = h_unsupported,
    .get_status_json = h_status,
    .get_events = ofm_eventlog_get,
    .define_partition = h_define,
    .delete_partition = h_delete,
    .list_definitions = h_list_defs,
    .activate_any = h_activate_any,
    .deactivate_any = h_deactivate_any,
};

static void on_restart_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    ofm_daemon *d = arg;
    if (!d->pm || !ofm_pm_awaiting_restart_list(d->pm))
        return;
    OFM_CRIT("resiliency restart: the hypervisor did not call fmSetActivatedFabricPartitions within "
             "%ld s; exiting. Restart the fabric manager (with --restart to try again, or without it "
             "to reinitialise, which disrupts running partitions)",
             d->cfg.restart_timeout_s);
    d->exit_code = 1;
    event_base_loopbreak(d->base);
}

/* OPENFM_API_ADMIN_GROUP: a group name or a numeric gid; "" = root only. */
static int admin_gid(const char *v, long *gid)
{
    *gid = -1;
    if (!v[0])
        return 0;
    char *end;
    long n = strtol(v, &end, 10);
    if (!*end && n > 0 && n < 0x7fffffffL) {
        *gid = n;
        return 0;
    }
    struct group gr, *grp = NULL;
    char buf[4096];
    if (getgrnam_r(v, &gr, buf, sizeof buf, &grp) != 0 || !grp) {
        OFM_CRIT("OPENFM_API_ADMIN_GROUP '%s': no such group (give a group name from the group "
                 "database or a numeric gid)", v);
        return -1;
    }
    *gid = (long)grp->gr_gid;
    return 0;
}

int ofm_daemon_api_start(ofm_daemon *d)
{
    long gid;
    if (admin_gid(d->cfg.api_admin_group, &gid))
        return -1;
    if (d->cfg.fabric_mode != 0 && d->status.state == OFM_SYS_READY) {
        ofm_pm_opts o = {.hal = d->hal, .fctx = d->fctx, .state_file = d->cfg.state_file_name,
                         .restart = d->restart};
        ofm_error err;
        if (ofm_pm_create(&o, &d->pm, &err)) {
            char b[700];
            OFM_CRIT("%s", ofm_error_format(&err, b, sizeof b));
            return -1;
        }
        if (d->restart) {
            struct timeval tv = {d->cfg.restart_timeout_s, 0};
            restart_timer = evtimer_new(d->base, on_restart_timeout, d);
            evtimer_add(restart_timer, &tv);
        }
    }
    ofm_api_listen l = {
        .unix_path = d->cfg.fm_cmd_unix_socket_path[0] ? d->cfg.fm_cmd_unix_socket_path : NULL,
        .bind_addr = d->cfg.fm_cmd_bind_interface,
        .port = (uint16_t)d->cfg.fm_cmd_port_number,
        .idle_timeout_ms = (unsigned)d->cfg.api_idle_timeout_s * 1000u,
        .admin_gid = gid,
        .allow_remote = (unsigned)d->cfg.api_allow_remote,
    };
    ofm_error err;
    if (ofm_api_server_start(d->base, &l, ofm_metrics_instrument(&handlers, &d->metrics_stats), d,
                             &d->api, &err)) {
        char b[700];
        OFM_CRIT("cannot start the SDK API server: %s", ofm_error_format(&err, b, sizeof b));
        return -1;
    }
    return 0; /* the server logs where it listens */
}

void ofm_daemon_api_stop(ofm_daemon *d)
{
    if (restart_timer) {
        event_free(restart_timer);
        restart_timer = NULL;
    }
    ofm_api_server_stop(d->api);
    d->api = NULL;
    ofm_pm_destroy(d->pm);
    d->pm = NULL;
}

static size_t q_on_port(void *arg, uint32_t sw, uint32_t port, uint32_t *ids, size_t cap)
{
    ofm_daemon *d = arg;
    return d->pm ? ofm_pm_partitions_on_port(d->pm, sw, port, ids, cap) : 0;
}

static size_t q_with_gpu(void *arg, uint32_t gpu, uint32_t *ids, size_t cap)
{
    ofm_daemon *d = arg;
    return d->pm ? ofm_pm_partitions_with_gpu(d->pm, gpu, ids, cap) : 0;
}

void ofm_daemon_monitor_partitions(ofm_daemon *d)
{
    d->monitor.parts = (ofm_partition_query){.arg = d, .on_port = q_on_port, .with_gpu = q_with_gpu};
}
