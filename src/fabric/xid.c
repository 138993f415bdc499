/* GPU Xid meanings. The guide (FM §3.3.2, §9.6.1.2) names 45, 48, 74 and 79;
 * the rest are the commonly documented numbers from NVIDIA's public Xid
 * catalogue, kept to what an operator needs to decide on a reset or an
 * exclusion. */
#include "fabric/fabric.h"

#include <stddef.h>

static const ofm_xid_info TABLE[] = {
    {13, "graphics engine exception (often an application fault)", false},
    {31, "GPU memory page fault (often an application fault)", false},
    {43, "GPU stopped processing", false},
    {45, "preemptive cleanup: CUDA job aborted after a previous error", false},
    {48, "double-bit ECC error", true},
    {61, "internal micro-controller breakpoint/warning", false},
    {62, "internal micro-controller halt", false},
    {63, "ECC page retirement or row remapping recorded", false},
    {64, "ECC page retirement or row remapping failure", false},
    {74, "NVLink error (a fatal NVSwitch SXid propagates to the GPU as Xid 74)", false},
    {79, "GPU has fallen off the bus", true},
    {92, "high single-bit ECC error rate", false},
    {94, "contained ECC error", false},
    {95, "uncontained ECC error", true},
};

const ofm_xid_info *ofm_xid_lookup(uint32_t code)
{
    for (size_t i = 0; i < sizeof TABLE / sizeof TABLE[0]; i++)
        if (TABLE[i].code == code)
            return &TABLE[i];
    return NULL;
}

const char *ofm_xid_recovery(uint32_t code)
{
    const ofm_xid_info *i = ofm_xid_lookup(code);
    if (i && i->exclusion_candidate)
        return "reset the GPU (nvidia-smi -r); if the error recurs, the GPU is an exclusion "
               "candidate: add its UUID to NVreg_ExcludedGpus and reboot (FM §9.6.1)";
    return "reset the GPU (nvidia-smi -r) before running more CUDA work on it; reboot if the "
           "problem persists (FM §3.3.2)";
}

bool ofm_xid_fatal(uint32_t code)
{
    /* recorded or corrected conditions: the GPU keeps running its jobs */
    return code != 63 && code != 92 && code != 94;
}
