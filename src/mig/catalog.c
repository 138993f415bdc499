/* MIG profile catalog: parser for share/mig/NAME.mig files and the built-in table. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mig/mig.h"

struct ofm_embedded_file { const char *name; const char *text; size_t len; };
extern const struct ofm_embedded_file ofm_builtin_mig[];
extern const size_t ofm_builtin_mig_count;

#define MAX_LINE 512
#define MAX_TOK 24

static int parse_u32(const char *s, uint32_t maxv, uint32_t *out)
{
    if (!*s || strlen(s) > 12)
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || *end || v > maxv || s[0] == '-' || s[0] == '+')
        return -1;
    *out = (uint32_t)v;
    return 0;
}

static int parse_gib(const char *s, double *out)
{
    /* digits with an optional 1-2 digit fraction: no locale, no exponents */
    uint32_t whole = 0, frac = 0, fd = 0;
    const char *p = s;
    if (!isdigit((unsigned char)*p))
        return -1;
    for (; isdigit((unsigned char)*p); p++) {
        if (whole > 100000)
            return -1;
        whole = whole * 10 + (uint32_t)(*p - '0');
    }
    if (*p == '.') {
        for (p++; isdigit((unsigned char)*p); p++) {
            if (++fd > 2)
                return -1;
            frac = frac * 10 + (uint32_t)(*p - '0');
        }
        if (fd == 0)
            return -1;
    }
    if (*p)
        return -1;
    *out = whole + frac / (fd == 2 ? 100.0 : fd == 1 ? 10.0 : 1.0);
    return 0;
}

static bool valid_name(const char *s, size_t cap)
{
    size_t n = strlen(s);
    if (n == 0 || n >= cap)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr(".+-_", *s))
            return false;
    return true;
}

static int parse_gip(char **t, size_t nt, ofm_mig_catalog *c, const char *origin, unsigned line,
                     ofm_error *err)
{
    if (nt != 15)
        return ofm_error_set(err, origin, line,
                             "gip needs 14 fields (id name max GiB SM dec enc ce jpeg ofa slices "
                             "compute me placements), got %zu", nt - 1);
    if (c->nprofiles >= OFM_MIG_MAX_PROFILES)
        return ofm_error_set(err, origin, line, "more than %d profiles", OFM_MIG_MAX_PROFILES);
    if (!c->mem_slices)
        return ofm_error_set(err, origin, line, "'grid' must come before the first 'gip'");
    ofm_mig_gi_profile *p = &c->profiles[c->nprofiles];
    memset(p, 0, sizeof *p);
    uint32_t me;
    if (parse_u32(t[1], 255, &p->id))
        return ofm_error_set(err, origin, line, "bad profile ID '%s' (0-255)", t[1]);
    if (!valid_name(t[2], sizeof p->name))
        return ofm_error_set(err, origin, line, "bad profile name '%s'", t[2]);
    strcpy(p->name, t[2]);
    if (parse_u32(t[3], OFM_MIG_MAX_SLICES, &p->max) || !p->max)
        return ofm_error_set(err, origin, line, "bad max count '%s' (1-%d)", t[3], OFM_MIG_MAX_SLICES);
    if (parse_gib(t[4], &p->mem_gib))
        return ofm_error_set(err, origin, line, "bad memory '%s' (GiB like 19.50)", t[4]);
    uint32_t *eng[] = {&p->sms, &p->dec, &p->enc, &p->ce, &p->jpeg, &p->ofa};
    for (size_t i = 0; i < 6; i++)
        if (parse_u32(t[5 + i], 100000, eng[i]))
            return ofm_error_set(err, origin, line, "bad count '%s'", t[5 + i]);
    if (parse_u32(t[11], c->mem_slices, &p->slices) || !p->slices)
        return ofm_error_set(err, origin, line, "bad memory slice count '%s' (1-%u)", t[11],
                             c->mem_slices);
    if (parse_u32(t[12], c->compute_slices, &p->compute) || !p->compute)
        return ofm_error_set(err, origin, line, "bad compute slice count '%s' (1-%u)", t[12],
                             c->compute_slices);
    if (parse_u32(t[13], 1, &me))
        return ofm_error_set(err, origin, line, "bad media flag '%s' (0 or 1)", t[13]);
    p->media = me;
    char buf[MAX_LINE];
    snprintf(buf, sizeof buf, "%s", t[14]);
    char *save = NULL;
    for (char *s = strtok_r(buf, ",", &save); s; s = strtok_r(NULL, ",", &save)) {
        uint32_t st;
        if (p->nplacements >= OFM_MIG_MAX_PLACEMENTS)
            return ofm_error_set(err, origin, line, "too many placements");
        if (parse_u32(s, c->mem_slices - 1, &st) || st + p->slices > c->mem_slices)
            return ofm_error_set(err, origin, line,
                                 "placement '%s' does not fit %u slices in a grid of %u", s,
                                 p->slices, c->mem_slices);
        if (p->nplacements && st <= p->placements[p->nplacements - 1])
            return ofm_error_set(err, origin, line, "placements must ascend ('%s')", s);
        p->placements[p->nplacements++] = st;
    }
    if (!p->nplacements)
        return ofm_error_set(err, origin, line, "no placements");
    for (size_t i = 0; i < c->nprofiles; i++)
        if (c->profiles[i].id == p->id || !strcmp(c->profiles[i].name, p->name))
            return ofm_error_set(err, origin, line, "duplicate profile %u/%s", p->id, p->name);
    c->nprofiles++;
    return 0;
}

