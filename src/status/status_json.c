/* ofm_status_doc <-> JSON. The encoder is the only place the status
 * document's keys are written; the decoder is its strict inverse, so a view
 * built from decoded JSON shows exactly what the daemon's structure held. */
#include "status/status.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

const char *ofm_status_mode_name(ofm_fabric_mode m)
{
    switch (m) {
    case OFM_FABRIC_MODE_BARE_METAL: return "bare metal";
    case OFM_FABRIC_MODE_SHARED: return "shared NVSwitch";
    case OFM_FABRIC_MODE_VGPU: return "vGPU";
    }
    return "?";
}

static const char *health_name(ofm_dev_health h)
{
    switch (h) {
    case OFM_DEV_OK: return "OK";
    case OFM_DEV_MISSING: return "MISSING";
    case OFM_DEV_FAILED: return "FAILED";
    }
    return "?";
}

static const char *event_kind_name(ofm_event_kind k)
{
    switch (k) {
    case OFM_EVT_SXID: return "SXid";
    case OFM_EVT_XID: return "Xid";
    case OFM_EVT_LINK_DOWN: return "NVLinkDown";
    case OFM_EVT_LINK_UP: return "NVLinkUp";
    case OFM_EVT_SWITCH_ERROR: return "NVSwitchError";
    }
    return "?";
}

#define ADD(o, k, v) json_object_object_add((o), (k), (v))
#define I64(v) json_object_new_int64((int64_t)(v))
#define STR(v) json_object_new_string(v)
#define BOOL(v) json_object_new_boolean(v)

static json_object *gpu_json(const ofm_gpu_status *g)
{
    json_object *j = json_object_new_object();
    ADD(j, "physical_id", I64(g->phys_id));
    ADD(j, "uuid", STR(g->uuid));
    ADD(j, "pci_bus_id", STR(g->pci_bdf));
    ADD(j, "present", BOOL(g->present));
    ADD(j, "health", STR(health_name(g->health)));
    ADD(j, "excluded", BOOL(g->excluded));
    ADD(j, "nvlink_p2p", BOOL(g->p2p));
    ADD(j, "fabric_state", STR(ofm_fabric_state_name(g->fabric_state)));
    ADD(j, "fabric_status", STR(ofm_fabric_status_text(g->fabric_state, g->fabric_status)));
    ADD(j, "fabric_status_code", I64(g->fabric_status));
    ADD(j, "links_usable", I64(g->links_usable));
    ADD(j, "links_active", I64(g->links_active));
    ADD(j, "links_expected", I64(g->links_expected));
    ADD(j, "mig_mode", STR(ofm_gpu_mig_name(g->mig)));
    ADD(j, "mig_pending", BOOL(g->mig_pending));
    ADD(j, "mig_instances", I64(g->mig_instances));
    ADD(j, "partition", g->partition >= 0 ? I64(g->partition) : NULL);
    ADD(j, "last_xid", I64(g->last_xid));
    ADD(j, "xid_count", I64(g->xids));
    ADD(j, "link_retrains", I64(g->link_retrains));
    return j;
}

static json_object *switch_json(const ofm_switch_status_entry *s)
{
    json_object *j = json_object_new_object();
    ADD(j, "id", I64(s->id));
    ADD(j, "uuid", STR(s->uuid));
    ADD(j, "pci_bus_id", STR(s->pci_bdf));
    ADD(j, "status", STR(ofm_switch_status_name(s->status)));
    ADD(j, "excluded", BOOL(s->excluded));
    ADD(j, "links_active", I64(s->links_active));
    ADD(j, "links_expected", I64(s->links_expected));
    ADD(j, "sxid_fatal", I64(s->sxid_fatal));
    ADD(j, "sxid_nonfatal", I64(s->sxid_nonfatal));
    return j;
}

