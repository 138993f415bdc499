/* Exclusion lists in a modprobe configuration file (FM §9.6). See
 * include/openfm/modprobe.h. */
#include "openfm/modprobe.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openfm/fileio.h"

#define MAX_TOKENS 64

const char *ofm_modprobe_default_path(const char *explicit_path)
{
    if (explicit_path && *explicit_path)
        return explicit_path;
    const char *env = getenv("OPENFM_MODPROBE_FILE");
    return env && *env ? env : OFM_MODPROBE_DEFAULT_FILE;
}

bool ofm_modprobe_uuid_valid(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!isalnum((unsigned char)s[n]) && s[n] != '-')
            return false;
    return n > 0 && n < OFM_MODPROBE_UUID_LEN;
}

typedef struct {
    const char *p;
    size_t len;
} span;

/* Split one line (no newline) into whitespace-separated tokens. */
static size_t tokens(const char *line, size_t len, span *out, size_t cap)
{
    size_t n = 0, i = 0;
    while (i < len) {
        while (i < len && isspace((unsigned char)line[i]))
            i++;
        if (i >= len)
            break;
        size_t s = i;
        while (i < len && !isspace((unsigned char)line[i]))
            i++;
        if (n < cap)
            out[n] = (span){line + s, i - s};
        n++;
    }
    return n;
}

static bool tok_is(span t, const char *w) { return t.len == strlen(w) && !memcmp(t.p, w, t.len); }

static bool tok_is_param(span t, const char *param)
{
    size_t pl = strlen(param);
    return t.len > pl && !memcmp(t.p, param, pl) && t.p[pl] == '=';
}

static bool list_has(const ofm_modprobe_list *l, const char *u)
{
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->uuid[i], u))
            return true;
    return false;
}

/* Append the comma-separated values of token `t` (PARAM=...) to `out`. */
static int add_values(span t, const char *param, const char *path, unsigned lineno,
                      ofm_modprobe_list *out, ofm_error *err)
{
    size_t i = strlen(param) + 1;
    while (i <= t.len) {
        size_t s = i;
        while (i < t.len && t.p[i] != ',')
            i++;
        size_t vl = i - s;
        i++;
        if (vl == 0)
            continue;
        char v[OFM_MODPROBE_UUID_LEN];
        if (vl >= sizeof v)
            return ofm_error_set(err, path, lineno, "%s: value of %zu characters is too long (at most %zu)",
                                 param, vl, sizeof v - 1);
        memcpy(v, t.p + s, vl);
        v[vl] = 0;
        if (!ofm_modprobe_uuid_valid(v))
            return ofm_error_set(err, path, lineno, "%s: '%s' is not a device UUID", param, v);
        if (list_has(out, v))
            continue;
        if (out->n >= OFM_MODPROBE_MAX_UUIDS)
            return ofm_error_set(err, path, lineno, "%s: more than %d devices listed", param,
                                 OFM_MODPROBE_MAX_UUIDS);
        snprintf(out->uuid[out->n++], OFM_MODPROBE_UUID_LEN, "%s", v);
    }
    return 0;
}

/* Walk the lines; calls `fn` for each. Returns -1 when fn does. */
typedef int (*line_fn)(const char *line, size_t len, bool nl, unsigned lineno, void *ctx);

static int each_line(const char *text, line_fn fn, void *ctx)
{
    unsigned lineno = 0;
    const char *p = text;
    while (*p) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (fn(p, len, e != NULL, ++lineno, ctx))
            return -1;
        p += len + (e ? 1 : 0);
    }
    return 0;
}

typedef struct {
    const char *path, *param;
    ofm_modprobe_list *list;
    ofm_error *err;
} parse_ctx;

static bool nvidia_options(const span *t, size_t n) { return n >= 2 && tok_is(t[0], "options") && tok_is(t[1], "nvidia"); }

static int parse_line(const char *line, size_t len, bool nl, unsigned lineno, void *vctx)
{
    (void)nl;
    parse_ctx *c = vctx;
    span t[MAX_TOKENS];
    size_t n = tokens(line, len, t, MAX_TOKENS);
    if (n > MAX_TOKENS)
        return ofm_error_set(c->err, c->path, lineno, "more than %d words on one line", MAX_TOKENS);
    if (!nvidia_options(t, n))
        return 0;
    for (size_t i = 2; i < n; i++)
        if (tok_is_param(t[i], c->param) && add_values(t[i], c->param, c->path, lineno, c->list, c->err))
            return -1;
    return 0;
}

int ofm_modprobe_parse(const char *text, const char *path, const char *param,
                       ofm_modprobe_list *out, ofm_error *err)
{
    memset(out, 0, sizeof *out);
    parse_ctx c = {path, param, out, err};
    return each_line(text, parse_line, &c);
}

