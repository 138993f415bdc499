/* fmctl status: what the fabric manager is doing, asked over its SDK socket.
 * Exit status is for scripts: 0 ready, 1 not ready / degraded / failed,
 * 2 no fabric manager answering. */
#include <getopt.h>
#include <stdbool.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mig/mig_ops.h"
#include "sdk/nvfm_ext.h"
#include "tools/fmctl.h"
#include "tools/fmctl_connect.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: fmctl status [--json] [--wait-ready [--wait-timeout S]] [connection options]\n"
               "\n"
               "Shows the fabric state, mode, platform, per-GPU fabric registration (like the\n"
               "Fabric section of 'nvidia-smi -q'), link counts and the last errors.\n"
               "\n"
               "  --json              print the daemon's status document as JSON\n"
               "  --wait-ready        keep asking until the fabric is ready (or the wait times out)\n"
               "  --wait-timeout S    give up waiting after S seconds (default 60)\n"
               FMCTL_CONN_HELP
               "  -h, --help          this text\n"
               "\n"
               "Exit status: 0 ready, 1 not ready, degraded or failed, 2 no fabric manager answering.\n");
}

static const char *js(json_object *o, const char *k)
{
    json_object *v;
    return json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : "";
}

static int64_t ji(json_object *o, const char *k)
{
    json_object *v;
    return json_object_object_get_ex(o, k, &v) ? json_object_get_int64(v) : 0;
}

static void print_human(json_object *o)
{
    printf("Fabric Manager\n");
    printf("    State                 : %s\n", js(o, "state"));
    printf("    Mode                  : %s\n", js(o, "mode"));
    printf("    Platform              : %s (%s)\n", js(o, "platform"), js(o, "topology_source"));
    printf("    Backend               : %s%s%s\n", js(o, "backend"),
           *js(o, "emu_dir") ? " " : "", js(o, "emu_dir"));
    printf("    Driver Version        : %s\n", js(o, "driver_version"));
    printf("    PID                   : %lld\n", (long long)ji(o, "pid"));
    printf("    Message               : %s\n", js(o, "message"));
    if (*js(o, "status_file_error"))
        printf("    Status File           : not written: %s\n", js(o, "status_file_error"));
    json_object *l;
    if (json_object_object_get_ex(o, "links", &l))
        printf("    NVLinks               : access %lld/%lld active, trunk %lld/%lld active, %lld "
               "routing entries\n",
               (long long)ji(l, "access_active"), (long long)ji(l, "access_expected"),
               (long long)ji(l, "trunk_active"), (long long)ji(l, "trunk_expected"),
               (long long)ji(l, "routes_programmed"));
    json_object *g;
    /* MIG mode is GPU state the daemon does not own: read it from the backend */
    ofm_hal *mh = NULL;
    char merr[256];
    if (*js(o, "backend_spec") &&
        ofm_hal_open(js(o, "backend_spec"), NULL, &mh, merr, sizeof merr) != OFM_HAL_OK)
        mh = NULL;
    if (json_object_object_get_ex(o, "gpus", &g))
        for (size_t i = 0; i < json_object_array_length(g); i++) {
            json_object *x = json_object_array_get_idx(g, i);
            printf("\nGPU %lld  %s  %s\n", (long long)ji(x, "physical_id"), js(x, "pci_bus_id"),
                   js(x, "uuid"));
            printf("    Fabric\n");
            printf("        State             : %s\n", js(x, "fabric_state"));
            printf("        Status            : %s\n", js(x, "fabric_status"));
            printf("    NVLink P2P            : %s\n",
                   json_object_get_boolean(json_object_object_get(x, "nvlink_p2p")) ? "Yes" : "No");
            printf("    NVLinks usable        : %lld/%lld\n", (long long)ji(x, "links_usable"),
                   (long long)ji(x, "links_expected"));
            char mig[160];
            if (mh && ofm_mig_summary(mh, (uint32_t)ji(x, "physical_id"), mig, sizeof mig) == 0)
                printf("    MIG Mode              : %s\n", mig);
        }
    if (mh)
        ofm_hal_close(mh);
    json_object *s;
    if (json_object_object_get_ex(o, "switches", &s)) {
        printf("\nNVSwitches\n");
        for (size_t i = 0; i < json_object_array_length(s); i++) {
            json_object *x = json_object_array_get_idx(s, i);
            printf("    %-3lld %s  %-9s links %lld/%lld active\n", (long long)ji(x, "id"),
                   js(x, "pci_bus_id"), js(x, "status"), (long long)ji(x, "links_active"),
                   (long long)ji(x, "links_expected"));
        }
    }
    json_object *p;
    if (json_object_object_get_ex(o, "partitions", &p)) {
        printf("\nPartitions (active)\n");
        int any = 0;
        for (size_t i = 0; i < json_object_array_length(p); i++) {
            json_object *x = json_object_array_get_idx(p, i);
            if (!json_object_get_boolean(json_object_object_get(x, "active")))
                continue;
            any = 1;
            printf("    %lld: GPUs %s\n", (long long)ji(x, "id"),
                   json_object_to_json_string(json_object_object_get(x, "gpus")));
        }
        if (!any)
            printf("    none\n");
    }
    json_object *e;
    printf("\nErrors (%lld total)\n", (long long)ji(o, "errors_total"));
    if (json_object_object_get_ex(o, "last_errors", &e)) {
        size_t n = json_object_array_length(e);
        for (size_t i = n > 10 ? n - 10 : 0; i < n; i++)
            printf("    %s\n", js(json_object_array_get_idx(e, i), "summary"));
        if (!n)
            printf("    none\n");
    }
}

