/* Append-only journal with periodic atomic compaction (see the header). */
#include "partition/state_journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "openfm/fileio.h"

#define DEFAULT_COMPACT_EVERY 128

struct ofm_pm_journal {
    char path[512];
    int fd;              /* the live file, positioned by `size` */
    off_t size;          /* bytes of whole, durable records */
    off_t snap_size;     /* of which the snapshot */
    unsigned seq;        /* number of the last record in the file */
    unsigned compact_every;
    bool need_snapshot;  /* an append failed: the next write is a snapshot */
    char buf[OFM_PM_RECORD_MAX];
};

static int write_all(int fd, const char *p, size_t len, off_t off)
{
    while (len) {
        ssize_t n = pwrite(fd, p, len, off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0) {
            errno = EIO;
            return -1;
        }
        p += n;
        off += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Write the whole state as a new file (common atomic writer: O_EXCL|
 * O_NOFOLLOW temp, fsync, rename, directory fsync) whose descriptor then
 * replaces the journal's. On any failure the next write is a snapshot again:
 * the rename may have happened, so the old descriptor may name a file that
 * is no longer at `path`. */
static int write_snapshot(ofm_pm_journal *j, const ofm_pm_state *s, ofm_error *err)
{
    j->need_snapshot = true;
    size_t len = ofm_pm_state_encode_file(s, j->buf, sizeof j->buf);
    if (!len)
        return ofm_error_set(err, j->path, 0, "state too large to encode");
    int fd;
    if (ofm_file_write_atomic_keep(j->path, j->buf, len, 0600, 0, &fd, err))
        return -1;
    if (j->fd >= 0)
        close(j->fd);
    j->fd = fd;
    j->size = j->snap_size = (off_t)len;
    j->seq = 1;
    j->need_snapshot = false;
    return 0;
}

int ofm_pm_journal_new(const char *path, ofm_pm_journal **out, ofm_error *err)
{
    *out = NULL;
    ofm_pm_journal *j = calloc(1, sizeof *j);
    if (!j)
        return ofm_error_set(err, path, 0, "out of memory");
    if (snprintf(j->path, sizeof j->path, "%s", path) >= (int)sizeof j->path) {
        free(j);
        return ofm_error_set(err, path, 0, "path too long");
    }
    j->fd = -1;
    j->need_snapshot = true;
    j->compact_every = DEFAULT_COMPACT_EVERY;
    *out = j;
    return 0;
}

int ofm_pm_journal_start(const char *path, const ofm_pm_state *s, ofm_pm_journal **out, ofm_error *err)
{
    if (ofm_pm_journal_new(path, out, err))
        return -1;
    if (write_snapshot(*out, s, err)) {
        ofm_pm_journal_close(*out);
        *out = NULL;
        return -1;
    }
    return 0;
}

/* Append the record encoded in j->buf (len bytes) and make it durable. */
static int append(ofm_pm_journal *j, size_t len, ofm_error *err)
{
    const char *step = "append";
    int rc = write_all(j->fd, j->buf, len, j->size);
    if (!rc && (rc = fdatasync(j->fd)))
        step = "fdatasync";
    if (rc) {
        int e = errno;
        /* keep a crash from now on loadable: drop the partial record */
        if (ftruncate(j->fd, j->size) == 0)
            (void)fdatasync(j->fd);
        j->need_snapshot = true;
        return ofm_error_set(err, j->path, 0, "cannot record the change (%s): %s", step, strerror(e));
    }
    j->size += (off_t)len;
    j->seq++;
    return 0;
}

int ofm_pm_journal_record(ofm_pm_journal *j, const ofm_pm_state *s, const bool *changed, ofm_error *err)
{
    if (j->need_snapshot || j->fd < 0)
        return write_snapshot(j, s, err);
    size_t len = ofm_pm_state_encode_change(s, changed, j->seq + 1, j->buf, sizeof j->buf);
    if (!len)
        return ofm_error_set(err, j->path, 0, "change record too large to encode");
    return append(j, len, err);
}

int ofm_pm_journal_define(ofm_pm_journal *j, const ofm_pm_state *s, size_t i, ofm_error *err)
{
    if (j->need_snapshot || j->fd < 0)
        return write_snapshot(j, s, err);
    size_t len = ofm_pm_state_encode_define(s, i, j->seq + 1, j->buf, sizeof j->buf);
    if (!len)
        return ofm_error_set(err, j->path, 0, "definition record too large to encode");
    return append(j, len, err);
}

int ofm_pm_journal_undefine(ofm_pm_journal *j, const ofm_pm_state *s, unsigned id, ofm_error *err)
{
    if (j->need_snapshot || j->fd < 0)
        return write_snapshot(j, s, err);
    size_t len = ofm_pm_state_encode_undefine(id, j->seq + 1, j->buf, sizeof j->buf);
    if (!len)
        return ofm_error_set(err, j->path, 0, "record too large to encode");
    return append(j, len, err);
}

bool ofm_pm_journal_compaction_due(const ofm_pm_journal *j)
{
    /* appended records beyond a quarter of the limit: a large snapshot
     * (many definitions) alone does not make every change a rewrite */
    return j->need_snapshot || j->seq > j->compact_every ||
           j->size - j->snap_size > (off_t)(OFM_PM_STATE_MAX_BYTES / 4);
}

int ofm_pm_journal_compact(ofm_pm_journal *j, const ofm_pm_state *s, ofm_error *err)
{
    return write_snapshot(j, s, err);
}

void ofm_pm_journal_set_compact_every(ofm_pm_journal *j, unsigned n) { j->compact_every = n ? n : 1; }

void ofm_pm_journal_close(ofm_pm_journal *j)
{
    if (!j)
        return;
    if (j->fd >= 0)
        close(j->fd);
    free(j);
}
