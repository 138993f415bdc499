/*
 * openfm extensions to the Fabric Manager SDK, for in-tree tools (fmctl).
 * Not part of NVIDIA's API and not exported from libnvfm.so: link the
 * static ofm_sdk library to use them.
 */
#ifndef OPENFM_NVFM_EXT_H
#define OPENFM_NVFM_EXT_H

#include "nv_fm_agent.h"

/* Fetch the daemon's status document (JSON). On FM_ST_SUCCESS *json is a
 * malloc'd NUL-terminated string the caller frees. */
fmReturn_t ofmGetStatusJson(fmHandle_t handle, char **json);

/* Stable name of a return code, e.g. "FM_ST_IN_USE"; "FM_ST_UNKNOWN" for
 * values this build does not know. */
const char *ofmReturnName(fmReturn_t rc);

/* One-line explanation for operators, e.g. "partition or its GPUs are
 * already in use". When the last SDK call on this thread failed with rc
 * for a reason the library knows precisely (fmConnect: an address that
 * does not parse or resolve), that reason is returned instead. */
const char *ofmReturnText(fmReturn_t rc);

#endif
