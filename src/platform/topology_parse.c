/* Topology file parser and validator (format: docs/topology-format.md).
 *
 * A pure function of the bytes: no I/O, no allocation, bounded loops. Every
 * rejection names the line and quotes the offending value, because operators
 * edit these files by hand and the first error must be enough to fix it. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openfm/partition_rules.h"
#include "openfm/platform.h"

#define MAX_LINE 512
#define MAX_FIELDS 16

typedef struct {
    const char *origin;
    unsigned line;
    ofm_error *err;
    ofm_platform *p;
    bool have_platform, have_ali;
    /* line numbers of first definitions, for duplicate messages */
    unsigned gpu_line[OFM_MAX_GPUS];
    unsigned sw_line[OFM_MAX_SWITCHES];
    unsigned part_line[OFM_MAX_PARTITIONS];
    unsigned tray_line[2][OFM_MAX_TRAYS]; /* [0] compute, [1] switch */
} parser;

#define FAIL(ps, ...) ofm_error_set((ps)->err, (ps)->origin, (ps)->line, __VA_ARGS__)

/* Parse a decimal uint32 in [min,max] from a NUL-terminated token. */
static int parse_u32(parser *ps, const char *what, const char *s, uint32_t min, uint32_t max,
                     uint32_t *out)
{
    if (!*s || !isdigit((unsigned char)*s))
        return FAIL(ps, "%s: '%s' is not a number", what, s);
    uint64_t v = 0;
    for (const char *c = s; *c; c++) {
        if (!isdigit((unsigned char)*c))
            return FAIL(ps, "%s: '%s' is not a number", what, s);
        v = v * 10 + (uint64_t)(*c - '0');
        if (v > UINT32_MAX)
            return FAIL(ps, "%s: '%s' is too large", what, s);
    }
    if (v < min || v > max)
        return FAIL(ps, "%s: %" PRIu64 " is out of range %" PRIu32 "-%" PRIu32, what, v, min, max);
    *out = (uint32_t)v;
    return 0;
}

/* key=value fields after the record's positional arguments. */
typedef struct {
    const char *key;
    char *val;
    bool seen;
} kv;

static int take_kvs(parser *ps, char **tok, int ntok, kv *kvs, size_t nkv)
{
    for (int i = 0; i < ntok; i++) {
        char *eq = strchr(tok[i], '=');
        if (!eq || eq == tok[i])
            return FAIL(ps, "expected key=value, got '%s'", tok[i]);
        *eq = '\0';
        size_t k;
        for (k = 0; k < nkv; k++)
            if (!strcmp(kvs[k].key, tok[i]))
                break;
        if (k == nkv)
            return FAIL(ps, "unknown key '%s'", tok[i]);
        if (kvs[k].seen)
            return FAIL(ps, "key '%s' given twice", tok[i]);
        kvs[k].seen = true;
        kvs[k].val = eq + 1;
    }
    for (size_t k = 0; k < nkv; k++)
        if (!kvs[k].seen)
            return FAIL(ps, "missing key '%s'", kvs[k].key);
    return 0;
}

static int gpu_idx(const ofm_platform *p, uint32_t id)
{
    for (size_t i = 0; i < p->ngpus; i++)
        if (p->gpus[i].phys_id == id)
            return (int)i;
    return -1;
}

static int sw_idx(const ofm_platform *p, uint32_t id)
{
    for (size_t i = 0; i < p->nswitches; i++)
        if (p->switches[i].id == id)
            return (int)i;
    return -1;
}

static int rec_platform(parser *ps, char **tok, int n)
{
    if (ps->have_platform)
        return FAIL(ps, "'platform' given twice");
    if (n != 1)
        return FAIL(ps, "'platform' takes exactly one name");
    size_t len = strlen(tok[0]);
    if (len >= OFM_NAME_LEN)
        return FAIL(ps, "platform name '%.40s...' is longer than %d characters", tok[0],
                    OFM_NAME_LEN - 1);
    for (const char *c = tok[0]; *c; c++)
        if (!isalnum((unsigned char)*c) && *c != '-' && *c != '_' && *c != '.')
            return FAIL(ps, "platform name '%s' may contain only letters, digits, '-', '_', '.'",
                        tok[0]);
    memcpy(ps->p->name, tok[0], len + 1);
    ps->have_platform = true;
    return 0;
}

