/* fmctl partition: the hypervisor's partition calls from a shell, through
 * the same SDK any client uses. */
#include <getopt.h>
#include <stdbool.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openfm/partition_rules.h"
#include "sdk/nvfm_ext.h"
#include "tools/fmctl.h"
#include "tools/fmctl_connect.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: fmctl partition COMMAND [--json] [connection options]\n"
               "\n"
               "  list                          the partition table: the platform's partitions and\n"
               "                                those defined live, whether each is supported,\n"
               "                                active and served by the public SDK calls\n"
               "  create GPUS [--id ID]         define a partition live: GPUS are physical IDs\n"
               "                                and ranges, e.g. 1,5,9-12; without --id the\n"
               "                                lowest free ID is taken; prints the new ID.\n"
               "                                Checked against the platform's rules (FM\n"
               "                                §11.2.2 on HGX); kept in the state file\n"
               "  delete ID                     delete a partition defined live (not active;\n"
               "                                the platform's own partitions cannot be deleted)\n"
               "  activate ID [--vf BDF ...]    activate; vGPU mode needs the VFs in guest order\n"
               "                                (fmActivateFabricPartitionWithVFs); BDF is\n"
               "                                DDDD:BB:DD.F. Without VFs any partition, also\n"
               "                                one the public calls cannot hold\n"
               "  deactivate ID                 deactivate any partition\n"
               "  set-active [ID ...]           tell a restarted manager which partitions are\n"
               "                                running (fmSetActivatedFabricPartitions; none = 0)\n"
               "  failed-devices                GPUs/switches with failed NVLinks\n"
               "  unsupported                   partitions removed by failures\n"
               "\n"
               "Options may come anywhere; after '--' every word is an operand. Operands a\n"
               "command does not take are a usage error.\n"
               "\n"
               FMCTL_CONN_HELP
               "  --json                        machine-readable output\n"
               "  -h, --help                    this text\n"
               "\n"
               "Exit status: 0 success; 1 the call returned an error (its FM_ST_* name and the\n"
               "daemon's reason are printed); 2 usage error or no fabric manager answering.\n"
               "create, delete, activate, deactivate and set-active need root or the\n"
               "OPENFM_API_ADMIN_GROUP.\n");
}

static int parse_id(const char *s, unsigned *out)
{
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (!*s || *s < '0' || *s > '9' || *end || v >= 0xffffffffUL) {
        fprintf(stderr, "fmctl partition: '%.60s' is not a partition ID\n", s);
        return -1;
    }
    *out = (unsigned)v;
    return 0;
}

static int report(fmReturn_t rc, const char *what, bool json)
{
    if (json)
        printf("{\"call\":\"%s\",\"return\":\"%s\",\"code\":%d}\n", what, ofmReturnName(rc), (int)rc);
    else if (rc == FM_ST_SUCCESS)
        printf("%s: success\n", what);
    else
        fprintf(stderr, "%s: %s (%s)\n", what, ofmReturnName(rc), ofmReturnText(rc));
    return rc == FM_ST_SUCCESS ? 0 : 1;
}

/* One device of fmGetNvlinkFailedDevices as JSON. */
static json_object *failed_device_json(const fmNvlinkFailedDeviceInfo_t *d)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "uuid", json_object_new_string(d->uuid));
    json_object_object_add(o, "pci_bus_id", json_object_new_string(d->pciBusId));
    json_object *ports = json_object_new_array();
    for (unsigned k = 0; k < d->numPorts && k < FM_MAX_NUM_NVLINK_PORTS; k++)
        json_object_array_add(ports, json_object_new_int64(d->portNum[k]));
    json_object_object_add(o, "failed_ports", ports);
    return o;
}

static void print_json(json_object *o)
{
    printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
    json_object_put(o);
}

