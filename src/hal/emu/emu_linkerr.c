/* The emulator's NVLink error counters (CRC flit/data, replay, recovery per
 * switch port), in <dir>/nvlink_errors: a fixed array of records updated in
 * place under an exclusive flock (readers take it shared). Kept apart from
 * state.bin so that counting errors never rewrites the routing tables, and
 * the two ends of a trunk share one record (stored at the lower end). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hal/emu/emu_int.h"
#include "hal/emu/emu_mig.h"

typedef struct {
    uint64_t crc_flit, crc_data, replay, recovery;
} rec;

#define NRECS ((size_t)OFM_MAX_SWITCHES * OFM_MAX_SWITCH_PORTS)

static int open_file(ofm_hal *h, int lock, int *fd)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/nvlink_errors", ofm_emu_dir(h));
    *fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (*fd < 0)
        return emu_fail(h, OFM_HAL_EIO, "%s: cannot open: %s", path, strerror(errno));
    if (flock(*fd, lock)) {
        close(*fd);
        return emu_fail(h, OFM_HAL_EIO, "%s: cannot lock: %s", path, strerror(errno));
    }
    struct stat st;
    if (fstat(*fd, &st) == 0 && st.st_size != 0 && (size_t)st.st_size != NRECS * sizeof(rec)) {
        close(*fd);
        return emu_fail(h, OFM_HAL_ECORRUPT, "%s: %lld bytes, expected %zu: delete it or run "
                        "'fmctl emu reboot'", path, (long long)st.st_size, NRECS * sizeof(rec));
    }
    return OFM_HAL_OK;
}

/* The record of (sw, port): trunks use their lower (switch, port) end. */
static int slot(ofm_hal *h, uint32_t sw, uint32_t port, size_t *out)
{
    emu_impl *e = emu_of(h);
    int si = emu_sw_index(e->p, sw);
    if (si < 0)
        return emu_fail(h, OFM_HAL_EINVAL, "no switch %u in %s", sw, e->p->name);
    if (port >= e->p->switches[si].nports)
        return emu_fail(h, OFM_HAL_EINVAL, "switch %u has no port %u", sw, port);
    int t = e->port_trunk[si][port];
    if (t >= 0) {
        const ofm_trunk_link *tl = &e->p->trunks[t];
        int sa = emu_sw_index(e->p, tl->sw_a), sb = emu_sw_index(e->p, tl->sw_b);
        bool a_low = sa < sb || (sa == sb && tl->port_a < tl->port_b);
        si = a_low ? sa : sb;
        port = a_low ? tl->port_a : tl->port_b;
    }
    *out = (size_t)si * OFM_MAX_SWITCH_PORTS + port;
    return OFM_HAL_OK;
}

int ofm_emu_link_errors(ofm_hal *h, uint32_t sw, uint32_t port, ofm_hal_link_errors *out)
{
    memset(out, 0, sizeof *out);
    out->prov = OFM_PROV_EMULATED;
    size_t k;
    int fd, rc = slot(h, sw, port, &k);
    if (rc || (rc = open_file(h, LOCK_SH, &fd)))
        return rc;
    rec r = {0};
    ssize_t n = pread(fd, &r, sizeof r, (off_t)(k * sizeof r));
    close(fd);
    if (n != 0 && n != (ssize_t)sizeof r)
        return emu_fail(h, OFM_HAL_ECORRUPT, "nvlink_errors: short read");
    out->crc_flit = r.crc_flit;
    out->crc_data = r.crc_data;
    out->replay = r.replay;
    out->recovery = r.recovery;
    return OFM_HAL_OK;
}

static uint64_t sat_add(uint64_t a, uint64_t b) { return a + b < a ? UINT64_MAX : a + b; }

int ofm_emu_link_errors_many(ofm_hal *h, const uint32_t *sw, const uint32_t *port, size_t n,
                             ofm_hal_link_errors *out, int *rcs)
{
    int fd, rc = open_file(h, LOCK_SH, &fd);
    if (rc)
        return rc;
    rec *all = calloc(NRECS, sizeof *all);
    if (!all) {
        close(fd);
        return emu_fail(h, OFM_HAL_ENOSPC, "nvlink_errors: out of memory");
    }
    /* one read of the whole file (empty until the first error is counted) */
    ssize_t got = pread(fd, all, NRECS * sizeof *all, 0);
    close(fd);
    if (got != 0 && got != (ssize_t)(NRECS * sizeof *all)) {
        free(all);
        return emu_fail(h, OFM_HAL_ECORRUPT, "nvlink_errors: short read");
    }
    for (size_t i = 0; i < n; i++) {
        memset(&out[i], 0, sizeof out[i]);
        out[i].prov = OFM_PROV_EMULATED;
        size_t k;
        rcs[i] = slot(h, sw[i], port[i], &k);
        if (rcs[i] == OFM_HAL_OK) {
            out[i].crc_flit = all[k].crc_flit;
            out[i].crc_data = all[k].crc_data;
            out[i].replay = all[k].replay;
            out[i].recovery = all[k].recovery;
        }
    }
    free(all);
    return OFM_HAL_OK;
}

int ofm_emu_inject_link_errors(ofm_hal *h, uint32_t sw, uint32_t port, const ofm_hal_link_errors *add)
{
    size_t k;
    int fd, rc = slot(h, sw, port, &k);
    if (rc || (rc = open_file(h, LOCK_EX, &fd)))
        return rc;
    struct stat st;
    if (fstat(fd, &st) == 0 && st.st_size == 0 && ftruncate(fd, (off_t)(NRECS * sizeof(rec)))) {
        close(fd);
        return emu_fail(h, OFM_HAL_EIO, "nvlink_errors: cannot size the file: %s", strerror(errno));
    }
    rec r = {0};
    if (pread(fd, &r, sizeof r, (off_t)(k * sizeof r)) != (ssize_t)sizeof r) {
        close(fd);
        return emu_fail(h, OFM_HAL_ECORRUPT, "nvlink_errors: short read");
    }
    r.crc_flit = sat_add(r.crc_flit, add->crc_flit);
    r.crc_data = sat_add(r.crc_data, add->crc_data);
    r.replay = sat_add(r.replay, add->replay);
    r.recovery = sat_add(r.recovery, add->recovery);
    rc = pwrite(fd, &r, sizeof r, (off_t)(k * sizeof r)) == (ssize_t)sizeof r
             ? OFM_HAL_OK
             : emu_fail(h, OFM_HAL_EIO, "nvlink_errors: cannot write: %s", strerror(errno));
    close(fd);
    return rc;
}

int ofm_emu_link_errors_reset(ofm_hal *h)
{
    int fd, rc = open_file(h, LOCK_EX, &fd);
    if (rc)
        return rc;
    rc = ftruncate(fd, 0) == 0 ? OFM_HAL_OK
                               : emu_fail(h, OFM_HAL_EIO, "nvlink_errors: %s", strerror(errno));
    close(fd);
    return rc;
}
