/* fmctl emu: create, inspect and break emulated NVSwitch systems, and probe
 * traffic through their programmed routing tables. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fabric/fabric.h"
#include "openfm/emu.h"
#include "openfm/fileio.h"
#include "openfm/hal.h"
#include "tools/fmctl.h"
#include "tools/fmctl_matrix.h"

static void usage(FILE *f)
{
    fprintf(f,
        "usage: fmctl emu COMMAND [--emu-dir DIR] [--json] [ARGS]\n"
        "\n"
        "  create --platform NAME|FILE [--force]   boot a new emulated system in DIR (--force\n"
        "                                          replaces one already there, never one a\n"
        "                                          fabric manager is running on)\n"
        "  destroy                                 remove the system in DIR\n"
        "  list                                    the systems in the subdirectories of the root dir\n"
        "                                          (below), with platform; damaged ones say why\n"
        "  show                                    devices, link states and faults\n"
        "  log [--since N]                         print the emulated kernel log, skipping its\n"
        "                                          first N lines\n"
        "  reboot [--modprobe-file F]              power-cycle: links retrain by ALI on gen3 only,\n"
        "                                          routing and fabric registration are cleared;\n"
        "                                          the driver's exclusion lists in F (default\n"
        "                                          $OPENFM_MODPROBE_FILE, else\n"
        "                                          " OFM_MODPROBE_DEFAULT_FILE ")\n"
        "                                          take effect (fmctl exclude)\n"
        "  routes --switch S                       dump the switch's valid routing entries\n"
        "  probe SRC DST | probe --all [--full]    walk GPU SRC -> GPU DST (physical IDs) through\n"
        "                                          the routing tables; --all prints the matrix of\n"
        "                                          arriving link counts, read as one snapshot;\n"
        "                                          on a rack (gb200-nvl72) a compute tray x\n"
        "                                          compute tray summary unless --full (--json:\n"
        "                                          always every pair).\n"
        "                                          A drop is logged (SXid on\n"
        "                                          the switch, Xid 45 on SRC) unless --quiet; a\n"
        "                                          fourth-generation NVSwitch counts it in its\n"
        "                                          telemetry instead of an SXid\n"
        "  inject FAULT ...                        one of:\n"
        "      link-down --switch S --port P       access or trunk link fails (both ends)\n"
        "      link-repair --switch S --port P\n"
        "      switch-missing|switch-failed|switch-ok --switch S\n"
        "      gpu-missing|gpu-failed|gpu-ok --gpu G\n"
        "      compute-tray-failed|compute-tray-missing|compute-tray-ok --tray T\n"
        "                                          rack scale (gb200-nvl72): all GPUs of\n"
        "                                          compute tray T at once\n"
        "      switch-tray-failed|switch-tray-missing|switch-tray-ok --tray T\n"
        "                                          rack scale: both NVSwitch chips of switch\n"
        "                                          tray T at once\n"
        "      fabric-fail|fabric-ok --gpu G        GPU fabric registration will fail / succeed\n"
        "      driver-version VERSION\n"
        "      sxid --switch S --port P --code N [--fatal|--non-fatal]\n"
        "                                          classification defaults to FM §13's tables;\n"
        "                                          refused on fourth-generation NVSwitches (B200)\n"
        "      switch-error --switch S [--port P] [--fatal|--non-fatal] [--count N]\n"
        "                                          fourth-generation NVSwitch (B200, no SXids):\n"
        "                                          raise the port's (no --port: the chip's own)\n"
        "                                          telemetry error counter by N (default 1,\n"
        "                                          non-fatal)\n"
        "      xid --gpu G --code N\n"
        "      link-errors --switch S --port P [--crc-flit N] [--crc-data N] [--replay N]\n"
        "                  [--recovery N]          raise the link's NVLink error counters\n"
        "\n"
        "  --emu-dir DIR   the emulated system to use\n"
        "  --json          machine-readable output (show, list, probe, routes)\n"
        "  -h, --help      this text\n"
        "\n"
        "DIR defaults to $OPENFM_EMU_DIR, else <root dir>/default; the root dir is\n"
        "$OPENFM_EMU_ROOT, else " OFM_EMU_ROOT_DIR_SYSTEM " for root, else\n"
        "$XDG_RUNTIME_DIR/openfm-emu, else /tmp/openfm-emu-UID. DIR must be owned by you (or\n"
        "root) and writable by nobody else, or it is refused.\n"
        "\n"
        "Exit status: 0 success (probe: the traffic arrives); 1 the operation failed (probe:\n"
        "dropped); 2 bad usage, or no readable emulated system in DIR.\n");
}

typedef struct {
    const char *dir, *platform, *modprobe;
    bool force, json, all, full, quiet, fatal_set, fatal;
    long sw, port, gpu, code, since, tray;
    long crc_flit, crc_data, replay, recovery; /* link-errors amounts */
    long count;                                /* switch-error amount */
} opts;

