/* Internal: per-switch-port view of the model (which access link or trunk a
 * port carries), built once per call so routing and the reachability walk
 * avoid rescanning the link lists for every lookup. */
#ifndef OPENFM_FABRIC_PORTMAP_H
#define OPENFM_FABRIC_PORTMAP_H

#include "fabric/fabric.h"

typedef struct {
    int16_t access[OFM_MAX_SWITCHES][OFM_MAX_SWITCH_PORTS]; /* access index or -1 */
    int16_t trunk[OFM_MAX_SWITCHES][OFM_MAX_SWITCH_PORTS];  /* trunk index or -1 */
    int16_t gpu_of_access[OFM_MAX_ACCESS_LINKS];            /* GPU index or -1 */
    int16_t sw_of_access[OFM_MAX_ACCESS_LINKS];             /* switch index or -1 */
    int16_t trunk_sw_a[OFM_MAX_TRUNK_LINKS], trunk_sw_b[OFM_MAX_TRUNK_LINKS];
} ofm_portmap;

/* Heap-allocated; NULL on allocation failure. Links naming unknown devices or
 * out-of-range ports are left out (the loader rejects them anyway). */
ofm_portmap *ofm_portmap_build(const ofm_platform *p);

/* Usable under h (NULL: everything usable). */
bool ofm_portmap_access_usable(const ofm_portmap *m, const ofm_fabric_health *h, int a);
bool ofm_portmap_trunk_usable(const ofm_portmap *m, const ofm_fabric_health *h, int t);

#endif
