/* Emulator internals shared by its source files (not an API). */
#ifndef OPENFM_EMU_INT_H
#define OPENFM_EMU_INT_H

#include <stdint.h>

#include "openfm/emu.h"
#include "openfm/hal.h"

#define EMU_MAGIC "OFMEMU\r\n" /* CR LF catches text-mode mangling */
/* 2: 72 ports per switch, 72 GPUs, 128-bit egress sets, routes packed by each
 * switch's own port count.
 * 3: routes as common egress per (switch, GPU) + a valid set per port + an
 * exception list (emu_routes.c), instead of a dense ports x GPUs table. */
#define EMU_FORMAT_VERSION 3
#define EMU_EVENT_RING 128

/* Fixed header of state.bin. The payload that follows is host-endian: the
 * emulator's state never leaves the machine that created it. */
typedef struct {
    char magic[8];
    uint32_t version;
    uint32_t header_size;
    uint64_t payload_size;
    uint32_t crc32;      /* of the payload */
    uint32_t ngpus, nswitches;
    uint32_t reserved;
    char platform[OFM_NAME_LEN];
    uint64_t generation; /* +1 on every commit: lets readers skip unchanged payloads */
} emu_header;

/* The hardware as it is now: this fixed part (sized by the limits, not the
 * platform), then the routing tables in the form of emu_routes.c. */
typedef struct {
    char driver_version[32];
    uint64_t event_seq;
    uint64_t boot_ns;     /* CLOCK_REALTIME at the last boot: kmsg timestamps count from it */
    uint32_t boots;
    uint32_t event_head;  /* next slot in events[] */
    uint8_t sw_health[OFM_MAX_SWITCHES];
    uint8_t gpu_health[OFM_MAX_GPUS];
    uint8_t gpu_fail_reg[OFM_MAX_GPUS];
    uint8_t gpu_fabric_state[OFM_MAX_GPUS];
    int32_t gpu_fabric_status[OFM_MAX_GPUS];
    uint8_t port_state[OFM_MAX_SWITCHES][OFM_MAX_SWITCH_PORTS];
    uint8_t port_fault[OFM_MAX_SWITCHES][OFM_MAX_SWITCH_PORTS];
    ofm_hal_event events[EMU_EVENT_RING];
} emu_fixed;

/* An entry whose egress differs from its switch's common egress toward the
 * GPU. key = (first route row of the switch + ingress port) * ngpus + GPU index. */
typedef struct {
    uint32_t key;
    uint32_t reserved;
    ofm_portset egress;
} emu_route_exc;
_Static_assert(sizeof(emu_route_exc) == 24, "emu_route_exc is stored as is");

/* In memory, a route row's (one ingress port's) exceptions, sorted by key:
 * a row has at most one per GPU, so changing one costs O(GPUs). */
typedef struct {
    emu_route_exc *v;
    uint32_t n, cap;
} emu_exc_row;

/* The routing tables (emu_routes.c): see there for the form. */
typedef struct {
    ofm_portset *common;  /* [switch index * ngpus + GPU index] */
    ofm_portset *valid;   /* [first route row of the switch + port]: bit = GPU index */
    emu_exc_row *rows;    /* [route row]: exceptions; on disk one list sorted by key */
    size_t nrows;         /* route rows = the switches' ports */
    size_t nexc;          /* exceptions in all rows */
    uint16_t *users;      /* in memory only: ports whose valid bit selects common[] */
} emu_routes;

typedef struct {
    emu_fixed f;
    emu_routes r;
} emu_state;

typedef struct {
    char dir[4096];
    ofm_platform *p;      /* parsed once per handle */
    int lock_fd;          /* state.lock */
    int fm_fd;            /* fm.lock while attached, else -1 */
    emu_state st;         /* scratch copy used inside transactions */
    bool cache_valid;     /* st equals the file's payload of generation cache_gen */
    uint64_t cache_gen;
    emu_fixed *crc_fixed;  /* the fixed part as last checksummed (NULL: none yet) */
    uint32_t crc_fixed_val;
    bool txn_write, txn_committed;
    /* port -> model link lookup, built once */
    int16_t port_access[OFM_MAX_SWITCHES][OFM_MAX_SWITCH_PORTS]; /* access index or -1 */
    int16_t port_trunk[OFM_MAX_SWITCHES][OFM_MAX_SWITCH_PORTS];  /* trunk index or -1 */
    size_t route_base[OFM_MAX_SWITCHES]; /* first route row of each switch */
    /* per GPU index: its access links (model indexes), and per access link the
     * index of its switch - the probe walks them for every pair */
    int16_t gpu_access[OFM_MAX_GPUS][OFM_MAX_GPU_LINKS];
    uint8_t ngpu_access[OFM_MAX_GPUS];
    int8_t access_sw[OFM_MAX_ACCESS_LINKS];
    char *iobuf;          /* state.bin image, reused across reads and writes */
    size_t iobuf_cap;
} emu_impl;

