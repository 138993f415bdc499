/* What makes one daemon the only one: the PID file, the SDK's Unix socket and
 * the resiliency state file are each guarded by a flock held for the daemon's
 * life, so a second daemon configured with any of them refuses to start and
 * names the holder, instead of unlinking a live socket or overwriting state.
 * Also the start-up checks that need no lock: the default run-time directory
 * must be private, and a daemon whose log cannot be opened must not detach. */
#ifndef OPENFM_DAEMON_INSTANCE_LOCK_H
#define OPENFM_DAEMON_INSTANCE_LOCK_H

#include "daemon/config.h"
#include "openfm/error.h"

/* Take the lock beside the SDK Unix socket (when one is configured) and beside
 * the state file (FABRIC_MODE 1 and 2). On refusal `err` says which resource,
 * the holder's PID and what to do. Locks stay held until exit. */
int ofm_instance_lock_resources(const ofm_config *c, ofm_error *err);

/* DAEMONIZE=1 sends stderr to /dev/null: a log file that cannot be opened
 * would lose every message. Checked before detaching so the reason reaches the
 * terminal. Returns 0, or -1 with the reason in `err`. */
int ofm_instance_check_log(const ofm_config *c, ofm_error *err);

#endif
