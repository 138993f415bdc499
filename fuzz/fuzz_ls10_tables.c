/* libFuzzer: the LS10 table translation. The input is read twice: as a
 * routing plan for one switch (encode, then decode what a driver would read
 * back: must be the identity on valid entries), and as raw table entries
 * (decode must stay in bounds whatever the tables hold). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hal/nvswitch/ls10_tables.h"

static void plan_roundtrip(const uint8_t *data, size_t size)
{
    enum { REC = 10, MAXE = 256 };
    static ofm_route_entry e[MAXE], back[MAXE];
    static ls10_write w[MAXE];
    static nvsw_remap_entry remap[LS10_MAX_TARGET + 1];
    static nvsw_rid_idx_entry rid[LS10_MAX_TARGET + 1];
    static nvsw_rlan_idx_entry rlan[LS10_MAX_TARGET + 1];
    size_t n = 0;
    for (size_t off = 0; off + REC <= size && n < MAXE; off += REC) {
        ofm_route_entry x = {1, data[off] % 64u, data[off + 1], {{0, 0}}};
        memcpy(&x.egress.w[0], data + off + 2, 8);
        int dup = 0;
        for (size_t j = 0; j < n; j++)
            dup |= e[j].in_port == x.in_port && e[j].dst_gpu == x.dst_gpu;
        if (!dup)
            e[n++] = x;
    }
    if (ls10_encode_all(e, n, w, NULL) < 0)
        return;
    size_t nvalid = 0, nb = 0, bad = 0;
    for (size_t i = 0; i < n; i++)
        nvalid += w[i].valid;
    for (uint32_t port = 0; port < 64; port++) {
        size_t nr = 0, ni = 0, nl = 0;
        for (size_t i = 0; i < n; i++) /* sorted by (port, index): table order */
            if (w[i].port == port && w[i].valid) {
                remap[nr++] = w[i].remap;
                rid[ni++] = (nvsw_rid_idx_entry){w[i].index, w[i].rid};
                rlan[nl++] = (nvsw_rlan_idx_entry){w[i].index, w[i].rlan};
            }
        ls10_decode_port(1, port, remap, nr, rid, ni, rlan, nl, back, MAXE, &nb, &bad);
    }
    if (bad || nb != nvalid)
        abort();
    for (size_t i = 0; i < nb; i++) {
        int found = 0;
        for (size_t j = 0; j < n; j++)
            found |= e[j].in_port == back[i].in_port && e[j].dst_gpu == back[i].dst_gpu &&
                     ofm_portset_eq(e[j].egress, back[i].egress);
        if (!found)
            abort();
    }
}

static void raw_tables(const uint8_t *data, size_t size)
{
    static nvsw_remap_entry remap[8];
    static nvsw_rid_idx_entry rid[8];
    static nvsw_rlan_idx_entry rlan[8];
    size_t nr = size / 3 / sizeof remap[0];
    size_t ni = size / 3 / sizeof rid[0];
    size_t nl = ni;
    nr = nr > 8 ? 8 : nr;
    ni = ni > 8 ? 8 : ni;
    nl = nl > 8 ? 8 : nl;
    memcpy(remap, data, nr * sizeof remap[0]);
    memcpy(rid, data + size / 3, ni * sizeof rid[0]);
    memcpy(rlan, data + 2 * (size / 3), nl * sizeof rlan[0]);
    ofm_route_entry out[4];
    size_t n = 0, bad = 0;
    ls10_decode_port(1, 0, remap, nr, rid, ni, rlan, nl, out, 4, &n, &bad);
    if (n + bad > nr)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    plan_roundtrip(data, size);
    raw_tables(data, size);
    return 0;
}
