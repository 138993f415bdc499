/* Process-wide logging. Levels follow the LOG_LEVEL config key of the guide
 * (0 off, 1 critical, 2 error, 3 warning, 4 info); 5 adds debug detail.
 * Library code logs through ofm_log(); the daemon decides where lines go
 * (file with rotation, syslog, stderr) by configuring the sink. */
#ifndef OPENFM_LOG_H
#define OPENFM_LOG_H

#include <stdarg.h>
#include <stdbool.h>

typedef enum {
    OFM_LOG_OFF = 0,
    OFM_LOG_CRIT = 1,
    OFM_LOG_ERR = 2,
    OFM_LOG_WARN = 3,
    OFM_LOG_INFO = 4,
    OFM_LOG_DEBUG = 5,
} ofm_log_level;

/* A sink receives one fully formatted message (no trailing newline). */
typedef void (*ofm_log_sink)(void *ctx, ofm_log_level level, const char *msg);

void ofm_log_set_level(ofm_log_level level);
ofm_log_level ofm_log_get_level(void);
/* NULL sink restores the default (stderr). */
void ofm_log_set_sink(ofm_log_sink sink, void *ctx);

void ofm_log(ofm_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ofm_logv(ofm_log_level level, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

const char *ofm_log_level_name(ofm_log_level level);

/* A line that must reach syslog as well as the log file whatever the sink
 * (fatal SXid/Xid handling, FM §3.3.1). Sinks ask ofm_log_is_alert() while
 * they handle the line. */
void ofm_log_alert(ofm_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool ofm_log_is_alert(void);

#define OFM_CRIT(...) ofm_log(OFM_LOG_CRIT, __VA_ARGS__)
#define OFM_ERR(...) ofm_log(OFM_LOG_ERR, __VA_ARGS__)
#define OFM_WARN(...) ofm_log(OFM_LOG_WARN, __VA_ARGS__)
#define OFM_INFO(...) ofm_log(OFM_LOG_INFO, __VA_ARGS__)
#define OFM_DEBUG(...) ofm_log(OFM_LOG_DEBUG, __VA_ARGS__)

#endif
