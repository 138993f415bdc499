/* The emulated system's directory: creation, opening, and the transaction
 * discipline that lets a daemon, the CLI and tests share it.
 *
 * Every mutation runs under an exclusive flock on state.lock, re-reads
 * state.bin, applies the change, writes a temp file and rename()s it into
 * place. A writer killed at any point leaves either the old or the new state,
 * never a torn one; readers take a shared lock and see whole states. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hal/emu/emu_int.h"
#include "openfm/crc32.h"
#include "openfm/fileio.h"

extern const ofm_hal_ops ofm_emu_ops;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int emu_fail(ofm_hal *h, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(h->last_error, sizeof h->last_error, fmt, ap);
    va_end(ap);
    return code;
}

/* Both lookups run once per routing entry (a rack's partition writes 92016
 * entries): models number devices 1..n in order, so try that slot first. */
int emu_sw_index(const ofm_platform *p, uint32_t id)
{
    if (id >= 1 && id <= p->nswitches && p->switches[id - 1].id == id)
        return (int)(id - 1);
    for (size_t i = 0; i < p->nswitches; i++)
        if (p->switches[i].id == id)
            return (int)i;
    return -1;
}

int emu_gpu_index(const ofm_platform *p, uint32_t id)
{
    if (id >= 1 && id <= p->ngpus && p->gpus[id - 1].phys_id == id)
        return (int)(id - 1);
    for (size_t i = 0; i < p->ngpus; i++)
        if (p->gpus[i].phys_id == id)
            return (int)i;
    return -1;
}

uint32_t emu_crc32(const void *data, size_t len, uint32_t crc) { return ofm_crc32(data, len, crc); }

static int path_in(const char *dir, const char *name, char *out, size_t len)
{
    int w = snprintf(out, len, "%s/%s", dir, name);
    return (w < 0 || (size_t)w >= len) ? -1 : 0;
}

/* ---------------------------------------------------------------- state I/O */

/* The fixed part (two thirds of the payload, mostly the event ring) is
 * unchanged by route transactions, the commits on the path of every
 * partition change: reuse its CRC when its bytes are those last summed. */
static uint32_t payload_crc(emu_impl *e, const char *routes, size_t rbytes)
{
    const emu_state *st = &e->st;
    uint32_t c;
    if (e->crc_fixed && !memcmp(e->crc_fixed, &st->f, sizeof st->f)) {
        c = e->crc_fixed_val;
    } else {
        c = emu_crc32(&st->f, sizeof st->f, 0);
        if (!e->crc_fixed)
            e->crc_fixed = malloc(sizeof *e->crc_fixed);
        if (e->crc_fixed) {
            memcpy(e->crc_fixed, &st->f, sizeof st->f);
            e->crc_fixed_val = c;
        }
    }
    return emu_crc32(routes, rbytes, c);
}

/* Room for n bytes in the reusable I/O buffer. */
static char *iobuf(emu_impl *e, size_t n)
{
    if (n > e->iobuf_cap) {
        char *b = realloc(e->iobuf, n);
        if (!b)
            return NULL;
        e->iobuf = b;
        e->iobuf_cap = n;
    }
    return e->iobuf;
}

/* Why a file of the system could not be opened. Running out of file
 * descriptors or memory says nothing about the state's integrity, so it
 * must not read as "corrupted". */
static int open_error(int e)
{
    if (e == EMFILE || e == ENFILE || e == ENOMEM)
        return OFM_HAL_ENOSPC;
    return e == ENOENT ? OFM_HAL_ENODEV : OFM_HAL_EIO;
}

