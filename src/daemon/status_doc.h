/* The daemon's status document: what `fmctl status` and the SDK's status
 * extension show. JSON, written atomically so readers never see half a file. */
#ifndef OPENFM_DAEMON_STATUS_DOC_H
#define OPENFM_DAEMON_STATUS_DOC_H

#include <sys/types.h>

#include "manager/manager.h"

/* Caller frees the result with free(). `extra` (may be NULL) is a JSON object
 * string merged in under "partitions". */
char *ofm_status_json(const ofm_fabric_status *st, pid_t pid, const char *driver,
                      const char *backend_spec, const char *emu_dir,
                      const char *partitions_json);
/* Write to path via temp + rename. Returns 0 or -1 (errno set). */
int ofm_status_write(const char *path, const char *json);

#endif