static int do_failed_devices(fmHandle_t h, bool json)
{
    fmNvlinkFailedDevices_t *fd = calloc(1, sizeof *fd);
    if (!fd) {
        fprintf(stderr, "fmctl partition: out of memory\n");
        return 1;
    }
    fd->version = fmNvlinkFailedDevices_version;
    fmReturn_t r = fmGetNvlinkFailedDevices(h, fd);
    if (r != FM_ST_SUCCESS || !json) {
        int rc = report(r, "fmGetNvlinkFailedDevices", json);
        for (unsigned i = 0; r == FM_ST_SUCCESS && i < fd->numGpus && i < FM_MAX_NUM_GPUS; i++)
            printf("GPU %s %s: %u failed NVLink(s)\n", fd->gpuInfo[i].pciBusId, fd->gpuInfo[i].uuid,
                   fd->gpuInfo[i].numPorts);
        for (unsigned i = 0; r == FM_ST_SUCCESS && i < fd->numSwitches && i < FM_MAX_NUM_NVSWITCHES; i++)
            printf("NVSwitch %s: %u failed port(s)\n", fd->switchInfo[i].pciBusId,
                   fd->switchInfo[i].numPorts);
        free(fd);
        return rc;
    }
    json_object *o = json_object_new_object(), *g = json_object_new_array(),
                *sw = json_object_new_array();
    for (unsigned i = 0; i < fd->numGpus && i < FM_MAX_NUM_GPUS; i++)
        json_object_array_add(g, failed_device_json(&fd->gpuInfo[i]));
    for (unsigned i = 0; i < fd->numSwitches && i < FM_MAX_NUM_NVSWITCHES; i++)
        json_object_array_add(sw, failed_device_json(&fd->switchInfo[i]));
    json_object_object_add(o, "gpus", g);
    json_object_object_add(o, "nvswitches", sw);
    print_json(o);
    free(fd);
    return 0;
}

static int do_unsupported(fmHandle_t h, bool json)
{
    fmUnsupportedFabricPartitionList_t *u = calloc(1, sizeof *u);
    if (!u) {
        fprintf(stderr, "fmctl partition: out of memory\n");
        return 1;
    }
    u->version = fmUnsupportedFabricPartitionList_version;
    fmReturn_t r = fmGetUnsupportedFabricPartitions(h, u);
    unsigned n = u->numPartitions < FM_MAX_FABRIC_PARTITIONS ? u->numPartitions : FM_MAX_FABRIC_PARTITIONS;
    if (r != FM_ST_SUCCESS || !json) {
        int rc = report(r, "fmGetUnsupportedFabricPartitions", json);
        for (unsigned i = 0; r == FM_ST_SUCCESS && i < n; i++)
            printf("partition %u (%u GPUs) is not supported\n", u->partitionInfo[i].partitionId,
                   u->partitionInfo[i].numGpus);
        free(u);
        return rc;
    }
    json_object *a = json_object_new_array();
    for (unsigned i = 0; i < n; i++) {
        const fmUnsupportedFabricPartitionInfo_t *pi = &u->partitionInfo[i];
        json_object *o = json_object_new_object(), *g = json_object_new_array();
        json_object_object_add(o, "id", json_object_new_int64(pi->partitionId));
        for (unsigned k = 0; k < pi->numGpus && k < FM_MAX_NUM_GPUS; k++)
            json_object_array_add(g, json_object_new_int64(pi->gpuPhysicalIds[k]));
        json_object_object_add(o, "gpus", g);
        json_object_array_add(a, o);
    }
    print_json(a);
    free(u);
    return 0;
}

/* "1-4,9" */
static void gpu_ranges(const uint32_t *g, unsigned n, char *buf, size_t cap)
{
    buf[0] = '\0';
    for (unsigned k = 0; k < n;) {
        unsigned e = k;
        while (e + 1 < n && g[e + 1] == g[e] + 1)
            e++;
        size_t off = strlen(buf);
        if (e > k)
            snprintf(buf + off, cap - off, "%s%u-%u", k ? "," : "", g[k], g[e]);
        else
            snprintf(buf + off, cap - off, "%s%u", k ? "," : "", g[k]);
        k = e + 1;
    }
}

