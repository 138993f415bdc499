/* The resiliency state file as bytes: every record framed with a length and
 * a CRC-32, changes appended by the journal, compaction into one snapshot.
 * A file cut at any byte, a flipped bit, a missing or repeated record and a
 * contradictory partition line are each refused with the record, its byte
 * offset and the fault named. The journal is also run on a real full
 * filesystem (a tiny tmpfs in a private mount namespace; root only). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "openfm/crc32.h"
#include "partition/state_file.h"
#include "partition/state_journal.h"

/* The checksum is the standard CRC-32 (slice-by-8 must agree with the
 * bytewise definition at every length and alignment). */
static void crc32_known_answers(void **st)
{
    (void)st;
    assert_int_equal(ofm_crc32("123456789", 9, 0), 0xCBF43926u);
    assert_int_equal(ofm_crc32("", 0, 0), 0);
    static unsigned char data[300];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (unsigned char)(i * 131 + 7);
    for (size_t off = 0; off < 8; off++)
        for (size_t len = 0; len + off <= sizeof data; len += 13) {
            uint32_t c = 0xFFFFFFFFu;
            for (size_t i = 0; i < len; i++) {
                c ^= data[off + i];
                for (int k = 0; k < 8; k++)
                    c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            }
            assert_int_equal(ofm_crc32(data + off, len, 0), ~c);
            /* chained in two parts */
            assert_int_equal(ofm_crc32(data + off + len / 3, len - len / 3,
                                       ofm_crc32(data + off, len / 3, 0)), ~c);
        }
}

static ofm_pm_state *sample(void)
{
    static ofm_pm_state s;
    memset(&s, 0, sizeof s);
    snprintf(s.platform, sizeof s.platform, "hgx-h100");
    s.ngpus = 2;
    s.gpu_id[0] = 1;
    s.gpu_id[1] = 2;
    snprintf(s.gpu_uuid[0], sizeof s.gpu_uuid[0], "GPU-aaaa");
    s.npartitions = 3;
    for (unsigned i = 0; i < 3; i++) {
        s.part_id[i] = i + 4;
        s.supported[i] = i != 2;
    }
    return &s;
}

static void expect_refused(const char *buf, size_t len, const char *n1, const char *n2)
{
    ofm_pm_state s;
    ofm_error err;
    char b[800];
    if (ofm_pm_state_parse(buf, len, "fm.state", &s, &err) == 0)
        fail_msg("accepted a file that should be refused for '%s'", n1);
    const char *m = ofm_error_format(&err, b, sizeof b);
    if (!strstr(m, "fm.state") || !strstr(m, n1) || (n2 && !strstr(m, n2)))
        fail_msg("error for '%s'/'%s' was: %s", n1, n2 ? n2 : "", m);
}

/* A file with one snapshot and two change records. */
static size_t three_records(char *buf, size_t cap, size_t *end1, size_t *end2)
{
    ofm_pm_state *s = sample();
    size_t n = ofm_pm_state_encode_file(s, buf, cap);
    assert_true(n > 0);
    *end1 = n;
    bool ch[3] = {true, false, false};
    s->active[0] = true;
    size_t m = ofm_pm_state_encode_change(s, ch, 2, buf + n, cap - n);
    assert_true(m > 0);
    n += m;
    *end2 = n;
    s->active[0] = false;
    s->active[1] = true;
    s->nvfs[1] = 2;
    s->vfs[1][0] = (fmPciDevice_t){0, 0xdb, 0, 2};
    s->vfs[1][1] = (fmPciDevice_t){0, 0x2a, 1, 5};
    bool ch2[3] = {true, true, false};
    m = ofm_pm_state_encode_change(s, ch2, 3, buf + n, cap - n);
    assert_true(m > 0);
    return n + m;
}

static void records_round_trip(void **st)
{
    (void)st;
    char buf[8192];
    size_t e1, e2, n = three_records(buf, sizeof buf, &e1, &e2);
    ofm_pm_state s;
    ofm_error err;
    assert_int_equal(ofm_pm_state_parse(buf, n, "fm.state", &s, &err), 0);
    assert_string_equal(s.platform, "hgx-h100");
    assert_int_equal(s.ngpus, 2);
    assert_string_equal(s.gpu_uuid[0], "GPU-aaaa");
    assert_string_equal(s.gpu_uuid[1], "");
    assert_int_equal(s.npartitions, 3);
    assert_false(s.active[0]);
    assert_true(s.active[1]);
    assert_false(s.supported[2]);
    assert_int_equal(s.nvfs[1], 2);
    assert_int_equal(s.vfs[1][0].bus, 0xdb); /* order as given */
    assert_int_equal(s.vfs[1][1].function, 5);
    assert_non_null(strstr(buf, "partition 5 supported=1 active=1 vfs=0000:db:00.2,0000:2a:01.5\n"));
}