static int read_state(ofm_hal *h)
{
    emu_impl *e = emu_of(h);
    char path[4200];
    path_in(e->dir, "state.bin", path, sizeof path);
    /* O_NOFOLLOW: every file in the directory is ours; a link in its place was
     * planted (open refuses, ELOOP) */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        int oe = errno;
        return emu_fail(h, oe == ELOOP ? OFM_HAL_ECORRUPT : open_error(oe), "%s: cannot open: %s",
                        path, oe == ELOOP ? "it is a symbolic link" : strerror(oe));
    }
    /* the routing tables' size varies with their content, within bounds */
    size_t min_payload = sizeof e->st.f, max_payload = sizeof e->st.f + emu_routes_max_bytes(e->p);
    emu_header hdr;
    ssize_t n = read(fd, &hdr, sizeof hdr);
    int rc = OFM_HAL_OK;
    if (n != (ssize_t)sizeof hdr)
        rc = emu_fail(h, OFM_HAL_ECORRUPT, "%s: truncated header (%zd of %zu bytes)", path, n,
                      sizeof hdr);
    else if (memcmp(hdr.magic, EMU_MAGIC, 8))
        rc = emu_fail(h, OFM_HAL_ECORRUPT, "%s: not an openfm emulator state file (bad magic)", path);
    else if (hdr.version < EMU_FORMAT_VERSION)
        rc = emu_fail(h, OFM_HAL_ECORRUPT,
                      "%s: state format version %u was created by an older openfm (this one "
                      "reads version %u): recreate with 'fmctl emu create --force'",
                      path, hdr.version, EMU_FORMAT_VERSION);
    else if (hdr.version != EMU_FORMAT_VERSION)
        rc = emu_fail(h, OFM_HAL_ECORRUPT,
                      "%s: state format version %u, this openfm reads version %u: recreate the "
                      "system with 'fmctl emu create --force'",
                      path, hdr.version, EMU_FORMAT_VERSION);
    else if (hdr.header_size != sizeof hdr || hdr.payload_size < min_payload ||
             hdr.payload_size > max_payload || hdr.ngpus != e->p->ngpus ||
             hdr.nswitches != e->p->nswitches || strncmp(hdr.platform, e->p->name, OFM_NAME_LEN))
        rc = emu_fail(h, OFM_HAL_ECORRUPT,
                      "%s: state does not match topology.topo (platform '%.64s', %u GPUs, %u "
                      "switches)",
                      path, hdr.platform, hdr.ngpus, hdr.nswitches);
    if (rc == OFM_HAL_OK && e->cache_valid && hdr.generation == e->cache_gen) {
        /* nothing was committed since we last read or wrote it */
        close(fd);
        return OFM_HAL_OK;
    }
    e->cache_valid = false;
    if (rc == OFM_HAL_OK) {
        size_t want = (size_t)hdr.payload_size, got = 0;
        char *buf = iobuf(e, want);
        while (buf && got < want) {
            ssize_t m = read(fd, buf + got, want - got);
            if (m < 0 && errno == EINTR)
                continue;
            if (m <= 0)
                break;
            got += (size_t)m;
        }
        char extra;
        const char *why = NULL;
        if (!buf)
            rc = emu_fail(h, OFM_HAL_ENOSPC, "%s: out of memory", path);
        else if (got != want)
            rc = emu_fail(h, OFM_HAL_ECORRUPT, "%s: truncated (expected %zu bytes)", path,
                          sizeof hdr + want);
        else if (read(fd, &extra, 1) != 0)
            rc = emu_fail(h, OFM_HAL_ECORRUPT, "%s: trailing bytes after the state", path);
        else {
            memcpy(&e->st.f, buf, sizeof e->st.f);
            if (payload_crc(e, buf + sizeof e->st.f, want - sizeof e->st.f) != hdr.crc32)
                rc = emu_fail(h, OFM_HAL_ECORRUPT, "%s: checksum mismatch: the state is corrupted",
                              path);
            else if ((why = emu_routes_read(e, buf + sizeof e->st.f, want - sizeof e->st.f)))
                rc = emu_fail(h, OFM_HAL_ECORRUPT, "%s: %s", path, why);
        }
    }
    close(fd);
    if (rc == OFM_HAL_OK) {
        e->cache_gen = hdr.generation;
        /* values the code indexes or switches on must be in range */
        e->st.f.driver_version[sizeof e->st.f.driver_version - 1] = '\0';
        if (e->st.f.event_head >= EMU_EVENT_RING)
            rc = emu_fail(h, OFM_HAL_ECORRUPT, "%s: bad event ring index", path);
        for (size_t s = 0; rc == OFM_HAL_OK && s < OFM_MAX_SWITCHES; s++) {
            if (e->st.f.sw_health[s] > OFM_DEV_FAILED)
                rc = emu_fail(h, OFM_HAL_ECORRUPT, "%s: switch slot %zu: bad health value %u",
                              path, s, e->st.f.sw_health[s]);
            for (size_t p = 0; rc == OFM_HAL_OK && p < OFM_MAX_SWITCH_PORTS; p++)
                if (e->st.f.port_state[s][p] > OFM_LINK_FAILED)
                    rc = emu_fail(h, OFM_HAL_ECORRUPT, "%s: switch slot %zu port %zu: bad link "
                                  "state %u", path, s, p, e->st.f.port_state[s][p]);
        }
        for (size_t g = 0; rc == OFM_HAL_OK && g < OFM_MAX_GPUS; g++)
            if (e->st.f.gpu_health[g] > OFM_DEV_FAILED ||
                e->st.f.gpu_fabric_state[g] > OFM_FABRIC_COMPLETED)
                rc = emu_fail(h, OFM_HAL_ECORRUPT, "%s: GPU slot %zu: bad health %u or fabric "
                              "state %u", path, g, e->st.f.gpu_health[g],
                              e->st.f.gpu_fabric_state[g]);
        /* event text is printed by callers: it must be a string */
        for (size_t i = 0; rc == OFM_HAL_OK && i < EMU_EVENT_RING; i++) {
            ofm_hal_event *ev = &e->st.f.events[i];
            ev->detail[sizeof ev->detail - 1] = '\0';
            if (ev->seq && (ev->kind < OFM_EVT_SXID || ev->kind > OFM_EVT_KIND_MAX))
                rc = emu_fail(h, OFM_HAL_ECORRUPT, "%s: event slot %zu: bad kind %d", path, i,
                              (int)ev->kind);
        }
        e->cache_valid = rc == OFM_HAL_OK;
    }
    return rc;
}

