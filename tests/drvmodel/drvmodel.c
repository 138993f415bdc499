/* A model of the NVSwitch kernel driver (580.95.05 ABI, LS10) for tests:
 * an LD_PRELOAD library that answers open/ioctl/close on
 * /dev/nvidia-nvswitchctl, /dev/nvidia-nvswitchN and the fabric-management
 * capability over an emulated system (src/hal/emu). It checks calls the way
 * the driver does (command type, exact params size, privileges, table depths
 * and batch limits, excluded devices, the version string, the manager
 * heartbeat), keeps the programmed LS10 tables in a shared file, and turns
 * them into the emulator's routes through the emulator's own API, so the
 * emulator's traffic probe judges what the backend programmed.
 *
 * This is deliberately a second, independent reading of the tables: it walks
 * remap -> routing ID -> routing LAN per destination GPU using the address
 * each GPU was given in its probe response; it shares no code with the
 * backend's translation (src/hal/nvswitch/ls10_tables.c).
 *
 * Environment:
 *   OPENFM_DRIVER_MODEL_DIR    the emulated system (required to model anything)
 *   OPENFM_DRIVER_MODEL_ABI_SKEW=CMD  this "driver" expects CMD's params 8 bytes
 *                              larger (a driver from another release)
 *   OPENFM_DRIVER_MODEL_USER=1 callers are not root (privilege checks apply)
 *   OPENFM_DRIVER_MODEL_NO_CAP=1  the capability device refuses opening
 *   OPENFM_DRIVER_MODEL_EXCLUDE=N[,M]  switch minors excluded (in band)
 * Driver log lines ("Version mismatch ...") go to DIR/nvswitch-model.log. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hal/nvswitch/nvswitch_abi.h"
#include "openfm/emu.h"
#include "openfm/hal.h"

#define EXPORT __attribute__((visibility("default")))
#define MODEL_MAGIC 0x324c444d4d56534eull /* "NSVMMDL2" */
#define MAX_FDS 4096
#define REMAP_DEPTH 4096
#define RID_DEPTH 2048
#define RLAN_DEPTH 2048
#define EXT_DEPTH 64
#define MC_DEPTH 128
#define NPORTS 64

/* ------------------------------------------------------------ shared state */

typedef struct {
    uint32_t driver_state, device_state, timeout_ms;
    uint32_t reserved;
    uint64_t last_hb_ns;
    uint64_t port_configured;
    uint32_t port_type[NPORTS];
    uint32_t port_rlid[NPORTS];
    ofm_portset pushed[NPORTS][OFM_MAX_GPUS]; /* egress last given to the emulator */
    /* one past the highest index ever written, per table and port: reads
     * stop scanning there (everything above is empty) */
    uint32_t top_remap[4][NPORTS], top_rid[NPORTS], top_rlan[NPORTS];
} m_switch;

typedef struct {
    uint32_t registered;       /* a probe response was accepted */
    uint32_t remap_index;
    uint64_t gpa;
    uint32_t delivered_epoch;  /* request handed to a manager in this epoch */
    uint32_t answered_epoch;
    uint64_t request_id;
} m_gpu;

typedef struct {
    uint64_t magic;
    uint32_t nsw, ngpu;
    uint32_t epoch;            /* +1 per new manager process */
    int32_t epoch_pid;
    m_switch sw[OFM_MAX_SWITCHES];
    m_gpu gpu[OFM_MAX_GPUS];
} m_head;

/* The tables file is index-major ([index][switch * 64 + port] per table):
 * what a manager writes (low indices on every port) sits together, so the
 * sparse file stays small. */
#define REMAP_ALL_DEPTH (REMAP_DEPTH + 2 * EXT_DEPTH + MC_DEPTH)
static size_t tables_size(size_t nsw)
{
    size_t lanes = nsw * NPORTS;
    return lanes * (REMAP_ALL_DEPTH * sizeof(nvsw_remap_entry) + RID_DEPTH * sizeof(nvsw_rid_entry) +
                    RLAN_DEPTH * sizeof(nvsw_rlan_entry));
}

/* ------------------------------------------------------------ process state */

typedef enum { FD_NONE = 0, FD_CTL, FD_DEV, FD_CAP } fd_kind;
typedef struct {
    uint8_t kind;
    uint8_t fm_cap;            /* ACQUIRE_CAPABILITY succeeded on this fd */
    uint16_t sw;
} fd_rec;

static struct {
    bool tried, ready;
    char dir[2048];
    ofm_hal *emu;
    const ofm_platform *p;
    int lock_fd;
    m_head *head;
    uint8_t *tables;
    fd_rec fds[MAX_FDS];
} M;

static int (*real_open)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static int (*real_ioctl)(int, unsigned long, ...);
static int (*real_close)(int);
static int (*real_access)(const char *, int);
static int (*real_stat)(const char *, struct stat *);
static int (*real_stat64)(const char *, struct stat64 *);

static void resolve(void)
{
    if (real_open)
        return;
    real_open = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, "open");
    real_openat = (int (*)(int, const char *, int, ...))dlsym(RTLD_NEXT, "openat");
    real_ioctl = (int (*)(int, unsigned long, ...))dlsym(RTLD_NEXT, "ioctl");
    real_close = (int (*)(int))dlsym(RTLD_NEXT, "close");
    real_access = (int (*)(const char *, int))dlsym(RTLD_NEXT, "access");
    real_stat = (int (*)(const char *, struct stat *))dlsym(RTLD_NEXT, "stat");
    real_stat64 = (int (*)(const char *, struct stat64 *))dlsym(RTLD_NEXT, "stat64");
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

__attribute__((format(printf, 1, 2))) static void klog(const char *fmt, ...)
{
    char path[2200], line[1024];
    snprintf(path, sizeof path, "%s/nvswitch-model.log", M.dir);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n > sizeof line - 2)
        n = sizeof line - 2;
    line[n++] = '\n';
    int fd = real_open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0) {
        ssize_t w = write(fd, line, (size_t)n);
        (void)w;
        real_close(fd);
    }
}

static int map_file(const char *name, size_t size, void **out, bool empty)
{
    char path[2200];
    snprintf(path, sizeof path, "%s/%s", M.dir, name);
    int fd = real_open(path, O_RDWR | O_CREAT | O_CLOEXEC | (empty ? O_TRUNC : 0), 0644);
    if (fd < 0)
        return -1;
    struct stat st;
    if (fstat(fd, &st) < 0 || ((size_t)st.st_size != size && ftruncate(fd, (off_t)size) < 0)) {
        real_close(fd);
        return -1;
    }
    void *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    real_close(fd);
    if (m == MAP_FAILED)
        return -1;
    *out = m;
    return 0;
}

