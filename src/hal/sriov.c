/* Which PCI functions are a GPU's SR-IOV virtual functions. Backends that
 * know (the emulator's SR-IOV model) answer through their gpu_vfs
 * operation; otherwise the kernel's view is read: each VF of a PCI device
 * is a "virtfnN" symbolic link in the device's sysfs directory, pointing at
 * the VF's own device directory (named by its address). */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "openfm/hal.h"

static int parse_bdf(const char *s, ofm_hal_pci_fn *f)
{
    unsigned dom, bus, dev, fn;
    char tail;
    if (sscanf(s, "%4x:%2x:%2x.%1x%c", &dom, &bus, &dev, &fn, &tail) != 4 || dev > 31 || fn > 7)
        return -1;
    *f = (ofm_hal_pci_fn){dom, bus, dev, fn};
    return 0;
}

static int sysfs_vfs(const char *bdf, ofm_hal_pci_fn *out, size_t cap, size_t *n)
{
    *n = 0;
    for (unsigned k = 0; k < OFM_HAL_MAX_VFS; k++) {
        char link[PATH_MAX], target[PATH_MAX];
        snprintf(link, sizeof link, "/sys/bus/pci/devices/%s/virtfn%u", bdf, k);
        ssize_t len = readlink(link, target, sizeof target - 1);
        if (len < 0)
            break; /* VFs are numbered without gaps */
        target[len] = '\0';
        const char *base = strrchr(target, '/');
        ofm_hal_pci_fn f;
        if (parse_bdf(base ? base + 1 : target, &f) != 0)
            continue;
        if (*n < cap)
            out[*n] = f;
        (*n)++;
    }
    return OFM_HAL_OK;
}

int ofm_hal_gpu_vfs(ofm_hal *h, uint32_t gpu, ofm_hal_pci_fn *out, size_t cap, size_t *n)
{
    if (h->ops->gpu_vfs)
        return h->ops->gpu_vfs(h, gpu, out, cap, n);
    ofm_hal_gpu g[OFM_MAX_GPUS];
    size_t ng = 0;
    int rc = h->ops->list_gpus ? h->ops->list_gpus(h, g, OFM_MAX_GPUS, &ng) : OFM_HAL_ENOTSUP;
    if (rc != OFM_HAL_OK)
        return rc;
    for (size_t i = 0; i < ng && i < OFM_MAX_GPUS; i++)
        if (g[i].phys_id == gpu && g[i].pci_bdf[0])
            return sysfs_vfs(g[i].pci_bdf, out, cap, n);
    return OFM_HAL_ENODEV;
}
