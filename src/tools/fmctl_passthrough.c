/* fmctl passthrough plan: full-passthrough VM plans (FM §6) for the platform
 * of an emulated system (or a named model): which GPUs, NVSwitches and NVLinks
 * go together, which links to disable, the libvirt <hostdev> elements and the
 * guest's topology file. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "openfm/partition_rules.h"
#include "openfm/passthrough.h"
#include "tools/fmctl.h"
#include "tools/fmctl_backend.h"

static void usage(FILE *f)
{
    fprintf(f,
        "usage: fmctl passthrough plan [--gpus N|LIST] [--json | --libvirt |\n"
        "                              --guest-topology FILE] [--platform NAME|FILE]\n"
        "                              [--emu-dir DIR | --backend SPEC]\n"
        "\n"
        "Full-passthrough VM plans (FM 6.1-6.8): for each VM size the platform supports,\n"
        "which GPUs, NVSwitches and NVLinks go into one VM and which NVLinks the\n"
        "hypervisor must disable. Counts and grouping rules are the guide's; the exact\n"
        "devices and links are derived from the platform's wiring (docs/virtualization.md).\n"
        "\n"
        "  --gpus N       plans of N-GPU VMs only (default: every supported size)\n"
        "  --gpus LIST    the one plan whose GPUs are LIST (physical IDs, 1,2,3,4 or 1-4;\n"
        "                 one GPU as 3-3: a lone number is a size);\n"
        "                 a set the guide does not allow is refused with the reason\n"
        "  --json         machine-readable plans\n"
        "  --libvirt      the <hostdev> elements (PCI addresses of the VM's GPUs and\n"
        "                 NVSwitches, from the backend) of one plan\n"
        "  --guest-topology FILE  write one plan's guest topology file (the VM's GPUs,\n"
        "                 switches and links: what openfm in the guest loads); '-' = stdout\n"
        "  --platform NAME|FILE  the platform model (default: the backend's; needed on\n"
        "                 real hardware, which names no model)\n"
        "  --emu-dir DIR, --backend SPEC  where the devices are (default: the emulated\n"
        "                 system, as fmctl emu)\n"
        "  -h, --help     this help\n"
        "\n"
        "Exit status: 0 success, 1 the plan is refused (the message says why), 2 usage\n"
        "error or no platform/backend.\n");
}

typedef struct {
    char gpu_pci[OFM_MAX_GPUS][32];
    char sw_pci[OFM_MAX_SWITCHES][32];
    uint32_t gpu_id[OFM_MAX_GPUS], sw_id[OFM_MAX_SWITCHES];
    size_t ngpu, nsw;
} addrs;

static const char *gpu_addr(const addrs *a, uint32_t id)
{
    for (size_t i = 0; a && i < a->ngpu; i++)
        if (a->gpu_id[i] == id)
            return a->gpu_pci[i];
    return NULL;
}

static const char *sw_addr(const addrs *a, uint32_t id)
{
    for (size_t i = 0; a && i < a->nsw; i++)
        if (a->sw_id[i] == id)
            return a->sw_pci[i];
    return NULL;
}

/* "0-5,8" from ascending numbers */
static void ranges(const uint32_t *v, size_t n, char *buf, size_t len)
{
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && o < len; i++) {
        size_t j = i;
        while (j + 1 < n && v[j + 1] == v[j] + 1)
            j++;
        int w = j > i ? snprintf(buf + o, len - o, "%s%" PRIu32 "-%" PRIu32, o ? "," : "", v[i], v[j])
                      : snprintf(buf + o, len - o, "%s%" PRIu32, o ? "," : "", v[i]);
        o += w > 0 ? (size_t)w : 0;
        i = j;
    }
}

static void sort_u32(uint32_t *v, size_t n)
{
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && v[j - 1] > v[j]; j--) {
            uint32_t t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
}

/* Per device, the link/port numbers of a list of access links (GPU side when
 * gpu_side, else switch side); also trunk ports of a switch. */
