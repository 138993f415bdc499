/* The status document: one typed structure, serialised only at the edges.
 *
 * The daemon fills an ofm_status_doc from its live fabric status and the
 * partition manager, and every view comes from that structure: the status
 * file, the SDK status call (JSON), `fmctl status --json` and the human view
 * (fmctl decodes the JSON it receives back into this structure with a strict,
 * schema-checked decoder and renders it with the same code), and the
 * Prometheus metrics. The schema is written down in docs/status.md;
 * `schema_version` changes whenever a field changes meaning or disappears. */
#ifndef OPENFM_STATUS_H
#define OPENFM_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "manager/manager.h"
#include "openfm/error.h"
#include "partition/partition_mgr.h"

#define OFM_STATUS_SCHEMA_VERSION 6

typedef struct ofm_status_doc {
    uint32_t schema_version;
    int64_t pid;
    char driver[64];
    bool emulated;                       /* backend is the emulator */
    char emu_dir[4096];
    char backend_spec[4200];             /* the backend the daemon opened ("" unknown) */
    char status_file_error[400];         /* why the status file is stale; "" when written */
    ofm_fabric_status fabric;
    bool have_partitions;                /* shared NVSwitch / vGPU with a partition manager */
    size_t npartitions;
    /* the whole partition table: as many as the partition manager holds */
    ofm_pm_entry partitions[OFM_PM_MAX_PARTITIONS];
} ofm_status_doc;

/* Mode names used by every view: "bare metal", "shared NVSwitch", "vGPU". */
const char *ofm_status_mode_name(ofm_fabric_mode m);

/* JSON (pretty-printed, malloc'd; NULL on allocation failure). */
char *ofm_status_to_json(const ofm_status_doc *doc);
/* The same without layout whitespace: what the SDK socket carries, so a
 * rack's 72 GPUs and a full partition table stay well inside
 * OFM_WIRE_MAX_JSON. */
char *ofm_status_to_json_compact(const ofm_status_doc *doc);
/* Strict decode of ofm_status_to_json's output: unknown schema versions,
 * missing keys, wrong types and out-of-range values are errors naming the
 * key. Returns 0 or -1 with err set. */
int ofm_status_from_json(const char *json, ofm_status_doc *doc, ofm_error *err);
/* The operator's view (fmctl status). */
void ofm_status_print(FILE *f, const ofm_status_doc *doc);
/* The same, with the per-GPU sections only for the GPUs (physical IDs) in
 * only[0..nonly) and no switch, partition or error sections; only == NULL:
 * everything, as ofm_status_print. */
void ofm_status_print_gpus(FILE *f, const ofm_status_doc *doc, const uint32_t *only, size_t nonly);
/* "Enabled, 2 GPU instances", "Disabled", "Enabled (pending disable: reset the GPU)". */
void ofm_status_mig_text(const ofm_gpu_status *g, char *buf, size_t len);

#endif
