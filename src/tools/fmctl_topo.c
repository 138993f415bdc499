/* fmctl topo: operator views of a platform model (devices and links, the
 * GPU x GPU NVLink matrix, the default partition table). Reads only the
 * model: no daemon and no hardware are needed. */
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openfm/platform.h"
#include "tools/fmctl.h"
#include "tools/fmctl_matrix.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: fmctl topo show|matrix|p2p|partitions [--json] [--full] [PLATFORM|FILE]\n"
            "\n"
            "  show        GPUs, NVSwitches, access links (GPU link <-> switch port), trunks\n"
            "              and NVLink bridges (GPU link <-> GPU link)\n"
            "  matrix      GPU x GPU matrix like 'nvidia-smi topo -m': X on the diagonal,\n"
            "              NV<n> = NVLinks a GPU can use toward the other (through the\n"
            "              switches, or over a bridge), then CPU and NUMA affinity as the\n"
            "              topology file assumes them (marked *). On a rack-scale domain\n"
            "              (GB200 NVL72) a compute tray x compute tray summary instead:\n"
            "              NV<n> = NVLinks every GPU of the row tray can use toward every\n"
            "              GPU of the column tray (n-m when they differ); --full prints\n"
            "              the whole GPU x GPU matrix\n"
            "  p2p         one line per GPU pair: how peer-to-peer traffic goes (nvswitch,\n"
            "              bridge or pcie), NVLinks, GB/s per direction, same or cross NUMA\n"
            "              (format: docs/topology-format.md, \"P2P view\")\n"
            "  partitions  the platform's default shared NVSwitch / vGPU partition table\n"
            "\n"
            "  PLATFORM    a built-in name (default hgx-h100): ");
    for (size_t i = 0; i < ofm_platform_builtin_count(); i++)
        fprintf(f, "%s%s", i ? ", " : "", ofm_platform_builtin_name(i));
    fprintf(f, "\n"
               "  FILE        a topology file path (anything containing '/'), see\n"
               "              docs/topology-format.md\n"
               "  -j, --json  machine-readable output (options may come anywhere); the\n"
               "              matrix in JSON is always per GPU (plus the tray summary)\n"
               "  --full      matrix: every GPU pair, also on a rack-scale domain\n"
               "  -h, --help  this text\n"
               "\n"
               "Environment:\n"
               "  OPENFM_TOPOLOGY_DIR  a name that is not built in is also looked up as\n"
               "                       $OPENFM_TOPOLOGY_DIR/NAME.topo\n"
               "\n"
               "Exit status: 0 success, 1 out of memory, 2 usage error or a platform that\n"
               "cannot be loaded (the message names the file, line and value).\n");
}

static const char *gen_name(ofm_switch_gen g)
{
    switch (g) {
    case OFM_SWITCH_GEN1: return "gen1 (SV10)";
    case OFM_SWITCH_GEN2: return "gen2 (LR10)";
    case OFM_SWITCH_GEN3: return "gen3 (LS10)";
    case OFM_SWITCH_GEN4: return "gen4 (NVLink 5)";
    }
    return "?";
}

static void print_json(json_object *o)
{
    printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
    json_object_put(o);
}


/* Trays of a rack-scale domain: compute trays with their GPUs (slot order),
 * switch trays with their chips. */
static json_object *trays_json(const ofm_platform *p)
{
    json_object *o = json_object_new_object(), *ca = json_object_new_array(),
                *sa = json_object_new_array();
    uint32_t ids[OFM_MAX_GPUS];
    for (size_t t = 0; t < p->ncompute_trays; t++) {
        size_t n = ofm_platform_tray_gpus(p, p->compute_trays[t], ids, OFM_MAX_GPUS);
        json_object *j = json_object_new_object(), *g = json_object_new_array();
        json_object_object_add(j, "id", json_object_new_int64(p->compute_trays[t]));
        for (size_t k = 0; k < n && k < OFM_MAX_GPUS; k++)
            json_object_array_add(g, json_object_new_int64(ids[k]));
        json_object_object_add(j, "gpus", g);
        json_object_array_add(ca, j);
    }
    for (size_t t = 0; t < p->nswitch_trays; t++) {
        size_t n = ofm_platform_tray_switches(p, p->switch_trays[t], ids, OFM_MAX_GPUS);
        json_object *j = json_object_new_object(), *s = json_object_new_array();
        json_object_object_add(j, "id", json_object_new_int64(p->switch_trays[t]));
        for (size_t k = 0; k < n && k < OFM_MAX_GPUS; k++)
            json_object_array_add(s, json_object_new_int64(ids[k]));
        json_object_object_add(j, "switches", s);
        json_object_array_add(sa, j);
    }
    json_object_object_add(o, "compute", ca);
    json_object_object_add(o, "switch", sa);
    return o;
}

