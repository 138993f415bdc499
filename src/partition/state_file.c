/* Encoding and strict decoding of the resiliency state file (format in
 * state_file.h). Decoding is a pure function of the bytes. */
#include "partition/state_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "openfm/crc32.h"
#include "openfm/fileio.h"
#include "openfm/partition_rules.h"

#define HEADER_V3 "openfm-state 3\n"
#define RECORD_HEADER_MAX 96 /* "record SEQ KIND LEN CRC\n" is far shorter */

/* ------------------------------------------------------------ encoding */

typedef struct {
    char *p;
    size_t n, cap;
    bool overflow;
} outbuf;

__attribute__((format(printf, 2, 3))) static void put(outbuf *o, const char *fmt, ...)
{
    if (o->overflow)
        return;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(o->p + o->n, o->cap - o->n, fmt, ap);
    va_end(ap);
    if (w < 0 || (size_t)w >= o->cap - o->n)
        o->overflow = true;
    else
        o->n += (size_t)w;
}

static void put_partition(outbuf *o, const ofm_pm_state *s, size_t i)
{
    put(o, "partition %u supported=%d active=%d vfs=", s->part_id[i], s->supported[i],
        s->active[i]);
    if (!s->nvfs[i])
        put(o, "-");
    for (unsigned k = 0; k < s->nvfs[i] && k < FM_MAX_NUM_GPUS; k++)
        put(o, "%s%04x:%02x:%02x.%x", k ? "," : "", s->vfs[i][k].domain, s->vfs[i][k].bus,
            s->vfs[i][k].device, s->vfs[i][k].function);
    put(o, "\n");
}

/* "define ID gpus=LIST nvlinks=N", the GPUs as ascending runs ("1-4,9"). */
static void put_define(outbuf *o, const ofm_pm_state *s, size_t i)
{
    put(o, "define %u gpus=", s->part_id[i]);
    unsigned n = s->part_ngpus[i] < OFM_MAX_GPUS ? s->part_ngpus[i] : OFM_MAX_GPUS;
    for (unsigned k = 0; k < n;) {
        unsigned e = k;
        while (e + 1 < n && s->part_gpus[i][e + 1] == s->part_gpus[i][e] + 1)
            e++;
        if (e > k)
            put(o, "%s%u-%u", k ? "," : "", s->part_gpus[i][k], s->part_gpus[i][e]);
        else
            put(o, "%s%u", k ? "," : "", s->part_gpus[i][k]);
        k = e + 1;
    }
    put(o, " nvlinks=%u\n", s->part_nvlinks[i]);
}

/* Frame the body that starts at body_off (already in o) as record `seq`:
 * the header goes in front, so the body is moved up by the header's length. */
static size_t frame(outbuf *o, size_t hdr_off, size_t body_off, unsigned seq, const char *kind)
{
    if (o->overflow)
        return 0;
    size_t blen = o->n - body_off;
    char hdr[RECORD_HEADER_MAX];
    int h = snprintf(hdr, sizeof hdr, "record %u %s %zu %08x\n", seq, kind, blen,
                     ofm_crc32(o->p + body_off, blen, 0));
    if (h < 0 || (size_t)h >= sizeof hdr || hdr_off + (size_t)h + blen > o->cap)
        return 0;
    memmove(o->p + hdr_off + h, o->p + body_off, blen);
    memcpy(o->p + hdr_off, hdr, (size_t)h);
    o->n = hdr_off + (size_t)h + blen;
    return o->n;
}

size_t ofm_pm_state_encode_file(const ofm_pm_state *s, char *buf, size_t cap)
{
    outbuf o = {buf, 0, cap, false};
    put(&o, HEADER_V3);
    size_t hdr_off = o.n;
    /* the body is built after room for the longest header, then framed */
    o.n += RECORD_HEADER_MAX;
    if (o.n > cap)
        return 0;
    size_t body = o.n;
    put(&o, "platform %s\n", s->platform);
    for (size_t i = 0; i < s->ngpus; i++)
        put(&o, "gpu %u %s\n", s->gpu_id[i], s->gpu_uuid[i][0] ? s->gpu_uuid[i] : "-");
    for (size_t i = 0; i < s->npartitions; i++) {
        if (s->live[i])
            put_define(&o, s, i);
        put_partition(&o, s, i);
    }
    return frame(&o, hdr_off, body, 1, "snapshot");
}

