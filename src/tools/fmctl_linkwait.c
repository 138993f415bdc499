/* Shared by fmctl reset and fmctl mig (fmctl_linkwait.h). */
#include "tools/fmctl_linkwait.h"

#include <time.h>


/* The GPU's switch-side ports: from the platform model when the backend has
 * one (they are known even while down), else from the links' far ends now,
 * before the reset takes them down. */
size_t fmctl_gpu_switch_ports(ofm_hal *h, const ofm_hal_gpu *g, fmctl_sw_port *out, size_t cap)
{
    size_t n = 0;
    const ofm_platform *p = ofm_hal_platform(h);
    if (p) {
        for (size_t i = 0; i < p->naccess && n < cap; i++)
            if (p->access[i].gpu == g->phys_id)
                out[n++] = (fmctl_sw_port){p->access[i].sw, p->access[i].sw_port};
        return n;
    }
    for (uint32_t l = 0; h->ops->gpu_link && l < g->nvlinks && n < cap; l++) {
        ofm_hal_link k;
        if (h->ops->gpu_link(h, g->phys_id, l, &k) == OFM_HAL_OK && k.remote_type == OFM_REMOTE_SWITCH &&
            k.remote_link != UINT32_MAX)
            out[n++] = (fmctl_sw_port){k.remote_id, k.remote_link};
    }
    return n;
}

/* Links train autonomously (ALI) from the third NVSwitch generation on. */
bool fmctl_links_autonomous(ofm_hal *h, bool *has_switches)
{
    const ofm_platform *p = ofm_hal_platform(h);
    if (p) {
        *has_switches = p->nswitches > 0;
        return p->ali;
    }
    ofm_hal_switch s[OFM_MAX_SWITCHES];
    size_t n = 0;
    if (!h->ops->list_switches || h->ops->list_switches(h, s, OFM_MAX_SWITCHES, &n) || n == 0) {
        *has_switches = false;
        return true;
    }
    *has_switches = true;
    return s[0].gen >= OFM_SWITCH_GEN3;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Wait until none of the ports is down any more (each up, or failed): the
 * fabric manager has handled the reset. Counts the ports up. */
bool fmctl_wait_links(ofm_hal *h, const fmctl_sw_port *ports, size_t np, unsigned wait_s, size_t *up)
{
    uint64_t t0 = now_ms();
    for (;;) {
        size_t down = 0;
        *up = 0;
        for (size_t i = 0; i < np; i++) {
            ofm_hal_link k;
            if (h->ops->switch_port(h, ports[i].sw, ports[i].port, &k) != OFM_HAL_OK)
                continue;
            if (k.state == OFM_LINK_ACTIVE)
                (*up)++;
            else if (k.state != OFM_LINK_FAILED)
                down++;
        }
        if (!down)
            return true;
        if (now_ms() - t0 >= (uint64_t)wait_s * 1000u)
            return false;
        struct timespec pause = {0, 50 * 1000 * 1000}; /* operator-facing poll */
        nanosleep(&pause, NULL);
    }
}

