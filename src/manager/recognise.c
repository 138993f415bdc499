/* Reading what the hardware shows, and recognising which platform model it
 * is, for bring-up and for tools that inspect a real machine (fmctl audit):
 * one implementation, so they cannot disagree about which model applies. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manager/manager.h"
#include "openfm/log.h"

int ofm_observe(ofm_hal *h, ofm_fabric_observed *obs, char *why, size_t len)
{
    memset(obs, 0, sizeof *obs);
    int rc = h->ops->list_switches ? h->ops->list_switches(h, obs->switches, OFM_MAX_SWITCHES,
                                                           &obs->nswitches)
                                   : OFM_HAL_ENOTSUP;
    if (rc != OFM_HAL_OK) {
        snprintf(why, len, "cannot enumerate NVSwitches: %s (%s); check that the NVSwitch driver "
                           "is loaded",
                 ofm_hal_last_error(h), ofm_hal_strerror(rc));
        return -1;
    }
    rc = h->ops->list_gpus ? h->ops->list_gpus(h, obs->gpus, OFM_MAX_GPUS, &obs->ngpus)
                           : OFM_HAL_ENOTSUP;
    if (rc != OFM_HAL_OK) {
        snprintf(why, len, "cannot enumerate GPUs: %s (%s)", ofm_hal_last_error(h),
                 ofm_hal_strerror(rc));
        return -1;
    }
    if (obs->nswitches > OFM_MAX_SWITCHES)
        obs->nswitches = OFM_MAX_SWITCHES;
    if (obs->ngpus > OFM_MAX_GPUS)
        obs->ngpus = OFM_MAX_GPUS;
    /* Only backends that know a registration will fail say so (the
     * emulator's injected fault); on others fabric_set reports it. */
    for (size_t i = 0; i < obs->ngpus; i++)
        obs->gpu_fail_registration[i] = ofm_hal_register_fault(h, obs->gpus[i].phys_id);
    for (size_t k = 0; k < obs->nswitches; k++) {
        const ofm_hal_switch *sw = &obs->switches[k];
        uint32_t nports = sw->nports < OFM_MAX_SWITCH_PORTS ? sw->nports : OFM_MAX_SWITCH_PORTS;
        if (sw->health != OFM_DEV_OK || !h->ops->switch_port)
            continue;
        size_t got = 0;
        if (h->ops->switch_ports &&
            h->ops->switch_ports(h, sw->phys_id, obs->ports[k], nports, &got) == OFM_HAL_OK &&
            got >= nports)
            continue; /* every port in one read */
        for (uint32_t port = 0; port < nports; port++) {
            ofm_hal_link *l = &obs->ports[k][port];
            if (h->ops->switch_port(h, sw->phys_id, port, l) != OFM_HAL_OK)
                memset(l, 0, sizeof *l); /* unreadable: treated as down, validation reports it */
        }
    }
    return 0;
}

static bool load_candidate(const char *name_or_path, ofm_platform *p)
{
    ofm_error err;
    if (ofm_platform_load(name_or_path, NULL, p, &err) == 0)
        return true;
    char buf[OFM_ERROR_MSG_LEN + OFM_ERROR_ORIGIN_LEN + 16];
    OFM_WARN("topology: skipping %s: %s", name_or_path, ofm_error_format(&err, buf, sizeof buf));
    return false;
}

static int rank(const ofm_match_result *m)
{
    return m->exact ? 3 : m->fits ? 2 : !m->structural[0] ? 1 : 0;
}

typedef struct {
    const ofm_fabric_observed *obs;
    ofm_platform *out;
    char *source;
    size_t srclen;
    ofm_match_result *best, *cur;
    bool have;
} pick;

/* Files of TOPOLOGY_FILE_PATH come after the built-ins and win ties: a
 * site's own description beats a generic one. Among built-ins the first
 * keeps a tie: boards that share a wiring (hgx-h100, hgx-h200) differ only in
 * the GPU model, and when discovery cannot tell the model the older board,
 * listed first, is the conservative answer. */
static void consider(pick *k, const ofm_platform *cand, const char *source, bool wins_ties)
{
    ofm_fabric_match(cand, k->obs, k->cur);
    int a = rank(k->cur), b = k->have ? rank(k->best) : -1;
    if (a < b || (a == b && k->cur->links_as_modelled < k->best->links_as_modelled))
        return;
    if (!wins_ties && a == b && k->cur->links_as_modelled == k->best->links_as_modelled)
        return;
    *k->best = *k->cur;
    *k->out = *cand;
    snprintf(k->source, k->srclen, "%s", source);
    k->have = true;
}

int ofm_recognise_platform(const ofm_fabric_observed *obs, const char *dir, ofm_platform *out,
                           char *source, size_t srclen, ofm_match_result *res)
{
    ofm_platform *cand = malloc(sizeof *cand);
    ofm_match_result *cur = malloc(sizeof *cur);
    if (!cand || !cur) {
        free(cand);
        free(cur);
        return -1;
    }
    pick k = {obs, out, source, srclen, res, cur, false};
    for (size_t i = 0; i < ofm_platform_builtin_count(); i++) {
        const char *name = ofm_platform_builtin_name(i);
        char src[128];
        snprintf(src, sizeof src, "built-in %s", name);
        if (load_candidate(name, cand))
            consider(&k, cand, src, false);
    }
    DIR *d = dir ? opendir(dir) : NULL;
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        char path[512];
        if (len < 6 || strcmp(de->d_name + len - 5, ".topo") != 0)
            continue;
        int n = snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (n > 0 && (size_t)n < sizeof path && load_candidate(path, cand))
            consider(&k, cand, path, true);
    }
    if (d)
        closedir(d);
    free(cand);
    free(cur);
    if (!k.have)
        return -1;
    return res->fits ? 0 : 1;
}
