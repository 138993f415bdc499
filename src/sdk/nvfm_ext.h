/*
 * openfm extensions to the Fabric Manager SDK, for in-tree tools (fmctl).
 * Not part of NVIDIA's API and not exported from libnvfm.so: link the
 * static ofm_sdk library to use them.
 */
#ifndef OPENFM_NVFM_EXT_H
#define OPENFM_NVFM_EXT_H

#include <stdint.h>

#include "nv_fm_agent.h"
#include "wire/wire.h"

/* Fetch the daemon's status document (JSON). On FM_ST_SUCCESS *json is a
 * malloc'd NUL-terminated string the caller frees. */
fmReturn_t ofmGetStatusJson(fmHandle_t handle, char **json);

/* The daemon's event log (SXid/Xid, NVLink up/down, partition and device
 * state changes): up to `max` (<= OFM_WIRE_MAX_EVENTS) events with a
 * sequence number above `after_seq`, oldest first, plus the oldest retained
 * and newest sequence numbers, so a follower that reconnects with its last
 * sequence number misses nothing still retained. */
fmReturn_t ofmGetEvents(fmHandle_t handle, uint64_t after_seq, unsigned max, ofm_wire_events *out);

/* Stable name of a return code, e.g. "FM_ST_IN_USE"; "FM_ST_UNKNOWN" for
 * values this build does not know. */
const char *ofmReturnName(fmReturn_t rc);

/* One-line explanation for operators, e.g. "partition or its GPUs are
 * already in use". When the last SDK call on this thread failed with rc
 * for a reason the library knows precisely (fmConnect: an address that
 * does not parse or resolve), that reason is returned instead. */
const char *ofmReturnText(fmReturn_t rc);

#endif