static void show_trays(const ofm_platform *p)
{
    uint32_t ids[OFM_MAX_GPUS];
    char list[512];
    printf("Compute trays (%zu)\n", p->ncompute_trays);
    for (size_t t = 0; t < p->ncompute_trays; t++) {
        size_t n = ofm_platform_tray_gpus(p, p->compute_trays[t], ids, OFM_MAX_GPUS);
        fmctl_id_list(ids, n < OFM_MAX_GPUS ? n : OFM_MAX_GPUS, list, sizeof list);
        printf("  tray %-3" PRIu32 " GPUs %s\n", p->compute_trays[t], list);
    }
    printf("Switch trays (%zu)\n", p->nswitch_trays);
    for (size_t t = 0; t < p->nswitch_trays; t++) {
        size_t n = ofm_platform_tray_switches(p, p->switch_trays[t], ids, OFM_MAX_GPUS);
        fmctl_id_list(ids, n < OFM_MAX_GPUS ? n : OFM_MAX_GPUS, list, sizeof list);
        printf("  tray %-3" PRIu32 " NVSwitches %s\n", p->switch_trays[t], list);
    }
    printf("\n");
}

static int cmd_show(const ofm_platform *p, bool json, bool full)
{
    (void)full;
    if (json) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "platform", json_object_new_string(p->name));
        json_object_object_add(o, "description", json_object_new_string(p->description));
        json_object_object_add(o, "ali", json_object_new_boolean(p->ali));
        json_object *ga = json_object_new_array();
        for (size_t i = 0; i < p->ngpus; i++) {
            const ofm_gpu_desc *g = &p->gpus[i];
            json_object *j = json_object_new_object();
            json_object_object_add(j, "physical_id", json_object_new_int64(g->phys_id));
            json_object_object_add(j, "model", json_object_new_string(g->model));
            json_object_object_add(j, "nvlinks", json_object_new_int64(g->nvlinks));
            json_object_object_add(j, "line_rate_mbps", json_object_new_int64(g->line_rate_mbps));
            json_object_object_add(j, "baseboard", json_object_new_int64(g->baseboard));
            if (g->tray) {
                json_object_object_add(j, "compute_tray", json_object_new_int64(g->tray));
                json_object_object_add(j, "slot", json_object_new_int64(g->slot));
            }
            json_object_array_add(ga, j);
        }
        json_object_object_add(o, "gpus", ga);
        json_object *sa = json_object_new_array();
        for (size_t i = 0; i < p->nswitches; i++) {
            const ofm_switch_desc *s = &p->switches[i];
            uint32_t trunks, acc = ofm_platform_switch_link_count(p, s->id, &trunks);
            json_object *j = json_object_new_object();
            json_object_object_add(j, "id", json_object_new_int64(s->id));
            json_object_object_add(j, "generation", json_object_new_int64(s->gen));
            json_object_object_add(j, "ports", json_object_new_int64(s->nports));
            json_object_object_add(j, "baseboard", json_object_new_int64(s->baseboard));
            if (s->tray)
                json_object_object_add(j, "switch_tray", json_object_new_int64(s->tray));
            json_object_object_add(j, "access_ports", json_object_new_int64(acc));
            json_object_object_add(j, "trunk_ports", json_object_new_int64(trunks));
            json_object_array_add(sa, j);
        }
        json_object_object_add(o, "switches", sa);
        json_object *aa = json_object_new_array();
        for (size_t i = 0; i < p->naccess; i++) {
            json_object *j = json_object_new_object();
            json_object_object_add(j, "gpu", json_object_new_int64(p->access[i].gpu));
            json_object_object_add(j, "gpu_link", json_object_new_int64(p->access[i].gpu_link));
            json_object_object_add(j, "switch", json_object_new_int64(p->access[i].sw));
            json_object_object_add(j, "switch_port", json_object_new_int64(p->access[i].sw_port));
            json_object_array_add(aa, j);
        }
        json_object_object_add(o, "access_links", aa);
        json_object *ta = json_object_new_array();
        for (size_t i = 0; i < p->ntrunks; i++) {
            json_object *j = json_object_new_object();
            json_object_object_add(j, "switch_a", json_object_new_int64(p->trunks[i].sw_a));
            json_object_object_add(j, "port_a", json_object_new_int64(p->trunks[i].port_a));
            json_object_object_add(j, "switch_b", json_object_new_int64(p->trunks[i].sw_b));
            json_object_object_add(j, "port_b", json_object_new_int64(p->trunks[i].port_b));
            json_object_array_add(ta, j);
        }
        json_object_object_add(o, "trunk_links", ta);
        json_object *ba = json_object_new_array();
        for (size_t i = 0; i < p->nbridges; i++) {
            json_object *j = json_object_new_object();
            json_object_object_add(j, "gpu_a", json_object_new_int64(p->bridges[i].gpu_a));
            json_object_object_add(j, "link_a", json_object_new_int64(p->bridges[i].link_a));
            json_object_object_add(j, "gpu_b", json_object_new_int64(p->bridges[i].gpu_b));
            json_object_object_add(j, "link_b", json_object_new_int64(p->bridges[i].link_b));
            json_object_array_add(ba, j);
        }
        json_object_object_add(o, "bridge_links", ba);
        if (ofm_platform_is_rack(p))
            json_object_object_add(o, "trays", trays_json(p));
        print_json(o);
        return 0;
    }
    printf("Platform: %s\n", p->name);
    if (p->description[0])
        printf("  %s\n", p->description);
    printf("Link training: %s\n\n", p->nbridges ? "by the driver when it loads (NVLink bridge)"
                                   : p->ali   ? "ALI (autonomous, in hardware)"
                                              : "by the fabric manager");
    bool rack = ofm_platform_is_rack(p);
    if (rack)
        show_trays(p);
    /* a rack places devices in trays; boards say nothing there */
    printf("GPUs (%zu)\n  %-4s %-18s %-8s %-10s %s\n", p->ngpus, "ID", "Model", "NVLinks",
           "GB/s/link", rack ? "Tray.Slot" : "Board");
    for (size_t i = 0; i < p->ngpus; i++) {
        const ofm_gpu_desc *g = &p->gpus[i];
        char where[24];
        if (rack)
            snprintf(where, sizeof where, "%" PRIu32 ".%" PRIu32, g->tray, g->slot);
        else
            snprintf(where, sizeof where, "%" PRIu32, g->baseboard);
        printf("  %-4" PRIu32 " %-18s %-8" PRIu32 " %-10.1f %s\n", g->phys_id, g->model,
               g->nvlinks, g->line_rate_mbps / 1000.0, where);
    }
    printf("\nNVSwitches (%zu)\n  %-4s %-12s %-6s %-6s %-13s %s\n", p->nswitches, "ID", "Generation",
           "Ports", rack ? "Tray" : "Board", "Access ports", "Trunk ports");
    for (size_t i = 0; i < p->nswitches; i++) {
        const ofm_switch_desc *s = &p->switches[i];
        uint32_t trunks, acc = ofm_platform_switch_link_count(p, s->id, &trunks);
        printf("  %-4" PRIu32 " %-12s %-6" PRIu32 " %-6" PRIu32 " %-13" PRIu32 " %" PRIu32 "\n",
               s->id, gen_name(s->gen), s->nports, rack ? s->tray : s->baseboard, acc, trunks);
    }
    printf("\nAccess links (%zu)\n  %-4s %-9s %-7s %s\n", p->naccess, "GPU", "GPU link", "Switch",
           "Switch port");
    for (size_t i = 0; i < p->naccess; i++)
        printf("  %-4" PRIu32 " %-9" PRIu32 " %-7" PRIu32 " %" PRIu32 "\n", p->access[i].gpu,
               p->access[i].gpu_link, p->access[i].sw, p->access[i].sw_port);
    printf("\nTrunk links (%zu)\n", p->ntrunks);
    for (size_t i = 0; i < p->ntrunks; i++)
        printf("  switch %" PRIu32 " port %" PRIu32 " <-> switch %" PRIu32 " port %" PRIu32 "\n",
               p->trunks[i].sw_a, p->trunks[i].port_a, p->trunks[i].sw_b, p->trunks[i].port_b);
    if (p->nbridges) {
        printf("\nNVLink bridges (%zu links, no NVSwitch: nothing for a fabric manager to "
               "manage)\n", p->nbridges);
        for (size_t i = 0; i < p->nbridges; i++)
            printf("  GPU %" PRIu32 " link %" PRIu32 " <-> GPU %" PRIu32 " link %" PRIu32 "\n",
                   p->bridges[i].gpu_a, p->bridges[i].link_a, p->bridges[i].gpu_b,
                   p->bridges[i].link_b);
    }
    return 0;
}

