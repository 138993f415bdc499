/* Internal helpers shared by bring-up and the monitor. */
#ifndef OPENFM_MANAGER_INT_H
#define OPENFM_MANAGER_INT_H

#include "manager/manager.h"

/* Next slot of the error ring (overwrites the oldest when full). */
ofm_fabric_error *ofm_fabric_status_push_error(ofm_fabric_status *st);

/* Monotonic clock in nanoseconds. */
uint64_t ofm_mgr_now_ns(void);

#endif