static int parse_num(const char *what, const char *s, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno || v < 0 || v > max) {
        fprintf(stderr, "fmctl emu: %s: '%.60s' is not a number in 0-%ld\n", what, s, max);
        return -1;
    }
    *out = v;
    return 0;
}

static int open_hal(const opts *o, ofm_hal **h, char *dir, size_t len)
{
    if (ofm_emu_resolve_dir(o->dir, dir, len)) {
        fprintf(stderr, "fmctl emu: emulator directory path longer than %zu characters\n", len - 1);
        return 2;
    }
    char err[512];
    if (ofm_emu_open(dir, h, err, sizeof err) != OFM_HAL_OK) {
        fprintf(stderr, "fmctl emu: %s\n", err);
        return 2;
    }
    return 0;
}

static int hal_err(ofm_hal *h, const char *what, int rc)
{
    fprintf(stderr, "fmctl emu: %s: %s (%s)\n", what, ofm_hal_last_error(h), ofm_hal_strerror(rc));
    return 1;
}

static int cmd_show(ofm_hal *h, const opts *o)
{
    const ofm_platform *p = ofm_emu_platform(h);
    char ver[64] = "";
    h->ops->driver_version(h, ver, sizeof ver);
    ofm_hal_gpu gpus[OFM_MAX_GPUS];
    ofm_hal_switch sws[OFM_MAX_SWITCHES];
    size_t ng = 0, ns = 0;
    h->ops->list_gpus(h, gpus, OFM_MAX_GPUS, &ng);
    h->ops->list_switches(h, sws, OFM_MAX_SWITCHES, &ns);
    json_object *jo = o->json ? json_object_new_object() : NULL;
    if (jo) {
        json_object_object_add(jo, "platform", json_object_new_string(p->name));
        json_object_object_add(jo, "provenance", json_object_new_string("emulated"));
        json_object_object_add(jo, "driver_version", json_object_new_string(ver));
    } else {
        printf("Emulated system: %s (%s), driver %s\n", p->name, p->description, ver);
        printf("\nGPUs (%zu of %zu enumerated)\n", ng, p->ngpus);
    }
    json_object *ja = jo ? json_object_new_array() : NULL;
    for (size_t i = 0; i < ng; i++) {
        ofm_hal_fabric_info fi;
        memset(&fi, 0, sizeof fi);
        h->ops->fabric_get(h, gpus[i].phys_id, &fi);
        uint32_t active = 0;
        for (uint32_t l = 0; l < gpus[i].nvlinks; l++) {
            ofm_hal_link lk;
            if (h->ops->gpu_link(h, gpus[i].phys_id, l, &lk) == OFM_HAL_OK && lk.state == OFM_LINK_ACTIVE)
                active++;
        }
        /* SR-IOV virtual functions, the PCI addresses a vGPU hypervisor
         * passes to fmActivateFabricPartitionWithVFs */
        ofm_hal_pci_fn vf[OFM_HAL_MAX_VFS];
        char vfname[OFM_HAL_MAX_VFS][16];
        size_t nvf = 0;
        if (ofm_hal_gpu_vfs(h, gpus[i].phys_id, vf, OFM_HAL_MAX_VFS, &nvf) != OFM_HAL_OK)
            nvf = 0;
        for (size_t k = 0; k < nvf && k < OFM_HAL_MAX_VFS; k++)
            snprintf(vfname[k], sizeof vfname[k], "%04x:%02x:%02x.%x", vf[k].domain & 0xffff,
                     vf[k].bus & 0xff, vf[k].device & 0x1f, vf[k].function & 7);
        if (ja) {
            json_object *g = json_object_new_object();
            json_object_object_add(g, "physical_id", json_object_new_int64(gpus[i].phys_id));
            json_object_object_add(g, "uuid", json_object_new_string(gpus[i].uuid));
            json_object_object_add(g, "pci_bdf", json_object_new_string(gpus[i].pci_bdf));
            json_object_object_add(g, "health", json_object_new_string(gpus[i].health ? "failed" : "ok"));
            json_object_object_add(g, "nvlinks_active", json_object_new_int64(active));
            json_object_object_add(g, "fabric_state", json_object_new_string(ofm_fabric_state_name(fi.state)));
            json_object_object_add(g, "fabric_status", json_object_new_int64(fi.status));
            json_object *jv = json_object_new_array();
            for (size_t k = 0; k < nvf && k < OFM_HAL_MAX_VFS; k++)
                json_object_array_add(jv, json_object_new_string(vfname[k]));
            json_object_object_add(g, "vfs", jv);
            json_object_array_add(ja, g);
        } else {
            printf("  GPU %-2" PRIu32 " %s %s  %s  NVLinks active %" PRIu32 "/%" PRIu32
                   "  fabric %s/%s%s\n",
                   gpus[i].phys_id, gpus[i].pci_bdf, gpus[i].uuid, gpus[i].health ? "FAILED" : "ok",
                   active, gpus[i].nvlinks, ofm_fabric_state_name(fi.state),
                   ofm_fabric_status_text(fi.state, fi.status), ofm_hal_register_fault(h, gpus[i].phys_id) ? " (registration fault injected)" : "");
            if (nvf) {
                printf("         SR-IOV VFs (%zu):", nvf);
                for (size_t k = 0; k < nvf && k < OFM_HAL_MAX_VFS; k++)
                    printf("%s%s", k % 8 == 0 && k ? "\n                          " : " ", vfname[k]);
                printf("\n");
            }
        }
    }
    if (jo)
        json_object_object_add(jo, "gpus", ja);
    else
        printf("\nNVSwitches (%zu of %zu enumerated)\n", ns, p->nswitches);
    ja = jo ? json_object_new_array() : NULL;
    for (size_t i = 0; i < ns; i++) {
        uint32_t active = 0, failed = 0, off = 0;
        for (uint32_t port = 0; port < sws[i].nports; port++) {
            ofm_hal_link lk;
            if (h->ops->switch_port(h, sws[i].phys_id, port, &lk) != OFM_HAL_OK)
                continue;
            active += lk.state == OFM_LINK_ACTIVE;
            failed += lk.state == OFM_LINK_FAILED;
            off += lk.state == OFM_LINK_OFF && (ofm_fabric_access_at(p, sws[i].phys_id, port) >= 0 ||
                                                ofm_fabric_trunk_at(p, sws[i].phys_id, port) >= 0);
        }
        if (ja) {
            json_object *s = json_object_new_object();
            json_object_object_add(s, "id", json_object_new_int64(sws[i].phys_id));
            json_object_object_add(s, "uuid", json_object_new_string(sws[i].uuid));
            json_object_object_add(s, "pci_bdf", json_object_new_string(sws[i].pci_bdf));
            json_object_object_add(s, "health", json_object_new_string(sws[i].health ? "failed" : "ok"));
            json_object_object_add(s, "links_active", json_object_new_int64(active));
            json_object_object_add(s, "links_failed", json_object_new_int64(failed));
            json_object_object_add(s, "links_untrained", json_object_new_int64(off));
            json_object_array_add(ja, s);
        } else {
            printf("  switch %-2" PRIu32 " %s %s  %s  links active %" PRIu32 ", failed %" PRIu32
                   ", untrained %" PRIu32 "\n",
                   sws[i].phys_id, sws[i].pci_bdf, sws[i].uuid, sws[i].health ? "FAILED" : "ok", active,
                   failed, off);
        }
    }
    if (jo) {
        json_object_object_add(jo, "switches", ja);
        json_object_object_add(jo, "fabric_manager_running", json_object_new_boolean(ofm_emu_fm_running(h)));
        printf("%s\n", json_object_to_json_string_ext(jo, JSON_C_TO_STRING_PRETTY));
        json_object_put(jo);
    } else {
        printf("\nFabric manager attached: %s\n", ofm_emu_fm_running(h) ? "yes" : "no");
    }
    return 0;
}

