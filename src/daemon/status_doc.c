#include "daemon/status_doc.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "openfm/fileio.h"

static const char *mode_name(ofm_fabric_mode m)
{
    switch (m) {
    case OFM_FABRIC_MODE_BARE_METAL: return "bare metal";
    case OFM_FABRIC_MODE_SHARED: return "shared NVSwitch";
    case OFM_FABRIC_MODE_VGPU: return "vGPU";
    }
    return "?";
}

char *ofm_status_json(const ofm_fabric_status *st, pid_t pid, const char *driver,
                      const char *backend_spec, const char *emu_dir,
                      const char *partitions_json, const char *status_file_error)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "pid", json_object_new_int64(pid));
    json_object_object_add(o, "state", json_object_new_string(ofm_system_state_name(st->state)));
    json_object_object_add(o, "ready", json_object_new_boolean(ofm_fabric_status_ready(st)));
    json_object_object_add(o, "mode", json_object_new_string(mode_name(st->mode)));
    json_object_object_add(o, "fabric_mode", json_object_new_int(st->mode));
    json_object_object_add(o, "platform", json_object_new_string(st->platform));
    json_object_object_add(o, "topology_source", json_object_new_string(st->topology_source));
    json_object_object_add(o, "message", json_object_new_string(st->message));
    if (status_file_error)
        json_object_object_add(o, "status_file_error", json_object_new_string(status_file_error));
    json_object_object_add(o, "driver_version", json_object_new_string(driver ? driver : ""));
    json_object_object_add(o, "backend", json_object_new_string(emu_dir ? "emulated" : "real"));
    if (emu_dir)
        json_object_object_add(o, "emu_dir", json_object_new_string(emu_dir));
    /* what `fmctl status` opens to read GPU state the daemon does not own */
    if (backend_spec && *backend_spec)
        json_object_object_add(o, "backend_spec", json_object_new_string(backend_spec));
    json_object_object_add(o, "bandwidth_reduced", json_object_new_boolean(st->bandwidth_reduced));
    json_object_object_add(o, "bringup_ms", json_object_new_double(st->bringup_ns / 1e6));
    json_object *links = json_object_new_object();
    json_object_object_add(links, "access_active", json_object_new_int64(st->access_active));
    json_object_object_add(links, "access_expected", json_object_new_int64(st->access_expected));
    json_object_object_add(links, "trunk_active", json_object_new_int64(st->trunk_active));
    json_object_object_add(links, "trunk_expected", json_object_new_int64(st->trunk_expected));
    json_object_object_add(links, "routes_programmed", json_object_new_int64((int64_t)st->routes_programmed));
    json_object_object_add(o, "links", links);
    json_object *ga = json_object_new_array();
    for (size_t i = 0; i < st->ngpus; i++) {
        const ofm_gpu_status *g = &st->gpus[i];
        json_object *j = json_object_new_object();
        json_object_object_add(j, "physical_id", json_object_new_int64(g->phys_id));
        json_object_object_add(j, "uuid", json_object_new_string(g->uuid));
        json_object_object_add(j, "pci_bus_id", json_object_new_string(g->pci_bdf));
        json_object_object_add(j, "present", json_object_new_boolean(g->present));
        json_object_object_add(j, "nvlink_p2p", json_object_new_boolean(g->p2p));
        json_object_object_add(j, "fabric_state", json_object_new_string(ofm_fabric_state_name(g->fabric_state)));
        json_object_object_add(j, "fabric_status", json_object_new_string(ofm_fabric_status_text(g->fabric_state, g->fabric_status)));
        json_object_object_add(j, "links_usable", json_object_new_int64(g->links_usable));
        json_object_object_add(j, "links_expected", json_object_new_int64(g->links_expected));
        json_object_array_add(ga, j);
    }
    json_object_object_add(o, "gpus", ga);
    json_object *sa = json_object_new_array();
    for (size_t i = 0; i < st->nswitches; i++) {
        const ofm_switch_status_entry *s = &st->switches[i];
        json_object *j = json_object_new_object();
        json_object_object_add(j, "id", json_object_new_int64(s->id));
        json_object_object_add(j, "uuid", json_object_new_string(s->uuid));
        json_object_object_add(j, "pci_bus_id", json_object_new_string(s->pci_bdf));
        json_object_object_add(j, "status", json_object_new_string(ofm_switch_status_name(s->status)));
        json_object_object_add(j, "links_active", json_object_new_int64(s->links_active));
        json_object_object_add(j, "links_expected", json_object_new_int64(s->links_expected));
        json_object_array_add(sa, j);
    }
    json_object_object_add(o, "switches", sa);
    json_object *ea = json_object_new_array();
    size_t ne = ofm_fabric_status_error_count(st);
    for (size_t i = 0; i < ne; i++) {
        const ofm_fabric_error *e = ofm_fabric_status_error(st, i);
        json_object *j = json_object_new_object();
        json_object_object_add(j, "kind", json_object_new_string(e->kind == OFM_EVT_XID ? "Xid" : "SXid"));
        json_object_object_add(j, "code", json_object_new_int64(e->code));
        json_object_object_add(j, "time_ns", json_object_new_int64((int64_t)e->time_ns));
        json_object_object_add(j, "summary", json_object_new_string(e->summary));
        json_object_array_add(ea, j);
    }
    json_object_object_add(o, "errors_total", json_object_new_int64((int64_t)st->errors_total));
    json_object_object_add(o, "last_errors", ea);
    if (partitions_json) {
        json_object *p = json_tokener_parse(partitions_json);
        if (p)
            json_object_object_add(o, "partitions", p);
    }
    char *out = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
    json_object_put(o);
    return out;
}

int ofm_status_write(const char *path, const char *json, ofm_error *err)
{
    size_t n = strlen(json);
    char *doc = malloc(n + 2);
    if (!doc)
        return ofm_error_set(err, path, 0, "out of memory");
    memcpy(doc, json, n);
    doc[n] = '\n';
    /* O_EXCL|O_NOFOLLOW temp + rename; no fsync: the document is a view that
     * is rewritten at every start, so losing it in a power cut costs nothing */
    int rc = ofm_file_write_atomic(path, doc, n + 1, 0644, OFM_FILE_NOSYNC, err);
    free(doc);
    return rc;
}
