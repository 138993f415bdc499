/* Assembling the status document: the typed structure is built here from
 * the live fabric status and the partition manager, and serialised once, by
 * src/status. */
#include "daemon/live_status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "daemon/eventlog.h"
#include "partition/partition_mgr.h"
#include "status/status.h"

/* Which active partition holds each GPU (shared NVSwitch / vGPU modes). */
static bool assign_partitions(ofm_daemon *d)
{
    int32_t part[OFM_MAX_GPUS];
    for (size_t i = 0; i < OFM_MAX_GPUS; i++)
        part[i] = -1;
    if (d->pm) {
        /* the whole table: an active partition may lie beyond what the
         * status document lists */
        static ofm_pm_entry e[OFM_PM_MAX_PARTITIONS];
        size_t n = ofm_pm_entries(d->pm, e, OFM_PM_MAX_PARTITIONS);
        for (size_t i = 0; i < n && i < OFM_PM_MAX_PARTITIONS; i++)
            for (uint32_t k = 0; e[i].active && k < e[i].ngpus; k++)
                for (size_t g = 0; g < d->status.ngpus; g++)
                    if (d->status.gpus[g].phys_id == e[i].gpus[k])
                        part[g] = (int32_t)e[i].id;
    }
    bool changed = false;
    for (size_t g = 0; g < d->status.ngpus; g++)
        if (d->status.gpus[g].partition != part[g]) {
            d->status.gpus[g].partition = part[g];
            changed = true;
        }
    return changed;
}

static ofm_status_doc *build(ofm_daemon *d, bool with_file_error)
{
    if (!d->doc && !(d->doc = calloc(1, sizeof *d->doc)))
        return NULL;
    ofm_status_doc *doc = d->doc;
    if (assign_partitions(d))
        ofm_fabric_status_touch(&d->status);
    memset(doc, 0, sizeof *doc);
    doc->schema_version = OFM_STATUS_SCHEMA_VERSION;
    doc->pid = (int64_t)getpid();
    snprintf(doc->driver, sizeof doc->driver, "%s", d->driver);
    doc->emulated = d->emu_dir[0] != '\0';
    snprintf(doc->emu_dir, sizeof doc->emu_dir, "%s", d->emu_dir);
    snprintf(doc->backend_spec, sizeof doc->backend_spec, "%s", d->backend);
    if (with_file_error)
        snprintf(doc->status_file_error, sizeof doc->status_file_error, "%s", d->status_file_error);
    doc->fabric = d->status;
    if (d->pm) {
        doc->have_partitions = true;
        size_t n = ofm_pm_entries(d->pm, doc->partitions, OFM_PM_MAX_PARTITIONS);
        doc->npartitions = n < OFM_PM_MAX_PARTITIONS ? n : OFM_PM_MAX_PARTITIONS;
    }
    return doc;
}

ofm_status_doc *ofm_daemon_status_doc(ofm_daemon *d, bool with_file_error)
{
    return build(d, with_file_error);
}

char *ofm_daemon_status_json(ofm_daemon *d, bool with_file_error, bool compact)
{
    ofm_status_doc *doc = build(d, with_file_error);
    return !doc ? NULL : compact ? ofm_status_to_json_compact(doc) : ofm_status_to_json(doc);
}

bool ofm_daemon_refresh(ofm_daemon *d)
{
    uint64_t gen = d->status.generation;
    if (d->fctx && d->hal && d->status.ngpus)
        ofm_fabric_status_refresh(d->hal, d->fctx, &d->status);
    if (assign_partitions(d))
        ofm_fabric_status_touch(&d->status);
    if (d->status.generation == gen)
        return false;
    ofm_eventlog_track(d);
    ofm_daemon_publish_status(d);
    return true;
}

void ofm_daemon_partitions_changed(ofm_daemon *d)
{
    if (assign_partitions(d))
        ofm_fabric_status_touch(&d->status);
    ofm_eventlog_track(d);
    ofm_daemon_publish_status_soon(d); /* after the answer */
}
