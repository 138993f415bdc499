/* The GPU list syntax of fmctl partition create and of the state file's
 * definitions ("1,5,9-12"): a pure function of the string, no platform
 * needed (see openfm/partition_rules.h). */
#include <stdio.h>

#include "openfm/partition_rules.h"

int ofm_partition_parse_gpu_list(const char *s, uint32_t *gpus, size_t cap, char *why, size_t whycap)
{
    size_t n = 0;
    const char *c = s;
    if (!*c) {
        snprintf(why, whycap, "empty GPU list");
        return -1;
    }
    while (*c) {
        unsigned long v[2];
        int nv = 0;
        for (;;) {
            if (*c < '0' || *c > '9') {
                snprintf(why, whycap, "'%.40s': expected a GPU physical ID at '%.20s'", s, c);
                return -1;
            }
            unsigned long x = 0;
            while (*c >= '0' && *c <= '9') {
                x = x * 10 + (unsigned long)(*c++ - '0');
                if (x > 1023) {
                    snprintf(why, whycap, "'%.40s': GPU physical IDs are at most 1023", s);
                    return -1;
                }
            }
            v[nv++] = x;
            if (*c == '-' && nv == 1) {
                c++;
                continue;
            }
            break;
        }
        if (*c && *c != ',') {
            snprintf(why, whycap, "'%.40s': unexpected '%c' (write IDs and ranges like 1,5,9-12)",
                     s, *c);
            return -1;
        }
        if (*c == ',' && !c[1]) {
            snprintf(why, whycap, "'%.40s': trailing ','", s);
            return -1;
        }
        if (*c)
            c++;
        unsigned long lo = v[0], hi = nv == 2 ? v[1] : v[0];
        if (hi < lo) {
            snprintf(why, whycap, "'%.40s': range %lu-%lu is reversed", s, lo, hi);
            return -1;
        }
        for (unsigned long g = lo; g <= hi; g++) {
            for (size_t k = 0; k < n; k++)
                if (gpus[k] == g) {
                    snprintf(why, whycap, "'%.40s': GPU %lu is listed twice", s, g);
                    return -1;
                }
            if (n >= cap) {
                snprintf(why, whycap, "'%.40s': more than %zu GPUs", s, cap);
                return -1;
            }
            gpus[n++] = (uint32_t)g;
        }
    }
    return (int)n;
}
