/* fmctl mig: MIG partitioning with nvidia-smi mig's flags, tables and
 * messages, on the emulated system (or any HAL backend). */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "mig/mig.h"
#include "mig/mig_ops.h"
#include "tools/fmctl.h"
#include "tools/fmctl_backend.h"
#include "tools/fmctl_connect.h"
#include "tools/fmctl_linkwait.h"
#include "openfm/emu.h"
#include "sdk/nvfm_ext.h"
#include "status/status.h"

#define MAX_GPUS OFM_MAX_GPUS
#define MAX_ITEMS 16

static void usage(FILE *f)
{
    fprintf(f,
        "usage: fmctl mig [-i GPU] [--backend SPEC | --emu-dir DIR] [--json] ACTION\n"
        "       fmctl mig mode enable|disable [-i GPU]\n"
        "       fmctl mig hold|release -i GPU\n"
        "       fmctl mig apply|assert -f FILE -c LABEL\n"
        "       fmctl mig export [-c LABEL]\n"
        "\n"
        "MIG partitioning of the GPUs of an emulated system or, through NVML, of real GPUs\n"
        "(--backend nvml), with nvidia-smi mig's flags, tables and messages. Profiles come\n"
        "from the built-in catalog of the GPU's model.\n"
        "\n"
        "Actions (one per call; single dash as in nvidia-smi, double dash also accepted):\n"
        "  -L, --list-gpus        list GPUs and their MIG devices with UUIDs, as nvidia-smi\n"
        "                         -L: a MIG-... UUID selects that device for CUDA\n"
        "                         (CUDA_VISIBLE_DEVICES=MIG-...). Emulated MIG devices get\n"
        "                         openfm's derived UUIDs, stable across runs (docs/mig.md)\n"
        "  -lgip                  list GPU instance profiles with free/total counts\n"
        "  -lgipp                 list each profile's possible placements {starts}:size\n"
        "  -cgi LIST [-C]         create GPU instances; LIST is comma-separated profile\n"
        "                         names (3g.40gb), IDs (9) or ID:start (9:4). Items without\n"
        "                         a start are placed by the placement engine, which finds a\n"
        "                         placement whenever one exists. -C also creates the\n"
        "                         default compute instance in each\n"
        "  -lgi                   list GPU instances\n"
        "  -dgi [-gi IDS]         destroy GPU instances (all without -gi)\n"
        "  -lcip [-gi IDS]        list compute instance profiles of GPU instances\n"
        "  -cci [LIST] -gi IDS    create compute instances (CI profile IDs or names;\n"
        "                         default: the default CI profile)\n"
        "  -lci [-gi IDS]         list compute instances\n"
        "  -dci [-ci IDS] [-gi IDS] destroy compute instances\n"
        "  --mode 1|0             enable or disable MIG mode (like nvidia-smi -mig 1|0);\n"
        "                         the same as 'mode enable|disable'. The GPU is reset to\n"
        "                         apply it; while a client holds the GPU the change stays\n"
        "                         pending. Needs CAP_SYS_ADMIN (root), as on real GPUs;\n"
        "                         on an emulated system, a process that can never hold\n"
        "                         it (non-root, or a container without it) is exempt\n"
        "                         On an A100-class NVSwitch system disabling MIG resets\n"
        "                         the GPU and leaves its switch-side NVLinks down until\n"
        "                         the fabric manager retrains them (FM §13.9): when one\n"
        "                         manages the system, fmctl waits for that (at most\n"
        "                         --wait-timeout S seconds, default 30) and fails if the\n"
        "                         links do not come back; without one it says so\n"
        "  apply -f FILE -c LABEL apply a mig-parted style YAML config (version: v1,\n"
        "                         mig-configs, devices, mig-enabled, mig-devices,\n"
        "                         device-filter; see docs/mig.md). GPUs that already match\n"
        "                         are left untouched; each changed GPU is reported\n"
        "  assert -f FILE -c LABEL exit 0 if the label is applied, else 1 with the differences\n"
        "  export [-c LABEL]      print the current layout as a config (label 'current')\n"
        "  hold | release         add / remove an emulated client holding the GPU (a\n"
        "                         holder makes GPU resets fail: 'In use by another client')\n"
        "\n"
        "Options:\n"
        "  -i GPU         GPU index (0-based in enumeration order, as nvidia-smi counts),\n"
        "                 PCI bus ID (00000000:18:00.0, 0000:18:00.0 or 18:00.0) or GPU\n"
        "                 UUID (GPU-...); several as a comma list (0,GPU-...). Default:\n"
        "                 every GPU\n"
        "  -gi IDS, -ci IDS GPU / compute instance IDs as listed by -lgi / -lci; several\n"
        "                 as a comma list (-dci -ci 0,1,2). Default: every instance\n"
        "  --emu-dir DIR  the emulated system (default $OPENFM_EMU_DIR, else\n"
        "                 $XDG_RUNTIME_DIR/openfm-emu/default or /tmp/openfm-emu-UID/default)\n"
        "  --backend SPEC the backend: nvml (real GPUs), emu:DIR, nvml+emu:DIR (default\n"
        "                 $OPENFM_BACKEND, else the emulated system of --emu-dir)\n"
        "  -f FILE, --file FILE   apply/assert: the YAML config\n"
        "  -c LABEL, --config LABEL  apply/assert/export: the config's label\n"
        "  --hooks FILE, -k FILE  services to stop before a MIG mode change (--mode,\n"
        "                 apply) and start again after (YAML, docs/mig.md \"MIG hooks\");\n"
        "                 default $OPENFM_MIG_HOOKS. On the emulator each service is an\n"
        "                 emulated client: stopping it releases the GPUs it holds\n"
        "  --wait-timeout S  --mode 0: how long to wait for the fabric manager to\n"
        "                 retrain the GPU's NVLinks (1-3600 s, default 30)\n"
        "  --socket PATH, --address HOST[:PORT], --timeout MS  --mode 0 on real\n"
        "                 hardware: where to ask whether a fabric manager runs (as for\n"
        "                 fmctl status; on the emulator its lock on the system says so)\n"
        "  --json         JSON output for every action except apply/assert (text\n"
        "                 report) and export (YAML)\n"
        "  -h, --help     this help\n"
        "\n"
        "Environment: OPENFM_BACKEND (see --backend), OPENFM_EMU_DIR (see --emu-dir),\n"
        "OPENFM_MIG_HOOKS (see --hooks),\n"
        "OPENFM_NVML_LIBRARY (the NVML library, default libnvidia-ml.so.1).\n"
        "Exit status: 0 success, 1 an operation failed (message says which and why) or\n"
        "assert found differences, 2 usage error, invalid config, or the emulated system\n"
        "backend could not be opened.\n");
}

/* -gi / -ci: a comma list of IDs; empty selects every instance */
#define MAX_IDS 32
typedef struct {
    uint32_t v[MAX_IDS];
    size_t n;
} id_set;

static bool id_in(const id_set *s, uint32_t id)
{
    if (!s->n)
        return true;
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i] == id)
            return true;
    return false;
}

typedef struct {
    const char *dir, *backend;
    bool json, C;
    int action;
    const char *list;
    id_set gi, ci;
    char sel[256];               /* -i as given: resolved once the GPUs are known */
    bool gpu_sel[MAX_GPUS];
    bool any_sel;
    int mode;
    const char *file, *label;
    const char *hooks_file;      /* --hooks, else $OPENFM_MIG_HOOKS */
    ofm_mig_hooks *hooks;
    fmctl_conn_opts co;          /* --mode 0: the fabric manager to wait for */
    unsigned wait_s;
    ofm_hal *h;
    ofm_hal_gpu gpus[MAX_GPUS];
    size_t ngpus;
    json_object *out;
} mig_opts;

enum { A_NONE, A_LGIP, A_LGIPP, A_CGI, A_LGI, A_DGI, A_LCIP, A_CCI, A_LCI, A_DCI, A_MODE, A_HOLD,
       A_RELEASE, A_APPLY, A_ASSERT, A_EXPORT, A_LIST };

