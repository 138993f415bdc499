/* The shared file primitives against a prepared filesystem: FIFOs, devices,
 * directories and symlinks where a file is expected, planted temp files,
 * directories another user owns or can write, and held lock files. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "openfm/fileio.h"

static char root[64];

static void pathf(char *out, size_t len, const char *name)
{
    snprintf(out, len, "%s/%s", root, name);
}

static void put(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static char *slurp(const char *path)
{
    static char buf[4096];
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
    return buf;
}

static int setup(void **s)
{
    (void)s;
    snprintf(root, sizeof root, "/tmp/ofm-fileio-XXXXXX");
    return mkdtemp(root) ? 0 : -1;
}

static int teardown(void **s)
{
    (void)s;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_read_regular(void **s)
{
    (void)s;
    char p[PATH_MAX];
    pathf(p, sizeof p, "a.cfg");
    put(p, "KEY=1\n", 0600);
    char *buf;
    size_t len;
    ofm_error e;
    assert_int_equal(ofm_file_read(p, "configuration file", 100, 0, &buf, &len, &e), 0);
    assert_int_equal(len, 6);
    assert_string_equal(buf, "KEY=1\n");
    free(buf);
    /* exactly at the cap is fine, one byte over is refused */
    assert_int_equal(ofm_file_read(p, "x", 6, 0, &buf, &len, &e), 0);
    free(buf);
    assert_int_equal(ofm_file_read(p, "configuration file", 5, 0, &buf, &len, &e), -1);
    assert_null(buf);
    assert_non_null(strstr(e.msg, "larger than 5 bytes"));
    /* an empty file reads as empty */
    pathf(p, sizeof p, "empty");
    put(p, "", 0600);
    assert_int_equal(ofm_file_read(p, "x", 100, 0, &buf, &len, &e), 0);
    assert_int_equal(len, 0);
    free(buf);
}

static void test_read_refuses_non_regular(void **s)
{
    (void)s;
    char *buf;
    size_t len;
    ofm_error e;
    /* a directory */
    assert_int_equal(ofm_file_read(root, "configuration file", 100, 0, &buf, &len, &e), -1);
    assert_non_null(strstr(e.msg, "configuration file is a directory"));
    assert_string_equal(e.origin, root);
    /* a FIFO with no writer: must not hang */
    char p[PATH_MAX];
    pathf(p, sizeof p, "fifo");
    assert_int_equal(mkfifo(p, 0600), 0);
    assert_int_equal(ofm_file_read(p, "configuration file", 100, 0, &buf, &len, &e), -1);
    assert_non_null(strstr(e.msg, "is a FIFO"));
    /* a device */
    assert_int_equal(ofm_file_read("/dev/null", "configuration file", 100, 0, &buf, &len, &e), -1);
    assert_non_null(strstr(e.msg, "character device"));
    /* a read error (reading unmapped memory at offset 0 fails with EIO) is
     * reported, not taken for the end of the file */
    assert_int_equal(ofm_file_read("/proc/self/mem", "configuration file", 100, 0, &buf, &len, &e), -1);
    assert_non_null(strstr(e.msg, "cannot read configuration file: Input/output error"));
    /* missing: errno says so, for callers that treat absence as "empty" */
    pathf(p, sizeof p, "missing");
    assert_int_equal(ofm_file_read(p, "x", 100, 0, &buf, &len, &e), -1);
    assert_int_equal(errno, ENOENT);
    assert_non_null(strstr(e.msg, "No such file"));
}

static void test_read_nofollow(void **s)
{
    (void)s;
    char target[PATH_MAX], link[PATH_MAX];
    pathf(target, sizeof target, "secret");
    pathf(link, sizeof link, "link");
    put(target, "s3cret\n", 0600);
    assert_int_equal(symlink(target, link), 0);
    char *buf;
    size_t len;
    ofm_error e;
    assert_int_equal(ofm_file_read(link, "topology file", 100, OFM_FILE_NOFOLLOW, &buf, &len, &e), -1);
    assert_non_null(strstr(e.msg, "symbolic link"));
    /* without the flag a link is followed (operator-given paths) */
    assert_int_equal(ofm_file_read(link, "x", 100, 0, &buf, &len, &e), 0);
    assert_string_equal(buf, "s3cret\n");
    free(buf);
}

static void test_write_atomic_ignores_planted_temp(void **s)
{
    (void)s;
    char victim[PATH_MAX], path[PATH_MAX], tmp[PATH_MAX + 8];
    pathf(victim, sizeof victim, "victim");
    pathf(path, sizeof path, "status.json");
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    put(victim, "precious\n", 0600);
    /* the attack: a symlink where the writer puts its temp file */
    assert_int_equal(symlink(victim, tmp), 0);
    ofm_error e;
    assert_int_equal(ofm_file_write_atomic(path, "{}\n", 3, 0600, 0, &e), 0);
    assert_string_equal(slurp(victim), "precious\n");
    assert_string_equal(slurp(path), "{}\n");
    struct stat sb;
    assert_int_equal(lstat(path, &sb), 0);
    assert_true(S_ISREG(sb.st_mode));
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_int_equal(lstat(tmp, &sb), -1); /* nothing left behind */
    /* replacing keeps the atomic contract; the destination being a symlink
     * replaces the link, never writes through it */
    unlink(path);
    assert_int_equal(symlink(victim, path), 0);
    assert_int_equal(ofm_file_write_atomic(path, "new\n", 4, 0644, OFM_FILE_NOSYNC, &e), 0);
    assert_string_equal(slurp(victim), "precious\n");
    assert_int_equal(lstat(path, &sb), 0);
    assert_true(S_ISREG(sb.st_mode));
    assert_string_equal(slurp(path), "new\n");
}

