/* See telemetry.h. */
#include "daemon/telemetry.h"

#include <stdlib.h>
#include <string.h>

#include "daemon/daemon.h"
#include "daemon/eventlog.h"
#include "openfm/log.h"

static void read_switch(ofm_daemon *d, size_t i)
{
    ofm_telemetry_table *tb = d->telemetry;
    ofm_hal_switch_telemetry t;
    int rc = d->hal->ops->switch_telemetry(d->hal, tb->id[i], &t);
    if (rc == OFM_HAL_OK) {
        tb->t[i] = t;
        tb->have[i] = true;
    } else if (rc != OFM_HAL_ENOTSUP) {
        /* keep the last good reading: a counter never goes back */
        OFM_WARN("cannot read the telemetry counters of NVSwitch %u: %s", tb->id[i],
                 ofm_hal_last_error(d->hal));
    }
}

void ofm_daemon_telemetry_init(ofm_daemon *d)
{
    if (!d->fctx || !d->hal || !d->hal->ops->switch_telemetry)
        return;
    const ofm_platform *p = &d->fctx->platform;
    if (!ofm_platform_sm_managed(p))
        return;
    if (!d->telemetry && !(d->telemetry = calloc(1, sizeof *d->telemetry))) {
        OFM_ERR("out of memory for the switch telemetry table");
        return;
    }
    ofm_telemetry_table *tb = d->telemetry;
    tb->n = p->nswitches;
    for (size_t i = 0; i < p->nswitches; i++) {
        tb->id[i] = p->switches[i].id;
        if (p->switches[i].gen >= OFM_SWITCH_GEN4)
            read_switch(d, i);
    }
}

void ofm_daemon_on_hal_event(void *arg, const ofm_hal_event *e, const ofm_fabric_error *rec)
{
    ofm_daemon *d = arg;
    if (e->kind == OFM_EVT_SWITCH_ERROR && d->telemetry)
        for (size_t i = 0; i < d->telemetry->n; i++)
            if (d->telemetry->id[i] == e->sw)
                read_switch(d, i);
    ofm_eventlog_on_hal_event(arg, e, rec);
}