static int parse_num(const char *what, const char *s, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno || v < 0 || v > max) {
        fprintf(stderr, "fmctl mig: %s: '%.60s' is not a number in 0-%ld\n", what, s, max);
        return -1;
    }
    *out = v;
    return 0;
}

static void bdf_upper(const char *bdf, char *out, size_t len)
{
    /* nvidia-smi prints 8-digit domains: 00000000:07:00.0 */
    snprintf(out, len, "0000%s", bdf);
    for (char *p = out; *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 'a' + 'A');
}

static const ofm_mig_catalog *cat_of(const mig_opts *o, size_t idx)
{
    return ofm_mig_catalog_for_model(o->gpus[idx].model);
}

static size_t existing(mig_opts *o, size_t idx, ofm_mig_placed *ex, ofm_hal_gpu_instance *gis)
{
    size_t n = 0;
    if (o->h->ops->gi_list(o->h, o->gpus[idx].phys_id, gis, OFM_MIG_MAX_GIS, &n)) {
        /* never silently: a driver that cannot list would look like an empty GPU */
        fprintf(stderr, "Unable to list GPU instances of GPU %zu: %s\n", idx,
                ofm_hal_last_error(o->h));
        return 0;
    }
    if (n > OFM_MIG_MAX_GIS)
        n = OFM_MIG_MAX_GIS;
    for (size_t i = 0; i < n && ex; i++)
        ex[i] = (ofm_mig_placed){gis[i].gi_id, gis[i].profile_id, gis[i].start};
    return n;
}

static void list_cis(mig_opts *o, size_t idx, uint32_t gi, ofm_hal_compute_instance *cis,
                     size_t *n)
{
    *n = 0;
    if (o->h->ops->ci_list(o->h, o->gpus[idx].phys_id, gi, cis, 8, n)) {
        fprintf(stderr, "Unable to list compute instances of GPU %zu GPU instance %u: %s\n", idx,
                gi, ofm_hal_last_error(o->h));
        *n = 0;
    }
    if (*n > 8)
        *n = 8;
}

/* A GPU the action applies to, with MIG enabled. */
static bool usable(mig_opts *o, size_t idx, int *rc)
{
    ofm_hal_mig_mode m;
    int r = o->h->ops->mig_mode_get(o->h, o->gpus[idx].phys_id, &m);
    if (r == OFM_HAL_OK && m.current)
        return true;
    if (o->any_sel) {
        char bdf[40];
        bdf_upper(o->gpus[idx].pci_bdf, bdf, sizeof bdf);
        fprintf(stderr, "Unable to use GPU %zu (%s): %s\n", idx, bdf,
                r ? ofm_hal_last_error(o->h)
                  : m.pending ? "MIG mode is not enabled (enable pending: reset the GPU, or stop "
                                "its clients and run 'fmctl mig -i N --mode 1' again)"
                              : "MIG mode is not enabled: use 'fmctl mig -i N --mode 1'");
        *rc = 1;
    }
    return false;
}

#define FOR_GPUS(o, idx) for (size_t idx = 0; idx < (o)->ngpus; idx++) if (!(o)->any_sel || (o)->gpu_sel[idx])

static const char *hline(int w)
{
    static char b[200];
    b[0] = '+';
    memset(b + 1, '-', (size_t)w);
    b[w + 1] = '+';
    b[w + 2] = 0;
    return b;
}

static int act_lgip(mig_opts *o, bool placements)
{
    int rc = 0;
    bool header = false;
    json_object *arr = json_object_new_array();
    FOR_GPUS(o, idx) {
        if (!usable(o, idx, &rc))
            continue;
        const ofm_mig_catalog *c = cat_of(o, idx);
        ofm_mig_placed ex[OFM_MIG_MAX_GIS];
        ofm_hal_gpu_instance gis[OFM_MIG_MAX_GIS];
        size_t nex = existing(o, idx, ex, gis);
        for (size_t pi = 0; pi < c->nprofiles; pi++) {
            const ofm_mig_gi_profile *p = &c->profiles[pi];
            /* free = how many more the geometry still takes */
            uint32_t want[OFM_MIG_MAX_GIS], out[OFM_MIG_MAX_GIS], nfree = 0;
            for (uint32_t k = 1; k <= p->max; k++) {
                for (uint32_t j = 0; j < k; j++)
                    want[j] = p->id;
                if (ofm_mig_place(c, ex, nex, want, k, out, NULL, 0))
                    break;
                nfree = k;
            }
            if (o->json) {
                json_object *j = json_object_new_object();
                json_object_object_add(j, "gpu", json_object_new_int((int)idx));
                json_object_object_add(j, "name", json_object_new_string(p->name));
                json_object_object_add(j, "id", json_object_new_int((int)p->id));
                json_object_object_add(j, "free", json_object_new_int((int)nfree));
                json_object_object_add(j, "total", json_object_new_int((int)p->max));
                json_object_object_add(j, "memory_gib", json_object_new_double(p->mem_gib));
                json_object_object_add(j, "sm", json_object_new_int((int)p->sms));
                json_object *pl = json_object_new_array();
                for (size_t k = 0; k < p->nplacements; k++)
                    json_object_array_add(pl, json_object_new_int((int)p->placements[k]));
                json_object_object_add(j, "placements", pl);
                json_object_object_add(j, "placement_size", json_object_new_int((int)p->slices));
                json_object_array_add(arr, j);
                continue;
            }
            if (placements) {
                printf("GPU %2zu Profile ID %2u Placements: {", idx, p->id);
                for (size_t k = 0; k < p->nplacements; k++)
                    printf("%s%u", k ? "," : "", p->placements[k]);
                printf("}:%u\n", p->slices);
                continue;
            }
            if (!header) {
                printf("%s\n", hline(77));
                printf("| %-76s|\n", "GPU instance profiles:");
                printf("| GPU   Name             ID    Instances   Memory     P2P    SM    DEC   ENC  |\n");
                printf("|                              Free/Total   GiB              CE    JPEG  OFA  |\n");
                printf("|=============================================================================|\n");
                header = true;
            }
            char name[40], ft[16];
            snprintf(name, sizeof name, "MIG %s", p->name);
            snprintf(ft, sizeof ft, "%u/%u", nfree, p->max);
            printf("| %3zu  %-16s %3u     %-9s %6.2f      No   %4u   %4u  %4u  |\n", idx, name,
                   p->id, ft, p->mem_gib, p->sms, p->dec, p->enc);
            printf("| %57s%4u   %4u  %4u  |\n", "", p->ce, p->jpeg, p->ofa);
            printf("%s\n", pi + 1 == c->nprofiles ? hline(77)
                                                  : "+-----------------------------------------------------------------------------+");
        }
    }
    if (o->json)
        printf("%s\n", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY));
    json_object_put(arr);
    return rc;
}

typedef struct {
    const ofm_mig_gi_profile *p;
    bool has_start;
    uint32_t start;
} cgi_item;