static void print_block(const ofm_platform *p, const ofm_pt_plan *pl, bool gpu_side)
{
    const uint32_t *ids = gpu_side ? pl->gpus : pl->switches;
    size_t nid = gpu_side ? pl->ngpus : pl->nswitches;
    const uint16_t *lst = gpu_side ? pl->gpu_block : pl->sw_block;
    size_t nl = gpu_side ? pl->ngpu_block : pl->nsw_block;
    bool any = false;
    for (size_t d = 0; d < nid; d++) {
        uint32_t v[OFM_MAX_SWITCH_PORTS * 2];
        size_t n = 0;
        for (size_t i = 0; i < nl && n < OFM_MAX_SWITCH_PORTS; i++) {
            const ofm_access_link *a = &p->access[lst[i]];
            if (gpu_side && a->gpu == ids[d])
                v[n++] = a->gpu_link;
            else if (!gpu_side && a->sw == ids[d])
                v[n++] = a->sw_port;
        }
        if (!gpu_side)
            for (size_t i = 0; i < pl->ntrunk_block && n < OFM_MAX_SWITCH_PORTS * 2; i++) {
                const ofm_trunk_link *t = &p->trunks[pl->trunk_block[i]];
                if (t->sw_a == ids[d])
                    v[n++] = t->port_a;
                if (t->sw_b == ids[d])
                    v[n++] = t->port_b;
            }
        if (!n)
            continue;
        sort_u32(v, n);
        char r[400];
        ranges(v, n, r, sizeof r);
        printf("%s%s %" PRIu32 " %s %s", any ? "; " : "", gpu_side ? "GPU" : "switch", ids[d],
               gpu_side ? "links" : "ports", r);
        any = true;
    }
    if (!any)
        printf("none");
    printf("\n");
}

static void print_plan(const ofm_platform *p, const ofm_pt_plan *pl, const addrs *a)
{
    printf("\n%" PRIu32 "-GPU VM, set %" PRIu32 " of %" PRIu32 " [devices and links derived from "
           "the wiring]\n", pl->size, pl->set, pl->nsets);
    if (pl->guide)
        printf("  guide (FM 6.1):  %" PRIu32 " NVSwitch%s, %" PRIu32 " of %" PRIu32 " NVLinks per "
               "GPU, %s NVLinks per switch; %s\n", pl->guide->switches,
               pl->guide->switches == 1 ? "" : "es", pl->guide->gpu_links, p->gpus[0].nvlinks,
               pl->guide->switch_links, pl->guide->constraint);
    else
        printf("  guide (FM 6.1):  no table for this board variant; counts below are derived\n");
    printf("  GPUs:            ");
    for (size_t i = 0; i < pl->ngpus; i++) {
        const char *pci = gpu_addr(a, pl->gpus[i]);
        printf("%s%" PRIu32, i ? ", " : "", pl->gpus[i]);
        if (pci)
            printf(" (%s)", pci);
    }
    printf("\n  NVSwitches:      ");
    for (size_t i = 0; i < pl->nswitches; i++) {
        const char *pci = sw_addr(a, pl->switches[i]);
        printf("%s%" PRIu32, i ? ", " : "", pl->switches[i]);
        if (pci)
            printf(" (%s)", pci);
    }
    if (!pl->nswitches)
        printf("none");
    printf("\n  NVLinks in the VM: %zu (%" PRIu32 " per GPU", pl->naccess, pl->gpu_links_min);
    if (pl->gpu_links_max != pl->gpu_links_min)
        printf("-%" PRIu32, pl->gpu_links_max);
    printf(", %" PRIu32, pl->sw_links_min);
    if (pl->sw_links_max != pl->sw_links_min)
        printf("-%" PRIu32, pl->sw_links_max);
    printf(" per switch), trunk links %zu\n", pl->ntrunk);
    printf("  disable on the GPUs (NVLinks to switches outside the VM): ");
    print_block(p, pl, true);
    printf("  disable on the NVSwitches (ports to GPUs outside the VM, trunks): ");
    print_block(p, pl, false);
}