static void print_probe(uint32_t s, uint32_t d, const ofm_emu_probe_result *r)
{
    if (r->arrives)
        printf("GPU %" PRIu32 " -> GPU %" PRIu32 ": arrives over %" PRIu32 " links (%.0f GB/s)\n", s,
               d, r->links, r->bandwidth_mbps / 1000.0);
    else if (r->drop_sxid)
        printf("GPU %" PRIu32 " -> GPU %" PRIu32 ": dropped at switch %" PRIu32 " port %" PRIu32
               ": SXid %" PRIu32 " (%s)\n",
               s, d, r->drop_sw, r->drop_port, r->drop_sxid, r->drop_reason);
    else if (r->drop_counted)
        printf("GPU %" PRIu32 " -> GPU %" PRIu32 ": dropped at switch %" PRIu32 " port %" PRIu32
               ": %s port error in the switch's telemetry, no SXid (%s)\n",
               s, d, r->drop_sw, r->drop_port, r->drop_fatal ? "fatal" : "non-fatal", r->drop_reason);
    else
        printf("GPU %" PRIu32 " -> GPU %" PRIu32 ": dropped: %s\n", s, d, r->drop_reason);
}

static json_object *probe_json(uint32_t s, uint32_t d, const ofm_emu_probe_result *r)
{
    json_object *j = json_object_new_object();
    json_object_object_add(j, "src", json_object_new_int64(s));
    json_object_object_add(j, "dst", json_object_new_int64(d));
    json_object_object_add(j, "arrives", json_object_new_boolean(r->arrives));
    json_object_object_add(j, "links", json_object_new_int64(r->links));
    json_object_object_add(j, "bandwidth_mbps", json_object_new_int64((int64_t)r->bandwidth_mbps));
    if (!r->arrives) {
        json_object_object_add(j, "drop_switch", json_object_new_int64(r->drop_sw));
        json_object_object_add(j, "drop_port", json_object_new_int64(r->drop_port));
        json_object_object_add(j, "sxid", json_object_new_int64(r->drop_sxid));
        json_object_object_add(j, "telemetry_error",
                               r->drop_counted ? json_object_new_string(r->drop_fatal ? "fatal" : "non-fatal")
                                               : NULL);
        json_object_object_add(j, "reason", json_object_new_string(r->drop_reason));
    }
    return j;
}