static int act_cgi(mig_opts *o)
{
    int rc = 0;
    json_object *arr = json_object_new_array();
    FOR_GPUS(o, idx) {
        if (!usable(o, idx, &rc))
            continue;
        const ofm_mig_catalog *c = cat_of(o, idx);
        uint32_t gpu = o->gpus[idx].phys_id;
        cgi_item items[MAX_ITEMS];
        size_t n = 0;
        char buf[512];
        snprintf(buf, sizeof buf, "%s", o->list);
        char *save = NULL;
        bool bad = false;
        for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            if (n == MAX_ITEMS) {
                fprintf(stderr, "fmctl mig: -cgi: more than %d profiles\n", MAX_ITEMS);
                bad = true;
                break;
            }
            char *colon = strchr(t, ':');
            long st = -1;
            if (colon) {
                *colon = 0;
                if (parse_num("-cgi start", colon + 1, OFM_MIG_MAX_SLICES - 1, &st)) {
                    bad = true;
                    break;
                }
            }
            const ofm_mig_gi_profile *p = ofm_mig_profile_lookup(c, t);
            if (!p) {
                fprintf(stderr, "Unable to create a GPU instance on GPU %zu using profile %s: "
                                "Invalid Argument (%s has no such profile; see fmctl mig -lgip)\n",
                        idx, t, c->name);
                bad = true;
                break;
            }
            items[n++] = (cgi_item){p, st >= 0, st >= 0 ? (uint32_t)st : 0};
        }
        if (bad) {
            rc = 1;
            continue;
        }
        /* explicit starts are taken as given; the engine places the others
         * around them and what exists */
        ofm_mig_placed ex[2 * OFM_MIG_MAX_GIS];
        ofm_hal_gpu_instance gis[OFM_MIG_MAX_GIS];
        size_t nex = existing(o, idx, ex, gis);
        uint32_t want[MAX_ITEMS], out[MAX_ITEMS];
        size_t nw = 0, widx[MAX_ITEMS];
        for (size_t i = 0; i < n; i++) {
            if (items[i].has_start) {
                if (nex < 2 * OFM_MIG_MAX_GIS)
                    ex[nex++] = (ofm_mig_placed){0, items[i].p->id, items[i].start};
            } else {
                widx[nw] = i;
                want[nw++] = items[i].p->id;
            }
        }
        char why[300] = "";
        bool planned = nw == 0 || ofm_mig_place(c, ex, nex, want, nw, out, why, sizeof why) == 0;
        for (size_t k = 0; k < nw && planned; k++) {
            items[widx[k]].start = out[k];
            items[widx[k]].has_start = true;
        }
        for (size_t i = 0; i < n; i++) {
            const ofm_mig_gi_profile *p = items[i].p;
            uint32_t gi = 0;
            int r = planned || items[i].has_start
                        ? o->h->ops->gi_create(o->h, gpu, p->id, items[i].start, 0, &gi)
                        : OFM_HAL_ENOSPC;
            if (r) {
                fprintf(stderr, "Unable to create a GPU instance on GPU %zu using profile %u: %s\n",
                        idx, p->id, r == OFM_HAL_ENOSPC ? "Insufficient Resources" : ofm_hal_strerror(r));
                const char *reason = planned || items[i].has_start ? ofm_hal_last_error(o->h) : why;
                if (reason[0])
                    fprintf(stderr, "  reason: %s\n", reason);
                rc = 1;
                continue;
            }
            json_object *j = json_object_new_object();
            json_object_object_add(j, "gpu", json_object_new_int((int)idx));
            json_object_object_add(j, "gpu_instance_id", json_object_new_int((int)gi));
            json_object_object_add(j, "profile", json_object_new_string(p->name));
            json_object_object_add(j, "profile_id", json_object_new_int((int)p->id));
            json_object_object_add(j, "start", json_object_new_int((int)items[i].start));
            json_object_object_add(j, "size", json_object_new_int((int)p->slices));
            if (!o->json)
                printf("Successfully created GPU instance ID %u on GPU %zu using profile MIG %s "
                       "(ID %u)\n", gi, idx, p->name, p->id);
            if (o->C) {
                ofm_mig_ci_profile cp[8];
                size_t ncp = ofm_mig_ci_profiles(p, cp, 8);
                const ofm_mig_ci_profile *d = &cp[ncp - 1];
                uint32_t ci;
                int r2 = o->h->ops->ci_create(o->h, gpu, gi, d->id, 0, 0, &ci);
                if (r2) {
                    fprintf(stderr, "Unable to create a compute instance on GPU %zu GPU instance "
                                    "ID %u using profile %u: %s\n", idx, gi, d->id,
                            ofm_hal_last_error(o->h));
                    rc = 1;
                } else {
                    json_object_object_add(j, "compute_instance_id", json_object_new_int((int)ci));
                    if (!o->json)
                        printf("Successfully created compute instance ID %u on GPU %zu GPU "
                               "instance ID %u using profile MIG %s (ID %u)\n", ci, idx, gi,
                               d->name, d->id);
                }
            }
            json_object_array_add(arr, j);
        }
    }
    if (o->json)
        printf("%s\n", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY));
    json_object_put(arr);
    return rc;
}

static int act_lgi(mig_opts *o)
{
    int rc = 0;
    size_t total = 0;
    json_object *arr = json_object_new_array();
    FOR_GPUS(o, idx) {
        if (!usable(o, idx, &rc))
            continue;
        const ofm_mig_catalog *c = cat_of(o, idx);
        ofm_hal_gpu_instance gis[OFM_MIG_MAX_GIS];
        size_t n = existing(o, idx, NULL, gis);
        for (size_t i = 0; i < n; i++) {
            const ofm_mig_gi_profile *p = ofm_mig_profile_by_id(c, gis[i].profile_id);
            if (o->json) {
                json_object *j = json_object_new_object();
                json_object_object_add(j, "gpu", json_object_new_int((int)idx));
                json_object_object_add(j, "gpu_instance_id", json_object_new_int((int)gis[i].gi_id));
                json_object_object_add(j, "profile", json_object_new_string(p ? p->name : "?"));
                json_object_object_add(j, "profile_id", json_object_new_int((int)gis[i].profile_id));
                json_object_object_add(j, "start", json_object_new_int((int)gis[i].start));
                json_object_object_add(j, "size", json_object_new_int((int)gis[i].size));
                json_object_array_add(arr, j);
                total++;
                continue;
            }
            if (!total++) {
                printf("%s\n", hline(55));
                printf("| %-54s|\n", "GPU instances:");
                printf("| GPU   Name             Profile  Instance   Placement  |\n");
                printf("|                          ID       ID       Start:Size |\n");
                printf("|=======================================================|\n");
            }
            char name[40], pl[16];
            snprintf(name, sizeof name, "MIG %s", p ? p->name : "?");
            snprintf(pl, sizeof pl, "%u:%u", gis[i].start, gis[i].size);
            printf("| %3zu  %-16s  %5u    %5u       %-7s |\n", idx, name, gis[i].profile_id,
                   gis[i].gi_id, pl);
        }
    }
    if (o->json)
        printf("%s\n", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY));
    else if (total)
        printf("%s\n", hline(55));
    else if (!rc) {
        fprintf(stderr, "No GPU instances found: Not Found\n");
        rc = 1;
    }
    json_object_put(arr);
    return rc;
}

static int act_dgi(mig_opts *o)
{
    int rc = 0;
    bool any = false;
    json_object *arr = json_object_new_array();
    FOR_GPUS(o, idx) {
        if (!usable(o, idx, &rc))
            continue;
        ofm_hal_gpu_instance gis[OFM_MIG_MAX_GIS];
        size_t n = existing(o, idx, NULL, gis);
        for (size_t i = 0; i < n; i++) {
            if (!id_in(&o->gi, gis[i].gi_id))
                continue;
            any = true;
            int r = o->h->ops->gi_destroy(o->h, o->gpus[idx].phys_id, gis[i].gi_id);
            if (r) {
                fprintf(stderr, "Unable to destroy GPU instance ID %u from GPU %zu: %s\n",
                        gis[i].gi_id, idx, r == OFM_HAL_EBUSY ? "In use by another client"
                                                              : ofm_hal_last_error(o->h));
                rc = 1;
            } else if (!o->json) {
                printf("Successfully destroyed GPU instance ID %u from GPU %zu\n", gis[i].gi_id, idx);
            } else {
                json_object *j = json_object_new_object();
                json_object_object_add(j, "gpu", json_object_new_int((int)idx));
                json_object_object_add(j, "destroyed_gpu_instance_id",
                                       json_object_new_int((int)gis[i].gi_id));
                json_object_array_add(arr, j);
            }
        }
    }
    if (!any && !rc) {
        fprintf(stderr, "No GPU instances found: Not Found\n");
        rc = 1;
    }
    if (o->json)
        printf("%s\n", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY));
    json_object_put(arr);
    return rc;
}

/* Walks every selected GPU instance; `fn` handles one. */
typedef int (*gi_fn)(mig_opts *o, size_t idx, const ofm_mig_gi_profile *p,
                     const ofm_hal_gpu_instance *g, json_object *arr, bool *first);

