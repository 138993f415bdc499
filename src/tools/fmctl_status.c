/* fmctl status: what the fabric manager is doing, asked over its SDK socket.
 * Exit status is for scripts: 0 ready, 1 not ready / degraded / failed,
 * 2 no fabric manager answering. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "openfm/partition_rules.h"
#include "sdk/nvfm_ext.h"
#include "status/status.h"
#include "tools/fmctl.h"
#include "tools/fmctl_connect.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: fmctl status [-i GPUS] [--json] [--wait-ready [--wait-timeout S]]\n"
               "                    [connection options]\n"
               "\n"
               "Shows the fabric as it is now (the daemon follows link, GPU, switch, MIG and\n"
               "partition changes as they happen): state, mode, platform, per-GPU fabric\n"
               "registration (like the Fabric section of 'nvidia-smi -q'), usable NVLinks, MIG\n"
               "mode and partition, per-switch links and SXid counts, and the last errors.\n"
               "\n"
               "  -i, --id GPUS       only these GPUs (physical IDs and ranges, e.g. 1,5,9-12):\n"
               "                      the fabric lines, then those GPUs' sections; no switch,\n"
               "                      partition or error sections (a 72-GPU rack's full view\n"
               "                      runs to hundreds of lines; its 'GPUs' line sums them up)\n"
               "  --json              print the status document as JSON (schema: docs/status.md)\n"
               "                      - always the whole document, -i does not filter it\n"
               "  --wait-ready        keep asking until the fabric is ready (or the wait times out)\n"
               "  --wait-timeout S    give up waiting after S seconds (default 60)\n"
               FMCTL_CONN_HELP
               "  -h, --help          this text\n"
               "\n"
               "Exit status: 0 ready, 1 not ready, degraded or failed, 2 no fabric manager answering.\n");
}

int fmctl_status_main(int argc, char **argv)
{
    static const struct option lo[] = {
        {"json", no_argument, NULL, 'j'},          {"wait-ready", no_argument, NULL, 'w'},
        {"wait-timeout", required_argument, NULL, 'W'}, {"address", required_argument, NULL, 'a'},
        {"socket", required_argument, NULL, 's'},  {"timeout", required_argument, NULL, 't'},
        {"id", required_argument, NULL, 'i'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0}};
    uint32_t only[OFM_MAX_GPUS];
    int nonly = -1;
    fmctl_conn_opts co = {0};
    bool json = false, wait = false;
    long wait_s = 60;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "hji:", lo, NULL)) != -1) {
        char *end, why[160];
        switch (c) {
        case 'i':
            if ((nonly = ofm_partition_parse_gpu_list(optarg, only, OFM_MAX_GPUS, why, sizeof why)) < 0) {
                fprintf(stderr, "fmctl status: -i '%.60s': %s\n", optarg, why);
                return 2;
            }
            break;
        case 'j': json = true; break;
        case 'w': wait = true; break;
        case 'W':
            wait_s = strtol(optarg, &end, 10);
            if (*end || wait_s < 0 || wait_s > 86400) {
                fprintf(stderr, "fmctl status: --wait-timeout: '%.60s' is not 0-86400 seconds\n", optarg);
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
        fprintf(stderr, "fmctl status: unexpected argument '%.60s'\n", argv[optind]);
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
        static ofm_status_doc st;
        ofm_error err;
        bool have = false;
        if (doc && ofm_status_from_json(doc, &st, &err) == 0)
            have = true;
        else if (doc)
            fprintf(stderr, "fmctl status: the fabric manager sent an unreadable status: %s\n", err.msg);
        bool ready = have && ofm_fabric_status_ready(&st.fabric);
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        bool expired = now.tv_sec - t0.tv_sec >= wait_s;
        if (!wait || ready || expired) {
            if (have && json) {
                char *out = ofm_status_to_json(&st);
                printf("%s\n", out ? out : "{}");
                free(out);
            } else if (have && nonly >= 0) {
                for (int k = 0; k < nonly; k++) {
                    size_t g = 0;
                    while (g < st.fabric.ngpus && st.fabric.gpus[g].phys_id != only[k])
                        g++;
                    if (g == st.fabric.ngpus) {
                        fprintf(stderr, "fmctl status: -i: the fabric manager reports no GPU %u\n",
                                only[k]);
                        free(doc);
                        return 2;
                    }
                }
                ofm_status_print_gpus(stdout, &st, only, (size_t)nonly);
            } else if (have) {
                ofm_status_print(stdout, &st);
            }
            free(doc);
            if (wait && expired && !ready)
                fprintf(stderr, "fmctl status: not ready after %ld s\n", wait_s);
            return have ? (ready ? 0 : 1) : 2;
        }
        free(doc);
        struct timespec pause = {0, 100 * 1000 * 1000}; /* operator-facing poll, not test sync */
        nanosleep(&pause, NULL);
    }
}
