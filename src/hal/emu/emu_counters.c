/* Counter files of the emulator (<dir>/nvlink_errors, <dir>/switch_telemetry):
 * a fixed-size array of records beside state.bin, updated in place under an
 * exclusive flock (readers take it shared), so that counting errors never
 * rewrites the routing tables. A file is empty until the first count and is
 * emptied at every emulated boot; any other size than the expected one is
 * refused rather than misread. Callers that hold state.lock take this lock
 * second, never the other way round. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hal/emu/emu_int.h"
#include "hal/emu/emu_mig.h" /* ofm_emu_dir */

static int open_file(ofm_hal *h, const emu_counter_file *f, int lock, int *fd, off_t *size)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", ofm_emu_dir(h), f->name);
    *fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (*fd < 0)
        return emu_fail(h, OFM_HAL_EIO, "%s: cannot open: %s", path, strerror(errno));
    if (flock(*fd, lock)) {
        close(*fd);
        return emu_fail(h, OFM_HAL_EIO, "%s: cannot lock: %s", path, strerror(errno));
    }
    struct stat st;
    *size = fstat(*fd, &st) == 0 ? st.st_size : 0;
    if (*size != 0 && (size_t)*size != f->size) {
        close(*fd);
        return emu_fail(h, OFM_HAL_ECORRUPT, "%s: %lld bytes, expected %zu: delete it or run "
                        "'fmctl emu reboot'", path, (long long)*size, f->size);
    }
    return OFM_HAL_OK;
}

int emu_counters_read(ofm_hal *h, const emu_counter_file *f, size_t off, void *buf, size_t len)
{
    int fd;
    off_t size;
    int rc = open_file(h, f, LOCK_SH, &fd, &size);
    if (rc)
        return rc;
    ssize_t n = pread(fd, buf, len, (off_t)off);
    close(fd);
    if (n == 0) { /* nothing counted since boot */
        memset(buf, 0, len);
        return OFM_HAL_OK;
    }
    return n == (ssize_t)len ? OFM_HAL_OK : emu_fail(h, OFM_HAL_ECORRUPT, "%s: short read", f->name);
}

int emu_counters_update(ofm_hal *h, const emu_counter_file *f, size_t off, void *buf, size_t len,
                        void (*apply)(void *recs, const void *arg), const void *arg)
{
    int fd;
    off_t size;
    int rc = open_file(h, f, LOCK_EX, &fd, &size);
    if (rc)
        return rc;
    if (size == 0 && ftruncate(fd, (off_t)f->size)) {
        rc = emu_fail(h, OFM_HAL_EIO, "%s: cannot size the file: %s", f->name, strerror(errno));
    } else if (pread(fd, buf, len, (off_t)off) != (ssize_t)len) {
        rc = emu_fail(h, OFM_HAL_ECORRUPT, "%s: short read", f->name);
    } else {
        apply(buf, arg);
        if (pwrite(fd, buf, len, (off_t)off) != (ssize_t)len)
            rc = emu_fail(h, OFM_HAL_EIO, "%s: cannot write: %s", f->name, strerror(errno));
    }
    close(fd);
    return rc;
}

int emu_counters_clear(ofm_hal *h, const emu_counter_file *f)
{
    int fd;
    off_t size;
    int rc = open_file(h, f, LOCK_EX, &fd, &size);
    if (rc)
        return rc;
    if (ftruncate(fd, 0))
        rc = emu_fail(h, OFM_HAL_EIO, "%s: %s", f->name, strerror(errno));
    close(fd);
    return rc;
}

uint64_t emu_sat_add(uint64_t a, uint64_t b) { return a + b < a ? UINT64_MAX : a + b; }
