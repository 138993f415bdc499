/* libFuzzer target for the SDK wire codec: the frame header decoder and
 * both message decoders, as the daemon and the library meet them on an
 * untrusted socket. A decoded request must re-encode and decode to the
 * same request. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/wire.h"

static void round_trip(const ofm_wire_request *rq)
{
    uint8_t *frame = NULL;
    size_t len = 0;
    if (ofm_wire_encode_request(rq, &frame, &len, NULL) != 0)
        return; /* e.g. an op with no encoding: fine */
    ofm_wire_request again;
    if (ofm_wire_decode_request(frame + OFM_WIRE_HEADER_LEN, len - OFM_WIRE_HEADER_LEN, &again,
                                NULL) != 0)
        abort();
    if (again.op != rq->op || again.request_id != rq->request_id ||
        again.partition_id != rq->partition_id || again.num_vfs != rq->num_vfs ||
        again.num_ids != rq->num_ids || again.has_id != rq->has_id ||
        again.num_gpus != rq->num_gpus ||
        memcmp(again.gpus, rq->gpus, rq->num_gpus * sizeof rq->gpus[0]) != 0 ||
        memcmp(again.vfs, rq->vfs, rq->num_vfs * sizeof rq->vfs[0]) != 0 ||
        memcmp(again.ids, rq->ids, rq->num_ids * sizeof rq->ids[0]) != 0)
        abort();
    free(frame);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size >= OFM_WIRE_HEADER_LEN) {
        ofm_wire_header h;
        (void)ofm_wire_header_decode(data, 0, OFM_WIRE_MAX_REQUEST, &h);
        (void)ofm_wire_header_decode(data, OFM_WIRE_FLAG_REPLY, OFM_WIRE_MAX_REPLY, &h);
    }

    ofm_wire_request rq;
    if (ofm_wire_decode_request(data, size, &rq, NULL) == 0 && rq.op != OFM_OP_NONE)
        round_trip(&rq);

    /* Replies: the first byte picks which call the client was waiting on. */
    static fmFabricPartitionList_t partitions;
    static fmNvlinkFailedDevices_t failed;
    static fmUnsupportedFabricPartitionList_t unsupported;
    static ofm_wire_events events;
    static ofm_wire_partition_defs defs;
    if (size == 0)
        return 0;
    ofm_wire_op op = (ofm_wire_op)(data[0] % (OFM_OP_DEACTIVATE_ANY + 1));
    ofm_wire_reply rp = {.partitions = &partitions, .failed = &failed,
                         .unsupported = &unsupported, .events = &events, .defs = &defs};
    (void)ofm_wire_decode_reply(data + 1, size - 1, op, &rp, NULL);
    free(rp.json);
    return 0;
}
