/* fmctl audit: the nvswitch-audit of the guide (FM §8.6.4). Reads the
 * routing actually programmed in the switches, straight from the hardware
 * (through the HAL, not the daemon), and prints how many NVLinks each GPU can
 * use toward each other GPU. Optionally checks that against the partitions
 * the daemon reports active: non-zero exit on any mismatch. */
#include <getopt.h>
#include <stdbool.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fabric/fabric.h"
#include "manager/manager.h"
#include "openfm/hal.h"
#include "sdk/nvfm_ext.h"
#include "tools/fmctl.h"
#include "tools/fmctl_backend.h"
#include "tools/fmctl_connect.h"
#include "tools/fmctl_matrix.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: fmctl audit [-v] [-f] [-c] [-s GPU -d GPU] [--check-partitions]\n"
               "                  [--backend SPEC | --emu-dir DIR]\n"
               "\n"
               "Prints the GPU Reachability Matrix: for each pair of GPUs (by physical ID), the\n"
               "number of NVLinks the switches are programmed to carry from one to the other.\n"
               "On a rack-scale domain the default is one row and column per compute tray (a\n"
               "cell a-b: the fewest and most links over the trays' GPU pairs), followed by\n"
               "the GPUs with no paths.\n"
               "\n"
               "  -v, --verbose          also dump every routing entry\n"
               "  -f, --full             include GPUs that have no paths at all; on a rack\n"
               "                         (gb200-nvl72) print every GPU instead of the\n"
               "                         compute tray x compute tray summary\n"
               "  -c, --csv              comma-separated output, always one row per GPU\n"
               "  -s, --src GPU -d, --dst GPU\n"
               "                         print one number: links from GPU to GPU\n"
               "  --check-partitions     compare with the active partitions of the running\n"
               "                         fabric manager (asked over the SDK): GPUs in one active\n"
               "                         partition must reach each other over all their links,\n"
               "                         all other pairs must have 0; exit 1 on any mismatch\n"
               "  --emu-dir DIR          audit the emulated system in DIR\n"
               "  --topology-path DIR    where a backend that names no platform (real hardware)\n"
               "                         is recognised from, besides the built-in models\n"
               "                         (default /usr/share/nvidia/nvswitch, TOPOLOGY_FILE_PATH)\n"
               FMCTL_BACKEND_HELP
               FMCTL_CONN_HELP
               "  -h, --help             this text\n");
}

/* A backend that names no model (real hardware): recognise it from what the
 * switches show, exactly as bring-up does. */
static ofm_platform *recognise(ofm_hal *h, const char *dir)
{
    ofm_fabric_observed *obs = malloc(sizeof *obs);
    ofm_match_result *res = malloc(sizeof *res);
    ofm_platform *p = malloc(sizeof *p);
    char why[400], source[256];
    int rc = -1;
    if (!obs || !res || !p)
        fprintf(stderr, "fmctl audit: out of memory\n");
    else if (ofm_observe(h, obs, why, sizeof why) < 0)
        fprintf(stderr, "fmctl audit: %s\n", why);
    else if ((rc = ofm_recognise_platform(obs, dir, p, source, sizeof source, res)) < 0)
        fprintf(stderr, "fmctl audit: no platform model could be loaded\n");
    else if (rc > 0)
        fprintf(stderr, "fmctl audit: no platform model matches this machine; closest is %s (%s)%s%s\n",
                p->name, source, res->structural[0] ? ": " : "", res->structural);
    free(obs);
    free(res);
    if (rc != 0) {
        free(p);
        return NULL;
    }
    return p;
}

/* One row and column per GPU shown (nvswitch-audit's form). */
static void print_gpu_matrix(const ofm_reach_matrix *m, const bool *show, bool csv)
{
    printf(csv ? "GPU" : "%-6s", csv ? "" : "GPU");
    for (size_t j = 0; j < m->n; j++)
        if (show[j])
            printf(csv ? ",%" PRIu32 : "%5" PRIu32, m->gpu[j]);
    printf("\n");
    for (size_t i = 0; i < m->n; i++) {
        if (!show[i])
            continue;
        printf(csv ? "%" PRIu32 : "%-6" PRIu32, m->gpu[i]);
        for (size_t j = 0; j < m->n; j++)
            if (show[j]) {
                if (i == j)
                    printf(csv ? ",X" : "%5s", "X");
                else
                    printf(csv ? ",%" PRIu32 : "%5" PRIu32, m->links[i][j]);
            }
        printf("\n");
    }
}

/* The tray summary's view of the reachability matrix. */
typedef struct {
    const ofm_platform *p;
    const ofm_reach_matrix *m;
} audit_ctx;