static void every_cut_is_refused(void **st)
{
    (void)st;
    char buf[8192];
    size_t e1, e2, n = three_records(buf, sizeof buf, &e1, &e2);
    for (size_t cut = 1; cut < n; cut++) {
        if (cut == e1 || cut == e2)
            continue; /* a whole record boundary is a shorter, valid journal */
        char want[64];
        snprintf(want, sizeof want, "record %d at byte offset %zu", cut <= e1 ? 1 : cut <= e2 ? 2 : 3,
                 cut <= e1 ? (size_t)15 : cut <= e2 ? e1 : e2);
        if (cut < 15)
            expect_refused(buf, cut, "not an openfm state file", NULL);
        else if (cut == 15)
            expect_refused(buf, cut, "no snapshot record", NULL);
        else
            expect_refused(buf, cut, want, "truncated");
    }
}

static void corruption_is_refused(void **st)
{
    (void)st;
    char buf[8192], bad[8192];
    size_t e1, e2, n = three_records(buf, sizeof buf, &e1, &e2);
    /* a flipped bit in the second record's body */
    memcpy(bad, buf, n);
    bad[e2 - 3] ^= 0x01;
    char want[64];
    snprintf(want, sizeof want, "record 2 at byte offset %zu", e1);
    expect_refused(bad, n, want, "checksum mismatch");
    /* a record lost in the middle: 1 then 3 */
    memcpy(bad, buf, e1);
    memcpy(bad + e1, buf + e2, n - e2);
    expect_refused(bad, e1 + n - e2, "numbered 3, expected 2", NULL);
    /* a record repeated */
    memcpy(bad, buf, e2);
    memcpy(bad + e2, buf + e1, e2 - e1);
    expect_refused(bad, e2 + e2 - e1, "numbered 2, expected 3", NULL);
    /* a header with a negative length or junk */
    const char *h = "openfm-state 2\nrecord 1 snapshot -5 00000000\n";
    expect_refused(h, strlen(h), "record 1 at byte offset 15", "malformed record header");
    h = "openfm-state 2\nrecord 1 snapshot 5 0000000g\nabcd\n";
    expect_refused(h, strlen(h), "malformed record header", NULL);
    h = "openfm-state 9\n";
    expect_refused(h, strlen(h), "version 9", NULL);
    /* trailing garbage after the last record is an unframed record */
    memcpy(bad, buf, n);
    memcpy(bad + n, "xx\n", 3);
    expect_refused(bad, n + 3, "record 4", "malformed record header");
}

/* Frame `body` as record `seq` of `kind` after `prefix` (already framed). */
static size_t framed(char *out, const char *prefix, unsigned seq, const char *kind, const char *body)
{
    return (size_t)sprintf(out, "%srecord %u %s %zu %08x\n%s", prefix, seq, kind, strlen(body),
                           ofm_crc32(body, strlen(body), 0), body);
}

