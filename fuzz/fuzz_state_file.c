/* libFuzzer target for the resiliency state file decoder (a file anyone
 * able to write STATE_FILE_NAME's directory could plant before a
 * --restart): any bytes give a state or a located error, never a crash; a
 * state obeys the format's rules, and encoding it and decoding the result
 * gives the same state back. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "partition/state_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static ofm_pm_state a, b;
static char enc[OFM_PM_RECORD_MAX];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ofm_error e;
    if (ofm_pm_state_parse((const char *)data, size, "fuzz.state", &a, &e)) {
        if (strlen(e.msg) == 0)
            abort();
        return 0;
    }
    if (!a.platform[0] || a.ngpus > OFM_MAX_GPUS || a.npartitions > OFM_PM_MAX_PARTITIONS)
        abort();
    for (size_t i = 0; i < a.npartitions; i++)
        if ((a.active[i] && !a.supported[i]) || a.nvfs[i] > FM_MAX_NUM_GPUS)
            abort();
    size_t n = ofm_pm_state_encode_file(&a, enc, sizeof enc);
    if (!n)
        return 0; /* larger than a record may be: not a decoder fault */
    if (ofm_pm_state_parse(enc, n, "fuzz.reencoded", &b, &e))
        abort();
    if (strcmp(a.platform, b.platform) || a.ngpus != b.ngpus || a.npartitions != b.npartitions ||
        memcmp(a.gpu_id, b.gpu_id, sizeof a.gpu_id) || memcmp(a.gpu_uuid, b.gpu_uuid, sizeof a.gpu_uuid) ||
        memcmp(a.part_id, b.part_id, sizeof a.part_id) || memcmp(a.active, b.active, sizeof a.active) ||
        memcmp(a.supported, b.supported, sizeof a.supported) || memcmp(a.nvfs, b.nvfs, sizeof a.nvfs) ||
        memcmp(a.live, b.live, sizeof a.live))
        abort();
    for (size_t i = 0; i < a.npartitions; i++)
        if (memcmp(a.vfs[i], b.vfs[i], a.nvfs[i] * sizeof a.vfs[i][0]) ||
            (a.live[i] && (a.part_ngpus[i] != b.part_ngpus[i] || a.part_nvlinks[i] != b.part_nvlinks[i] ||
                           memcmp(a.part_gpus[i], b.part_gpus[i], a.part_ngpus[i] * sizeof a.part_gpus[i][0]))))
            abort();
    return 0;
}