static int each_gi(mig_opts *o, gi_fn fn, json_object *arr, bool *found)
{
    int rc = 0;
    bool first = true;
    FOR_GPUS(o, idx) {
        if (!usable(o, idx, &rc))
            continue;
        const ofm_mig_catalog *c = cat_of(o, idx);
        ofm_hal_gpu_instance gis[OFM_MIG_MAX_GIS];
        size_t n = existing(o, idx, NULL, gis);
        for (size_t i = 0; i < n; i++) {
            if (!id_in(&o->gi, gis[i].gi_id))
                continue;
            *found = true;
            const ofm_mig_gi_profile *p = ofm_mig_profile_by_id(c, gis[i].profile_id);
            if (p && fn(o, idx, p, &gis[i], arr, &first))
                rc = 1;
        }
    }
    return rc;
}

static int lcip_one(mig_opts *o, size_t idx, const ofm_mig_gi_profile *p,
                    const ofm_hal_gpu_instance *g, json_object *arr, bool *first)
{
    ofm_mig_ci_profile cp[8];
    size_t n = ofm_mig_ci_profiles(p, cp, 8);
    ofm_hal_compute_instance cis[8];
    size_t nci = 0;
    list_cis(o, idx, g->gi_id, cis, &nci);
    uint32_t used = 0;
    for (size_t i = 0; i < nci && i < 8; i++)
        used |= ((1u << cis[i].size) - 1) << cis[i].start;
    for (size_t k = 0; k < n; k++) {
        uint32_t nfree = 0;
        for (uint32_t s = 0; s + cp[k].size <= p->compute; s += cp[k].size)
            if (!(used & (((1u << cp[k].size) - 1) << s)))
                nfree++;
        if (o->json) {
            json_object *j = json_object_new_object();
            json_object_object_add(j, "gpu", json_object_new_int((int)idx));
            json_object_object_add(j, "gpu_instance_id", json_object_new_int((int)g->gi_id));
            json_object_object_add(j, "name", json_object_new_string(cp[k].name));
            json_object_object_add(j, "id", json_object_new_int((int)cp[k].id));
            json_object_object_add(j, "default", json_object_new_boolean(cp[k].is_default));
            json_object_object_add(j, "free", json_object_new_int((int)nfree));
            json_object_object_add(j, "total", json_object_new_int((int)cp[k].max));
            json_object_object_add(j, "sm", json_object_new_int((int)cp[k].sms));
            json_object_array_add(arr, j);
            continue;
        }
        if (*first) {
            printf("%s\n", hline(86));
            printf("| %-85s|\n", "Compute instance profiles:");
            printf("| GPU     GPU       Name             Profile  Instances   Exclusive       Shared       |\n");
            printf("|       Instance                       ID     Free/Total     SM       DEC   ENC   OFA  |\n");
            printf("|         ID                                                          CE    JPEG       |\n");
            printf("|======================================================================================|\n");
            *first = false;
        }
        char name[48], ft[16], id[8];
        snprintf(name, sizeof name, "MIG %s", cp[k].name);
        snprintf(ft, sizeof ft, "%u/%u", nfree, cp[k].max);
        snprintf(id, sizeof id, "%u%s", cp[k].id, cp[k].is_default ? "*" : "");
        printf("| %3zu    %3u       %-18s %-4s   %-9s   %4u       %4u  %4u  %4u   |\n", idx,
               g->gi_id, name, id, ft, cp[k].sms, p->dec, p->enc, p->ofa);
        printf("| %68s%4u  %4u         |\n", "", p->ce, p->jpeg);
        printf("%s\n", hline(86));
    }
    return 0;
}

static int cci_one(mig_opts *o, size_t idx, const ofm_mig_gi_profile *p,
                   const ofm_hal_gpu_instance *g, json_object *arr, bool *first)
{
    ofm_mig_ci_profile cp[8];
    size_t n = ofm_mig_ci_profiles(p, cp, 8);
    char buf[512];
    snprintf(buf, sizeof buf, "%s", o->list ? o->list : "");
    int rc = 0;
    char *save = NULL;
    char *t = strtok_r(buf, ",", &save);
    do {
        const ofm_mig_ci_profile *want = &cp[n - 1];
        if (t) {
            want = NULL;
            for (size_t k = 0; k < n; k++) {
                char id[8];
                snprintf(id, sizeof id, "%u", cp[k].id);
                if (!strcmp(t, id) || !strcasecmp(t, cp[k].name))
                    want = &cp[k];
            }
            if (!want) {
                fprintf(stderr, "Unable to create a compute instance on GPU %zu GPU instance ID "
                                "%u using profile %s: Invalid Argument (see fmctl mig -lcip)\n",
                        idx, g->gi_id, t);
                rc = 1;
                continue;
            }
        }
        /* first free aligned start, as the driver picks */
        ofm_hal_compute_instance cis[8];
        size_t nci = 0;
        list_cis(o, idx, g->gi_id, cis, &nci);
        uint32_t used = 0;
        for (size_t i = 0; i < nci && i < 8; i++)
            used |= ((1u << cis[i].size) - 1) << cis[i].start;
        uint32_t s = 0;
        while (s + want->size <= p->compute && (used & (((1u << want->size) - 1) << s)))
            s += want->size;
        uint32_t ci;
        int r = o->h->ops->ci_create(o->h, o->gpus[idx].phys_id, g->gi_id, want->id,
                                     s + want->size <= p->compute ? s : 0, 0, &ci);
        if (r) {
            fprintf(stderr, "Unable to create a compute instance on GPU %zu GPU instance ID %u "
                            "using profile %u: %s\n", idx, g->gi_id, want->id,
                    r == OFM_HAL_ENOSPC ? "Insufficient Resources" : ofm_hal_last_error(o->h));
            rc = 1;
            continue;
        }
        json_object *j = json_object_new_object();
        json_object_object_add(j, "gpu", json_object_new_int((int)idx));
        json_object_object_add(j, "gpu_instance_id", json_object_new_int((int)g->gi_id));
        json_object_object_add(j, "compute_instance_id", json_object_new_int((int)ci));
        json_object_object_add(j, "profile", json_object_new_string(want->name));
        json_object_object_add(j, "profile_id", json_object_new_int((int)want->id));
        json_object_array_add(arr, j);
        if (!o->json)
            printf("Successfully created compute instance ID %u on GPU %zu GPU instance ID %u "
                   "using profile MIG %s (ID %u)\n", ci, idx, g->gi_id, want->name, want->id);
    } while (t && (t = strtok_r(NULL, ",", &save)));
    (void)first;
    return rc;
}

static int lci_one(mig_opts *o, size_t idx, const ofm_mig_gi_profile *p,
                   const ofm_hal_gpu_instance *g, json_object *arr, bool *first)
{
    ofm_hal_compute_instance cis[8];
    size_t nci = 0;
    list_cis(o, idx, g->gi_id, cis, &nci);
    ofm_mig_ci_profile cp[8];
    size_t n = ofm_mig_ci_profiles(p, cp, 8);
    for (size_t i = 0; i < nci && i < 8; i++) {
        const char *name = "?";
        for (size_t k = 0; k < n; k++)
            if (cp[k].id == cis[i].profile_id)
                name = cp[k].name;
        if (o->json) {
            json_object *j = json_object_new_object();
            json_object_object_add(j, "gpu", json_object_new_int((int)idx));
            json_object_object_add(j, "gpu_instance_id", json_object_new_int((int)g->gi_id));
            json_object_object_add(j, "compute_instance_id", json_object_new_int((int)cis[i].ci_id));
            json_object_object_add(j, "profile", json_object_new_string(name));
            json_object_object_add(j, "profile_id", json_object_new_int((int)cis[i].profile_id));
            json_object_object_add(j, "start", json_object_new_int((int)cis[i].start));
            json_object_object_add(j, "size", json_object_new_int((int)cis[i].size));
            json_object_array_add(arr, j);
            continue;
        }
        if (*first) {
            printf("%s\n", hline(68));
            printf("| %-67s|\n", "Compute instances:");
            printf("| GPU     GPU       Name             Profile   Instance   Placement  |\n");
            printf("|       Instance                       ID        ID       Start:Size |\n");
            printf("|         ID                                                         |\n");
            printf("|====================================================================|\n");
            *first = false;
        }
        char nm[48], pl[16];
        snprintf(nm, sizeof nm, "MIG %s", name);
        snprintf(pl, sizeof pl, "%u:%u", cis[i].start, cis[i].size);
        printf("| %3zu    %3u       %-18s %4u       %4u        %-6s |\n", idx, g->gi_id, nm,
               cis[i].profile_id, cis[i].ci_id, pl);
    }
    return 0;
}