/* The pairs of one probe --all snapshot, looked up by physical ID. */
typedef struct {
    const ofm_platform *p;
    const ofm_emu_probe_result *res;
} probe_ctx;

static uint32_t probe_links(const void *ctx, uint32_t src, uint32_t dst)
{
    const probe_ctx *c = ctx;
    int i = ofm_fabric_gpu_index(c->p, src), j = ofm_fabric_gpu_index(c->p, dst);
    if (i < 0 || j < 0)
        return 0;
    const ofm_emu_probe_result *r = &c->res[(size_t)i * c->p->ngpus + (size_t)j];
    return r->arrives ? r->links : 0;
}

/* Below a summary: how many pairs were dropped and the first few of them, so
 * the reason is on screen without --full. */
static void print_probe_drops(const ofm_platform *p, const ofm_emu_probe_result *res)
{
    size_t drops = 0, pairs = 0, shown = 0;
    for (size_t i = 0; i < p->ngpus; i++)
        for (size_t j = 0; j < p->ngpus; j++) {
            if (i == j)
                continue;
            pairs++;
            const ofm_emu_probe_result *r = &res[i * p->ngpus + j];
            if (r->arrives)
                continue;
            if (drops++ < 4) {
                printf("  ");
                print_probe(p->gpus[i].phys_id, p->gpus[j].phys_id, r);
                shown++;
            }
        }
    printf("  %zu of %zu ordered GPU pairs arrive", pairs - drops, pairs);
    if (drops > shown)
        printf(" (%zu more dropped pairs not listed: --full or --json)", drops - shown);
    printf("\n");
}

static int cmd_probe(ofm_hal *h, const opts *o, int argc, char **argv)
{
    const ofm_platform *p = ofm_emu_platform(h);
    if (o->all) {
        if (argc) {
            fprintf(stderr, "fmctl emu probe: --all takes no GPU IDs (got '%.60s')\n", argv[0]);
            return 2;
        }
        /* one snapshot: a manager changing routes meanwhile cannot tear the matrix */
        ofm_emu_probe_result *res = calloc(p->ngpus * p->ngpus, sizeof *res);
        if (!res) {
            fprintf(stderr, "fmctl emu probe: out of memory\n");
            return 1;
        }
        int prc = ofm_emu_probe_all(h, o->quiet, res);
        if (prc) {
            free(res);
            return hal_err(h, "probe", prc);
        }
        if (!o->json && fmctl_matrix_summarise(p, o->full)) {
            probe_ctx pc = {p, res};
            const fmctl_matrix_src src = {probe_links, &pc, true, "source NVLinks whose traffic arrives"};
            fmctl_matrix_tray_text(p, &src, "--full");
            print_probe_drops(p, res);
            free(res);
            return 0;
        }
        json_object *arr = o->json ? json_object_new_array() : NULL;
        if (!arr) {
            printf("%-7s", "");
            for (size_t j = 0; j < p->ngpus; j++) {
                char hd[16];
                snprintf(hd, sizeof hd, "GPU%" PRIu32, p->gpus[j].phys_id);
                printf("%-7s", hd);
            }
            printf("\n");
        }
        for (size_t i = 0; i < p->ngpus; i++) {
            if (!arr) {
                char hd[16];
                snprintf(hd, sizeof hd, "GPU%" PRIu32, p->gpus[i].phys_id);
                printf("%-7s", hd);
            }
            for (size_t j = 0; j < p->ngpus; j++) {
                const ofm_emu_probe_result *r = &res[i * p->ngpus + j];
                if (i == j) {
                    if (!arr)
                        printf("%-7s", "X");
                    continue;
                }
                if (arr)
                    json_object_array_add(arr, probe_json(p->gpus[i].phys_id, p->gpus[j].phys_id, r));
                else {
                    char c[16];
                    snprintf(c, sizeof c, r->arrives ? "NV%" PRIu32 : "-", r->links);
                    printf("%-7s", c);
                }
            }
            if (!arr)
                printf("\n");
        }
        if (arr) {
            printf("%s\n", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY));
            json_object_put(arr);
        } else {
            printf("\nNV# = number of source NVLinks whose traffic arrives; - = dropped\n");
        }
        free(res);
        return 0;
    }
    if (argc != 2) {
        fprintf(stderr, "fmctl emu probe: give SRC and DST GPU physical IDs, or --all\n");
        return 2;
    }
    long s, d;
    if (parse_num("SRC", argv[0], 1023, &s) || parse_num("DST", argv[1], 1023, &d))
        return 2;
    ofm_emu_probe_result r;
    int rc = ofm_emu_probe(h, (uint32_t)s, (uint32_t)d, o->quiet, &r);
    if (rc)
        return hal_err(h, "probe", rc);
    if (o->json) {
        json_object *j = probe_json((uint32_t)s, (uint32_t)d, &r);
        printf("%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY));
        json_object_put(j);
    } else {
        print_probe((uint32_t)s, (uint32_t)d, &r);
    }
    return r.arrives ? 0 : 1;
}