static json_object *partition_json(const ofm_pm_entry *p)
{
    json_object *j = json_object_new_object();
    ADD(j, "id", I64(p->id));
    json_object *g = json_object_new_array();
    for (uint32_t k = 0; k < p->ngpus; k++)
        json_object_array_add(g, I64(p->gpus[k]));
    ADD(j, "gpus", g);
    ADD(j, "supported", BOOL(p->supported));
    ADD(j, "active", BOOL(p->active));
    json_object *v = json_object_new_array();
    for (unsigned k = 0; k < p->nvfs; k++) {
        char b[32];
        snprintf(b, sizeof b, "%04x:%02x:%02x.%x", p->vfs[k].domain & 0xffff, p->vfs[k].bus & 0xff,
                 p->vfs[k].device & 0x1f, p->vfs[k].function & 0x7);
        json_object_array_add(v, STR(b));
    }
    ADD(j, "vfs", v);
    return j;
}

static char *encode(const ofm_status_doc *doc, int flags);

char *ofm_status_to_json(const ofm_status_doc *doc)
{
    return encode(doc, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
}

char *ofm_status_to_json_compact(const ofm_status_doc *doc)
{
    return encode(doc, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

static char *encode(const ofm_status_doc *doc, int flags)
{
    const ofm_fabric_status *st = &doc->fabric;
    json_object *o = json_object_new_object();
    ADD(o, "schema_version", I64(OFM_STATUS_SCHEMA_VERSION));
    ADD(o, "generation", I64(st->generation));
    ADD(o, "updated_ns", I64(st->updated_ns));
    ADD(o, "pid", I64(doc->pid));
    ADD(o, "state", STR(ofm_system_state_name(st->state)));
    ADD(o, "ready", BOOL(ofm_fabric_status_ready(st)));
    ADD(o, "mode", STR(ofm_status_mode_name(st->mode)));
    ADD(o, "fabric_mode", I64(st->mode));
    ADD(o, "platform", STR(st->platform));
    ADD(o, "topology_source", STR(st->topology_source));
    ADD(o, "message", STR(st->message));
    ADD(o, "driver_version", STR(doc->driver));
    ADD(o, "backend", STR(doc->emulated ? "emulated" : "real"));
    ADD(o, "emu_dir", STR(doc->emulated ? doc->emu_dir : ""));
    /* optional keys: present only when they say something */
    if (doc->backend_spec[0])
        ADD(o, "backend_spec", STR(doc->backend_spec));
    if (doc->status_file_error[0])
        ADD(o, "status_file_error", STR(doc->status_file_error));
    ADD(o, "bandwidth_reduced", BOOL(st->bandwidth_reduced));
    if (st->domain_health != OFM_DOMAIN_NONE) {
        json_object *dh = json_object_new_object();
        ADD(dh, "state", STR(ofm_domain_health_name(st->domain_health)));
        ADD(dh, "reason", STR(st->domain_reason));
        ADD(o, "domain_health", dh);
    }
    ADD(o, "bringup_ns", I64(st->bringup_ns));
    ADD(o, "bringup_ms", json_object_new_double((double)st->bringup_ns / 1e6));
    json_object *links = json_object_new_object();
    ADD(links, "access_active", I64(st->access_active));
    ADD(links, "access_expected", I64(st->access_expected));
    ADD(links, "trunk_active", I64(st->trunk_active));
    ADD(links, "trunk_expected", I64(st->trunk_expected));
    ADD(links, "routes_programmed", I64(st->routes_programmed));
    ADD(o, "links", links);
    json_object *a = json_object_new_array();
    for (size_t i = 0; i < st->ngpus; i++)
        json_object_array_add(a, gpu_json(&st->gpus[i]));
    ADD(o, "gpus", a);
    a = json_object_new_array();
    for (size_t i = 0; i < st->nswitches; i++)
        json_object_array_add(a, switch_json(&st->switches[i]));
    ADD(o, "switches", a);
    a = json_object_new_array();
    size_t ne = ofm_fabric_status_error_count(st);
    for (size_t i = 0; i < ne; i++) {
        const ofm_fabric_error *e = ofm_fabric_status_error(st, i);
        json_object *j = json_object_new_object();
        ADD(j, "seq", I64(e->seq));
        ADD(j, "kind", STR(event_kind_name(e->kind)));
        ADD(j, "code", I64(e->code));
        ADD(j, "time_ns", I64(e->time_ns));
        ADD(j, "switch", I64(e->sw));
        ADD(j, "port", I64(e->port));
        ADD(j, "gpu", e->gpu == OFM_ERROR_NO_GPU ? NULL : I64(e->gpu)); /* null: on no GPU */
        ADD(j, "trunk", BOOL(e->trunk));
        ADD(j, "summary", STR(e->summary));
        json_object_array_add(a, j);
    }
    ADD(o, "errors_total", I64(st->errors_total));
    ADD(o, "last_errors", a);
    if (doc->have_partitions) {
        a = json_object_new_array();
        for (size_t i = 0; i < doc->npartitions; i++)
            json_object_array_add(a, partition_json(&doc->partitions[i]));
        ADD(o, "partitions", a);
    }
    const char *s = json_object_to_json_string_ext(o, flags);
    char *out = s ? strdup(s) : NULL;
    json_object_put(o);
    return out;
}

/* ------------------------------------------------------------------ decode */

typedef struct {
    ofm_error *err;
    const char *where; /* "gpus[3]" etc. */
    int bad;
} dec;

static int fail(dec *d, const char *key, const char *what)
{
    if (!d->bad)
        ofm_error_set(d->err, NULL, 0, "status document: %s%s%s: %s", d->where, *d->where ? "." : "",
                      key, what);
    d->bad = 1;
    return -1;
}

static json_object *need(dec *d, json_object *o, const char *key, json_type t)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v))
        return fail(d, key, "missing"), NULL;
    if (!json_object_is_type(v, t) && !(t == json_type_double && json_object_is_type(v, json_type_int)))
        return fail(d, key, "wrong type"), NULL;
    return v;
}