/* Attach to the emulated system on first use of a device node. */
static bool model_ready(void)
{
    if (M.tried)
        return M.ready;
    M.tried = true;
    const char *dir = getenv("OPENFM_DRIVER_MODEL_DIR");
    if (!dir || !*dir || strlen(dir) >= sizeof M.dir)
        return false;
    snprintf(M.dir, sizeof M.dir, "%s", dir);
    char err[512];
    if (ofm_emu_open(M.dir, &M.emu, err, sizeof err) != OFM_HAL_OK) {
        fprintf(stderr, "nvswitch driver model: cannot open the emulated system %s: %s\n", M.dir, err);
        return false;
    }
    M.p = ofm_hal_platform(M.emu);
    char path[2200];
    snprintf(path, sizeof path, "%s/nvswitch-model.lock", M.dir);
    M.lock_fd = real_open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (!M.p || M.lock_fd < 0)
        return false;
    /* Attaching to a loaded "driver" takes no lock (a stopped manager may
     * hold it); only the first load initialises, under the lock. */
    bool ok = map_file("nvswitch-model.state", sizeof(m_head), (void **)&M.head, false) == 0;
    bool fresh = ok && (M.head->magic != MODEL_MAGIC || M.head->nsw != M.p->nswitches ||
                        M.head->ngpu != M.p->ngpus);
    if (fresh) {
        flock(M.lock_fd, LOCK_EX);
        fresh = M.head->magic != MODEL_MAGIC || M.head->nsw != M.p->nswitches ||
                M.head->ngpu != M.p->ngpus;
    }
    /* the tables file is sparse: only written entries take space */
    ok = ok && map_file("nvswitch-model.tables", tables_size(M.p->nswitches),
                        (void **)&M.tables, fresh) == 0;
    if (ok && fresh) {
        /* a fresh driver load: standby, no manager, empty tables */
        memset(M.head, 0, sizeof *M.head);
        M.head->ngpu = (uint32_t)M.p->ngpus;
        M.head->nsw = (uint32_t)M.p->nswitches;
        for (size_t i = 0; i < M.p->nswitches; i++) {
            M.head->sw[i].driver_state = NVSW_DRV_STANDBY;
            M.head->sw[i].device_state = NVSW_DEVST_STANDBY;
            M.head->sw[i].timeout_ms = 10000;
        }
        __atomic_store_n(&M.head->magic, MODEL_MAGIC, __ATOMIC_RELEASE);
    }
    if (fresh)
        flock(M.lock_fd, LOCK_UN);
    M.ready = ok;
    return ok;
}

static size_t lane(size_t si, uint32_t port) { return si * NPORTS + port; }

/* Depth of a remap table, 0 for an unknown selector; its rows start at
 * `row0` in the combined remap region. */
static uint32_t remap_depth(uint32_t sel, uint32_t *row0)
{
    switch (sel) {
    case NVSW_REMAP_PRIMARY: *row0 = 0; return REMAP_DEPTH;
    case NVSW_REMAP_EXTA: *row0 = REMAP_DEPTH; return EXT_DEPTH;
    case NVSW_REMAP_EXTB: *row0 = REMAP_DEPTH + EXT_DEPTH; return EXT_DEPTH;
    case NVSW_REMAP_MULTICAST: *row0 = REMAP_DEPTH + 2 * EXT_DEPTH; return MC_DEPTH;
    default: return 0;
    }
}

static nvsw_remap_entry *remap_at(uint32_t sel, size_t si, uint32_t port, uint32_t idx)
{
    uint32_t row0 = 0;
    remap_depth(sel, &row0);
    nvsw_remap_entry *base = (nvsw_remap_entry *)M.tables;
    return &base[(size_t)(row0 + idx) * M.p->nswitches * NPORTS + lane(si, port)];
}

static nvsw_rid_entry *rid_at(size_t si, uint32_t port, uint32_t idx)
{
    size_t lanes = M.p->nswitches * NPORTS;
    nvsw_rid_entry *base = (nvsw_rid_entry *)(M.tables + lanes * REMAP_ALL_DEPTH * sizeof(nvsw_remap_entry));
    return &base[(size_t)idx * lanes + lane(si, port)];
}

static nvsw_rlan_entry *rlan_at(size_t si, uint32_t port, uint32_t idx)
{
    size_t lanes = M.p->nswitches * NPORTS;
    nvsw_rlan_entry *base = (nvsw_rlan_entry *)(M.tables + lanes * (REMAP_ALL_DEPTH * sizeof(nvsw_remap_entry) +
                                                                    RID_DEPTH * sizeof(nvsw_rid_entry)));
    return &base[(size_t)idx * lanes + lane(si, port)];
}

/* ------------------------------------------------------------ device facts */

static ofm_dev_health sw_health(size_t si)
{
    ofm_hal_switch s[OFM_MAX_SWITCHES];
    size_t n = 0;
    if (M.emu->ops->list_switches(M.emu, s, OFM_MAX_SWITCHES, &n) != OFM_HAL_OK)
        return OFM_DEV_FAILED;
    for (size_t i = 0; i < n && i < OFM_MAX_SWITCHES; i++)
        if (s[i].phys_id == M.p->switches[si].id)
            return s[i].health;
    return OFM_DEV_MISSING;
}

static bool excluded_by_env(size_t si)
{
    const char *e = getenv("OPENFM_DRIVER_MODEL_EXCLUDE");
    while (e && *e) {
        char *end;
        unsigned long v = strtoul(e, &end, 10);
        if (end == e)
            break;
        if (v == si)
            return true;
        e = *end == ',' ? end + 1 : end;
    }
    return false;
}

static uint32_t blacklist_reason(size_t si)
{
    if (excluded_by_env(si))
        return NVSW_BL_MANUAL_IN_BAND;
    return sw_health(si) == OFM_DEV_FAILED ? NVSW_BL_UNSPEC_DEVICE_FAILURE : NVSW_BL_NONE;
}

static void parse_uuid(const char *s, uint8_t out[16])
{
    memset(out, 0, 16);
    const char *d = strchr(s, '-');
    size_t k = 0;
    for (const char *c = d ? d + 1 : s; *c && k < 32; c++) {
        int v = *c >= '0' && *c <= '9' ? *c - '0' : *c >= 'a' && *c <= 'f' ? *c - 'a' + 10 : -1;
        if (v < 0)
            continue;
        out[k / 2] = (uint8_t)(out[k / 2] << 4 | v);
        k++;
    }
}

static void parse_bdf(const char *s, uint32_t *dom, uint32_t *bus, uint32_t *dev, uint32_t *fn)
{
    unsigned a = 0, b = 0, c = 0, d = 0;
    if (sscanf(s, "%x:%x:%x.%x", &a, &b, &c, &d) != 4)
        a = b = c = d = 0;
    *dom = a, *bus = b, *dev = c, *fn = d;
}

static int gpu_index(uint32_t phys)
{
    for (size_t i = 0; i < M.p->ngpus; i++)
        if (M.p->gpus[i].phys_id == phys)
            return (int)i;
    return -1;
}

