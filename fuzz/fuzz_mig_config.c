/* libFuzzer target: the MIG config (YAML) parser and the catalog parser.
 * The first byte picks which; neither may crash, leak or read out of bounds,
 * and every rejection must carry a message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mig/mig.h"
#include "mig/mig_ops.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    ofm_error err;
    if (data[0] & 1) {
        ofm_mig_catalog c;
        if (ofm_mig_catalog_parse((const char *)data + 1, size - 1, "fuzz.mig", &c, &err) &&
            !err.msg[0])
            abort();
        return 0;
    }
    ofm_mig_cfg *cfg = malloc(sizeof *cfg);
    if (!cfg)
        return 0;
    if (ofm_mig_cfg_parse((const char *)data + 1, size - 1, "fuzz.yaml", cfg, &err) && !err.msg[0])
        abort();
    free(cfg);
    return 0;
}
