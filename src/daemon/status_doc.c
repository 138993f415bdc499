/* Assembling and writing the status document. The typed structure is built
 * here and serialised once, by src/status. */
#include "daemon/status_doc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "partition/partition_mgr.h"
#include "status/status.h"

/* Which active partition holds each GPU (shared NVSwitch / vGPU modes). */
static bool assign_partitions(ofm_daemon *d)
{
    int32_t part[OFM_MAX_GPUS];
    for (size_t i = 0; i < OFM_MAX_GPUS; i++)
        part[i] = -1;
    if (d->pm) {
        static ofm_pm_entry e[OFM_MAX_PARTITIONS];
        size_t n = ofm_pm_entries(d->pm, e, OFM_MAX_PARTITIONS);
        for (size_t i = 0; i < n && i < OFM_MAX_PARTITIONS; i++)
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

static ofm_status_doc *build(ofm_daemon *d)
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
    doc->fabric = d->status;
    if (d->pm) {
        doc->have_partitions = true;
        size_t n = ofm_pm_entries(d->pm, doc->partitions, OFM_MAX_PARTITIONS);
        doc->npartitions = n < OFM_MAX_PARTITIONS ? n : OFM_MAX_PARTITIONS;
    }
    return doc;
}

char *ofm_daemon_status_json(ofm_daemon *d)
{
    ofm_status_doc *doc = build(d);
    return doc ? ofm_status_to_json(doc) : NULL;
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
    ofm_daemon_publish_status(d);
    return true;
}

int ofm_status_write(const char *path, const char *json)
{
    char tmp[600];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return -1;
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    int bad = fputs(json, f) < 0 || fputc('\n', f) < 0;
    if (fclose(f) || bad || rename(tmp, path)) {
        unlink(tmp);
        return -1;
    }
    return 0;
}
