/* Loading platforms by name or path, built-in table, model lookups. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openfm/fileio.h"
#include "openfm/platform.h"

struct ofm_embedded_file {
    const char *name;
    const char *text;
    size_t len;
};
extern const struct ofm_embedded_file ofm_builtin_topologies[];
extern const size_t ofm_builtin_topologies_count;

/* Topology files are small; anything larger is not one of ours. */
#define MAX_TOPOLOGY_BYTES (1u << 20)

size_t ofm_platform_builtin_count(void) { return ofm_builtin_topologies_count; }

const char *ofm_platform_builtin_name(size_t i)
{
    return i < ofm_builtin_topologies_count ? ofm_builtin_topologies[i].name : NULL;
}

const char *ofm_platform_builtin_text(const char *name, size_t *len)
{
    for (size_t i = 0; name && i < ofm_builtin_topologies_count; i++)
        if (!strcmp(ofm_builtin_topologies[i].name, name)) {
            if (len)
                *len = ofm_builtin_topologies[i].len;
            return ofm_builtin_topologies[i].text;
        }
    return NULL;
}

int ofm_platform_load_file(const char *path, ofm_platform *out, ofm_error *err)
{
    char *buf;
    size_t n;
    if (ofm_file_read(path, "topology file", MAX_TOPOLOGY_BYTES, 0, &buf, &n, err))
        return -1;
    int rc = ofm_platform_parse(buf, n, path, out, err);
    free(buf);
    return rc;
}

int ofm_platform_load(const char *name_or_path, const char *search_dir, ofm_platform *out,
                      ofm_error *err)
{
    if (!name_or_path || !*name_or_path)
        return ofm_error_set(err, NULL, 0, "no platform name or topology file given");
    if (strchr(name_or_path, '/'))
        return ofm_platform_load_file(name_or_path, out, err);
    size_t len;
    const char *text = ofm_platform_builtin_text(name_or_path, &len);
    if (text)
        return ofm_platform_parse(text, len, name_or_path, out, err);
    if (search_dir) {
        char path[4096];
        int w = snprintf(path, sizeof path, "%s/%s.topo", search_dir, name_or_path);
        if (w > 0 && (size_t)w < sizeof path) {
            FILE *f = fopen(path, "rb");
            if (f) {
                fclose(f);
                return ofm_platform_load_file(path, out, err);
            }
        }
    }
    char names[512] = "";
    for (size_t i = 0; i < ofm_builtin_topologies_count; i++) {
        size_t l = strlen(names);
        snprintf(names + l, sizeof names - l, "%s%s", i ? ", " : "", ofm_builtin_topologies[i].name);
    }
    return ofm_error_set(err, NULL, 0,
                         "unknown platform '%s' (built-in: %s; or give a topology file path)",
                         name_or_path, names);
}

const ofm_gpu_desc *ofm_platform_gpu(const ofm_platform *p, uint32_t phys_id)
{
    for (size_t i = 0; i < p->ngpus; i++)
        if (p->gpus[i].phys_id == phys_id)
            return &p->gpus[i];
    return NULL;
}

const ofm_switch_desc *ofm_platform_switch(const ofm_platform *p, uint32_t id)
{
    for (size_t i = 0; i < p->nswitches; i++)
        if (p->switches[i].id == id)
            return &p->switches[i];
    return NULL;
}

const ofm_partition_desc *ofm_platform_partition(const ofm_platform *p, uint32_t id)
{
    for (size_t i = 0; i < p->npartitions; i++)
        if (p->partitions[i].id == id)
            return &p->partitions[i];
    return NULL;
}

bool ofm_rack_partition_ok(const ofm_platform *p, uint32_t id, const uint32_t *gpus, size_t n,
                           char *why, size_t whylen)
{
    if (id < OFM_RACK_PARTITION_ID_MIN || id > OFM_RACK_PARTITION_ID_MAX) {
        snprintf(why, whylen, "partition ID %u is outside %u-%u (rack-scale partition IDs)", id,
                 OFM_RACK_PARTITION_ID_MIN, OFM_RACK_PARTITION_ID_MAX);
        return false;
    }
    if (!n || !gpus) {
        snprintf(why, whylen, "a partition needs at least one GPU");
        return false;
    }
    if (n > p->ngpus) {
        snprintf(why, whylen, "%zu GPUs, but the domain has %zu", n, p->ngpus);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!ofm_platform_gpu(p, gpus[i])) {
            snprintf(why, whylen, "GPU %u is not in the domain", gpus[i]);
            return false;
        }
        for (size_t k = 0; k < i; k++)
            if (gpus[k] == gpus[i]) {
                snprintf(why, whylen, "GPU %u is listed twice", gpus[i]);
                return false;
            }
    }
    return true;
}

size_t ofm_platform_tray_gpus(const ofm_platform *p, uint32_t tray, uint32_t *out, size_t cap)
{
    size_t n = 0;
    if (!tray)
        return 0;
    /* slots are 1..k in the order the tray line lists them */
    for (uint32_t slot = 1; slot <= p->ngpus; slot++) {
        bool found = false;
        for (size_t i = 0; i < p->ngpus; i++)
            if (p->gpus[i].tray == tray && p->gpus[i].slot == slot) {
                if (n < cap)
                    out[n] = p->gpus[i].phys_id;
                n++;
                found = true;
            }
        if (!found)
            break;
    }
    return n;
}

size_t ofm_platform_tray_switches(const ofm_platform *p, uint32_t tray, uint32_t *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; tray && i < p->nswitches; i++)
        if (p->switches[i].tray == tray) {
            if (n < cap)
                out[n] = p->switches[i].id;
            n++;
        }
    return n;
}
