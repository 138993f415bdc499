/* Frame header codec: fixed 12 bytes, big-endian, so that hosts of any
 * endianness (hypervisor and service VM) agree. */
#include "wire/wire.h"

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }

static uint32_t get32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

void ofm_wire_header_encode(uint8_t out[OFM_WIRE_HEADER_LEN], uint16_t flags, uint32_t length)
{
    put32(out, OFM_WIRE_MAGIC);
    put16(out + 4, OFM_WIRE_VERSION);
    put16(out + 6, flags);
    put32(out + 8, length);
}

ofm_wire_status ofm_wire_header_decode(const uint8_t in[OFM_WIRE_HEADER_LEN], uint16_t want_flags,
                                       uint32_t max_len, ofm_wire_header *h)
{
    if (get32(in) != OFM_WIRE_MAGIC)
        return OFM_WIRE_BAD_MAGIC;
    h->version = get16(in + 4);
    h->flags = get16(in + 6);
    h->length = get32(in + 8);
    /* Version 1 is the only one so far; a later revision that stays
     * compatible would accept a range here. */
    if (h->version != OFM_WIRE_VERSION)
        return OFM_WIRE_BAD_VERSION;
    if (h->flags != want_flags)
        return OFM_WIRE_BAD_FLAGS;
    if (h->length > max_len)
        return OFM_WIRE_TOO_LARGE;
    return OFM_WIRE_OK;
}

const char *ofm_wire_status_str(ofm_wire_status st)
{
    switch (st) {
    case OFM_WIRE_OK: return "ok";
    case OFM_WIRE_BAD_MAGIC: return "bad magic (not an openfm SDK frame)";
    case OFM_WIRE_BAD_VERSION: return "unsupported protocol version";
    case OFM_WIRE_BAD_FLAGS: return "unexpected frame flags";
    case OFM_WIRE_TOO_LARGE: return "frame larger than the protocol limit";
    }
    return "unknown";
}