static int rec_ali(parser *ps, char **tok, int n)
{
    if (ps->have_ali)
        return FAIL(ps, "'ali' given twice");
    if (n != 1 || (strcmp(tok[0], "yes") && strcmp(tok[0], "no")))
        return FAIL(ps, "'ali' takes 'yes' or 'no', got '%s'", n ? tok[0] : "");
    ps->p->ali = !strcmp(tok[0], "yes");
    ps->have_ali = true;
    return 0;
}

static int rec_gpu(parser *ps, char **tok, int n)
{
    ofm_platform *p = ps->p;
    if (n < 1)
        return FAIL(ps, "'gpu' needs an ID");
    if (p->ngpus >= OFM_MAX_GPUS)
        return FAIL(ps, "too many GPUs (at most %d)", OFM_MAX_GPUS);
    ofm_gpu_desc g = {0};
    if (parse_u32(ps, "GPU ID", tok[0], 0, 1023, &g.phys_id))
        return -1;
    int prev = gpu_idx(p, g.phys_id);
    if (prev >= 0)
        return FAIL(ps, "duplicate GPU ID %" PRIu32 " (first declared on line %u)", g.phys_id,
                    ps->gpu_line[prev]);
    kv kvs[] = {{"model", NULL, false}, {"nvlinks", NULL, false}, {"rate", NULL, false},
                {"board", NULL, false}};
    if (take_kvs(ps, tok + 1, n - 1, kvs, 4))
        return -1;
    if (!kvs[0].val[0] || strlen(kvs[0].val) >= OFM_MODEL_LEN)
        return FAIL(ps, "GPU model '%.40s' must be 1-%d characters", kvs[0].val, OFM_MODEL_LEN - 1);
    snprintf(g.model, sizeof g.model, "%s", kvs[0].val);
    if (parse_u32(ps, "nvlinks", kvs[1].val, 1, OFM_MAX_GPU_LINKS, &g.nvlinks) ||
        parse_u32(ps, "rate", kvs[2].val, 1, 1000000, &g.line_rate_mbps) ||
        parse_u32(ps, "board", kvs[3].val, 1, 16, &g.baseboard))
        return -1;
    ps->gpu_line[p->ngpus] = ps->line;
    p->gpus[p->ngpus++] = g;
    return 0;
}

static int rec_switch(parser *ps, char **tok, int n)
{
    ofm_platform *p = ps->p;
    if (n < 1)
        return FAIL(ps, "'switch' needs an ID");
    if (p->nswitches >= OFM_MAX_SWITCHES)
        return FAIL(ps, "too many switches (at most %d)", OFM_MAX_SWITCHES);
    if (p->nbridges)
        return FAIL(ps, "a switch on a platform with bridge links (NVLink bridges join GPUs of "
                        "systems without NVSwitch)");
    ofm_switch_desc s = {0};
    if (parse_u32(ps, "switch ID", tok[0], 0, 1023, &s.id))
        return -1;
    int prev = sw_idx(p, s.id);
    if (prev >= 0)
        return FAIL(ps, "duplicate switch ID %" PRIu32 " (first declared on line %u)", s.id,
                    ps->sw_line[prev]);
    kv kvs[] = {{"gen", NULL, false}, {"ports", NULL, false}, {"board", NULL, false}};
    if (take_kvs(ps, tok + 1, n - 1, kvs, 3))
        return -1;
    uint32_t gen;
    if (parse_u32(ps, "gen", kvs[0].val, 1, 4, &gen) ||
        parse_u32(ps, "ports", kvs[1].val, 1, OFM_MAX_SWITCH_PORTS, &s.nports) ||
        parse_u32(ps, "board", kvs[2].val, 1, 16, &s.baseboard))
        return -1;
    s.gen = (ofm_switch_gen)gen;
    ps->sw_line[p->nswitches] = ps->line;
    p->switches[p->nswitches++] = s;
    return 0;
}

/* Which record already occupies switch port (sw, port)? Returns a short
 * description in buf, or NULL when free. */
