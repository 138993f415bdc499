/* Writing the daemon's status document (built by live_status.c, serialised
 * by src/status) atomically, so readers never see half a file. */
#ifndef OPENFM_DAEMON_STATUS_DOC_H
#define OPENFM_DAEMON_STATUS_DOC_H

#include "openfm/error.h"

/* Write to path via temp + rename. Returns 0, or -1 with err naming the file,
 * the step that failed and the system error. */
int ofm_status_write(const char *path, const char *json, ofm_error *err);

#endif
