/* Safe file primitives (see openfm/fileio.h). The point of routing every read
 * and write through here is that the checks a root daemon needs against a
 * prepared filesystem (symlinks, FIFOs, planted temp files, directories another
 * user can rename entries in) are made once and made the same way. */
#include "openfm/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *kind_of(mode_t m)
{
    if (S_ISDIR(m))
        return "a directory";
    if (S_ISFIFO(m))
        return "a FIFO";
    if (S_ISSOCK(m))
        return "a socket";
    if (S_ISCHR(m))
        return "a character device";
    if (S_ISBLK(m))
        return "a block device";
    if (S_ISLNK(m))
        return "a symbolic link";
    return "not a regular file";
}

int ofm_file_open_read(const char *path, const char *what, unsigned flags, ofm_error *err)
{
    if (!what)
        what = "file";
    /* O_NONBLOCK: opening a FIFO must not wait for a writer; the fstat below
     * refuses it anyway. It is irrelevant for the regular files we accept. */
    int of = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
    if (flags & OFM_FILE_NOFOLLOW)
        of |= O_NOFOLLOW;
    int fd = open(path, of);
    if (fd < 0) {
        int e = errno;
        if (e == ELOOP && (flags & OFM_FILE_NOFOLLOW))
            ofm_error_set(err, path, 0, "%s is a symbolic link; refusing to follow it", what);
        else
            ofm_error_set(err, path, 0, "cannot open %s: %s", what, strerror(e));
        errno = e;
        return -1;
    }
    struct stat sb;
    if (fstat(fd, &sb) < 0) {
        int e = errno;
        close(fd);
        ofm_error_set(err, path, 0, "cannot stat %s: %s", what, strerror(e));
        errno = e;
        return -1;
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        ofm_error_set(err, path, 0, "%s is %s, not a regular file", what, kind_of(sb.st_mode));
        errno = S_ISDIR(sb.st_mode) ? EISDIR : EINVAL;
        return -1;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        (void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    return fd;
}

int ofm_file_read(const char *path, const char *what, size_t max_bytes, unsigned flags,
                  char **out, size_t *len, ofm_error *err)
{
    *out = NULL;
    if (len)
        *len = 0;
    if (!what)
        what = "file";
    int fd = ofm_file_open_read(path, what, flags, err);
    if (fd < 0)
        return -1;
    struct stat sb;
    size_t cap = 0;
    if (fstat(fd, &sb) == 0 && sb.st_size > 0)
        cap = (size_t)sb.st_size < max_bytes ? (size_t)sb.st_size : max_bytes;
    cap += 1; /* room to notice growth past the cap, and for the NUL */
    char *buf = malloc(cap + 1);
    size_t n = 0;
    int rc = 0, e = 0;
    if (!buf) {
        e = ENOMEM;
        rc = ofm_error_set(err, path, 0, "out of memory reading %s", what);
    }
    while (!rc) {
        if (n == cap) {
            if (cap > max_bytes)
                break;
            size_t ncap = cap * 2 > max_bytes + 1 ? max_bytes + 1 : cap * 2;
            char *nb = realloc(buf, ncap + 1);
            if (!nb) {
                e = ENOMEM;
                rc = ofm_error_set(err, path, 0, "out of memory reading %s", what);
                break;
            }
            buf = nb;
            cap = ncap;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            e = errno;
            rc = ofm_error_set(err, path, 0, "cannot read %s: %s", what, strerror(e));
            break;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    if (!rc && n > max_bytes) {
        e = EFBIG;
        rc = ofm_error_set(err, path, 0, "%s is larger than %zu bytes", what, max_bytes);
    }
    if (rc) {
        free(buf);
        errno = e;
        return -1;
    }
    buf[n] = '\0';
    *out = buf;
    if (len)
        *len = n;
    return 0;
}

static int write_all(int fd, const char *p, size_t len)
{
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0) {
            errno = EIO;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int fsync_dir_of(const char *path)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == path)
        snprintf(dir, sizeof dir, "/");
    else if ((size_t)(slash - path) < sizeof dir)
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    else {
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    int e = errno;
    close(fd);
    errno = e;
    return rc;
}

int ofm_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
                          unsigned flags, ofm_error *err)
{
    return ofm_file_write_atomic_keep(path, data, len, mode, flags, NULL, err);
}

int ofm_file_write_atomic_keep(const char *path, const void *data, size_t len, mode_t mode,
                               unsigned flags, int *fd_out, ofm_error *err)
{
    if (fd_out)
        *fd_out = -1;
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
        errno = ENAMETOOLONG;
        return ofm_error_set(err, path, 0, "path too long");
    }
    int of = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
    int fd = open(tmp, of, mode);
    if (fd < 0 && errno == EEXIST) {
        /* a killed writer's leftover, or something planted: never write through
         * it; unlink() removes a symlink itself, not its target */
        if (unlink(tmp) == 0 || errno == ENOENT)
            fd = open(tmp, of, mode);
    }
    if (fd < 0) {
        int e = errno;
        ofm_error_set(err, tmp, 0, "cannot create temp file: %s", strerror(e));
        errno = e;
        return -1;
    }
    int e = 0;
    const char *step = "write";
    if (write_all(fd, data, len))
        e = errno;
    else if (!(flags & OFM_FILE_NOSYNC) && fsync(fd)) {
        e = errno;
        step = "fsync";
    }
    if (!fd_out && close(fd) && !e) {
        e = errno;
        step = "close";
    }
    if (!e && rename(tmp, path)) {
        e = errno;
        step = "rename";
    }
    if (e) {
        if (fd_out)
            close(fd);
        unlink(tmp);
        ofm_error_set(err, path, 0, "cannot write (%s): %s", step, strerror(e));
        errno = e;
        return -1;
    }
    if (!(flags & OFM_FILE_NOSYNC) && fsync_dir_of(path)) {
        e = errno;
        if (fd_out)
            close(fd);
        ofm_error_set(err, path, 0, "written, but the directory could not be synced: %s",
                      strerror(e));
        errno = e;
        return -1;
    }
    if (fd_out)
        *fd_out = fd;
    return 0;
}

/* ------------------------------------------------------------ directories */

static bool trusted_owner(uid_t uid)
{
    return uid == 0 || uid == geteuid();
}

static int refuse(const char *dir, const char *path, const struct stat *sb, const char *why,
                  ofm_error *err)
{
    errno = EPERM;
    if (strcmp(dir, path))
        return ofm_error_set(err, dir, 0,
                             "refusing this directory: its ancestor %s (owner uid %ld, mode %04o) "
                             "%s",
                             path, (long)sb->st_uid, (unsigned)(sb->st_mode & 07777), why);
    return ofm_error_set(err, dir, 0,
                         "refusing this directory (owner uid %ld, mode %04o): %s", (long)sb->st_uid,
                         (unsigned)(sb->st_mode & 07777), why);
}

/* One path component. `last` is the directory itself, which nobody else may
 * write at all; ancestors may be shared if sticky (other users cannot rename
 * or remove our entries in a sticky directory). */
static int check_component(const char *dir, const char *path, bool last, ofm_error *err)
{
    struct stat sb;
    if (lstat(path, &sb) < 0) {
        int e = errno;
        ofm_error_set(err, dir, 0, "cannot examine %s: %s", path, strerror(e));
        errno = e;
        return -1;
    }
    if (S_ISLNK(sb.st_mode)) {
        /* a link is only as trustworthy as whoever can replace it: its owner
         * (checked here) or writers of its parent (checked as an ancestor) */
        if (!trusted_owner(sb.st_uid))
            return refuse(dir, path, &sb,
                          "is a symbolic link owned by another user; a state directory must not "
                          "be reachable through another user's link",
                          err);
        return 0;
    }
    if (!S_ISDIR(sb.st_mode))
        return refuse(dir, path, &sb, "is not a directory", err);
    if (!trusted_owner(sb.st_uid))
        return refuse(dir, path, &sb,
                      last ? "is owned by another user; use a directory you own (or root owns)"
                           : "is owned by another user, who could swap the directory",
                      err);
    bool shared = sb.st_mode & (S_IWGRP | S_IWOTH);
    if (shared && (last || !(sb.st_mode & S_ISVTX)))
        return refuse(dir, path, &sb,
                      last ? "is writable by group or others; chmod go-w it or use another "
                             "directory"
                           : "is writable by group or others without the sticky bit",
                      err);
    return 0;
}

static int check_chain(const char *dir, const char *path, ofm_error *err)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
        errno = ENAMETOOLONG;
        return ofm_error_set(err, dir, 0, "path too long");
    }
    size_t l = strlen(buf);
    while (l > 1 && buf[l - 1] == '/')
        buf[--l] = '\0';
    if (check_component(dir, buf, true, err))
        return -1;
    for (char *s = strrchr(buf, '/'); s; s = strrchr(buf, '/')) {
        if (s == buf) {
            buf[1] = '\0';
            return check_component(dir, buf, false, err);
        }
        *s = '\0';
        if (check_component(dir, buf, false, err))
            return -1;
    }
    return 0;
}