typedef struct {
    const char *param;
    const ofm_modprobe_list *want;
    bool written;      /* the list went onto its first line already */
    char *buf;
    size_t len, cap;
} edit_ctx;

static int put(edit_ctx *c, const char *s, size_t n)
{
    if (c->len + n + 1 > c->cap) {
        size_t cap = (c->cap + n + 1) * 2;
        char *b = realloc(c->buf, cap);
        if (!b)
            return -1;
        c->buf = b;
        c->cap = cap;
    }
    memcpy(c->buf + c->len, s, n);
    c->len += n;
    c->buf[c->len] = 0;
    return 0;
}

static int put_list(edit_ctx *c)
{
    if (put(c, c->param, strlen(c->param)) || put(c, "=", 1))
        return -1;
    for (size_t i = 0; i < c->want->n; i++)
        if ((i && put(c, ",", 1)) || put(c, c->want->uuid[i], strlen(c->want->uuid[i])))
            return -1;
    return 0;
}

static int edit_line(const char *line, size_t len, bool nl, unsigned lineno, void *vctx)
{
    (void)lineno;
    edit_ctx *c = vctx;
    span t[MAX_TOKENS];
    size_t n = tokens(line, len, t, MAX_TOKENS);
    bool has = false;
    if (n <= MAX_TOKENS && nvidia_options(t, n))
        for (size_t i = 2; i < n; i++)
            has |= tok_is_param(t[i], c->param);
    if (!has) /* not ours: byte for byte */
        return put(c, line, len) || (nl && put(c, "\n", 1)) ? -1 : 0;
    size_t start = c->len, words = 0;
    if (put(c, "options nvidia", 14))
        return -1;
    for (size_t i = 2; i < n; i++) {
        if (tok_is_param(t[i], c->param)) {
            if (c->written || c->want->n == 0)
                continue;
            c->written = true;
            if (put(c, " ", 1) || put_list(c))
                return -1;
        } else if (put(c, " ", 1) || put(c, t[i].p, t[i].len)) {
            return -1;
        }
        words++;
    }
    if (words == 0) { /* nothing left on the line: drop it */
        c->len = start;
        c->buf[start] = 0;
        return 0;
    }
    return put(c, "\n", 1);
}

int ofm_modprobe_edit(const char *text, const char *path, const char *param, const char *uuid,
                      bool add, char **out, bool *changed, ofm_error *err)
{
    *out = NULL;
    *changed = false;
    if (!ofm_modprobe_uuid_valid(uuid))
        return ofm_error_set(err, NULL, 0, "'%s' is not a device UUID", uuid);
    ofm_modprobe_list cur, want;
    if (ofm_modprobe_parse(text, path, param, &cur, err))
        return -1;
    memset(&want, 0, sizeof want);
    for (size_t i = 0; i < cur.n; i++)
        if (add || strcmp(cur.uuid[i], uuid))
            snprintf(want.uuid[want.n++], OFM_MODPROBE_UUID_LEN, "%s", cur.uuid[i]);
    if (add && !list_has(&want, uuid)) {
        if (want.n >= OFM_MODPROBE_MAX_UUIDS)
            return ofm_error_set(err, path, 0, "%s already lists %d devices", param, OFM_MODPROBE_MAX_UUIDS);
        snprintf(want.uuid[want.n++], OFM_MODPROBE_UUID_LEN, "%s", uuid);
    }
    edit_ctx c = {param, &want, false, NULL, 0, 0};
    if (put(&c, "", 0) || each_line(text, edit_line, &c))
        goto oom;
    if (!c.written && want.n) {
        if ((c.len && c.buf[c.len - 1] != '\n' && put(&c, "\n", 1)) || put(&c, "options nvidia ", 15) ||
            put_list(&c) || put(&c, "\n", 1))
            goto oom;
    }
    *changed = strcmp(c.buf, text) != 0;
    *out = c.buf;
    return 0;
oom:
    free(c.buf);
    return ofm_error_set(err, path, 0, "out of memory editing the file");
}

int ofm_modprobe_read(const char *path, ofm_modprobe_list *gpus, ofm_modprobe_list *switches,
                      ofm_error *err)
{
    char *text = NULL;
    size_t len;
    if (ofm_file_read(path, "modprobe configuration file", OFM_MODPROBE_MAX_BYTES, 0, &text, &len, err)) {
        if (errno != ENOENT)
            return -1;
        memset(gpus, 0, sizeof *gpus);
        memset(switches, 0, sizeof *switches);
        return 0;
    }
    int rc = 0;
    if (strlen(text) != len)
        rc = ofm_error_set(err, path, 0, "contains a NUL byte: not a modprobe configuration file");
    else if (ofm_modprobe_parse(text, path, OFM_MODPROBE_GPU_PARAM, gpus, err) ||
             ofm_modprobe_parse(text, path, OFM_MODPROBE_SWITCH_PARAM, switches, err))
        rc = -1;
    free(text);
    return rc;
}