static uint32_t model_links(const void *ctx, uint32_t src, uint32_t dst)
{
    return ofm_platform_nvlinks_between(ctx, src, dst);
}

static int cmd_matrix(const ofm_platform *p, bool json, bool full)
{
    bool rack = ofm_platform_is_rack(p);
    const fmctl_matrix_src src = {model_links, p, true,
                                  "NVLinks usable through the NVSwitch trays"};
    if (!json && fmctl_matrix_summarise(p, full)) {
        fmctl_matrix_tray_text(p, &src, "--full");
        printf("  (fmctl topo show %s)\n", p->name);
        return 0;
    }
    if (json) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "platform", json_object_new_string(p->name));
        json_object *rows = json_object_new_array();
        for (size_t i = 0; i < p->ngpus; i++) {
            json_object *r = json_object_new_object();
            json_object_object_add(r, "gpu", json_object_new_int64(p->gpus[i].phys_id));
            json_object *links = json_object_new_object();
            for (size_t j = 0; j < p->ngpus; j++) {
                if (i == j)
                    continue;
                char key[16];
                snprintf(key, sizeof key, "%" PRIu32, p->gpus[j].phys_id);
                json_object_object_add(links, key,
                                       json_object_new_int64(ofm_platform_nvlinks_between(
                                           p, p->gpus[i].phys_id, p->gpus[j].phys_id)));
            }
            json_object_object_add(r, "nvlinks", links);
            const ofm_gpu_desc *g = &p->gpus[i];
            json_object_object_add(r, "cpu_affinity",
                                   g->has_affinity ? json_object_new_string(g->cpus) : NULL);
            json_object_object_add(r, "numa_affinity",
                                   g->has_affinity ? json_object_new_int64(g->numa_node) : NULL);
            json_object_array_add(rows, r);
        }
        json_object_object_add(o, "matrix", rows);
        json_object_object_add(o, "nvlink_via",
                               json_object_new_string(p->nbridges ? "bridge" : "nvswitch"));
        json_object_object_add(o, "affinity_source",
                               json_object_new_string("topology file (assumed for the board, "
                                                      "not read from this machine)"));
        if (rack)
            json_object_object_add(o, "tray_matrix", fmctl_matrix_tray_json(p, &src));
        print_json(o);
        return 0;
    }
    printf("%-7s", "");
    for (size_t j = 0; j < p->ngpus; j++) {
        char h[16];
        snprintf(h, sizeof h, "GPU%" PRIu32, p->gpus[j].phys_id);
        printf("%-7s", h);
    }
    printf("%-18s%s\n", "CPU Affinity*", "NUMA Affinity*");
    for (size_t i = 0; i < p->ngpus; i++) {
        char h[16];
        snprintf(h, sizeof h, "GPU%" PRIu32, p->gpus[i].phys_id);
        printf("%-7s", h);
        for (size_t j = 0; j < p->ngpus; j++) {
            char c[16];
            if (i == j)
                snprintf(c, sizeof c, "X");
            else {
                uint32_t n = ofm_platform_nvlinks_between(p, p->gpus[i].phys_id, p->gpus[j].phys_id);
                if (n)
                    snprintf(c, sizeof c, "NV%" PRIu32, n);
                else
                    snprintf(c, sizeof c, "-");
            }
            printf("%-7s", c);
        }
        const ofm_gpu_desc *g = &p->gpus[i];
        char numa[16];
        snprintf(numa, sizeof numa, "%" PRIu32, g->numa_node);
        printf("%-18s%s\n", g->has_affinity ? g->cpus : "N/A", g->has_affinity ? numa : "N/A");
    }
    printf("\nLegend:\n  X    = Self\n  NV#  = Connection traversing a bonded set of # NVLinks "
           "(%s)\n  -    = No NVLink path\n"
           "  *    = CPU/NUMA affinity from the topology file: values assumed for this board,\n"
           "         not read from this machine (N/A: the file gives none)\n",
           p->nbridges ? "over an NVLink bridge, no NVSwitch" : "through NVSwitches");
    return 0;
}

