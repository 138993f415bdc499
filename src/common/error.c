#include "openfm/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int ofm_error_set(ofm_error *err, const char *origin, unsigned line, const char *fmt, ...)
{
    if (!err)
        return -1;
    snprintf(err->origin, sizeof err->origin, "%s", origin ? origin : "");
    err->line = line;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return -1;
}

const char *ofm_error_format(const ofm_error *err, char *buf, size_t len)
{
    if (!buf || len == 0)
        return "";
    if (!err) {
        snprintf(buf, len, "unknown error");
    } else if (err->origin[0] && err->line) {
        snprintf(buf, len, "%s:%u: %s", err->origin, err->line, err->msg);
    } else if (err->origin[0]) {
        snprintf(buf, len, "%s: %s", err->origin, err->msg);
    } else {
        snprintf(buf, len, "%s", err->msg);
    }
    return buf;
}
