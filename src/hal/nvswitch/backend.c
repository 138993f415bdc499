/* The NVSwitch driver backend (LS10). Start-up checks, link status, port
 * configuration, routing tables, GPU fabric registration over in-band
 * messages, the driver heartbeat and error queues, all through ioctl.c. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hal/backend_int.h"
#include "hal/nvswitch/ioctl.h"
#include "hal/nvswitch/ls10_tables.h"
#include "openfm/log.h"

typedef struct {
    /* true for the fabric manager: acquire the fabric-management capability,
     * mark the driver configured, keep its heartbeat, configure ports and
     * answer GPU probes. false for observers (fmctl): read only. */
    bool manager;
    uint32_t heartbeat_timeout_ms;  /* 0: the default */
    ofm_hal *gpu_side;              /* optional GPU side used by the fallbacks */
    char dev_root[256];
} ofm_nvswitch_opts;

#define DEFAULT_HEARTBEAT_MS 10000u
#define PROBE_WAIT_MS 2000u

typedef struct {
    uint32_t instance, phys_id;
    int fd;                        /* -1: excluded (not opened) */
    char uuid[80], bdf[32];
    uint32_t pci_domain, pci_bus, pci_device, pci_function;
    ofm_dev_health health;
    bool excluded;                 /* blacklisted: reported, never opened */
    uint32_t blacklist_reason;
    uint32_t nports;
    uint64_t enabled;
    uint64_t err_cursor[2];        /* per severity */
    uint64_t configured_ports;     /* ports given their access/trunk config */
    nvsw_get_nvlink_status *status;
    uint64_t status_ns;            /* when status was read; 0: stale */
    uint64_t port_up;              /* last seen active ports, for link events */
} sw_rec;

typedef struct {
    uint32_t phys_id;
    char uuid[80], bdf[32];
    uint64_t pci;                  /* probe-request encoding */
    bool have_request;
    uint64_t request_id;
    uint32_t sw, link;             /* switch index / port the request came in on */
    ofm_fabric_state state;
    int status;
} gpu_rec;

typedef struct {
    ofm_nvswitch_opts o;
    int ctl, cap;
    char kernel_version[NVSW_VERSION_LEN];
    size_t nsw;
    sw_rec sw[NVSW_MAX_DEVICES];
    size_t ngpu;
    gpu_rec gpu[OFM_MAX_GPUS];
    uint64_t hb_ns;
    uint32_t hb_ms;
    uint64_t probe_wait_left_ns;   /* bring-up waits this long in all for missing probes */
    uint64_t ev_seq;
    bool links_seen;
    ofm_hal *gpu_side;
} nv_impl;

static nv_impl *nv_of(const ofm_hal *h) { return (nv_impl *)h->impl; }

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t real_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

__attribute__((format(printf, 3, 4))) static int nv_fail(ofm_hal *h, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(h->last_error, sizeof h->last_error, fmt, ap);
    va_end(ap);
    return code;
}

static int map_errno(int neg)
{
    switch (-neg) {
    case EINVAL: return OFM_HAL_EINVAL;
    case ENODEV: case ENOENT: case ENXIO: return OFM_HAL_ENODEV;
    case EBUSY: return OFM_HAL_EBUSY;
    case EOPNOTSUPP: return OFM_HAL_ENOTSUP;
    case ENOSPC: case ENOMEM: return OFM_HAL_ENOSPC;
    default: return OFM_HAL_EIO;
    }
}

/* One switch-node call; on failure last_error names the call, the switch and
 * the errno, and says what EINVAL on a well-formed call means. */
static int dev_call(ofm_hal *h, sw_rec *s, unsigned nr, void *p, size_t size)
{
    if (s->fd < 0)
        return nv_fail(h, OFM_HAL_ENODEV, "NVSwitch %u is excluded by the driver", s->phys_id);
    int rc = nvsw_call(s->fd, NVSW_IOC_DEV, nr, p, size);
    if (!rc)
        return OFM_HAL_OK;
    if (rc == -EINVAL)
        return nv_fail(h, OFM_HAL_EINVAL,
                       "NVSwitch driver refused %s (%zu-byte params) on /dev/nvidia-nvswitch%u: %s; "
                       "if this repeats for every call the driver's ABI is not %s: install the "
                       "NVIDIA %s driver",
                       nvsw_cmd_name(NVSW_IOC_DEV, nr), size, s->instance, strerror(-rc),
                       NVSW_ABI_VERSION, NVSW_ABI_VERSION);
    return nv_fail(h, map_errno(rc), "NVSwitch driver: %s on /dev/nvidia-nvswitch%u failed: %s%s",
                   nvsw_cmd_name(NVSW_IOC_DEV, nr), s->instance, strerror(-rc),
                   rc == -EPERM ? "; fabric management needs root or the fabric-management "
                                  "capability (" NVSW_CAP_PROC_PATH ")"
                                : "");
}
#define DEV_CALL(h, s, nr, p) dev_call((h), (s), (nr), (p), sizeof *(p))

static void uuid_str(const char *prefix, const uint8_t u[16], char *out, size_t len)
{
    snprintf(out, len,
             "%s%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", prefix,
             u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12],
             u[13], u[14], u[15]);
}

static const char *blacklist_reason(uint32_t r)
{
    switch (r) {
    case NVSW_BL_MANUAL_OUT_OF_BAND: return "excluded out of band by an operator";
    case NVSW_BL_MANUAL_IN_BAND: return "excluded in band (kernel module option)";
    case NVSW_BL_MANUAL_PEER: return "peer switch excluded by an operator";
    case NVSW_BL_TRUNK_LINK_FAILURE: return "trunk link failure";
    case NVSW_BL_TRUNK_LINK_FAILURE_PEER: return "trunk link failure on its peer";
    case NVSW_BL_ACCESS_LINK_FAILURE: return "access link failure";
    case NVSW_BL_ACCESS_LINK_FAILURE_PEER: return "access link failure on its peer";
    case NVSW_BL_UNSPEC_DEVICE_FAILURE: return "device failure";
    case NVSW_BL_UNSPEC_DEVICE_FAILURE_PEER: return "device failure on its peer";
    default: return "unspecified reason";
    }
}

static sw_rec *sw_by_id(nv_impl *n, uint32_t id)
{
    for (size_t i = 0; i < n->nsw; i++)
        if (n->sw[i].phys_id == id)
            return &n->sw[i];
    return NULL;
}

/* --------------------------------------------------------------- links */

static int read_status(ofm_hal *h, sw_rec *s, bool fresh)
{
    /* Bring-up and audit read every port in one pass: one driver call serves
     * the whole switch for a short while. */
    uint64_t now = mono_ns();
    if (!fresh && s->status_ns && now - s->status_ns < 20 * 1000000ull)
        return OFM_HAL_OK;
    if (!s->status && !(s->status = calloc(1, sizeof *s->status)))
        return nv_fail(h, OFM_HAL_ENOSPC, "out of memory");
    int rc = DEV_CALL(h, s, NVSW_CMD_GET_NVLINK_STATUS, s->status);
    s->status_ns = rc == OFM_HAL_OK ? now : 0;
    return rc;
}

static bool same_pci(const nvsw_link_device *d, uint32_t dom, uint32_t bus, uint32_t dev)
{
    return (d->id_flags & NVSW_DEVID_PCI) && d->domain == dom && d->bus == bus && d->device == dev;
}

static void pci_of_gpu(const gpu_rec *g, uint32_t *dom, uint32_t *bus, uint32_t *dev)
{
    *dom = (uint32_t)(g->pci >> 32);
    *bus = (uint32_t)(g->pci >> 8) & 0xff;
    *dev = (uint32_t)g->pci & 0xff;
}

