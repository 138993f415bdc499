/* fmctl events: the fabric manager's event log (SXid/Xid, NVLink up/down,
 * partition activation, GPU / NVSwitch / fabric manager state changes),
 * read over the SDK socket with a sequence-number cursor. --follow keeps
 * reading; a follower that loses the daemon reconnects and resumes after the
 * last sequence number it printed, so it misses nothing still retained (and
 * says so when events it never saw were already dropped). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sdk/nvfm_ext.h"
#include "tools/fmctl.h"
#include "tools/fmctl_connect.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: fmctl events [--follow] [--json] [--since SEQ] [connection options]\n"
               "\n"
               "Prints the fabric manager's retained events, oldest first: SXid and Xid errors,\n"
               "NVLink down/up, partition activated/deactivated, GPU, NVSwitch and fabric\n"
               "manager state changes. Each has a sequence number.\n"
               "\n"
               "  -f, --follow        keep printing new events (Ctrl-C stops); reconnects if the\n"
               "                      fabric manager goes away and resumes after the last event\n"
               "  --since SEQ         only events after sequence number SEQ\n"
               "  --json              one JSON object per line\n"
               FMCTL_CONN_HELP
               "  -h, --help          this text\n"
               "\n"
               "Exit status: 0 success, 1 the fabric manager refused, 2 usage or no fabric\n"
               "manager answering.\n");
}

static volatile sig_atomic_t stop;
static void on_sig(int s) { (void)s; stop = 1; }

static void print_event(const ofm_wire_event *e, bool json)
{
    time_t t = (time_t)(e->time_ns / 1000000000u);
    struct tm tm;
    char when[32];
    gmtime_r(&t, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    if (json) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "seq", json_object_new_int64((int64_t)e->seq));
        json_object_object_add(o, "time_ns", json_object_new_int64((int64_t)e->time_ns));
        json_object_object_add(o, "type", json_object_new_string(ofm_wire_event_type_name(e->type)));
        json_object_object_add(o, "code", json_object_new_int64(e->code));
        json_object_object_add(o, "gpu", e->gpu >= 0 ? json_object_new_int64(e->gpu) : NULL);
        json_object_object_add(o, "nvswitch", e->nvswitch >= 0 ? json_object_new_int64(e->nvswitch) : NULL);
        json_object_object_add(o, "port", e->port >= 0 ? json_object_new_int64(e->port) : NULL);
        json_object_object_add(o, "partition", e->partition >= 0 ? json_object_new_int64(e->partition) : NULL);
        json_object_object_add(o, "fatal", json_object_new_boolean(e->fatal));
        json_object_object_add(o, "text", json_object_new_string(e->text));
        printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                              JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(o);
    } else {
        printf("%6" PRIu64 "  %s.%03uZ  %-20s %s\n", e->seq, when,
               (unsigned)(e->time_ns / 1000000u % 1000u), ofm_wire_event_type_name(e->type), e->text);
    }
}

int fmctl_events_main(int argc, char **argv)
{
    static const struct option lo[] = {
        {"follow", no_argument, NULL, 'f'},         {"json", no_argument, NULL, 'j'},
        {"since", required_argument, NULL, 'S'},    {"address", required_argument, NULL, 'a'},
        {"socket", required_argument, NULL, 's'},   {"timeout", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0}};
    fmctl_conn_opts co = {0};
    bool follow = false, json = false;
    uint64_t cursor = 0;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "fhj", lo, NULL)) != -1) {
        char *end;
        switch (c) {
        case 'f': follow = true; break;
        case 'j': json = true; break;
        case 'S':
            errno = 0;
            cursor = strtoull(optarg, &end, 10);
            if (!*optarg || *end || optarg[0] < '0' || optarg[0] > '9' || errno) {
                fprintf(stderr, "fmctl events: --since: '%.40s' is not a sequence number\n", optarg);
                return 2;
            }
            break;
        case 'a': co.address = optarg; break;
        case 's': co.socket = optarg; break;
        case 't':
            if (fmctl_parse_timeout("fmctl events", optarg, &co.timeout_ms))
                return 2;
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "fmctl events: unexpected argument '%.60s'\n", argv[optind]);
        return 2;
    }
    if (follow) {
        signal(SIGINT, on_sig);
        signal(SIGTERM, on_sig);
        setvbuf(stdout, NULL, _IOLBF, 0);
    }
    static ofm_wire_events ev;
    fmHandle_t h = NULL;
    bool warned_gone = false;
    while (!stop) {
        if (!h) {
            fmReturn_t rc = fmctl_connect("fmctl events", &co, &h);
            if (rc != FM_ST_SUCCESS) {
                h = NULL;
                if (!follow)
                    return 2;
                if (!warned_gone)
                    fprintf(stderr, "fmctl events: waiting for the fabric manager...\n");
                warned_gone = true;
                struct timespec pause = {1, 0}; /* operator-facing reconnect pace */
                nanosleep(&pause, NULL);
                continue;
            }
            warned_gone = false;
        }
        fmReturn_t rc = ofmGetEvents(h, cursor, OFM_WIRE_MAX_EVENTS, &ev);
        if (rc == FM_ST_CONNECTION_NOT_VALID || rc == FM_ST_TIMEOUT) {
            fmctl_disconnect(h);
            h = NULL;
            if (!follow) {
                fprintf(stderr, "fmctl events: lost the fabric manager (%s)\n", ofmReturnName(rc));
                return 2;
            }
            continue;
        }
        if (rc != FM_ST_SUCCESS) {
            fprintf(stderr, "fmctl events: the fabric manager answered %s: %s\n", ofmReturnName(rc),
                    ofmReturnText(rc));
            fmctl_disconnect(h);
            return 1;
        }
        if (cursor > ev.last_seq) {
            /* a new daemon numbers from 1 again */
            fprintf(stderr, "fmctl events: the fabric manager restarted; reading its events from "
                            "the start\n");
            cursor = 0;
            continue;
        }
        if (ev.n && ev.ev[0].seq > cursor + 1 && cursor)
            fprintf(stderr, "fmctl events: %" PRIu64 " event(s) after %" PRIu64
                            " are no longer retained\n", ev.ev[0].seq - cursor - 1, cursor);
        for (unsigned i = 0; i < ev.n; i++) {
            print_event(&ev.ev[i], json);
            cursor = ev.ev[i].seq;
        }
        if (ev.n == OFM_WIRE_MAX_EVENTS)
            continue; /* more are waiting */
        if (!follow)
            break;
        fflush(stdout);
        struct timespec pause = {0, 200 * 1000 * 1000}; /* follower poll, not test sync */
        nanosleep(&pause, NULL);
    }
    if (h)
        fmctl_disconnect(h);
    return 0;
}