static json_object *plan_json(const ofm_platform *p, const ofm_pt_plan *pl, const addrs *a)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "size", json_object_new_int((int)pl->size));
    json_object_object_add(o, "set", json_object_new_int((int)pl->set));
    json_object_object_add(o, "sets", json_object_new_int((int)pl->nsets));
    json_object_object_add(o, "derived_from_wiring", json_object_new_boolean(true));
    if (pl->guide) {
        json_object *g = json_object_new_object();
        json_object_object_add(g, "family", json_object_new_string(pl->guide->family));
        json_object_object_add(g, "switches", json_object_new_int((int)pl->guide->switches));
        json_object_object_add(g, "nvlinks_per_gpu", json_object_new_int((int)pl->guide->gpu_links));
        json_object_object_add(g, "nvlinks_per_switch", json_object_new_string(pl->guide->switch_links));
        json_object_object_add(g, "constraint", json_object_new_string(pl->guide->constraint));
        json_object_object_add(o, "guide", g);
    }
    json_object *ga = json_object_new_array(), *sa = json_object_new_array();
    for (size_t i = 0; i < pl->ngpus; i++) {
        json_object *g = json_object_new_object();
        json_object_object_add(g, "id", json_object_new_int((int)pl->gpus[i]));
        const char *pci = gpu_addr(a, pl->gpus[i]);
        json_object_object_add(g, "pci", pci ? json_object_new_string(pci) : NULL);
        json_object_array_add(ga, g);
    }
    for (size_t i = 0; i < pl->nswitches; i++) {
        json_object *s = json_object_new_object();
        json_object_object_add(s, "id", json_object_new_int((int)pl->switches[i]));
        const char *pci = sw_addr(a, pl->switches[i]);
        json_object_object_add(s, "pci", pci ? json_object_new_string(pci) : NULL);
        json_object_array_add(sa, s);
    }
    json_object_object_add(o, "gpus", ga);
    json_object_object_add(o, "switches", sa);
    json_object *la = json_object_new_array(), *gb = json_object_new_array(),
                *sb = json_object_new_array(), *ta = json_object_new_array();
    for (size_t i = 0; i < pl->naccess; i++) {
        const ofm_access_link *x = &p->access[pl->access[i]];
        json_object *l = json_object_new_object();
        json_object_object_add(l, "gpu", json_object_new_int((int)x->gpu));
        json_object_object_add(l, "gpu_link", json_object_new_int((int)x->gpu_link));
        json_object_object_add(l, "switch", json_object_new_int((int)x->sw));
        json_object_object_add(l, "port", json_object_new_int((int)x->sw_port));
        json_object_array_add(la, l);
    }
    for (size_t i = 0; i < pl->ngpu_block; i++) {
        const ofm_access_link *x = &p->access[pl->gpu_block[i]];
        json_object *l = json_object_new_object();
        json_object_object_add(l, "gpu", json_object_new_int((int)x->gpu));
        json_object_object_add(l, "link", json_object_new_int((int)x->gpu_link));
        json_object_array_add(gb, l);
    }
    for (size_t i = 0; i < pl->nsw_block; i++) {
        const ofm_access_link *x = &p->access[pl->sw_block[i]];
        json_object *l = json_object_new_object();
        json_object_object_add(l, "switch", json_object_new_int((int)x->sw));
        json_object_object_add(l, "port", json_object_new_int((int)x->sw_port));
        json_object_object_add(l, "reason", json_object_new_string("GPU outside the VM"));
        json_object_array_add(sb, l);
    }
    for (size_t i = 0; i < pl->ntrunk_block; i++) {
        const ofm_trunk_link *t = &p->trunks[pl->trunk_block[i]];
        bool a_in = false;
        for (size_t k = 0; k < pl->nswitches; k++)
            a_in |= pl->switches[k] == t->sw_a;
        json_object *l = json_object_new_object();
        json_object_object_add(l, "switch", json_object_new_int((int)(a_in ? t->sw_a : t->sw_b)));
        json_object_object_add(l, "port", json_object_new_int((int)(a_in ? t->port_a : t->port_b)));
        json_object_object_add(l, "reason", json_object_new_string("trunk"));
        json_object_array_add(sb, l);
    }
    for (size_t i = 0; i < pl->ntrunk; i++) {
        const ofm_trunk_link *t = &p->trunks[pl->trunk[i]];
        json_object *l = json_object_new_object();
        json_object_object_add(l, "switch_a", json_object_new_int((int)t->sw_a));
        json_object_object_add(l, "port_a", json_object_new_int((int)t->port_a));
        json_object_object_add(l, "switch_b", json_object_new_int((int)t->sw_b));
        json_object_object_add(l, "port_b", json_object_new_int((int)t->port_b));
        json_object_array_add(ta, l);
    }
    json_object_object_add(o, "nvlinks", la);
    json_object_object_add(o, "trunks", ta);
    json_object_object_add(o, "disable_gpu_links", gb);
    json_object_object_add(o, "disable_switch_ports", sb);
    json_object_object_add(o, "nvlinks_per_gpu", json_object_new_int((int)pl->gpu_links_min));
    return o;
}