static int cmd_routes(ofm_hal *h, const opts *o)
{
    if (o->sw < 0) {
        fprintf(stderr, "fmctl emu routes: --switch S is required\n");
        return 2;
    }
    size_t cap = OFM_MAX_SWITCH_PORTS * OFM_MAX_GPUS, n = 0;
    ofm_route_entry *e = calloc(cap, sizeof *e);
    int rc = e ? h->ops->route_read(h, (uint32_t)o->sw, e, cap, &n) : OFM_HAL_EIO;
    if (rc) {
        free(e);
        return hal_err(h, "routes", rc);
    }
    json_object *arr = o->json ? json_object_new_array() : NULL;
    if (!arr)
        printf("Switch %ld: %zu valid routing entries\n  %-8s %-8s %s\n", o->sw, n, "Ingress", "Dst GPU",
               "Egress ports");
    for (size_t i = 0; i < n && i < cap; i++) {
        if (arr) {
            json_object *j = json_object_new_object();
            json_object_object_add(j, "ingress_port", json_object_new_int64(e[i].in_port));
            json_object_object_add(j, "dst_gpu", json_object_new_int64(e[i].dst_gpu));
            json_object *ports = json_object_new_array();
            for (uint32_t b = 0; b < OFM_PORTSET_BITS; b++)
                if (ofm_portset_has(e[i].egress, b))
                    json_object_array_add(ports, json_object_new_int64(b));
            json_object_object_add(j, "egress_ports", ports);
            json_object_array_add(arr, j);
            continue;
        }
        printf("  %-8" PRIu32 " %-8" PRIu32, e[i].in_port, e[i].dst_gpu);
        const char *sep = " ";
        for (uint32_t b = 0; b < OFM_PORTSET_BITS; b++)
            if (ofm_portset_has(e[i].egress, b)) {
                printf("%s%" PRIu32, sep, b);
                sep = ",";
            }
        printf("\n");
    }
    if (arr) {
        printf("%s\n", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY));
        json_object_put(arr);
    }
    free(e);
    return 0;
}

static int cmd_log(ofm_hal *h, const opts *o)
{
    char path[4200];
    ofm_emu_kmsg_path(h, path, sizeof path);
    ofm_error err;
    char b[700];
    int fd = ofm_file_open_read(path, "emulated kernel log", OFM_FILE_NOFOLLOW, &err);
    FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
    if (!f) {
        if (fd >= 0)
            close(fd);
        fprintf(stderr, "fmctl emu log: %s\n", fd >= 0 ? strerror(errno) : ofm_error_format(&err, b, sizeof b));
        return 1;
    }
    char line[2048];
    long n = 0;
    while (fgets(line, sizeof line, f))
        if (++n > o->since)
            fputs(line, stdout);
    fclose(f);
    return 0;
}

static int cmd_list(const opts *o)
{
    char root[4096];
    if (ofm_emu_root_dir(root, sizeof root))
        return 2;
    DIR *d = opendir(root);
    json_object *arr = o->json ? json_object_new_array() : NULL;
    if (!arr)
        printf("Emulated systems under %s:\n", root);
    size_t count = 0;
    for (struct dirent *de; d && (de = readdir(d));) {
        if (de->d_name[0] == '.')
            continue;
        char dir[8192], err[512];
        snprintf(dir, sizeof dir, "%s/%s", root, de->d_name);
        ofm_hal *h;
        if (ofm_emu_open(dir, &h, err, sizeof err) != OFM_HAL_OK) {
            /* a damaged system is listed with the reason, an unrelated directory is not */
            char st[8300];
            snprintf(st, sizeof st, "%s/state.bin", dir);
            if (access(st, F_OK))
                continue;
            if (arr) {
                json_object *j = json_object_new_object();
                json_object_object_add(j, "dir", json_object_new_string(dir));
                json_object_object_add(j, "error", json_object_new_string(err));
                json_object_array_add(arr, j);
            } else {
                printf("  %-40s unreadable: %s\n", dir, err);
            }
            count++;
            continue;
        }
        const ofm_platform *p = ofm_emu_platform(h);
        if (arr) {
            json_object *j = json_object_new_object();
            json_object_object_add(j, "dir", json_object_new_string(dir));
            json_object_object_add(j, "platform", json_object_new_string(p->name));
            json_object_object_add(j, "fabric_manager_running", json_object_new_boolean(ofm_emu_fm_running(h)));
            json_object_array_add(arr, j);
        } else {
            printf("  %-40s %-14s %s\n", dir, p->name, ofm_emu_fm_running(h) ? "fabric manager attached" : "");
        }
        count++;
        ofm_hal_close(h);
    }
    if (d)
        closedir(d);
    if (arr) {
        printf("%s\n", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY));
        json_object_put(arr);
    } else if (!count) {
        printf("  (none; create one with 'fmctl emu create --platform hgx-h100')\n");
    }
    return 0;
}