static int write_state(ofm_hal *h)
{
    emu_impl *e = emu_of(h);
    char path[4200];
    path_in(e->dir, "state.bin", path, sizeof path);
    size_t rbytes = emu_routes_bytes(e), total = sizeof(emu_header) + sizeof e->st.f + rbytes;
    char *buf = iobuf(e, total);
    if (!buf)
        return emu_fail(h, OFM_HAL_EIO, "%s: out of memory", path);
    char *routes = buf + sizeof(emu_header) + sizeof e->st.f;
    emu_routes_write(e, routes);
    emu_header hdr;
    memset(&hdr, 0, sizeof hdr);
    memcpy(hdr.magic, EMU_MAGIC, 8);
    hdr.version = EMU_FORMAT_VERSION;
    hdr.header_size = sizeof hdr;
    hdr.payload_size = sizeof e->st.f + rbytes;
    hdr.crc32 = payload_crc(e, routes, rbytes);
    hdr.ngpus = (uint32_t)e->p->ngpus;
    hdr.nswitches = (uint32_t)e->p->nswitches;
    snprintf(hdr.platform, sizeof hdr.platform, "%s", e->p->name);
    hdr.generation = e->cache_gen + 1;
    e->cache_valid = false; /* until the rename below succeeds */
    memcpy(buf, &hdr, sizeof hdr);
    memcpy(buf + sizeof hdr, &e->st.f, sizeof e->st.f);
    /* no fsync: the emulated hardware need not survive a host power cut, only
     * process crashes, and rename() alone gives that */
    ofm_error err;
    int rc = ofm_file_write_atomic(path, buf, total, 0644, OFM_FILE_NOSYNC, &err);
    if (rc) {
        char b[700];
        return emu_fail(h, OFM_HAL_EIO, "write failed: %s", ofm_error_format(&err, b, sizeof b));
    }
    e->cache_gen = hdr.generation;
    e->cache_valid = true;
    return OFM_HAL_OK;
}

