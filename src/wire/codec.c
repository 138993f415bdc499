/* Conversion between the SDK structures and the protobuf messages of
 * fm_wire.proto. Decoding treats the payload as hostile: every count and
 * string length is checked against the SDK array it will land in. */
#include "wire/wire.h"

#include <stdlib.h>
#include <string.h>

#include "fm_wire.pb-c.h"

/* protobuf-c allocates through this, so that an allocation failure while
 * decoding is told apart from a malformed payload (and so that tests which
 * inject allocation failures reach these allocations too). */
static void *pb_alloc(void *data, size_t size)
{
    void *p = malloc(size);
    if (!p)
        *(int *)data = 1;
    return p;
}

static void pb_free(void *data, void *p)
{
    (void)data;
    free(p);
}

#define PB_ALLOCATOR(flag) {.alloc = pb_alloc, .free = pb_free, .allocator_data = &(flag)}

const char *ofm_wire_op_name(ofm_wire_op op)
{
    switch (op) {
    case OFM_OP_NONE: return "none";
    case OFM_OP_GET_SUPPORTED: return "fmGetSupportedFabricPartitions";
    case OFM_OP_ACTIVATE: return "fmActivateFabricPartition";
    case OFM_OP_ACTIVATE_WITH_VFS: return "fmActivateFabricPartitionWithVFs";
    case OFM_OP_DEACTIVATE: return "fmDeactivateFabricPartition";
    case OFM_OP_SET_ACTIVATED: return "fmSetActivatedFabricPartitions";
    case OFM_OP_GET_NVLINK_FAILED: return "fmGetNvlinkFailedDevices";
    case OFM_OP_GET_UNSUPPORTED: return "fmGetUnsupportedFabricPartitions";
    case OFM_OP_GET_STATUS_JSON: return "status";
    case OFM_OP_GET_EVENTS: return "events";
    case OFM_OP_DEFINE_PARTITION: return "ofmCreateFabricPartition";
    case OFM_OP_DELETE_PARTITION: return "ofmDeleteFabricPartition";
    case OFM_OP_LIST_DEFINITIONS: return "ofmListFabricPartitions";
    case OFM_OP_ACTIVATE_ANY: return "ofmActivateFabricPartitionAny";
    case OFM_OP_DEACTIVATE_ANY: return "ofmDeactivateFabricPartitionAny";
    }
    return "unknown";
}

const char *ofm_wire_event_type_name(ofm_wire_event_type t)
{
    switch (t) {
    case OFM_EV_SXID: return "SXid";
    case OFM_EV_XID: return "Xid";
    case OFM_EV_LINK_DOWN: return "NVLinkDown";
    case OFM_EV_LINK_UP: return "NVLinkUp";
    case OFM_EV_PARTITION_ACTIVATED: return "PartitionActivated";
    case OFM_EV_PARTITION_DEACTIVATED: return "PartitionDeactivated";
    case OFM_EV_GPU_STATE: return "GpuState";
    case OFM_EV_SWITCH_STATE: return "SwitchState";
    case OFM_EV_FM_STATE: return "FabricManagerState";
    case OFM_EV_SWITCH_ERROR: return "NVSwitchError";
    }
    return "unknown";
}

int ofm_wire_struct_version_ok(ofm_wire_op op, unsigned int version)
{
    switch (op) {
    case OFM_OP_GET_SUPPORTED:
        /* Same layout; some SDK releases stamp it with layout number 2. */
        return version == fmFabricPartitionList_version2 ||
               version == MAKE_FM_PARAM_VERSION(fmFabricPartitionList_v2, 2);
    case OFM_OP_SET_ACTIVATED:
        return version == fmActivatedFabricPartitionList_version1;
    case OFM_OP_GET_NVLINK_FAILED:
        return version == fmNvlinkFailedDevices_version1;
    case OFM_OP_GET_UNSUPPORTED:
        return version == fmUnsupportedFabricPartitionList_version1;
    default:
        return 1;
    }
}

/* ---- helpers ---------------------------------------------------------- */

static int frame_out(ProtobufCMessage *msg, uint16_t flags, uint32_t max, uint8_t **frame,
                     size_t *len, ofm_error *err)
{
    size_t plen = protobuf_c_message_get_packed_size(msg);
    if (plen > max)
        return ofm_error_set(err, NULL, 0, "message of %zu bytes exceeds the %u-byte protocol limit",
                             plen, max);
    uint8_t *buf = malloc(OFM_WIRE_HEADER_LEN + plen + 1);
    if (!buf)
        return ofm_error_set(err, NULL, 0, "out of memory encoding a %zu-byte message", plen);
    ofm_wire_header_encode(buf, flags, (uint32_t)plen);
    protobuf_c_message_pack(msg, buf + OFM_WIRE_HEADER_LEN);
    *frame = buf;
    *len = OFM_WIRE_HEADER_LEN + plen;
    return 0;
}

/* Copy a fixed SDK char array into NUL-terminated scratch (the source may
 * lack a terminator if a handler filled it completely). */