static gpu_rec *gpu_by_link_dev(nv_impl *n, const nvsw_link_device *d)
{
    for (size_t i = 0; i < n->ngpu; i++) {
        uint32_t dom, bus, dev;
        pci_of_gpu(&n->gpu[i], &dom, &bus, &dev);
        if (same_pci(d, dom, bus, dev))
            return &n->gpu[i];
    }
    return NULL;
}

static void link_view(nv_impl *n, const nvsw_link_status *ls, bool enabled, ofm_hal_link *out)
{
    memset(out, 0, sizeof *out);
    out->prov = OFM_PROV_REAL;
    if (!enabled)
        return;
    switch (ls->link_state) {
    case NVSW_LINK_ACTIVE: out->state = OFM_LINK_ACTIVE; break;
    case NVSW_LINK_FAULT: out->state = OFM_LINK_FAILED; break;
    case NVSW_LINK_HWCFG: case NVSW_LINK_SWCFG: case NVSW_LINK_HWPCFG: case NVSW_LINK_RECOVERY:
        out->state = OFM_LINK_TRAINING; break;
    default: out->state = OFM_LINK_OFF; break;
    }
    if (!ls->connected || (out->state != OFM_LINK_ACTIVE && out->state != OFM_LINK_TRAINING))
        return;
    if (ls->remote.device_type == NVSW_DEVTYPE_GPU) {
        gpu_rec *g = gpu_by_link_dev(n, &ls->remote);
        out->remote_type = OFM_REMOTE_GPU;
        out->remote_id = g ? g->phys_id : 0;
        out->remote_link = ls->remote_link;
    } else if (ls->remote.device_type == NVSW_DEVTYPE_SWITCH) {
        out->remote_type = OFM_REMOTE_SWITCH;
        out->remote_link = ls->remote_link;
        for (size_t i = 0; i < n->nsw; i++)
            if (same_pci(&ls->remote, n->sw[i].pci_domain, n->sw[i].pci_bus, n->sw[i].pci_device))
                out->remote_id = n->sw[i].phys_id;
    }
}

static int check_port(ofm_hal *h, uint32_t sw, uint32_t port, sw_rec **out)
{
    sw_rec *s = sw_by_id(nv_of(h), sw);
    if (!s)
        return nv_fail(h, OFM_HAL_EINVAL, "no NVSwitch %u", sw);
    if (s->fd < 0)
        return nv_fail(h, OFM_HAL_ENODEV, "NVSwitch %u is excluded by the driver (%s)", sw,
                       blacklist_reason(s->blacklist_reason));
    if (port >= s->nports || port >= NVSW_MAX_LINKS)
        return nv_fail(h, OFM_HAL_EINVAL, "NVSwitch %u has no port %u", sw, port);
    *out = s;
    return OFM_HAL_OK;
}

static int switch_port(ofm_hal *h, uint32_t sw, uint32_t port, ofm_hal_link *out)
{
    sw_rec *s;
    int rc = check_port(h, sw, port, &s);
    if (rc == OFM_HAL_OK)
        rc = read_status(h, s, false);
    if (rc == OFM_HAL_OK)
        link_view(nv_of(h), &s->status->link[port], s->status->enabled_mask >> port & 1, out);
    return rc;
}

static int train_port(ofm_hal *h, uint32_t sw, uint32_t port)
{
    (void)sw;
    (void)port;
    return nv_fail(h, OFM_HAL_ENOTSUP,
                   "LS10 NVLinks train autonomously (ALI); the manager does not train them");
}

static int reset_port(ofm_hal *h, uint32_t sw, uint32_t port)
{
    (void)sw;
    (void)port;
    return nv_fail(h, OFM_HAL_ENOTSUP, "port reset is not implemented by the NVSwitch backend");
}

/* ----------------------------------------------------- in-band (GPU probes) */

static gpu_rec *gpu_by_id(nv_impl *n, uint32_t id)
{
    for (size_t i = 0; i < n->ngpu; i++)
        if (n->gpu[i].phys_id == id)
            return &n->gpu[i];
    return NULL;
}

/* Read every pending in-band message; GPU probe requests register (or
 * refresh) a GPU; multicast team requests are answered "not supported". */
static void drain_inband(ofm_hal *h)
{
    nv_impl *n = nv_of(h);
    if (!n->o.manager)
        return;
    nvsw_inband_read *rd = malloc(sizeof *rd);
    if (!rd)
        return;
    for (size_t i = 0; i < n->nsw; i++) {
        sw_rec *s = &n->sw[i];
        nvsw_inband_pending pend = {0};
        if (s->fd < 0 || DEV_CALL(h, s, NVSW_CMD_INBAND_PENDING_DATA_STATS, &pend) != OFM_HAL_OK)
            continue;
        for (uint32_t link = 0; link < NVSW_MAX_LINKS; link++) {
            if (!(pend.link_mask >> link & 1))
                continue;
            for (int guard = 0; guard < 64; guard++) {
                memset(rd, 0, sizeof *rd);
                rd->link = link;
                if (DEV_CALL(h, s, NVSW_CMD_INBAND_READ_DATA, rd) != OFM_HAL_OK || rd->size == 0)
                    break;
                nvsw_msg_header hdr;
                if (rd->size < sizeof hdr || rd->size > sizeof rd->buffer) {
                    OFM_WARN("nvswitch: NVSwitch %u port %u: malformed in-band message (%u bytes) "
                             "ignored", s->phys_id, link, rd->size);
                    continue;
                }
                memcpy(&hdr, rd->buffer, sizeof hdr);
                if (hdr.magic != NVSW_INBAND_MAGIC || hdr.length > rd->size - sizeof hdr) {
                    OFM_WARN("nvswitch: NVSwitch %u port %u: in-band message with bad magic "
                             "0x%04x or length %u ignored", s->phys_id, link, hdr.magic, hdr.length);
                    continue;
                }
                if (hdr.type != NVSW_MSG_GPU_PROBE_REQ) {
                    OFM_WARN("nvswitch: NVSwitch %u port %u: in-band message type %u (multicast "
                             "team setup) is not supported by openfm; ignored", s->phys_id, link,
                             hdr.type);
                    continue;
                }
                nvsw_probe_req req;
                if (hdr.length < sizeof req) {
                    OFM_WARN("nvswitch: short GPU probe request on NVSwitch %u port %u ignored",
                             s->phys_id, link);
                    continue;
                }
                memcpy(&req, rd->buffer + sizeof hdr, sizeof req);
                gpu_rec *g = gpu_by_id(n, req.module_id);
                if (!g) {
                    if (n->ngpu == OFM_MAX_GPUS)
                        continue;
                    g = &n->gpu[n->ngpu++];
                    memset(g, 0, sizeof *g);
                    g->phys_id = req.module_id;
                    g->state = OFM_FABRIC_NOT_STARTED;
                }
                g->pci = req.pci_info;
                uuid_str("GPU-", req.gpu_uuid, g->uuid, sizeof g->uuid);
                snprintf(g->bdf, sizeof g->bdf, "%04x:%02x:%02x.0", (unsigned)(req.pci_info >> 32),
                         (unsigned)(req.pci_info >> 8) & 0xff, (unsigned)req.pci_info & 0xff);
                g->have_request = true;
                g->request_id = hdr.request_id;
                g->sw = (uint32_t)i;
                g->link = link;
                if (g->state != OFM_FABRIC_COMPLETED)
                    g->state = OFM_FABRIC_IN_PROGRESS;
            }
        }
    }
    free(rd);
}