static const char *port_user(const ofm_platform *p, uint32_t sw, uint32_t port, char *buf,
                             size_t len)
{
    for (size_t i = 0; i < p->naccess; i++)
        if (p->access[i].sw == sw && p->access[i].sw_port == port) {
            snprintf(buf, len, "GPU %" PRIu32 " link %" PRIu32, p->access[i].gpu,
                     p->access[i].gpu_link);
            return buf;
        }
    for (size_t i = 0; i < p->ntrunks; i++) {
        const ofm_trunk_link *t = &p->trunks[i];
        if ((t->sw_a == sw && t->port_a == port) || (t->sw_b == sw && t->port_b == port)) {
            snprintf(buf, len, "trunk %" PRIu32 ":%" PRIu32 " %" PRIu32 ":%" PRIu32, t->sw_a,
                     t->port_a, t->sw_b, t->port_b);
            return buf;
        }
    }
    return NULL;
}

static int check_port(parser *ps, uint32_t sw, uint32_t port)
{
    int si = sw_idx(ps->p, sw);
    if (si < 0)
        return FAIL(ps, "switch %" PRIu32 " is not declared (declare it with a 'switch' line first)",
                    sw);
    if (port >= ps->p->switches[si].nports)
        return FAIL(ps, "switch %" PRIu32 " port %" PRIu32 " is beyond its %" PRIu32 " ports", sw,
                    port, ps->p->switches[si].nports);
    char who[64];
    if (port_user(ps->p, sw, port, who, sizeof who))
        return FAIL(ps, "switch %" PRIu32 " port %" PRIu32 " is already used by %s", sw, port, who);
    return 0;
}

/* Which record already uses GPU link (gpu, link)? */
static const char *gpu_link_user(const ofm_platform *p, uint32_t gpu, uint32_t link, char *buf,
                                 size_t len)
{
    for (size_t i = 0; i < p->naccess; i++)
        if (p->access[i].gpu == gpu && p->access[i].gpu_link == link) {
            snprintf(buf, len, "switch %" PRIu32 " port %" PRIu32, p->access[i].sw,
                     p->access[i].sw_port);
            return buf;
        }
    for (size_t i = 0; i < p->nbridges; i++) {
        const ofm_bridge_link *b = &p->bridges[i];
        if ((b->gpu_a == gpu && b->link_a == link) || (b->gpu_b == gpu && b->link_b == link)) {
            snprintf(buf, len, "bridge %" PRIu32 ":%" PRIu32 " %" PRIu32 ":%" PRIu32, b->gpu_a,
                     b->link_a, b->gpu_b, b->link_b);
            return buf;
        }
    }
    return NULL;
}

static int rec_access(parser *ps, char **tok, int n)
{
    ofm_platform *p = ps->p;
    if (p->naccess >= OFM_MAX_ACCESS_LINKS)
        return FAIL(ps, "too many access links (at most %d)", OFM_MAX_ACCESS_LINKS);
    kv kvs[] = {{"gpu", NULL, false}, {"link", NULL, false}, {"switch", NULL, false},
                {"port", NULL, false}};
    if (take_kvs(ps, tok, n, kvs, 4))
        return -1;
    ofm_access_link a;
    if (parse_u32(ps, "gpu", kvs[0].val, 0, UINT32_MAX, &a.gpu) ||
        parse_u32(ps, "link", kvs[1].val, 0, UINT32_MAX, &a.gpu_link) ||
        parse_u32(ps, "switch", kvs[2].val, 0, UINT32_MAX, &a.sw) ||
        parse_u32(ps, "port", kvs[3].val, 0, UINT32_MAX, &a.sw_port))
        return -1;
    int gi = gpu_idx(p, a.gpu);
    if (gi < 0)
        return FAIL(ps, "GPU %" PRIu32 " is not declared (declare it with a 'gpu' line first)",
                    a.gpu);
    if (a.gpu_link >= p->gpus[gi].nvlinks)
        return FAIL(ps, "GPU %" PRIu32 " link %" PRIu32 " is beyond its %" PRIu32 " NVLinks", a.gpu,
                    a.gpu_link, p->gpus[gi].nvlinks);
    char who[64];
    if (gpu_link_user(p, a.gpu, a.gpu_link, who, sizeof who))
        return FAIL(ps, "GPU %" PRIu32 " link %" PRIu32 " is already connected to %s", a.gpu,
                    a.gpu_link, who);
    if (check_port(ps, a.sw, a.sw_port))
        return -1;
    p->access[p->naccess++] = a;
    return 0;
}

