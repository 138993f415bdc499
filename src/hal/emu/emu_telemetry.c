/* The switch telemetry of fourth-generation NVSwitches (HGX B200): such
 * switches report no SXids; their errors are fatal / non-fatal counters per
 * port and per chip that the management path reads. Kept in
 * <dir>/switch_telemetry, a fixed array of records (per switch: the chip,
 * then each port) updated in place under an exclusive flock (readers take it
 * shared), apart from state.bin so that counting never rewrites the routing
 * tables. Taken inside a state transaction when the probe counts a drop:
 * the lock order is always state.lock, then this file. Cleared at every
 * emulated boot. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hal/emu/emu_int.h"
#include "hal/emu/emu_mig.h"

#define PER_SWITCH ((size_t)OFM_MAX_SWITCH_PORTS + 1)
#define NRECS ((size_t)OFM_MAX_SWITCHES * PER_SWITCH)
#define FILE_SIZE (NRECS * sizeof(ofm_hal_error_counts))

static int open_file(ofm_hal *h, int lock, int *fd)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/switch_telemetry", ofm_emu_dir(h));
    *fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (*fd < 0)
        return emu_fail(h, OFM_HAL_EIO, "%s: cannot open: %s", path, strerror(errno));
    if (flock(*fd, lock)) {
        close(*fd);
        return emu_fail(h, OFM_HAL_EIO, "%s: cannot lock: %s", path, strerror(errno));
    }
    struct stat st;
    if (fstat(*fd, &st) == 0 && st.st_size != 0 && (size_t)st.st_size != FILE_SIZE) {
        close(*fd);
        return emu_fail(h, OFM_HAL_ECORRUPT, "%s: %lld bytes, expected %zu: delete it or run "
                        "'fmctl emu reboot'", path, (long long)st.st_size, FILE_SIZE);
    }
    return OFM_HAL_OK;
}

bool emu_switch_has_telemetry(const ofm_platform *p, size_t si)
{
    return si < p->nswitches && p->switches[si].gen >= OFM_SWITCH_GEN4;
}

static int check_switch(ofm_hal *h, uint32_t sw, int *si)
{
    emu_impl *e = emu_of(h);
    *si = emu_sw_index(e->p, sw);
    if (*si < 0)
        return emu_fail(h, OFM_HAL_EINVAL, "no switch %u in %s", sw, e->p->name);
    if (!emu_switch_has_telemetry(e->p, (size_t)*si))
        return emu_fail(h, OFM_HAL_ENOTSUP, "NVSwitch %u reports errors as SXids, not telemetry "
                        "counters (only fourth-generation NVSwitches, HGX B200, have them)", sw);
    return OFM_HAL_OK;
}

int ofm_emu_switch_telemetry(ofm_hal *h, uint32_t sw, ofm_hal_switch_telemetry *out)
{
    memset(out, 0, sizeof *out);
    out->prov = OFM_PROV_EMULATED;
    int si, fd, rc = check_switch(h, sw, &si);
    if (rc || (rc = open_file(h, LOCK_SH, &fd)))
        return rc;
    ofm_hal_error_counts r[PER_SWITCH];
    ssize_t n = pread(fd, r, sizeof r, (off_t)((size_t)si * sizeof r));
    close(fd);
    if (n == 0) /* nothing counted since boot */
        memset(r, 0, sizeof r);
    else if (n != (ssize_t)sizeof r)
        return emu_fail(h, OFM_HAL_ECORRUPT, "switch_telemetry: short read");
    out->chip = r[0];
    out->nports = emu_of(h)->p->switches[si].nports;
    memcpy(out->port, r + 1, sizeof out->port);
    return OFM_HAL_OK;
}

static uint64_t sat_add(uint64_t a, uint64_t b) { return a + b < a ? UINT64_MAX : a + b; }

static void add(ofm_hal_error_counts *c, bool fatal, uint64_t n)
{
    uint64_t *v = fatal ? &c->fatal : &c->nonfatal;
    *v = sat_add(*v, n);
}

int emu_telemetry_count(ofm_hal *h, size_t si, uint32_t port, bool fatal, uint64_t n)
{
    emu_impl *e = emu_of(h);
    if (!emu_switch_has_telemetry(e->p, si))
        return emu_fail(h, OFM_HAL_ENOTSUP, "NVSwitch %u has no telemetry counters",
                        si < e->p->nswitches ? e->p->switches[si].id : 0);
    if (port != OFM_HAL_PORT_CHIP && port >= e->p->switches[si].nports)
        return emu_fail(h, OFM_HAL_EINVAL, "switch %u has no port %u", e->p->switches[si].id, port);
    int fd, rc = open_file(h, LOCK_EX, &fd);
    if (rc)
        return rc;
    struct stat st;
    if (fstat(fd, &st) == 0 && st.st_size == 0 && ftruncate(fd, (off_t)FILE_SIZE)) {
        close(fd);
        return emu_fail(h, OFM_HAL_EIO, "switch_telemetry: cannot size the file: %s", strerror(errno));
    }
    ofm_hal_error_counts r[PER_SWITCH];
    off_t at = (off_t)(si * sizeof r);
    if (pread(fd, r, sizeof r, at) != (ssize_t)sizeof r) {
        close(fd);
        return emu_fail(h, OFM_HAL_ECORRUPT, "switch_telemetry: short read");
    }
    add(&r[0], fatal, n); /* the chip counts its ports' errors too */
    if (port != OFM_HAL_PORT_CHIP)
        add(&r[1 + port], fatal, n);
    rc = pwrite(fd, r, sizeof r, at) == (ssize_t)sizeof r
             ? OFM_HAL_OK
             : emu_fail(h, OFM_HAL_EIO, "switch_telemetry: cannot write: %s", strerror(errno));
    close(fd);
    return rc;
}

int ofm_emu_switch_telemetry_reset(ofm_hal *h)
{
    int fd, rc = open_file(h, LOCK_EX, &fd);
    if (rc)
        return rc;
    rc = ftruncate(fd, 0) == 0 ? OFM_HAL_OK
                               : emu_fail(h, OFM_HAL_EIO, "switch_telemetry: %s", strerror(errno));
    close(fd);
    return rc;
}