static char *bounded(char *dst, const char *src, size_t cap)
{
    size_t n = strnlen(src, cap - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
    return dst;
}

static int copy_str(char *dst, size_t cap, const char *src, const char *what, ofm_error *err)
{
    if (!src) {
        dst[0] = '\0';
        return 0;
    }
    size_t n = strlen(src);
    if (n >= cap)
        return ofm_error_set(err, NULL, 0, "%s of %zu bytes exceeds its %zu-byte field", what, n,
                             cap - 1);
    memcpy(dst, src, n + 1);
    return 0;
}

/* ---- requests --------------------------------------------------------- */

int ofm_wire_encode_request(const ofm_wire_request *rq, uint8_t **frame, size_t *len,
                            ofm_error *err)
{
    Ofm__Wire__Request m = OFM__WIRE__REQUEST__INIT;
    Ofm__Wire__Empty empty = OFM__WIRE__EMPTY__INIT;
    Ofm__Wire__PartitionRef ref = OFM__WIRE__PARTITION_REF__INIT;
    Ofm__Wire__ActivateWithVfs awv = OFM__WIRE__ACTIVATE_WITH_VFS__INIT;
    Ofm__Wire__PciDevice pci[FM_MAX_NUM_GPUS];
    Ofm__Wire__PciDevice *pcip[FM_MAX_NUM_GPUS];
    Ofm__Wire__SetActivated sa = OFM__WIRE__SET_ACTIVATED__INIT;
    Ofm__Wire__EventsQuery evq = OFM__WIRE__EVENTS_QUERY__INIT;
    Ofm__Wire__DefinePartition def = OFM__WIRE__DEFINE_PARTITION__INIT;
    uint32_t ids[FM_MAX_FABRIC_PARTITIONS];
    uint32_t gpus[OFM_WIRE_MAX_PARTITION_GPUS];

    m.request_id = rq->request_id;
    m.struct_version = rq->struct_version;
    ref.partition_id = rq->partition_id;
    switch (rq->op) {
    case OFM_OP_GET_SUPPORTED:
        m.body_case = OFM__WIRE__REQUEST__BODY_GET_SUPPORTED;
        m.get_supported = &empty;
        break;
    case OFM_OP_ACTIVATE:
        m.body_case = OFM__WIRE__REQUEST__BODY_ACTIVATE;
        m.activate = &ref;
        break;
    case OFM_OP_DEACTIVATE:
        m.body_case = OFM__WIRE__REQUEST__BODY_DEACTIVATE;
        m.deactivate = &ref;
        break;
    case OFM_OP_ACTIVATE_WITH_VFS:
        if (rq->num_vfs > FM_MAX_NUM_GPUS)
            return ofm_error_set(err, NULL, 0, "%u VFs exceed the limit of %d", rq->num_vfs,
                                 FM_MAX_NUM_GPUS);
        for (unsigned i = 0; i < rq->num_vfs; i++) {
            Ofm__Wire__PciDevice d = OFM__WIRE__PCI_DEVICE__INIT;
            d.domain = rq->vfs[i].domain;
            d.bus = rq->vfs[i].bus;
            d.device = rq->vfs[i].device;
            d.function = rq->vfs[i].function;
            pci[i] = d;
            pcip[i] = &pci[i];
        }
        awv.partition_id = rq->partition_id;
        awv.n_vfs = rq->num_vfs;
        awv.vfs = pcip;
        m.body_case = OFM__WIRE__REQUEST__BODY_ACTIVATE_WITH_VFS;
        m.activate_with_vfs = &awv;
        break;
    case OFM_OP_SET_ACTIVATED:
        if (rq->num_ids > FM_MAX_FABRIC_PARTITIONS)
            return ofm_error_set(err, NULL, 0, "%u partition ids exceed the limit of %d",
                                 rq->num_ids, FM_MAX_FABRIC_PARTITIONS);
        for (unsigned i = 0; i < rq->num_ids; i++)
            ids[i] = rq->ids[i];
        sa.n_partition_ids = rq->num_ids;
        sa.partition_ids = ids;
        m.body_case = OFM__WIRE__REQUEST__BODY_SET_ACTIVATED;
        m.set_activated = &sa;
        break;
    case OFM_OP_GET_NVLINK_FAILED:
        m.body_case = OFM__WIRE__REQUEST__BODY_GET_NVLINK_FAILED;
        m.get_nvlink_failed = &empty;
        break;
    case OFM_OP_GET_UNSUPPORTED:
        m.body_case = OFM__WIRE__REQUEST__BODY_GET_UNSUPPORTED;
        m.get_unsupported = &empty;
        break;
    case OFM_OP_GET_STATUS_JSON:
        m.body_case = OFM__WIRE__REQUEST__BODY_GET_STATUS_JSON;
        m.get_status_json = &empty;
        break;
    case OFM_OP_GET_EVENTS:
        evq.after_seq = rq->after_seq;
        evq.max = rq->max_events;
        m.body_case = OFM__WIRE__REQUEST__BODY_GET_EVENTS;
        m.get_events = &evq;
        break;
    case OFM_OP_DEFINE_PARTITION:
        if (rq->num_gpus > OFM_WIRE_MAX_PARTITION_GPUS)
            return ofm_error_set(err, NULL, 0, "%u GPUs exceed the limit of %d", rq->num_gpus,
                                 OFM_WIRE_MAX_PARTITION_GPUS);
        for (unsigned i = 0; i < rq->num_gpus; i++)
            gpus[i] = rq->gpus[i];
        def.has_id = rq->has_id != 0;
        def.partition_id = rq->partition_id;
        def.n_gpus = rq->num_gpus;
        def.gpus = gpus;
        m.body_case = OFM__WIRE__REQUEST__BODY_DEFINE_PARTITION;
        m.define_partition = &def;
        break;
    case OFM_OP_DELETE_PARTITION:
        m.body_case = OFM__WIRE__REQUEST__BODY_DELETE_PARTITION;
        m.delete_partition = &ref;
        break;
    case OFM_OP_LIST_DEFINITIONS:
        m.body_case = OFM__WIRE__REQUEST__BODY_LIST_DEFINITIONS;
        m.list_definitions = &empty;
        break;
    case OFM_OP_ACTIVATE_ANY:
        m.body_case = OFM__WIRE__REQUEST__BODY_ACTIVATE_ANY;
        m.activate_any = &ref;
        break;
    case OFM_OP_DEACTIVATE_ANY:
        m.body_case = OFM__WIRE__REQUEST__BODY_DEACTIVATE_ANY;
        m.deactivate_any = &ref;
        break;
    default:
        return ofm_error_set(err, NULL, 0, "cannot encode request op %d", (int)rq->op);
    }
    return frame_out(&m.base, 0, OFM_WIRE_MAX_REQUEST, frame, len, err);
}

int ofm_wire_decode_request(const uint8_t *payload, size_t len, ofm_wire_request *rq,
                            ofm_error *err)
{
    int oom = 0;
    ProtobufCAllocator pa = PB_ALLOCATOR(oom);
    Ofm__Wire__Request *m = ofm__wire__request__unpack(&pa, len, payload);
    if (!m)
        return ofm_error_set(err, NULL, 0, oom ? "out of memory decoding a %zu-byte request"
                                               : "request payload of %zu bytes is not a valid "
                                                 "message", len);
    int rc = 0;
    memset(rq, 0, sizeof *rq);
    rq->request_id = m->request_id;
    rq->struct_version = m->struct_version;
    switch (m->body_case) {
    case OFM__WIRE__REQUEST__BODY_GET_SUPPORTED: rq->op = OFM_OP_GET_SUPPORTED; break;
    case OFM__WIRE__REQUEST__BODY_GET_NVLINK_FAILED: rq->op = OFM_OP_GET_NVLINK_FAILED; break;
    case OFM__WIRE__REQUEST__BODY_GET_UNSUPPORTED: rq->op = OFM_OP_GET_UNSUPPORTED; break;
    case OFM__WIRE__REQUEST__BODY_GET_STATUS_JSON: rq->op = OFM_OP_GET_STATUS_JSON; break;
    case OFM__WIRE__REQUEST__BODY_GET_EVENTS:
        rq->op = OFM_OP_GET_EVENTS;
        rq->after_seq = m->get_events->after_seq;
        /* 0 or too many: the daemon's page size */
        rq->max_events = m->get_events->max == 0 || m->get_events->max > OFM_WIRE_MAX_EVENTS
                             ? OFM_WIRE_MAX_EVENTS
                             : m->get_events->max;
        break;
    case OFM__WIRE__REQUEST__BODY_ACTIVATE:
        rq->op = OFM_OP_ACTIVATE;
        rq->partition_id = m->activate->partition_id;
        break;
    case OFM__WIRE__REQUEST__BODY_DEACTIVATE:
        rq->op = OFM_OP_DEACTIVATE;
        rq->partition_id = m->deactivate->partition_id;
        break;
    case OFM__WIRE__REQUEST__BODY_ACTIVATE_ANY:
        rq->op = OFM_OP_ACTIVATE_ANY;
        rq->partition_id = m->activate_any->partition_id;
        break;
    case OFM__WIRE__REQUEST__BODY_DEACTIVATE_ANY:
        rq->op = OFM_OP_DEACTIVATE_ANY;
        rq->partition_id = m->deactivate_any->partition_id;
        break;
    case OFM__WIRE__REQUEST__BODY_DELETE_PARTITION:
        rq->op = OFM_OP_DELETE_PARTITION;
        rq->partition_id = m->delete_partition->partition_id;
        break;
    case OFM__WIRE__REQUEST__BODY_LIST_DEFINITIONS: rq->op = OFM_OP_LIST_DEFINITIONS; break;
    case OFM__WIRE__REQUEST__BODY_DEFINE_PARTITION:
        rq->op = OFM_OP_DEFINE_PARTITION;
        if (m->define_partition->n_gpus > OFM_WIRE_MAX_PARTITION_GPUS) {
            rc = ofm_error_set(err, NULL, 0, "request carries %zu GPUs, limit is %d",
                               m->define_partition->n_gpus, OFM_WIRE_MAX_PARTITION_GPUS);
            break;
        }
        rq->has_id = m->define_partition->has_id;
        rq->partition_id = m->define_partition->partition_id;
        rq->num_gpus = (unsigned)m->define_partition->n_gpus;
        for (unsigned i = 0; i < rq->num_gpus; i++)
            rq->gpus[i] = m->define_partition->gpus[i];
        break;
    case OFM__WIRE__REQUEST__BODY_ACTIVATE_WITH_VFS:
        rq->op = OFM_OP_ACTIVATE_WITH_VFS;
        rq->partition_id = m->activate_with_vfs->partition_id;
        if (m->activate_with_vfs->n_vfs > FM_MAX_NUM_GPUS) {
            rc = ofm_error_set(err, NULL, 0, "request carries %zu VFs, limit is %d",
                               m->activate_with_vfs->n_vfs, FM_MAX_NUM_GPUS);
            break;
        }
        rq->num_vfs = (unsigned)m->activate_with_vfs->n_vfs;
        for (unsigned i = 0; i < rq->num_vfs; i++) {
            const Ofm__Wire__PciDevice *d = m->activate_with_vfs->vfs[i];
            rq->vfs[i].domain = d->domain;
            rq->vfs[i].bus = d->bus;
            rq->vfs[i].device = d->device;
            rq->vfs[i].function = d->function;
        }
        break;
    case OFM__WIRE__REQUEST__BODY_SET_ACTIVATED:
        rq->op = OFM_OP_SET_ACTIVATED;
        if (m->set_activated->n_partition_ids > FM_MAX_FABRIC_PARTITIONS) {
            rc = ofm_error_set(err, NULL, 0, "request carries %zu partition ids, limit is %d",
                               m->set_activated->n_partition_ids, FM_MAX_FABRIC_PARTITIONS);
            break;
        }
        rq->num_ids = (unsigned)m->set_activated->n_partition_ids;
        for (unsigned i = 0; i < rq->num_ids; i++)
            rq->ids[i] = m->set_activated->partition_ids[i];
        break;
    default:
        /* Unknown oneof members from a newer client also land here: the
         * caller answers them with FM_ST_NOT_SUPPORTED. */
        rq->op = OFM_OP_NONE;
        break;
    }
    ofm__wire__request__free_unpacked(m, &pa);
    return rc;
}

/* ---- replies ---------------------------------------------------------- */

struct gpu_scratch {
    Ofm__Wire__GpuInfo msg;
    char uuid[FM_UUID_BUFFER_SIZE];
    char bus[FM_DEVICE_PCI_BUS_ID_BUFFER_SIZE];
};

static int encode_partitions(Ofm__Wire__Reply *m, const fmFabricPartitionList_t *l, uint16_t flags,
                             uint8_t **frame, size_t *len, ofm_error *err)
{
    unsigned np = l->numPartitions;
    if (np > FM_MAX_FABRIC_PARTITIONS)
        return ofm_error_set(err, NULL, 0, "partition list has %u entries, limit is %d", np,
                             FM_MAX_FABRIC_PARTITIONS);
    Ofm__Wire__PartitionList pl = OFM__WIRE__PARTITION_LIST__INIT;
    Ofm__Wire__PartitionInfo *pi = calloc(np ? np : 1, sizeof *pi);
    Ofm__Wire__PartitionInfo **pip = calloc(np ? np : 1, sizeof *pip);
    struct gpu_scratch *g = calloc((size_t)(np ? np : 1) * FM_MAX_NUM_GPUS, sizeof *g);
    Ofm__Wire__GpuInfo **gp = calloc((size_t)(np ? np : 1) * FM_MAX_NUM_GPUS, sizeof *gp);
    int rc = -1;
    if (!pi || !pip || !g || !gp) {
        ofm_error_set(err, NULL, 0, "out of memory encoding a partition list");
        goto out;
    }
    for (unsigned p = 0; p < np; p++) {
        const fmFabricPartitionInfo_t *src = &l->partitionInfo[p];
        if (src->numGpus > FM_MAX_NUM_GPUS) {
            ofm_error_set(err, NULL, 0, "partition %u lists %u GPUs, limit is %d",
                          src->partitionId, src->numGpus, FM_MAX_NUM_GPUS);
            goto out;
        }
        Ofm__Wire__PartitionInfo init = OFM__WIRE__PARTITION_INFO__INIT;
        pi[p] = init;
        pi[p].partition_id = src->partitionId;
        pi[p].is_active = src->isActive;
        pi[p].n_gpus = src->numGpus;
        pi[p].gpus = &gp[(size_t)p * FM_MAX_NUM_GPUS];
        for (unsigned i = 0; i < src->numGpus; i++) {
            const fmFabricPartitionGpuInfo_t *s = &src->gpuInfo[i];
            struct gpu_scratch *d = &g[(size_t)p * FM_MAX_NUM_GPUS + i];
            Ofm__Wire__GpuInfo ginit = OFM__WIRE__GPU_INFO__INIT;
            d->msg = ginit;
            d->msg.physical_id = s->physicalId;
            d->msg.uuid = bounded(d->uuid, s->uuid, sizeof d->uuid);
            d->msg.pci_bus_id = bounded(d->bus, s->pciBusId, sizeof d->bus);
            d->msg.num_nvlinks_available = s->numNvLinksAvailable;
            d->msg.max_num_nvlinks = s->maxNumNvLinks;
            d->msg.nvlink_line_rate_mbps = s->nvlinkLineRateMBps;
            pi[p].gpus[i] = &d->msg;
        }
        pip[p] = &pi[p];
    }
    pl.max_num_partitions = l->maxNumPartitions;
    pl.n_partitions = np;
    pl.partitions = pip;
    m->body_case = OFM__WIRE__REPLY__BODY_PARTITIONS;
    m->partitions = &pl;
    rc = frame_out(&m->base, flags, OFM_WIRE_MAX_REPLY, frame, len, err);
out:
    free(pi);
    free(pip);
    free(g);
    free(gp);
    return rc;
}

struct failed_scratch {
    Ofm__Wire__FailedDevice msg;
    char uuid[FM_UUID_BUFFER_SIZE];
    char bus[FM_DEVICE_PCI_BUS_ID_BUFFER_SIZE];
    uint32_t ports[FM_MAX_NUM_NVLINK_PORTS];
};

static int fill_failed(struct failed_scratch *d, const fmNvlinkFailedDeviceInfo_t *s,
                       ofm_error *err)
{
    if (s->numPorts > FM_MAX_NUM_NVLINK_PORTS)
        return ofm_error_set(err, NULL, 0, "device lists %u failed ports, limit is %d",
                             s->numPorts, FM_MAX_NUM_NVLINK_PORTS);
    Ofm__Wire__FailedDevice init = OFM__WIRE__FAILED_DEVICE__INIT;
    d->msg = init;
    d->msg.uuid = bounded(d->uuid, s->uuid, sizeof d->uuid);
    d->msg.pci_bus_id = bounded(d->bus, s->pciBusId, sizeof d->bus);
    for (unsigned i = 0; i < s->numPorts; i++)
        d->ports[i] = s->portNum[i];
    d->msg.n_ports = s->numPorts;
    d->msg.ports = d->ports;
    return 0;
}

static int encode_failed(Ofm__Wire__Reply *m, const fmNvlinkFailedDevices_t *f, uint16_t flags,
                         uint8_t **frame, size_t *len, ofm_error *err)
{
    if (f->numGpus > FM_MAX_NUM_GPUS || f->numSwitches > FM_MAX_NUM_NVSWITCHES)
        return ofm_error_set(err, NULL, 0, "failed-device list has %u GPUs / %u switches, "
                             "limits are %d / %d", f->numGpus, f->numSwitches, FM_MAX_NUM_GPUS,
                             FM_MAX_NUM_NVSWITCHES);
    struct failed_scratch *s = calloc(FM_MAX_NUM_GPUS + FM_MAX_NUM_NVSWITCHES, sizeof *s);
    if (!s)
        return ofm_error_set(err, NULL, 0, "out of memory encoding failed devices");
    Ofm__Wire__FailedDevice *gp[FM_MAX_NUM_GPUS], *sp[FM_MAX_NUM_NVSWITCHES];
    Ofm__Wire__NvlinkFailedDevices nf = OFM__WIRE__NVLINK_FAILED_DEVICES__INIT;
    int rc = 0;
    for (unsigned i = 0; i < f->numGpus && rc == 0; i++) {
        rc = fill_failed(&s[i], &f->gpuInfo[i], err);
        gp[i] = &s[i].msg;
    }
    for (unsigned i = 0; i < f->numSwitches && rc == 0; i++) {
        rc = fill_failed(&s[FM_MAX_NUM_GPUS + i], &f->switchInfo[i], err);
        sp[i] = &s[FM_MAX_NUM_GPUS + i].msg;
    }
    if (rc == 0) {
        nf.n_gpus = f->numGpus;
        nf.gpus = gp;
        nf.n_switches = f->numSwitches;
        nf.switches = sp;
        m->body_case = OFM__WIRE__REPLY__BODY_NVLINK_FAILED;
        m->nvlink_failed = &nf;
        rc = frame_out(&m->base, flags, OFM_WIRE_MAX_REPLY, frame, len, err);
    }
    free(s);
    return rc;
}

static int encode_unsupported(Ofm__Wire__Reply *m, const fmUnsupportedFabricPartitionList_t *u,
                              uint16_t flags, uint8_t **frame, size_t *len, ofm_error *err)
{
    if (u->numPartitions > FM_MAX_FABRIC_PARTITIONS)
        return ofm_error_set(err, NULL, 0, "unsupported list has %u entries, limit is %d",
                             u->numPartitions, FM_MAX_FABRIC_PARTITIONS);
    Ofm__Wire__UnsupportedPartition up[FM_MAX_FABRIC_PARTITIONS];
    Ofm__Wire__UnsupportedPartition *upp[FM_MAX_FABRIC_PARTITIONS];
    uint32_t ids[FM_MAX_FABRIC_PARTITIONS][FM_MAX_NUM_GPUS];
    for (unsigned p = 0; p < u->numPartitions; p++) {
        const fmUnsupportedFabricPartitionInfo_t *s = &u->partitionInfo[p];
        if (s->numGpus > FM_MAX_NUM_GPUS)
            return ofm_error_set(err, NULL, 0, "unsupported partition %u lists %u GPUs, limit "
                                 "is %d", s->partitionId, s->numGpus, FM_MAX_NUM_GPUS);
        Ofm__Wire__UnsupportedPartition init = OFM__WIRE__UNSUPPORTED_PARTITION__INIT;
        up[p] = init;
        up[p].partition_id = s->partitionId;
        for (unsigned i = 0; i < s->numGpus; i++)
            ids[p][i] = s->gpuPhysicalIds[i];
        up[p].n_gpu_physical_ids = s->numGpus;
        up[p].gpu_physical_ids = ids[p];
        upp[p] = &up[p];
    }
    Ofm__Wire__UnsupportedList ul = OFM__WIRE__UNSUPPORTED_LIST__INIT;
    ul.n_partitions = u->numPartitions;
    ul.partitions = upp;
    m->body_case = OFM__WIRE__REPLY__BODY_UNSUPPORTED;
    m->unsupported = &ul;
    return frame_out(&m->base, flags, OFM_WIRE_MAX_REPLY, frame, len, err);
}

static int encode_events(Ofm__Wire__Reply *m, const ofm_wire_events *e, uint16_t flags,
                         uint8_t **frame, size_t *len, ofm_error *err)
{
    if (e->n > OFM_WIRE_MAX_EVENTS)
        return ofm_error_set(err, NULL, 0, "%u events exceed the limit of %d", e->n,
                             OFM_WIRE_MAX_EVENTS);
    Ofm__Wire__Event ev[OFM_WIRE_MAX_EVENTS];
    Ofm__Wire__Event *evp[OFM_WIRE_MAX_EVENTS];
    char text[OFM_WIRE_MAX_EVENTS][OFM_WIRE_EVENT_TEXT];
    for (unsigned i = 0; i < e->n; i++) {
        const ofm_wire_event *s = &e->ev[i];
        Ofm__Wire__Event init = OFM__WIRE__EVENT__INIT;
        ev[i] = init;
        ev[i].seq = s->seq;
        ev[i].time_ns = s->time_ns;
        ev[i].type = (uint32_t)s->type;
        ev[i].code = s->code;
        ev[i].gpu = s->gpu;
        ev[i].nvswitch = s->nvswitch;
        ev[i].port = s->port;
        ev[i].partition = s->partition;
        ev[i].fatal = s->fatal != 0;
        ev[i].text = bounded(text[i], s->text, OFM_WIRE_EVENT_TEXT);
        evp[i] = &ev[i];
    }
    Ofm__Wire__EventList l = OFM__WIRE__EVENT_LIST__INIT;
    l.first_seq = e->first_seq;
    l.last_seq = e->last_seq;
    l.n_events = e->n;
    l.events = evp;
    m->body_case = OFM__WIRE__REPLY__BODY_EVENTS;
    m->events = &l;
    return frame_out(&m->base, flags, OFM_WIRE_MAX_REPLY, frame, len, err);
}

static int encode_defs(Ofm__Wire__Reply *m, const ofm_wire_partition_defs *d, uint16_t flags,
                       uint8_t **frame, size_t *len, ofm_error *err)
{
    if (d->n > OFM_WIRE_MAX_DEFINITIONS)
        return ofm_error_set(err, NULL, 0, "%u definitions exceed the limit of %d", d->n,
                             OFM_WIRE_MAX_DEFINITIONS);
    unsigned n = d->n ? d->n : 1;
    Ofm__Wire__PartitionDef *pd = calloc(n, sizeof *pd);
    Ofm__Wire__PartitionDef **pdp = calloc(n, sizeof *pdp);
    uint32_t *g = calloc((size_t)n * OFM_WIRE_MAX_PARTITION_GPUS, sizeof *g);
    int rc = -1;
    if (!pd || !pdp || !g) {
        ofm_error_set(err, NULL, 0, "out of memory encoding the partition table");
        goto out;
    }
    for (unsigned i = 0; i < d->n; i++) {
        const ofm_wire_partition_def *s = &d->def[i];
        if (s->ngpus > OFM_WIRE_MAX_PARTITION_GPUS) {
            ofm_error_set(err, NULL, 0, "partition %u lists %u GPUs, limit is %d", s->id, s->ngpus,
                          OFM_WIRE_MAX_PARTITION_GPUS);
            goto out;
        }
        Ofm__Wire__PartitionDef init = OFM__WIRE__PARTITION_DEF__INIT;
        pd[i] = init;
        pd[i].partition_id = s->id;
        pd[i].n_gpus = s->ngpus;
        pd[i].gpus = &g[(size_t)i * OFM_WIRE_MAX_PARTITION_GPUS];
        memcpy(pd[i].gpus, s->gpus, s->ngpus * sizeof s->gpus[0]);
        pd[i].nvlinks_per_gpu = s->nvlinks_per_gpu;
        pd[i].live = s->live != 0;
        pd[i].supported = s->supported != 0;
        pd[i].active = s->active != 0;
        pd[i].public_view = s->public_view != 0;
        pdp[i] = &pd[i];
    }
    Ofm__Wire__PartitionDefList l = OFM__WIRE__PARTITION_DEF_LIST__INIT;
    l.n_partitions = d->n;
    l.partitions = pdp;
    m->body_case = OFM__WIRE__REPLY__BODY_DEFINITIONS;
    m->definitions = &l;
    rc = frame_out(&m->base, flags, OFM_WIRE_MAX_REPLY, frame, len, err);
out:
    free(pd);
    free(pdp);
    free(g);
    return rc;
}

static int decode_defs(const Ofm__Wire__PartitionDefList *l, ofm_wire_partition_defs *out,
                       ofm_error *err)
{
    if (l->n_partitions > OFM_WIRE_MAX_DEFINITIONS)
        return ofm_error_set(err, NULL, 0, "reply lists %zu partitions, limit is %d",
                             l->n_partitions, OFM_WIRE_MAX_DEFINITIONS);
    out->n = (unsigned)l->n_partitions;
    for (size_t i = 0; i < l->n_partitions; i++) {
        const Ofm__Wire__PartitionDef *s = l->partitions[i];
        ofm_wire_partition_def *d = &out->def[i];
        if (s->n_gpus > OFM_WIRE_MAX_PARTITION_GPUS)
            return ofm_error_set(err, NULL, 0, "reply partition %u lists %zu GPUs, limit is %d",
                                 s->partition_id, s->n_gpus, OFM_WIRE_MAX_PARTITION_GPUS);
        memset(d, 0, sizeof *d);
        d->id = s->partition_id;
        d->ngpus = (unsigned)s->n_gpus;
        for (size_t k = 0; k < s->n_gpus; k++)
            d->gpus[k] = s->gpus[k];
        d->nvlinks_per_gpu = s->nvlinks_per_gpu;
        d->live = s->live;
        d->supported = s->supported;
        d->active = s->active;
        d->public_view = s->public_view;
    }
    return 0;
}

static int decode_events(const Ofm__Wire__EventList *l, ofm_wire_events *out, ofm_error *err)
{
    if (l->n_events > OFM_WIRE_MAX_EVENTS)
        return ofm_error_set(err, NULL, 0, "reply carries %zu events, limit is %d", l->n_events,
                             OFM_WIRE_MAX_EVENTS);
    out->first_seq = l->first_seq;
    out->last_seq = l->last_seq;
    out->n = (unsigned)l->n_events;
    uint64_t prev = 0;
    for (size_t i = 0; i < l->n_events; i++) {
        const Ofm__Wire__Event *s = l->events[i];
        ofm_wire_event *d = &out->ev[i];
        if (s->type < OFM_EV_SXID || s->type > OFM_EV_TYPE_MAX)
            return ofm_error_set(err, NULL, 0, "event %zu has unknown type %u", i, s->type);
        if (s->seq <= prev || s->seq > l->last_seq)
            return ofm_error_set(err, NULL, 0, "event %zu: sequence number %llu out of order", i,
                                 (unsigned long long)s->seq);
        prev = s->seq;
        d->seq = s->seq;
        d->time_ns = s->time_ns;
        d->type = (ofm_wire_event_type)s->type;
        d->code = s->code;
        d->gpu = s->gpu;
        d->nvswitch = s->nvswitch;
        d->port = s->port;
        d->partition = s->partition;
        d->fatal = s->fatal;
        if (copy_str(d->text, sizeof d->text, s->text, "event text", err))
            return -1;
    }
    return 0;
}

int ofm_wire_encode_reply(const ofm_wire_reply *rp, uint8_t **frame, size_t *len, ofm_error *err)
{
    Ofm__Wire__Reply m = OFM__WIRE__REPLY__INIT;
    Ofm__Wire__PartitionRef ref = OFM__WIRE__PARTITION_REF__INIT;
    char detail[OFM_WIRE_DETAIL_LEN];
    m.request_id = rp->request_id;
    m.status = rp->status;
    if (rp->detail[0])
        m.detail = bounded(detail, rp->detail, sizeof detail);
    /* Bodies travel only with success: on error the client's output
     * structure is left as the caller passed it. */
    if (rp->status == FM_ST_SUCCESS) {
        if (rp->op == OFM_OP_LIST_DEFINITIONS && rp->defs)
            return encode_defs(&m, rp->defs, OFM_WIRE_FLAG_REPLY, frame, len, err);
        if (rp->op == OFM_OP_DEFINE_PARTITION) {
            ref.partition_id = rp->defined_id;
            m.body_case = OFM__WIRE__REPLY__BODY_DEFINED;
            m.defined = &ref;
        }
        if (rp->op == OFM_OP_GET_SUPPORTED && rp->partitions)
            return encode_partitions(&m, rp->partitions, OFM_WIRE_FLAG_REPLY, frame, len, err);
        if (rp->op == OFM_OP_GET_NVLINK_FAILED && rp->failed)
            return encode_failed(&m, rp->failed, OFM_WIRE_FLAG_REPLY, frame, len, err);
        if (rp->op == OFM_OP_GET_UNSUPPORTED && rp->unsupported)
            return encode_unsupported(&m, rp->unsupported, OFM_WIRE_FLAG_REPLY, frame, len, err);
        if (rp->op == OFM_OP_GET_EVENTS && rp->events)
            return encode_events(&m, rp->events, OFM_WIRE_FLAG_REPLY, frame, len, err);
        if (rp->op == OFM_OP_GET_STATUS_JSON && rp->json) {
            if (strlen(rp->json) > OFM_WIRE_MAX_JSON)
                return ofm_error_set(err, NULL, 0, "status JSON of %zu bytes exceeds %u",
                                     strlen(rp->json), OFM_WIRE_MAX_JSON);
            m.body_case = OFM__WIRE__REPLY__BODY_STATUS_JSON;
            m.status_json = rp->json;
        }
    }
    return frame_out(&m.base, OFM_WIRE_FLAG_REPLY, OFM_WIRE_MAX_REPLY, frame, len, err);
}

static int decode_partitions(const Ofm__Wire__PartitionList *pl, fmFabricPartitionList_t *out,
                             ofm_error *err)
{
    if (pl->n_partitions > FM_MAX_FABRIC_PARTITIONS)
        return ofm_error_set(err, NULL, 0, "reply lists %zu partitions, limit is %d",
                             pl->n_partitions, FM_MAX_FABRIC_PARTITIONS);
    out->numPartitions = (unsigned)pl->n_partitions;
    out->maxNumPartitions = pl->max_num_partitions;
    for (size_t p = 0; p < pl->n_partitions; p++) {
        const Ofm__Wire__PartitionInfo *s = pl->partitions[p];
        fmFabricPartitionInfo_t *d = &out->partitionInfo[p];
        if (s->n_gpus > FM_MAX_NUM_GPUS)
            return ofm_error_set(err, NULL, 0, "reply partition %u lists %zu GPUs, limit is %d",
                                 s->partition_id, s->n_gpus, FM_MAX_NUM_GPUS);
        d->partitionId = s->partition_id;
        d->isActive = s->is_active;
        d->numGpus = (unsigned)s->n_gpus;
        for (size_t i = 0; i < s->n_gpus; i++) {
            const Ofm__Wire__GpuInfo *gs = s->gpus[i];
            fmFabricPartitionGpuInfo_t *gd = &d->gpuInfo[i];
            gd->physicalId = gs->physical_id;
            if (copy_str(gd->uuid, sizeof gd->uuid, gs->uuid, "GPU uuid", err) ||
                copy_str(gd->pciBusId, sizeof gd->pciBusId, gs->pci_bus_id, "GPU PCI bus id", err))
                return -1;
            gd->numNvLinksAvailable = gs->num_nvlinks_available;
            gd->maxNumNvLinks = gs->max_num_nvlinks;
            gd->nvlinkLineRateMBps = gs->nvlink_line_rate_mbps;
        }
    }
    return 0;
}

static int decode_failed_dev(const Ofm__Wire__FailedDevice *s, fmNvlinkFailedDeviceInfo_t *d,
                             ofm_error *err)
{
    if (s->n_ports > FM_MAX_NUM_NVLINK_PORTS)
        return ofm_error_set(err, NULL, 0, "reply device lists %zu ports, limit is %d",
                             s->n_ports, FM_MAX_NUM_NVLINK_PORTS);
    if (copy_str(d->uuid, sizeof d->uuid, s->uuid, "device uuid", err) ||
        copy_str(d->pciBusId, sizeof d->pciBusId, s->pci_bus_id, "device PCI bus id", err))
        return -1;
    d->numPorts = (unsigned)s->n_ports;
    for (size_t i = 0; i < s->n_ports; i++)
        d->portNum[i] = s->ports[i];
    return 0;
}

static int decode_failed(const Ofm__Wire__NvlinkFailedDevices *f, fmNvlinkFailedDevices_t *out,
                         ofm_error *err)
{
    if (f->n_gpus > FM_MAX_NUM_GPUS || f->n_switches > FM_MAX_NUM_NVSWITCHES)
        return ofm_error_set(err, NULL, 0, "reply lists %zu GPUs / %zu switches, limits are "
                             "%d / %d", f->n_gpus, f->n_switches, FM_MAX_NUM_GPUS,
                             FM_MAX_NUM_NVSWITCHES);
    out->numGpus = (unsigned)f->n_gpus;
    out->numSwitches = (unsigned)f->n_switches;
    for (size_t i = 0; i < f->n_gpus; i++)
        if (decode_failed_dev(f->gpus[i], &out->gpuInfo[i], err))
            return -1;
    for (size_t i = 0; i < f->n_switches; i++)
        if (decode_failed_dev(f->switches[i], &out->switchInfo[i], err))
            return -1;
    return 0;
}

static int decode_unsupported(const Ofm__Wire__UnsupportedList *u,
                              fmUnsupportedFabricPartitionList_t *out, ofm_error *err)
{
    if (u->n_partitions > FM_MAX_FABRIC_PARTITIONS)
        return ofm_error_set(err, NULL, 0, "reply lists %zu unsupported partitions, limit is %d",
                             u->n_partitions, FM_MAX_FABRIC_PARTITIONS);
    out->numPartitions = (unsigned)u->n_partitions;
    for (size_t p = 0; p < u->n_partitions; p++) {
        const Ofm__Wire__UnsupportedPartition *s = u->partitions[p];
        if (s->n_gpu_physical_ids > FM_MAX_NUM_GPUS)
            return ofm_error_set(err, NULL, 0, "reply unsupported partition %u lists %zu GPUs",
                                 s->partition_id, s->n_gpu_physical_ids);
        out->partitionInfo[p].partitionId = s->partition_id;
        out->partitionInfo[p].numGpus = (unsigned)s->n_gpu_physical_ids;
        for (size_t i = 0; i < s->n_gpu_physical_ids; i++)
            out->partitionInfo[p].gpuPhysicalIds[i] = s->gpu_physical_ids[i];
    }
    return 0;
}

int ofm_wire_decode_reply(const uint8_t *payload, size_t len, ofm_wire_op expect,
                          ofm_wire_reply *rp, ofm_error *err)
{
    int oom = 0;
    ProtobufCAllocator pa = PB_ALLOCATOR(oom);
    Ofm__Wire__Reply *m = ofm__wire__reply__unpack(&pa, len, payload);
    if (!m)
        return ofm_error_set(err, NULL, 0, oom ? "out of memory decoding a %zu-byte reply"
                                               : "reply payload of %zu bytes is not a valid "
                                                 "message", len);
    int rc = 0;
    if (rp->request_id != 0 && rp->request_id != m->request_id) {
        rp->request_id = m->request_id;
        goto out;
    }
    rp->request_id = m->request_id;
    rp->op = expect;
    rp->status = (fmReturn_t)m->status;
    if (m->status > 0 || m->status < -1000) {
        rc = ofm_error_set(err, NULL, 0, "reply carries impossible status %d", m->status);
        goto out;
    }
    rp->detail[0] = '\0';
    if (m->detail && copy_str(rp->detail, sizeof rp->detail, m->detail, "reason", err)) {
        rc = -1;
        goto out;
    }
    if (m->status != FM_ST_SUCCESS)
        goto out;
    switch (expect) {
    case OFM_OP_GET_SUPPORTED:
        if (m->body_case != OFM__WIRE__REPLY__BODY_PARTITIONS || !rp->partitions)
            rc = ofm_error_set(err, NULL, 0, "successful reply lacks the partition list");
        else
            rc = decode_partitions(m->partitions, rp->partitions, err);
        break;
    case OFM_OP_GET_NVLINK_FAILED:
        if (m->body_case != OFM__WIRE__REPLY__BODY_NVLINK_FAILED || !rp->failed)
            rc = ofm_error_set(err, NULL, 0, "successful reply lacks the failed-device list");
        else
            rc = decode_failed(m->nvlink_failed, rp->failed, err);
        break;
    case OFM_OP_GET_UNSUPPORTED:
        if (m->body_case != OFM__WIRE__REPLY__BODY_UNSUPPORTED || !rp->unsupported)
            rc = ofm_error_set(err, NULL, 0, "successful reply lacks the unsupported list");
        else
            rc = decode_unsupported(m->unsupported, rp->unsupported, err);
        break;
    case OFM_OP_GET_STATUS_JSON:
        if (m->body_case != OFM__WIRE__REPLY__BODY_STATUS_JSON || !m->status_json ||
            strlen(m->status_json) > OFM_WIRE_MAX_JSON) {
            rc = ofm_error_set(err, NULL, 0, "successful reply lacks a usable status document");
        } else {
            rp->json = strdup(m->status_json);
            if (!rp->json)
                rc = ofm_error_set(err, NULL, 0, "out of memory");
        }
        break;
    case OFM_OP_GET_EVENTS:
        if (m->body_case != OFM__WIRE__REPLY__BODY_EVENTS || !rp->events)
            rc = ofm_error_set(err, NULL, 0, "successful reply lacks the event list");
        else
            rc = decode_events(m->events, rp->events, err);
        break;
    case OFM_OP_DEFINE_PARTITION:
        if (m->body_case != OFM__WIRE__REPLY__BODY_DEFINED)
            rc = ofm_error_set(err, NULL, 0, "successful reply lacks the new partition's ID");
        else
            rp->defined_id = m->defined->partition_id;
        break;
    case OFM_OP_LIST_DEFINITIONS:
        if (m->body_case != OFM__WIRE__REPLY__BODY_DEFINITIONS || !rp->defs)
            rc = ofm_error_set(err, NULL, 0, "successful reply lacks the partition table");
        else
            rc = decode_defs(m->definitions, rp->defs, err);
        break;
    default:
        if (m->body_case != OFM__WIRE__REPLY__BODY__NOT_SET)
            rc = ofm_error_set(err, NULL, 0, "reply to %s carries an unexpected body",
                               ofm_wire_op_name(expect));
        break;
    }
out:
    ofm__wire__reply__free_unpacked(m, &pa);
    return rc;
}