/* Peer-to-peer between each pair, openfm's own line format (docs). */
static int cmd_p2p(const ofm_platform *p, bool json, bool full)
{
    (void)full;
    json_object *o = json ? json_object_new_object() : NULL, *a = NULL;
    if (json) {
        json_object_object_add(o, "format", json_object_new_string("openfm-p2p-v1"));
        json_object_object_add(o, "platform", json_object_new_string(p->name));
        a = json_object_new_array();
    } else {
        printf("# openfm-p2p v1 platform=%s\n", p->name);
        printf("# %-5s %-5s %-6s %-9s %-8s %-11s %s\n", "SRC", "DST", "LINK", "VIA", "NVLINKS",
               "GB/s/dir", "NUMA");
    }
    for (size_t i = 0; i < p->ngpus; i++)
        for (size_t j = i + 1; j < p->ngpus; j++) {
            const ofm_gpu_desc *x = &p->gpus[i], *y = &p->gpus[j];
            uint32_t n = ofm_platform_nvlinks_between(p, x->phys_id, y->phys_id);
            /* both directions of a pair use the same links on every shipped board;
             * the smaller count is what traffic both ways can rely on */
            uint32_t back = ofm_platform_nvlinks_between(p, y->phys_id, x->phys_id);
            if (back < n)
                n = back;
            const char *via = !n ? "pcie" : p->nbridges ? "bridge" : "nvswitch";
            uint32_t rate = x->line_rate_mbps < y->line_rate_mbps ? x->line_rate_mbps
                                                                  : y->line_rate_mbps;
            double gbps = n * (double)rate / 1000.0;
            const char *numa = !x->has_affinity || !y->has_affinity ? "unknown"
                               : x->numa_node == y->numa_node     ? "same"
                                                                  : "cross";
            char link[16];
            snprintf(link, sizeof link, n ? "NV%" PRIu32 : "PCIe", n);
            if (json) {
                json_object *j2 = json_object_new_object();
                json_object_object_add(j2, "src", json_object_new_int64(x->phys_id));
                json_object_object_add(j2, "dst", json_object_new_int64(y->phys_id));
                json_object_object_add(j2, "link", json_object_new_string(link));
                json_object_object_add(j2, "via", json_object_new_string(via));
                json_object_object_add(j2, "nvlinks", json_object_new_int64(n));
                json_object_object_add(j2, "gbps_per_direction", json_object_new_double(gbps));
                json_object_object_add(j2, "numa", json_object_new_string(numa));
                json_object_array_add(a, j2);
                continue;
            }
            char g1[16], g2[16], bw[16];
            snprintf(g1, sizeof g1, "GPU%" PRIu32, x->phys_id);
            snprintf(g2, sizeof g2, "GPU%" PRIu32, y->phys_id);
            if (n)
                snprintf(bw, sizeof bw, "%.1f", gbps);
            else
                snprintf(bw, sizeof bw, "-");
            printf("  %-5s %-5s %-6s %-9s %-8" PRIu32 " %-11s %s\n", g1, g2, link, via, n, bw, numa);
        }
    if (json) {
        json_object_object_add(o, "pairs", a);
        print_json(o);
    }
    return 0;
}

