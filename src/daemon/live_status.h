/* The daemon's live status: the typed ofm_status_doc (src/status) assembled
 * from the fabric status and the partition manager, kept current by
 * re-reading the backend after events. */
#ifndef OPENFM_DAEMON_LIVE_STATUS_H
#define OPENFM_DAEMON_LIVE_STATUS_H

#include <stdbool.h>

struct ofm_daemon;

/* The status document as JSON (malloc'd; NULL when out of memory). The
 * file leaves out why the file itself cannot be written (with_file_error
 * false); the SDK's answer includes it. compact: no layout whitespace (the
 * SDK reply, bounded by OFM_WIRE_MAX_JSON), else pretty-printed (the file). */
char *ofm_daemon_status_json(struct ofm_daemon *d, bool with_file_error, bool compact);
/* The typed document itself (owned by the daemon, valid until the next
 * call); NULL when out of memory. */
struct ofm_status_doc *ofm_daemon_status_doc(struct ofm_daemon *d, bool with_file_error);
/* Re-read the live state from the backend (links, health, MIG, fabric
 * registration) and the partition table; when anything changed, publish
 * the status file. Returns true when something changed. */
bool ofm_daemon_refresh(struct ofm_daemon *d);
/* After a partition change: only the partition table and the GPUs'
 * partitions moved (links, health and registration are what the monitor's
 * refresh follows), so publish without re-reading the backend. This runs
 * before every answer to an activate or deactivate: a full refresh reads
 * every link through the HAL and cost several times the change itself. */
void ofm_daemon_partitions_changed(struct ofm_daemon *d);

#endif