int ofm_mig_catalog_parse(const char *buf, size_t len, const char *origin, ofm_mig_catalog *c,
                          ofm_error *err)
{
    memset(c, 0, sizeof *c);
    size_t pos = 0;
    unsigned line = 0;
    while (pos < len) {
        line++;
        size_t end = pos;
        while (end < len && buf[end] != '\n')
            end++;
        size_t n = end - pos;
        if (n >= MAX_LINE)
            return ofm_error_set(err, origin, line, "line longer than %d bytes", MAX_LINE - 1);
        char l[MAX_LINE];
        memcpy(l, buf + pos, n);
        l[n] = 0;
        pos = end + 1;
        if (memchr(l, 0, n))
            return ofm_error_set(err, origin, line, "NUL byte");
        char *hash = strchr(l, '#');
        if (hash)
            *hash = 0;
        char *t[MAX_TOK];
        size_t nt = 0;
        char *save = NULL;
        for (char *s = strtok_r(l, " \t\r", &save); s; s = strtok_r(NULL, " \t\r", &save)) {
            if (nt == MAX_TOK)
                return ofm_error_set(err, origin, line, "too many fields");
            t[nt++] = s;
        }
        if (!nt)
            continue;
        if (!strcmp(t[0], "name") && nt == 2 && valid_name(t[1], sizeof c->name)) {
            strcpy(c->name, t[1]);
        } else if (!strcmp(t[0], "models") && nt >= 2) {
            for (size_t i = 1; i < nt; i++) {
                if (c->nmodels >= OFM_MIG_MAX_MODELS || !valid_name(t[i], sizeof c->models[0]))
                    return ofm_error_set(err, origin, line, "bad or too many models ('%s')", t[i]);
                strcpy(c->models[c->nmodels++], t[i]);
            }
        } else if (!strcmp(t[0], "pci") && nt == 2) {
            if (strncmp(t[1], "0x", 2) || strlen(t[1]) != 10 || parse_u32(t[1], UINT32_MAX, &c->pci_id))
                return ofm_error_set(err, origin, line, "bad PCI ID '%s' (0xDDDDVVVV)", t[1]);
        } else if (!strcmp(t[0], "arch") && nt == 2) {
            if (!strcmp(t[1], "ampere"))
                c->arch = OFM_MIG_AMPERE;
            else if (!strcmp(t[1], "hopper"))
                c->arch = OFM_MIG_HOPPER;
            else if (!strcmp(t[1], "blackwell"))
                c->arch = OFM_MIG_BLACKWELL;
            else
                return ofm_error_set(err, origin, line, "unknown arch '%s' (ampere, hopper, blackwell)", t[1]);
        } else if (!strcmp(t[0], "grid") && nt == 3) {
            if (parse_u32(t[1], OFM_MIG_MAX_SLICES, &c->mem_slices) || !c->mem_slices ||
                parse_u32(t[2], OFM_MIG_MAX_SLICES, &c->compute_slices) || !c->compute_slices)
                return ofm_error_set(err, origin, line, "bad grid '%s %s' (1-%d each)", t[1], t[2],
                                     OFM_MIG_MAX_SLICES);
        } else if (!strcmp(t[0], "gip")) {
            if (parse_gip(t, nt, c, origin, line, err))
                return -1;
        } else {
            return ofm_error_set(err, origin, line, "unknown or malformed directive '%s'", t[0]);
        }
    }
    if (!c->name[0] || !c->nmodels || !c->arch || !c->mem_slices || !c->nprofiles)
        return ofm_error_set(err, origin, 0, "incomplete catalog: needs name, models, arch, grid "
                                             "and at least one gip");
    return 0;
}

