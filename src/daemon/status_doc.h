/* The daemon's status document: the typed ofm_status_doc (src/status)
 * assembled from the live fabric status and the partition manager, written
 * atomically to the status file and served over the SDK socket. */
#ifndef OPENFM_DAEMON_STATUS_DOC_H
#define OPENFM_DAEMON_STATUS_DOC_H

#include <stdbool.h>

struct ofm_daemon;

/* The status document as JSON (malloc'd; NULL when out of memory). */
char *ofm_daemon_status_json(struct ofm_daemon *d);
/* Re-read the live state from the backend (links, health, MIG, fabric
 * registration) and the partition table; when anything changed, publish
 * the status file. Returns true when something changed. */
bool ofm_daemon_refresh(struct ofm_daemon *d);
/* Write to path via temp + rename. Returns 0 or -1 (errno set). */
int ofm_status_write(const char *path, const char *json);

#endif
