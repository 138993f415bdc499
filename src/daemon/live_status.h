/* The daemon's live status: the typed ofm_status_doc (src/status) assembled
 * from the fabric status and the partition manager, kept current by
 * re-reading the backend after events. */
#ifndef OPENFM_DAEMON_LIVE_STATUS_H
#define OPENFM_DAEMON_LIVE_STATUS_H

#include <stdbool.h>

struct ofm_daemon;

/* The status document as JSON (malloc'd; NULL when out of memory). The
 * file leaves out why the file itself cannot be written (with_file_error
 * false); the SDK's answer includes it. */
char *ofm_daemon_status_json(struct ofm_daemon *d, bool with_file_error);
/* Re-read the live state from the backend (links, health, MIG, fabric
 * registration) and the partition table; when anything changed, publish
 * the status file. Returns true when something changed. */
bool ofm_daemon_refresh(struct ofm_daemon *d);

#endif