static void gpu_list(const ofm_partition_desc *d, char *buf, size_t len)
{
    fmctl_id_list(d->gpus, d->ngpus < OFM_MAX_GPUS ? d->ngpus : OFM_MAX_GPUS, buf, len);
}

static int cmd_partitions(const ofm_platform *p, bool json, bool full)
{
    (void)full;
    if (json) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "platform", json_object_new_string(p->name));
        json_object *a = json_object_new_array();
        for (size_t i = 0; i < p->npartitions; i++) {
            const ofm_partition_desc *d = &p->partitions[i];
            json_object *j = json_object_new_object();
            json_object_object_add(j, "id", json_object_new_int64(d->id));
            json_object_object_add(j, "num_gpus", json_object_new_int64(d->ngpus));
            json_object *g = json_object_new_array();
            for (uint32_t k = 0; k < d->ngpus; k++)
                json_object_array_add(g, json_object_new_int64(d->gpus[k]));
            json_object_object_add(j, "gpus", g);
            json_object_object_add(j, "nvlinks_per_gpu", json_object_new_int64(d->nvlinks_per_gpu));
            json_object_array_add(a, j);
        }
        json_object_object_add(o, "partitions", a);
        print_json(o);
        return 0;
    }
    /* rack IDs run to 32766: the column grows to fit them */
    int w = 4;
    for (size_t i = 0; i < p->npartitions; i++)
        if (p->partitions[i].id > 9999)
            w = 5;
    printf("Default partitions of %s (%zu)\n  %-*s %-6s %-12s %s\n", p->name, p->npartitions, w,
           "ID", "GPUs", "NVLinks/GPU", "GPU physical IDs");
    for (size_t i = 0; i < p->npartitions; i++) {
        const ofm_partition_desc *d = &p->partitions[i];
        char list[512];
        gpu_list(d, list, sizeof list);
        printf("  %-*" PRIu32 " %-6" PRIu32 " %-12" PRIu32 " %s\n", w, d->id, d->ngpus,
               d->nvlinks_per_gpu, list);
    }
    if (ofm_platform_is_rack(p))
        printf("\nRack-scale domain: a partition is any set of its GPUs, IDs %u-%u; %u is the "
               "default partition (every GPU)\n",
               OFM_RACK_PARTITION_ID_MIN, OFM_RACK_PARTITION_ID_MAX, OFM_RACK_DEFAULT_PARTITION_ID);
    return 0;
}

