/* A set of switch ports: the egress set of a routing entry. Ports are
 * numbered from 0; fourth-generation NVSwitch chips have 72, more than one
 * 64-bit word holds, so the set is two words. Plain value type: compare with
 * ofm_portset_eq, never memcmp-free padding (there is none). */
#ifndef OPENFM_PORTSET_H
#define OPENFM_PORTSET_H

#include <stdbool.h>
#include <stdint.h>

#define OFM_PORTSET_BITS 128

typedef struct {
    uint64_t w[2]; /* bit n of w[n / 64] = port n */
} ofm_portset;

_Static_assert(sizeof(ofm_portset) == 16, "ofm_portset is two words");

static inline ofm_portset ofm_portset_none(void) { return (ofm_portset){{0, 0}}; }

static inline ofm_portset ofm_portset_of(uint32_t port)
{
    ofm_portset s = {{0, 0}};
    if (port < OFM_PORTSET_BITS)
        s.w[port / 64] = UINT64_C(1) << (port % 64);
    return s;
}

/* Ports outside the set's range are ignored: callers validate ports first. */
static inline void ofm_portset_add(ofm_portset *s, uint32_t port)
{
    if (port < OFM_PORTSET_BITS)
        s->w[port / 64] |= UINT64_C(1) << (port % 64);
}

static inline bool ofm_portset_has(ofm_portset s, uint32_t port)
{
    return port < OFM_PORTSET_BITS && (s.w[port / 64] >> (port % 64) & 1);
}

static inline bool ofm_portset_empty(ofm_portset s) { return !(s.w[0] | s.w[1]); }

static inline bool ofm_portset_eq(ofm_portset a, ofm_portset b)
{
    return a.w[0] == b.w[0] && a.w[1] == b.w[1];
}

static inline ofm_portset ofm_portset_or(ofm_portset a, ofm_portset b)
{
    return (ofm_portset){{a.w[0] | b.w[0], a.w[1] | b.w[1]}};
}

/* True when the set names a port >= nports. */
static inline bool ofm_portset_beyond(ofm_portset s, uint32_t nports)
{
    for (uint32_t k = 0; k < 2; k++) {
        uint32_t lo = k * 64;
        if (nports <= lo) {
            if (s.w[k])
                return true;
        } else if (nports - lo < 64 && (s.w[k] >> (nports - lo)))
            return true;
    }
    return false;
}

static inline uint32_t ofm_portset_count(ofm_portset s)
{
    return (uint32_t)(__builtin_popcountll(s.w[0]) + __builtin_popcountll(s.w[1]));
}

/* The lowest port in a non-empty set. */
static inline uint32_t ofm_portset_first(ofm_portset s)
{
    return s.w[0] ? (uint32_t)__builtin_ctzll(s.w[0]) : 64 + (uint32_t)__builtin_ctzll(s.w[1]);
}

#endif