int ofm_dir_check_private(const char *dir, ofm_error *err)
{
    if (!dir || !*dir) {
        errno = EINVAL;
        return ofm_error_set(err, NULL, 0, "no directory given");
    }
    char abs[PATH_MAX];
    if (dir[0] != '/') {
        char cwd[PATH_MAX];
        if (!getcwd(cwd, sizeof cwd) || snprintf(abs, sizeof abs, "%s/%s", cwd, dir) >= (int)sizeof abs) {
            errno = ENAMETOOLONG;
            return ofm_error_set(err, dir, 0, "cannot make the path absolute");
        }
    } else {
        snprintf(abs, sizeof abs, "%s", dir);
    }
    /* the path as written (links in it must be ours or root's), then the
     * directory it really is (every real ancestor) */
    if (check_chain(dir, abs, err))
        return -1;
    char real[PATH_MAX];
    if (!realpath(abs, real)) {
        int e = errno;
        ofm_error_set(err, dir, 0, "cannot resolve: %s", strerror(e));
        errno = e;
        return -1;
    }
    return strcmp(real, abs) ? check_chain(dir, real, err) : 0;
}

int ofm_dir_make_private(const char *dir, ofm_error *err)
{
    char buf[PATH_MAX];
    if (!dir || snprintf(buf, sizeof buf, "%s", dir) >= (int)sizeof buf) {
        errno = ENAMETOOLONG;
        return ofm_error_set(err, dir, 0, "path missing or too long");
    }
    for (char *c = buf + 1; *c; c++)
        if (*c == '/') {
            *c = '\0';
            if (mkdir(buf, 0755) && errno != EEXIST) {
                int e = errno;
                ofm_error_set(err, dir, 0, "cannot create %s: %s", buf, strerror(e));
                errno = e;
                return -1;
            }
            *c = '/';
        }
    if (mkdir(buf, 0700) && errno != EEXIST) {
        int e = errno;
        ofm_error_set(err, dir, 0, "cannot create directory: %s", strerror(e));
        errno = e;
        return -1;
    }
    return ofm_dir_check_private(dir, err);
}