int emu_begin(ofm_hal *h, bool write)
{
    emu_impl *e = emu_of(h);
    while (flock(e->lock_fd, write ? LOCK_EX : LOCK_SH) < 0)
        if (errno != EINTR)
            return emu_fail(h, OFM_HAL_EIO, "%s: lock failed: %s", e->dir, strerror(errno));
    int rc = read_state(h);
    if (rc != OFM_HAL_OK)
        flock(e->lock_fd, LOCK_UN);
    e->txn_write = write;
    e->txn_committed = false;
    return rc;
}

int emu_commit(ofm_hal *h)
{
    int rc = write_state(h);
    emu_of(h)->txn_committed = rc == OFM_HAL_OK;
    return rc;
}

void emu_end(ofm_hal *h)
{
    emu_impl *e = emu_of(h);
    /* an abandoned write may have changed the in-memory copy: don't trust it */
    if (e->txn_write && !e->txn_committed)
        e->cache_valid = false;
    flock(e->lock_fd, LOCK_UN);
}

/* ---------------------------------------------------------------- boot */

void emu_boot(emu_impl *e)
{
    const ofm_platform *p = e->p;
    emu_fixed *f = &e->st.f;
    memset(f->port_state, OFM_LINK_OFF, sizeof f->port_state);
    emu_routes_clear(e);
    f->boots++;
    f->boot_ns = now_ns();
    for (size_t g = 0; g < p->ngpus; g++) {
        f->gpu_fabric_state[g] = OFM_FABRIC_NOT_STARTED;
        f->gpu_fabric_status[g] = 0;
    }
    for (size_t s = 0; s < p->nswitches; s++)
        for (uint32_t port = 0; port < OFM_MAX_SWITCH_PORTS; port++)
            if (f->port_fault[s][port])
                f->port_state[s][port] = OFM_LINK_FAILED;
    if (!p->ali)
        return; /* gen1/gen2: links wait for the fabric manager to train them */
    for (size_t i = 0; i < p->naccess; i++) {
        int s = emu_sw_index(p, p->access[i].sw), g = emu_gpu_index(p, p->access[i].gpu);
        uint8_t *st = &f->port_state[s][p->access[i].sw_port];
        if (*st == OFM_LINK_OFF && f->sw_health[s] == OFM_DEV_OK && f->gpu_health[g] == OFM_DEV_OK)
            *st = OFM_LINK_ACTIVE;
    }
    for (size_t i = 0; i < p->ntrunks; i++) {
        int a = emu_sw_index(p, p->trunks[i].sw_a), b = emu_sw_index(p, p->trunks[i].sw_b);
        uint8_t *sa = &f->port_state[a][p->trunks[i].port_a], *sb = &f->port_state[b][p->trunks[i].port_b];
        if (*sa == OFM_LINK_OFF && *sb == OFM_LINK_OFF && f->sw_health[a] == OFM_DEV_OK &&
            f->sw_health[b] == OFM_DEV_OK)
            *sa = *sb = OFM_LINK_ACTIVE;
    }
}

/* ---------------------------------------------------------------- open/close */

static void build_port_maps(emu_impl *e)
{
    memset(e->port_access, 0xff, sizeof e->port_access);
    memset(e->port_trunk, 0xff, sizeof e->port_trunk);
    const ofm_platform *p = e->p;
    size_t base = 0;
    for (size_t i = 0; i < p->nswitches; i++) {
        e->route_base[i] = base;
        base += p->switches[i].nports;
    }
    memset(e->ngpu_access, 0, sizeof e->ngpu_access);
    for (size_t i = 0; i < p->naccess; i++) {
        int si = emu_sw_index(p, p->access[i].sw), gi = emu_gpu_index(p, p->access[i].gpu);
        e->port_access[si][p->access[i].sw_port] = (int16_t)i;
        e->access_sw[i] = (int8_t)si;
        /* the parser allows each GPU link once, so a GPU has at most nvlinks entries */
        if (e->ngpu_access[gi] < OFM_MAX_GPU_LINKS)
            e->gpu_access[gi][e->ngpu_access[gi]++] = (int16_t)i;
    }
    for (size_t i = 0; i < p->ntrunks; i++) {
        e->port_trunk[emu_sw_index(p, p->trunks[i].sw_a)][p->trunks[i].port_a] = (int16_t)i;
        e->port_trunk[emu_sw_index(p, p->trunks[i].sw_b)][p->trunks[i].port_b] = (int16_t)i;
    }
}

