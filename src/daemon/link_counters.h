/* The daemon's copy of the NVLink error counters of every switch port in
 * the model (CRC flit, CRC data, replay, recovery: the HAL's link_errors),
 * so /metrics serves them under DCGM's per-link NVSwitch names without
 * touching the hardware during a scrape. Re-read in the background: a sweep
 * starts every OFM_LINK_COUNTERS_PERIOD_NS and reads at most
 * OFM_LINK_COUNTERS_BATCH ports per monitor tick, so the event loop is
 * never held for a whole large system (GB200 NVL72 has over a thousand
 * ports) and the values are at most about a period plus a sweep old. A
 * backend with the link_errors_many hook (the emulator: one file read for
 * any number of ports) is swept in one call per period instead.
 * It also counts SXids per port as the monitor reads them, served as DCGM's
 * per-link NVSwitch fatal / non-fatal errors on switches that report SXids
 * (fourth-generation switches count those in their telemetry instead,
 * telemetry.c). The rendered text is cached too and rebuilt only after a sweep changed a
 * value: a scrape copies it (on HGX-2 the per-port series are most of the
 * /metrics text, and formatting them at every scrape doubled its cost). */
#ifndef OPENFM_DAEMON_LINK_COUNTERS_H
#define OPENFM_DAEMON_LINK_COUNTERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "manager/manager.h"
#include "openfm/hal.h"

#define OFM_LINK_COUNTERS_PERIOD_NS (1000u * 1000u * 1000u)
#define OFM_LINK_COUNTERS_BATCH 64
#define OFM_LINK_COUNTERS_MAX (OFM_MAX_ACCESS_LINKS + 2 * OFM_MAX_TRUNK_LINKS)

typedef struct ofm_link_counters {
    size_t n;                                  /* ports tracked: model access ports, both trunk ends */
    uint32_t sw[OFM_LINK_COUNTERS_MAX];
    uint32_t port[OFM_LINK_COUNTERS_MAX];
    int32_t gpu[OFM_LINK_COUNTERS_MAX];        /* access port: the GPU's index in the model; -1 trunk */
    bool have[OFM_LINK_COUNTERS_MAX];          /* read successfully at least once */
    ofm_hal_link_errors e[OFM_LINK_COUNTERS_MAX];
    size_t next;                               /* next port of the sweep in progress */
    bool sweeping;
    uint64_t sweep_start_ns;                   /* monotonic start of the last sweep */
    uint64_t sweeps;                           /* completed sweeps */
    /* SXids per port (switches that report SXids, up to the third
     * generation), counted as the monitor reads them */
    uint64_t sxid_fatal[OFM_LINK_COUNTERS_MAX], sxid_nonfatal[OFM_LINK_COUNTERS_MAX];
    bool changed;                              /* a value moved since `text` was built */
    bool text_sxid;                            /* `text` has the per-port SXid series */
    char *text;                                /* rendered series (malloc'd), NULL none yet */
    size_t text_len;
    char text_host[256];                       /* the hostname label `text` carries */
} ofm_link_counters;

struct ofm_daemon;
struct ofm_status_doc;

/* Build the table from the model and read it once (allocates it); nothing
 * when the backend has no link_errors. */
void ofm_daemon_link_counters_init(struct ofm_daemon *d);
/* One monitor tick's share of the background re-read. */
void ofm_daemon_link_counters_tick(struct ofm_daemon *d);
/* The monitor's event hook (ofm_monitor.on_event, arg = the daemon): count
 * an SXid on its port, then hand the event on (ofm_daemon_on_hal_event). */
void ofm_daemon_link_counters_on_event(void *arg, const ofm_hal_event *e,
                                       const ofm_fabric_error *rec);
/* The DCGM-named per-port series and per-GPU totals (metrics_text.c's
 * helpers name and escape them), from the cached text when nothing changed;
 * with `sxid_ports` also the per-port SXid counts (false where the switches'
 * telemetry serves those names). Nothing when lc is NULL. */
void ofm_link_counters_render(FILE *f, ofm_link_counters *lc, const struct ofm_status_doc *doc,
                              const char *host, bool sxid_ports);
/* Free the table and its text. */
void ofm_link_counters_free(ofm_link_counters *lc);

#endif