int fmctl_status_main(int argc, char **argv)
{
    static const struct option lo[] = {
        {"json", no_argument, NULL, 'j'},          {"wait-ready", no_argument, NULL, 'w'},
        {"wait-timeout", required_argument, NULL, 'W'}, {"address", required_argument, NULL, 'a'},
        {"socket", required_argument, NULL, 's'},  {"timeout", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0}};
    fmctl_conn_opts co = {0};
    bool json = false, wait = false;
    long wait_s = 60;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "hj", lo, NULL)) != -1) {
        char *end;
        switch (c) {
        case 'j': json = true; break;
        case 'w': wait = true; break;
        case 'W':
            wait_s = strtol(optarg, &end, 10);
            if (*end || wait_s < 0 || wait_s > 86400) {
                fprintf(stderr, "fmctl status: --wait-timeout: '%s' is not 0-86400 seconds\n", optarg);
                return 2;
            }
            break;
        case 'a': co.address = optarg; break;
        case 's': co.socket = optarg; break;
        case 't':
            if (fmctl_parse_timeout("fmctl status", optarg, &co.timeout_ms))
                return 2;
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "fmctl status: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        fmHandle_t h = NULL;
        char *doc = NULL;
        fmReturn_t rc = fmctl_connect("fmctl status", &co, &h);
        if (rc == FM_ST_SUCCESS) {
            rc = ofmGetStatusJson(h, &doc);
            fmctl_disconnect(h);
        }
        json_object *o = doc ? json_tokener_parse(doc) : NULL;
        bool ready = o && json_object_get_boolean(json_object_object_get(o, "ready"));
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        bool expired = now.tv_sec - t0.tv_sec >= wait_s;
        if (!wait || ready || expired) {
            if (o) {
                if (json)
                    printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
                else
                    print_human(o);
            } else if (rc == FM_ST_SUCCESS) {
                fprintf(stderr, "fmctl status: the fabric manager sent an unreadable status document\n");
            }
            json_object_put(o);
            free(doc);
            if (wait && expired && !ready)
                fprintf(stderr, "fmctl status: not ready after %ld s\n", wait_s);
            return o ? (ready ? 0 : 1) : 2;
        }
        json_object_put(o);
        free(doc);
        struct timespec pause = {0, 100 * 1000 * 1000}; /* operator-facing poll, not test sync */
        nanosleep(&pause, NULL);
    }
}