static int cmd_inject(ofm_hal *h, opts *o, int argc, char **argv)
{
    if (argc < 1) {
        fprintf(stderr, "fmctl emu inject: which fault? (see fmctl emu --help)\n");
        return 2;
    }
    const char *f = argv[0];
    /* driver-version takes its VERSION operand; no fault takes more */
    int want = !strcmp(f, "driver-version") ? 2 : 1;
    if (argc > want) {
        fprintf(stderr, "fmctl emu inject %s: unexpected argument '%.60s'\n", f, argv[want]);
        return 2;
    }
    bool tray = !strncmp(f, "compute-tray-", 13) || !strncmp(f, "switch-tray-", 12);
    if (tray) {
        if (o->tray < 0) {
            fprintf(stderr, "fmctl emu inject %s: missing --tray T\n", f);
            return 2;
        }
        bool compute = f[0] == 'c';
        const char *what = f + (compute ? 13 : 12);
        ofm_dev_health hl = !strcmp(what, "failed")    ? OFM_DEV_FAILED
                            : !strcmp(what, "missing") ? OFM_DEV_MISSING
                            : !strcmp(what, "ok")      ? OFM_DEV_OK
                                                       : (ofm_dev_health)-1;
        if ((int)hl < 0) {
            fprintf(stderr, "fmctl emu inject: unknown fault '%.60s'\n", f);
            return 2;
        }
        int trc = compute ? ofm_emu_inject_compute_tray(h, (uint32_t)o->tray, hl)
                          : ofm_emu_inject_switch_tray(h, (uint32_t)o->tray, hl);
        return trc ? hal_err(h, f, trc) : 0;
    }
    bool need_port = !strcmp(f, "link-down") || !strcmp(f, "link-repair") || !strcmp(f, "sxid") ||
                     !strcmp(f, "link-errors");
    bool need_sw = need_port || !strncmp(f, "switch-", 7);
    if (o->count >= 0 && strcmp(f, "switch-error")) {
        fprintf(stderr, "fmctl emu inject %s: --count is for switch-error\n", f);
        return 2;
    }
    bool need_gpu = !strncmp(f, "gpu-", 4) || !strncmp(f, "fabric-", 7) || !strcmp(f, "xid");
    bool need_code = !strcmp(f, "sxid") || !strcmp(f, "xid");
    if ((need_sw && o->sw < 0) || (need_port && o->port < 0) || (need_gpu && o->gpu < 0) ||
        (need_code && o->code < 0)) {
        fprintf(stderr, "fmctl emu inject %s: missing %s\n", f,
                need_sw && o->sw < 0 ? "--switch S" : need_port && o->port < 0 ? "--port P"
                : need_gpu && o->gpu < 0 ? "--gpu G" : "--code N");
        return 2;
    }
    uint32_t sw = (uint32_t)o->sw, port = (uint32_t)o->port, gpu = (uint32_t)o->gpu, code = (uint32_t)o->code;
    int rc;
    if (!strcmp(f, "link-down"))
        rc = ofm_emu_inject_port_down(h, sw, port);
    else if (!strcmp(f, "link-repair"))
        rc = ofm_emu_inject_port_repair(h, sw, port);
    else if (!strcmp(f, "switch-missing"))
        rc = ofm_emu_inject_switch(h, sw, OFM_DEV_MISSING);
    else if (!strcmp(f, "switch-failed"))
        rc = ofm_emu_inject_switch(h, sw, OFM_DEV_FAILED);
    else if (!strcmp(f, "switch-ok"))
        rc = ofm_emu_inject_switch(h, sw, OFM_DEV_OK);
    else if (!strcmp(f, "gpu-missing"))
        rc = ofm_emu_inject_gpu(h, gpu, OFM_DEV_MISSING);
    else if (!strcmp(f, "gpu-failed"))
        rc = ofm_emu_inject_gpu(h, gpu, OFM_DEV_FAILED);
    else if (!strcmp(f, "gpu-ok"))
        rc = ofm_emu_inject_gpu(h, gpu, OFM_DEV_OK);
    else if (!strcmp(f, "fabric-fail") || !strcmp(f, "fabric-ok"))
        rc = ofm_emu_inject_fabric_fail(h, gpu, !strcmp(f, "fabric-fail"));
    else if (!strcmp(f, "driver-version")) {
        if (argc != 2) {
            fprintf(stderr, "fmctl emu inject driver-version: give the VERSION string\n");
            return 2;
        }
        rc = ofm_emu_inject_driver_version(h, argv[1]);
    } else if (!strcmp(f, "sxid")) {
        const ofm_sxid_info *info = ofm_sxid_lookup(code);
        bool fatal = o->fatal_set ? o->fatal
                                 : (info && (info->cls == OFM_SXID_FATAL || info->cls == OFM_SXID_ALWAYS_FATAL));
        rc = ofm_emu_inject_sxid(h, sw, port, code, fatal, info ? info->name : "injected error");
    } else if (!strcmp(f, "switch-error")) {
        bool fatal = o->fatal_set && o->fatal;
        rc = ofm_emu_inject_switch_error(h, sw, o->port < 0 ? OFM_HAL_PORT_CHIP : port, fatal,
                                         o->count < 0 ? 1 : (uint32_t)o->count,
                                         fatal ? "injected fatal error" : "injected non-fatal error");
    } else if (!strcmp(f, "link-errors")) {
        ofm_hal_link_errors add = {.crc_flit = (uint64_t)o->crc_flit, .crc_data = (uint64_t)o->crc_data,
                                   .replay = (uint64_t)o->replay, .recovery = (uint64_t)o->recovery};
        if (!add.crc_flit && !add.crc_data && !add.replay && !add.recovery) {
            fprintf(stderr, "fmctl emu inject link-errors: give at least one of --crc-flit, "
                            "--crc-data, --replay, --recovery\n");
            return 2;
        }
        rc = ofm_emu_inject_link_errors(h, sw, port, &add);
    } else if (!strcmp(f, "xid")) {
        const ofm_xid_info *info = ofm_xid_lookup(code);
        rc = ofm_emu_inject_xid(h, gpu, code, info ? info->meaning : "injected error");
    } else {
        fprintf(stderr, "fmctl emu inject: unknown fault '%.60s'\n", f);
        return 2;
    }
    if (rc)
        return hal_err(h, f, rc);
    return 0;
}