static int dci_one(mig_opts *o, size_t idx, const ofm_mig_gi_profile *p,
                   const ofm_hal_gpu_instance *g, json_object *arr, bool *first)
{
    ofm_hal_compute_instance cis[8];
    size_t nci = 0;
    int rc = 0;
    list_cis(o, idx, g->gi_id, cis, &nci);
    for (size_t i = 0; i < nci && i < 8; i++) {
        if (!id_in(&o->ci, cis[i].ci_id))
            continue;
        *first = false;
        if (o->h->ops->ci_destroy(o->h, o->gpus[idx].phys_id, g->gi_id, cis[i].ci_id)) {
            fprintf(stderr, "Unable to destroy compute instance ID %u from GPU %zu GPU instance "
                            "ID %u: %s\n", cis[i].ci_id, idx, g->gi_id, ofm_hal_last_error(o->h));
            rc = 1;
        } else if (!o->json) {
            printf("Successfully destroyed compute instance ID %u from GPU %zu GPU instance ID "
                   "%u\n", cis[i].ci_id, idx, g->gi_id);
        } else {
            json_object *j = json_object_new_object();
            json_object_object_add(j, "gpu", json_object_new_int((int)idx));
            json_object_object_add(j, "gpu_instance_id", json_object_new_int((int)g->gi_id));
            json_object_object_add(j, "destroyed_compute_instance_id",
                                   json_object_new_int((int)cis[i].ci_id));
            json_object_array_add(arr, j);
        }
    }
    (void)p;
    return rc;
}

static int act_gi_walk(mig_opts *o, gi_fn fn, const char *none)
{
    json_object *arr = json_object_new_array();
    bool found = false;
    int rc = each_gi(o, fn, arr, &found);
    if (o->json)
        printf("%s\n", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY));
    json_object_put(arr);
    if (!found && !rc) {
        fprintf(stderr, "%s\n", none);
        return 1;
    }
    return rc;
}

static int act_lci(mig_opts *o)
{
    json_object *arr = json_object_new_array();
    bool found = false;
    int rc = 0;
    bool first = true;
    FOR_GPUS(o, idx) {
        if (!usable(o, idx, &rc))
            continue;
        const ofm_mig_catalog *c = cat_of(o, idx);
        ofm_hal_gpu_instance gis[OFM_MIG_MAX_GIS];
        size_t n = existing(o, idx, NULL, gis);
        for (size_t i = 0; i < n; i++) {
            if (!id_in(&o->gi, gis[i].gi_id))
                continue;
            const ofm_mig_gi_profile *p = ofm_mig_profile_by_id(c, gis[i].profile_id);
            size_t before = json_object_array_length(arr);
            bool was_first = first;
            if (p)
                lci_one(o, idx, p, &gis[i], arr, &first);
            found |= json_object_array_length(arr) > before || was_first != first;
        }
    }
    if (o->json)
        printf("%s\n", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY));
    else if (found)
        printf("%s\n", hline(68));
    json_object_put(arr);
    if (!found && !rc) {
        fprintf(stderr, "No compute instances found: Not Found\n");
        return 1;
    }
    return rc;
}

static void mode_json(json_object *arr, size_t idx, const char *bdf, ofm_hal *h, uint32_t gpu,
                      const char *result)
{
    ofm_hal_mig_mode m = {0};
    h->ops->mig_mode_get(h, gpu, &m);
    json_object *j = json_object_new_object();
    json_object_object_add(j, "gpu", json_object_new_int((int)idx));
    json_object_object_add(j, "pci_bus_id", json_object_new_string(bdf));
    json_object_object_add(j, "current", json_object_new_boolean(m.current));
    json_object_object_add(j, "pending", json_object_new_boolean(m.pending));
    json_object_object_add(j, "result", json_object_new_string(result));
    json_object_array_add(arr, j);
}

/* Whether a fabric manager runs on the system o->h drives: on the emulator
 * its lock on the system directory says so; elsewhere whether one answers at
 * the connection options (and its status, when it does, goes to *doc). */
static bool fm_manages(mig_opts *o, char *where, size_t len, ofm_status_doc *doc, bool *have_doc)
{
    *have_doc = false;
    snprintf(where, len, "the emulated system");
    if (!strcmp(o->h->ops->name, "emu"))
        return ofm_emu_fm_running(o->h);
    fmHandle_t fh = NULL;
    if (fmctl_try_connect(&o->co, &fh, where, len) != FM_ST_SUCCESS)
        return false;
    char *json = NULL;
    ofm_error err;
    if (ofmGetStatusJson(fh, &json) == FM_ST_SUCCESS && json && !ofm_status_from_json(json, doc, &err))
        *have_doc = true;
    free(json);
    fmctl_disconnect(fh);
    return true;
}

/* MIG disabled on an A100-class NVSwitch system: the GPU reset that applied
 * it left the GPU's switch-side NVLinks down; wait (with the deadline) until
 * the fabric manager has retrained them, as fmctl reset does. 0 done or
 * nothing to wait for, 1 the links did not come back (printed). */
static int wait_relink(mig_opts *o, uint32_t gpu, const char *bdf, const fmctl_sw_port *ports,
                       size_t np, FILE *out)
{
    bool has_switches;
    if (!np || fmctl_links_autonomous(o->h, &has_switches) || !has_switches)
        return 0;
    char where[300];
    static ofm_status_doc doc;
    bool have_doc;
    if (!fm_manages(o, where, sizeof where, &doc, &have_doc)) {
        fprintf(out, "Note: GPU %s: its %zu switch-side NVLinks stay down until a fabric manager "
                     "resets and retrains them (FM §13.9); none runs on %s. Start it, or reset "
                     "all GPUs and NVSwitches connected over NVLink together\n", bdf, np, where);
        return 0;
    }
    for (size_t i = 0; have_doc && i < doc.fabric.ngpus && i < OFM_MAX_GPUS; i++)
        if (doc.fabric.gpus[i].phys_id == gpu && !doc.fabric.gpus[i].p2p) {
            fprintf(out, "Note: GPU %s: the fabric manager gives it no NVLink peer access (HA "
                         "policy at start), so its switch-side NVLinks stay down\n", bdf);
            return 0;
        }
    size_t up = 0;
    if (!fmctl_wait_links(o->h, ports, np, o->wait_s, &up)) {
        fprintf(stderr, "Unable to bring back the NVLinks of GPU %s: MIG mode is disabled, but the "
                        "fabric manager did not retrain its switch-side NVLinks within %u s (%zu of "
                        "%zu up); see 'fmctl events' and the fabric manager's log\n",
                bdf, o->wait_s, up, np);
        return 1;
    }
    if (up < np) {
        fprintf(stderr, "Unable to bring back all NVLinks of GPU %s: MIG mode is disabled, but only "
                        "%zu of its %zu switch-side NVLinks came back (the others failed to "
                        "train); see 'fmctl events' and the fabric manager's log\n", bdf, up, np);
        return 1;
    }
    fprintf(out, "GPU %s: the fabric manager reset and retrained its %zu switch-side NVLinks\n",
            bdf, np);
    return 0;
}