/* ------------------------------------------------------------ lock files */

static pid_t read_pid(int fd)
{
    char buf[32];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    char *end;
    long v = strtol(buf, &end, 10);
    return v > 0 && v <= INT_MAX && (*end == '\n' || *end == '\0') ? (pid_t)v : 0;
}

int ofm_lockfile_update_pid(int fd)
{
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)n, 0) != n)
        return -1;
    return 0;
}

int ofm_lockfile_acquire(const char *path, const char *what, pid_t *holder, ofm_error *err)
{
    if (holder)
        *holder = 0;
    int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0644);
    if (fd < 0) {
        int e = errno;
        ofm_error_set(err, path, 0, "cannot open the lock file: %s",
                      e == ELOOP ? "it is a symbolic link; refusing to follow it" : strerror(e));
        errno = e;
        return -1;
    }
    struct stat sb;
    if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        errno = EINVAL;
        return ofm_error_set(err, path, 0, "the lock file is not a regular file");
    }
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno;
        pid_t pid = e == EWOULDBLOCK ? read_pid(fd) : 0;
        close(fd);
        if (holder)
            *holder = pid;
        if (e != EWOULDBLOCK)
            ofm_error_set(err, path, 0, "cannot lock: %s", strerror(e));
        else if (pid)
            ofm_error_set(err, path, 0, "%s is in use by process %ld", what ? what : "the file",
                          (long)pid);
        else
            ofm_error_set(err, path, 0, "%s is in use by another process",
                          what ? what : "the file");
        errno = e == EWOULDBLOCK ? EBUSY : e;
        return -1;
    }
    if (ofm_lockfile_update_pid(fd) < 0) {
        /* the lock is what matters; a missing PID only makes messages vaguer */
    }
    return fd;
}

pid_t ofm_lockfile_holder(const char *path)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return 0;
    struct stat sb;
    pid_t pid = 0;
    if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && flock(fd, LOCK_SH | LOCK_NB) < 0)
        pid = read_pid(fd);
    close(fd);
    return pid;
}