static int libvirt(const ofm_platform *p, const ofm_pt_plan *pl, const addrs *a)
{
    printf("<!-- openfm: %" PRIu32 "-GPU full-passthrough VM on %s, set %" PRIu32 " of %" PRIu32
           ": GPUs", pl->size, p->name, pl->set, pl->nsets);
    for (size_t i = 0; i < pl->ngpus; i++)
        printf("%s%" PRIu32, i ? "," : " ", pl->gpus[i]);
    printf("; NVSwitches");
    for (size_t i = 0; i < pl->nswitches; i++)
        printf("%s%" PRIu32, i ? "," : " ", pl->switches[i]);
    if (!pl->nswitches)
        printf(" none");
    printf(" -->\n");
    for (size_t k = 0; k < pl->ngpus + pl->nswitches; k++) {
        bool gpu = k < pl->ngpus;
        uint32_t id = gpu ? pl->gpus[k] : pl->switches[k - pl->ngpus];
        const char *pci = gpu ? gpu_addr(a, id) : sw_addr(a, id);
        unsigned dom, bus, dev, fn;
        if (!pci || sscanf(pci, "%x:%x:%x.%x", &dom, &bus, &dev, &fn) != 4) {
            fprintf(stderr, "fmctl passthrough: the backend gives no PCI address for %s %" PRIu32
                            "\n", gpu ? "GPU" : "NVSwitch", id);
            return 2;
        }
        printf("<!-- %s %" PRIu32 " -->\n<hostdev mode='subsystem' type='pci' managed='yes'>\n"
               "  <source>\n    <address domain='0x%04x' bus='0x%02x' slot='0x%02x' "
               "function='0x%x'/>\n  </source>\n</hostdev>\n",
               gpu ? "GPU" : "NVSwitch", id, dom, bus, dev, fn);
    }
    return 0;
}

/* "4" -> size; "1,2,3,4" or "1-4" -> a GPU list, in the syntax of fmctl
 * partition create (one parser, so "1,,2" is refused the same way). */
static int parse_gpus(const char *s, uint32_t *list, size_t *n, bool *is_list, char *why, size_t cap)
{
    *is_list = strchr(s, ',') || strchr(s, '-');
    if (!*is_list) {
        char *end;
        errno = 0;
        unsigned long v = strtoul(s, &end, 10);
        if (*s < '0' || *s > '9' || *end || errno || v > OFM_MAX_GPUS) {
            snprintf(why, cap, "'%.40s' is not a VM size 1-%d", s, OFM_MAX_GPUS);
            return -1;
        }
        list[0] = (uint32_t)v;
        *n = 1;
        return 0;
    }
    int k = ofm_partition_parse_gpu_list(s, list, OFM_MAX_GPUS, why, cap);
    if (k < 0)
        return -1;
    *n = (size_t)k;
    return 0;
}