static int switch_index(uint32_t id)
{
    for (size_t i = 0; i < M.p->nswitches; i++)
        if (M.p->switches[i].id == id)
            return (int)i;
    return -1;
}

/* ------------------------------------------------------------ the heartbeat */

static void check_heartbeats(void)
{
    uint64_t now = mono_ns();
    for (size_t i = 0; i < M.p->nswitches; i++) {
        m_switch *s = &M.head->sw[i];
        if (s->driver_state == NVSW_DRV_CONFIGURED &&
            now - s->last_hb_ns > (uint64_t)s->timeout_ms * 1000000ull) {
            s->driver_state = NVSW_DRV_MANAGER_TIMEOUT;
            klog("nvidia-nvswitch%zu: fabric manager heartbeat timed out after %u ms", i,
                 s->timeout_ms);
        }
    }
}

/* ------------------------------------------------- routes into the emulator */

/* Where traffic entering (si, port) for GPU gi leaves, by walking the model's
 * tables the way the hardware would. Empty: dropped. */
static ofm_portset walk(size_t si, uint32_t port, size_t gi)
{
    const m_gpu *g = &M.head->gpu[gi];
    const m_switch *s = &M.head->sw[si];
    if (!g->registered || !(s->port_configured >> port & 1) || g->remap_index >= REMAP_DEPTH)
        return ofm_portset_none();
    const nvsw_remap_entry *r = remap_at(NVSW_REMAP_PRIMARY, si, port, g->remap_index);
    /* the slot must hold this GPU's address (bits 46:36) */
    const uint64_t amask = ((1ull << 47) - 1) & ~((1ull << 36) - 1);
    if (!r->valid || (r->address & amask) != (g->gpa & amask) || r->target_id >= RID_DEPTH)
        return ofm_portset_none();
    const nvsw_rid_entry *rid = rid_at(si, port, r->target_id);
    if (!rid->valid || rid->nports < 1 || rid->nports > NVSW_RID_PORTS_MAX)
        return ofm_portset_none();
    uint32_t nports = M.p->switches[si].nports;
    ofm_portset egress = ofm_portset_none();
    if (!rid->use_routing_lan) {
        for (uint32_t k = 0; k < rid->nports; k++)
            if (rid->ports[k].port < nports)
                ofm_portset_add(&egress, rid->ports[k].port);
        return egress;
    }
    const nvsw_rlan_entry *lan = rlan_at(si, port, r->target_id);
    if (!lan->valid || lan->ngroups < 1 || lan->ngroups > NVSW_RLAN_GROUPS_MAX)
        return ofm_portset_none();
    /* each group takes the next group_size ports of the RID list */
    uint32_t at = 0;
    for (uint32_t gsel = 0; gsel < lan->ngroups; gsel++) {
        uint32_t sz = lan->group[gsel].group_size;
        if (sz < 1 || sz > 16 || at + sz > rid->nports)
            return ofm_portset_none();
        for (uint32_t k = at; k < at + sz; k++)
            if (rid->ports[k].port < nports)
                ofm_portset_add(&egress, rid->ports[k].port);
        at += sz;
    }
    return egress;
}

/* Recompute one switch port (or every port of every switch when si < 0) and
 * give the emulator what changed, as one transaction. */
static int push_routes(int only_si, int only_port)
{
    ofm_route_entry *e = malloc(M.p->nswitches * NPORTS * M.p->ngpus * sizeof *e + 1);
    if (!e)
        return -ENOMEM;
    size_t n = 0;
    for (size_t si = 0; si < M.p->nswitches; si++) {
        if (only_si >= 0 && (size_t)only_si != si)
            continue;
        if (sw_health(si) != OFM_DEV_OK)
            continue;
        for (uint32_t port = 0; port < M.p->switches[si].nports && port < NPORTS; port++) {
            if (only_port >= 0 && (uint32_t)only_port != port)
                continue;
            for (size_t gi = 0; gi < M.p->ngpus; gi++) {
                ofm_portset eg = walk(si, port, gi);
                if (!ofm_portset_eq(eg, M.head->sw[si].pushed[port][gi])) {
                    e[n++] = (ofm_route_entry){M.p->switches[si].id, port, M.p->gpus[gi].phys_id, eg};
                }
            }
        }
    }
    int rc = 0;
    if (n && M.emu->ops->route_write(M.emu, e, n) != OFM_HAL_OK) {
        klog("nvswitch model: the emulator refused %zu route(s): %s", n, ofm_hal_last_error(M.emu));
        rc = -EIO;
    } else {
        for (size_t i = 0; i < n; i++)
            M.head->sw[switch_index(e[i].sw)].pushed[e[i].in_port][gpu_index(e[i].dst_gpu)] = e[i].egress;
    }
    free(e);
    return rc;
}

/* ------------------------------------------------------------ GPU probes */

/* The switch port a GPU's probe request arrives on: its first active access
 * link. -1 when it has none. */
static int probe_port(size_t gi, size_t *si_out)
{
    for (size_t a = 0; a < M.p->naccess; a++) {
        const ofm_access_link *al = &M.p->access[a];
        if (al->gpu != M.p->gpus[gi].phys_id)
            continue;
        int si = switch_index(al->sw);
        if (si < 0 || blacklist_reason((size_t)si))
            continue; /* an excluded switch passes no in-band traffic */
        ofm_hal_link l;
        if (M.emu->ops->switch_port(M.emu, al->sw, al->sw_port, &l) == OFM_HAL_OK &&
            l.state == OFM_LINK_ACTIVE) {
            *si_out = (size_t)switch_index(al->sw);
            return (int)al->sw_port;
        }
    }
    return -1;
}

static bool gpu_alive(size_t gi)
{
    ofm_hal_gpu g[OFM_MAX_GPUS];
    size_t n = 0;
    if (M.emu->ops->list_gpus(M.emu, g, OFM_MAX_GPUS, &n) != OFM_HAL_OK)
        return false;
    for (size_t i = 0; i < n && i < OFM_MAX_GPUS; i++)
        if (g[i].phys_id == M.p->gpus[gi].phys_id)
            return g[i].health == OFM_DEV_OK;
    return false;
}

static ofm_fabric_state gpu_fabric_state(size_t gi)
{
    ofm_hal_fabric_info fi;
    if (M.emu->ops->fabric_get(M.emu, M.p->gpus[gi].phys_id, &fi) != OFM_HAL_OK)
        return OFM_FABRIC_NOT_SUPPORTED;
    return fi.state;
}

/* A GPU waits for a manager: every new manager process gets its probe
 * request (once), until that manager answers; a GPU whose driver starts
 * over (fabric state back to "not started") probes again. */
