/* The daemon's status document: what `fmctl status` and the SDK's status
 * extension show. JSON, written atomically so readers never see half a file. */
#ifndef OPENFM_DAEMON_STATUS_DOC_H
#define OPENFM_DAEMON_STATUS_DOC_H

#include <sys/types.h>

#include "manager/manager.h"
#include "openfm/error.h"

/* Caller frees the result with free(). `partitions_json` (may be NULL) is a
 * JSON array string merged in under "partitions"; `status_file_error` (may be
 * NULL) says why the status document on disk is stale. */
char *ofm_status_json(const ofm_fabric_status *st, pid_t pid, const char *driver,
                      const char *backend_spec, const char *emu_dir,
                      const char *partitions_json, const char *status_file_error);
/* Write to path via temp + rename. Returns 0, or -1 with err naming the file,
 * the step that failed and the system error. */
int ofm_status_write(const char *path, const char *json, ofm_error *err);

#endif
