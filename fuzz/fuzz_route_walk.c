/* libFuzzer target: switch routing tables are read back from hardware (or an
 * emulator state file) and are untrusted. The reachability walk and the plan
 * diff must cope with any entries: unknown switches/GPUs/ports, loops across
 * trunks, duplicate keys. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../tests/fabric/synth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const synth_cfg *cfgs[] = {&SYNTH_H100, &SYNTH_A100, &SYNTH_A100_2B, &SYNTH_HGX2};
    if (size < 2)
        return 0;
    static ofm_platform p;
    static ofm_fabric_health h;
    static ofm_reach_matrix m;
    synth_build(cfgs[data[0] % 4], &p);
    ofm_fabric_health_all_ok(&p, &h);
    /* Second byte knocks out one link or device. */
    uint8_t k = data[1];
    if (k & 0x80)
        h.trunk_ok[k % (p.ntrunks ? p.ntrunks : 1)] = p.ntrunks == 0;
    else if (k & 0x40)
        h.switch_ok[k % p.nswitches] = false;
    else
        h.access_ok[k % p.naccess] = false;
    data += 2;
    size -= 2;

    size_t n = size / 8;
    ofm_route_entry *e = calloc(n ? n : 1, sizeof *e);
    if (!e)
        return 0;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *b = data + 8 * i;
        e[i].sw = b[0] % 20;          /* some ids unknown on purpose */
        e[i].in_port = b[1];          /* up to 255: out of range on purpose */
        e[i].dst_gpu = b[2] % 20;
        uint64_t eg = 0;
        memcpy(&eg, b + 3, 5);
        e[i].egress = ofm_portset_none();
        e[i].egress.w[b[2] & 1] = eg << (b[2] & 31);
    }
    ofm_reachability(&p, &h, e, n, &m);
    ofm_reachability(&p, NULL, e, n, &m);

    ofm_route_plan from = {.e = e, .n = n, .cap = n}, to, diff;
    ofm_route_plan_init(&to);
    ofm_route_plan_init(&diff);
    if (ofm_route_plan_build(&p, &h, NULL, 0, &to) == 0)
        ofm_route_plan_diff(&from, &to, &diff);
    ofm_route_plan_free(&to);
    ofm_route_plan_free(&diff);
    free(e);
    return 0;
}