static uint64_t u64(dec *d, json_object *o, const char *key, uint64_t max)
{
    json_object *v = need(d, o, key, json_type_int);
    if (!v)
        return 0;
    if (json_object_get_int64(v) < 0 && max <= (uint64_t)INT64_MAX)
        return fail(d, key, "negative"), 0;
    uint64_t x = json_object_get_uint64(v);
    if (x > max)
        return fail(d, key, "out of range"), 0;
    return x;
}

static bool boolean(dec *d, json_object *o, const char *key)
{
    json_object *v = need(d, o, key, json_type_boolean);
    return v && json_object_get_boolean(v);
}

static void str(dec *d, json_object *o, const char *key, char *buf, size_t len)
{
    buf[0] = '\0';
    json_object *v = need(d, o, key, json_type_string);
    if (!v)
        return;
    if ((size_t)json_object_get_string_len(v) >= len) {
        fail(d, key, "too long");
        return;
    }
    memcpy(buf, json_object_get_string(v), (size_t)json_object_get_string_len(v) + 1);
}

/* Index of `s` in names[0..n) or -1 (and an error). */
static int name_of(dec *d, json_object *o, const char *key, const char *(*fn)(int), int n)
{
    char b[64];
    str(d, o, key, b, sizeof b);
    if (d->bad)
        return 0;
    for (int i = 0; i < n; i++)
        if (!strcmp(fn(i), b))
            return i;
    fail(d, key, "unknown value");
    return 0;
}

static const char *n_sys(int i) { return ofm_system_state_name((ofm_system_state)i); }
static const char *n_fab(int i) { return ofm_fabric_state_name((ofm_fabric_state)i); }
static const char *n_health(int i) { return health_name((ofm_dev_health)i); }
static const char *n_mig(int i) { return ofm_gpu_mig_name((ofm_gpu_mig)i); }
static const char *n_sw(int i) { return ofm_switch_status_name((ofm_switch_status)i); }
static const char *n_kind(int i) { return event_kind_name((ofm_event_kind)i); }
static const char *n_domain(int i) { return ofm_domain_health_name((ofm_domain_health)i); }

static json_object *array(dec *d, json_object *o, const char *key, size_t max, size_t *n)
{
    json_object *a = need(d, o, key, json_type_array);
    *n = a ? json_object_array_length(a) : 0;
    if (*n > max) {
        fail(d, key, "too many entries");
        *n = 0;
    }
    return a;
}

