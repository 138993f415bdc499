/* An out-of-tree hypervisor client: built only from the installed
 * nv_fm_agent.h / nv_fm_types.h and libnvfm (via pkg-config), it walks the
 * whole documented lifecycle against a running fabric manager in shared
 * NVSwitch mode on an H100 board and checks every return code.
 * usage: lifecycle_client SOCKET_PATH */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nv_fm_agent.h>

static int failures;

static void expect(const char *what, fmReturn_t got, fmReturn_t want)
{
    printf("%-44s %4d %s\n", what, (int)got, got == want ? "ok" : "UNEXPECTED");
    if (got != want) {
        printf("  expected %d\n", (int)want);
        failures++;
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s SOCKET_PATH\n", argv[0]);
        return 2;
    }
    fmHandle_t h = NULL;
    expect("fmLibInit", fmLibInit(), FM_ST_SUCCESS);
    fmConnectParams_t cp;
    memset(&cp, 0, sizeof cp);
    cp.version = fmConnectParams_version;
    cp.timeoutMs = 5000;
    cp.addressIsUnixSocket = 1;
    snprintf(cp.addressInfo, sizeof cp.addressInfo, "%s", argv[1]);
    expect("fmConnect", fmConnect(&cp, &h), FM_ST_SUCCESS);

    fmFabricPartitionList_t *list = calloc(1, sizeof *list);
    list->version = fmFabricPartitionList_version;
    expect("fmGetSupportedFabricPartitions", fmGetSupportedFabricPartitions(h, list), FM_ST_SUCCESS);
    printf("supported partitions: %u\n", list->numPartitions);
    if (list->numPartitions != 15)
        failures++;
    /* H100 conventions: multi-GPU partitions report 18 links, single-GPU 0 */
    for (unsigned i = 0; i < list->numPartitions; i++) {
        fmFabricPartitionInfo_t *p = &list->partitionInfo[i];
        unsigned want = p->numGpus > 1 ? 18 : 0;
        if (p->gpuInfo[0].numNvLinksAvailable != want || p->gpuInfo[0].maxNumNvLinks != want) {
            printf("partition %u: %u/%u NVLinks, want %u\n", p->partitionId,
                   p->gpuInfo[0].numNvLinksAvailable, p->gpuInfo[0].maxNumNvLinks, want);
            failures++;
        }
    }
    list->version = 0x12345678;
    expect("fmGetSupportedFabricPartitions bad version", fmGetSupportedFabricPartitions(h, list),
           FM_ST_VERSION_MISMATCH);
    expect("fmGetSupportedFabricPartitions NULL", fmGetSupportedFabricPartitions(h, NULL), FM_ST_BADPARAM);

    expect("fmActivateFabricPartition 1", fmActivateFabricPartition(h, 1), FM_ST_SUCCESS);
    expect("fmActivateFabricPartition 1 again", fmActivateFabricPartition(h, 1), FM_ST_IN_USE);
    expect("fmActivateFabricPartition 3 (overlaps 1)", fmActivateFabricPartition(h, 3), FM_ST_IN_USE);
    expect("fmActivateFabricPartition 2 (disjoint)", fmActivateFabricPartition(h, 2), FM_ST_SUCCESS);
    expect("fmActivateFabricPartition 99 (unknown)", fmActivateFabricPartition(h, 99), FM_ST_BADPARAM);
    fmPciDevice_t vf = {0, 0x3b, 0, 1};
    expect("fmActivateFabricPartitionWithVFs (not vGPU)", fmActivateFabricPartitionWithVFs(h, 7, &vf, 1),
           FM_ST_NOT_SUPPORTED);
    expect("fmDeactivateFabricPartition 1", fmDeactivateFabricPartition(h, 1), FM_ST_SUCCESS);
    expect("fmDeactivateFabricPartition 1 again", fmDeactivateFabricPartition(h, 1), FM_ST_UNINITIALIZED);
    expect("fmDeactivateFabricPartition 99", fmDeactivateFabricPartition(h, 99), FM_ST_BADPARAM);
    expect("fmActivateFabricPartition 3 (now free)", fmActivateFabricPartition(h, 3), FM_ST_SUCCESS);

    fmNvlinkFailedDevices_t *fd = calloc(1, sizeof *fd);
    fd->version = fmNvlinkFailedDevices_version;
    expect("fmGetNvlinkFailedDevices", fmGetNvlinkFailedDevices(h, fd), FM_ST_SUCCESS);
    if (fd->numGpus || fd->numSwitches)
        failures++; /* always empty on H100 */
    fmUnsupportedFabricPartitionList_t *un = calloc(1, sizeof *un);
    un->version = fmUnsupportedFabricPartitionList_version;
    expect("fmGetUnsupportedFabricPartitions", fmGetUnsupportedFabricPartitions(h, un), FM_ST_SUCCESS);
    if (un->numPartitions)
        failures++;

    list->version = fmFabricPartitionList_version;
    fmGetSupportedFabricPartitions(h, list);
    unsigned active = 0;
    for (unsigned i = 0; i < list->numPartitions; i++)
        active += list->partitionInfo[i].isActive;
    printf("active partitions: %u\n", active);
    if (active != 2)
        failures++;
    expect("fmDeactivateFabricPartition 2", fmDeactivateFabricPartition(h, 2), FM_ST_SUCCESS);
    expect("fmDeactivateFabricPartition 3", fmDeactivateFabricPartition(h, 3), FM_ST_SUCCESS);
    expect("fmDisconnect", fmDisconnect(h), FM_ST_SUCCESS);
    expect("fmLibShutdown", fmLibShutdown(), FM_ST_SUCCESS);
    free(list);
    free(fd);
    free(un);
    printf("%s\n", failures ? "LIFECYCLE FAILED" : "LIFECYCLE OK");
    return failures ? 1 : 0;
}