static int act_mode(mig_opts *o)
{
    int rc = 0;
    /* the GPUs whose mode changes: the privilege check and the hooks are
     * about them (setting the mode a GPU already has changes nothing) */
    bool changing[MAX_GPUS] = {false}, any = false;
    FOR_GPUS(o, idx) {
        ofm_hal_mig_mode m0;
        if (o->h->ops->mig_mode_get &&
            o->h->ops->mig_mode_get(o->h, o->gpus[idx].phys_id, &m0) == OFM_HAL_OK &&
            (m0.current != (o->mode == 1) || m0.pending != (o->mode == 1)))
            changing[idx] = any = true;
    }
    char why[256];
    if (any && ofm_mig_may_change_mode(o->h, why, sizeof why)) {
        FOR_GPUS(o, idx) {
            if (!changing[idx])
                continue;
            char bdf[40];
            bdf_upper(o->gpus[idx].pci_bdf, bdf, sizeof bdf);
            fprintf(stderr, "Unable to %s MIG Mode for GPU %s: %s\n",
                    o->mode ? "enable" : "disable", bdf, why);
        }
        return 1;
    }
    /* hook progress stays off stdout when it carries JSON */
    FILE *hlog = o->json ? stderr : stdout;
    if (any && o->hooks &&
        ofm_mig_hooks_stop(o->hooks, o->h, o->gpus, o->ngpus, changing, o->mode == 1, hlog)) {
        fprintf(stderr, "Unable to %s MIG Mode: a hook failed; nothing was changed\n",
                o->mode ? "enable" : "disable");
        ofm_mig_hooks_start(o->hooks, o->h, o->gpus, o->ngpus, changing, o->mode == 1, hlog);
        return 1;
    }
    json_object *arr = json_object_new_array();
    FOR_GPUS(o, idx) {
        uint32_t gpu = o->gpus[idx].phys_id;
        char bdf[40];
        bdf_upper(o->gpus[idx].pci_bdf, bdf, sizeof bdf);
        int r = o->h->ops->mig_mode_set(o->h, gpu, o->mode == 1);
        if (r == OFM_HAL_ENOTSUP && !o->any_sel)
            continue;
        if (r) {
            fprintf(stderr, "Unable to %s MIG Mode for GPU %s: %s\n",
                    o->mode ? "enable" : "disable", bdf, ofm_hal_last_error(o->h));
            rc = 1;
            continue;
        }
        ofm_hal_mig_mode m;
        fmctl_sw_port ports[FMCTL_GPU_MAX_PORTS];
        size_t np = 0;
        bool reset = false;
        if (o->h->ops->mig_mode_get(o->h, gpu, &m) == 0 && m.current != m.pending) {
            /* known before the reset: a backend without a model reads them
             * from the links, which the reset takes down */
            np = fmctl_gpu_switch_ports(o->h, &o->gpus[idx], ports, FMCTL_GPU_MAX_PORTS);
            r = o->h->ops->gpu_reset(o->h, gpu);
            reset = r == 0;
            if (r) {
                if (o->json)
                    mode_json(arr, idx, bdf, o->h, gpu, "pending: In use by another client");
                else
                    printf("Warning: MIG mode is in pending %s state for GPU %s:In use by another "
                           "client\n%s is currently being used by one or more other processes "
                           "(e.g. CUDA application or a monitoring application such as another "
                           "instance of nvidia-smi). Please first kill all processes using the "
                           "device and retry the command or reboot the system to make MIG mode "
                           "effective.\n", o->mode ? "enable" : "disable", bdf, bdf);
                continue;
            }
        }
        if (o->json)
            mode_json(arr, idx, bdf, o->h, gpu, o->mode ? "enabled" : "disabled");
        else
            printf("%s MIG Mode for GPU %s\n", o->mode ? "Enabled" : "Disabled", bdf);
        if (reset && o->mode == 0 && wait_relink(o, gpu, bdf, ports, np, hlog))
            rc = 1;
    }
    if (any && o->hooks &&
        ofm_mig_hooks_start(o->hooks, o->h, o->gpus, o->ngpus, changing, o->mode == 1, hlog))
        rc = 1;
    if (o->json)
        printf("%s\n", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY));
    else if (!rc)
        printf("All done.\n");
    json_object_put(arr);
    return rc;
}

/* apply, then for each GPU whose MIG mode it turned off the same wait for
 * the fabric manager as --mode 0 (wait_relink). */
static int act_apply(mig_opts *o, const ofm_mig_cfg *cfg, const ofm_mig_cfg_label *label)
{
    static fmctl_sw_port ports[MAX_GPUS][FMCTL_GPU_MAX_PORTS];
    size_t np[MAX_GPUS] = {0};
    bool was_on[MAX_GPUS] = {false};
    for (size_t i = 0; i < o->ngpus && i < MAX_GPUS; i++) {
        ofm_hal_mig_mode m;
        if (o->h->ops->mig_mode_get && o->h->ops->mig_mode_get(o->h, o->gpus[i].phys_id, &m) == 0 &&
            m.current) {
            was_on[i] = true;
            np[i] = fmctl_gpu_switch_ports(o->h, &o->gpus[i], ports[i], FMCTL_GPU_MAX_PORTS);
        }
    }
    int rc = ofm_mig_apply_hooked(o->h, cfg, label, o->hooks, stdout);
    if (rc < 0)
        return 2;
    for (size_t i = 0; i < o->ngpus && i < MAX_GPUS; i++) {
        ofm_hal_mig_mode m;
        if (!was_on[i] || o->h->ops->mig_mode_get(o->h, o->gpus[i].phys_id, &m) || m.current)
            continue;
        char bdf[40];
        bdf_upper(o->gpus[i].pci_bdf, bdf, sizeof bdf);
        if (wait_relink(o, o->gpus[i].phys_id, bdf, ports[i], np[i], stdout))
            rc = 1;
    }
    return rc;
}

static int act_hold(mig_opts *o, int delta)
{
    if (!o->any_sel) {
        fprintf(stderr, "fmctl mig %s: -i GPU is required\n", delta > 0 ? "hold" : "release");
        return 2;
    }
    int rc = 0;
    FOR_GPUS(o, idx) {
        uint32_t n = 0;
        if (!o->h->ops->gpu_hold) {
            fprintf(stderr, "fmctl mig: %s: emulated GPU clients exist only on the emulator "
                            "(backend %s)\n", delta > 0 ? "hold" : "release", o->h->ops->name);
            return 1;
        }
        if (o->h->ops->gpu_hold(o->h, o->gpus[idx].phys_id, delta, &n)) {
            fprintf(stderr, "fmctl mig: GPU %zu: %s\n", idx, ofm_hal_last_error(o->h));
            rc = 1;
            continue;
        }
        if (o->json)
            printf("{\"gpu\": %zu, \"holders\": %u}\n", idx, n);
        else
            printf("GPU %zu: %u emulated client%s hold%s the GPU\n", idx, n, n == 1 ? "" : "s",
                   n == 1 ? "s" : "");
    }
    return rc;
}

/* nvidia-smi -L's layout: a line per GPU, then per MIG device (compute
 * instance) its profile name and the UUID CUDA_VISIBLE_DEVICES takes. */
static int act_list(mig_opts *o)
{
    int rc = 0;
    json_object *arr = json_object_new_array();
    FOR_GPUS(o, idx) {
        const ofm_hal_gpu *g = &o->gpus[idx];
        char name[64];
        snprintf(name, sizeof name, "%s%s", strncmp(g->model, "NVIDIA", 6) ? "NVIDIA " : "",
                 g->model);
        ofm_hal_mig_mode m = {0};
        bool mig = o->h->ops->mig_mode_get &&
                   o->h->ops->mig_mode_get(o->h, g->phys_id, &m) == OFM_HAL_OK && m.current;
        ofm_mig_device devs[OFM_MIG_MAX_SLICES * 2];
        size_t n = 0;
        int r = mig ? ofm_mig_devices(o->h, g, devs, sizeof devs / sizeof devs[0], &n) : 0;
        if (r) {
            fprintf(stderr, "Unable to list the MIG devices of GPU %zu: %s\n", idx,
                    ofm_hal_last_error(o->h));
            rc = 1;
            n = 0;
        }
        if (n > sizeof devs / sizeof devs[0])
            n = sizeof devs / sizeof devs[0];
        if (!o->json) {
            printf("GPU %zu: %s (UUID: %s)\n", idx, name, g->uuid);
            for (size_t k = 0; k < n; k++)
                printf("  MIG %-12sDevice %2u: (UUID: %s)\n", devs[k].name, devs[k].index,
                       devs[k].uuid);
            continue;
        }
        char bdf[40];
        bdf_upper(g->pci_bdf, bdf, sizeof bdf);
        json_object *j = json_object_new_object();
        json_object_object_add(j, "gpu", json_object_new_int((int)idx));
        json_object_object_add(j, "name", json_object_new_string(name));
        json_object_object_add(j, "uuid", json_object_new_string(g->uuid));
        json_object_object_add(j, "pci_bus_id", json_object_new_string(bdf));
        json_object_object_add(j, "mig_enabled", json_object_new_boolean(mig));
        json_object *md = json_object_new_array();
        for (size_t k = 0; k < n; k++) {
            json_object *d = json_object_new_object();
            json_object_object_add(d, "device", json_object_new_int((int)devs[k].index));
            json_object_object_add(d, "name", json_object_new_string(devs[k].name));
            json_object_object_add(d, "uuid", json_object_new_string(devs[k].uuid));
            json_object_object_add(d, "gpu_instance_id", json_object_new_int((int)devs[k].gi_id));
            json_object_object_add(d, "compute_instance_id",
                                   json_object_new_int((int)devs[k].ci_id));
            json_object_array_add(md, d);
        }
        json_object_object_add(j, "mig_devices", md);
        json_object_array_add(arr, j);
    }
    if (o->json)
        printf("%s\n", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY));
    json_object_put(arr);
    return rc;
}

