/* The VF list of a vGPU activation, checked against the SR-IOV virtual
 * functions the HAL reports for each GPU. */
#include "partition/vf_check.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Domain and PCI routing ID (bus << 8 | devfn) of a VF as the caller wrote
 * it; -1 when no PCI function has that address. */
static int vf_key(const fmPciDevice_t *v, uint64_t *key)
{
    uint32_t devfn;
    if (v->bus > 0xff || v->domain > 0xffff)
        return -1;
    if (v->function <= 7 && v->device <= 31)
        devfn = v->device << 3 | v->function;
    else if (v->device == 0 && v->function <= 0xff)
        devfn = v->function; /* ARI: one device, 256 functions */
    else
        return -1;
    *key = (uint64_t)v->domain << 16 | v->bus << 8 | devfn;
    return 0;
}

static uint64_t fn_key(const ofm_hal_pci_fn *f)
{
    return (uint64_t)f->domain << 16 | f->bus << 8 | f->device << 3 | f->function;
}

static void name_vf(const fmPciDevice_t *v, char *out, size_t len)
{
    snprintf(out, len, "%04x:%02x:%02x.%x", v->domain, v->bus, v->device, v->function);
}

/* Every GPU's VFs, read once per check: SR-IOV may be enabled after the
 * fabric manager started (the hypervisor does it when it sets up vGPU). */
typedef struct {
    size_t n[OFM_MAX_GPUS];
    ofm_hal_pci_fn f[OFM_MAX_GPUS][OFM_HAL_MAX_VFS];
} vf_table;

/* Physical ID of the GPU (any GPU of the platform) owning the VF, or -1. */
static int64_t owner_of(const ofm_platform *p, const vf_table *t, uint64_t key)
{
    for (size_t g = 0; g < p->ngpus; g++)
        for (size_t k = 0; k < t->n[g] && k < OFM_HAL_MAX_VFS; k++)
            if (fn_key(&t->f[g][k]) == key)
                return p->gpus[g].phys_id;
    return -1;
}

static int check(const ofm_platform *p, const ofm_partition_desc *d, const vf_table *t,
                 const fmPciDevice_t *vfs, unsigned n, char *why, size_t len);

int ofm_vf_list_check(ofm_hal *h, const ofm_platform *p, const ofm_partition_desc *d,
                      const fmPciDevice_t *vfs, unsigned n, char *why, size_t len)
{
    if (n != d->ngpus) {
        snprintf(why, len,
                 "partition %" PRIu32 " has %" PRIu32 " GPU(s) but %u VF(s) were given; pass "
                 "exactly one VF of each of its GPUs",
                 d->id, d->ngpus, n);
        return -1;
    }
    vf_table *t = calloc(1, sizeof *t);
    if (!t) {
        snprintf(why, len, "out of memory");
        return -1;
    }
    for (size_t g = 0; g < p->ngpus; g++)
        if (ofm_hal_gpu_vfs(h, p->gpus[g].phys_id, t->f[g], OFM_HAL_MAX_VFS, &t->n[g]) != OFM_HAL_OK)
            t->n[g] = 0;
    int rc = check(p, d, t, vfs, n, why, len);
    free(t);
    return rc;
}

static int check(const ofm_platform *p, const ofm_partition_desc *d, const vf_table *t,
                 const fmPciDevice_t *vfs, unsigned n, char *why, size_t len)
{
    uint64_t keys[FM_MAX_NUM_GPUS];
    int64_t owners[FM_MAX_NUM_GPUS];
    for (unsigned i = 0; i < n && i < FM_MAX_NUM_GPUS; i++) {
        char name[48];
        name_vf(&vfs[i], name, sizeof name);
        if (vf_key(&vfs[i], &keys[i]) != 0) {
            snprintf(why, len, "VF %u (%s) is not a PCI function address", i + 1, name);
            return -1;
        }
        for (unsigned j = 0; j < i; j++)
            if (keys[j] == keys[i]) {
                snprintf(why, len, "VF %s is listed twice (positions %u and %u)", name, j + 1,
                         i + 1);
                return -1;
            }
        owners[i] = owner_of(p, t, keys[i]);
        bool in_partition = false;
        for (uint32_t g = 0; g < d->ngpus; g++)
            in_partition |= owners[i] == (int64_t)d->gpus[g];
        if (owners[i] < 0) {
            snprintf(why, len, "%s is not an SR-IOV virtual function of any GPU", name);
            return -1;
        }
        if (!in_partition) {
            snprintf(why, len,
                     "VF %s belongs to GPU %" PRId64 ", which is not in partition %" PRIu32, name,
                     owners[i], d->id);
            return -1;
        }
        for (unsigned j = 0; j < i; j++)
            if (owners[j] == owners[i]) {
                char other[48];
                name_vf(&vfs[j], other, sizeof other);
                snprintf(why, len,
                         "VFs %s and %s both belong to GPU %" PRId64 "; each GPU of partition "
                         "%" PRIu32 " needs exactly one",
                         other, name, owners[i], d->id);
                return -1;
            }
    }
    return 0;
}