/* GPU:LINK, the GPU declared, the link within its NVLinks and unused. */
static int parse_gpu_end(parser *ps, const char *s, uint32_t *gpu, uint32_t *link)
{
    char buf[48];
    const char *colon = strchr(s, ':');
    if (!colon || strlen(s) >= sizeof buf)
        return FAIL(ps, "bridge end '%.40s' is not GPU:LINK", s);
    memcpy(buf, s, (size_t)(colon - s));
    buf[colon - s] = '\0';
    if (parse_u32(ps, "bridge GPU", buf, 0, UINT32_MAX, gpu) ||
        parse_u32(ps, "bridge link", colon + 1, 0, UINT32_MAX, link))
        return -1;
    int gi = gpu_idx(ps->p, *gpu);
    if (gi < 0)
        return FAIL(ps, "GPU %" PRIu32 " is not declared (declare it with a 'gpu' line first)",
                    *gpu);
    if (*link >= ps->p->gpus[gi].nvlinks)
        return FAIL(ps, "GPU %" PRIu32 " link %" PRIu32 " is beyond its %" PRIu32 " NVLinks", *gpu,
                    *link, ps->p->gpus[gi].nvlinks);
    char who[64];
    if (gpu_link_user(ps->p, *gpu, *link, who, sizeof who))
        return FAIL(ps, "GPU %" PRIu32 " link %" PRIu32 " is already connected to %s", *gpu,
                    *link, who);
    return 0;
}

/* bridge G1:L1 G2:L2 -- one NVLink of a bridge between two GPUs */
static int rec_bridge(parser *ps, char **tok, int n)
{
    ofm_platform *p = ps->p;
    if (n != 2)
        return FAIL(ps, "'bridge' takes two ends: GPU:LINK GPU:LINK");
    if (p->nbridges >= OFM_MAX_BRIDGE_LINKS)
        return FAIL(ps, "too many bridge links (at most %d)", OFM_MAX_BRIDGE_LINKS);
    if (p->nswitches)
        return FAIL(ps, "bridge links on a platform with switches (NVLink bridges join GPUs of "
                        "systems without NVSwitch)");
    ofm_bridge_link b;
    if (parse_gpu_end(ps, tok[0], &b.gpu_a, &b.link_a))
        return -1;
    if (parse_gpu_end(ps, tok[1], &b.gpu_b, &b.link_b))
        return -1;
    if (b.gpu_a == b.gpu_b)
        return FAIL(ps, "bridge connects GPU %" PRIu32 " to itself", b.gpu_a);
    p->bridges[p->nbridges++] = b;
    return 0;
}

/* affinity gpu=ID cpus=LIST numa=N -- host CPUs and NUMA node near a GPU */
static int rec_affinity(parser *ps, char **tok, int n)
{
    ofm_platform *p = ps->p;
    kv kvs[] = {{"gpu", NULL, false}, {"cpus", NULL, false}, {"numa", NULL, false}};
    if (take_kvs(ps, tok, n, kvs, 3))
        return -1;
    uint32_t gpu, numa;
    if (parse_u32(ps, "gpu", kvs[0].val, 0, UINT32_MAX, &gpu) ||
        parse_u32(ps, "numa", kvs[2].val, 0, 1023, &numa))
        return -1;
    int gi = gpu_idx(p, gpu);
    if (gi < 0)
        return FAIL(ps, "GPU %" PRIu32 " is not declared (declare it with a 'gpu' line first)", gpu);
    if (p->gpus[gi].has_affinity)
        return FAIL(ps, "affinity of GPU %" PRIu32 " given twice", gpu);
    /* the kernel's CPU list form: N or N-M, comma-separated, ascending */
    const char *c = kvs[1].val;
    if (!*c || strlen(c) >= OFM_AFFINITY_LEN)
        return FAIL(ps, "cpus '%.40s' must be 1-%d characters", c, OFM_AFFINITY_LEN - 1);
    long last = -1;
    for (const char *q = c; *q;) {
        char *end;
        if (!isdigit((unsigned char)*q))
            return FAIL(ps, "cpus '%s' is not a CPU list like 0-31,64-95", c);
        long a = strtol(q, &end, 10), b = a;
        if (*end == '-') {
            if (!isdigit((unsigned char)end[1]))
                return FAIL(ps, "cpus '%s' is not a CPU list like 0-31,64-95", c);
            b = strtol(end + 1, &end, 10);
        }
        if (a > 65535 || b > 65535 || b < a || a <= last)
            return FAIL(ps, "cpus '%s': ranges must ascend, each N-M with N <= M < 65536", c);
        last = b;
        if (*end == ',' && end[1])
            end++;
        else if (*end)
            return FAIL(ps, "cpus '%s' is not a CPU list like 0-31,64-95", c);
        q = end;
    }
    snprintf(p->gpus[gi].cpus, sizeof p->gpus[gi].cpus, "%s", c);
    p->gpus[gi].numa_node = numa;
    p->gpus[gi].has_affinity = true;
    return 0;
}

