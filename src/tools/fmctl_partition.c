/* fmctl partition: the hypervisor's partition calls from a shell, through
 * the same SDK any client uses. */
#include <getopt.h>
#include <stdbool.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sdk/nvfm_ext.h"
#include "tools/fmctl.h"
#include "tools/fmctl_connect.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: fmctl partition COMMAND [--json] [connection options]\n"
               "\n"
               "  list                          supported partitions (fmGetSupportedFabricPartitions)\n"
               "  activate ID [--vf BDF ...]    activate; vGPU mode needs the VFs in guest order\n"
               "                                (fmActivateFabricPartition[WithVFs]); BDF is\n"
               "                                DDDD:BB:DD.F\n"
               "  deactivate ID                 (fmDeactivateFabricPartition)\n"
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
               "\n"
               "Exit status: 0 success; 1 the call returned an error (its FM_ST_* name is printed);\n"
               "2 usage error or no fabric manager answering.\n");
}

static int parse_id(const char *s, unsigned *out)
{
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (!*s || *end || v > 1023) {
        fprintf(stderr, "fmctl partition: '%s' is not a partition ID\n", s);
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

static int do_list(fmHandle_t h, bool json)
{
    fmFabricPartitionList_t *l = calloc(1, sizeof *l);
    if (!l)
        return 2;
    l->version = fmFabricPartitionList_version;
    fmReturn_t rc = fmGetSupportedFabricPartitions(h, l);
    if (rc != FM_ST_SUCCESS) {
        free(l);
        return report(rc, "fmGetSupportedFabricPartitions", json);
    }
    json_object *a = json ? json_object_new_array() : NULL;
    if (!a)
        printf("%-4s %-7s %-5s %-14s %s\n", "ID", "Active", "GPUs", "NVLinks/GPU", "GPU physical IDs");
    for (unsigned i = 0; i < l->numPartitions && i < FM_MAX_FABRIC_PARTITIONS; i++) {
        fmFabricPartitionInfo_t *p = &l->partitionInfo[i];
        if (a) {
            json_object *o = json_object_new_object();
            json_object_object_add(o, "id", json_object_new_int64(p->partitionId));
            json_object_object_add(o, "active", json_object_new_boolean(p->isActive));
            json_object *g = json_object_new_array();
            for (unsigned k = 0; k < p->numGpus && k < FM_MAX_NUM_GPUS; k++) {
                json_object *x = json_object_new_object();
                json_object_object_add(x, "physical_id", json_object_new_int64(p->gpuInfo[k].physicalId));
                json_object_object_add(x, "uuid", json_object_new_string(p->gpuInfo[k].uuid));
                json_object_object_add(x, "pci_bus_id", json_object_new_string(p->gpuInfo[k].pciBusId));
                json_object_object_add(x, "nvlinks_available", json_object_new_int64(p->gpuInfo[k].numNvLinksAvailable));
                json_object_object_add(x, "nvlinks_max", json_object_new_int64(p->gpuInfo[k].maxNumNvLinks));
                json_object_object_add(x, "nvlink_line_rate_mbps", json_object_new_int64(p->gpuInfo[k].nvlinkLineRateMBps));
                json_object_array_add(g, x);
            }
            json_object_object_add(o, "gpus", g);
            json_object_array_add(a, o);
            continue;
        }
        char ids[256] = "";
        for (unsigned k = 0; k < p->numGpus && k < FM_MAX_NUM_GPUS; k++) {
            size_t off = strlen(ids);
            snprintf(ids + off, sizeof ids - off, "%s%u", k ? "," : "", p->gpuInfo[k].physicalId);
        }
        printf("%-4u %-7s %-5u %-14u %s\n", p->partitionId, p->isActive ? "yes" : "no", p->numGpus,
               p->numGpus ? p->gpuInfo[0].numNvLinksAvailable : 0, ids);
    }
    if (a) {
        printf("%s\n", json_object_to_json_string_ext(a, JSON_C_TO_STRING_PRETTY));
        json_object_put(a);
    }
    free(l);
    return 0;
}

static int parse_bdf(const char *s, fmPciDevice_t *d)
{
    unsigned dom, bus, dev, fn;
    char extra;
    if (sscanf(s, "%x:%x:%x.%x%c", &dom, &bus, &dev, &fn, &extra) != 4 || dom > 0xffff ||
        bus > 0xff || dev > 0x1f || fn > 7) {
        fprintf(stderr, "fmctl partition: --vf '%s' is not a PCI address DDDD:BB:DD.F\n", s);
        return -1;
    }
    *d = (fmPciDevice_t){dom, bus, dev, fn};
    return 0;
}

int fmctl_partition_main(int argc, char **argv)
{
    static const struct option lo[] = {
        {"json", no_argument, NULL, 'j'},         {"vf", required_argument, NULL, 'V'},
        {"address", required_argument, NULL, 'a'}, {"socket", required_argument, NULL, 's'},
        {"timeout", required_argument, NULL, 't'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    fmctl_conn_opts co = {0};
    bool json = false;
    fmPciDevice_t vfs[FM_MAX_NUM_GPUS];
    unsigned nvfs = 0;
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
    bool needs_id = !strcmp(cmd, "activate") || !strcmp(cmd, "deactivate");
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
               strcmp(cmd, "unsupported")) {
        fprintf(stderr, "fmctl partition: unknown command '%s'\n", cmd);
        usage(stderr);
        return 2;
    } else if (!needs_id && npos > 1) {
        fprintf(stderr, "fmctl partition %s: unexpected argument '%s'\n", cmd, pos[1]);
        return 2;
    }
    fmHandle_t h;
    if (fmctl_connect("fmctl partition", &co, &h) != FM_ST_SUCCESS)
        return 2;
    int rc;
    if (!strcmp(cmd, "list"))
        rc = do_list(h, json);
    else if (!strcmp(cmd, "activate"))
        rc = nvfs ? report(fmActivateFabricPartitionWithVFs(h, id, vfs, nvfs),
                           "fmActivateFabricPartitionWithVFs", json)
                  : report(fmActivateFabricPartition(h, id), "fmActivateFabricPartition", json);
    else if (!strcmp(cmd, "deactivate"))
        rc = report(fmDeactivateFabricPartition(h, id), "fmDeactivateFabricPartition", json);
    else if (!strcmp(cmd, "set-active"))
        rc = report(fmSetActivatedFabricPartitions(h, &act), "fmSetActivatedFabricPartitions", json);
    else if (!strcmp(cmd, "failed-devices")) {
        fmNvlinkFailedDevices_t *fd = calloc(1, sizeof *fd);
        fd->version = fmNvlinkFailedDevices_version;
        fmReturn_t r = fmGetNvlinkFailedDevices(h, fd);
        rc = report(r, "fmGetNvlinkFailedDevices", false);
        if (r == FM_ST_SUCCESS) {
            for (unsigned i = 0; i < fd->numGpus && i < FM_MAX_NUM_GPUS; i++)
                printf("GPU %s %s: %u failed NVLink(s)\n", fd->gpuInfo[i].pciBusId, fd->gpuInfo[i].uuid,
                       fd->gpuInfo[i].numPorts);
            for (unsigned i = 0; i < fd->numSwitches && i < FM_MAX_NUM_NVSWITCHES; i++)
                printf("NVSwitch %s: %u failed port(s)\n", fd->switchInfo[i].pciBusId,
                       fd->switchInfo[i].numPorts);
        }
        free(fd);
    } else {
        fmUnsupportedFabricPartitionList_t *u = calloc(1, sizeof *u);
        u->version = fmUnsupportedFabricPartitionList_version;
        fmReturn_t r = fmGetUnsupportedFabricPartitions(h, u);
        rc = report(r, "fmGetUnsupportedFabricPartitions", false);
        for (unsigned i = 0; r == FM_ST_SUCCESS && i < u->numPartitions && i < FM_MAX_FABRIC_PARTITIONS; i++)
            printf("partition %u (%u GPUs) is not supported\n", u->partitionInfo[i].partitionId,
                   u->partitionInfo[i].numGpus);
        free(u);
    }
    fmctl_disconnect(h);
    return rc;
}
