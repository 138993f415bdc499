/* The daemon's part of a GPU reset (FM §13.9): after each live refresh, the
 * GPUs whose switch-side links a reset took down (A100-class systems) get
 * those links reset and retrained by src/manager/relink.c; this file says
 * so in the log and the event log, counts it in the status, and publishes
 * the state the retraining produced. */
#include "daemon/gpu_reset.h"

#include "daemon/daemon.h"
#include "daemon/eventlog.h"
#include "daemon/live_status.h"
#include "openfm/log.h"

static void report(ofm_daemon *d, const ofm_relink_result *r)
{
    const ofm_platform *p = &d->fctx->platform;
    int gi = ofm_fabric_gpu_index(p, r->gpu);
    if (gi < 0 || (size_t)gi >= d->status.ngpus)
        return;
    ofm_gpu_status *g = &d->status.gpus[gi];
    g->link_retrains++;
    /* one link-up event per port that trained, as the hardware would
     * report it, then the summary */
    for (size_t a = 0; a < p->naccess; a++) {
        ofm_hal_link l;
        if (p->access[a].gpu != r->gpu ||
            d->hal->ops->switch_port(d->hal, p->access[a].sw, p->access[a].sw_port, &l) != OFM_HAL_OK ||
            l.state != OFM_LINK_ACTIVE)
            continue;
        ofm_eventlog_add(OFM_EV_LINK_UP, 0, (int32_t)r->gpu, (int32_t)p->access[a].sw,
                         (int32_t)p->access[a].sw_port, -1, false,
                         "NVLink up: NVSwitch %u port %u (access link to GPU %u link %u; retrained "
                         "after a GPU reset)", p->access[a].sw, p->access[a].sw_port, r->gpu,
                         p->access[a].gpu_link);
    }
    char routes[96] = "";
    if (r->routes)
        snprintf(routes, sizeof routes, ", %zu routing entries written back", r->routes);
    if (!r->failed && !r->route_error) {
        OFM_INFO("GPU %u (%s) was reset: its %zu switch-side NVLinks were down; reset and retrained "
                 "%zu of them%s (FM §13.9)", r->gpu, g->uuid, r->ports, r->trained, routes);
        ofm_eventlog_add(OFM_EV_GPU_STATE, 0, (int32_t)r->gpu, -1, -1, -1, false,
                         "GPU %u reset: fabric manager reset and retrained its %zu switch-side "
                         "NVLinks (%zu up)%s", r->gpu, r->ports, r->trained, routes);
    } else {
        ofm_log_alert(OFM_LOG_ERR,
                      "GPU %u (%s) was reset: of its %zu switch-side NVLinks %zu retrained, %zu "
                      "did not%s: %s. Reset all GPUs and NVSwitches connected over NVLink, or "
                      "reboot", r->gpu, g->uuid, r->ports, r->trained, r->failed,
                      r->route_error ? " and its routing entries could not be rewritten" : "",
                      r->why);
        ofm_eventlog_add(OFM_EV_GPU_STATE, 0, (int32_t)r->gpu, -1, -1, -1, true,
                         "GPU %u reset: retraining its switch-side NVLinks failed (%zu of %zu "
                         "up): %.120s", r->gpu, r->trained, r->ports, r->why);
    }
}

void ofm_daemon_gpu_resets(ofm_daemon *d)
{
    if (!d->fctx || !d->hal || !d->status.ngpus)
        return;
    ofm_relink_result res[OFM_MAX_GPUS];
    size_t n = ofm_relink_scan(&d->relink, d->hal, d->fctx, &d->status, res, OFM_MAX_GPUS);
    if (!n)
        return;
    for (size_t i = 0; i < n; i++)
        report(d, &res[i]);
    ofm_fabric_status_touch(&d->status);
    if (!ofm_daemon_refresh(d))
        ofm_daemon_publish_status(d);
}