static int parse_endpoint(parser *ps, const char *s, uint32_t *sw, uint32_t *port)
{
    char buf[48];
    const char *colon = strchr(s, ':');
    if (!colon || strlen(s) >= sizeof buf)
        return FAIL(ps, "trunk end '%.40s' must be SWITCH:PORT", s);
    size_t l = (size_t)(colon - s);
    memcpy(buf, s, l);
    buf[l] = '\0';
    if (parse_u32(ps, "trunk switch", buf, 0, UINT32_MAX, sw) ||
        parse_u32(ps, "trunk port", colon + 1, 0, UINT32_MAX, port))
        return -1;
    return 0;
}

static int rec_trunk(parser *ps, char **tok, int n)
{
    ofm_platform *p = ps->p;
    if (n != 2)
        return FAIL(ps, "'trunk' takes two ends: SWITCH:PORT SWITCH:PORT");
    if (p->ntrunks >= OFM_MAX_TRUNK_LINKS)
        return FAIL(ps, "too many trunk links (at most %d)", OFM_MAX_TRUNK_LINKS);
    ofm_trunk_link t;
    if (parse_endpoint(ps, tok[0], &t.sw_a, &t.port_a) ||
        parse_endpoint(ps, tok[1], &t.sw_b, &t.port_b))
        return -1;
    if (t.sw_a == t.sw_b)
        return FAIL(ps, "trunk connects switch %" PRIu32 " to itself", t.sw_a);
    if (check_port(ps, t.sw_a, t.port_a) || check_port(ps, t.sw_b, t.port_b))
        return -1;
    p->trunks[p->ntrunks++] = t;
    return 0;
}