static int do_list(fmHandle_t h, bool json)
{
    ofm_wire_partition_defs *l = calloc(1, sizeof *l);
    if (!l)
        return 2;
    fmReturn_t rc = ofmListFabricPartitions(h, l);
    if (rc != FM_ST_SUCCESS) {
        free(l);
        return report(rc, "ofmListFabricPartitions", json);
    }
    json_object *a = json ? json_object_new_array() : NULL;
    if (!a)
        printf("%-6s %-7s %-10s %-5s %-12s %-8s %-7s %s\n", "ID", "Active", "Supported", "GPUs",
               "NVLinks/GPU", "Origin", "Public", "GPU physical IDs");
    for (unsigned i = 0; i < l->n && i < OFM_WIRE_MAX_DEFINITIONS; i++) {
        const ofm_wire_partition_def *p = &l->def[i];
        unsigned ng = p->ngpus < OFM_WIRE_MAX_PARTITION_GPUS ? p->ngpus : OFM_WIRE_MAX_PARTITION_GPUS;
        if (a) {
            json_object *o = json_object_new_object();
            json_object_object_add(o, "id", json_object_new_int64(p->id));
            json_object_object_add(o, "active", json_object_new_boolean(p->active));
            json_object_object_add(o, "supported", json_object_new_boolean(p->supported));
            json_object_object_add(o, "origin", json_object_new_string(p->live ? "live" : "default"));
            json_object_object_add(o, "public_api", json_object_new_boolean(p->public_view));
            json_object_object_add(o, "nvlinks_per_gpu", json_object_new_int64(p->nvlinks_per_gpu));
            json_object *g = json_object_new_array();
            for (unsigned k = 0; k < ng; k++) {
                json_object *x = json_object_new_object();
                json_object_object_add(x, "physical_id", json_object_new_int64(p->gpus[k]));
                json_object_array_add(g, x);
            }
            json_object_object_add(o, "gpus", g);
            json_object_array_add(a, o);
            continue;
        }
        char ids[512];
        gpu_ranges(p->gpus, ng, ids, sizeof ids);
        printf("%-6u %-7s %-10s %-5u %-12u %-8s %-7s %s\n", p->id, p->active ? "yes" : "no",
               p->supported ? "yes" : "no", ng, p->nvlinks_per_gpu, p->live ? "live" : "default",
               p->public_view ? "yes" : "no", ids);
    }
    if (a) {
        printf("%s\n", json_object_to_json_string_ext(a, JSON_C_TO_STRING_PRETTY));
        json_object_put(a);
    }
    free(l);
    return 0;
}

static int do_create(fmHandle_t h, const uint32_t *gpus, unsigned n, unsigned id, bool json)
{
    fmFabricPartitionId_t nid = 0;
    fmReturn_t rc = ofmCreateFabricPartition(h, gpus, n, id, &nid);
    if (rc != FM_ST_SUCCESS)
        return report(rc, "create partition", json);
    if (json)
        printf("{\"call\":\"ofmCreateFabricPartition\",\"return\":\"%s\",\"code\":0,\"id\":%u}\n",
               ofmReturnName(rc), nid);
    else
        printf("%u\n", nid); /* the ID alone, for scripts: id=$(fmctl partition create 1-4) */
    return 0;
}

static int parse_bdf(const char *s, fmPciDevice_t *d)
{
    unsigned dom, bus, dev, fn;
    char extra;
    if (sscanf(s, "%x:%x:%x.%x%c", &dom, &bus, &dev, &fn, &extra) != 4 || dom > 0xffff ||
        bus > 0xff || dev > 0x1f || fn > 7) {
        fprintf(stderr, "fmctl partition: --vf '%.60s' is not a PCI address DDDD:BB:DD.F\n", s);
        return -1;
    }
    *d = (fmPciDevice_t){dom, bus, dev, fn};
    return 0;
}

