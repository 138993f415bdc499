/* Synthetic platform models for fabric unit tests: regular boards built in
 * code, so the logic is tested independently of the topology files. */
#ifndef OFM_TEST_SYNTH_H
#define OFM_TEST_SYNTH_H

#include "fabric/fabric.h"

typedef struct {
    const char *name;
    ofm_switch_gen gen;
    uint32_t boards, gpus_per_board, sw_per_board;
    uint32_t links_per_gpu_sw;  /* access links from each GPU to each switch of its board */
    uint32_t trunks_per_pair;   /* links between switch k of board 1 and switch k of board 2 */
    uint32_t nports;
} synth_cfg;

/* GPU phys ids 1..N (board-major), switch ids 1..M (board-major). */
void synth_build(const synth_cfg *c, ofm_platform *p);
/* An observation where every device is present and every model link active. */
void synth_observe(const ofm_platform *p, ofm_fabric_observed *o);

extern const synth_cfg SYNTH_H100, SYNTH_A100, SYNTH_A100_2B, SYNTH_HGX2;

#endif