static uint32_t audit_links(const void *ctx, uint32_t src, uint32_t dst)
{
    const audit_ctx *c = ctx;
    int i = ofm_fabric_gpu_index(c->p, src), j = ofm_fabric_gpu_index(c->p, dst);
    return i < 0 || j < 0 ? 0 : c->m->links[i][j];
}

int fmctl_audit_main(int argc, char **argv)
{
    static const struct option lo[] = {
        {"verbose", no_argument, NULL, 'v'}, {"full", no_argument, NULL, 'f'},
        {"csv", no_argument, NULL, 'c'},     {"src", required_argument, NULL, 's'},
        {"dst", required_argument, NULL, 'd'}, {"check-partitions", no_argument, NULL, 'P'},
        {"emu-dir", required_argument, NULL, 'E'}, {"address", required_argument, NULL, 'a'},
        {"backend", required_argument, NULL, 'B'}, {"topology-path", required_argument, NULL, 'T'},
        {"socket", required_argument, NULL, 'S'}, {"timeout", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},    {NULL, 0, NULL, 0}};
    bool verbose = false, full = false, csv = false, check = false;
    long src = -1, dst = -1;
    const char *emu_dir = NULL, *backend = NULL, *topo_dir = "/usr/share/nvidia/nvswitch";
    fmctl_conn_opts co = {0};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "vfcs:d:h", lo, NULL)) != -1) {
        char *end;
        switch (c) {
        case 'v': verbose = true; break;
        case 'f': full = true; break;
        case 'c': csv = true; break;
        case 's':
        case 'd': {
            long v = strtol(optarg, &end, 10);
            if (*end || optarg[0] < '0' || optarg[0] > '9' || v > 1023) {
                fprintf(stderr, "fmctl audit: -%c: '%.40s' is not a GPU physical ID (0-1023)\n", c,
                        optarg);
                return 2;
            }
            *(c == 's' ? &src : &dst) = v;
            break;
        }
        case 'P': check = true; break;
        case 'E': emu_dir = optarg; break;
        case 'B': backend = optarg; break;
        case 'T': topo_dir = optarg; break;
        case 'a': co.address = optarg; break;
        case 'S': co.socket = optarg; break;
        case 't':
            if (fmctl_parse_timeout("fmctl audit", optarg, &co.timeout_ms))
                return 2;
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "fmctl audit: unexpected argument '%.60s'\n", argv[optind]);
        return 2;
    }
    if ((src >= 0) != (dst >= 0)) {
        fprintf(stderr, "fmctl audit: -s and -d must be given together\n");
        return 2;
    }
    if (src >= 0 && (csv || verbose || full)) {
        fprintf(stderr, "fmctl audit: -s/-d print one number and cannot be combined with -c, -v or -f\n");
        return 2;
    }
    ofm_hal *h;
    if (fmctl_open_backend("fmctl audit", backend, emu_dir, &h) != OFM_HAL_OK)
        return 2;
    const ofm_platform *p = ofm_hal_platform(h);
    ofm_platform *recognised = NULL;
    if (!p && !(p = recognised = recognise(h, topo_dir))) {
        ofm_hal_close(h);
        free(recognised);
        return 2;
    }
    size_t cap = OFM_MAX_SWITCH_PORTS * OFM_MAX_GPUS, total = 0;
    ofm_route_entry *all = calloc(cap * p->nswitches + 1, sizeof *all);
    for (size_t s = 0; all && s < p->nswitches; s++) {
        size_t n = 0;
        if (h->ops->route_read(h, p->switches[s].id, all + total, cap, &n) != OFM_HAL_OK)
            continue; /* missing switch: no routes */
        total += n < cap ? n : cap;
    }
    /* links that are down carry nothing, whatever the tables say */
    ofm_fabric_health health;
    ofm_fabric_health_all_ok(p, &health);
    for (size_t i = 0; i < p->naccess; i++) {
        ofm_hal_link lk;
        health.access_ok[i] = h->ops->switch_port(h, p->access[i].sw, p->access[i].sw_port, &lk) ==
                                  OFM_HAL_OK && lk.state == OFM_LINK_ACTIVE;
    }
    ofm_reach_matrix m;
    if (!all || ofm_reachability(p, &health, all, total, &m)) {
        fprintf(stderr, "fmctl audit: cannot compute reachability\n");
        free(all);
        ofm_hal_close(h);
        free(recognised);
        return 1;
    }
    int rc = 0;
    if (src >= 0) {
        int si = ofm_fabric_gpu_index(p, (uint32_t)src), di = ofm_fabric_gpu_index(p, (uint32_t)dst);
        if (si < 0 || di < 0) {
            fprintf(stderr, "fmctl audit: no GPU %ld in %s\n", si < 0 ? src : dst, p->name);
            rc = 2;
        } else {
            printf("%" PRIu32 "\n", m.links[si][di]);
        }
        free(all);
        ofm_hal_close(h);
        free(recognised);
        return rc;
    }
    bool show[OFM_MAX_GPUS];
    for (size_t i = 0; i < m.n; i++) {
        show[i] = full;
        for (size_t j = 0; j < m.n; j++)
            show[i] |= m.links[i][j] > 0 || m.links[j][i] > 0;
    }
    if (verbose) {
        printf("Routing entries (%zu):\n", total);
        for (size_t i = 0; i < total; i++) {
            printf("  switch %" PRIu32 " ingress %" PRIu32 " -> GPU %" PRIu32 " egress", all[i].sw,
                   all[i].in_port, all[i].dst_gpu);
            for (uint32_t b = 0; b < OFM_PORTSET_BITS; b++)
                if (ofm_portset_has(all[i].egress, b))
                    printf(" %" PRIu32, b);
            printf("\n");
        }
        printf("\n");
    }
    if (!csv)
        printf("GPU Reachability Matrix (%s, %s)\n", p->name,
               h->prov == OFM_PROV_EMULATED ? "emulated" : "read back from the NVSwitch driver");
    if (!csv && fmctl_matrix_summarise(p, full)) {
        const audit_ctx ac = {p, &m};
        const fmctl_matrix_src msrc = {audit_links, &ac, false, "NVLinks programmed"};
        fmctl_matrix_tray_text(p, &msrc, "-f/--full");
        uint32_t none[OFM_MAX_GPUS];
        size_t nn = 0;
        for (size_t i = 0; i < m.n; i++)
            if (!show[i])
                none[nn++] = m.gpu[i];
        char list[512];
        fmctl_id_list(none, nn, list, sizeof list);
        printf("  GPUs with no paths: %s\n", nn ? list : "none");
    } else {
        print_gpu_matrix(&m, show, csv);
    }
    if (check) {
        fmHandle_t fh;
        char *doc = NULL;
        if (fmctl_connect("fmctl audit", &co, &fh) != FM_ST_SUCCESS) {
            rc = 2;
        } else {
            fmReturn_t r = ofmGetStatusJson(fh, &doc);
            fmctl_disconnect(fh);
            json_object *o = r == FM_ST_SUCCESS ? json_tokener_parse(doc) : NULL;
            json_object *parts = NULL;
            uint32_t in_part[OFM_MAX_GPUS][OFM_MAX_GPUS] = {{0}};
            if (!o || !json_object_object_get_ex(o, "partitions", &parts)) {
                fprintf(stderr, "fmctl audit: the fabric manager reports no partitions (bare-metal mode?)\n");
                rc = 2;
            } else {
                for (size_t k = 0; k < json_object_array_length(parts); k++) {
                    json_object *pt = json_object_array_get_idx(parts, k);
                    if (!json_object_get_boolean(json_object_object_get(pt, "active")))
                        continue;
                    json_object *g = json_object_object_get(pt, "gpus");
                    /* a partition may route over fewer links than its GPUs
                     * have (HGX-2, FM §11.1) */
                    const ofm_partition_desc *pd = ofm_platform_partition(
                        p, (uint32_t)json_object_get_int(json_object_object_get(pt, "id")));
                    static ofm_fabric_health ph;
                    if (pd)
                        ofm_partition_health(p, &health, pd, &ph);
                    else
                        ph = health;
                    for (size_t a = 0; a < json_object_array_length(g); a++)
                        for (size_t b = 0; b < json_object_array_length(g); b++) {
                            int ia = ofm_fabric_gpu_index(p, (uint32_t)json_object_get_int(json_object_array_get_idx(g, a)));
                            int ib = ofm_fabric_gpu_index(p, (uint32_t)json_object_get_int(json_object_array_get_idx(g, b)));
                            if (ia >= 0 && ib >= 0 && ia != ib)
                                in_part[ia][ib] = ofm_fabric_gpu_usable_links(p, &ph, m.gpu[ia]);
                        }
                }
                size_t bad = 0;
                for (size_t i = 0; i < m.n; i++)
                    for (size_t j = 0; j < m.n; j++)
                        if (i != j && m.links[i][j] != in_part[i][j]) {
                            printf("MISMATCH: GPU %" PRIu32 " -> GPU %" PRIu32 ": programmed %" PRIu32
                                   " links, active partitions expect %" PRIu32 "\n",
                                   m.gpu[i], m.gpu[j], m.links[i][j], in_part[i][j]);
                            bad++;
                        }
                printf(bad ? "audit: %zu mismatch(es) with the active partitions\n"
                           : "audit: routing matches the active partitions%.0zu\n", bad);
                rc = bad ? 1 : 0;
            }
            json_object_put(o);
            free(doc);
        }
    }
    free(all);
    ofm_hal_close(h);
    free(recognised);
    return rc;
}