/* The emulated driver load reads the same modprobe file `fmctl exclude`
 * edits, as the real one would at boot (FM §9.6). */
static int cmd_reboot(ofm_hal *h, const opts *o)
{
    static ofm_modprobe_list gpus, switches;
    const char *path = ofm_modprobe_default_path(o->modprobe);
    ofm_error err;
    if (ofm_modprobe_read(path, &gpus, &switches, &err)) {
        char buf[700];
        fprintf(stderr, "fmctl emu reboot: %s\n", ofm_error_format(&err, buf, sizeof buf));
        return 1;
    }
    int rc = ofm_emu_reboot_excluding(h, &gpus, &switches);
    if (rc)
        return hal_err(h, "reboot", rc);
    ofm_hal_excluded x[OFM_MAX_GPUS + OFM_MAX_SWITCHES];
    size_t n = 0;
    if (ofm_emu_list_excluded(h, x, sizeof x / sizeof x[0], &n) == OFM_HAL_OK)
        for (size_t i = 0; i < n && i < sizeof x / sizeof x[0]; i++)
            printf("excluded: %s %u (%s, %s) by %s\n", x[i].is_switch ? "NVSwitch" : "GPU", x[i].phys_id,
                   x[i].uuid, x[i].pci_bdf, x[i].is_switch ? OFM_MODPROBE_SWITCH_PARAM : OFM_MODPROBE_GPU_PARAM);
    return 0;
}