static void gpu_from(dec *d, json_object *j, ofm_gpu_status *g)
{
    g->phys_id = (uint32_t)u64(d, j, "physical_id", UINT32_MAX);
    str(d, j, "uuid", g->uuid, sizeof g->uuid);
    str(d, j, "pci_bus_id", g->pci_bdf, sizeof g->pci_bdf);
    g->present = boolean(d, j, "present");
    g->health = (ofm_dev_health)name_of(d, j, "health", n_health, 3);
    g->excluded = boolean(d, j, "excluded");
    g->p2p = boolean(d, j, "nvlink_p2p");
    g->fabric_state = (ofm_fabric_state)name_of(d, j, "fabric_state", n_fab, 4);
    char fs[64];
    str(d, j, "fabric_status", fs, sizeof fs);
    json_object *code = need(d, j, "fabric_status_code", json_type_int);
    if (code && (json_object_get_int64(code) < INT32_MIN || json_object_get_int64(code) > INT32_MAX))
        fail(d, "fabric_status_code", "out of range");
    else if (code)
        g->fabric_status = (int)json_object_get_int64(code);
    g->links_usable = (uint32_t)u64(d, j, "links_usable", OFM_MAX_GPU_LINKS);
    g->links_active = (uint32_t)u64(d, j, "links_active", OFM_MAX_GPU_LINKS);
    g->links_expected = (uint32_t)u64(d, j, "links_expected", OFM_MAX_GPU_LINKS);
    g->mig = (ofm_gpu_mig)name_of(d, j, "mig_mode", n_mig, 3);
    g->mig_pending = boolean(d, j, "mig_pending");
    g->mig_instances = (uint32_t)u64(d, j, "mig_instances", 64);
    json_object *p;
    if (!json_object_object_get_ex(j, "partition", &p))
        fail(d, "partition", "missing");
    else if (p == NULL)
        g->partition = -1;
    else
        g->partition = (int32_t)u64(d, j, "partition", INT32_MAX);
    g->last_xid = (uint32_t)u64(d, j, "last_xid", UINT32_MAX);
    g->xids = u64(d, j, "xid_count", INT64_MAX);
    g->link_retrains = (uint32_t)u64(d, j, "link_retrains", UINT32_MAX);
}

static void switch_from(dec *d, json_object *j, ofm_switch_status_entry *s)
{
    s->id = (uint32_t)u64(d, j, "id", UINT32_MAX);
    str(d, j, "uuid", s->uuid, sizeof s->uuid);
    str(d, j, "pci_bus_id", s->pci_bdf, sizeof s->pci_bdf);
    s->status = (ofm_switch_status)name_of(d, j, "status", n_sw, 4);
    s->excluded = boolean(d, j, "excluded");
    s->links_active = (uint32_t)u64(d, j, "links_active", OFM_MAX_SWITCH_PORTS);
    s->links_expected = (uint32_t)u64(d, j, "links_expected", OFM_MAX_SWITCH_PORTS);
    s->sxid_fatal = u64(d, j, "sxid_fatal", INT64_MAX);
    s->sxid_nonfatal = u64(d, j, "sxid_nonfatal", INT64_MAX);
}

static void partition_from(dec *d, json_object *j, ofm_pm_entry *p)
{
    p->id = (uint32_t)u64(d, j, "id", UINT32_MAX);
    p->supported = boolean(d, j, "supported");
    p->active = boolean(d, j, "active");
    size_t n;
    json_object *a = array(d, j, "gpus", OFM_MAX_GPUS, &n);
    p->ngpus = (uint32_t)n;
    for (size_t k = 0; a && k < n; k++) {
        json_object *x = json_object_array_get_idx(a, k);
        if (!json_object_is_type(x, json_type_int) || json_object_get_int64(x) < 0 ||
            json_object_get_int64(x) > UINT32_MAX) {
            fail(d, "gpus", "not a GPU physical ID");
            return;
        }
        p->gpus[k] = (uint32_t)json_object_get_int64(x);
    }
    a = array(d, j, "vfs", FM_MAX_NUM_GPUS, &n);
    p->nvfs = (unsigned)n;
    for (size_t k = 0; a && k < n; k++) {
        json_object *x = json_object_array_get_idx(a, k);
        unsigned dom, bus, dev, fn;
        char tail;
        if (!json_object_is_type(x, json_type_string) ||
            sscanf(json_object_get_string(x), "%4x:%2x:%2x.%1x%c", &dom, &bus, &dev, &fn, &tail) != 4) {
            fail(d, "vfs", "not a PCI address");
            return;
        }
        p->vfs[k] = (fmPciDevice_t){.domain = dom, .bus = bus, .device = dev, .function = fn};
    }
}