static void impl_free(emu_impl *e)
{
    if (!e)
        return;
    if (e->lock_fd >= 0)
        close(e->lock_fd);
    if (e->fm_fd >= 0)
        close(e->fm_fd);
    emu_routes_free(&e->st.r);
    free(e->iobuf);
    free(e->crc_fixed);
    free(e->p);
    free(e);
}

/* The model a system was created from, never through a link. */
static int load_topology(const char *path, ofm_platform *p, ofm_error *err)
{
    char *buf;
    size_t n;
    if (ofm_file_read(path, "topology file", 1u << 20, OFM_FILE_NOFOLLOW, &buf, &n, err))
        return -1;
    int rc = ofm_platform_parse(buf, n, path, p, err);
    int e = errno;
    free(buf);
    errno = rc ? EINVAL : e;
    return rc;
}

int emu_open_lock(const char *path)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0 && errno == EACCES) /* a reader without write access to the system */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    return fd;
}

int ofm_emu_backend_open(const char *dir, ofm_hal **out, char *errbuf, size_t errlen)
{
    *out = NULL;
    if (!dir || strlen(dir) >= 4000) {
        snprintf(errbuf, errlen, "emulator directory missing or too long");
        return OFM_HAL_EINVAL;
    }
    emu_impl *e = calloc(1, sizeof *e);
    ofm_hal *h = calloc(1, sizeof *h);
    if (!e || !h) {
        free(e);
        free(h);
        snprintf(errbuf, errlen, "out of memory");
        return OFM_HAL_EIO;
    }
    e->lock_fd = e->fm_fd = -1;
    snprintf(e->dir, sizeof e->dir, "%s", dir);
    h->ops = &ofm_emu_ops;
    h->prov = OFM_PROV_EMULATED;
    h->impl = e;
    char path[4200];
    path_in(dir, "topology.topo", path, sizeof path);
    e->p = malloc(sizeof *e->p);
    ofm_error err;
    struct stat sb;
    int rc = OFM_HAL_OK;
    char b[700];
    if (stat(dir, &sb) || !S_ISDIR(sb.st_mode)) {
        snprintf(errbuf, errlen,
                 "%s: no emulated system here (create one with 'fmctl emu create --platform NAME "
                 "--emu-dir %s')",
                 dir, dir);
        rc = OFM_HAL_ENODEV;
    } else if (ofm_dir_check_private(dir, &err)) {
        /* another user who can write here can swap any file under us */
        snprintf(errbuf, errlen, "%s", ofm_error_format(&err, b, sizeof b));
        rc = OFM_HAL_EINVAL;
    } else if (!e->p || load_topology(path, e->p, &err)) {
        snprintf(errbuf, errlen, "%s", e->p ? ofm_error_format(&err, b, sizeof b) : "out of memory");
        rc = errno == ENOENT ? OFM_HAL_ENODEV
             : open_error(errno) == OFM_HAL_ENOSPC ? OFM_HAL_ENOSPC
                                                   : OFM_HAL_ECORRUPT;
    } else {
        build_port_maps(e);
        bool routes_ok = emu_routes_alloc(&e->st.r, e->p) == 0;
        path_in(dir, "state.lock", path, sizeof path);
        e->lock_fd = emu_open_lock(path);
        if (!routes_ok || e->lock_fd < 0) {
            snprintf(errbuf, errlen, "%s: %s", path, strerror(errno));
            rc = OFM_HAL_EIO;
        } else if ((rc = emu_begin(h, false)) != OFM_HAL_OK) {
            snprintf(errbuf, errlen, "%s", h->last_error); /* corrupted state is refused at open */
        } else {
            emu_end(h);
        }
    }
    if (rc != OFM_HAL_OK) {
        impl_free(e);
        free(h);
        return rc;
    }
    *out = h;
    return OFM_HAL_OK;
}

static void emu_close(ofm_hal *h)
{
    impl_free(emu_of(h));
    free(h);
}

