/*
 * SDK wire protocol: framing and message codec shared by libnvfm (client)
 * and the API server (daemon). Specification: docs/wire-protocol.md.
 *
 * A frame is a 12-byte big-endian header
 *     magic(4) "OFMW" | protocol version(2) | flags(2) | payload length(4)
 * followed by a protobuf payload (fm_wire.proto): a Request from client to
 * daemon, a Reply back. Nothing here does I/O.
 */
#ifndef OPENFM_WIRE_H
#define OPENFM_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "nv_fm_types.h"
#include "openfm/error.h"

#define OFM_WIRE_MAGIC 0x4F464D57u /* "OFMW" */
#define OFM_WIRE_VERSION 1u
#define OFM_WIRE_HEADER_LEN 12u
#define OFM_WIRE_FLAG_REPLY 0x0001u
/* Largest request payload the daemon accepts: the biggest legal request
 * (64 partition ids, or 16 VFs) needs well under 1 KiB. */
#define OFM_WIRE_MAX_REQUEST (16u * 1024u)
/* Largest reply payload: a full 64 x 16 GPU partition list with maximal
 * strings encodes to about 140 KiB. */
#define OFM_WIRE_MAX_REPLY (256u * 1024u)
/* Largest status JSON document (openfm extension). */
#define OFM_WIRE_MAX_JSON (192u * 1024u)

typedef enum {
    OFM_WIRE_OK = 0,
    OFM_WIRE_BAD_MAGIC,
    OFM_WIRE_BAD_VERSION,
    OFM_WIRE_BAD_FLAGS,
    OFM_WIRE_TOO_LARGE,
} ofm_wire_status;

typedef struct {
    uint16_t version;
    uint16_t flags;
    uint32_t length;
} ofm_wire_header;

void ofm_wire_header_encode(uint8_t out[OFM_WIRE_HEADER_LEN], uint16_t flags, uint32_t length);
/* Checks magic and version, that flags are exactly `want_flags`, and that
 * length <= max_len. */
ofm_wire_status ofm_wire_header_decode(const uint8_t in[OFM_WIRE_HEADER_LEN], uint16_t want_flags,
                                       uint32_t max_len, ofm_wire_header *h);
const char *ofm_wire_status_str(ofm_wire_status st);

typedef enum {
    OFM_OP_NONE = 0,
    OFM_OP_GET_SUPPORTED,
    OFM_OP_ACTIVATE,
    OFM_OP_ACTIVATE_WITH_VFS,
    OFM_OP_DEACTIVATE,
    OFM_OP_SET_ACTIVATED,
    OFM_OP_GET_NVLINK_FAILED,
    OFM_OP_GET_UNSUPPORTED,
    OFM_OP_GET_STATUS_JSON,
    OFM_OP_GET_EVENTS,
    OFM_OP_DEFINE_PARTITION,  /* openfm extensions: partitions defined live */
    OFM_OP_DELETE_PARTITION,
    OFM_OP_LIST_DEFINITIONS,
    OFM_OP_ACTIVATE_ANY,      /* ... and partitions the public structures cannot hold */
    OFM_OP_DEACTIVATE_ANY,
} ofm_wire_op;

/* openfm extension: the whole partition table (fmctl partition list). */
#define OFM_WIRE_MAX_PARTITION_GPUS 72 /* OFM_MAX_GPUS: a rack of 72 GPUs */
#define OFM_WIRE_MAX_DEFINITIONS 256   /* OFM_PM_MAX_PARTITIONS */
#define OFM_WIRE_DETAIL_LEN 320        /* a refusal's reason */

typedef struct {
    uint32_t id;
    unsigned ngpus;
    uint32_t gpus[OFM_WIRE_MAX_PARTITION_GPUS]; /* physical IDs, ascending */
    uint32_t nvlinks_per_gpu;
    int live;        /* defined live rather than by the platform's table */
    int supported;
    int active;
    int public_view; /* listed and served by the public SDK calls */
} ofm_wire_partition_def;

typedef struct {
    unsigned n;
    ofm_wire_partition_def def[OFM_WIRE_MAX_DEFINITIONS];
} ofm_wire_partition_defs;

/* openfm extension: one entry of the daemon's event log (fmctl events). */
typedef enum {
    OFM_EV_SXID = 1,
    OFM_EV_XID = 2,
    OFM_EV_LINK_DOWN = 3,
    OFM_EV_LINK_UP = 4,
    OFM_EV_PARTITION_ACTIVATED = 5,
    OFM_EV_PARTITION_DEACTIVATED = 6,
    OFM_EV_GPU_STATE = 7,
    OFM_EV_SWITCH_STATE = 8,
    OFM_EV_FM_STATE = 9,
    OFM_EV_SWITCH_ERROR = 10, /* telemetry error counter of a fourth-generation NVSwitch rose */
} ofm_wire_event_type;
#define OFM_EV_TYPE_MAX OFM_EV_SWITCH_ERROR

