/* The emulator's SR-IOV model (an assumption, documented in
 * docs/emulator.md): every GPU has SR-IOV enabled with EMU_VFS_PER_GPU
 * virtual functions, the first at routing-ID offset 4 from the GPU's
 * physical function and one apart after that (offset 4, stride 1), on the
 * GPU's bus. With the GPU at BB:00.0 the VFs are BB:00.4 ... BB:00.7,
 * BB:01.0 ... BB:02.3, the addresses lspci shows for such a device. */
#include "hal/emu/emu_int.h"

#include <stdio.h>

#define EMU_VF_OFFSET 4u
#define EMU_VF_STRIDE 1u

size_t emu_gpu_vfs(const ofm_platform *p, size_t gi, ofm_hal_pci_fn *out, size_t cap)
{
    char bdf[32];
    unsigned dom, bus, dev, fn;
    emu_gpu_bdf(p, gi, bdf, sizeof bdf);
    if (sscanf(bdf, "%x:%x:%x.%x", &dom, &bus, &dev, &fn) != 4)
        return 0;
    unsigned pf_rid = bus << 8 | dev << 3 | fn;
    for (size_t k = 0; k < EMU_VFS_PER_GPU && k < cap; k++) {
        unsigned rid = pf_rid + EMU_VF_OFFSET + (unsigned)k * EMU_VF_STRIDE;
        out[k] = (ofm_hal_pci_fn){dom, rid >> 8, (rid >> 3) & 0x1f, rid & 7};
    }
    return EMU_VFS_PER_GPU;
}
