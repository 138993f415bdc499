/* The daemon's event log (fmctl events): SXid/Xid and NVLink events from
 * the monitor, partition activations, GPU / NVSwitch / fabric manager state
 * changes, each with a sequence number. The last OFM_EVENTLOG_SIZE are
 * retained; a reader asks for what follows its last sequence number, so a
 * follower that reconnects misses nothing still retained. */
#ifndef OPENFM_DAEMON_EVENTLOG_H
#define OPENFM_DAEMON_EVENTLOG_H

#include <stdbool.h>
#include <stdint.h>

#include "manager/manager.h"
#include "nv_fm_types.h"
#include "wire/wire.h"

#define OFM_EVENTLOG_SIZE 1024

struct ofm_daemon;

void ofm_eventlog_add(ofm_wire_event_type t, uint32_t code, int32_t gpu, int32_t sw, int32_t port,
                      int32_t partition, bool fatal, const char *fmt, ...)
    __attribute__((format(printf, 8, 9)));
/* Monitor hook (ofm_monitor.on_event; arg is the daemon). */
void ofm_eventlog_on_hal_event(void *arg, const ofm_hal_event *e, const ofm_fabric_error *rec);
/* Compare the daemon's state with what was last logged and log the
 * differences (fabric manager state, GPU and switch state, partitions). */
void ofm_eventlog_track(struct ofm_daemon *d);
/* At start, once bring-up and the first live refresh are done: the fabric
 * manager's state and every GPU and NVSwitch it started without (excluded
 * by the driver, missing or failed), so the log shows a start and what it
 * began with, not only the changes after it. */
void ofm_eventlog_startup(struct ofm_daemon *d);
/* SDK handler. */
fmReturn_t ofm_eventlog_get(void *ctx, uint64_t after_seq, unsigned max, ofm_wire_events *out);

#endif