/* "1-4,9,12-16" -> ascending unique IDs, each a declared GPU. */
static int parse_gpu_set(parser *ps, char *s, ofm_partition_desc *part)
{
    bool seen[1024] = {false};
    part->ngpus = 0;
    char *save = NULL;
    if (!*s)
        return FAIL(ps, "partition %" PRIu32 ": empty GPU list", part->id);
    for (char *item = strtok_r(s, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        uint32_t lo, hi;
        char *dash = strchr(item, '-');
        if (dash) {
            *dash = '\0';
            if (parse_u32(ps, "partition GPU", item, 0, 1023, &lo) ||
                parse_u32(ps, "partition GPU", dash + 1, 0, 1023, &hi))
                return -1;
            if (hi < lo)
                return FAIL(ps, "partition %" PRIu32 ": range %" PRIu32 "-%" PRIu32 " is reversed",
                            part->id, lo, hi);
        } else {
            if (parse_u32(ps, "partition GPU", item, 0, 1023, &lo))
                return -1;
            hi = lo;
        }
        for (uint32_t g = lo; g <= hi; g++) {
            if (gpu_idx(ps->p, g) < 0)
                return FAIL(ps, "partition %" PRIu32 " names GPU %" PRIu32 ", which is not declared",
                            part->id, g);
            if (seen[g])
                return FAIL(ps, "partition %" PRIu32 " lists GPU %" PRIu32 " twice", part->id, g);
            seen[g] = true;
            if (part->ngpus >= OFM_MAX_GPUS)
                return FAIL(ps, "partition %" PRIu32 ": too many GPUs", part->id);
            part->gpus[part->ngpus++] = g;
        }
    }
    /* keep ascending order regardless of how the list was written */
    part->ngpus = 0;
    for (uint32_t g = 0; g < 1024; g++)
        if (seen[g])
            part->gpus[part->ngpus++] = g;
    return 0;
}

static int rec_partition(parser *ps, char **tok, int n)
{
    ofm_platform *p = ps->p;
    if (n < 1)
        return FAIL(ps, "'partition' needs an ID");
    if (p->npartitions >= OFM_MAX_PARTITIONS)
        return FAIL(ps, "too many partitions (at most %d)", OFM_MAX_PARTITIONS);
    ofm_partition_desc part;
    memset(&part, 0, sizeof part);
    if (parse_u32(ps, "partition ID", tok[0], 0, OFM_RACK_PARTITION_ID_MAX, &part.id))
        return -1;
    for (size_t i = 0; i < p->npartitions; i++)
        if (p->partitions[i].id == part.id)
            return FAIL(ps, "duplicate partition ID %" PRIu32 " (first declared on line %u)",
                        part.id, ps->part_line[i]);
    kv kvs[] = {{"gpus", NULL, false}, {"nvlinks", NULL, false}};
    if (take_kvs(ps, tok + 1, n - 1, kvs, 2))
        return -1;
    if (parse_gpu_set(ps, kvs[0].val, &part) ||
        parse_u32(ps, "nvlinks", kvs[1].val, 0, OFM_MAX_GPU_LINKS, &part.nvlinks_per_gpu))
        return -1;
    ps->part_line[p->npartitions] = ps->line;
    p->partitions[p->npartitions++] = part;
    return 0;
}

/* "1-4,9" -> IDs (each 0-1023, unique), at most cap of them. */
static int parse_id_list(parser *ps, const char *what, char *s, uint32_t *out, size_t cap,
                         size_t *n)
{
    bool seen[1024] = {false};
    *n = 0;
    char *save = NULL;
    if (!*s)
        return FAIL(ps, "%s: empty list", what);
    for (char *item = strtok_r(s, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        uint32_t lo, hi;
        char *dash = strchr(item, '-');
        if (dash)
            *dash = '\0';
        if (parse_u32(ps, what, item, 0, 1023, &lo) ||
            (dash && parse_u32(ps, what, dash + 1, 0, 1023, &hi)))
            return -1;
        if (!dash)
            hi = lo;
        if (hi < lo)
            return FAIL(ps, "%s: range %" PRIu32 "-%" PRIu32 " is reversed", what, lo, hi);
        for (uint32_t v = lo; v <= hi; v++) {
            if (seen[v])
                return FAIL(ps, "%s: %" PRIu32 " listed twice", what, v);
            if (*n >= cap)
                return FAIL(ps, "%s: more than %zu members", what, cap);
            seen[v] = true;
            out[(*n)++] = v;
        }
    }
    return 0;
}

/* tray compute ID gpus=LIST | tray switch ID switches=LIST -- rack scale:
 * which GPUs share a compute tray (slots in list order) and which NVSwitch
 * chips a switch tray. Devices must be declared first, each in one tray. */
static int rec_tray(parser *ps, char **tok, int n)
{
    ofm_platform *p = ps->p;
    if (n != 3 || (strcmp(tok[0], "compute") && strcmp(tok[0], "switch")))
        return FAIL(ps, "'tray' takes: compute ID gpus=LIST, or switch ID switches=LIST");
    bool compute = !strcmp(tok[0], "compute");
    size_t *ntrays = compute ? &p->ncompute_trays : &p->nswitch_trays;
    uint32_t *ids = compute ? p->compute_trays : p->switch_trays;
    uint32_t id;
    if (parse_u32(ps, "tray ID", tok[1], 1, 1023, &id))
        return -1;
    for (size_t i = 0; i < *ntrays; i++)
        if (ids[i] == id)
            return FAIL(ps, "duplicate %s tray %" PRIu32 " (first declared on line %u)", tok[0], id,
                        ps->tray_line[!compute][i]);
    if (*ntrays >= OFM_MAX_TRAYS)
        return FAIL(ps, "too many %s trays (at most %d)", tok[0], OFM_MAX_TRAYS);
    kv kvs[] = {{compute ? "gpus" : "switches", NULL, false}};
    if (take_kvs(ps, tok + 2, 1, kvs, 1))
        return -1;
    uint32_t members[OFM_MAX_GPUS];
    size_t nm;
    if (parse_id_list(ps, compute ? "tray GPU" : "tray switch", kvs[0].val, members, OFM_MAX_GPUS,
                      &nm))
        return -1;
    for (size_t k = 0; k < nm; k++) {
        int i = compute ? gpu_idx(p, members[k]) : sw_idx(p, members[k]);
        if (i < 0)
            return FAIL(ps, "%s tray %" PRIu32 " names %s %" PRIu32 ", which is not declared",
                        tok[0], id, compute ? "GPU" : "switch", members[k]);
        uint32_t *tray = compute ? &p->gpus[i].tray : &p->switches[i].tray;
        if (*tray)
            return FAIL(ps, "%s %" PRIu32 " is already in %s tray %" PRIu32,
                        compute ? "GPU" : "switch", members[k], tok[0], *tray);
        *tray = id;
        if (compute)
            p->gpus[i].slot = (uint32_t)k + 1;
    }
    ps->tray_line[!compute][*ntrays] = ps->line;
    ids[(*ntrays)++] = id;
    return 0;
}

static int rec_description(parser *ps, char *rest)
{
    size_t len = strlen(rest);
    if (len < 2 || rest[0] != '"' || rest[len - 1] != '"')
        return FAIL(ps, "description must be a double-quoted string");
    if (len - 2 >= sizeof ps->p->description)
        return FAIL(ps, "description is longer than %zu characters", sizeof ps->p->description - 1);
    if (memchr(rest + 1, '"', len - 2))
        return FAIL(ps, "description may not contain '\"'");
    memcpy(ps->p->description, rest + 1, len - 2);
    ps->p->description[len - 2] = '\0';
    return 0;
}

static int parse_line(parser *ps, char *s)
{
    /* strip comment and surrounding blanks */
    char *hash = strchr(s, '#');
    if (hash && strncmp(s, "description", 11) != 0)
        *hash = '\0';
    while (*s == ' ' || *s == '\t')
        s++;
    size_t len = strlen(s);
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r'))
        s[--len] = '\0';
    if (!len)
        return 0;
    for (char *c = s; *c; c++)
        if ((unsigned char)*c < 0x20 && *c != '\t')
            return FAIL(ps, "control character 0x%02x in line", (unsigned char)*c);

    if (!strncmp(s, "description", 11) && (s[11] == ' ' || s[11] == '\t')) {
        char *rest = s + 11;
        while (*rest == ' ' || *rest == '\t')
            rest++;
        return rec_description(ps, rest);
    }

    char *tok[MAX_FIELDS + 1];
    int n = 0;
    char *save = NULL;
    for (char *t = strtok_r(s, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
        if (n == MAX_FIELDS + 1)
            return FAIL(ps, "too many fields (at most %d)", MAX_FIELDS);
        tok[n++] = t;
    }
    const char *kw = tok[0];
    if (strcmp(kw, "platform") && !ps->have_platform)
        return FAIL(ps, "'%s' before the 'platform' line (the file must start with 'platform NAME')",
                    kw);
    if (!strcmp(kw, "platform"))
        return rec_platform(ps, tok + 1, n - 1);
    if (!strcmp(kw, "ali"))
        return rec_ali(ps, tok + 1, n - 1);
    if (!strcmp(kw, "gpu"))
        return rec_gpu(ps, tok + 1, n - 1);
    if (!strcmp(kw, "switch"))
        return rec_switch(ps, tok + 1, n - 1);
    if (!strcmp(kw, "access"))
        return rec_access(ps, tok + 1, n - 1);
    if (!strcmp(kw, "trunk"))
        return rec_trunk(ps, tok + 1, n - 1);
    if (!strcmp(kw, "partition"))
        return rec_partition(ps, tok + 1, n - 1);
    if (!strcmp(kw, "bridge"))
        return rec_bridge(ps, tok + 1, n - 1);
    if (!strcmp(kw, "affinity"))
        return rec_affinity(ps, tok + 1, n - 1);
    if (!strcmp(kw, "tray"))
        return rec_tray(ps, tok + 1, n - 1);
    return FAIL(ps, "unknown keyword '%.40s'", kw);
}

/* A rack-scale model says where every device sits, and its partitions follow
 * the rack rule (IDs 1-32766, any set of GPUs) instead of FM §11.2.2's. */
static int finish_rack(parser *ps)
{
    ofm_platform *p = ps->p;
    if (p->nswitch_trays && !p->ncompute_trays)
        return FAIL(ps, "switch trays without compute trays: a rack-scale model declares both");
    if (!p->ncompute_trays) {
        /* HGX boards: NVIDIA's rules for partition definitions (FM §11.2.2),
         * the same check live definitions get */
        for (size_t i = 0; i < p->npartitions; i++) {
            char why[OFM_ERROR_MSG_LEN];
            if (ofm_partition_rules_check(p, &p->partitions[i], why, sizeof why)) {
                ps->line = ps->part_line[i];
                return FAIL(ps, "%s", why);
            }
        }
        return 0;
    }
    for (size_t i = 0; i < p->ngpus; i++)
        if (!p->gpus[i].tray) {
            ps->line = ps->gpu_line[i];
            return FAIL(ps, "GPU %" PRIu32 " is in no compute tray (a rack-scale model places "
                            "every GPU with a 'tray compute' line)",
                        p->gpus[i].phys_id);
        }
    for (size_t i = 0; i < p->nswitches; i++)
        if (!p->switches[i].tray) {
            ps->line = ps->sw_line[i];
            return FAIL(ps, "switch %" PRIu32 " is in no switch tray (a rack-scale model places "
                            "every switch with a 'tray switch' line)",
                        p->switches[i].id);
        }
    for (size_t i = 0; i < p->npartitions; i++) {
        char why[OFM_ERROR_MSG_LEN];
        if (ofm_partition_rules_check(p, &p->partitions[i], why, sizeof why)) {
            ps->line = ps->part_line[i];
            return FAIL(ps, "%s", why);
        }
    }
    return 0;
}

/* Whole-file checks that need every record. */
static int finish(parser *ps)
{
    ofm_platform *p = ps->p;
    ps->line = 0;
    if (!ps->have_platform)
        return FAIL(ps, "no 'platform' line: empty or truncated file");
    if (!ps->have_ali)
        return FAIL(ps, "missing 'ali yes|no' line");
    if (!p->ngpus)
        return FAIL(ps, "no GPUs declared");
    if (!p->nswitches && !p->nbridges)
        return FAIL(ps, "no switches declared (nor 'bridge' links: a platform needs NVLinks)");
    for (size_t i = 0; i < p->nswitches; i++)
        if ((p->switches[i].gen >= OFM_SWITCH_GEN3) != p->ali) {
            ps->line = ps->sw_line[i];
            return FAIL(ps, "switch %" PRIu32 " is gen%d but the platform says 'ali %s' (ALI is a "
                            "gen3 feature)",
                        p->switches[i].id, (int)p->switches[i].gen, p->ali ? "yes" : "no");
        }
    return finish_rack(ps);
}

int ofm_platform_parse(const char *buf, size_t len, const char *origin, ofm_platform *out,
                       ofm_error *err)
{
    parser ps;
    memset(&ps, 0, sizeof ps);
    ps.origin = origin ? origin : "<topology>";
    ps.err = err;
    ps.p = out;
    memset(out, 0, sizeof *out);
    if (!buf && len)
        return FAIL(&ps, "no data");

    size_t pos = 0;
    while (pos < len) {
        ps.line++;
        const char *nl = memchr(buf + pos, '\n', len - pos);
        size_t l = nl ? (size_t)(nl - (buf + pos)) : len - pos;
        if (memchr(buf + pos, '\0', l))
            return FAIL(&ps, "NUL byte in line");
        if (l >= MAX_LINE)
            return FAIL(&ps, "line longer than %d characters", MAX_LINE - 1);
        char line[MAX_LINE];
        memcpy(line, buf + pos, l);
        line[l] = '\0';
        if (!nl) {
            /* A last line without newline is fine when blank or a comment; a
             * record cut off there is most likely a truncated file. */
            char *c = line;
            while (*c == ' ' || *c == '\t' || *c == '\r')
                c++;
            if (*c && *c != '#')
                return FAIL(&ps, "last line has no newline: truncated file?");
        }
        if (parse_line(&ps, line))
            return -1;
        pos += l + (nl ? 1 : 0);
    }
    return finish(&ps);
}
