/* Table-driven parser for the KEY=VALUE configuration file. */
#include "daemon/config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openfm/fileio.h"

#define MAX_LINE 1024
#define MAX_FILE (1u << 20)

#define TYPE_INT OFM_CFG_INT
#define TYPE_LONG OFM_CFG_INT
#define TYPE_BOOL OFM_CFG_BOOL
#define TYPE_IPV4 OFM_CFG_IPV4
#define TYPE_PATH OFM_CFG_PATH
#define TYPE_STRING OFM_CFG_STRING
#define TYPE_ENDPOINT OFM_CFG_ENDPOINT
#define TYPE_HEX64 OFM_CFG_HEX64
#define ROW(key, m, kind, def, lo, hi, doc)                                                        \
    {#key, TYPE_##kind, def, lo, hi, doc, offsetof(ofm_config, m), sizeof(((ofm_config *)0)->m)},

static const ofm_cfg_key keys[] = {OFM_CONFIG_KEYS(ROW)};

const ofm_cfg_key *ofm_config_keys(size_t *n)
{
    *n = sizeof keys / sizeof keys[0];
    return keys;
}

static const ofm_cfg_key *find(const char *key)
{
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (!strcmp(keys[i].key, key))
            return &keys[i];
    return NULL;
}

/* "0x1A2b" or "1a2b": 1-16 hex digits, nothing else (a port GUID as ibstat
 * prints it, or bare). */
static int parse_hex64(const char *v, uint64_t *out)
{
    const char *d = (v[0] == '0' && (v[1] == 'x' || v[1] == 'X')) ? v + 2 : v;
    size_t n = strlen(d);
    if (n == 0 || n > 16)
        return -1;
    uint64_t x = 0;
    for (const char *p = d; *p; p++) {
        if (!isxdigit((unsigned char)*p))
            return -1;
        x = x << 4 | (uint64_t)(isdigit((unsigned char)*p) ? *p - '0' : (tolower((unsigned char)*p) - 'a' + 10));
    }
    *out = x;
    return 0;
}

/* An absolute Unix socket path that fits sockaddr_un, or IPV4:PORT with a
 * port 1-65535. On failure *why says which rule the value breaks. */
static int check_endpoint(const char *v, const char **why)
{
    size_t len = strlen(v);
    if (v[0] == '/') {
        *why = "is a Unix socket path longer than 107 characters";
        return len > OFM_CFG_SOCKET_PATH_MAX ? -1 : 0;
    }
    *why = "is neither an absolute Unix socket path nor IPV4:PORT";
    const char *colon = strrchr(v, ':');
    if (!colon || colon == v || (size_t)(colon - v) > 15)
        return -1;
    char addr[16];
    memcpy(addr, v, (size_t)(colon - v));
    addr[colon - v] = '\0';
    struct in_addr a;
    if (inet_pton(AF_INET, addr, &a) != 1)
        return -1;
    const char *port = colon + 1;
    char *end;
    errno = 0;
    long n = strtol(port, &end, 10);
    if (!isdigit((unsigned char)*port) || *end || errno || n < 1 || n > 65535) {
        *why = "has no TCP port 1-65535 after the ':'";
        return -1;
    }
    return 0;
}

static int set_at(ofm_config *c, const char *key, const char *v, const char *origin, unsigned line,
                  ofm_error *err)
{
    const ofm_cfg_key *k = find(key);
    void *f = k ? (char *)c + k->offset : NULL;
    if (!f)
        return ofm_error_set(err, origin, line, "unknown key '%s'", key);
    size_t len = strlen(v);
    switch (k->type) {
    case OFM_CFG_INT: {
        char *end;
        errno = 0;
        long n = strtol(v, &end, 10);
        if (!*v || *end || errno || !(isdigit((unsigned char)*v)))
            return ofm_error_set(err, origin, line, "%s: value '%s' is not a number", key, v);
        if (n < k->min || n > k->max)
            return ofm_error_set(err, origin, line, "%s: value '%s' out of range %ld-%ld", key, v,
                                 k->min, k->max);
        if (k->size == sizeof(int))
            *(int *)f = (int)n;
        else
            *(long *)f = n;
        return 0;
    }
    case OFM_CFG_BOOL:
        if (strcmp(v, "0") && strcmp(v, "1"))
            return ofm_error_set(err, origin, line, "%s: value '%s' must be 0 or 1", key, v);
        *(bool *)f = v[0] == '1';
        return 0;
    case OFM_CFG_IPV4: {
        struct in_addr a;
        if (len > 15 || inet_pton(AF_INET, v, &a) != 1)
            return ofm_error_set(err, origin, line, "%s: value '%s' is not an IPv4 address", key, v);
        break;
    }
    case OFM_CFG_HEX64:
        if (parse_hex64(v, (uint64_t *)f))
            return ofm_error_set(err, origin, line,
                                 "%s: value '%.60s' is not a 64-bit hex GUID (0x and 1-16 hex digits)",
                                 key, v);
        return 0;
    case OFM_CFG_ENDPOINT: {
        const char *why;
        for (const char *p = v; *p; p++)
            if ((unsigned char)*p < 0x20)
                return ofm_error_set(err, origin, line, "%s: control character in value", key);
        if (len > OFM_CFG_STR_MAX || check_endpoint(v, &why))
            return ofm_error_set(err, origin, line, "%s: value '%.60s%s' %s", key, v,
                                 len > 60 ? "..." : "",
                                 len > OFM_CFG_STR_MAX ? "is a Unix socket path longer than 107 characters"
                                                       : why);
        break;
    }
    case OFM_CFG_PATH:
    case OFM_CFG_STRING:
        if (len > OFM_CFG_STR_MAX)
            return ofm_error_set(err, origin, line, "%s: value is longer than %d characters", key,
                                 OFM_CFG_STR_MAX);
        for (const char *p = v; *p; p++)
            if ((unsigned char)*p < 0x20)
                return ofm_error_set(err, origin, line, "%s: control character in value", key);
        break;
    }
    memcpy(f, v, len + 1);
    return 0;
}

int ofm_config_set(ofm_config *c, const char *key, const char *value, ofm_error *err)
{
    return set_at(c, key, value, "command line", 0, err);
}

void ofm_config_defaults(ofm_config *c)
{
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        set_at(c, keys[i].key, keys[i].def, NULL, 0, NULL);
}

/* Offset of the first byte that is not part of well-formed UTF-8, or -1.
 * Overlong forms and surrogates are rejected too. */
static long bad_utf8(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        size_t need;
        unsigned cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xc2 && c <= 0xdf) {
            need = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            need = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            need = 3;
            cp = c & 0x07;
        } else
            return (long)i;
        for (size_t k = 1; k <= need; k++) {
            if (i + k >= n || (s[i + k] & 0xc0) != 0x80)
                return (long)i;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((need == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
            (need == 3 && (cp < 0x10000 || cp > 0x10ffff)))
            return (long)i;
        i += need + 1;
    }
    return -1;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t l = strlen(s);
    while (l && (s[l - 1] == ' ' || s[l - 1] == '\t' || s[l - 1] == '\r'))
        s[--l] = '\0';
    return s;
}

int ofm_config_parse(const char *buf, size_t len, const char *origin, ofm_config *c, ofm_error *err)
{
    size_t nkeys = sizeof keys / sizeof keys[0];
    unsigned seen[sizeof keys / sizeof keys[0]] = {0};
    unsigned line = 0;
    for (size_t pos = 0; pos < len;) {
        line++;
        const char *nl = memchr(buf + pos, '\n', len - pos);
        size_t l = nl ? (size_t)(nl - (buf + pos)) : len - pos;
        if (memchr(buf + pos, '\0', l))
            return ofm_error_set(err, origin, line, "NUL byte in line");
        long bad = bad_utf8((const unsigned char *)buf + pos, l);
        if (bad >= 0)
            return ofm_error_set(err, origin, line, "invalid UTF-8 byte 0x%02x at column %ld",
                                 (unsigned char)buf[pos + (size_t)bad], bad + 1);
        if (l >= MAX_LINE)
            return ofm_error_set(err, origin, line, "line longer than %d characters", MAX_LINE - 1);
        char tmp[MAX_LINE];
        memcpy(tmp, buf + pos, l);
        tmp[l] = '\0';
        pos += l + (nl ? 1 : 0);
        char *s = trim(tmp);
        if (!*s || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (!eq)
            return ofm_error_set(err, origin, line, "expected KEY=VALUE, got '%.60s'", s);
        *eq = '\0';
        char *key = trim(s), *val = trim(eq + 1);
        if (!*key)
            return ofm_error_set(err, origin, line, "missing key before '='");
        const ofm_cfg_key *k = find(key);
        if (!k)
            return ofm_error_set(err, origin, line, "unknown key '%.60s'", key);
        size_t idx = (size_t)(k - keys);
        if (seen[idx])
            return ofm_error_set(err, origin, line, "duplicate key '%s' (first set on line %u)", key,
                                 seen[idx]);
        seen[idx] = line;
        if (set_at(c, key, val, origin, line, err))
            return -1;
    }
    (void)nkeys;
    return 0;
}

int ofm_config_load_file(const char *path, ofm_config *c, ofm_error *err)
{
    char *buf;
    size_t n;
    /* a directory, FIFO or device is refused here, never read as "empty" */
    if (ofm_file_read(path, "configuration file", MAX_FILE, 0, &buf, &n, err))
        return -1;
    int rc = ofm_config_parse(buf, n, path, c, err);
    free(buf);
    return rc;
}

int ofm_config_absolute_paths(ofm_config *c, const char *cwd, ofm_error *err)
{
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        ofm_cfg_type t = keys[i].type;
        char *v = (char *)c + keys[i].offset;
        /* OPENFM_EMULATE is a platform name unless it looks like a path;
         * OPENFM_BACKEND is a spec whose directory the daemon resolves */
        bool path = t == OFM_CFG_PATH || (t == OFM_CFG_STRING && strchr(v, '/') &&
                                          strcmp(keys[i].key, "OPENFM_BACKEND"));
        if (!path || !v[0] || v[0] == '/')
            continue;
        char abs[2 * OFM_CFG_STR_MAX + 8];
        int n = snprintf(abs, sizeof abs, "%s/%s", cwd, v);
        if (n < 0 || (size_t)n > OFM_CFG_STR_MAX)
            return ofm_error_set(err, "configuration", 0,
                                 "%s: relative path '%s' is longer than %d characters once made "
                                 "absolute from %.200s; give an absolute path",
                                 keys[i].key, v, OFM_CFG_STR_MAX, cwd);
        memcpy(v, abs, (size_t)n + 1);
    }
    return 0;
}

long ofm_config_log_max_bytes(const ofm_config *c)
{
    return c->log_max_size_bytes > 0 ? c->log_max_size_bytes : c->log_file_max_size_mb * 1024L * 1024L;
}