const ofm_platform *ofm_emu_platform(const ofm_hal *h) { return emu_of(h)->p; }
const char *ofm_emu_dir(const ofm_hal *h) { return emu_of(h)->dir; }

/* ---------------------------------------------------------------- create/destroy */

/* "a fabric manager (pid N) is running on DIR" when fm.lock is held */
static bool fm_held(const char *dir, char *msg, size_t len, const char *what)
{
    char path[4200];
    path_in(dir, "fm.lock", path, sizeof path);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0)
        return false;
    bool held = flock(fd, LOCK_SH | LOCK_NB) < 0;
    close(fd);
    if (held) {
        pid_t pid = ofm_lockfile_holder(path);
        char who[48] = "";
        if (pid > 0)
            snprintf(who, sizeof who, " (pid %ld)", (long)pid);
        snprintf(msg, len, "%s: a fabric manager%s is running on this system: stop it before %s",
                 dir, who, what);
    }
    return held;
}

/* What a system accumulates while it runs, besides state.bin: MIG layout,
 * NVLink error and telemetry counters, the devices excluded at the last
 * boot. A replaced system starts without them; destroy removes them. */
static const char *const run_files[] = {"mig.state", "nvlink_errors", "switch_telemetry",
                                        "excluded"};

int ofm_emu_create(const char *dir, const char *platform, bool force, char *errbuf, size_t errlen)
{
    if (!dir || strlen(dir) >= 4000) {
        snprintf(errbuf, errlen, "emulator directory missing or too long");
        return OFM_HAL_EINVAL;
    }
    ofm_platform *p = malloc(sizeof *p);
    ofm_error err;
    if (!p || ofm_platform_load(platform, NULL, p, &err)) {
        char b[700];
        snprintf(errbuf, errlen, "%s", p ? ofm_error_format(&err, b, sizeof b) : "out of memory");
        free(p);
        return OFM_HAL_EINVAL;
    }
    char path[4200];
    path_in(dir, "state.bin", path, sizeof path);
    if (!force && access(path, F_OK) == 0) {
        snprintf(errbuf, errlen,
                 "%s already holds an emulated system (use --force to replace it, or 'fmctl emu "
                 "destroy')",
                 dir);
        free(p);
        return OFM_HAL_EBUSY;
    }
    char b[700];
    if (ofm_dir_make_private(dir, &err)) {
        snprintf(errbuf, errlen, "%s", ofm_error_format(&err, b, sizeof b));
        free(p);
        return errno == EPERM ? OFM_HAL_EINVAL : OFM_HAL_EIO;
    }
    /* Replacing the hardware under a running manager would leave it driving
     * routes and partitions that no longer exist: hold the manager lock while
     * creating, which also keeps a manager from attaching half-way. */
    path_in(dir, "fm.lock", path, sizeof path);
    int fmfd = ofm_lockfile_acquire(path, "the emulated system", NULL, &err);
    if (fmfd < 0) {
        if (!fm_held(dir, errbuf, errlen, "replacing it"))
            snprintf(errbuf, errlen, "%s", ofm_error_format(&err, b, sizeof b));
        free(p);
        return OFM_HAL_EBUSY;
    }
    /* a replaced system keeps nothing of the old one's run */
    for (size_t i = 0; i < sizeof run_files / sizeof run_files[0]; i++) {
        path_in(dir, run_files[i], path, sizeof path);
        if (unlink(path) && errno != ENOENT) {
            snprintf(errbuf, errlen, "%s: cannot remove the old system's file: %s", path,
                     strerror(errno));
            free(p);
            close(fmfd);
            return OFM_HAL_EIO;
        }
    }
    /* the topology text goes in verbatim so the system opens with no other file */
    size_t len;
    const char *text = ofm_platform_builtin_text(platform, &len);
    char *owned = NULL;
    if (!text && ofm_file_read(platform, "topology file", 1u << 20, 0, &owned, &len, &err)) {
        snprintf(errbuf, errlen, "%s", ofm_error_format(&err, b, sizeof b));
        free(p);
        close(fmfd);
        return OFM_HAL_EINVAL;
    }
    path_in(dir, "topology.topo", path, sizeof path);
    int wrc = ofm_file_write_atomic(path, owned ? owned : text, len, 0644, OFM_FILE_NOSYNC, &err);
    free(owned);
    if (wrc) {
        snprintf(errbuf, errlen, "%s", ofm_error_format(&err, b, sizeof b));
        free(p);
        close(fmfd);
        return OFM_HAL_EIO;
    }
    /* a fresh state, written through the normal transaction path */
    path_in(dir, "state.lock", path, sizeof path);
    int lfd = emu_open_lock(path);
    if (lfd < 0) {
        snprintf(errbuf, errlen, "%s: %s", path, strerror(errno));
        free(p);
        close(fmfd);
        return OFM_HAL_EIO;
    }
    flock(lfd, LOCK_EX);
    emu_impl e;
    memset(&e, 0, sizeof e);
    snprintf(e.dir, sizeof e.dir, "%s", dir);
    e.p = p;
    e.lock_fd = lfd;
    e.fm_fd = -1;
    bool routes_ok = emu_routes_alloc(&e.st.r, p) == 0;
    build_port_maps(&e);
    snprintf(e.st.f.driver_version, sizeof e.st.f.driver_version, "%s", OFM_EMU_DEFAULT_DRIVER);
    e.cache_gen = now_ns(); /* a recreated system never reuses an old generation */
    ofm_hal h = {.ops = &ofm_emu_ops, .prov = OFM_PROV_EMULATED, .impl = &e};
    emu_boot(&e);
    path_in(dir, "kmsg", path, sizeof path);
    /* a new system starts with an empty log */
    int kfd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (kfd >= 0)
        close(kfd);
    emu_kmsg_line(&e, e.st.f.boot_ns, "openfm-emu: booted %s (%zu GPUs, %zu NVSwitches, driver %s)",
                  p->name, p->ngpus, p->nswitches, e.st.f.driver_version);
    int rc = routes_ok ? write_state(&h) : OFM_HAL_EIO;
    if (rc != OFM_HAL_OK)
        snprintf(errbuf, errlen, "%s", routes_ok ? h.last_error : "out of memory");
    flock(lfd, LOCK_UN);
    close(lfd);
    close(fmfd);
    emu_routes_free(&e.st.r);
    free(e.iobuf);
    free(e.crc_fixed);
    free(p);
    return rc;
}