static bool probe_pending(size_t gi)
{
    const m_gpu *g = &M.head->gpu[gi];
    if (!gpu_alive(gi))
        return false;
    if (gpu_fabric_state(gi) == OFM_FABRIC_NOT_STARTED)
        return true;
    return g->delivered_epoch != M.head->epoch && g->answered_epoch != M.head->epoch;
}

static void build_probe(size_t gi, nvsw_inband_read *rd)
{
    char uuid[80], bdf[32];
    ofm_hal_gpu g[OFM_MAX_GPUS];
    size_t n = 0;
    uuid[0] = bdf[0] = '\0';
    if (M.emu->ops->list_gpus(M.emu, g, OFM_MAX_GPUS, &n) == OFM_HAL_OK)
        for (size_t i = 0; i < n && i < OFM_MAX_GPUS; i++)
            if (g[i].phys_id == M.p->gpus[gi].phys_id) {
                snprintf(uuid, sizeof uuid, "%s", g[i].uuid);
                snprintf(bdf, sizeof bdf, "%s", g[i].pci_bdf);
            }
    uint32_t dom, bus, dev, fn;
    parse_bdf(bdf, &dom, &bus, &dev, &fn);
    nvsw_msg_header h = {.magic = NVSW_INBAND_MAGIC,
                         .request_id = ((uint64_t)M.head->epoch << 32) | (uint64_t)(gi + 1) << 8 | 0x5a,
                         .type = NVSW_MSG_GPU_PROBE_REQ,
                         .length = sizeof(nvsw_probe_req)};
    nvsw_probe_req q;
    memset(&q, 0, sizeof q);
    q.pci_info = (uint64_t)dom << 32 | bus << 8 | dev;
    q.module_id = (uint8_t)M.p->gpus[gi].phys_id;
    parse_uuid(uuid, q.gpu_uuid);
    q.discovered_links = q.enabled_links =
        M.p->gpus[gi].nvlinks >= 64 ? ~0ull : (1ull << M.p->gpus[gi].nvlinks) - 1;
    M.head->gpu[gi].request_id = h.request_id;
    memcpy(rd->buffer, &h, sizeof h);
    memcpy(rd->buffer + sizeof h, &q, sizeof q);
    rd->size = sizeof h + sizeof q;
}

static int take_probe_response(size_t si, const nvsw_inband_send *snd)
{
    nvsw_msg_header h;
    nvsw_probe_rsp r;
    if (snd->size > NVSW_INBAND_DATA_SIZE || snd->size < sizeof h)
        return -EINVAL;
    memcpy(&h, snd->buffer, sizeof h);
    if (h.magic != NVSW_INBAND_MAGIC || h.type != NVSW_MSG_GPU_PROBE_RSP ||
        h.length < sizeof r || sizeof h + h.length > snd->size) {
        klog("nvidia-nvswitch%zu: link %u: GPU dropped an in-band message (magic 0x%04x type %u)",
             si, snd->link, h.magic, h.type);
        return 0;  /* transmitted; the GPU ignores it */
    }
    memcpy(&r, snd->buffer + sizeof h, sizeof r);
    for (size_t gi = 0; gi < M.p->ngpus; gi++) {
        m_gpu *g = &M.head->gpu[gi];
        if (g->request_id != h.request_id || g->delivered_epoch != M.head->epoch)
            continue;
        size_t psi = 0;
        int pp = probe_port(gi, &psi);
        if (pp < 0 || psi != si || (uint32_t)pp != snd->link) {
            klog("nvidia-nvswitch%zu: link %u: probe response for GPU %u sent on the wrong link",
                 si, snd->link, M.p->gpus[gi].phys_id);
            return 0;
        }
        g->answered_epoch = M.head->epoch;
        uint32_t id = M.p->gpus[gi].phys_id;
        if (h.status) {
            g->registered = 0;
            M.emu->ops->fabric_set(M.emu, id, OFM_FABRIC_COMPLETED, (int)h.status);
        } else {
            g->registered = 1;
            g->remap_index = r.remap_index;
            g->gpa = r.gpa_address;
            if (M.emu->ops->fabric_set(M.emu, id, OFM_FABRIC_COMPLETED, 0) != OFM_HAL_OK)
                g->registered = 0;  /* the GPU's own registration failed */
        }
        push_routes(-1, -1);
        return 0;
    }
    klog("nvidia-nvswitch%zu: link %u: probe response 0x%llx matches no outstanding request", si,
         snd->link, (unsigned long long)h.request_id);
    return 0;
}

/* ------------------------------------------------------------ ioctls */

static size_t expected_size(char type, unsigned nr, size_t natural)
{
    const char *skew = getenv("OPENFM_DRIVER_MODEL_ABI_SKEW");
    static const struct { char t; unsigned nr; const char *name; } names[] = {
        {'c', NVSW_CTL_CHECK_VERSION, "CHECK_VERSION"}, {'c', NVSW_CTL_GET_DEVICES_V2, "GET_DEVICES_V2"},
        {'d', NVSW_CMD_GET_INFO, "GET_INFO"}, {'d', NVSW_CMD_GET_NVLINK_STATUS, "GET_NVLINK_STATUS"},
        {'d', NVSW_CMD_SET_REMAP_POLICY, "SET_REMAP_POLICY"}, {'d', NVSW_CMD_SET_ROUTING_ID, "SET_ROUTING_ID"},
    };
    if (skew)
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
            if (names[i].t == type && names[i].nr == nr && !strcmp(skew, names[i].name))
                return natural + 8;
    return natural;
}

static bool is_admin(void) { return geteuid() == 0 && !getenv("OPENFM_DRIVER_MODEL_USER"); }

static int ctl_ioctl(unsigned nr, void *arg, size_t size)
{
    switch (nr) {
    case NVSW_CTL_CHECK_VERSION: {
        if (size != expected_size('c', nr, sizeof(nvsw_check_version)))
            return -EINVAL;
        nvsw_check_version *p = arg;
        p->user[NVSW_VERSION_LEN - 1] = '\0';
        char ver[64] = "";
        M.emu->ops->driver_version(M.emu, ver, sizeof ver);
        snprintf(p->kernel, sizeof p->kernel, "%s", ver);
        p->is_compatible = !strcmp(p->user, ver);
        if (!p->is_compatible)
            klog("nvidia-nvswitch: Version mismatch, kernel version %s user version %s", ver, p->user);
        return 0;
    }
    case NVSW_CTL_GET_DEVICES_V2: {
        if (size != expected_size('c', nr, sizeof(nvsw_get_devices_v2)))
            return -EINVAL;
        nvsw_get_devices_v2 *p = arg;
        memset(p, 0, sizeof *p);
        ofm_hal_switch s[OFM_MAX_SWITCHES];
        size_t n = 0;
        M.emu->ops->list_switches(M.emu, s, OFM_MAX_SWITCHES, &n);
        for (size_t k = 0; k < n && k < OFM_MAX_SWITCHES; k++) {
            int si = switch_index(s[k].phys_id);
            if (si < 0)
                continue;
            nvsw_device_info_v2 *d = &p->info[p->count++];
            d->instance = (uint32_t)si;
            parse_uuid(s[k].uuid, d->uuid);
            parse_bdf(s[k].pci_bdf, &d->pci_domain, &d->pci_bus, &d->pci_device, &d->pci_function);
            d->phys_id = s[k].phys_id;
            d->driver_state = M.head->sw[si].driver_state;
            d->blacklist_reason = blacklist_reason((size_t)si);
            d->device_state = d->blacklist_reason ? NVSW_DEVST_BLACKLISTED : M.head->sw[si].device_state;
        }
        return 0;
    }
    default:
        return -EINVAL;
    }
}

