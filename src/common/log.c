/* Level filter and sink dispatch. The sinks themselves (file with rotation,
 * syslog) live in the daemon; library code only ever calls ofm_log(). */
#include "openfm/log.h"

#include <stdio.h>

static ofm_log_level g_level = OFM_LOG_INFO;
static ofm_log_sink g_sink;
static void *g_sink_ctx;
static bool g_alert; /* the line being dispatched is an alert */

void ofm_log_set_level(ofm_log_level level) { g_level = level; }
ofm_log_level ofm_log_get_level(void) { return g_level; }

void ofm_log_set_sink(ofm_log_sink sink, void *ctx)
{
    g_sink = sink;
    g_sink_ctx = ctx;
}

const char *ofm_log_level_name(ofm_log_level level)
{
    switch (level) {
    case OFM_LOG_CRIT: return "CRITICAL";
    case OFM_LOG_ERR: return "ERROR";
    case OFM_LOG_WARN: return "WARNING";
    case OFM_LOG_INFO: return "INFO";
    case OFM_LOG_DEBUG: return "DEBUG";
    default: return "OFF";
    }
}

void ofm_logv(ofm_log_level level, const char *fmt, va_list ap)
{
    if (level == OFM_LOG_OFF || level > g_level)
        return;
    char msg[2048];
    vsnprintf(msg, sizeof msg, fmt, ap);
    if (g_sink)
        g_sink(g_sink_ctx, level, msg);
    else
        fprintf(stderr, "[%s] %s\n", ofm_log_level_name(level), msg);
}

void ofm_log(ofm_log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ofm_logv(level, fmt, ap);
    va_end(ap);
}

void ofm_log_alert(ofm_log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_alert = true;
    ofm_logv(level, fmt, ap);
    g_alert = false;
    va_end(ap);
}

bool ofm_log_is_alert(void) { return g_alert; }
