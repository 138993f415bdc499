/* CRC-32 (IEEE 802.3 polynomial, the zlib/PNG variant) for checksummed
 * records. Chainable: pass the previous result as `crc` (0 to start). */
#ifndef OPENFM_CRC32_H
#define OPENFM_CRC32_H

#include <stddef.h>
#include <stdint.h>

uint32_t ofm_crc32(const void *data, size_t len, uint32_t crc);

#endif