int fmctl_topo_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'},
        {"full", no_argument, NULL, 'f'}, {NULL, 0, NULL, 0}};
    bool json = false, full = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+hj", opts, NULL)) != -1) {
        if (c == 'j')
            json = true;
        else if (c == 'f')
            full = true;
        else if (c == 'h') {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return 2;
    }
    const char *sub = argv[optind++];
    /* Options may also follow the subcommand or the platform. Scanned by hand:
     * getopt's permutation mode cannot be re-selected after the '+' pass. */
    const char *name = NULL;
    bool opts_done = false;
    for (int i = optind; i < argc; i++) {
        const char *a = argv[i];
        if (!opts_done && !strcmp(a, "--")) {
            opts_done = true;
        } else if (!opts_done && (!strcmp(a, "--json") || !strcmp(a, "-j"))) {
            json = true;
        } else if (!opts_done && !strcmp(a, "--full")) {
            full = true;
        } else if (!opts_done && (!strcmp(a, "--help") || !strcmp(a, "-h"))) {
            usage(stdout);
            return 0;
        } else if (!opts_done && a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "fmctl topo: unknown option '%.60s'\n", a);
            usage(stderr);
            return 2;
        } else if (name) {
            fprintf(stderr, "fmctl topo: too many arguments: '%.60s' after '%.60s'\n", a, name);
            return 2;
        } else {
            name = a;
        }
    }
    if (!name)
        name = "hgx-h100";
    int (*fn)(const ofm_platform *, bool, bool);
    if (!strcmp(sub, "show"))
        fn = cmd_show;
    else if (!strcmp(sub, "matrix"))
        fn = cmd_matrix;
    else if (!strcmp(sub, "p2p"))
        fn = cmd_p2p;
    else if (!strcmp(sub, "partitions"))
        fn = cmd_partitions;
    else {
        fprintf(stderr, "fmctl topo: unknown subcommand '%.60s'\n", sub);
        usage(stderr);
        return 2;
    }
    ofm_platform *p = malloc(sizeof *p);
    if (!p) {
        fprintf(stderr, "fmctl topo: out of memory\n");
        return 1;
    }
    ofm_error err;
    int rc;
    if (ofm_platform_load(name, getenv("OPENFM_TOPOLOGY_DIR"), p, &err)) {
        char buf[700];
        fprintf(stderr, "fmctl topo: %s\n", ofm_error_format(&err, buf, sizeof buf));
        rc = 2;
    } else {
        rc = fn(p, json, full);
    }
    free(p);
    return rc;
}
