/* The daemon's copy of the switches' telemetry error counters (fourth-
 * generation NVSwitches, HGX B200, where they replace SXids): read from the
 * backend once the fabric is up and again whenever the monitor sees a
 * counter rise, so /metrics serves them without touching the hardware and
 * shows the same totals `fmctl nvlink errors` reads. */
#ifndef OPENFM_DAEMON_TELEMETRY_H
#define OPENFM_DAEMON_TELEMETRY_H

#include <stdbool.h>
#include <stddef.h>

#include "manager/manager.h"
#include "openfm/hal.h"

typedef struct ofm_telemetry_table {
    size_t n;                                  /* the model's switches, in model order */
    uint32_t id[OFM_MAX_SWITCHES];
    bool have[OFM_MAX_SWITCHES];               /* the switch reports telemetry counters */
    ofm_hal_switch_telemetry t[OFM_MAX_SWITCHES];
} ofm_telemetry_table;

struct ofm_daemon;

/* Read every switch of the model that has telemetry (allocates the table). */
void ofm_daemon_telemetry_init(struct ofm_daemon *d);
/* The monitor's event hook (ofm_monitor.on_event, arg = the daemon): re-read
 * a switch whose counter rose, then hand the event to the event log. */
void ofm_daemon_on_hal_event(void *arg, const ofm_hal_event *e, const ofm_fabric_error *rec);

#endif
