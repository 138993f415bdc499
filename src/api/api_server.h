/*
 * The daemon side of the SDK: listens on TCP or a Unix socket, reads framed
 * requests (src/wire), calls one handler per request and writes the reply.
 *
 * Threading: the server lives on the caller's libevent event_base and does
 * all its work in that loop's thread. Handlers are therefore never called
 * concurrently and may use daemon state without locking; they must not block
 * for long, because every other client waits while one runs.
 *
 * The server is deliberately dumb: it checks framing, limits and struct
 * version words, then passes the request on. Whether a call is allowed right
 * now (e.g. FM_ST_NOT_CONFIGURED while the fabric initialises, or
 * FM_ST_NOT_SUPPORTED in bare-metal mode) is the handler's return value.
 * A NULL handler answers FM_ST_NOT_SUPPORTED.
 */
#ifndef OPENFM_API_SERVER_H
#define OPENFM_API_SERVER_H

#include <stdint.h>

#include "nv_fm_types.h"
#include "openfm/error.h"
#include "wire/wire.h"

struct event_base;

/* Output structures arrive zeroed with their version word already set; a
 * handler fills the counts and entries. A handler that reports counts above
 * the structure's array sizes gets its reply replaced by
 * FM_ST_GENERIC_ERROR, and the server logs why. */
typedef struct ofm_api_handlers {
    fmReturn_t (*get_supported)(void *ctx, fmFabricPartitionList_t *out);
    fmReturn_t (*activate)(void *ctx, fmFabricPartitionId_t id);
    /* vfs has n entries, n <= FM_MAX_NUM_GPUS, in the client's order. */
    fmReturn_t (*activate_with_vfs)(void *ctx, fmFabricPartitionId_t id,
                                    const fmPciDevice_t *vfs, unsigned n);
    fmReturn_t (*deactivate)(void *ctx, fmFabricPartitionId_t id);
    fmReturn_t (*set_activated)(void *ctx, const fmActivatedFabricPartitionList_t *list);
    fmReturn_t (*get_nvlink_failed_devices)(void *ctx, fmNvlinkFailedDevices_t *out);
    fmReturn_t (*get_unsupported)(void *ctx, fmUnsupportedFabricPartitionList_t *out);
    /* openfm extension for tools: *json is a malloc'd NUL-terminated string
     * the server frees after sending (at most OFM_WIRE_MAX_JSON bytes). */
    fmReturn_t (*get_status_json)(void *ctx, char **json);
    /* openfm extension (fmctl events): up to `max` logged events with a
     * sequence number above `after_seq`, oldest first. */
    fmReturn_t (*get_events)(void *ctx, uint64_t after_seq, unsigned max, ofm_wire_events *out);
    /* openfm extensions: partitions defined live (nvfm_ext.h). A refusal's
     * reason goes to `why` (cap bytes, OFM_WIRE_DETAIL_LEN) and travels in
     * the reply. gpus has n <= OFM_WIRE_MAX_PARTITION_GPUS entries. */
    fmReturn_t (*define_partition)(void *ctx, const uint32_t *gpus, unsigned n, int has_id,
                                   fmFabricPartitionId_t id, fmFabricPartitionId_t *new_id,
                                   char *why, size_t cap);
    fmReturn_t (*delete_partition)(void *ctx, fmFabricPartitionId_t id, char *why, size_t cap);
    fmReturn_t (*list_definitions)(void *ctx, ofm_wire_partition_defs *out);
    /* activate / deactivate any partition, also those the public
     * structures cannot hold */
    fmReturn_t (*activate_any)(void *ctx, fmFabricPartitionId_t id);
    fmReturn_t (*deactivate_any)(void *ctx, fmFabricPartitionId_t id);
} ofm_api_handlers;

typedef struct ofm_api_listen {
    /* Unix socket path; when non-empty it is used instead of TCP. A stale
     * socket file is removed; the new one gets mode 0660 and, with an
     * admin group, that group. */
    const char *unix_path;
    /* IPv4 dotted quad to bind (FM_CMD_BIND_INTERFACE); NULL = 127.0.0.1. */
    const char *bind_addr;
    /* TCP port (FM_CMD_PORT_NUMBER); 0 picks a free port, see
     * ofm_api_server_port(). */
    uint16_t port;
    /* Concurrent connections. At the limit a new connection first evicts an
     * idle one (no partial request, no unsent reply), preferring the peer
     * (uid) holding the most connections, then the longest idle; when none
     * is idle the new one is closed at once with a log line. 0 = default
     * (64). */
    unsigned max_clients;
    /* A client that starts a frame must finish it within this many ms of its
     * first byte, however it trickles the rest, or is disconnected. 0 =
     * default (10000). */
    unsigned frame_timeout_ms;
    /* A client that sends nothing for this long between frames is
     * disconnected. 0 = never (SDK handles are long-lived; eviction at the
     * limit already keeps idle clients from locking others out). */
    unsigned idle_timeout_ms;
    /* Mutating calls (activate, activate with VFs, deactivate, set
     * activated, and the extensions that define, delete, activate or
     * deactivate partitions) are answered FM_ST_NOT_SUPPORTED unless the peer is root
     * or, when admin_gid > 0, a member of that group. Read-only calls are
     * open to every peer. */
    long admin_gid;
    /* 0: a bind address outside 127.0.0.0/8 is refused; 1: allowed, remote
     * peers (no identity) may only read; 2: remote peers may also change
     * partitions (a fenced management network). */
    unsigned allow_remote;
} ofm_api_listen;

typedef struct ofm_api_server ofm_api_server;

/* Starts listening. On failure returns -1 with err naming the address and
 * the reason (a port in use names the process holding it where /proc shows
 * it). If SIGPIPE still has its default action it
 * is set to ignored: a client vanishing while its reply is written must
 * cost that connection, not the daemon. */
int ofm_api_server_start(struct event_base *base, const ofm_api_listen *listen,
                         const ofm_api_handlers *handlers, void *ctx,
                         ofm_api_server **out, ofm_error *err);

/* TCP port actually bound (useful with port 0); 0 for a Unix socket. */
uint16_t ofm_api_server_port(const ofm_api_server *srv);

/* Number of connected clients (for status output). */
unsigned ofm_api_server_clients(const ofm_api_server *srv);

/* Closes the listener and every client connection, removes the Unix socket
 * file, frees the server. Must run in the loop's thread (or after the loop
 * has stopped), and not from inside a handler. NULL is ignored. */
void ofm_api_server_stop(ofm_api_server *srv);

#endif
