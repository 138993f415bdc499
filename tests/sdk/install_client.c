/* An out-of-tree SDK client, built by test_sdk_install from the installed
 * headers and library only (pkg-config nvfm). Valid C99 and C++11 so that
 * the same file checks both languages against the headers.
 * Usage: install_client 127.0.0.1:PORT   prints "partitions=N" on success. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nv_fm_agent.h>
#include <nv_fm_types.h>

int main(int argc, char **argv)
{
    if (argc != 2 || strlen(argv[1]) >= FM_MAX_STR_LENGTH) {
        fprintf(stderr, "usage: install_client ADDRESS\n");
        return 2;
    }
    fmReturn_t rc = fmLibInit();
    if (rc != FM_ST_SUCCESS) {
        fprintf(stderr, "fmLibInit: %d\n", (int)rc);
        return 1;
    }
    fmConnectParams_t params;
    memset(&params, 0, sizeof params);
    params.version = fmConnectParams_version;
    strcpy(params.addressInfo, argv[1]);
    params.timeoutMs = 5000;
    params.addressIsUnixSocket = 0;
    fmHandle_t handle = NULL;
    rc = fmConnect(&params, &handle);
    if (rc != FM_ST_SUCCESS) {
        fprintf(stderr, "fmConnect: %d\n", (int)rc);
        fmLibShutdown();
        return 1;
    }
    fmFabricPartitionList_t *list = (fmFabricPartitionList_t *)calloc(1, sizeof *list);
    if (!list)
        return 1;
    list->version = fmFabricPartitionList_version;
    rc = fmGetSupportedFabricPartitions(handle, list);
    if (rc == FM_ST_SUCCESS)
        printf("partitions=%u\n", list->numPartitions);
    else
        fprintf(stderr, "fmGetSupportedFabricPartitions: %d\n", (int)rc);
    free(list);
    fmDisconnect(handle);
    fmLibShutdown();
    return rc == FM_ST_SUCCESS ? 0 : 1;
}
