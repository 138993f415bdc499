/* Safe file primitives shared by every component that reads or writes files
 * an unprivileged local user might have prepared: whole-file reads that refuse
 * anything but a regular file, atomic replacement through an O_EXCL|O_NOFOLLOW
 * temp file, directory checks for state directories, and lock files that name
 * their holder. Each call reports through ofm_error and leaves errno set to the
 * cause so callers can still tell "missing" (ENOENT) from "refused". */
#ifndef OPENFM_FILEIO_H
#define OPENFM_FILEIO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "openfm/error.h"

/* Do not follow a symbolic link in the last path component. */
#define OFM_FILE_NOFOLLOW 0x1u
/* ofm_file_write_atomic: skip fsync of the file and of its directory (data that
 * must survive a crash of the process but not of the host). */
#define OFM_FILE_NOSYNC 0x2u

/* Read all of `path` into a malloc'd buffer (NUL-terminated; *len excludes the
 * NUL). Refused with a clear message: a directory, FIFO, socket or device (the
 * open never blocks on a FIFO), a file over `max_bytes`, a symbolic link when
 * OFM_FILE_NOFOLLOW, and any read error. `what` names the file's role in
 * messages ("configuration file"). Returns 0 or -1. */
int ofm_file_read(const char *path, const char *what, size_t max_bytes, unsigned flags,
                  char **out, size_t *len, ofm_error *err);

/* Open an existing file for reading with the same checks (regular file, no
 * FIFO hang, OFM_FILE_NOFOLLOW honoured). Returns the fd (O_CLOEXEC) or -1. */
int ofm_file_open_read(const char *path, const char *what, unsigned flags, ofm_error *err);

/* Replace `path` atomically with `len` bytes: write "<path>.tmp" created with
 * O_CREAT|O_EXCL|O_NOFOLLOW (mode `mode`, less the umask), fsync it, rename it
 * over `path`, fsync the directory (unless OFM_FILE_NOSYNC). A leftover temp
 * file of a killed writer (or anything planted under that name) is unlinked and
 * the exclusive create retried once; writers of one path must be serialised by
 * the caller (a lock). A crash leaves the old or the new contents. */
int ofm_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
                          unsigned flags, ofm_error *err);

/* The same, but on success the new file stays open for writing and its
 * descriptor (O_CLOEXEC) goes to *fd_out (-1 on failure): an append-only
 * journal keeps writing to exactly the file it just put in place, with no
 * second lookup of `path` that someone could redirect in between. */
int ofm_file_write_atomic_keep(const char *path, const void *data, size_t len, mode_t mode,
                               unsigned flags, int *fd_out, ofm_error *err);

/* Check that `dir` is a directory fit to hold state a privileged process trusts:
 * not a symbolic link, owned by the caller (or root), not writable by group or
 * others; and that no ancestor could be used to swap it (each owned by the
 * caller or root, and not group/other-writable unless sticky, like /tmp).
 * The error names the path, its owner and its mode. Returns 0 or -1. */
int ofm_dir_check_private(const char *dir, ofm_error *err);

/* Create `dir` and missing parents (mode 0700 for the last, 0755 for
 * parents), then check it with ofm_dir_check_private. */
int ofm_dir_make_private(const char *dir, ofm_error *err);

/* Take an exclusive, non-blocking flock on the lock file `path` (created
 * O_NOFOLLOW, 0644) and record our PID in it. When another process holds it
 * the error says "<what> is in use by process <pid> (lock <path>)" and
 * *holder receives the PID (0 if unknown). On success returns the fd, which
 * must stay open for as long as the lock is wanted; -1 otherwise. */
int ofm_lockfile_acquire(const char *path, const char *what, pid_t *holder, ofm_error *err);

/* PID recorded in a lock file that someone holds, or 0 when it is free,
 * unreadable or holds no PID. */
pid_t ofm_lockfile_holder(const char *path);

/* Rewrite the PID in a lock file we hold (after fork()). */
int ofm_lockfile_update_pid(int fd);

#endif