static int set_action(mig_opts *o, int a)
{
    if (o->action && o->action != a) {
        fprintf(stderr, "fmctl mig: give one action per call\n");
        return -1;
    }
    o->action = a;
    return 0;
}

static int parse_gpus(mig_opts *o, const char *s)
{
    /* several -i accumulate, as one comma list */
    size_t have = strlen(o->sel);
    if (!*s || have + 1 + strlen(s) >= sizeof o->sel) {
        fprintf(stderr, "fmctl mig: -i: %s\n", *s ? "list longer than 255 characters"
                                                   : "empty GPU selection");
        return -1;
    }
    snprintf(o->sel + have, sizeof o->sel - have, "%s%s", have ? "," : "", s);
    o->any_sel = true;
    return 0;
}

static int parse_ids(const char *what, const char *s, id_set *out)
{
    char buf[256];
    if (strlen(s) >= sizeof buf) {
        fprintf(stderr, "fmctl mig: %s: list longer than %zu characters\n", what, sizeof buf - 1);
        return -1;
    }
    snprintf(buf, sizeof buf, "%s", s);
    if (!*buf || buf[strlen(buf) - 1] == ',' || buf[0] == ',' || strstr(buf, ",,")) {
        fprintf(stderr, "fmctl mig: %s: '%.60s' is not a comma-separated list of IDs\n", what, s);
        return -1;
    }
    char *save = NULL;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        long v;
        if (parse_num(what, t, 1000, &v))
            return -1;
        if (id_in(out, (uint32_t)v) && out->n)
            continue;
        if (out->n == MAX_IDS) {
            fprintf(stderr, "fmctl mig: %s: more than %d IDs\n", what, MAX_IDS);
            return -1;
        }
        out->v[out->n++] = (uint32_t)v;
    }
    return 0;
}

/* "00000000:18:00.0", "0000:18:00.0" or "18:00.0", any case. */
static bool parse_bdf(const char *s, unsigned long v[4])
{
    char tail;
    unsigned long a, b, c, d;
    if (sscanf(s, "%lx:%lx:%lx.%lx%c", &a, &b, &c, &d, &tail) == 4) {
        v[0] = a, v[1] = b, v[2] = c, v[3] = d;
    } else if (sscanf(s, "%lx:%lx.%lx%c", &b, &c, &d, &tail) == 3) {
        v[0] = 0, v[1] = b, v[2] = c, v[3] = d;
    } else {
        return false;
    }
    for (const char *p = s; *p; p++)
        if (!strchr("0123456789abcdefABCDEF:.", *p))
            return false;
    return v[0] <= 0xffffffffUL && v[1] <= 0xff && v[2] <= 0x1f && v[3] <= 7;
}

/* -i items: an index as nvidia-smi counts, a PCI bus ID or a GPU UUID, each
 * naming exactly one GPU of this system. */
static int resolve_gpus(mig_opts *o)
{
    char buf[sizeof o->sel];
    snprintf(buf, sizeof buf, "%s", o->sel);
    char *save = NULL;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        size_t hit = SIZE_MAX;
        unsigned long want[4], have[4];
        if (strspn(t, "0123456789") == strlen(t)) {
            long v;
            if (parse_num("-i", t, MAX_GPUS - 1, &v))
                return -1;
            if ((size_t)v >= o->ngpus) {
                fprintf(stderr, "fmctl mig: -i %ld: no such GPU (this system has %zu, numbered "
                                "0-%zu)\n", v, o->ngpus, o->ngpus ? o->ngpus - 1 : 0);
                return -1;
            }
            hit = (size_t)v;
        } else if (!strncasecmp(t, "GPU-", 4)) {
            for (size_t i = 0; i < o->ngpus; i++)
                if (!strcasecmp(o->gpus[i].uuid, t))
                    hit = i;
            if (hit == SIZE_MAX) {
                fprintf(stderr, "fmctl mig: -i %s: no GPU has this UUID (see fmctl mig -L)\n", t);
                return -1;
            }
        } else if (parse_bdf(t, want)) {
            for (size_t i = 0; i < o->ngpus; i++)
                if (parse_bdf(o->gpus[i].pci_bdf, have) && !memcmp(want, have, sizeof want))
                    hit = i;
            if (hit == SIZE_MAX) {
                fprintf(stderr, "fmctl mig: -i %s: no GPU at this PCI bus ID (see fmctl mig "
                                "-L)\n", t);
                return -1;
            }
        } else {
            fprintf(stderr, "fmctl mig: -i: '%.60s' is not a GPU index, PCI bus ID "
                            "(00000000:18:00.0) or GPU UUID (GPU-...)%s\n", t,
                    strncasecmp(t, "MIG-", 4) ? "" : "; a MIG device is not a GPU: select its GPU "
                                                    "and use -gi/-ci");
            return -1;
        }
        o->gpu_sel[hit] = true;
    }
    return 0;
}