int ofm_emu_destroy(const char *dir, char *errbuf, size_t errlen)
{
    static const char *files[] = {"state.bin", "topology.topo", "kmsg", "state.lock", "fm.lock",
                                  "mig.state", "mig.lock"};
    char path[4200];
    path_in(dir, "state.bin", path, sizeof path);
    if (access(path, F_OK)) {
        snprintf(errbuf, errlen, "%s: no emulated system here", dir);
        return OFM_HAL_ENODEV;
    }
    if (fm_held(dir, errbuf, errlen, "destroying it"))
        return OFM_HAL_EBUSY;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        path_in(dir, files[i], path, sizeof path);
        unlink(path);
    }
    for (size_t i = 0; i < sizeof run_files / sizeof run_files[0]; i++) {
        path_in(dir, run_files[i], path, sizeof path);
        unlink(path);
    }
    /* temp files a writer killed before its rename() left behind */
    DIR *d = opendir(dir);
    for (struct dirent *de; d && (de = readdir(d));)
        if (!strncmp(de->d_name, "state.bin.tmp", 13) || !strcmp(de->d_name, "mig.state.tmp") ||
            !strcmp(de->d_name, "topology.topo.tmp") || !strcmp(de->d_name, "excluded.tmp")) {
            path_in(dir, de->d_name, path, sizeof path);
            unlink(path);
        }
    if (d)
        closedir(d);
    if (rmdir(dir) && errno != ENOTEMPTY && errno != EEXIST) {
        snprintf(errbuf, errlen, "%s: %s", dir, strerror(errno));
        return OFM_HAL_EIO;
    }
    return OFM_HAL_OK;
}