int fmctl_partition_main(int argc, char **argv)
{
    static const struct option lo[] = {
        {"json", no_argument, NULL, 'j'},         {"vf", required_argument, NULL, 'V'},
        {"id", required_argument, NULL, 'i'},
        {"address", required_argument, NULL, 'a'}, {"socket", required_argument, NULL, 's'},
        {"timeout", required_argument, NULL, 't'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    fmctl_conn_opts co = {0};
    bool json = false;
    fmPciDevice_t vfs[FM_MAX_NUM_GPUS];
    unsigned nvfs = 0;
    const char *want_id = NULL;
    char *pos[FM_MAX_FABRIC_PARTITIONS + 1];
    int npos = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "-hj", lo, NULL)) != -1) {
        switch (c) {
        case 1:
            if (npos > FM_MAX_FABRIC_PARTITIONS) {
                fprintf(stderr, "fmctl partition: too many arguments\n");
                return 2;
            }
            pos[npos++] = optarg;
            break;
        case 'j': json = true; break;
        case 'i': want_id = optarg; break;
        case 'V':
            if (nvfs == FM_MAX_NUM_GPUS) {
                fprintf(stderr, "fmctl partition: at most %d VFs\n", FM_MAX_NUM_GPUS);
                return 2;
            }
            if (parse_bdf(optarg, &vfs[nvfs++]))
                return 2;
            break;
        case 'a': co.address = optarg; break;
        case 's': co.socket = optarg; break;
        case 't':
            if (fmctl_parse_timeout("fmctl partition", optarg, &co.timeout_ms))
                return 2;
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    /* "--" ends the options; what follows are operands, never dropped */
    for (; optind < argc; optind++) {
        if (npos > FM_MAX_FABRIC_PARTITIONS) {
            fprintf(stderr, "fmctl partition: too many arguments\n");
            return 2;
        }
        pos[npos++] = argv[optind];
    }
    if (npos < 1) {
        usage(stderr);
        return 2;
    }
    const char *cmd = pos[0];
    unsigned id = 0;
    bool needs_id = !strcmp(cmd, "activate") || !strcmp(cmd, "deactivate") || !strcmp(cmd, "delete");
    uint32_t gpus[OFM_WIRE_MAX_PARTITION_GPUS];
    int ngpus = 0;
    unsigned new_id = OFM_PARTITION_ID_ANY;
    if (want_id && strcmp(cmd, "create")) {
        fprintf(stderr, "fmctl partition: --id only applies to 'create'\n");
        return 2;
    }
    if (!strcmp(cmd, "create")) {
        char why[200];
        if (npos != 2) {
            fprintf(stderr, "fmctl partition create: give one GPU list, e.g. 1,5,9-12\n");
            return 2;
        }
        ngpus = ofm_partition_parse_gpu_list(pos[1], gpus, OFM_WIRE_MAX_PARTITION_GPUS, why, sizeof why);
        if (ngpus < 0) {
            fprintf(stderr, "fmctl partition create: %s\n", why);
            return 2;
        }
        if (want_id && parse_id(want_id, &new_id))
            return 2;
    }
    if (needs_id && (npos != 2 || parse_id(pos[1], &id))) {
        if (npos != 2)
            fprintf(stderr, "fmctl partition %s: give exactly one partition ID\n", cmd);
        return 2;
    }
    if (nvfs && strcmp(cmd, "activate")) {
        fprintf(stderr, "fmctl partition: --vf only applies to 'activate'\n");
        return 2;
    }
    fmActivatedFabricPartitionList_t act;
    memset(&act, 0, sizeof act);
    if (!strcmp(cmd, "set-active")) {
        act.version = fmActivatedFabricPartitionList_version;
        for (int i = 1; i < npos; i++)
            if (parse_id(pos[i], &act.partitionIds[act.numPartitions++]))
                return 2;
    } else if (!needs_id && strcmp(cmd, "list") && strcmp(cmd, "failed-devices") &&
               strcmp(cmd, "unsupported") && strcmp(cmd, "create")) {
        fprintf(stderr, "fmctl partition: unknown command '%.60s'\n", cmd);
        usage(stderr);
        return 2;
    } else if (!needs_id && npos > 1 && strcmp(cmd, "create")) {
        fprintf(stderr, "fmctl partition %s: unexpected argument '%.60s'\n", cmd, pos[1]);
        return 2;
    }
    fmHandle_t h;
    if (fmctl_connect("fmctl partition", &co, &h) != FM_ST_SUCCESS)
        return 2;
    int rc;
    if (!strcmp(cmd, "list"))
        rc = do_list(h, json);
    else if (!strcmp(cmd, "create"))
        rc = do_create(h, gpus, (unsigned)ngpus, new_id, json);
    else if (!strcmp(cmd, "delete"))
        rc = report(ofmDeleteFabricPartition(h, id), "delete partition", json);
    else if (!strcmp(cmd, "activate"))
        rc = nvfs ? report(fmActivateFabricPartitionWithVFs(h, id, vfs, nvfs),
                           "fmActivateFabricPartitionWithVFs", json)
                  : report(ofmActivateFabricPartitionAny(h, id), "activate partition", json);
    else if (!strcmp(cmd, "deactivate"))
        rc = report(ofmDeactivateFabricPartitionAny(h, id), "deactivate partition", json);
    else if (!strcmp(cmd, "set-active"))
        rc = report(fmSetActivatedFabricPartitions(h, &act), "fmSetActivatedFabricPartitions", json);
    else if (!strcmp(cmd, "failed-devices"))
        rc = do_failed_devices(h, json);
    else
        rc = do_unsupported(h, json);
    fmctl_disconnect(h);
    return rc;
}