size_t ofm_pm_state_encode_define(const ofm_pm_state *s, size_t i, unsigned seq, char *buf,
                                  size_t cap)
{
    outbuf o = {buf, RECORD_HEADER_MAX, cap, cap < RECORD_HEADER_MAX};
    if (i >= s->npartitions || !s->live[i])
        return 0;
    put_define(&o, s, i);
    put_partition(&o, s, i);
    return frame(&o, 0, RECORD_HEADER_MAX, seq, "define");
}

size_t ofm_pm_state_encode_undefine(unsigned id, unsigned seq, char *buf, size_t cap)
{
    outbuf o = {buf, RECORD_HEADER_MAX, cap, cap < RECORD_HEADER_MAX};
    put(&o, "undefine %u\n", id);
    return frame(&o, 0, RECORD_HEADER_MAX, seq, "undefine");
}

size_t ofm_pm_state_encode_change(const ofm_pm_state *s, const bool *changed, unsigned seq,
                                  char *buf, size_t cap)
{
    outbuf o = {buf, RECORD_HEADER_MAX, cap, cap < RECORD_HEADER_MAX};
    size_t n = 0;
    for (size_t i = 0; i < s->npartitions; i++)
        if (changed[i]) {
            put_partition(&o, s, i);
            n++;
        }
    return n ? frame(&o, 0, RECORD_HEADER_MAX, seq, "change") : 0;
}

/* ------------------------------------------------------------ decoding */

typedef struct {
    const char *origin;
    unsigned line; /* of the line being parsed */
    size_t base;   /* file offset of the buffer being parsed */
    ofm_error *err;
    int version;
    /* a live definition whose "partition" line has not come yet */
    bool awaiting_line[OFM_PM_MAX_PARTITIONS];
} ctx;

/* What a body may hold. */
typedef enum { BODY_V1, BODY_SNAPSHOT, BODY_CHANGE, BODY_DEFINE, BODY_UNDEFINE } body_kind;