static inline emu_impl *emu_of(const ofm_hal *h) { return (emu_impl *)h->impl; }

/* Routing tables (emu_routes.c). Callers pass indexes of the model and a
 * port below the switch's port count (check_port). */
int emu_routes_alloc(emu_routes *r, const ofm_platform *p);
void emu_routes_free(emu_routes *r);
void emu_routes_clear(emu_impl *e);
ofm_portset emu_route_get(const emu_impl *e, size_t sw_idx, uint32_t port, size_t gpu_idx);
/* Set one entry (empty egress: no entry). -1 only when out of memory. */
int emu_route_set(emu_impl *e, size_t sw_idx, uint32_t port, size_t gpu_idx, ofm_portset egress);
/* emu_route_set for every port of `ports` (< the switch's port count). */
int emu_route_set_group(emu_impl *e, size_t sw_idx, ofm_portset ports, size_t gpu_idx,
                        ofm_portset egress);
/* Serialised size, the largest a platform can need, write, and a strict read
 * (NULL, or why the bytes are refused). */
size_t emu_routes_bytes(const emu_impl *e);
size_t emu_routes_max_bytes(const ofm_platform *p);
void emu_routes_write(const emu_impl *e, char *out);
const char *emu_routes_read(emu_impl *e, const char *buf, size_t len);

int emu_sw_index(const ofm_platform *p, uint32_t id);
int emu_gpu_index(const ofm_platform *p, uint32_t id);

/* Transactions: begin loads the state under the lock (exclusive for
 * writers); commit writes it atomically; end releases. A failed begin leaves
 * h->last_error set. */
int emu_begin(ofm_hal *h, bool write);
/* Open (creating) a lock file of the system: never through a symlink; read-only
 * when we may not write it (flock works on either). */
int emu_open_lock(const char *path);
/* What only the fabric manager does (train links, program routes, register
 * GPUs) is refused to a handle that is not attached while another process
 * holds the system: two managers would undo each other's isolation. */
int emu_manager_guard(ofm_hal *h);
int emu_commit(ofm_hal *h);
void emu_end(ofm_hal *h);
int emu_fail(ofm_hal *h, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Boot: link states per generation, fabric states reset. */
void emu_boot(emu_impl *e);
/* Record an event in the ring (inside a write transaction) and print its
 * kernel log lines. */
void emu_event(ofm_hal *h, ofm_hal_event ev);

/* Identity derived from platform + IDs, so every view agrees. */
void emu_gpu_bdf(const ofm_platform *p, size_t gi, char *out, size_t len);
void emu_gpu_uuid(const ofm_platform *p, size_t gi, char *out, size_t len);
void emu_switch_bdf(const ofm_platform *p, size_t si, char *out, size_t len);
void emu_switch_uuid(const ofm_platform *p, size_t si, char *out, size_t len);
/* SR-IOV model (emu_sriov.c): the virtual functions of GPU gi, VF 1 first;
 * returns how many there are (EMU_VFS_PER_GPU), filling at most cap. */
#define EMU_VFS_PER_GPU 16
size_t emu_gpu_vfs(const ofm_platform *p, size_t gi, ofm_hal_pci_fn *out, size_t cap);

/* Counter files (emu_counters.c): a fixed array of records in <dir>/name,
 * `size` bytes once anything was counted, empty before. Read: `len` bytes at
 * `off` under a shared lock (zeros while empty). Update: under an exclusive
 * lock, read them into buf, apply(buf, arg), write them back. Clear: empty
 * the file (boot). A saturating add for the counters themselves. */
typedef struct {
    const char *name;
    size_t size;
} emu_counter_file;
int emu_counters_read(ofm_hal *h, const emu_counter_file *f, size_t off, void *buf, size_t len);
int emu_counters_update(ofm_hal *h, const emu_counter_file *f, size_t off, void *buf, size_t len,
                        void (*apply)(void *recs, const void *arg), const void *arg);
int emu_counters_clear(ofm_hal *h, const emu_counter_file *f);
uint64_t emu_sat_add(uint64_t a, uint64_t b);

/* Switch telemetry (emu_telemetry.c): whether switch si counts its errors
 * in telemetry (fourth generation) instead of raising SXids, and raising a
 * port's (or, with OFM_HAL_PORT_CHIP, only the chip's) counter by n. */
bool emu_switch_has_telemetry(const ofm_platform *p, size_t si);
int emu_telemetry_count(ofm_hal *h, size_t si, uint32_t port, bool fatal, uint64_t n);

/* kmsg */
void emu_kmsg_sxid(emu_impl *e, size_t si, uint32_t port, uint32_t code, bool fatal,
                   const char *desc, uint64_t now_ns);
void emu_kmsg_xid(emu_impl *e, size_t gi, uint32_t code, const char *detail, uint64_t now_ns);
void emu_kmsg_line(emu_impl *e, uint64_t now_ns, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

uint32_t emu_crc32(const void *data, size_t len, uint32_t crc);

#endif
