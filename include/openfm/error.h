/* A located error: what went wrong, and where in which input. Every parser and
 * loader reports through this so operators see `file:line: message`. */
#ifndef OPENFM_ERROR_H
#define OPENFM_ERROR_H

#include <stddef.h>

#define OFM_ERROR_MSG_LEN 320
#define OFM_ERROR_ORIGIN_LEN 256

typedef struct {
    char origin[OFM_ERROR_ORIGIN_LEN]; /* file name or "<stdin>"; may be empty */
    unsigned line;                     /* 1-based; 0 when not tied to a line */
    char msg[OFM_ERROR_MSG_LEN];
} ofm_error;

/* Record an error (printf-style). Safe with err == NULL. Returns -1 so that
 * callers can write `return ofm_error_set(err, ...);`. */
int ofm_error_set(ofm_error *err, const char *origin, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Format as "origin:line: msg" (omitting empty parts) into buf. */
const char *ofm_error_format(const ofm_error *err, char *buf, size_t len);

#endif