int fmctl_passthrough_main(int argc, char **argv)
{
    static const struct option lo[] = {
        {"gpus", required_argument, NULL, 'g'},     {"json", no_argument, NULL, 'j'},
        {"libvirt", no_argument, NULL, 'l'},        {"guest-topology", required_argument, NULL, 't'},
        {"platform", required_argument, NULL, 'p'}, {"emu-dir", required_argument, NULL, 'd'},
        {"backend", required_argument, NULL, 'B'},  {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *gpus_arg = NULL, *topo_out = NULL, *plat = NULL, *dir = NULL, *backend = NULL;
    bool json = false, lv = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (c) {
        case 'g': gpus_arg = optarg; break;
        case 'j': json = true; break;
        case 'l': lv = true; break;
        case 't': topo_out = optarg; break;
        case 'p': plat = optarg; break;
        case 'd': dir = optarg; break;
        case 'B': backend = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind >= argc || strcmp(argv[optind], "plan") || optind + 1 != argc) {
        if (optind < argc && strcmp(argv[optind], "plan"))
            fprintf(stderr, "fmctl passthrough: unknown command '%.60s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    if ((json + lv + (topo_out != NULL)) > 1) {
        fprintf(stderr, "fmctl passthrough: --json, --libvirt and --guest-topology exclude each "
                        "other\n");
        return 2;
    }
    uint32_t list[OFM_MAX_GPUS];
    size_t nlist = 0;
    bool is_list = false;
    char gwhy[200];
    if (gpus_arg && parse_gpus(gpus_arg, list, &nlist, &is_list, gwhy, sizeof gwhy)) {
        fprintf(stderr, "fmctl passthrough: --gpus %s (a VM size, or GPU physical IDs like "
                        "1,2,3,4 or 1-4)\n", gwhy);
        return 2;
    }
    static ofm_platform P;
    static addrs A;
    const ofm_platform *p = NULL;
    ofm_hal *h = NULL;
    bool want_hal = !plat || dir || backend;
    if (want_hal && fmctl_open_backend("fmctl passthrough", backend, dir, &h) != OFM_HAL_OK)
        return 2;
    if (plat) {
        ofm_error e;
        if (ofm_platform_load(plat, getenv("OPENFM_TOPOLOGY_DIR"), &P, &e)) {
            char eb[700];
            fprintf(stderr, "fmctl passthrough: %s\n", ofm_error_format(&e, eb, sizeof eb));
            ofm_hal_close(h);
            return 2;
        }
        p = &P;
    } else if (!(p = ofm_hal_platform(h))) {
        fprintf(stderr, "fmctl passthrough: the %s backend names no platform model (real "
                        "hardware): give --platform NAME|FILE\n", h->ops->name);
        ofm_hal_close(h);
        return 2;
    }
    if (h) {
        ofm_hal_gpu g[OFM_MAX_GPUS];
        ofm_hal_switch s[OFM_MAX_SWITCHES];
        size_t n = 0;
        if (h->ops->list_gpus && h->ops->list_gpus(h, g, OFM_MAX_GPUS, &n) == OFM_HAL_OK)
            for (size_t i = 0; i < n && i < OFM_MAX_GPUS; i++) {
                A.gpu_id[A.ngpu] = g[i].phys_id;
                snprintf(A.gpu_pci[A.ngpu++], sizeof A.gpu_pci[0], "%s", g[i].pci_bdf);
            }
        n = 0;
        if (h->ops->list_switches &&
            h->ops->list_switches(h, s, OFM_MAX_SWITCHES, &n) == OFM_HAL_OK)
            for (size_t i = 0; i < n && i < OFM_MAX_SWITCHES; i++) {
                A.sw_id[A.nsw] = s[i].phys_id;
                snprintf(A.sw_pci[A.nsw++], sizeof A.sw_pci[0], "%s", s[i].pci_bdf);
            }
    }
    static ofm_pt_plan plans[OFM_PT_MAX_PLANS];
    size_t nplans = 0;
    char why[600];
    int rc = 0;
    uint32_t sizes[8];
    size_t nsizes = 0;
    if (is_list) {
        if (ofm_pt_plan_for(p, list, nlist, &plans[0], why, sizeof why))
            rc = 1;
        else
            nplans = 1;
    } else if (gpus_arg) {
        if (ofm_pt_plans(p, list[0], plans, &nplans, why, sizeof why))
            rc = 1;
    } else {
        nsizes = ofm_pt_sizes(p, sizes, 8);
        if (!nsizes) {
            ofm_pt_plans(p, 1, plans, &nplans, why, sizeof why); /* for the reason */
            rc = 1;
        }
    }
    if (rc) {
        fprintf(stderr, "fmctl passthrough: refused: %s\n", why);
        ofm_hal_close(h);
        return 1;
    }
    if ((lv || topo_out) && nplans != 1) {
        fprintf(stderr, "fmctl passthrough: --%s needs one plan: give --gpus LIST (the VM's GPU "
                        "physical IDs)%s\n", lv ? "libvirt" : "guest-topology",
                nplans > 1 ? "; --gpus N matches several sets" : "");
        ofm_hal_close(h);
        return 2;
    }
    if (lv) {
        rc = libvirt(p, &plans[0], &A);
    } else if (topo_out) {
        if (!plans[0].nswitches) {
            fprintf(stderr, "fmctl passthrough: refused: a %" PRIu32 "-GPU VM has no NVSwitch: "
                            "its guest has no fabric and needs no openfm\n", plans[0].size);
            rc = 1;
        } else {
            FILE *f = strcmp(topo_out, "-") ? fopen(topo_out, "w") : stdout;
            if (!f) {
                fprintf(stderr, "fmctl passthrough: %s: %s\n", topo_out, strerror(errno));
                rc = 2;
            } else {
                rc = ofm_pt_guest_topology(p, &plans[0], f) ? 2 : 0;
                if (f != stdout && fclose(f))
                    rc = 2;
            }
        }
    } else {
        uint32_t one[1];
        const uint32_t *sz = nsizes ? sizes : one;
        size_t nsz = nsizes ? nsizes : 1;
        one[0] = nplans ? plans[0].size : 0;
        json_object *arr = json ? json_object_new_array() : NULL;
        if (!json) {
            uint32_t all[8];
            size_t na = ofm_pt_sizes(p, all, 8);
            printf("%s: full-passthrough VM sizes", p->name);
            for (size_t i = 0; i < na; i++)
                printf("%s%" PRIu32, i ? ", " : " ", all[i]);
            printf(" GPUs (FM 6.1). Counts and grouping are the guide's; the GPU, NVSwitch and "
                   "link IDs\nare derived from the wiring. Disabled links stay blocked for the "
                   "VM's life (FM 6.7-6.8).\n");
        }
        for (size_t s = 0; s < nsz; s++) {
            if (nsizes && ofm_pt_plans(p, sz[s], plans, &nplans, why, sizeof why))
                continue;
            for (size_t i = 0; i < nplans; i++) {
                if (json)
                    json_object_array_add(arr, plan_json(p, &plans[i], &A));
                else
                    print_plan(p, &plans[i], &A);
            }
        }
        if (json) {
            json_object *o = json_object_new_object();
            json_object_object_add(o, "platform", json_object_new_string(p->name));
            json_object_object_add(o, "plans", arr);
            printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
            json_object_put(o);
        }
    }
    ofm_hal_close(h);
    return rc;
}