int ofm_status_from_json(const char *json, ofm_status_doc *doc, ofm_error *err)
{
    memset(doc, 0, sizeof *doc);
    ofm_fabric_status_init(&doc->fabric);
    dec d = {.err = err, .where = ""};
    json_object *o = json_tokener_parse(json);
    if (!o || !json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        return ofm_error_set(err, NULL, 0, "status document: not a JSON object");
    }
    ofm_fabric_status *st = &doc->fabric;
    doc->schema_version = (uint32_t)u64(&d, o, "schema_version", UINT32_MAX);
    if (!d.bad && doc->schema_version != OFM_STATUS_SCHEMA_VERSION) {
        json_object_put(o);
        return ofm_error_set(err, NULL, 0,
                             "status document: schema version %u, this fmctl reads version %d "
                             "(use fmctl from the same openfm release as the daemon)",
                             doc->schema_version, OFM_STATUS_SCHEMA_VERSION);
    }
    st->generation = u64(&d, o, "generation", INT64_MAX);
    st->updated_ns = u64(&d, o, "updated_ns", INT64_MAX);
    doc->pid = (int64_t)u64(&d, o, "pid", INT32_MAX);
    st->state = (ofm_system_state)name_of(&d, o, "state", n_sys, 5);
    uint64_t fm = u64(&d, o, "fabric_mode", 2);
    st->mode = (ofm_fabric_mode)fm;
    str(&d, o, "platform", st->platform, sizeof st->platform);
    str(&d, o, "topology_source", st->topology_source, sizeof st->topology_source);
    str(&d, o, "message", st->message, sizeof st->message);
    str(&d, o, "driver_version", doc->driver, sizeof doc->driver);
    char be[16];
    str(&d, o, "backend", be, sizeof be);
    doc->emulated = !strcmp(be, "emulated");
    str(&d, o, "emu_dir", doc->emu_dir, sizeof doc->emu_dir);
    if (json_object_object_get_ex(o, "backend_spec", NULL))
        str(&d, o, "backend_spec", doc->backend_spec, sizeof doc->backend_spec);
    if (json_object_object_get_ex(o, "status_file_error", NULL))
        str(&d, o, "status_file_error", doc->status_file_error, sizeof doc->status_file_error);
    st->bandwidth_reduced = boolean(&d, o, "bandwidth_reduced");
    st->domain_health = OFM_DOMAIN_NONE;
    st->domain_reason[0] = '\0';
    if (json_object_object_get_ex(o, "domain_health", NULL)) {
        json_object *dh = need(&d, o, "domain_health", json_type_object);
        if (dh) {
            d.where = "domain_health";
            st->domain_health = (ofm_domain_health)name_of(&d, dh, "state", n_domain, 4);
            if (!d.bad && st->domain_health == OFM_DOMAIN_NONE)
                fail(&d, "state", "not a domain health state");
            str(&d, dh, "reason", st->domain_reason, sizeof st->domain_reason);
            d.where = "";
        }
    }
    st->bringup_ns = u64(&d, o, "bringup_ns", INT64_MAX);
    json_object *l = need(&d, o, "links", json_type_object);
    if (l) {
        d.where = "links";
        st->access_active = (uint32_t)u64(&d, l, "access_active", OFM_MAX_ACCESS_LINKS);
        st->access_expected = (uint32_t)u64(&d, l, "access_expected", OFM_MAX_ACCESS_LINKS);
        st->trunk_active = (uint32_t)u64(&d, l, "trunk_active", OFM_MAX_TRUNK_LINKS);
        st->trunk_expected = (uint32_t)u64(&d, l, "trunk_expected", OFM_MAX_TRUNK_LINKS);
        st->routes_programmed = (size_t)u64(&d, l, "routes_programmed", INT64_MAX);
        d.where = "";
    }
    char where[48];
    size_t n;
    json_object *a = array(&d, o, "gpus", OFM_MAX_GPUS, &n);
    st->ngpus = n;
    for (size_t i = 0; a && i < n && !d.bad; i++) {
        snprintf(where, sizeof where, "gpus[%zu]", i);
        d.where = where;
        json_object *x = json_object_array_get_idx(a, i);
        if (!json_object_is_type(x, json_type_object))
            fail(&d, "", "not an object");
        else
            gpu_from(&d, x, &st->gpus[i]);
        d.where = "";
    }
    a = array(&d, o, "switches", OFM_MAX_SWITCHES, &n);
    st->nswitches = n;
    for (size_t i = 0; a && i < n && !d.bad; i++) {
        snprintf(where, sizeof where, "switches[%zu]", i);
        d.where = where;
        json_object *x = json_object_array_get_idx(a, i);
        if (!json_object_is_type(x, json_type_object))
            fail(&d, "", "not an object");
        else
            switch_from(&d, x, &st->switches[i]);
        d.where = "";
    }
    st->errors_total = u64(&d, o, "errors_total", INT64_MAX);
    a = array(&d, o, "last_errors", OFM_STATUS_MAX_ERRORS, &n);
    for (size_t i = 0; a && i < n && !d.bad; i++) {
        snprintf(where, sizeof where, "last_errors[%zu]", i);
        d.where = where;
        json_object *x = json_object_array_get_idx(a, i);
        ofm_fabric_error *e = &st->errors[i];
        if (!json_object_is_type(x, json_type_object)) {
            fail(&d, "", "not an object");
            break;
        }
        e->seq = u64(&d, x, "seq", INT64_MAX);
        e->kind = (ofm_event_kind)name_of(&d, x, "kind", n_kind, OFM_EVT_KIND_MAX + 1);
        e->code = (uint32_t)u64(&d, x, "code", UINT32_MAX);
        e->time_ns = u64(&d, x, "time_ns", INT64_MAX);
        e->sw = (uint32_t)u64(&d, x, "switch", UINT32_MAX);
        e->port = (uint32_t)u64(&d, x, "port", UINT32_MAX);
        json_object *gv = NULL;
        if (json_object_object_get_ex(x, "gpu", &gv) && !gv)
            e->gpu = OFM_ERROR_NO_GPU;
        else
            e->gpu = (uint32_t)u64(&d, x, "gpu", OFM_ERROR_NO_GPU - 1);
        e->trunk = boolean(&d, x, "trunk");
        str(&d, x, "summary", e->summary, sizeof e->summary);
        d.where = "";
    }
    /* the ring holds n entries oldest first; errors_total may count more */
    if (!d.bad && st->errors_total < n)
        fail(&d, "errors_total", "smaller than the number of last_errors");
    st->errors_head = n % OFM_STATUS_MAX_ERRORS;
    if (!d.bad && st->errors_total > n && n < OFM_STATUS_MAX_ERRORS)
        fail(&d, "errors_total", "larger than last_errors although the ring is not full");
    json_object *p;
    if (!d.bad && json_object_object_get_ex(o, "partitions", &p)) {
        doc->have_partitions = true;
        a = array(&d, o, "partitions", OFM_PM_MAX_PARTITIONS, &n);
        doc->npartitions = n;
        for (size_t i = 0; a && i < n && !d.bad; i++) {
            snprintf(where, sizeof where, "partitions[%zu]", i);
            d.where = where;
            json_object *x = json_object_array_get_idx(a, i);
            if (!json_object_is_type(x, json_type_object))
                fail(&d, "", "not an object");
            else
                partition_from(&d, x, &doc->partitions[i]);
            d.where = "";
        }
    }
    json_object_put(o);
    return d.bad ? -1 : 0;
}