static bool privileged(uint32_t nr)
{
    switch (nr) {
    case NVSW_CMD_GET_INFO: case NVSW_CMD_GET_ERRORS: case NVSW_CMD_GET_NVLINK_STATUS:
    case NVSW_CMD_ACQUIRE_CAPABILITY:
        return false;
    default:
        return true;
    }
}

static int check_range(uint32_t first, uint32_t count, uint32_t depth)
{
    return first >= depth || count > NVSW_TABLE_BATCH || first + count > depth ? -EINVAL : 0;
}


static void raise_top(uint32_t *top, uint32_t end)
{
    if (end > *top)
        *top = end;
}

static bool nonzero(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return true;
    return false;
}

static void link_info(size_t si, uint32_t port, nvsw_link_status *ls)
{
    memset(ls, 0, sizeof *ls);
    ls->local_link = (uint8_t)port;
    ls->remote_link = 0xff;
    ls->remote.device_type = NVSW_DEVTYPE_NONE;
    ls->nvlink_version = 7; /* NVLink 4.0 */
    ofm_hal_link l;
    if (M.emu->ops->switch_port(M.emu, M.p->switches[si].id, port, &l) != OFM_HAL_OK)
        return;
    ls->link_state = l.state == OFM_LINK_ACTIVE ? NVSW_LINK_ACTIVE
                     : l.state == OFM_LINK_TRAINING ? NVSW_LINK_HWCFG
                     : l.state == OFM_LINK_FAILED ? NVSW_LINK_FAULT : NVSW_LINK_INIT;
    if (l.remote_type == OFM_REMOTE_NONE)
        return;
    ls->connected = 1;
    ls->remote_link = (uint8_t)l.remote_link;
    ls->remote.id_flags = NVSW_DEVID_PCI | NVSW_DEVID_UUID;
    uint32_t dom = 0, bus = 0, dev = 0, fn = 0;
    if (l.remote_type == OFM_REMOTE_GPU) {
        ofm_hal_gpu g[OFM_MAX_GPUS];
        size_t n = 0;
        ls->remote.device_type = NVSW_DEVTYPE_GPU;
        if (M.emu->ops->list_gpus(M.emu, g, OFM_MAX_GPUS, &n) == OFM_HAL_OK)
            for (size_t i = 0; i < n && i < OFM_MAX_GPUS; i++)
                if (g[i].phys_id == l.remote_id) {
                    parse_bdf(g[i].pci_bdf, &dom, &bus, &dev, &fn);
                    parse_uuid(g[i].uuid, ls->remote.uuid);
                    ls->line_rate_mbps = g[i].line_rate_mbps;
                }
    } else {
        ofm_hal_switch s[OFM_MAX_SWITCHES];
        size_t n = 0;
        ls->remote.device_type = NVSW_DEVTYPE_SWITCH;
        if (M.emu->ops->list_switches(M.emu, s, OFM_MAX_SWITCHES, &n) == OFM_HAL_OK)
            for (size_t i = 0; i < n && i < OFM_MAX_SWITCHES; i++)
                if (s[i].phys_id == l.remote_id) {
                    parse_bdf(s[i].pci_bdf, &dom, &bus, &dev, &fn);
                    parse_uuid(s[i].uuid, ls->remote.uuid);
                }
    }
    ls->remote.domain = dom;
    ls->remote.bus = (uint16_t)bus;
    ls->remote.device = (uint16_t)dev;
    ls->remote.function = (uint16_t)fn;
}

