#include "fabric/portmap.h"

#include <stdlib.h>
#include <string.h>

ofm_portmap *ofm_portmap_build(const ofm_platform *p)
{
    ofm_portmap *m = malloc(sizeof *m);
    if (!m)
        return NULL;
    memset(m->access, 0xff, sizeof m->access);
    memset(m->trunk, 0xff, sizeof m->trunk);
    memset(m->gpu_of_access, 0xff, sizeof m->gpu_of_access);
    memset(m->sw_of_access, 0xff, sizeof m->sw_of_access);
    memset(m->trunk_sw_a, 0xff, sizeof m->trunk_sw_a);
    memset(m->trunk_sw_b, 0xff, sizeof m->trunk_sw_b);
    for (size_t i = 0; i < p->naccess && i < OFM_MAX_ACCESS_LINKS; i++) {
        const ofm_access_link *a = &p->access[i];
        int si = ofm_fabric_switch_index(p, a->sw);
        int gi = ofm_fabric_gpu_index(p, a->gpu);
        if (si < 0 || gi < 0 || a->sw_port >= OFM_MAX_SWITCH_PORTS)
            continue;
        m->access[si][a->sw_port] = (int16_t)i;
        m->gpu_of_access[i] = (int16_t)gi;
        m->sw_of_access[i] = (int16_t)si;
    }
    for (size_t i = 0; i < p->ntrunks && i < OFM_MAX_TRUNK_LINKS; i++) {
        const ofm_trunk_link *t = &p->trunks[i];
        int sa = ofm_fabric_switch_index(p, t->sw_a);
        int sb = ofm_fabric_switch_index(p, t->sw_b);
        if (sa < 0 || sb < 0 || t->port_a >= OFM_MAX_SWITCH_PORTS ||
            t->port_b >= OFM_MAX_SWITCH_PORTS)
            continue;
        m->trunk[sa][t->port_a] = (int16_t)i;
        m->trunk[sb][t->port_b] = (int16_t)i;
        m->trunk_sw_a[i] = (int16_t)sa;
        m->trunk_sw_b[i] = (int16_t)sb;
    }
    return m;
}

bool ofm_portmap_access_usable(const ofm_portmap *m, const ofm_fabric_health *h, int a)
{
    if (a < 0 || m->gpu_of_access[a] < 0)
        return false;
    if (!h)
        return true;
    return h->access_ok[a] && h->gpu_ok[m->gpu_of_access[a]] && h->switch_ok[m->sw_of_access[a]];
}

bool ofm_portmap_trunk_usable(const ofm_portmap *m, const ofm_fabric_health *h, int t)
{
    if (t < 0 || m->trunk_sw_a[t] < 0)
        return false;
    if (!h)
        return true;
    return h->trunk_ok[t] && h->switch_ok[m->trunk_sw_a[t]] && h->switch_ok[m->trunk_sw_b[t]];
}
