/* The operator's view of the status document (fmctl status), laid out like
 * the Fabric section of 'nvidia-smi -q'. Reads only the typed structure. */
#include "status/status.h"

#include <inttypes.h>
#include <string.h>

void ofm_status_mig_text(const ofm_gpu_status *g, char *buf, size_t len)
{
    if (g->mig == OFM_MIG_NA)
        snprintf(buf, len, "N/A");
    else if (g->mig_pending)
        snprintf(buf, len, "%s (pending %s: reset the GPU)",
                 g->mig == OFM_MIG_ENABLED ? "Enabled" : "Disabled",
                 g->mig == OFM_MIG_ENABLED ? "disable" : "enable");
    else if (g->mig == OFM_MIG_ENABLED)
        snprintf(buf, len, "Enabled, %u GPU instance%s", g->mig_instances,
                 g->mig_instances == 1 ? "" : "s");
    else
        snprintf(buf, len, "Disabled");
}

static const char *health_text(ofm_dev_health h)
{
    return h == OFM_DEV_OK ? "OK" : h == OFM_DEV_MISSING ? "missing from the bus" : "failed";
}

/* One line over every GPU: on a 72-GPU rack the per-GPU blocks run to
 * hundreds of lines, and this is what an operator reads first. */
static void gpu_summary(FILE *f, const ofm_fabric_status *st)
{
    size_t p2p = 0, full = 0, nout = 0;
    uint32_t lo = UINT32_MAX, hi = 0, out[OFM_MAX_GPUS];
    for (size_t i = 0; i < st->ngpus && i < OFM_MAX_GPUS; i++) {
        const ofm_gpu_status *g = &st->gpus[i];
        p2p += g->p2p;
        full += g->links_expected && g->links_usable == g->links_expected;
        if (g->links_usable < lo)
            lo = g->links_usable;
        if (g->links_usable > hi)
            hi = g->links_usable;
        if (!g->p2p)
            out[nout++] = g->phys_id;
    }
    if (!st->ngpus)
        return;
    fprintf(f, "    GPUs                  : %zu, %zu with NVLink P2P, %zu with every NVLink usable",
            st->ngpus, p2p, full);
    if (lo != hi)
        fprintf(f, " (%u-%u usable per GPU)", lo, hi);
    if (nout)
        fprintf(f, "; without P2P:");
    for (size_t i = 0; i < nout; i++) { /* runs of three or more as a range */
        size_t j = i;
        while (j + 1 < nout && out[j + 1] == out[j] + 1)
            j++;
        if (j >= i + 2)
            fprintf(f, "%s%u-%u", i ? "," : " ", out[i], out[j]);
        else
            fprintf(f, "%s%u", i ? "," : " ", out[j = i]);
        i = j;
    }
    fputc('\n', f);
}

void ofm_status_print(FILE *f, const ofm_status_doc *doc)
{
    ofm_status_print_gpus(f, doc, NULL, 0);
}

static bool wanted(uint32_t id, const uint32_t *only, size_t nonly)
{
    if (!only)
        return true;
    for (size_t i = 0; i < nonly; i++)
        if (only[i] == id)
            return true;
    return false;
}