static int dev_ioctl(fd_rec *f, unsigned nr, void *arg, size_t size)
{
    size_t si = f->sw;
    m_switch *s = &M.head->sw[si];
    uint32_t nports = M.p->switches[si].nports;
    if (blacklist_reason(si)) {
        klog("nvidia-nvswitch%zu: ioctl attempted on blacklisted device", si);
        return -ENODEV;
    }
    if (privileged(nr) && !is_admin() && !f->fm_cap)
        return -EPERM;
#define SIZE_IS(T) if (size != expected_size('d', nr, sizeof(T))) return -EINVAL; T *p = arg
    switch (nr) {
    case NVSW_CMD_GET_INFO: {
        SIZE_IS(nvsw_get_info);
        if (p->count > NVSW_INFO_MAX)
            return -EINVAL;
        uint64_t en = nports >= 64 ? ~0ull : (1ull << nports) - 1;
        for (uint32_t i = 0; i < p->count; i++) {
            uint32_t v = 0;
            switch (p->index[i]) {
            case NVSW_INFO_ARCH: v = (uint32_t)M.p->switches[si].gen; break; /* gen n = arch n */
            case NVSW_INFO_IMPL: v = 1; break;
            case NVSW_INFO_PLATFORM: v = 3; break; /* emulation */
            case NVSW_INFO_DEVICE_ID: v = 0x22a3; break;
            case NVSW_INFO_NUM_PORTS: v = nports; break;
            case NVSW_INFO_ENABLED_PORTS_LO: v = (uint32_t)en; break;
            case NVSW_INFO_ENABLED_PORTS_HI: v = (uint32_t)(en >> 32); break;
            case NVSW_INFO_NUM_VCS: v = 8; break;
            case NVSW_INFO_REMAP_SIZE: v = REMAP_DEPTH; break;
            case NVSW_INFO_RID_SIZE: v = RID_DEPTH; break;
            case NVSW_INFO_RLAN_SIZE: v = RLAN_DEPTH; break;
            case NVSW_INFO_PHYSICAL_ID: v = M.p->switches[si].id; break;
            default: return -EINVAL;
            }
            p->info[i] = v;
        }
        return 0;
    }
    case NVSW_CMD_ACQUIRE_CAPABILITY: {
        SIZE_IS(nvsw_acquire_capability);
        if (p->cap != NVSW_CAP_FABRIC_MANAGEMENT)
            return -EINVAL;
        if (p->cap_fd >= MAX_FDS || M.fds[p->cap_fd].kind != FD_CAP)
            return -EINVAL;
        f->fm_cap = 1;
        return 0;
    }
    case NVSW_CMD_GET_NVLINK_STATUS: {
        SIZE_IS(nvsw_get_nvlink_status);
        memset(p, 0, sizeof *p);
        p->enabled_mask = nports >= 64 ? ~0ull : (1ull << nports) - 1;
        for (uint32_t port = 0; port < nports && port < NVSW_MAX_LINKS; port++)
            link_info(si, port, &p->link[port]);
        return 0;
    }
    case NVSW_CMD_SET_SWITCH_PORT_CONFIG: {
        SIZE_IS(nvsw_port_config);
        if (p->port >= nports || p->type > NVSW_CONN_ACCESS_SWITCH || p->requester_link_id > 0x7ff ||
            p->count > NVSW_CONN_COUNT_2048)
            return -EINVAL;
        s->port_type[p->port] = p->type;
        s->port_rlid[p->port] = p->requester_link_id;
        s->port_configured |= 1ull << p->port;
        return push_routes((int)si, (int)p->port);
    }
    case NVSW_CMD_SET_REMAP_POLICY: {
        SIZE_IS(nvsw_set_remap);
        uint32_t row0, depth = remap_depth(p->table, &row0);
        if (p->port >= nports || !depth || check_range(p->first, p->count, depth))
            return -EINVAL;
        for (uint32_t i = 0; i < p->count; i++)
            if (p->entry[i].target_id > 0x7ff)
                return -EINVAL;
        for (uint32_t i = 0; i < p->count; i++)
            *remap_at(p->table, si, p->port, p->first + i) = p->entry[i];
        raise_top(&s->top_remap[p->table][p->port], p->first + p->count);
        return push_routes((int)si, (int)p->port);
    }
    case NVSW_CMD_SET_REMAP_POLICY_VALID: {
        SIZE_IS(nvsw_set_remap_valid);
        uint32_t row0, depth = remap_depth(p->table, &row0);
        if (p->port >= nports || !depth || check_range(p->first, p->count, depth))
            return -EINVAL;
        for (uint32_t i = 0; i < p->count; i++)
            remap_at(p->table, si, p->port, p->first + i)->valid = p->valid[i] ? 1 : 0;
        raise_top(&s->top_remap[p->table][p->port], p->first + p->count);
        return push_routes((int)si, (int)p->port);
    }
    case NVSW_CMD_GET_REMAP_POLICY: {
        SIZE_IS(nvsw_get_remap);
        uint32_t row0, depth = remap_depth(p->table, &row0);
        if (p->port >= nports || !depth || p->first >= depth)
            return -EINVAL;
        uint32_t i = p->first, c = 0;
        memset(p->entry, 0, sizeof p->entry);
        uint32_t top = s->top_remap[p->table][p->port];
        for (; c < NVSW_TABLE_BATCH && i < depth; i++) {
            if (i >= top) {
                i = depth;
                break;
            }
            const nvsw_remap_entry *t = remap_at(p->table, si, p->port, i);
            if (nonzero(t, sizeof *t))
                p->entry[c++] = *t;
        }
        p->count = c;
        p->next = i;
        return 0;
    }
    case NVSW_CMD_SET_ROUTING_ID: {
        SIZE_IS(nvsw_set_rid);
        if (p->port >= nports || check_range(p->first, p->count, RID_DEPTH))
            return -EINVAL;
        for (uint32_t i = 0; i < p->count; i++) {
            if (p->entry[i].nports < 1 || p->entry[i].nports > NVSW_RID_PORTS_MAX)
                return -EINVAL;
            for (uint32_t k = 0; k < p->entry[i].nports; k++)
                if (p->entry[i].ports[k].vc_map > 3 || p->entry[i].ports[k].port >= nports)
                    return -EINVAL;
        }
        for (uint32_t i = 0; i < p->count; i++)
            *rid_at(si, p->port, p->first + i) = p->entry[i];
        raise_top(&s->top_rid[p->port], p->first + p->count);
        return push_routes((int)si, (int)p->port);
    }
    case NVSW_CMD_SET_ROUTING_ID_VALID: {
        SIZE_IS(nvsw_set_rid_valid);
        if (p->port >= nports || check_range(p->first, p->count, RID_DEPTH))
            return -EINVAL;
        for (uint32_t i = 0; i < p->count; i++)
            rid_at(si, p->port, p->first + i)->valid = p->valid[i] ? 1 : 0;
        raise_top(&s->top_rid[p->port], p->first + p->count);
        return push_routes((int)si, (int)p->port);
    }
    case NVSW_CMD_GET_ROUTING_ID: {
        SIZE_IS(nvsw_get_rid);
        if (p->port >= nports || p->first >= RID_DEPTH)
            return -EINVAL;
        uint32_t i = p->first, c = 0;
        memset(p->entry, 0, sizeof p->entry);
        for (; c < NVSW_TABLE_BATCH && i < RID_DEPTH; i++) {
            if (i >= s->top_rid[p->port]) {
                i = RID_DEPTH;
                break;
            }
            const nvsw_rid_entry *t = rid_at(si, p->port, i);
            if (nonzero(t, sizeof *t)) {
                p->entry[c].index = i;
                p->entry[c++].entry = *t;
            }
        }
        p->count = c;
        p->next = i;
        return 0;
    }
    case NVSW_CMD_SET_ROUTING_LAN: {
        SIZE_IS(nvsw_set_rlan);
        if (p->port >= nports || check_range(p->first, p->count, RLAN_DEPTH))
            return -EINVAL;
        for (uint32_t i = 0; i < p->count; i++) {
            if (p->entry[i].ngroups > NVSW_RLAN_GROUPS_MAX)
                return -EINVAL;
            for (uint32_t k = 0; k < p->entry[i].ngroups; k++)
                if (p->entry[i].group[k].group_size < 1 || p->entry[i].group[k].group_size > 16)
                    return -EINVAL;
        }
        for (uint32_t i = 0; i < p->count; i++)
            *rlan_at(si, p->port, p->first + i) = p->entry[i];
        raise_top(&s->top_rlan[p->port], p->first + p->count);
        return push_routes((int)si, (int)p->port);
    }
    case NVSW_CMD_SET_ROUTING_LAN_VALID: {
        SIZE_IS(nvsw_set_rlan_valid);
        if (p->port >= nports || check_range(p->first, p->count, RLAN_DEPTH))
            return -EINVAL;
        for (uint32_t i = 0; i < p->count; i++)
            rlan_at(si, p->port, p->first + i)->valid = p->valid[i] ? 1 : 0;
        raise_top(&s->top_rlan[p->port], p->first + p->count);
        return push_routes((int)si, (int)p->port);
    }
    case NVSW_CMD_GET_ROUTING_LAN: {
        SIZE_IS(nvsw_get_rlan);
        if (p->port >= nports || p->first >= RLAN_DEPTH)
            return -EINVAL;
        uint32_t i = p->first, c = 0;
        memset(p->entry, 0, sizeof p->entry);
        for (; c < NVSW_TABLE_BATCH && i < RLAN_DEPTH; i++) {
            if (i >= s->top_rlan[p->port]) {
                i = RLAN_DEPTH;
                break;
            }
            const nvsw_rlan_entry *t = rlan_at(si, p->port, i);
            if (nonzero(t, sizeof *t)) {
                p->entry[c].index = i;
                p->entry[c++].entry = *t;
            }
        }
        p->count = c;
        p->next = i;
        return 0;
    }
    case NVSW_CMD_SET_FM_DRIVER_STATE: {
        SIZE_IS(nvsw_set_driver_state);
        if (p->state > NVSW_DRV_MANAGER_ERROR)
            return -EINVAL;
        if (p->state == NVSW_DRV_CONFIGURED && M.head->epoch_pid != (int32_t)getpid()) {
            /* a new manager: GPUs present their probe requests to it */
            M.head->epoch++;
            M.head->epoch_pid = (int32_t)getpid();
        }
        s->driver_state = p->state;
        s->last_hb_ns = mono_ns();
        /* the emulated system shows a manager attached while one is configured */
        if (p->state == NVSW_DRV_CONFIGURED)
            ofm_emu_fm_attach(M.emu);
        else if (p->state == NVSW_DRV_STANDBY || p->state == NVSW_DRV_OFFLINE)
            ofm_emu_fm_detach(M.emu);
        return 0;
    }
    case NVSW_CMD_SET_DEVICE_FABRIC_STATE: {
        SIZE_IS(nvsw_set_device_state);
        if (p->state > NVSW_DEVST_BLACKLISTED)
            return -EINVAL;
        s->device_state = p->state;
        s->last_hb_ns = mono_ns();
        if (s->driver_state == NVSW_DRV_MANAGER_TIMEOUT)
            s->driver_state = NVSW_DRV_CONFIGURED;
        return 0;
    }
    case NVSW_CMD_SET_FM_HEARTBEAT_TIMEOUT: {
        SIZE_IS(nvsw_set_heartbeat_timeout);
        s->timeout_ms = p->timeout_ms;
        return 0;
    }
    case NVSW_CMD_GET_ERRORS: {
        SIZE_IS(nvsw_get_errors);
        if (p->severity > NVSW_SEV_FATAL)
            return -EINVAL;
        /* The switch's error ring is the emulator's event ring, filtered:
         * the emulator's sequence numbers are the driver's error indices. */
        ofm_hal_event ev[128];
        size_t n = 0;
        uint64_t cur = p->index ? p->index - 1 : 0;
        uint32_t c = 0;
        uint64_t next = p->index;
        if (M.emu->ops->read_events(M.emu, &cur, ev, 128, &n) == OFM_HAL_OK)
            for (size_t i = 0; i < n && c < NVSW_ERRORS_PER_CALL; i++) {
                next = ev[i].seq + 1;
                if (ev[i].kind != OFM_EVT_SXID || ev[i].sw != M.p->switches[si].id ||
                    ev[i].fatal != (p->severity == NVSW_SEV_FATAL))
                    continue;
                nvsw_error *e = &p->error[c++];
                memset(e, 0, sizeof *e);
                e->value = ev[i].code;
                e->source = 1;
                e->instance = ev[i].port;
                e->time_ns = ev[i].time_ns;
                snprintf((char *)e->description, sizeof e->description, "%.69s", ev[i].detail);
            }
        p->count = c;
        p->next_index = next;
        return 0;
    }
    case NVSW_CMD_INBAND_PENDING_DATA_STATS: {
        SIZE_IS(nvsw_inband_pending);
        p->link_mask = 0;
        if (s->driver_state != NVSW_DRV_CONFIGURED)
            return 0;
        for (size_t gi = 0; gi < M.p->ngpus; gi++) {
            size_t psi;
            int pp;
            if (probe_pending(gi) && (pp = probe_port(gi, &psi)) >= 0 && psi == si)
                p->link_mask |= 1ull << pp;
        }
        return 0;
    }
    case NVSW_CMD_INBAND_READ_DATA: {
        SIZE_IS(nvsw_inband_read);
        if (p->link >= nports)
            return -EINVAL;
        p->size = 0;
        for (size_t gi = 0; gi < M.p->ngpus; gi++) {
            size_t psi;
            int pp;
            if (probe_pending(gi) && (pp = probe_port(gi, &psi)) >= 0 && psi == si &&
                (uint32_t)pp == p->link) {
                build_probe(gi, p);
                M.head->gpu[gi].delivered_epoch = M.head->epoch;
                /* the GPU now waits for the answer */
                if (gpu_fabric_state(gi) == OFM_FABRIC_NOT_STARTED)
                    M.emu->ops->fabric_set(M.emu, M.p->gpus[gi].phys_id, OFM_FABRIC_IN_PROGRESS, 0);
                break;
            }
        }
        return 0;
    }
    case NVSW_CMD_INBAND_SEND_DATA: {
        SIZE_IS(nvsw_inband_send);
        if (p->link >= nports || p->size > NVSW_INBAND_DATA_SIZE)
            return -EINVAL;
        int rc = take_probe_response(si, p);
        p->sent = rc ? 0 : p->size;
        return rc;
    }
    case NVSW_CMD_INBAND_FLUSH_DATA: {
        SIZE_IS(nvsw_inband_flush);
        (void)p;
        return 0;
    }
    default:
        return -EINVAL;
    }
#undef SIZE_IS
}