static ofm_mig_catalog g_cat[16];
static size_t g_ncat;
static bool g_loaded;

static void load_builtin(void)
{
    if (g_loaded)
        return;
    g_loaded = true;
    for (size_t i = 0; i < ofm_builtin_mig_count && g_ncat < sizeof g_cat / sizeof g_cat[0]; i++) {
        ofm_error err;
        /* The build embeds only files the tests parse, so a failure here is a
         * packaging bug; skip the entry rather than abort a running tool. */
        if (ofm_mig_catalog_parse(ofm_builtin_mig[i].text, ofm_builtin_mig[i].len,
                                  ofm_builtin_mig[i].name, &g_cat[g_ncat], &err) == 0)
            g_ncat++;
    }
}

size_t ofm_mig_catalog_count(void)
{
    load_builtin();
    return g_ncat;
}

const ofm_mig_catalog *ofm_mig_catalog_at(size_t i)
{
    load_builtin();
    return i < g_ncat ? &g_cat[i] : NULL;
}

const ofm_mig_catalog *ofm_mig_catalog_for_model(const char *model)
{
    load_builtin();
    for (size_t i = 0; model && i < g_ncat; i++)
        for (size_t m = 0; m < g_cat[i].nmodels; m++)
            if (!strcasecmp(g_cat[i].models[m], model))
                return &g_cat[i];
    return NULL;
}

const ofm_mig_catalog *ofm_mig_catalog_by_name(const char *name)
{
    load_builtin();
    for (size_t i = 0; name && i < g_ncat; i++)
        if (!strcasecmp(g_cat[i].name, name))
            return &g_cat[i];
    return ofm_mig_catalog_for_model(name);
}

const ofm_mig_gi_profile *ofm_mig_profile_by_id(const ofm_mig_catalog *c, uint32_t id)
{
    for (size_t i = 0; i < c->nprofiles; i++)
        if (c->profiles[i].id == id)
            return &c->profiles[i];
    return NULL;
}

const ofm_mig_gi_profile *ofm_mig_profile_lookup(const ofm_mig_catalog *c, const char *s)
{
    for (size_t i = 0; i < c->nprofiles; i++)
        if (!strcasecmp(c->profiles[i].name, s))
            return &c->profiles[i];
    /* nvidia-smi accepts "MIG 3g.40gb" as printed in its own tables */
    if (!strncasecmp(s, "MIG ", 4))
        return ofm_mig_profile_lookup(c, s + 4);
    uint32_t id;
    if (strlen(s) <= 3 && isdigit((unsigned char)s[0]) && parse_u32(s, 255, &id) == 0)
        return ofm_mig_profile_by_id(c, id);
    return NULL;
}

const char *ofm_mig_arch_name(ofm_mig_arch a)
{
    switch (a) {
    case OFM_MIG_AMPERE: return "Ampere";
    case OFM_MIG_HOPPER: return "Hopper";
    case OFM_MIG_BLACKWELL: return "Blackwell";
    }
    return "unknown";
}

size_t ofm_mig_ci_profiles(const ofm_mig_gi_profile *gip, ofm_mig_ci_profile *out, size_t cap)
{
    /* nvidia-smi's CI profile IDs by compute-slice count */
    static const struct { uint32_t size, id; } ids[] = {{1, 0}, {2, 1}, {3, 2}, {4, 3}, {6, 6}, {7, 4}, {8, 5}};
    size_t n = 0;
    for (size_t i = 0; i < sizeof ids / sizeof ids[0] && n < cap; i++) {
        uint32_t sz = ids[i].size;
        if (sz > gip->compute)
            break;
        /* a GI offers 1c..4c fractions and its full size; 6c exists only inside 7g/8g */
        if (sz != gip->compute && sz > 4)
            continue;
        if (sz == 3 && gip->compute == 4)
            continue;
        ofm_mig_ci_profile *c = &out[n++];
        memset(c, 0, sizeof *c);
        c->id = ids[i].id;
        c->size = sz;
        c->max = gip->compute / sz;
        c->sms = gip->sms / gip->compute * sz;
        c->is_default = sz == gip->compute;
        if (c->is_default)
            snprintf(c->name, sizeof c->name, "%s", gip->name);
        else
            snprintf(c->name, sizeof c->name, "%uc.%s", sz, gip->name);
    }
    return n;
}
