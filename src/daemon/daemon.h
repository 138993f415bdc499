/* The running daemon's context, shared by main.c (process concerns),
 * api_glue.c (SDK requests) and the timers. Single-threaded: everything runs
 * on the libevent loop in `base`. */
#ifndef OPENFM_DAEMON_H
#define OPENFM_DAEMON_H

#include <event2/event.h>
#include <stdbool.h>

#include "api/api_server.h"
#include "daemon/metrics.h"
#include "daemon/config.h"
#include "manager/manager.h"
#include "openfm/hal.h"

/* Live state not announced by an event is re-read at least this often. */
#define OFM_LIVE_REFRESH_NS (250u * 1000u * 1000u)

struct ofm_partition_mgr;
struct ofm_status_doc;
struct ofm_telemetry_table;

typedef struct ofm_daemon {
    ofm_config cfg;
    bool restart;                 /* --restart / FABRIC_MODE_RESTART */
    struct event_base *base;
    ofm_hal *hal;
    char backend[4200];           /* the backend spec opened, emulator directory made explicit */
    char emu_dir[4096];           /* "" unless the emulator serves (part of) the backend */
    char driver[64];
    char pid_path[512];
    char status_path[512];
    ofm_fabric_status status;
    ofm_fabric_ctx *fctx;         /* bring-up outcome (model, policy) */
    ofm_monitor monitor;
    ofm_api_server *api;
    struct ofm_partition_mgr *pm; /* modes 1 and 2 */
    int exit_code;                /* set before leaving the loop on a fatal condition */
    char status_file_error[400];  /* why the status document cannot be written; "" when it can */
    bool backend_fault;           /* the monitor cannot read the backend (publish.c) */
    ofm_system_state state_before_fault;
    char message_before_fault[320];
    struct ofm_status_doc *doc;   /* scratch for serialising the status (status_doc.c) */
    uint64_t last_refresh_ns;     /* monotonic time of the last live-state refresh */
    struct evhttp *http;          /* metrics endpoint (metrics.c); NULL when off */
    unsigned metrics_port;        /* the port it listens on */
    ofm_metrics_stats metrics_stats;
    struct ofm_telemetry_table *telemetry; /* switch error counters (telemetry.c); NULL: none */
    ofm_relink relink;            /* GPU resets handled (gpu_reset.c) */
    struct ofm_link_counters *link_counters; /* cached NVLink error counters (link_counters.c) */
} ofm_daemon;

/* Rewrite the status document after a state change; a failure is logged
 * when it starts and when it ends, and shown in the status over the SDK. */
void ofm_daemon_publish_status(ofm_daemon *d);
/* The same, once the request being served has been answered (before the
 * loop polls again); ofm_daemon_publish_stop drops a pending one (before the
 * event base is freed). */
void ofm_daemon_publish_status_soon(ofm_daemon *d);
void ofm_daemon_publish_stop(void);
/* Free what publishing keeps (at exit). */
void ofm_daemon_publish_forget(void);
/* The monitor's poll result (< 0: the backend cannot be read): the fabric
 * is DEGRADED with the reason while that lasts, said once each way. */
void ofm_daemon_backend_polled(ofm_daemon *d, int rc);

/* SDK server: start listening per FM_CMD_* keys with the daemon's handlers. */
int ofm_daemon_api_start(ofm_daemon *d);
void ofm_daemon_api_stop(ofm_daemon *d);
/* The configuration file read without -c (the guide's
 * /usr/share/nvidia/nvswitch/fabricmanager.cfg; $OPENFM_DEFAULT_CONFIG
 * overrides it) and whether it is there. */
const char *ofm_daemon_default_config(void);
bool ofm_daemon_default_config_exists(void);

/* Keys of NVIDIA's config openfm accepts without acting on them: one
 * start-up line each saying why (compat_keys.c). Called once bring-up has
 * recognised the platform (or failed to), since which keys apply depends on
 * it. */
void ofm_daemon_log_inert_keys(const ofm_daemon *d);
/* FM_SM_IPC_INTERFACE / FM_SM_MGMT_PORT_GUID (sm_keys.c): whether they apply
 * on this platform; on a subnet-managed one (HGX B200) also the four keys
 * that do not apply there. Returns true when the platform is such a one. */
bool ofm_daemon_log_sm_keys(const ofm_daemon *d);
/* ABORT_CUDA_JOBS_ON_FM_EXIT: what will happen at exit (after bring-up), and
 * doing it (before the daemon lets go of the hardware). */
void ofm_daemon_log_abort_policy(const ofm_daemon *d);
void ofm_daemon_exit_policy(ofm_daemon *d);

/* Let the monitor name the active partitions an error touches (modes 1/2). */
void ofm_daemon_monitor_partitions(ofm_daemon *d);

#endif