static void test_write_atomic_reports_errors(void **s)
{
    (void)s;
    char path[PATH_MAX];
    pathf(path, sizeof path, "no-such-dir/file");
    ofm_error e;
    assert_int_equal(ofm_file_write_atomic(path, "x", 1, 0600, 0, &e), -1);
    assert_int_equal(errno, ENOENT);
    assert_non_null(strstr(e.msg, "cannot create temp file"));
}

static void test_dir_check(void **s)
{
    (void)s;
    char d[PATH_MAX], sub[PATH_MAX];
    pathf(d, sizeof d, "state");
    ofm_error e;
    assert_int_equal(ofm_dir_make_private(d, &e), 0);
    struct stat sb;
    assert_int_equal(stat(d, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0700);
    /* writable by others */
    assert_int_equal(chmod(d, 0777), 0);
    assert_int_equal(ofm_dir_check_private(d, &e), -1);
    assert_non_null(strstr(e.msg, "mode 0777"));
    assert_non_null(strstr(e.msg, "writable by group or others"));
    assert_string_equal(e.origin, d);
    /* a sticky shared ancestor is fine (/tmp), a sticky last component is not */
    assert_int_equal(chmod(d, 01777), 0);
    assert_int_equal(ofm_dir_check_private(d, &e), -1);
    pathf(sub, sizeof sub, "state/inner");
    assert_int_equal(ofm_dir_make_private(sub, &e), 0);
    assert_int_equal(chmod(d, 0775), 0); /* group-writable ancestor without sticky */
    assert_int_equal(ofm_dir_check_private(sub, &e), -1);
    assert_non_null(strstr(e.msg, "ancestor"));
    assert_int_equal(chmod(d, 0755), 0);
    assert_int_equal(ofm_dir_check_private(sub, &e), 0);
    /* not a directory */
    char f[PATH_MAX];
    pathf(f, sizeof f, "plain");
    put(f, "", 0600);
    assert_int_equal(ofm_dir_check_private(f, &e), -1);
    assert_non_null(strstr(e.msg, "not a directory"));
}

static void test_dir_check_other_owner(void **s)
{
    (void)s;
    if (geteuid() != 0)
        skip(); /* needs chown to another uid */
    char d[PATH_MAX], sub[PATH_MAX], link[PATH_MAX];
    pathf(d, sizeof d, "theirs");
    ofm_error e;
    assert_int_equal(ofm_dir_make_private(d, &e), 0);
    assert_int_equal(chown(d, 65534, 65534), 0);
    assert_int_equal(ofm_dir_check_private(d, &e), -1);
    assert_non_null(strstr(e.msg, "owner uid 65534"));
    assert_non_null(strstr(e.msg, "owned by another user"));
    /* our own directory inside theirs: they could rename it away */
    pathf(sub, sizeof sub, "theirs/mine");
    assert_int_equal(mkdir(sub, 0700), 0);
    assert_int_equal(ofm_dir_check_private(sub, &e), -1);
    assert_non_null(strstr(e.msg, "ancestor"));
    /* another user's symlink to a directory root owns */
    pathf(d, sizeof d, "good");
    assert_int_equal(ofm_dir_make_private(d, &e), 0);
    pathf(link, sizeof link, "via-link");
    assert_int_equal(symlink(d, link), 0);
    assert_int_equal(ofm_dir_check_private(link, &e), 0);
    assert_int_equal(lchown(link, 65534, 65534), 0);
    assert_int_equal(ofm_dir_check_private(link, &e), -1);
    assert_non_null(strstr(e.msg, "symbolic link owned by another user"));
}

static void test_lockfile(void **s)
{
    (void)s;
    char p[PATH_MAX];
    pathf(p, sizeof p, "x.lock");
    ofm_error e;
    pid_t holder = -1;
    int fd = ofm_lockfile_acquire(p, "the socket", &holder, &e);
    assert_true(fd >= 0);
    assert_int_equal(holder, 0);
    assert_int_equal(ofm_lockfile_holder(p), getpid());
    /* a second taker (another open file description) is refused with our PID */
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        pid_t h = 0;
        ofm_error ce;
        int cfd = ofm_lockfile_acquire(p, "the socket", &h, &ce);
        _exit(cfd < 0 && h == getppid() && strstr(ce.msg, "in use by process") ? 0 : 1);
    }
    int st;
    assert_int_equal(waitpid(child, &st, 0), child);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    close(fd);
    assert_int_equal(ofm_lockfile_holder(p), 0); /* free once released */
    /* a symlinked lock file is refused */
    char l[PATH_MAX];
    pathf(l, sizeof l, "y.lock");
    assert_int_equal(symlink(p, l), 0);
    assert_int_equal(ofm_lockfile_acquire(l, "x", &holder, &e), -1);
    assert_non_null(strstr(e.msg, "symbolic link"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_read_regular, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_refuses_non_regular, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_nofollow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_atomic_ignores_planted_temp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_atomic_reports_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dir_check, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dir_check_other_owner, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lockfile, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