static int send_probe_response(ofm_hal *h, gpu_rec *g, int status)
{
    nv_impl *n = nv_of(h);
    nvsw_inband_send *snd = calloc(1, sizeof *snd);
    if (!snd)
        return nv_fail(h, OFM_HAL_ENOSPC, "out of memory");
    nvsw_msg_header hdr = {.magic = NVSW_INBAND_MAGIC,
                           .request_id = g->request_id,
                           .status = status ? 0x1fu /* generic error */ : 0,
                           .type = NVSW_MSG_GPU_PROBE_RSP,
                           .length = sizeof(nvsw_probe_rsp)};
    nvsw_probe_rsp rsp;
    memset(&rsp, 0, sizeof rsp);
    int t = ls10_target_of_gpu(g->phys_id);
    rsp.gpu_handle = ((uint64_t)g->phys_id << 32) | (uint32_t)t;
    rsp.gpa_address = ls10_slot_address((uint32_t)t);
    rsp.gpa_range = 1ull << LS10_SLOT_SHIFT;
    rsp.fla_address = rsp.gpa_address | (1ull << 46);
    rsp.fla_range = rsp.gpa_range;
    rsp.clique_id = status ? 0 : 1;
    rsp.remap_index = (uint32_t)t;
    memcpy(snd->buffer, &hdr, sizeof hdr);
    memcpy(snd->buffer + sizeof hdr, &rsp, sizeof rsp);
    snd->size = sizeof hdr + sizeof rsp;
    snd->link = g->link;
    int rc = DEV_CALL(h, &n->sw[g->sw], NVSW_CMD_INBAND_SEND_DATA, snd);
    free(snd);
    return rc;
}

/* ---------------------------------------------------------------- GPUs */

/* From the GPU side (NVML): who sits at which PCI address. A GPU whose probe
 * went to another process (an observer such as fmctl, or a manager before a
 * restart) is still named on the switch ports it connects to. */
static void learn_gpus(ofm_hal *h, const ofm_hal_gpu *gpus, size_t cnt)
{
    nv_impl *n = nv_of(h);
    for (size_t i = 0; i < cnt; i++) {
        unsigned dom = 0, bus = 0, dev = 0, fn = 0;
        if (sscanf(gpus[i].pci_bdf, "%x:%x:%x.%x", &dom, &bus, &dev, &fn) != 4)
            continue;
        gpu_rec *g = gpu_by_id(n, gpus[i].phys_id);
        if (!g) {
            if (n->ngpu == OFM_MAX_GPUS)
                continue;
            g = &n->gpu[n->ngpu++];
            memset(g, 0, sizeof *g);
            g->phys_id = gpus[i].phys_id;
            g->state = OFM_FABRIC_NOT_STARTED;
        }
        g->pci = (uint64_t)dom << 32 | (bus & 0xff) << 8 | (dev & 0xff);
        snprintf(g->uuid, sizeof g->uuid, "%s", gpus[i].uuid);
        snprintf(g->bdf, sizeof g->bdf, "%s", gpus[i].pci_bdf);
    }
}

static int list_gpus(ofm_hal *h, ofm_hal_gpu *out, size_t cap, size_t *cnt)
{
    nv_impl *n = nv_of(h);
    if (n->gpu_side)
        return n->gpu_side->ops->list_gpus(n->gpu_side, out, cap, cnt);
    drain_inband(h);
    size_t k = 0;
    for (size_t i = 0; i < n->ngpu; i++) {
        gpu_rec *g = &n->gpu[i];
        if (k < cap) {
            ofm_hal_gpu *o = &out[k];
            memset(o, 0, sizeof *o);
            o->prov = OFM_PROV_REAL;
            o->phys_id = g->phys_id;
            snprintf(o->uuid, sizeof o->uuid, "%s", g->uuid);
            snprintf(o->pci_bdf, sizeof o->pci_bdf, "%s", g->bdf);
            snprintf(o->model, sizeof o->model, "NVIDIA GPU");
            uint32_t dom, bus, dev;
            pci_of_gpu(g, &dom, &bus, &dev);
            for (size_t s = 0; s < n->nsw; s++) {
                if (n->sw[s].fd < 0 || read_status(h, &n->sw[s], false) != OFM_HAL_OK)
                    continue;
                for (uint32_t p = 0; p < NVSW_MAX_LINKS; p++) {
                    const nvsw_link_status *ls = &n->sw[s].status->link[p];
                    if (ls->remote.device_type == NVSW_DEVTYPE_GPU &&
                        same_pci(&ls->remote, dom, bus, dev)) {
                        o->nvlinks++;
                        o->line_rate_mbps = ls->line_rate_mbps;
                    }
                }
            }
            o->health = OFM_DEV_OK;
        }
        k++;
    }
    *cnt = k;
    return OFM_HAL_OK;
}

static int gpu_link(ofm_hal *h, uint32_t gpu, uint32_t link, ofm_hal_link *out)
{
    nv_impl *n = nv_of(h);
    if (n->gpu_side)
        return n->gpu_side->ops->gpu_link(n->gpu_side, gpu, link, out);
    gpu_rec *g = gpu_by_id(n, gpu);
    if (!g)
        return nv_fail(h, OFM_HAL_EINVAL, "no GPU %u (it sent no fabric probe)", gpu);
    uint32_t dom, bus, dev;
    pci_of_gpu(g, &dom, &bus, &dev);
    memset(out, 0, sizeof *out);
    out->prov = OFM_PROV_REAL;
    for (size_t s = 0; s < n->nsw; s++) {
        if (n->sw[s].fd < 0 || read_status(h, &n->sw[s], false) != OFM_HAL_OK)
            continue;
        for (uint32_t p = 0; p < NVSW_MAX_LINKS; p++) {
            const nvsw_link_status *ls = &n->sw[s].status->link[p];
            if (ls->remote.device_type == NVSW_DEVTYPE_GPU && same_pci(&ls->remote, dom, bus, dev) &&
                ls->remote_link == link) {
                ofm_hal_link sv;
                link_view(n, ls, n->sw[s].status->enabled_mask >> p & 1, &sv);
                out->state = sv.state;
                if (sv.state == OFM_LINK_ACTIVE || sv.state == OFM_LINK_TRAINING) {
                    out->remote_type = OFM_REMOTE_SWITCH;
                    out->remote_id = n->sw[s].phys_id;
                    out->remote_link = p;
                }
            }
        }
    }
    return OFM_HAL_OK;
}

static int fabric_get(ofm_hal *h, uint32_t gpu, ofm_hal_fabric_info *out)
{
    nv_impl *n = nv_of(h);
    if (n->gpu_side && n->gpu_side->ops->fabric_get)
        return n->gpu_side->ops->fabric_get(n->gpu_side, gpu, out);
    gpu_rec *g = gpu_by_id(n, gpu);
    if (!g)
        return nv_fail(h, OFM_HAL_EINVAL, "no GPU %u (it sent no fabric probe)", gpu);
    memset(out, 0, sizeof *out);
    out->prov = OFM_PROV_REAL;
    out->state = g->state;
    out->status = g->status;
    out->clique_id = g->state == OFM_FABRIC_COMPLETED && !g->status ? 1 : 0;
    return OFM_HAL_OK;
}

/* Registration = answering the GPU's probe request. Completed with status 0
 * sends the fabric identity; a failure status sends an error response so the
 * GPU stops waiting. */