/* ------------------------------------------------------------ interposers */

static int path_kind(const char *path, unsigned *minor)
{
    if (!path)
        return FD_NONE;
    if (!strcmp(path, NVSW_CTL_PATH))
        return FD_CTL;
    if (!strncmp(path, "/dev/nvidia-nvswitch", 20)) {
        char *end;
        unsigned long v = strtoul(path + 20, &end, 10);
        if (end != path + 20 && !*end && v < OFM_MAX_SWITCHES) {
            *minor = (unsigned)v;
            return FD_DEV;
        }
    }
    if (!strcmp(path, NVSW_CAP_PROC_PATH))
        return 10;
    if (!strcmp(path, "/dev/nvidia-caps/nvidia-cap1"))
        return FD_CAP;
    return FD_NONE;
}

/* (a helper: glibc declares the interposed paths non-null, real callers can
 * still pass NULL and expect EFAULT from the kernel) */
static bool is_absolute(const char *p) { return p && p[0] == '/'; }

static int model_open(const char *path, int kind, unsigned minor)
{
    if (!model_ready()) {
        errno = ENOENT;
        return -1;
    }
    char file[2200];
    int fd;
    switch (kind) {
    case FD_CTL:
        fd = real_open("/dev/null", O_RDWR | O_CLOEXEC);
        break;
    case FD_DEV:
        if (minor >= M.p->nswitches || sw_health(minor) == OFM_DEV_MISSING) {
            errno = ENOENT;
            return -1;
        }
        if (blacklist_reason(minor)) {
            klog("nvidia-nvswitch%u: open of a blacklisted device refused", minor);
            errno = ENODEV;
            return -1;
        }
        fd = real_open("/dev/null", O_RDWR | O_CLOEXEC);
        break;
    case 10: /* the proc file naming the capability's minor */
        snprintf(file, sizeof file, "%s/nvswitch-model.cap", M.dir);
        fd = real_open(file, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd >= 0) {
            static const char txt[] = "DeviceFileMinor: 1\nDeviceFileMode: 256\nDeviceFileModify: 1\n";
            ssize_t w = write(fd, txt, sizeof txt - 1);
            (void)w;
            lseek(fd, 0, SEEK_SET);
        }
        return fd;
    case FD_CAP:
        if (getenv("OPENFM_DRIVER_MODEL_NO_CAP")) {
            errno = EACCES;
            return -1;
        }
        fd = real_open("/dev/null", O_RDONLY | O_CLOEXEC);
        break;
    default:
        errno = ENOENT;
        return -1;
    }
    (void)path;
    if (fd >= 0 && fd < MAX_FDS)
        M.fds[fd] = (fd_rec){.kind = (uint8_t)kind, .sw = (uint16_t)minor};
    else if (fd >= MAX_FDS) {
        real_close(fd);
        errno = EMFILE;
        return -1;
    }
    return fd;
}

