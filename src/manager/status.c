/* ofm_fabric_status helpers: names and the error ring. */
#include "manager/manager.h"

#include <string.h>

const char *ofm_system_state_name(ofm_system_state s)
{
    switch (s) {
    case OFM_SYS_NOT_READY: return "NOT_READY";
    case OFM_SYS_INITIALIZING: return "INITIALIZING";
    case OFM_SYS_READY: return "READY";
    case OFM_SYS_DEGRADED: return "DEGRADED";
    case OFM_SYS_FAILED: return "FAILED";
    }
    return "UNKNOWN";
}

const char *ofm_switch_status_name(ofm_switch_status s)
{
    switch (s) {
    case OFM_SW_OK: return "OK";
    case OFM_SW_MISSING: return "MISSING";
    case OFM_SW_FAILED: return "FAILED";
    case OFM_SW_DISABLED: return "DISABLED";
    }
    return "UNKNOWN";
}

void ofm_fabric_status_init(ofm_fabric_status *st)
{
    memset(st, 0, sizeof *st);
    for (size_t i = 0; i < OFM_MAX_GPUS; i++)
        st->gpus[i].partition = -1;
    st->state = OFM_SYS_NOT_READY;
    strcpy(st->message, "fabric not initialised yet: CUDA applications would fail with "
                        "cudaErrorSystemNotReady");
}

bool ofm_fabric_status_ready(const ofm_fabric_status *st) { return st->state == OFM_SYS_READY; }

size_t ofm_fabric_status_error_count(const ofm_fabric_status *st)
{
    return st->errors_total < OFM_STATUS_MAX_ERRORS ? (size_t)st->errors_total
                                                     : OFM_STATUS_MAX_ERRORS;
}

const ofm_fabric_error *ofm_fabric_status_error(const ofm_fabric_status *st, size_t i)
{
    size_t n = ofm_fabric_status_error_count(st);
    if (i >= n)
        return NULL;
    /* errors_head is the next slot to write: the oldest once the ring is full. */
    size_t start = n < OFM_STATUS_MAX_ERRORS ? 0 : st->errors_head;
    return &st->errors[(start + i) % OFM_STATUS_MAX_ERRORS];
}

/* Internal to the manager (declared in manager_int.h). */
ofm_fabric_error *ofm_fabric_status_push_error(ofm_fabric_status *st)
{
    ofm_fabric_error *e = &st->errors[st->errors_head];
    memset(e, 0, sizeof *e);
    st->errors_head = (st->errors_head + 1) % OFM_STATUS_MAX_ERRORS;
    st->errors_total++;
    return e;
}