static int fabric_set(ofm_hal *h, uint32_t gpu, ofm_fabric_state st, int status)
{
    nv_impl *n = nv_of(h);
    if (!n->o.manager)
        return nv_fail(h, OFM_HAL_ENOTSUP, "read-only NVSwitch backend");
    if (st != OFM_FABRIC_COMPLETED)
        return OFM_HAL_OK;  /* the states before Completed are the GPU's own */
    gpu_rec *g = gpu_by_id(n, gpu);
    /* GPUs probe when their driver loads; a manager that starts later (a
     * restart) finds no request from GPUs registered before. One budget for
     * all of them, so such a start is not delayed per GPU. */
    uint64_t t0 = mono_ns(), deadline = t0 + n->probe_wait_left_ns;
    while ((!g || !g->have_request) && mono_ns() < deadline) {
        drain_inband(h);
        g = gpu_by_id(n, gpu);
        if (g && g->have_request)
            break;
        struct timespec ts = {0, 2 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    uint64_t used = mono_ns() - t0;
    n->probe_wait_left_ns = used < n->probe_wait_left_ns ? n->probe_wait_left_ns - used : 0;
    if (!g || !g->have_request) {
        if (g && !status) {
            /* known (from the GPU side or an earlier probe): nothing outstanding */
            OFM_DEBUG("nvswitch: GPU %u has no fabric probe outstanding; registered before", gpu);
            return OFM_HAL_OK;
        }
        return nv_fail(h, OFM_HAL_EIO, "GPU %u sent no fabric probe request within %u ms", gpu,
                       PROBE_WAIT_MS);
    }
    int rc = send_probe_response(h, g, status);
    if (rc != OFM_HAL_OK)
        return rc;
    g->have_request = false;
    g->state = OFM_FABRIC_COMPLETED;
    g->status = status;
    if (n->gpu_side && n->gpu_side->ops->fabric_get) {
        /* the GPU side says whether the GPU accepted it */
        ofm_hal_fabric_info fi;
        if (n->gpu_side->ops->fabric_get(n->gpu_side, gpu, &fi) == OFM_HAL_OK && fi.status && !status)
            return nv_fail(h, OFM_HAL_EIO, "GPU %u: fabric registration failed (status %d)", gpu,
                           fi.status);
    }
    return OFM_HAL_OK;
}

/* -------------------------------------------------------------- routing */

/* Access or trunk configuration for a port before any route uses it; the
 * requester link ID lets responses find their way back to the GPU link. */
static int configure_port(ofm_hal *h, sw_rec *s, uint32_t port)
{
    if (s->configured_ports >> port & 1)
        return OFM_HAL_OK;
    int rc = read_status(h, s, false);
    if (rc != OFM_HAL_OK)
        return rc;
    ofm_hal_link l;
    link_view(nv_of(h), &s->status->link[port], s->status->enabled_mask >> port & 1, &l);
    nvsw_port_config pc;
    memset(&pc, 0, sizeof pc);
    pc.port = port;
    pc.count = NVSW_CONN_COUNT_2048;
    pc.enable_vc1 = 0;
    if (l.remote_type == OFM_REMOTE_SWITCH) {
        pc.type = NVSW_CONN_TRUNK_SWITCH;
    } else {
        pc.type = NVSW_CONN_ACCESS_GPU;
        /* 11 bits: GPU target (6) and its link number (5) */
        pc.requester_link_id = ((l.remote_id & 0x3f) << 5) | (l.remote_link & 0x1f);
    }
    rc = DEV_CALL(h, s, NVSW_CMD_SET_SWITCH_PORT_CONFIG, &pc);
    if (rc == OFM_HAL_OK)
        s->configured_ports |= 1ull << port;
    return rc;
}

static int write_switch(ofm_hal *h, sw_rec *s, ls10_write *w, size_t n)
{
    size_t nruns = ls10_runs(w, n, NULL, 0);
    ls10_run *runs = malloc((nruns ? nruns : 1) * sizeof *runs);
    void *buf = malloc(sizeof(nvsw_set_rid));  /* the largest params */
    int rc = OFM_HAL_OK;
    if (!runs || !buf) {
        rc = nv_fail(h, OFM_HAL_ENOSPC, "out of memory");
        goto out;
    }
    ls10_runs(w, n, runs, nruns);
    for (size_t i = 0; i < n && rc == OFM_HAL_OK; i++)
        if (w[i].valid)
            rc = configure_port(h, s, w[i].port);
    /* Isolation first: invalidate the remap entries of removed destinations
     * (traffic stops at the ingress), then their RID/RLAN entries. Additions
     * go the other way: RLAN, RID, and the remap entry that opens the path
     * last. Each pass is one call per contiguous run of at most 64. */
    for (int pass = 0; pass < 5 && rc == OFM_HAL_OK; pass++) {
        for (size_t r = 0; r < nruns && rc == OFM_HAL_OK; r++) {
            const ls10_write *f = &w[runs[r].first];
            uint32_t cnt = (uint32_t)runs[r].count;
            if (f->valid != (pass >= 2))
                continue;
            memset(buf, 0, sizeof(nvsw_set_rid));
            switch (pass) {
            case 0: {
                nvsw_set_remap_valid *p = buf;
                *p = (nvsw_set_remap_valid){.port = f->port, .table = NVSW_REMAP_PRIMARY,
                                            .first = f->index, .count = cnt};
                rc = DEV_CALL(h, s, NVSW_CMD_SET_REMAP_POLICY_VALID, p);
                break;
            }
            case 1: {
                nvsw_set_rid_valid *p = buf;
                *p = (nvsw_set_rid_valid){.port = f->port, .first = f->index, .count = cnt};
                rc = DEV_CALL(h, s, NVSW_CMD_SET_ROUTING_ID_VALID, p);
                if (rc == OFM_HAL_OK) {
                    nvsw_set_rlan_valid *q = buf;
                    *q = (nvsw_set_rlan_valid){.port = f->port, .first = f->index, .count = cnt};
                    rc = DEV_CALL(h, s, NVSW_CMD_SET_ROUTING_LAN_VALID, q);
                }
                break;
            }
            case 2: {
                nvsw_set_rlan *p = buf;
                p->port = f->port, p->first = f->index, p->count = cnt;
                for (uint32_t k = 0; k < cnt; k++)
                    p->entry[k] = f[k].rlan;
                rc = DEV_CALL(h, s, NVSW_CMD_SET_ROUTING_LAN, p);
                break;
            }
            case 3: {
                nvsw_set_rid *p = buf;
                p->port = f->port, p->first = f->index, p->count = cnt;
                for (uint32_t k = 0; k < cnt; k++)
                    p->entry[k] = f[k].rid;
                rc = DEV_CALL(h, s, NVSW_CMD_SET_ROUTING_ID, p);
                break;
            }
            case 4: {
                nvsw_set_remap *p = buf;
                p->port = f->port, p->table = NVSW_REMAP_PRIMARY, p->first = f->index, p->count = cnt;
                for (uint32_t k = 0; k < cnt; k++)
                    p->entry[k] = f[k].remap;
                rc = DEV_CALL(h, s, NVSW_CMD_SET_REMAP_POLICY, p);
                break;
            }
            }
        }
    }
out:
    free(runs);
    free(buf);
    return rc;
}

static int route_write(ofm_hal *h, const ofm_route_entry *e, size_t n)
{
    nv_impl *nv = nv_of(h);
    if (!nv->o.manager)
        return nv_fail(h, OFM_HAL_ENOTSUP, "read-only NVSwitch backend");
    /* validate everything before the first call */
    for (size_t i = 0; i < n; i++) {
        sw_rec *s;
        int rc = check_port(h, e[i].sw, e[i].in_port, &s);
        if (rc != OFM_HAL_OK)
            return rc;
        if (ls10_target_of_gpu(e[i].dst_gpu) < 0)
            return nv_fail(h, OFM_HAL_EINVAL, "entry %zu: GPU %u cannot be an LS10 target", i,
                           e[i].dst_gpu);
        if (ofm_portset_beyond(e[i].egress, s->nports))
            return nv_fail(h, OFM_HAL_EINVAL, "entry %zu: egress set names ports beyond %u", i,
                           s->nports);
    }
    ls10_write *w = malloc((n ? n : 1) * sizeof *w);
    ofm_route_entry *mine = malloc((n ? n : 1) * sizeof *mine);
    int rc = OFM_HAL_OK;
    if (!w || !mine)
        rc = nv_fail(h, OFM_HAL_ENOSPC, "out of memory");
    for (size_t si = 0; si < nv->nsw && rc == OFM_HAL_OK; si++) {
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            if (e[i].sw == nv->sw[si].phys_id)
                mine[k++] = e[i];
        if (!k)
            continue;
        size_t bad = 0;
        if (ls10_encode_all(mine, k, w, &bad) < 0) {
            rc = nv_fail(h, OFM_HAL_EINVAL,
                         "switch %u port %u to GPU %u: more than %d egress ports in one entry",
                         mine[bad].sw, mine[bad].in_port, mine[bad].dst_gpu, NVSW_RID_PORTS_MAX);
            break;
        }
        rc = write_switch(h, &nv->sw[si], w, k);
    }
    free(w);
    free(mine);
    return rc;
}

/* Read one port's three tables with the driver's cursor. */
static int read_port(ofm_hal *h, sw_rec *s, uint32_t port, ofm_route_entry **out, size_t *n,
                     size_t *cap, size_t *inconsistent)
{
    nvsw_get_remap *gr = malloc(sizeof *gr);
    nvsw_get_rid *gi = malloc(sizeof *gi);
    nvsw_get_rlan *gl = malloc(sizeof *gl);
    nvsw_remap_entry *remap = NULL;
    nvsw_rid_idx_entry *rid = NULL;
    nvsw_rlan_idx_entry *rlan = NULL;
    size_t nremap = 0, nrid = 0, nrlan = 0;
    int rc = !gr || !gi || !gl ? nv_fail(h, OFM_HAL_ENOSPC, "out of memory") : OFM_HAL_OK;
    for (uint32_t first = 0; rc == OFM_HAL_OK && first < LS10_REMAP_DEPTH;) {
        memset(gr, 0, sizeof *gr);
        gr->port = port, gr->table = NVSW_REMAP_PRIMARY, gr->first = first;
        if ((rc = DEV_CALL(h, s, NVSW_CMD_GET_REMAP_POLICY, gr)) != OFM_HAL_OK)
            break;
        if (gr->count > NVSW_TABLE_BATCH || gr->next <= first) {
            rc = nv_fail(h, OFM_HAL_EIO, "GET_REMAP_POLICY returned an impossible cursor");
            break;
        }
        nvsw_remap_entry *nr = realloc(remap, (nremap + gr->count + 1) * sizeof *nr);
        if (!nr) { rc = nv_fail(h, OFM_HAL_ENOSPC, "out of memory"); break; }
        remap = nr;
        memcpy(remap + nremap, gr->entry, gr->count * sizeof *nr);
        nremap += gr->count;
        first = gr->next;
    }
    for (uint32_t first = 0; rc == OFM_HAL_OK && first < LS10_RID_DEPTH;) {
        memset(gi, 0, sizeof *gi);
        gi->port = port, gi->first = first;
        if ((rc = DEV_CALL(h, s, NVSW_CMD_GET_ROUTING_ID, gi)) != OFM_HAL_OK)
            break;
        if (gi->count > NVSW_TABLE_BATCH || gi->next <= first) {
            rc = nv_fail(h, OFM_HAL_EIO, "GET_ROUTING_ID returned an impossible cursor");
            break;
        }
        nvsw_rid_idx_entry *nr = realloc(rid, (nrid + gi->count + 1) * sizeof *nr);
        if (!nr) { rc = nv_fail(h, OFM_HAL_ENOSPC, "out of memory"); break; }
        rid = nr;
        memcpy(rid + nrid, gi->entry, gi->count * sizeof *nr);
        nrid += gi->count;
        first = gi->next;
    }
    for (uint32_t first = 0; rc == OFM_HAL_OK && first < LS10_RLAN_DEPTH;) {
        memset(gl, 0, sizeof *gl);
        gl->port = port, gl->first = first;
        if ((rc = DEV_CALL(h, s, NVSW_CMD_GET_ROUTING_LAN, gl)) != OFM_HAL_OK)
            break;
        if (gl->count > NVSW_TABLE_BATCH || gl->next <= first) {
            rc = nv_fail(h, OFM_HAL_EIO, "GET_ROUTING_LAN returned an impossible cursor");
            break;
        }
        nvsw_rlan_idx_entry *nr = realloc(rlan, (nrlan + gl->count + 1) * sizeof *nr);
        if (!nr) { rc = nv_fail(h, OFM_HAL_ENOSPC, "out of memory"); break; }
        rlan = nr;
        memcpy(rlan + nrlan, gl->entry, gl->count * sizeof *nr);
        nrlan += gl->count;
        first = gl->next;
    }
    if (rc == OFM_HAL_OK) {
        if (*n + nremap > *cap) {
            size_t nc = *n + nremap + 64;
            ofm_route_entry *ne = realloc(*out, nc * sizeof *ne);
            if (!ne)
                rc = nv_fail(h, OFM_HAL_ENOSPC, "out of memory");
            else
                *out = ne, *cap = nc;
        }
        if (rc == OFM_HAL_OK)
            ls10_decode_port(s->phys_id, port, remap, nremap, rid, nrid, rlan, nrlan, *out, *cap, n,
                             inconsistent);
    }
    free(gr);
    free(gi);
    free(gl);
    free(remap);
    free(rid);
    free(rlan);
    return rc;
}

static int read_switch(ofm_hal *h, sw_rec *s, ofm_route_entry **all, size_t *n)
{
    size_t cap = 0, inconsistent = 0;
    *all = NULL;
    *n = 0;
    for (uint32_t port = 0; port < s->nports && port < NVSW_MAX_LINKS; port++) {
        if (!(s->enabled >> port & 1))
            continue;
        size_t before = *n;
        int rc = read_port(h, s, port, all, n, &cap, &inconsistent);
        if (rc != OFM_HAL_OK)
            return rc;
        (void)before;
    }
    if (inconsistent)
        OFM_WARN("nvswitch: NVSwitch %u holds %zu routing entr%s whose remap, routing ID and "
                 "routing LAN parts disagree; they carry no traffic and are ignored",
                 s->phys_id, inconsistent, inconsistent == 1 ? "y" : "ies");
    return OFM_HAL_OK;
}

static int route_read(ofm_hal *h, uint32_t sw, ofm_route_entry *out, size_t cap, size_t *n)
{
    sw_rec *s;
    int rc = check_port(h, sw, 0, &s);
    if (rc != OFM_HAL_OK)
        return rc;
    ofm_route_entry *all = NULL;
    rc = read_switch(h, s, &all, n);
    if (rc == OFM_HAL_OK)
        memcpy(out, all, (*n < cap ? *n : cap) * sizeof *out);
    free(all);
    return rc;
}

static int route_clear_switch(ofm_hal *h, uint32_t sw)
{
    sw_rec *s;
    int rc = check_port(h, sw, 0, &s);
    if (rc != OFM_HAL_OK)
        return rc;
    ofm_route_entry *all = NULL;
    size_t n = 0;
    rc = read_switch(h, s, &all, &n);
    for (size_t i = 0; i < n; i++)
        all[i].egress = ofm_portset_none();
    if (rc == OFM_HAL_OK && n)
        rc = route_write(h, all, n);
    free(all);
    return rc;
}

/* ------------------------------------------------- heartbeat and events */

static int set_states(ofm_hal *h, uint32_t drv, bool device)
{
    nv_impl *n = nv_of(h);
    int rc = OFM_HAL_OK;
    for (size_t i = 0; i < n->nsw; i++) {
        if (n->sw[i].fd < 0)
            continue;
        nvsw_set_driver_state ds = {drv};
        int r = DEV_CALL(h, &n->sw[i], NVSW_CMD_SET_FM_DRIVER_STATE, &ds);
        if (r == OFM_HAL_OK && device) {
            nvsw_set_device_state dv = {drv == NVSW_DRV_CONFIGURED ? NVSW_DEVST_CONFIGURED
                                                                    : NVSW_DEVST_STANDBY};
            r = DEV_CALL(h, &n->sw[i], NVSW_CMD_SET_DEVICE_FABRIC_STATE, &dv);
        }
        if (r != OFM_HAL_OK && rc == OFM_HAL_OK)
            rc = r;
    }
    return rc;
}

static const char *drv_state_name(uint32_t s)
{
    switch (s) {
    case NVSW_DRV_OFFLINE: return "offline";
    case NVSW_DRV_STANDBY: return "standby";
    case NVSW_DRV_CONFIGURED: return "configured";
    case NVSW_DRV_MANAGER_TIMEOUT: return "manager timeout";
    case NVSW_DRV_MANAGER_ERROR: return "manager error";
    default: return "unknown";
    }
}

/* Keep the driver's heartbeat: the driver moves to "manager timeout" when no
 * state update arrives within the timeout. A timeout that already happened
 * (the manager was stopped or starved) is reported, then cleared. */
static void heartbeat(ofm_hal *h)
{
    nv_impl *n = nv_of(h);
    uint64_t now = mono_ns();
    if (!n->o.manager || now - n->hb_ns < (uint64_t)n->hb_ms * 1000000u / 4)
        return;
    nvsw_get_devices_v2 *dv = calloc(1, sizeof *dv);
    if (dv && nvsw_call(n->ctl, NVSW_IOC_CTL, NVSW_CTL_GET_DEVICES_V2, dv, sizeof *dv) == 0)
        for (uint32_t i = 0; i < dv->count && i < NVSW_MAX_DEVICES; i++)
            if (dv->info[i].driver_state == NVSW_DRV_MANAGER_TIMEOUT) {
                OFM_WARN("nvswitch: heartbeat missed: the NVSwitch driver put NVSwitch %u in "
                         "'%s' after %.1f s without a heartbeat "
                         "(timeout %u ms); the process was stopped or starved; restoring the "
                         "configured state",
                         dv->info[i].phys_id, drv_state_name(dv->info[i].driver_state),
                         (double)(now - n->hb_ns) / 1e9, n->hb_ms);
                break;
            }
    free(dv);
    if (set_states(h, NVSW_DRV_CONFIGURED, false) == OFM_HAL_OK)
        n->hb_ns = now;
}

static void push_event(nv_impl *n, ofm_hal_event *out, size_t cap, size_t *k, ofm_hal_event ev)
{
    if (*k >= cap)
        return;
    ev.prov = OFM_PROV_REAL;
    ev.seq = ++n->ev_seq;
    if (!ev.time_ns)
        ev.time_ns = real_ns();
    out[(*k)++] = ev;
}

static int read_events(ofm_hal *h, uint64_t *cursor, ofm_hal_event *out, size_t cap, size_t *cnt)
{
    nv_impl *n = nv_of(h);
    size_t k = 0;
    heartbeat(h);
    drain_inband(h);
    /* A GPU that probes after bring-up (its driver reloaded, or it was
     * reset) is answered at once: registration does not depend on
     * partitions. */
    for (size_t i = 0; n->o.manager && i < n->ngpu; i++)
        if (n->gpu[i].have_request && send_probe_response(h, &n->gpu[i], 0) == OFM_HAL_OK) {
            OFM_INFO("nvswitch: GPU %u (%s) probed the fabric again; answered", n->gpu[i].phys_id,
                     n->gpu[i].bdf);
            n->gpu[i].have_request = false;
            n->gpu[i].state = OFM_FABRIC_COMPLETED;
            n->gpu[i].status = 0;
        }
    nvsw_get_errors *ge = malloc(sizeof *ge);
    if (!ge)
        return nv_fail(h, OFM_HAL_ENOSPC, "out of memory");
    for (size_t i = 0; i < n->nsw && k < cap; i++) {
        sw_rec *s = &n->sw[i];
        if (s->fd < 0)
            continue;
        for (uint32_t sev = 0; sev < 2 && k < cap; sev++) {
            memset(ge, 0, sizeof *ge);
            ge->severity = sev;
            ge->index = s->err_cursor[sev];
            if (DEV_CALL(h, s, NVSW_CMD_GET_ERRORS, ge) != OFM_HAL_OK)
                continue;
            uint32_t m = ge->count < NVSW_ERRORS_PER_CALL ? ge->count : NVSW_ERRORS_PER_CALL;
            uint32_t used = 0;
            for (; used < m && k < cap; used++) {
                const nvsw_error *er = &ge->error[used];
                ofm_hal_event ev = {.kind = OFM_EVT_SXID, .code = er->value, .fatal = sev == 1,
                                    .sw = s->phys_id, .port = er->instance, .time_ns = er->time_ns};
                size_t dl = strnlen((const char *)er->description, sizeof er->description);
                if (dl >= sizeof ev.detail)
                    dl = sizeof ev.detail - 1;
                memcpy(ev.detail, er->description, dl);
                push_event(n, out, cap, &k, ev);
            }
            /* errors not taken (buffer full) are read again next time */
            s->err_cursor[sev] = used == m ? ge->next_index : s->err_cursor[sev] + used;
        }
        /* link transitions, from the NVLink status */
        if (read_status(h, s, true) != OFM_HAL_OK)
            continue;
        uint64_t up = 0;
        for (uint32_t p = 0; p < NVSW_MAX_LINKS; p++)
            if ((s->status->enabled_mask >> p & 1) && s->status->link[p].link_state == NVSW_LINK_ACTIVE)
                up |= 1ull << p;
        if (n->links_seen) {
            uint64_t ch = up ^ s->port_up;
            for (uint32_t p = 0; p < NVSW_MAX_LINKS && k < cap; p++)
                if (ch >> p & 1)
                    push_event(n, out, cap, &k,
                               (ofm_hal_event){.kind = up >> p & 1 ? OFM_EVT_LINK_UP : OFM_EVT_LINK_DOWN,
                                               .sw = s->phys_id, .port = p});
        }
        s->port_up = up;
    }
    n->links_seen = true;
    free(ge);
    if (k)
        *cursor = n->ev_seq;
    *cnt = k;
    return OFM_HAL_OK;
}

/* Where the monitor starts: after every error the driver's buffers hold now.
 * Those were raised before this manager ran (they are in the kernel log
 * already); bring-up reports the fabric as it finds it, and replaying them
 * after "ready" as new errors, with runtime advice, would mislead. Only
 * GET_ERRORS is called: no heartbeat, probe answer or link baseline, which
 * read_events also does and which belong to the monitor's first poll. */
static int event_cursor_now(ofm_hal *h, uint64_t *cursor)
{
    nv_impl *n = nv_of(h);
    nvsw_get_errors *ge = malloc(sizeof *ge);
    if (!ge)
        return nv_fail(h, OFM_HAL_ENOSPC, "out of memory");
    uint64_t skipped = 0;
    for (size_t i = 0; i < n->nsw; i++) {
        sw_rec *s = &n->sw[i];
        if (s->fd < 0)
            continue;
        for (uint32_t sev = 0; sev < 2; sev++)
            /* bounded: the driver's buffer is finite; a driver that kept
             * answering would otherwise hold bring-up forever */
            for (int round = 0; round < 1024; round++) {
                memset(ge, 0, sizeof *ge);
                ge->severity = sev;
                ge->index = s->err_cursor[sev];
                if (DEV_CALL(h, s, NVSW_CMD_GET_ERRORS, ge) != OFM_HAL_OK || ge->count == 0 ||
                    ge->next_index <= s->err_cursor[sev])
                    break;
                skipped += ge->count < NVSW_ERRORS_PER_CALL ? ge->count : NVSW_ERRORS_PER_CALL;
                s->err_cursor[sev] = ge->next_index;
            }
    }
    free(ge);
    if (skipped)
        OFM_INFO("nvswitch: %" PRIu64 " SXid(s) recorded by the driver before this start are "
                 "not reported again (they are in the kernel log); monitoring starts after them",
                 skipped);
    *cursor = n->ev_seq;
    return OFM_HAL_OK;
}

/* ---------------------------------------------------------- identity */

static int driver_version(ofm_hal *h, char *buf, size_t len)
{
    snprintf(buf, len, "%s", nv_of(h)->kernel_version);
    return OFM_HAL_OK;
}

static int list_switches(ofm_hal *h, ofm_hal_switch *out, size_t cap, size_t *cnt)
{
    nv_impl *n = nv_of(h);
    size_t k = 0;
    for (size_t i = 0; i < n->nsw; i++, k++) {
        if (k >= cap)
            continue;
        sw_rec *s = &n->sw[i];
        ofm_hal_switch *o = &out[k];
        memset(o, 0, sizeof *o);
        o->prov = OFM_PROV_REAL;
        o->phys_id = s->phys_id;
        snprintf(o->uuid, sizeof o->uuid, "%s", s->uuid);
        snprintf(o->pci_bdf, sizeof o->pci_bdf, "%s", s->bdf);
        o->gen = OFM_SWITCH_GEN3;
        o->nports = s->nports;
        o->health = s->health;
    }
    *cnt = k;
    return OFM_HAL_OK;
}

/* --- GPU-side operations: delegated, or not available without NVML --- */

#define DELEGATE(name, proto, args)                                                          \
    static int name proto                                                                    \
    {                                                                                        \
        nv_impl *n = nv_of(h);                                                               \
        if (n->gpu_side && n->gpu_side->ops->name)                                           \
            return n->gpu_side->ops->name args;                                              \
        return nv_fail(h, OFM_HAL_ENOTSUP,                                                   \
                       "MIG and GPU reset need the GPU-side (NVML) backend");                \
    }
DELEGATE(mig_mode_get, (ofm_hal * h, uint32_t g, ofm_hal_mig_mode *o), (n->gpu_side, g, o))
DELEGATE(mig_mode_set, (ofm_hal * h, uint32_t g, bool e), (n->gpu_side, g, e))
DELEGATE(gpu_reset, (ofm_hal * h, uint32_t g), (n->gpu_side, g))
DELEGATE(gi_create, (ofm_hal * h, uint32_t g, uint32_t p, uint32_t s, uint32_t z, uint32_t *id),
         (n->gpu_side, g, p, s, z, id))
DELEGATE(gi_destroy, (ofm_hal * h, uint32_t g, uint32_t id), (n->gpu_side, g, id))
DELEGATE(gi_list, (ofm_hal * h, uint32_t g, ofm_hal_gpu_instance *o, size_t c, size_t *k),
         (n->gpu_side, g, o, c, k))
DELEGATE(ci_create,
         (ofm_hal * h, uint32_t g, uint32_t gi, uint32_t p, uint32_t s, uint32_t z, uint32_t *id),
         (n->gpu_side, g, gi, p, s, z, id))
DELEGATE(ci_destroy, (ofm_hal * h, uint32_t g, uint32_t gi, uint32_t ci), (n->gpu_side, g, gi, ci))
DELEGATE(ci_list,
         (ofm_hal * h, uint32_t g, uint32_t gi, ofm_hal_compute_instance *o, size_t c, size_t *k),
         (n->gpu_side, g, gi, o, c, k))

static void nv_close(ofm_hal *h)
{
    nv_impl *n = nv_of(h);
    if (n) {
        /* A clean exit leaves the driver in standby (no manager), not in a
         * configured state that would time out into "manager timeout". */
        if (n->o.manager)
            set_states(h, NVSW_DRV_STANDBY, false);
        for (size_t i = 0; i < n->nsw; i++) {
            nvsw_close(n->sw[i].fd);
            free(n->sw[i].status);
        }
        nvsw_close(n->cap);
        nvsw_close(n->ctl);
        if (n->gpu_side)
            ofm_hal_close(n->gpu_side);
        free(n);
    }
    free(h);
}

static const ofm_hal_ops nv_ops = {
    .name = "nvswitch",
    .close = nv_close,
    .driver_version = driver_version,
    .list_switches = list_switches,
    .list_gpus = list_gpus,
    .switch_port = switch_port,
    .gpu_link = gpu_link,
    .train_port = train_port,
    .reset_port = reset_port,
    .route_write = route_write,
    .route_clear_switch = route_clear_switch,
    .route_read = route_read,
    .read_events = read_events,
    .event_cursor_now = event_cursor_now,
    .fabric_get = fabric_get,
    .fabric_set = fabric_set,
    .mig_mode_get = mig_mode_get,
    .mig_mode_set = mig_mode_set,
    .gpu_reset = gpu_reset,
    .gi_create = gi_create,
    .gi_destroy = gi_destroy,
    .gi_list = gi_list,
    .ci_create = ci_create,
    .ci_destroy = ci_destroy,
    .ci_list = ci_list,
    .learn_gpus = learn_gpus,
};

/* ------------------------------------------------------------- start-up */

__attribute__((format(printf, 3, 4))) static int open_fail(char *err, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, len, fmt, ap);
    va_end(ap);
    return -1;
}

static const char *arch_name(uint32_t a)
{
    switch (a) {
    case NVSW_ARCH_SV10: return "SV10 (first generation, DGX-2/HGX-2)";
    case NVSW_ARCH_LR10: return "LR10 (second generation, HGX A100)";
    case NVSW_ARCH_LS10: return "LS10";
    default: return "an unknown generation";
    }
}

static int init_switch(nv_impl *n, ofm_hal *h, sw_rec *s, char *err, size_t errlen)
{
    int fd = nvsw_open_dev(n->o.dev_root, s->instance);
    if (fd < 0) {
        if (fd == -ENODEV) {
            s->health = OFM_DEV_FAILED;
            OFM_WARN("nvswitch: /dev/nvidia-nvswitch%u (NVSwitch %u, PCI %s) refuses opening "
                     "(excluded by the driver); it is not used",
                     s->instance, s->phys_id, s->bdf);
            return 0;
        }
        return open_fail(err, errlen, "cannot open /dev/nvidia-nvswitch%u: %s%s", s->instance,
                         strerror(-fd),
                         fd == -EACCES ? "; run openfm as root or give it the device nodes" : "");
    }
    s->fd = fd;
    if (n->o.manager && n->cap >= 0) {
        nvsw_acquire_capability ac = {.cap_fd = (uint64_t)n->cap, .cap = NVSW_CAP_FABRIC_MANAGEMENT};
        if (DEV_CALL(h, s, NVSW_CMD_ACQUIRE_CAPABILITY, &ac) != OFM_HAL_OK)
            return open_fail(err, errlen, "%s", h->last_error);
    }
    nvsw_get_info gi;
    memset(&gi, 0, sizeof gi);
    static const uint32_t want[] = {NVSW_INFO_ARCH, NVSW_INFO_NUM_PORTS, NVSW_INFO_ENABLED_PORTS_LO,
                                    NVSW_INFO_ENABLED_PORTS_HI, NVSW_INFO_REMAP_SIZE,
                                    NVSW_INFO_RID_SIZE, NVSW_INFO_RLAN_SIZE, NVSW_INFO_PHYSICAL_ID};
    gi.count = sizeof want / sizeof want[0];
    memcpy(gi.index, want, sizeof want);
    if (DEV_CALL(h, s, NVSW_CMD_GET_INFO, &gi) != OFM_HAL_OK)
        return open_fail(err, errlen, "%s", h->last_error);
    if (gi.info[0] != NVSW_ARCH_LS10)
        return open_fail(err, errlen,
                         "NVSwitch %u (PCI %s) is %s: openfm's NVSwitch driver backend supports "
                         "third-generation NVSwitch (LS10: HGX H100/H200/H800) only; use NVIDIA "
                         "Fabric Manager on this system (see docs/hardware.md)",
                         s->phys_id, s->bdf, arch_name(gi.info[0]));
    s->nports = gi.info[1] > NVSW_MAX_LINKS ? NVSW_MAX_LINKS : gi.info[1];
    s->enabled = (uint64_t)gi.info[3] << 32 | gi.info[2];
    if (gi.info[4] < LS10_REMAP_DEPTH || gi.info[5] < LS10_RID_DEPTH || gi.info[6] < LS10_RLAN_DEPTH)
        return open_fail(err, errlen,
                         "NVSwitch %u reports routing tables smaller than LS10's (remap %u, "
                         "routing ID %u, routing LAN %u)",
                         s->phys_id, gi.info[4], gi.info[5], gi.info[6]);
    s->health = OFM_DEV_OK;
    return 0;
}

static int open_nvswitch(const ofm_nvswitch_opts *opts, ofm_hal **out, char *err, size_t errlen)
{
    ofm_nvswitch_opts o = opts ? *opts : (ofm_nvswitch_opts){0};
    ofm_hal *h = calloc(1, sizeof *h);
    nv_impl *n = calloc(1, sizeof *n);
    *out = NULL;
    if (!h || !n) {
        free(h);
        free(n);
        if (o.gpu_side)
            ofm_hal_close(o.gpu_side);
        snprintf(err, errlen, "out of memory");
        return OFM_HAL_ENOSPC;
    }
    h->ops = &nv_ops;
    h->prov = OFM_PROV_REAL;
    h->impl = n;
    n->o = o;
    n->gpu_side = o.gpu_side;
    n->ctl = n->cap = -1;
    n->hb_ms = o.heartbeat_timeout_ms ? o.heartbeat_timeout_ms : DEFAULT_HEARTBEAT_MS;
    n->probe_wait_left_ns = (uint64_t)PROBE_WAIT_MS * 1000000u;
    int rc = OFM_HAL_ENODEV;

    n->ctl = nvsw_open_ctl(o.dev_root);
    if (n->ctl < 0) {
        open_fail(err, errlen, "cannot open %s/nvidia-nvswitchctl: %s; is the NVIDIA NVSwitch "
                  "driver loaded (nvidia.ko with NVSwitch support, %s)?", o.dev_root,
                  strerror(-n->ctl), NVSW_ABI_VERSION);
        rc = n->ctl == -ENOENT ? OFM_HAL_EABSENT : OFM_HAL_ENODEV;
        goto fail;
    }
    nvsw_check_version cv;
    memset(&cv, 0, sizeof cv);
    snprintf(cv.user, sizeof cv.user, "%s", NVSW_ABI_VERSION);
    int c = NVSW_CALL(n->ctl, NVSW_IOC_CTL, NVSW_CTL_CHECK_VERSION, &cv);
    if (c) {
        open_fail(err, errlen, "NVSwitch driver refused CHECK_VERSION (%zu-byte params): %s; its "
                  "interface is not the %s one openfm speaks: install the NVIDIA %s driver",
                  sizeof cv, strerror(-c), NVSW_ABI_VERSION, NVSW_ABI_VERSION);
        goto fail;
    }
    cv.kernel[sizeof cv.kernel - 1] = '\0';
    snprintf(n->kernel_version, sizeof n->kernel_version, "%s", cv.kernel);
    if (!cv.is_compatible) {
        open_fail(err, errlen, "NVSwitch driver version %s is not compatible with openfm, built "
                  "for driver %s: install the NVIDIA %s driver (or an openfm built for %s)",
                  cv.kernel, NVSW_ABI_VERSION, NVSW_ABI_VERSION, cv.kernel);
        rc = OFM_HAL_ENOTSUP;
        goto fail;
    }
    nvsw_get_devices_v2 *dv = calloc(1, sizeof *dv);
    if (!dv) {
        open_fail(err, errlen, "out of memory");
        goto fail;
    }
    c = NVSW_CALL(n->ctl, NVSW_IOC_CTL, NVSW_CTL_GET_DEVICES_V2, dv);
    if (c) {
        open_fail(err, errlen, "NVSwitch driver refused GET_DEVICES_V2 (%zu-byte params): %s",
                  sizeof *dv, strerror(-c));
        free(dv);
        goto fail;
    }
    for (uint32_t i = 0; i < dv->count && i < NVSW_MAX_DEVICES; i++) {
        const nvsw_device_info_v2 *d = &dv->info[i];
        sw_rec *s = &n->sw[n->nsw++];
        memset(s, 0, sizeof *s);
        s->fd = -1;
        s->instance = d->instance;
        s->phys_id = d->phys_id;
        s->pci_domain = d->pci_domain, s->pci_bus = d->pci_bus, s->pci_device = d->pci_device;
        s->pci_function = d->pci_function;
        uuid_str("SWX-", d->uuid, s->uuid, sizeof s->uuid);
        snprintf(s->bdf, sizeof s->bdf, "%04x:%02x:%02x.%x", d->pci_domain & 0xffff,
                 d->pci_bus & 0xff, d->pci_device & 0x1f, d->pci_function & 0x7);
        s->health = OFM_DEV_FAILED;
        if (d->device_state == NVSW_DEVST_BLACKLISTED) {
            s->excluded = true;
            s->blacklist_reason = d->blacklist_reason;
            OFM_WARN("nvswitch: NVSwitch %u (PCI %s, /dev/nvidia-nvswitch%u) is excluded by the "
                     "driver: %s; it is not opened",
                     s->phys_id, s->bdf, s->instance, blacklist_reason(d->blacklist_reason));
        }
    }
    free(dv);
    if (n->nsw == 0) {
        open_fail(err, errlen, "the NVSwitch driver reports no NVSwitch devices");
        goto fail;
    }
    if (o.manager) {
        n->cap = nvsw_open_fm_capability();
        if (n->cap < 0 && geteuid() != 0) {
            open_fail(err, errlen, "cannot open the fabric-management capability (%s: %s); run "
                      "openfm as root", NVSW_CAP_PROC_PATH, strerror(-n->cap));
            goto fail;
        }
    }
    for (size_t i = 0; i < n->nsw; i++) {
        if (n->sw[i].excluded)
            continue;
        if (init_switch(n, h, &n->sw[i], err, errlen) < 0) {
            rc = OFM_HAL_ENODEV;
            goto fail;
        }
    }
    if (o.manager) {
        for (size_t i = 0; i < n->nsw; i++) {
            if (n->sw[i].fd < 0)
                continue;
            nvsw_set_heartbeat_timeout ht = {n->hb_ms};
            if (DEV_CALL(h, &n->sw[i], NVSW_CMD_SET_FM_HEARTBEAT_TIMEOUT, &ht) != OFM_HAL_OK) {
                open_fail(err, errlen, "%s", h->last_error);
                goto fail;
            }
        }
        if (set_states(h, NVSW_DRV_CONFIGURED, true) != OFM_HAL_OK) {
            open_fail(err, errlen, "%s", h->last_error);
            goto fail;
        }
        n->hb_ns = mono_ns();
        drain_inband(h);
    }
    *out = h;
    return OFM_HAL_OK;
fail:
    n->o.manager = false;  /* nothing was configured: leave driver states alone */
    nv_close(h);
    return rc;
}

int ofm_nvswitch_backend_open(const char *arg, const ofm_hal_open_opts *opts, ofm_hal **out,
                              char *errbuf, size_t errlen)
{
    (void)arg;
    ofm_nvswitch_opts o = {.manager = opts && opts->manager,
                           .heartbeat_timeout_ms = opts ? opts->heartbeat_timeout_ms : 0};
    snprintf(o.dev_root, sizeof o.dev_root, "%s", ofm_hal_dev_root(opts));
    return open_nvswitch(&o, out, errbuf, errlen);
}