int ofm_emu_root_dir(char *out, size_t len)
{
    const char *root = getenv("OPENFM_EMU_ROOT"), *xdg = getenv("XDG_RUNTIME_DIR");
    int w;
    if (root && *root)
        w = snprintf(out, len, "%s", root);
    else if (geteuid() == 0)
        /* root's systems hold what a daemon trusts: a root-owned place no user
         * can pre-create (unlike /tmp) */
        w = snprintf(out, len, "%s", OFM_EMU_ROOT_DIR_SYSTEM);
    else if (xdg && *xdg)
        w = snprintf(out, len, "%s/openfm-emu", xdg);
    else
        w = snprintf(out, len, "/tmp/openfm-emu-%ld", (long)getuid());
    return w < 0 || (size_t)w >= len ? -1 : 0;
}

int ofm_emu_resolve_dir(const char *explicit_dir, char *out, size_t len)
{
    const char *env = getenv("OPENFM_EMU_DIR");
    int w;
    if (explicit_dir && *explicit_dir)
        w = snprintf(out, len, "%s", explicit_dir);
    else if (env && *env)
        w = snprintf(out, len, "%s", env);
    else {
        char root[4000];
        if (ofm_emu_root_dir(root, sizeof root))
            return -1;
        w = snprintf(out, len, "%s/default", root);
    }
    return w < 0 || (size_t)w >= len ? -1 : 0;
}

/* ---------------------------------------------------------------- fabric manager hold */

int ofm_emu_fm_attach(ofm_hal *h)
{
    emu_impl *e = emu_of(h);
    if (e->fm_fd >= 0)
        return OFM_HAL_OK;
    char path[4200];
    path_in(e->dir, "fm.lock", path, sizeof path);
    ofm_error err;
    pid_t holder = 0;
    int fd = ofm_lockfile_acquire(path, "the emulated system", &holder, &err);
    if (fd < 0 && errno == EBUSY) {
        char who[48] = "";
        if (holder > 0)
            snprintf(who, sizeof who, " (pid %ld)", (long)holder);
        return emu_fail(h, OFM_HAL_EBUSY, "another fabric manager%s already manages %s", who,
                        e->dir);
    }
    if (fd < 0) {
        char b[700];
        return emu_fail(h, OFM_HAL_EIO, "%s", ofm_error_format(&err, b, sizeof b));
    }
    e->fm_fd = fd;
    return OFM_HAL_OK;
}

void ofm_emu_fm_detach(ofm_hal *h)
{
    emu_impl *e = emu_of(h);
    if (e->fm_fd >= 0) {
        close(e->fm_fd);
        e->fm_fd = -1;
    }
}

bool ofm_emu_fm_running(const ofm_hal *h)
{
    const emu_impl *e = emu_of(h);
    if (e->fm_fd >= 0)
        return true;
    char path[4200];
    path_in(e->dir, "fm.lock", path, sizeof path);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0)
        return false;
    bool held = flock(fd, LOCK_SH | LOCK_NB) < 0;
    close(fd);
    return held;
}

int emu_manager_guard(ofm_hal *h)
{
    emu_impl *e = emu_of(h);
    if (e->fm_fd >= 0)
        return OFM_HAL_OK;
    char msg[64];
    if (!fm_held(e->dir, msg, sizeof msg, ""))
        return OFM_HAL_OK;
    char path[4200];
    path_in(e->dir, "fm.lock", path, sizeof path);
    pid_t pid = ofm_lockfile_holder(path);
    char who[48] = "";
    if (pid > 0)
        snprintf(who, sizeof who, " (pid %ld)", (long)pid);
    return emu_fail(h, OFM_HAL_EBUSY,
                    "a fabric manager%s manages %s: a second one may not train links, program "
                    "routes or register GPUs (fault injection and MIG changes stay allowed)",
                    who, e->dir);
}

int ofm_emu_kmsg_path(const ofm_hal *h, char *out, size_t len)
{
    return path_in(emu_of(h)->dir, "kmsg", out, len);
}

/* exported for emu_ops.c */
void emu_close_handle(ofm_hal *h);
void emu_close_handle(ofm_hal *h) { emu_close(h); }