int fmctl_emu_main(int argc, char **argv)
{
    static const struct option lo[] = {
        {"emu-dir", required_argument, NULL, 'd'}, {"platform", required_argument, NULL, 'p'},
        {"force", no_argument, NULL, 'F'},         {"json", no_argument, NULL, 'j'},
        {"all", no_argument, NULL, 'a'},           {"quiet", no_argument, NULL, 'q'},
        {"switch", required_argument, NULL, 's'},  {"port", required_argument, NULL, 'P'},
        {"gpu", required_argument, NULL, 'g'},     {"code", required_argument, NULL, 'c'},
        {"fatal", no_argument, NULL, 'f'},         {"non-fatal", no_argument, NULL, 'n'},
        {"since", required_argument, NULL, 'S'},   {"help", no_argument, NULL, 'h'},
        {"crc-flit", required_argument, NULL, 1001}, {"crc-data", required_argument, NULL, 1002},
        {"replay", required_argument, NULL, 1003},   {"recovery", required_argument, NULL, 1004},
        {"modprobe-file", required_argument, NULL, 1005},
        {"tray", required_argument, NULL, 1007}, {"count", required_argument, NULL, 1006},
        {"full", no_argument, NULL, 1008},
        {NULL, 0, NULL, 0}};
    opts o = {.sw = -1, .port = -1, .gpu = -1, .code = -1, .count = -1, .tray = -1};
    char *pos[8];
    int npos = 0, c;
    optind = 1;
    /* options and positionals may interleave: collect positionals ourselves */
    while (optind < argc) {
        if ((c = getopt_long(argc, argv, "-h", lo, NULL)) == -1)
            break;
        switch (c) {
        case 1:
            if (npos == 8) {
                fprintf(stderr, "fmctl emu: too many arguments\n");
                return 2;
            }
            pos[npos++] = optarg;
            break;
        case 'd': o.dir = optarg; break;
        case 'p': o.platform = optarg; break;
        case 'F': o.force = true; break;
        case 'j': o.json = true; break;
        case 'a': o.all = true; break;
        case 'q': o.quiet = true; break;
        case 'f': o.fatal_set = o.fatal = true; break;
        case 'n': o.fatal_set = true; o.fatal = false; break;
        case 's': if (parse_num("--switch", optarg, 1023, &o.sw)) return 2; break;
        case 'P': if (parse_num("--port", optarg, OFM_MAX_SWITCH_PORTS - 1, &o.port)) return 2; break;
        case 'g': if (parse_num("--gpu", optarg, 1023, &o.gpu)) return 2; break;
        case 'c': if (parse_num("--code", optarg, 99999, &o.code)) return 2; break;
        case 'S': if (parse_num("--since", optarg, 1L << 40, &o.since)) return 2; break;
        case 1001: if (parse_num("--crc-flit", optarg, 1L << 40, &o.crc_flit)) return 2; break;
        case 1002: if (parse_num("--crc-data", optarg, 1L << 40, &o.crc_data)) return 2; break;
        case 1003: if (parse_num("--replay", optarg, 1L << 40, &o.replay)) return 2; break;
        case 1004: if (parse_num("--recovery", optarg, 1L << 40, &o.recovery)) return 2; break;
        case 1005: o.modprobe = optarg; break;
        case 1008: o.full = true; break;
        case 1007: if (parse_num("--tray", optarg, 1023, &o.tray)) return 2; break;
        case 1006:
            if (parse_num("--count", optarg, 1000000, &o.count))
                return 2;
            if (!o.count) {
                fprintf(stderr, "fmctl emu: --count: give at least 1\n");
                return 2;
            }
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    /* "--" ends the options; what follows are operands, never dropped */
    for (; optind < argc; optind++) {
        if (npos == 8) {
            fprintf(stderr, "fmctl emu: too many arguments\n");
            return 2;
        }
        pos[npos++] = argv[optind];
    }
    if (npos < 1) {
        usage(stderr);
        return 2;
    }
    const char *cmd = pos[0];
    char dir[4096], err[600];
    /* only probe and inject take operands: anything else is a mistake to
     * report, not to ignore */
    if (npos > 1 && strcmp(cmd, "probe") && strcmp(cmd, "inject")) {
        fprintf(stderr, "fmctl emu %s: unexpected argument '%.60s'\n", cmd, pos[1]);
        return 2;
    }
    if (!strcmp(cmd, "list"))
        return cmd_list(&o);
    if (!strcmp(cmd, "create")) {
        if (!o.platform) {
            fprintf(stderr, "fmctl emu create: --platform NAME|FILE is required\n");
            return 2;
        }
        if (ofm_emu_resolve_dir(o.dir, dir, sizeof dir)) {
            fprintf(stderr, "fmctl emu %s: emulator directory path longer than %zu characters\n", cmd,
                    sizeof dir - 1);
            return 2;
        }
        if (ofm_emu_create(dir, o.platform, o.force, err, sizeof err) != OFM_HAL_OK) {
            fprintf(stderr, "fmctl emu create: %s\n", err);
            return 1;
        }
        printf("Created emulated %s in %s\n", o.platform, dir);
        return 0;
    }
    if (!strcmp(cmd, "destroy")) {
        if (ofm_emu_resolve_dir(o.dir, dir, sizeof dir)) {
            fprintf(stderr, "fmctl emu %s: emulator directory path longer than %zu characters\n", cmd,
                    sizeof dir - 1);
            return 2;
        }
        if (ofm_emu_destroy(dir, err, sizeof err) != OFM_HAL_OK) {
            fprintf(stderr, "fmctl emu destroy: %s\n", err);
            return 1;
        }
        return 0;
    }
    ofm_hal *h;
    int rc = open_hal(&o, &h, dir, sizeof dir);
    if (rc)
        return rc;
    if (!strcmp(cmd, "show"))
        rc = cmd_show(h, &o);
    else if (!strcmp(cmd, "probe"))
        rc = cmd_probe(h, &o, npos - 1, pos + 1);
    else if (!strcmp(cmd, "routes"))
        rc = cmd_routes(h, &o);
    else if (!strcmp(cmd, "log"))
        rc = cmd_log(h, &o);
    else if (!strcmp(cmd, "inject"))
        rc = cmd_inject(h, &o, npos - 1, pos + 1);
    else if (!strcmp(cmd, "reboot"))
        rc = cmd_reboot(h, &o); else {
        fprintf(stderr, "fmctl emu: unknown command '%.60s'\n", cmd);
        usage(stderr);
        rc = 2;
    }
    ofm_hal_close(h);
    return rc;
}
