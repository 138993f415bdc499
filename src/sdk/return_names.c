/* Names and operator-facing explanations of fmReturn_t values. */
#include <stddef.h>

#include "sdk/nvfm_ext.h"

typedef struct {
    fmReturn_t rc;
    const char *name;
    const char *text;
} rc_info;

static const rc_info k_info[] = {
    {FM_ST_SUCCESS, "FM_ST_SUCCESS", "success"},
    {FM_ST_BADPARAM, "FM_ST_BADPARAM", "invalid parameter or unknown partition id"},
    {FM_ST_GENERIC_ERROR, "FM_ST_GENERIC_ERROR", "unspecified internal error; see the daemon log"},
    {FM_ST_NOT_SUPPORTED, "FM_ST_NOT_SUPPORTED", "not supported in the daemon's FABRIC_MODE"},
    {FM_ST_UNINITIALIZED, "FM_ST_UNINITIALIZED",
     "library not initialised, or partition not active"},
    {FM_ST_TIMEOUT, "FM_ST_TIMEOUT", "no answer within timeoutMs"},
    {FM_ST_VERSION_MISMATCH, "FM_ST_VERSION_MISMATCH",
     "structure version not supported by this library or daemon"},
    {FM_ST_IN_USE, "FM_ST_IN_USE", "partition or its GPUs are already in use"},
    {FM_ST_NOT_CONFIGURED, "FM_ST_NOT_CONFIGURED", "fabric manager is still initialising"},
    {FM_ST_CONNECTION_NOT_VALID, "FM_ST_CONNECTION_NOT_VALID",
     "cannot reach the fabric manager (is it running, and is the address right?)"},
    {FM_ST_NVLINK_ERROR, "FM_ST_NVLINK_ERROR", "NVLink error on the partition's links"},
    {FM_ST_RESOURCE_UNAVAILABLE, "FM_ST_RESOURCE_UNAVAILABLE", "resource unavailable"},
    {FM_ST_RESOURCE_EXHAUSTED, "FM_ST_RESOURCE_EXHAUSTED", "resource exhausted"},
    {FM_ST_RESOURCE_BUSY, "FM_ST_RESOURCE_BUSY", "resource busy"},
    {FM_ST_PARTITION_NOT_FOUND, "FM_ST_PARTITION_NOT_FOUND", "no such partition"},
    {FM_ST_PARTITION_EXISTS, "FM_ST_PARTITION_EXISTS", "partition already exists"},
    {FM_ST_PARTITION_NOT_ACTIVE, "FM_ST_PARTITION_NOT_ACTIVE", "partition is not active"},
    {FM_ST_PARTITION_ALREADY_ACTIVE, "FM_ST_PARTITION_ALREADY_ACTIVE",
     "partition is already active"},
    {FM_ST_PARTITION_INVALID, "FM_ST_PARTITION_INVALID", "partition definition is invalid"},
    {FM_ST_NOT_READY, "FM_ST_NOT_READY", "fabric manager not ready"},
    {FM_ST_WIRING_MISMATCH, "FM_ST_WIRING_MISMATCH", "NVLink wiring differs from the topology"},
    {FM_ST_WIRING_LINK_MISSING, "FM_ST_WIRING_LINK_MISSING", "an expected NVLink is missing"},
    {FM_ST_WIRING_LINK_UNEXPECTED, "FM_ST_WIRING_LINK_UNEXPECTED",
     "an NVLink not in the topology is connected"},
    {FM_ST_WIRING_PORT_DOWN, "FM_ST_WIRING_PORT_DOWN", "an NVSwitch port is down"},
    {FM_ST_WIRING_TRUNK_DOWN, "FM_ST_WIRING_TRUNK_DOWN", "a trunk link is down"},
    {FM_ST_WIRING_SWITCH_MISSING, "FM_ST_WIRING_SWITCH_MISSING", "an NVSwitch is missing"},
    {FM_ST_WIRING_GPU_MISSING, "FM_ST_WIRING_GPU_MISSING", "a GPU is missing"},
    {FM_ST_WIRING_TOPOLOGY_UNKNOWN, "FM_ST_WIRING_TOPOLOGY_UNKNOWN", "platform topology unknown"},
    {FM_ST_WIRING_ROUTING_FAILED, "FM_ST_WIRING_ROUTING_FAILED", "routing could not be programmed"},
    {FM_ST_WIRING_ERROR, "FM_ST_WIRING_ERROR", "fabric wiring error"},
};

static const rc_info *find(fmReturn_t rc)
{
    for (unsigned i = 0; i < sizeof k_info / sizeof k_info[0]; i++)
        if (k_info[i].rc == rc)
            return &k_info[i];
    return NULL;
}

const char *ofmReturnName(fmReturn_t rc)
{
    const rc_info *i = find(rc);
    return i ? i->name : "FM_ST_UNKNOWN";
}

const char *ofmReturnText(fmReturn_t rc)
{
    const rc_info *i = find(rc);
    return i ? i->text : "unknown return code";
}
