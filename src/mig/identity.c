/* MIG device identities: openfm's own derivation of a stable MIG-… UUID from
 * the parent GPU's UUID and the GPU/compute instance IDs (docs/mig.md, "MIG
 * device identity"). Used where the backend cannot name its MIG devices (the
 * emulator): the same GPU, GI and CI always give the same UUID, across runs
 * and machines, and different ones give unrelated UUIDs. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "mig/mig.h"

static uint64_t fnv1a(const char *s, uint64_t h)
{
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

/* splitmix64 finaliser: one differing byte changes every output bit */
static uint64_t mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

int ofm_mig_device_uuid(const char *gpu_uuid, uint32_t gi, uint32_t ci, char *out, size_t len)
{
    if (!gpu_uuid || !*gpu_uuid || !out || len < OFM_MIG_UUID_LEN)
        return -1;
    /* the GPU UUID is taken as printed, case-folded so "GPU-ABC" = "gpu-abc" */
    char key[160];
    size_t k = 0;
    for (const char *p = gpu_uuid; *p && k + 1 < 100; p++)
        key[k++] = (char)((*p >= 'A' && *p <= 'Z') ? *p - 'A' + 'a' : *p);
    key[k] = '\0';
    snprintf(key + k, sizeof key - k, "/gi%" PRIu32 "/ci%" PRIu32, gi, ci);
    uint64_t hi = mix(fnv1a(key, 0xcbf29ce484222325ull ^ 0x6f70656e666d6967ull)); /* "openfmig" */
    uint64_t lo = mix(fnv1a(key, hi));
    /* RFC 9562 layout: version 8 (custom), variant 10 */
    hi = (hi & ~0xf000ull) | 0x8000ull;
    lo = (lo & 0x3fffffffffffffffull) | 0x8000000000000000ull;
    snprintf(out, len, "MIG-%08" PRIx32 "-%04" PRIx32 "-%04" PRIx32 "-%04" PRIx32 "-%012" PRIx64,
             (uint32_t)(hi >> 32), (uint32_t)(hi >> 16) & 0xffffu, (uint32_t)hi & 0xffffu,
             (uint32_t)(lo >> 48), (uint64_t)(lo & 0xffffffffffffull));
    return 0;
}