void ofm_status_print_gpus(FILE *f, const ofm_status_doc *doc, const uint32_t *only, size_t nonly)
{
    const ofm_fabric_status *st = &doc->fabric;
    fprintf(f, "Fabric Manager\n");
    fprintf(f, "    State                 : %s\n", ofm_system_state_name(st->state));
    fprintf(f, "    Mode                  : %s\n", ofm_status_mode_name(st->mode));
    fprintf(f, "    Platform              : %s (%s)\n", st->platform, st->topology_source);
    fprintf(f, "    Backend               : %s%s%s\n", doc->emulated ? "emulated" : "real",
            doc->emulated && doc->emu_dir[0] ? " " : "", doc->emulated ? doc->emu_dir : "");
    fprintf(f, "    Driver Version        : %s\n", doc->driver);
    fprintf(f, "    PID                   : %" PRId64 "\n", doc->pid);
    fprintf(f, "    Message               : %s\n", st->message);
    if (st->domain_health != OFM_DOMAIN_NONE)
        fprintf(f, "    NVLink Domain Health  : %s%s%s\n", ofm_domain_health_name(st->domain_health),
                st->domain_reason[0] ? ": " : "", st->domain_reason);
    if (doc->status_file_error[0])
        fprintf(f, "    Status File           : not written: %s\n", doc->status_file_error);
    /* The count is the bring-up write only: partition changes come later and
     * are shown per partition, so the label says which write it counts. */
    fprintf(f, "    NVLinks               : access %u/%u active, trunk %u/%u active, %zu routing "
               "entries written at bring-up\n",
            st->access_active, st->access_expected, st->trunk_active, st->trunk_expected,
            st->routes_programmed);
    gpu_summary(f, st);
    fprintf(f, "    Status Generation     : %" PRIu64 "\n", st->generation);
    for (size_t i = 0; i < st->ngpus; i++) {
        const ofm_gpu_status *g = &st->gpus[i];
        if (!wanted(g->phys_id, only, nonly))
            continue;
        fprintf(f, "\nGPU %u  %s  %s\n", g->phys_id, g->pci_bdf, g->uuid);
        if (g->excluded)
            fprintf(f, "    Device                : excluded by the driver (NVreg_ExcludedGpus)\n");
        else if (g->health != OFM_DEV_OK)
            fprintf(f, "    Device                : %s\n", health_text(g->health));
        fprintf(f, "    Fabric\n");
        fprintf(f, "        State             : %s\n", ofm_fabric_state_name(g->fabric_state));
        fprintf(f, "        Status            : %s\n", ofm_fabric_status_text(g->fabric_state, g->fabric_status));
        fprintf(f, "    NVLink P2P            : %s\n", g->p2p ? "Yes" : "No");
        fprintf(f, "    NVLinks usable        : %u/%u\n", g->links_usable, g->links_expected);
        if (g->links_active != g->links_usable)
            fprintf(f, "    NVLinks active        : %u/%u\n", g->links_active, g->links_expected);
        char mig[96];
        ofm_status_mig_text(g, mig, sizeof mig);
        fprintf(f, "    MIG Mode              : %s\n", mig);
        if (doc->have_partitions) {
            if (g->partition >= 0)
                fprintf(f, "    Partition             : %d\n", (int)g->partition);
            else
                fprintf(f, "    Partition             : none\n");
        }
        if (g->xids)
            fprintf(f, "    Xid Errors            : %" PRIu64 " (last Xid %u)\n", g->xids, g->last_xid);
        if (g->link_retrains)
            fprintf(f, "    Links Retrained       : after %u GPU reset%s\n", g->link_retrains,
                    g->link_retrains == 1 ? "" : "s");
    }
    if (only)
        return; /* asked about some GPUs: the fabric-wide sections are noise */
    if (st->nswitches) {
        fprintf(f, "\nNVSwitches\n");
        for (size_t i = 0; i < st->nswitches; i++) {
            const ofm_switch_status_entry *s = &st->switches[i];
            fprintf(f, "    %-3u %s  %-9s links %u/%u active", s->id, s->pci_bdf,
                    ofm_switch_status_name(s->status), s->links_active, s->links_expected);
            if (s->excluded)
                fprintf(f, ", excluded by the driver (NvSwitchExcludelist)");
            if (s->sxid_fatal || s->sxid_nonfatal)
                fprintf(f, ", SXids %" PRIu64 " fatal %" PRIu64 " non-fatal", s->sxid_fatal,
                        s->sxid_nonfatal);
            fputc('\n', f);
        }
    }
    if (doc->have_partitions) {
        fprintf(f, "\nPartitions (active)\n");
        int any = 0;
        for (size_t i = 0; i < doc->npartitions; i++) {
            const ofm_pm_entry *p = &doc->partitions[i];
            if (!p->active)
                continue;
            any = 1;
            fprintf(f, "    %u: GPUs [", p->id);
            for (uint32_t k = 0; k < p->ngpus; k++)
                fprintf(f, "%s%u", k ? ", " : "", p->gpus[k]);
            fprintf(f, "]\n");
        }
        if (!any)
            fprintf(f, "    none\n");
    }
    fprintf(f, "\nErrors (%" PRIu64 " total)\n", st->errors_total);
    size_t n = ofm_fabric_status_error_count(st);
    for (size_t i = n > 10 ? n - 10 : 0; i < n; i++)
        fprintf(f, "    %s\n", ofm_fabric_status_error(st, i)->summary);
    if (!n)
        fprintf(f, "    none\n");
}
