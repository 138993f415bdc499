#include "openfm/crc32.h"

#include <pthread.h>

/* Slice-by-8: eight bytes per step through eight derived tables, several
 * times faster than a byte at a time. The emulator checksums its whole
 * state at every commit, so this is on the path of every partition change
 * on an emulated system. Same values as the bytewise algorithm. */
static uint32_t table[8][256];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void build(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            table[t][i] = (table[t - 1][i] >> 8) ^ table[0][table[t - 1][i] & 0xff];
}

uint32_t ofm_crc32(const void *data, size_t len, uint32_t crc)
{
    pthread_once(&once, build);
    const uint8_t *b = data;
    crc = ~crc;
    while (len >= 8) {
        /* little-endian assembly of the next eight bytes, whatever the host */
        uint32_t lo = crc ^ ((uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
                             (uint32_t)b[3] << 24);
        uint32_t hi = (uint32_t)b[4] | (uint32_t)b[5] << 8 | (uint32_t)b[6] << 16 |
                      (uint32_t)b[7] << 24;
        crc = table[7][lo & 0xff] ^ table[6][(lo >> 8) & 0xff] ^ table[5][(lo >> 16) & 0xff] ^
              table[4][lo >> 24] ^ table[3][hi & 0xff] ^ table[2][(hi >> 8) & 0xff] ^
              table[1][(hi >> 16) & 0xff] ^ table[0][hi >> 24];
        b += 8;
        len -= 8;
    }
    while (len--)
        crc = table[0][(crc ^ *b++) & 0xff] ^ (crc >> 8);
    return ~crc;
}