static int parse_vfs(ctx *c, char *v, ofm_pm_state *s, size_t i)
{
    s->nvfs[i] = 0;
    if (!strcmp(v, "-"))
        return 0;
    char *save;
    for (char *t = strtok_r(v, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        unsigned d, b, dev, fn;
        char extra;
        if (s->nvfs[i] >= FM_MAX_NUM_GPUS || sscanf(t, "%x:%x:%x.%x%c", &d, &b, &dev, &fn, &extra) != 4 ||
            d > 0xffff || b > 0xff || dev > 0x1f || fn > 7)
            return ofm_error_set(c->err, c->origin, c->line, "bad VF address '%.40s'", t);
        s->vfs[i][s->nvfs[i]++] = (fmPciDevice_t){d, b, dev, fn};
    }
    return 0;
}

static int find_partition(const ofm_pm_state *s, unsigned id)
{
    for (size_t i = 0; i < s->npartitions; i++)
        if (s->part_id[i] == id)
            return (int)i;
    return -1;
}

/* "partition ID supported=S active=A vfs=LIST". A snapshot (adding) appends
 * a new entry, or completes the live definition just declared; a change
 * replaces the entry of a known partition. */
static int parse_partition(ctx *c, const char *ln, ofm_pm_state *s, bool adding)
{
    char b[128], cc[128], d[512], extra;
    unsigned id;
    int sup, act;
    if (sscanf(ln, "partition %u %127s %127s %511s %c", &id, b, cc, d, &extra) != 4 ||
        sscanf(b, "supported=%d%c", &sup, &extra) != 1 || sscanf(cc, "active=%d%c", &act, &extra) != 1 ||
        strncmp(d, "vfs=", 4))
        return ofm_error_set(c->err, c->origin, c->line, "malformed partition line '%.60s'", ln);
    if ((sup != 0 && sup != 1) || (act != 0 && act != 1))
        return ofm_error_set(c->err, c->origin, c->line, "supported= and active= must be 0 or 1");
    if (!sup && act)
        return ofm_error_set(c->err, c->origin, c->line,
                             "partition %u has supported=0 active=1: an unsupported partition "
                             "cannot be active", id);
    int i = find_partition(s, id);
    if (i >= 0 && c->awaiting_line[i]) {
        c->awaiting_line[i] = false; /* the line of a definition */
    } else if (adding) {
        if (i >= 0)
            return ofm_error_set(c->err, c->origin, c->line, "partition %u listed twice", id);
        if (s->npartitions >= OFM_PM_MAX_PARTITIONS)
            return ofm_error_set(c->err, c->origin, c->line, "too many partitions");
        i = (int)s->npartitions++;
    } else if (i < 0) {
        return ofm_error_set(c->err, c->origin, c->line,
                             "change to partition %u, which the snapshot does not list", id);
    } else if (s->supported[i] != (sup == 1)) {
        return ofm_error_set(c->err, c->origin, c->line,
                             "change to partition %u alters supported=, which only a snapshot sets",
                             id);
    }
    s->part_id[i] = id;
    s->supported[i] = sup == 1;
    s->active[i] = act == 1;
    return parse_vfs(c, d + 4, s, (size_t)i);
}

/* "define ID gpus=LIST nvlinks=N": a new live definition; its partition
 * line must follow in the same record. */
static int parse_define(ctx *c, const char *ln, ofm_pm_state *s)
{
    char g[400], extra;
    unsigned id, nvl;
    if (sscanf(ln, "define %u gpus=%399s nvlinks=%u %c", &id, g, &nvl, &extra) != 3)
        return ofm_error_set(c->err, c->origin, c->line, "malformed define line '%.60s'", ln);
    if (find_partition(s, id) >= 0)
        return ofm_error_set(c->err, c->origin, c->line, "partition %u defined twice", id);
    if (s->npartitions >= OFM_PM_MAX_PARTITIONS)
        return ofm_error_set(c->err, c->origin, c->line, "too many partitions (at most %d)",
                             OFM_PM_MAX_PARTITIONS);
    if (nvl > OFM_MAX_GPU_LINKS)
        return ofm_error_set(c->err, c->origin, c->line, "partition %u: nvlinks=%u is more than a "
                             "GPU has (%d)", id, nvl, OFM_MAX_GPU_LINKS);
    size_t i = s->npartitions;
    char why[160];
    int n = ofm_partition_parse_gpu_list(g, s->part_gpus[i], OFM_MAX_GPUS, why, sizeof why);
    if (n < 0)
        return ofm_error_set(c->err, c->origin, c->line, "partition %u: %s", id, why);
    for (int k = 1; k < n; k++)
        if (s->part_gpus[i][k] <= s->part_gpus[i][k - 1])
            return ofm_error_set(c->err, c->origin, c->line, "partition %u: GPUs not in ascending "
                                 "order", id);
    s->npartitions++;
    s->part_id[i] = id;
    s->live[i] = true;
    s->part_ngpus[i] = (unsigned)n;
    s->part_nvlinks[i] = nvl;
    s->supported[i] = true;
    s->active[i] = false;
    s->nvfs[i] = 0;
    c->awaiting_line[i] = true;
    return 0;
}

/* "undefine ID": a live definition that is not active goes away. */
static int parse_undefine(ctx *c, const char *ln, ofm_pm_state *s)
{
    unsigned id;
    char extra;
    if (sscanf(ln, "undefine %u %c", &id, &extra) != 1)
        return ofm_error_set(c->err, c->origin, c->line, "malformed undefine line '%.60s'", ln);
    int i = find_partition(s, id);
    if (i < 0)
        return ofm_error_set(c->err, c->origin, c->line, "undefine of partition %u, which is not "
                             "defined", id);
    if (!s->live[i])
        return ofm_error_set(c->err, c->origin, c->line, "undefine of partition %u, which is the "
                             "platform's own", id);
    if (s->active[i])
        return ofm_error_set(c->err, c->origin, c->line, "undefine of partition %u, which is "
                             "active", id);
    size_t rest = s->npartitions - (size_t)i - 1;
#define SHIFT(a) memmove(&s->a[i], &s->a[i + 1], rest * sizeof s->a[0])
    SHIFT(part_id);
    SHIFT(supported);
    SHIFT(active);
    SHIFT(nvfs);
    SHIFT(vfs);
    SHIFT(live);
    SHIFT(part_ngpus);
    SHIFT(part_gpus);
    SHIFT(part_nvlinks);
#undef SHIFT
    memmove(&c->awaiting_line[i], &c->awaiting_line[i + 1], rest * sizeof c->awaiting_line[0]);
    s->npartitions--;
    /* the vacated slot reads as never used, as after a fresh parse */
    size_t last = s->npartitions;
    s->part_id[last] = 0;
    s->supported[last] = s->active[last] = s->live[last] = false;
    s->nvfs[last] = s->part_ngpus[last] = s->part_nvlinks[last] = 0;
    memset(s->vfs[last], 0, sizeof s->vfs[last]);
    memset(s->part_gpus[last], 0, sizeof s->part_gpus[last]);
    c->awaiting_line[last] = false;
    return 0;
}

/* Every definition got its partition line. */
static int definitions_complete(ctx *c, const ofm_pm_state *s)
{
    for (size_t i = 0; i < s->npartitions; i++)
        if (c->awaiting_line[i])
            return ofm_error_set(c->err, c->origin, c->line, "partition %u is defined without "
                                 "its partition line", s->part_id[i]);
    return 0;
}

/* Lines of one body of `kind`: snapshots allow platform and gpu lines,
 * define records one definition and its partition line, undefine records
 * undefine lines. Sets *ended when a version-1 "end" line is met. */
static int parse_lines(ctx *c, const char *buf, size_t len, ofm_pm_state *s, body_kind kind,
                       bool *ended)
{
    bool snapshot = kind == BODY_SNAPSHOT || kind == BODY_V1, v1 = kind == BODY_V1;
    unsigned ndefs = 0, nparts = 0;
    for (size_t pos = 0; pos < len;) {
        const char *nl = memchr(buf + pos, '\n', len - pos);
        if (!nl)
            return ofm_error_set(c->err, c->origin, c->line, "truncated (no newline)");
        size_t l = (size_t)(nl - (buf + pos));
        char ln[512];
        if (l >= sizeof ln || memchr(buf + pos, '\0', l))
            return ofm_error_set(c->err, c->origin, c->line, "malformed line");
        memcpy(ln, buf + pos, l);
        ln[l] = '\0';
        pos += l + 1;
        char a[128], extra;
        unsigned id;
        if (v1 && *ended)
            return ofm_error_set(c->err, c->origin, c->line, "data after 'end'");
        if (v1 && !strcmp(ln, "end")) {
            *ended = true;
        } else if (snapshot && sscanf(ln, "platform %63s %c", s->platform, &extra) == 1) {
        } else if (snapshot && sscanf(ln, "gpu %u %79s %c", &id, a, &extra) == 2) {
            if (s->ngpus >= OFM_MAX_GPUS)
                return ofm_error_set(c->err, c->origin, c->line, "too many GPUs");
            s->gpu_id[s->ngpus] = id;
            snprintf(s->gpu_uuid[s->ngpus], sizeof s->gpu_uuid[0], "%.79s", strcmp(a, "-") ? a : "");
            s->ngpus++;
        } else if (!strncmp(ln, "define ", 7) && c->version >= 3 &&
                   (kind == BODY_SNAPSHOT || (kind == BODY_DEFINE && ndefs == 0))) {
            if (parse_define(c, ln, s))
                return -1;
            ndefs++;
        } else if (!strncmp(ln, "undefine ", 9) && kind == BODY_UNDEFINE) {
            if (parse_undefine(c, ln, s))
                return -1;
        } else if (!strncmp(ln, "partition ", 10) && kind != BODY_UNDEFINE &&
                   (kind != BODY_DEFINE || (ndefs == 1 && nparts == 0))) {
            if (parse_partition(c, ln, s, snapshot))
                return -1;
            nparts++;
        } else {
            return ofm_error_set(c->err, c->origin, c->line, "unrecognised line '%.60s'", ln);
        }
        c->line++;
    }
    if (kind == BODY_DEFINE && ndefs != 1)
        return ofm_error_set(c->err, c->origin, c->line, "define record without a define line");
    return definitions_complete(c, s);
}

static int parse_v1(ctx *c, const char *buf, size_t len, ofm_pm_state *s)
{
    bool ended = false;
    if (parse_lines(c, buf, len, s, BODY_V1, &ended))
        return -1;
    if (!ended)
        return ofm_error_set(c->err, c->origin, 0, "truncated: no 'end' line");
    return 0;
}

static bool digits(const char *t, size_t maxlen, const char *set)
{
    size_t n = strlen(t);
    return n > 0 && n <= maxlen && strspn(t, set) == n;
}

/* "record SEQ KIND LEN CRC": single spaces, decimal SEQ and LEN, eight
 * lowercase hex digits of CRC. Checked by hand: no sign, no overflow. */
static int parse_header(const char *hdr, unsigned *seq, char kind[16], unsigned long *len, unsigned *crc)
{
    char copy[RECORD_HEADER_MAX + 1], *tok[6], *save;
    int n = 0;
    snprintf(copy, sizeof copy, "%s", hdr);
    size_t cl = strlen(copy);
    if (!cl || strstr(copy, "  ") || copy[0] == ' ' || copy[cl - 1] == ' ')
        return -1;
    for (char *t = strtok_r(copy, " ", &save); t && n < 6; t = strtok_r(NULL, " ", &save))
        tok[n++] = t;
    if (n != 5 || strcmp(tok[0], "record") || !digits(tok[1], 9, "0123456789") ||
        !digits(tok[2], 15, "abcdefghijklmnopqrstuvwxyz") || !digits(tok[3], 9, "0123456789") ||
        strlen(tok[4]) != 8 || !digits(tok[4], 8, "0123456789abcdef"))
        return -1;
    *seq = (unsigned)strtoul(tok[1], NULL, 10);
    snprintf(kind, 16, "%s", tok[2]);
    *len = strtoul(tok[3], NULL, 10);
    *crc = (unsigned)strtoul(tok[4], NULL, 16);
    return 0;
}

static int parse_v2(ctx *c, const char *buf, size_t len, ofm_pm_state *s)
{
    unsigned seq = 0;
    for (size_t pos = 0; pos < len;) {
        unsigned want = seq + 1;
        size_t room = len - pos < RECORD_HEADER_MAX ? len - pos : RECORD_HEADER_MAX;
        const char *nl = memchr(buf + pos, '\n', room);
        if (!nl)
            return ofm_error_set(c->err, c->origin, c->line,
                                 "record %u at byte offset %zu: %s", want, c->base + pos,
                                 room < RECORD_HEADER_MAX
                                     ? "truncated record header (torn write)"
                                     : "malformed record header");
        char hdr[RECORD_HEADER_MAX + 1], kind[16];
        size_t hl = (size_t)(nl - (buf + pos));
        memcpy(hdr, buf + pos, hl);
        hdr[hl] = '\0';
        unsigned got, crc;
        unsigned long blen;
        if (memchr(buf + pos, '\0', hl) || parse_header(hdr, &got, kind, &blen, &crc))
            return ofm_error_set(c->err, c->origin, c->line,
                                 "record %u at byte offset %zu: malformed record header '%.60s'",
                                 want, c->base + pos, hdr);
        if (got != want)
            return ofm_error_set(c->err, c->origin, c->line,
                                 "record at byte offset %zu is numbered %u, expected %u: a record "
                                 "is missing or repeated", c->base + pos, got, want);
        bool snapshot = !strcmp(kind, "snapshot");
        body_kind bk = snapshot                                        ? BODY_SNAPSHOT
                       : !strcmp(kind, "change")                       ? BODY_CHANGE
                       : c->version >= 3 && !strcmp(kind, "define")   ? BODY_DEFINE
                       : c->version >= 3 && !strcmp(kind, "undefine") ? BODY_UNDEFINE
                                                                       : BODY_V1;
        if ((want == 1) != snapshot || bk == BODY_V1)
            return ofm_error_set(c->err, c->origin, c->line,
                                 "record %u at byte offset %zu: kind '%s', expected '%s'", want,
                                 c->base + pos, kind,
                                 want == 1 ? "snapshot"
                                 : c->version >= 3 ? "change', 'define' or 'undefine"
                                                   : "change");
        size_t body = pos + hl + 1;
        if (blen > len - body)
            return ofm_error_set(c->err, c->origin, c->line,
                                 "record %u at byte offset %zu: truncated: declares %lu bytes, "
                                 "only %zu present (torn or cut-off write)",
                                 want, c->base + pos, blen, len - body);
        uint32_t sum = ofm_crc32(buf + body, blen, 0);
        if (sum != crc)
            return ofm_error_set(c->err, c->origin, c->line,
                                 "record %u at byte offset %zu: checksum mismatch (stored %08x, "
                                 "computed %08x): the record is corrupted",
                                 want, c->base + pos, crc, (unsigned)sum);
        if (blen == 0 || buf[body + blen - 1] != '\n')
            return ofm_error_set(c->err, c->origin, c->line,
                                 "record %u at byte offset %zu: empty, or not ended by a newline",
                                 want, c->base + pos);
        c->line++;
        if (parse_lines(c, buf + body, blen, s, bk, NULL))
            return -1;
        pos = body + blen;
        seq = want;
    }
    if (!seq)
        return ofm_error_set(c->err, c->origin, 0, "truncated: no snapshot record");
    return 0;
}

int ofm_pm_state_parse(const char *buf, size_t len, const char *origin, ofm_pm_state *s, ofm_error *err)
{
    memset(s, 0, sizeof *s);
    ctx c = {.origin = origin, .line = 1, .err = err};
    const char *nl = len ? memchr(buf, '\n', len < 64 ? len : 64) : NULL;
    if (!len)
        return ofm_error_set(err, origin, 0, "empty state file");
    int ver;
    char extra;
    char first[65];
    size_t fl = nl ? (size_t)(nl - buf) : 0;
    memcpy(first, buf, fl);
    first[fl] = '\0';
    if (!nl || memchr(buf, '\0', fl) || sscanf(first, "openfm-state %d%c", &ver, &extra) != 1)
        return ofm_error_set(err, origin, 1, "not an openfm state file");
    if (ver < 1 || ver > 3)
        return ofm_error_set(err, origin, 1, "state file version %d, this openfm reads 1 to 3", ver);
    c.version = ver;
    c.line = 2;
    c.base = fl + 1;
    int rc = ver == 1 ? parse_v1(&c, nl + 1, len - fl - 1, s) : parse_v2(&c, nl + 1, len - fl - 1, s);
    if (rc)
        return -1;
    if (!s->platform[0])
        return ofm_error_set(err, origin, 0, "no platform line");
    return 0;
}

int ofm_pm_state_load(const char *path, ofm_pm_state *s, ofm_error *err)
{
    char *buf;
    size_t n;
    /* never through a link, never a FIFO or device, read errors reported */
    if (ofm_file_read(path, "state file", OFM_PM_STATE_MAX_BYTES, OFM_FILE_NOFOLLOW, &buf, &n, err))
        return -1;
    int rc = ofm_pm_state_parse(buf, n, path, s, err);
    free(buf);
    return rc;
}