int fmctl_mig_main(int argc, char **argv)
{
    static const struct option lo[] = {
        {"lgip", no_argument, NULL, 1000},         {"lgipp", no_argument, NULL, 1001},
        {"cgi", required_argument, NULL, 1002},    {"lgi", no_argument, NULL, 1003},
        {"dgi", no_argument, NULL, 1004},          {"lcip", no_argument, NULL, 1005},
        {"cci", no_argument, NULL, 1006},          {"lci", no_argument, NULL, 1007},
        {"dci", no_argument, NULL, 1008},          {"gi", required_argument, NULL, 1009},
        {"ci", required_argument, NULL, 1010},     {"mode", required_argument, NULL, 1011},
        {"mig", required_argument, NULL, 1011},    {"emu-dir", required_argument, NULL, 'd'},
        {"backend", required_argument, NULL, 'B'},
        {"json", no_argument, NULL, 'j'},          {"help", no_argument, NULL, 'h'},
        {"f", required_argument, NULL, 'f'},       {"file", required_argument, NULL, 'f'},
        {"c", required_argument, NULL, 'c'},       {"config", required_argument, NULL, 'c'},
        {"list-gpus", no_argument, NULL, 'L'},
        {"hooks", required_argument, NULL, 'k'},   {"k", required_argument, NULL, 'k'},
        {"wait-timeout", required_argument, NULL, 1012}, {"socket", required_argument, NULL, 1013},
        {"address", required_argument, NULL, 1014}, {"timeout", required_argument, NULL, 1015},
        {NULL, 0, NULL, 0}};
    mig_opts o = {.mode = -1, .wait_s = 30};
    char *pos[8];
    int npos = 0, c;
    optind = 1;
    opterr = 1;
    while (optind < argc) {
        if ((c = getopt_long_only(argc, argv, "-hi:CL", lo, NULL)) == -1)
            break;
        long v;
        switch (c) {
        case 1:
            if (npos == 8) {
                fprintf(stderr, "fmctl mig: too many arguments\n");
                return 2;
            }
            pos[npos++] = optarg;
            break;
        case 'i': if (parse_gpus(&o, optarg)) return 2; break;
        case 'C': o.C = true; break;
        case 'L': if (set_action(&o, A_LIST)) return 2; break;
        case 'd': o.dir = optarg; break;
        case 'B': o.backend = optarg; break;
        case 'f': o.file = optarg; break;
        case 'c': o.label = optarg; break;
        case 'k': o.hooks_file = optarg; break;
        case 'j': o.json = true; break;
        case 'h': usage(stdout); return 0;
        case 1000: if (set_action(&o, A_LGIP)) return 2; break;
        case 1001: if (set_action(&o, A_LGIPP)) return 2; break;
        case 1002: if (set_action(&o, A_CGI)) return 2; o.list = optarg; break;
        case 1003: if (set_action(&o, A_LGI)) return 2; break;
        case 1004: if (set_action(&o, A_DGI)) return 2; break;
        case 1005: if (set_action(&o, A_LCIP)) return 2; break;
        case 1006: if (set_action(&o, A_CCI)) return 2; break;
        case 1007: if (set_action(&o, A_LCI)) return 2; break;
        case 1008: if (set_action(&o, A_DCI)) return 2; break;
        case 1009: if (parse_ids("-gi", optarg, &o.gi)) return 2; break;
        case 1010: if (parse_ids("-ci", optarg, &o.ci)) return 2; break;
        case 1011:
            if (parse_num("--mode", optarg, 1, &v) || set_action(&o, A_MODE))
                return 2;
            o.mode = (int)v;
            break;
        case 1012:
            if (parse_num("--wait-timeout", optarg, 3600, &v) || !v) {
                fprintf(stderr, "fmctl mig: --wait-timeout: give 1-3600 seconds\n");
                return 2;
            }
            o.wait_s = (unsigned)v;
            break;
        case 1013: o.co.socket = optarg; break;
        case 1014: o.co.address = optarg; break;
        case 1015:
            if (fmctl_parse_timeout("fmctl mig", optarg, &o.co.timeout_ms))
                return 2;
            break;
        default: usage(stderr); return 2;
        }
    }
    /* "--" ends the options; what follows are operands, never dropped */
    for (; optind < argc; optind++) {
        if (npos == 8) {
            fprintf(stderr, "fmctl mig: too many arguments\n");
            return 2;
        }
        pos[npos++] = argv[optind];
    }
    /* positionals: 'mig' itself, then a word command or -cci's profile list */
    int p0 = npos && !strcmp(pos[0], "mig") ? 1 : 0;
    if (npos > p0) {
        const char *w = pos[p0];
        if (o.action == A_CCI && npos == p0 + 1) {
            o.list = w;
        } else if (!strcmp(w, "mode") && npos == p0 + 2 &&
                   (!strcmp(pos[p0 + 1], "enable") || !strcmp(pos[p0 + 1], "disable"))) {
            if (set_action(&o, A_MODE))
                return 2;
            o.mode = !strcmp(pos[p0 + 1], "enable");
        } else if (!strcmp(w, "apply") && npos == p0 + 1) {
            if (set_action(&o, A_APPLY))
                return 2;
        } else if (!strcmp(w, "assert") && npos == p0 + 1) {
            if (set_action(&o, A_ASSERT))
                return 2;
        } else if (!strcmp(w, "export") && npos == p0 + 1) {
            if (set_action(&o, A_EXPORT))
                return 2;
        } else if (!strcmp(w, "hold") && npos == p0 + 1) {
            if (set_action(&o, A_HOLD))
                return 2;
        } else if (!strcmp(w, "release") && npos == p0 + 1) {
            if (set_action(&o, A_RELEASE))
                return 2;
        } else {
            fprintf(stderr, "fmctl mig: unexpected argument '%.60s'\n", w);
            usage(stderr);
            return 2;
        }
    }
    if (!o.action) {
        usage(stderr);
        return 2;
    }
    /* lists are parsed from fixed buffers: refuse what would not fit */
    if (o.list && strlen(o.list) > 400) {
        fprintf(stderr, "fmctl mig: profile list longer than 400 characters\n");
        return 2;
    }
    if (o.action == A_CCI && !o.gi.n) {
        fprintf(stderr, "fmctl mig -cci: -gi ID is required\n");
        return 2;
    }
    ofm_mig_cfg *cfg = NULL;
    const ofm_mig_cfg_label *label = NULL;
    if (o.action == A_APPLY || o.action == A_ASSERT) {
        if (!o.file || !o.label) {
            fprintf(stderr, "fmctl mig %s: -f FILE and -c LABEL are required\n",
                    o.action == A_APPLY ? "apply" : "assert");
            return 2;
        }
        cfg = calloc(1, sizeof *cfg);
        ofm_error e;
        if (!cfg || ofm_mig_cfg_load(o.file, cfg, &e)) {
            char eb[700];
            fprintf(stderr, "fmctl mig: %s\n", cfg ? ofm_error_format(&e, eb, sizeof eb) : "out of memory");
            free(cfg);
            return 2;
        }
        if (!(label = ofm_mig_cfg_find(cfg, o.label))) {
            fprintf(stderr, "fmctl mig: %s: no label '%.60s' under mig-configs\n", o.file, o.label);
            free(cfg);
            return 2;
        }
    }
    if (fmctl_open_backend("fmctl mig", o.backend, o.dir, &o.h) != OFM_HAL_OK) {
        free(cfg);
        return 2;
    }
    int rc = o.h->ops->list_gpus(o.h, o.gpus, MAX_GPUS, &o.ngpus);
    if (rc) {
        fprintf(stderr, "fmctl mig: %s\n", ofm_hal_last_error(o.h));
        ofm_hal_close(o.h);
        free(cfg);
        return 2;
    }
    if (o.ngpus > MAX_GPUS)
        o.ngpus = MAX_GPUS;
    if (o.any_sel && resolve_gpus(&o)) {
        ofm_hal_close(o.h);
        free(cfg);
        return 2;
    }
    if (!o.hooks_file && getenv("OPENFM_MIG_HOOKS") && *getenv("OPENFM_MIG_HOOKS"))
        o.hooks_file = getenv("OPENFM_MIG_HOOKS");
    if (o.hooks_file && o.action != A_MODE && o.action != A_APPLY)
        o.hooks_file = NULL; /* only mode changes run hooks */
    if (o.hooks_file) {
        o.hooks = calloc(1, sizeof *o.hooks);
        ofm_error e;
        if (!o.hooks || ofm_mig_hooks_load(o.hooks_file, o.hooks, &e)) {
            char eb[700];
            fprintf(stderr, "fmctl mig: %s\n",
                    o.hooks ? ofm_error_format(&e, eb, sizeof eb) : "out of memory");
            free(o.hooks);
            free(cfg);
            ofm_hal_close(o.h);
            return 2;
        }
    }
    switch (o.action) {
    case A_LGIP: rc = act_lgip(&o, false); break;
    case A_LGIPP: rc = act_lgip(&o, true); break;
    case A_CGI: rc = act_cgi(&o); break;
    case A_LGI: rc = act_lgi(&o); break;
    case A_DGI: rc = act_dgi(&o); break;
    case A_LCIP: rc = act_gi_walk(&o, lcip_one, "No GPU instances found: Not Found"); break;
    case A_CCI: rc = act_gi_walk(&o, cci_one, "No GPU instances found: Not Found"); break;
    case A_LCI: rc = act_lci(&o); break;
    case A_DCI: rc = act_gi_walk(&o, dci_one, "No GPU instances found: Not Found"); break;
    case A_MODE: rc = act_mode(&o); break;
    case A_LIST: rc = act_list(&o); break;
    case A_HOLD: rc = act_hold(&o, 1); break;
    case A_RELEASE: rc = act_hold(&o, -1); break;
    case A_APPLY:
        rc = act_apply(&o, cfg, label);
        break;
    case A_ASSERT:
        rc = ofm_mig_assert(o.h, cfg, label, stdout);
        rc = rc < 0 ? 2 : rc;
        break;
    case A_EXPORT: rc = ofm_mig_export(o.h, o.label ? o.label : "current", stdout) ? 1 : 0; break;
    }
    free(o.hooks);
    free(cfg);
    ofm_hal_close(o.h);
    return rc;
}