static void contradictions_are_refused(void **st)
{
    (void)st;
    char buf[4096], snap[2048];
    /* item: an inactive-but-unsupported contradiction, in a snapshot ... */
    size_t n = framed(buf, "openfm-state 2\n", 1, "snapshot",
                      "platform hgx-h100\ngpu 1 -\npartition 4 supported=0 active=1 vfs=-\n");
    expect_refused(buf, n, "fm.state:5:", "supported=0 active=1");
    /* ... in a change record, and in a version-1 file */
    framed(snap, "openfm-state 2\n", 1, "snapshot",
           "platform hgx-h100\ngpu 1 -\npartition 4 supported=0 active=0 vfs=-\n");
    n = framed(buf, snap, 2, "change", "partition 4 supported=0 active=1 vfs=-\n");
    expect_refused(buf, n, "fm.state:7:", "supported=0 active=1");
    const char *v1 = "openfm-state 1\nplatform hgx-h100\npartition 4 supported=0 active=1 vfs=-\nend\n";
    expect_refused(v1, strlen(v1), "fm.state:3:", "supported=0 active=1");
    /* a change may not invent partitions, nor flip supported= */
    n = framed(buf, snap, 2, "change", "partition 9 supported=1 active=1 vfs=-\n");
    expect_refused(buf, n, "partition 9", "does not list");
    n = framed(buf, snap, 2, "change", "partition 4 supported=1 active=1 vfs=-\n");
    expect_refused(buf, n, "alters supported=", NULL);
    /* a snapshot lists each partition once, records are in order of kind */
    n = framed(buf, "openfm-state 2\n", 1, "snapshot",
               "platform x\npartition 4 supported=1 active=0 vfs=-\npartition 4 supported=1 active=0 vfs=-\n");
    expect_refused(buf, n, "listed twice", NULL);
    n = framed(buf, snap, 2, "snapshot", "platform hgx-h100\n");
    expect_refused(buf, n, "kind 'snapshot', expected 'change'", NULL);
    n = framed(buf, snap, 2, "change", "platform hgx-h100\n");
    expect_refused(buf, n, "fm.state:7:", "unrecognised line");
    /* a well-formed version-1 file still loads (upgrade with --restart) */
    v1 = "openfm-state 1\nplatform hgx-h100\ngpu 1 GPU-x\npartition 4 supported=1 active=1 vfs=-\nend\n";
    ofm_pm_state s;
    ofm_error err;
    assert_int_equal(ofm_pm_state_parse(v1, strlen(v1), "fm.state", &s, &err), 0);
    assert_true(s.active[0]);
}


/* Version 3: live definitions in snapshots and in their own records. */
static void definitions_round_trip_and_versions(void **st)
{
    (void)st;
    static char buf[16384];
    ofm_pm_state *s = sample();
    size_t i = s->npartitions++;
    s->part_id[i] = 40;
    s->supported[i] = true;
    s->live[i] = true;
    s->part_ngpus[i] = 5;
    uint32_t g[] = {1, 2, 3, 7, 9};
    memcpy(s->part_gpus[i], g, sizeof g);
    s->part_nvlinks[i] = 18;
    size_t n = ofm_pm_state_encode_file(s, buf, sizeof buf);
    assert_true(n > 0);
    assert_non_null(strstr(buf, "openfm-state 3\n"));
    assert_non_null(strstr(buf, "define 40 gpus=1-3,7,9 nvlinks=18\npartition 40 supported=1 active=0"));
    /* a second definition in its own record, then a change, then the first deleted */
    i = s->npartitions++;
    s->part_id[i] = 41;
    s->supported[i] = s->live[i] = true;
    s->part_ngpus[i] = 1;
    s->part_gpus[i][0] = 4;
    size_t m = ofm_pm_state_encode_define(s, i, 2, buf + n, sizeof buf - n);
    assert_true(m > 0);
    n += m;
    s->active[i] = true;
    bool ch[5] = {false, false, false, false, true};
    n += ofm_pm_state_encode_change(s, ch, 3, buf + n, sizeof buf - n);
    n += ofm_pm_state_encode_undefine(40, 4, buf + n, sizeof buf - n);
    static ofm_pm_state got;
    ofm_error err;
    assert_int_equal(ofm_pm_state_parse(buf, n, "fm.state", &got, &err), 0);
    assert_int_equal(got.npartitions, 4);
    assert_int_equal(got.part_id[3], 41);
    assert_true(got.live[3]);
    assert_true(got.active[3]);
    assert_int_equal(got.part_ngpus[3], 1);
    assert_int_equal(got.part_gpus[3][0], 4);
    assert_false(got.live[0]);
    /* every cut of the journal is refused or a shorter valid one */
    for (size_t cut = 16; cut < n; cut++)
        if (ofm_pm_state_parse(buf, cut, "fm.state", &got, &err) == 0)
            assert_true(buf[cut - 1] == '\n');
    /* what a definition record may not do */
    char snap[2048], bad[4096];
    framed(snap, "openfm-state 3\n", 1, "snapshot",
           "platform hgx-h100\ngpu 1 -\npartition 4 supported=1 active=1 vfs=-\n"
           "define 7 gpus=1 nvlinks=0\npartition 7 supported=1 active=1 vfs=-\n");
    size_t k = framed(bad, snap, 2, "undefine", "undefine 4\n");
    expect_refused(bad, k, "fm.state:9:", "platform's own");
    k = framed(bad, snap, 2, "undefine", "undefine 7\n");
    expect_refused(bad, k, "undefine of partition 7, which is active", NULL);
    k = framed(bad, snap, 2, "undefine", "undefine 8\n");
    expect_refused(bad, k, "not defined", NULL);
    k = framed(bad, snap, 2, "define", "define 8 gpus=2 nvlinks=0\n");
    expect_refused(bad, k, "partition 8 is defined without its partition line", NULL);
    k = framed(bad, snap, 2, "define", "define 7 gpus=2 nvlinks=0\npartition 7 supported=1 active=0 vfs=-\n");
    expect_refused(bad, k, "partition 7 defined twice", NULL);
    k = framed(bad, snap, 2, "define", "define 8 gpus=2,1 nvlinks=0\npartition 8 supported=1 active=0 vfs=-\n");
    expect_refused(bad, k, "ascending", NULL);
    k = framed(bad, snap, 2, "define", "define 8 gpus=2 nvlinks=99\npartition 8 supported=1 active=0 vfs=-\n");
    expect_refused(bad, k, "nvlinks=99", NULL);
    k = framed(bad, snap, 2, "define", "define 8 gpus=2 nvlinks=0\ndefine 9 gpus=3 nvlinks=0\n");
    expect_refused(bad, k, "unrecognised line", NULL);
    k = framed(bad, snap, 2, "change", "define 8 gpus=2 nvlinks=0\npartition 8 supported=1 active=0 vfs=-\n");
    expect_refused(bad, k, "unrecognised line", NULL);
    k = framed(bad, snap, 2, "define", "define 8 gpus=2 nvlinks=0\npartition 8 supported=1 active=0 vfs=-\n");
    assert_int_equal(ofm_pm_state_parse(bad, k, "fm.state", &got, &err), 0);
    assert_int_equal(got.npartitions, 3);
    /* version 2 knows no definitions */
    framed(snap, "openfm-state 2\n", 1, "snapshot",
           "platform hgx-h100\ngpu 1 -\npartition 4 supported=1 active=0 vfs=-\n");
    k = framed(bad, snap, 2, "define", "define 8 gpus=2 nvlinks=0\npartition 8 supported=1 active=0 vfs=-\n");
    expect_refused(bad, k, "kind 'define', expected 'change'", NULL);
    k = framed(bad, "openfm-state 2\n", 1, "snapshot",
               "platform hgx-h100\ndefine 8 gpus=2 nvlinks=0\npartition 8 supported=1 active=0 vfs=-\n");
    expect_refused(bad, k, "unrecognised line 'define", NULL);
    /* and a version-2 file still loads */
    k = framed(bad, snap, 2, "change", "partition 4 supported=1 active=1 vfs=-\n");
    assert_int_equal(ofm_pm_state_parse(bad, k, "fm.state", &got, &err), 0);
    assert_true(got.active[0]);
}