const char *ofm_wire_event_type_name(ofm_wire_event_type t); /* "SXid", "NVLinkDown", ... */

#define OFM_WIRE_EVENT_TEXT 256
/* Most events one reply carries. */
#define OFM_WIRE_MAX_EVENTS 256

typedef struct {
    uint64_t seq;
    uint64_t time_ns;
    ofm_wire_event_type type;
    uint32_t code;
    int32_t gpu, nvswitch, port, partition; /* -1: not applicable */
    int fatal;
    char text[OFM_WIRE_EVENT_TEXT];
} ofm_wire_event;

typedef struct {
    uint64_t first_seq;  /* oldest retained; 0 when nothing was logged yet */
    uint64_t last_seq;   /* newest logged */
    unsigned n;
    ofm_wire_event ev[OFM_WIRE_MAX_EVENTS];
} ofm_wire_events;

const char *ofm_wire_op_name(ofm_wire_op op);

/* Is `version` a structure version word this implementation understands
 * for `op`? Ops without a structure accept anything. */
int ofm_wire_struct_version_ok(ofm_wire_op op, unsigned int version);

typedef struct {
    uint32_t request_id;
    ofm_wire_op op;
    uint32_t struct_version;
    fmFabricPartitionId_t partition_id;       /* ACTIVATE*, DEACTIVATE */
    unsigned num_vfs;                         /* ACTIVATE_WITH_VFS */
    fmPciDevice_t vfs[FM_MAX_NUM_GPUS];
    unsigned num_ids;                         /* SET_ACTIVATED */
    fmFabricPartitionId_t ids[FM_MAX_FABRIC_PARTITIONS];
    uint64_t after_seq;                       /* GET_EVENTS */
    unsigned max_events;                      /* GET_EVENTS, <= OFM_WIRE_MAX_EVENTS */
    int has_id;                               /* DEFINE_PARTITION: partition_id asked for */
    unsigned num_gpus;                        /* DEFINE_PARTITION */
    uint32_t gpus[OFM_WIRE_MAX_PARTITION_GPUS];
} ofm_wire_request;

/* A reply. Exactly the body matching `op` is used; the pointers belong to
 * the caller. For decoding, set the pointer for the expected op to a
 * zeroed output structure; json is malloc'd by the decoder. */
typedef struct {
    uint32_t request_id;
    ofm_wire_op op;
    fmReturn_t status;
    fmFabricPartitionList_t *partitions;
    fmNvlinkFailedDevices_t *failed;
    fmUnsupportedFabricPartitionList_t *unsupported;
    char *json;
    ofm_wire_events *events;
    fmFabricPartitionId_t defined_id;         /* DEFINE_PARTITION */
    ofm_wire_partition_defs *defs;            /* LIST_DEFINITIONS */
    char detail[OFM_WIRE_DETAIL_LEN];         /* why a call was refused ("" none) */
} ofm_wire_reply;

/* Encode a whole frame (header + payload) into a malloc'd buffer. Counts
 * beyond the SDK arrays are rejected. Returns 0, or -1 with err set. */
int ofm_wire_encode_request(const ofm_wire_request *rq, uint8_t **frame, size_t *len,
                            ofm_error *err);
int ofm_wire_encode_reply(const ofm_wire_reply *rp, uint8_t **frame, size_t *len,
                          ofm_error *err);

/* Decode a payload (without header). Anything undecodable, out of range
 * or inconsistent (counts above limits, over-long strings, no body) is
 * rejected with err saying what. Returns 0 or -1. */
int ofm_wire_decode_request(const uint8_t *payload, size_t len, ofm_wire_request *rq,
                            ofm_error *err);
/* The reply must answer `expect` (its body kind must match). On success
 * rp->status is the daemon's fmReturn_t and the matching output (if the
 * status is FM_ST_SUCCESS) is filled. If rp->request_id is non-zero on
 * entry and the reply carries another id (a late answer to an earlier,
 * timed-out call), only rp->request_id is updated: outputs stay untouched
 * and 0 is returned. */
int ofm_wire_decode_reply(const uint8_t *payload, size_t len, ofm_wire_op expect,
                          ofm_wire_reply *rp, ofm_error *err);

#endif
