/* Names and operator-facing explanations of fmReturn_t values. */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include "sdk/nvfm_ext.h"
#include "sdk/sdk_internal.h"

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
    {FM_ST_RESOURCE_BAD, "FM_ST_RESOURCE_BAD", "a resource named in the request does not exist"},
    {FM_ST_RESOURCE_IN_USE, "FM_ST_RESOURCE_IN_USE", "a resource named in the request is in use"},
    {FM_ST_RESOURCE_NOT_IN_USE, "FM_ST_RESOURCE_NOT_IN_USE",
     "a resource named in the request is not in use"},
    {FM_ST_RESOURCE_EXHAUSTED, "FM_ST_RESOURCE_EXHAUSTED",
     "not enough of a resource could be allocated"},
    {FM_ST_RESOURCE_NOT_READY, "FM_ST_RESOURCE_NOT_READY", "a resource is not ready yet"},
    {FM_ST_PARTITION_EXISTS, "FM_ST_PARTITION_EXISTS", "the partition already exists"},
    {FM_ST_PARTITION_ID_IN_USE, "FM_ST_PARTITION_ID_IN_USE",
     "the partition ID belongs to another partition"},
    {FM_ST_PARTITION_ID_NOT_IN_USE, "FM_ST_PARTITION_ID_NOT_IN_USE", "no partition has this ID"},
    {FM_ST_PARTITION_NAME_IN_USE, "FM_ST_PARTITION_NAME_IN_USE",
     "the partition name belongs to another partition"},
    {FM_ST_PARTITION_NAME_NOT_IN_USE, "FM_ST_PARTITION_NAME_NOT_IN_USE",
     "no partition has this name"},
    {FM_ST_PARTITION_ID_NAME_MISMATCH, "FM_ST_PARTITION_ID_NAME_MISMATCH",
     "the partition ID and name refer to different partitions"},
    {FM_ST_NOT_READY, "FM_ST_NOT_READY", "the fabric manager is not ready for API requests"},
    {FM_ST_RESOURCE_USED_IN_THIS_PARTITION, "FM_ST_RESOURCE_USED_IN_THIS_PARTITION",
     "the resource is already part of this partition"},
    {FM_ST_RESOURCE_USED_IN_ANOTHER_PARTITION, "FM_ST_RESOURCE_USED_IN_ANOTHER_PARTITION",
     "the resource is part of another partition"},
    {FM_ST_PARTITION_MISWIRED_TRUNKS, "FM_ST_PARTITION_MISWIRED_TRUNKS",
     "the partition's trunk links are miswired"},
    {FM_ST_PARTITION_INSUFFICIENT_TRUNKS, "FM_ST_PARTITION_INSUFFICIENT_TRUNKS",
     "the partition has too few working trunk links"},
    {FM_ST_PARTITION_MISSING_SWITCHES, "FM_ST_PARTITION_MISSING_SWITCHES",
     "an NVSwitch the partition needs is missing"},
    {FM_ST_PARTITION_NETWORK_CONFIG_ERROR, "FM_ST_PARTITION_NETWORK_CONFIG_ERROR",
     "the partition's network configuration failed"},
    {FM_ST_PARTITION_ROUTE_PROGRAMMING_ERROR, "FM_ST_PARTITION_ROUTE_PROGRAMMING_ERROR",
     "programming the partition's routes failed"},
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

/* Per thread, so concurrent callers each see their own reason. */
static _Thread_local struct {
    fmReturn_t rc;
    char text[FM_MAX_STR_LENGTH + 160];
} t_detail;

void nvfm_detail_set(fmReturn_t rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t_detail.text, sizeof t_detail.text, fmt, ap);
    va_end(ap);
    t_detail.rc = rc;
}

void nvfm_detail_clear(void) { t_detail.text[0] = '\0'; }

const char *ofmReturnText(fmReturn_t rc)
{
    if (t_detail.text[0] && t_detail.rc == rc)
        return t_detail.text;
    const rc_info *i = find(rc);
    return i ? i->text : "unknown return code";
}