/* ---- the journal on disk ---- */

static char *slurp(const char *path, size_t *len)
{
    static char buf[65536];
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    *len = fread(buf, 1, sizeof buf - 1, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

static void journal_appends_and_compacts(void **st)
{
    (void)st;
    char dir[] = "/tmp/ofm-journal-XXXXXX", path[128], tmp[160], target[128];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/fm.state", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    snprintf(target, sizeof target, "%s/victim", dir);
    /* a planted link at the temp name is not followed */
    FILE *v = fopen(target, "w");
    fputs("precious\n", v);
    fclose(v);
    assert_int_equal(symlink(target, tmp), 0);
    ofm_pm_state *s = sample();
    ofm_pm_journal *j;
    ofm_error err;
    assert_int_equal(ofm_pm_journal_start(path, s, &j, &err), 0);
    size_t len;
    assert_string_equal(slurp(target, &len), "precious\n");
    struct stat sb;
    assert_int_equal(lstat(tmp, &sb), -1); /* the link was removed, not written through */
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 077, 0);
    ofm_pm_journal_set_compact_every(j, 4);
    bool ch[3] = {false, true, false};
    for (int k = 0; k < 3; k++) {
        s->active[1] = !s->active[1];
        assert_int_equal(ofm_pm_journal_record(j, s, ch, &err), 0);
        assert_false(ofm_pm_journal_compaction_due(j));
        ofm_pm_state got;
        assert_int_equal(ofm_pm_state_load(path, &got, &err), 0);
        assert_int_equal(got.active[1], s->active[1]);
    }
    const char *text = slurp(path, &len);
    assert_int_equal(count(text, "record "), 4); /* one snapshot, three changes */
    s->active[1] = true;
    assert_int_equal(ofm_pm_journal_record(j, s, ch, &err), 0);
    assert_true(ofm_pm_journal_compaction_due(j));
    assert_int_equal(ofm_pm_journal_compact(j, s, &err), 0);
    text = slurp(path, &len);
    assert_int_equal(count(text, "record "), 1);
    assert_non_null(strstr(text, "record 1 snapshot "));
    /* appends go to the compacted file */
    s->active[1] = false;
    assert_int_equal(ofm_pm_journal_record(j, s, ch, &err), 0);
    text = slurp(path, &len);
    assert_non_null(strstr(text, "record 2 change "));
    ofm_pm_state got;
    assert_int_equal(ofm_pm_state_load(path, &got, &err), 0);
    assert_false(got.active[1]);
    ofm_pm_journal_close(j);
    unlink(path);
    unlink(target);
    rmdir(dir);
}

/* A tmpfs of `kib` KiB at `dir`, visible to this process only; false when
 * this process may not mount (not root). */
static bool private_tmpfs(const char *dir, unsigned kib)
{
    if (unshare(CLONE_NEWNS) != 0)
        return false;
    if (mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        return false;
    char opt[32];
    snprintf(opt, sizeof opt, "size=%uk,mode=0700", kib);
    return mount("tmpfs", dir, "tmpfs", 0, opt) == 0;
}

/* Fill the filesystem holding `dir` with a file `dir`/filler. */
static void fill(const char *dir)
{
    char path[160];
    snprintf(path, sizeof path, "%s/filler", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    static char block[4096];
    while (write(fd, block, sizeof block) > 0)
        ;
    while (write(fd, block, 1) > 0)
        ;
    close(fd);
}

static void journal_on_a_full_disk(void **st)
{
    (void)st;
    char dir[] = "/tmp/ofm-journal-XXXXXX", path[128], filler[160];
    assert_non_null(mkdtemp(dir));
    if (!private_tmpfs(dir, 64)) {
        rmdir(dir);
        skip(); /* needs root (a real full filesystem) */
    }
    snprintf(path, sizeof path, "%s/fm.state", dir);
    snprintf(filler, sizeof filler, "%s/filler", dir);
    ofm_pm_state *s = sample();
    ofm_pm_journal *j;
    ofm_error err;
    assert_int_equal(ofm_pm_journal_start(path, s, &j, &err), 0);
    bool ch[3] = {true, false, false};
    s->active[0] = true;
    assert_int_equal(ofm_pm_journal_record(j, s, ch, &err), 0);
    fill(dir);
    s->active[0] = false;
    int rc = 0;
    /* the tail of the last page may still take a record or two */
    for (int k = 0; k < 200 && !rc; k++) {
        s->active[0] = !s->active[0];
        rc = ofm_pm_journal_record(j, s, ch, &err);
    }
    assert_int_equal(rc, -1);
    char b[800];
    const char *m = ofm_error_format(&err, b, sizeof b);
    if (!strstr(m, path) || !strstr(m, "No space left on device"))
        fail_msg("unexpected error: %s", m);
    /* what is on disk is the state before the failed change, whole */
    ofm_pm_state got;
    assert_int_equal(ofm_pm_state_load(path, &got, &err), 0);
    assert_int_equal(got.active[0], !s->active[0]);
    /* the next write cannot append after a failure: it needs room for a
     * whole snapshot, and once there is room it succeeds */
    assert_int_equal(unlink(filler), 0);
    assert_int_equal(ofm_pm_journal_record(j, s, ch, &err), 0);
    size_t len;
    const char *text = slurp(path, &len);
    assert_int_equal(count(text, "record "), 1);
    assert_int_equal(ofm_pm_state_load(path, &got, &err), 0);
    assert_int_equal(got.active[0], s->active[0]);
    ofm_pm_journal_close(j);
    umount(dir);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(crc32_known_answers),
        cmocka_unit_test(records_round_trip),
        cmocka_unit_test(every_cut_is_refused),
        cmocka_unit_test(corruption_is_refused),
        cmocka_unit_test(contradictions_are_refused),
        cmocka_unit_test(definitions_round_trip_and_versions),
        cmocka_unit_test(journal_appends_and_compacts),
        cmocka_unit_test(journal_on_a_full_disk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