EXPORT int open(const char *path, int flags, ...)
{
    resolve();
    unsigned minor = 0;
    int kind = path_kind(path, &minor);
    if (kind != FD_NONE && getenv("OPENFM_DRIVER_MODEL_DIR"))
        return model_open(path, kind, minor);
    mode_t mode = 0;
    if (flags & (O_CREAT | O_TMPFILE)) {
        va_list ap;
        va_start(ap, flags);
        mode = (mode_t)va_arg(ap, int);
        va_end(ap);
    }
    return real_open(path, flags, mode);
}

EXPORT int open64(const char *path, int flags, ...)
{
    mode_t mode = 0;
    if (flags & (O_CREAT | O_TMPFILE)) {
        va_list ap;
        va_start(ap, flags);
        mode = (mode_t)va_arg(ap, int);
        va_end(ap);
    }
    return open(path, flags, mode);
}

EXPORT int __open_2(const char *path, int flags) { return open(path, flags); }
EXPORT int __open64_2(const char *path, int flags) { return open(path, flags); }

EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
    resolve();
    mode_t mode = 0;
    if (flags & (O_CREAT | O_TMPFILE)) {
        va_list ap;
        va_start(ap, flags);
        mode = (mode_t)va_arg(ap, int);
        va_end(ap);
    }
    if (is_absolute(path))
        return open(path, flags, mode);
    return real_openat(dirfd, path, flags, mode);
}

EXPORT int openat64(int dirfd, const char *path, int flags, ...)
{
    mode_t mode = 0;
    if (flags & (O_CREAT | O_TMPFILE)) {
        va_list ap;
        va_start(ap, flags);
        mode = (mode_t)va_arg(ap, int);
        va_end(ap);
    }
    return openat(dirfd, path, flags, mode);
}

EXPORT int access(const char *path, int amode)
{
    resolve();
    unsigned minor = 0;
    int kind = path_kind(path, &minor);
    if (kind != FD_NONE && getenv("OPENFM_DRIVER_MODEL_DIR")) {
        if (!model_ready() || (kind == FD_DEV && (minor >= M.p->nswitches ||
                                                  sw_health(minor) == OFM_DEV_MISSING))) {
            errno = ENOENT;
            return -1;
        }
        return 0;
    }
    return real_access(path, amode);
}

/* Device nodes exist while the model serves them (`auto` looks with stat). */
static int model_stat(const char *path, struct stat *st, bool *handled)
{
    unsigned minor = 0;
    int kind = path_kind(path, &minor);
    *handled = false;
    if (kind == FD_NONE || !getenv("OPENFM_DRIVER_MODEL_DIR"))
        return 0;
    *handled = true;
    if (!model_ready() ||
        (kind == FD_DEV && (minor >= M.p->nswitches || sw_health(minor) == OFM_DEV_MISSING))) {
        errno = ENOENT;
        return -1;
    }
    memset(st, 0, sizeof *st);
    st->st_mode = (kind == 10 ? S_IFREG : S_IFCHR) | 0666;
    st->st_rdev = kind == FD_CTL ? 255 : minor;
    return 0;
}

EXPORT int stat(const char *restrict path, struct stat *restrict st)
{
    resolve();
    bool handled;
    int rc = model_stat(path, st, &handled);
    return handled ? rc : real_stat(path, st);
}

EXPORT int stat64(const char *restrict path, struct stat64 *restrict st)
{
    resolve();
    bool handled;
    int rc = model_stat(path, (struct stat *)st, &handled);
    return handled ? rc : real_stat64(path, st);
}

EXPORT int close(int fd)
{
    resolve();
    if (fd >= 0 && fd < MAX_FDS)
        M.fds[fd].kind = FD_NONE;
    return real_close(fd);
}

EXPORT int ioctl(int fd, unsigned long req, ...)
{
    resolve();
    va_list ap;
    va_start(ap, req);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    if (fd < 0 || fd >= MAX_FDS || M.fds[fd].kind == FD_NONE || M.fds[fd].kind == FD_CAP)
        return real_ioctl(fd, req, arg);
    fd_rec *f = &M.fds[fd];
    unsigned type = _IOC_TYPE(req), nr = _IOC_NR(req);
    size_t size = _IOC_SIZE(req);
    int rc;
    if (type != (f->kind == FD_CTL ? (unsigned)NVSW_IOC_CTL : (unsigned)NVSW_IOC_DEV)) {
        rc = -EINVAL;
    } else {
        /* The driver copies the params in, runs the command on its copy
         * under the device lock, and copies back only on success. */
        void *k = calloc(1, size ? size : 1);
        if (!k) {
            errno = ENOMEM;
            return -1;
        }
        if (_IOC_DIR(req) & _IOC_WRITE)
            memcpy(k, arg, size);
        /* Control-node calls only read (and age the heartbeat): they take no
         * lock, so a manager stopped inside a switch call (SIGSTOP cannot be
         * held off in user space, unlike in the kernel) does not block them. */
        bool locked = f->kind != FD_CTL;
        if (locked)
            flock(M.lock_fd, LOCK_EX);
        check_heartbeats();
        rc = f->kind == FD_CTL ? ctl_ioctl(nr, k, size) : dev_ioctl(f, nr, k, size);
        if (locked)
            flock(M.lock_fd, LOCK_UN);
        if (!rc && (_IOC_DIR(req) & _IOC_READ))
            memcpy(arg, k, size);
        free(k);
    }
    if (rc) {
        errno = -rc;
        return -1;
    }
    return 0;
}
