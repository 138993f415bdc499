/* Where the daemon's log lines go: a file (append or truncate, size-based
 * rotation keeping N files), syslog, or stderr (LOG_* keys of the guide). */
#ifndef OPENFM_DAEMON_LOGSINK_H
#define OPENFM_DAEMON_LOGSINK_H

#include <stdbool.h>

#include "daemon/config.h"

/* Install the sink described by the config. Returns 0, or -1 after falling
 * back to stderr (the reason is logged). */
int ofm_logsink_setup(const ofm_config *c);
void ofm_logsink_close(void);

#endif
