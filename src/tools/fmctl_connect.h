/* Connecting fmctl to a running fabric manager through the SDK, the same
 * way any hypervisor client does. */
#ifndef OPENFM_FMCTL_CONNECT_H
#define OPENFM_FMCTL_CONNECT_H

#include <stddef.h>

#include "nv_fm_agent.h"

typedef struct {
    const char *address;   /* a.b.c.d[:port]; default 127.0.0.1:6666 */
    const char *socket;    /* Unix socket path instead of TCP */
    unsigned timeout_ms;   /* connect and per-call timeout */
} fmctl_conn_opts;

#define FMCTL_CONN_HELP                                                                         \
    "  --address HOST[:PORT]     fabric manager SDK address, IPv4 or host name\n"              \
    "                            (default 127.0.0.1:6666)\n"                                    \
    "  --socket PATH             connect over a Unix socket instead (FM_CMD_UNIX_SOCKET_PATH)\n" \
    "  --timeout MS              connect and call timeout (default 5000)\n"

/* Parse a --timeout value (positive milliseconds). Prints the error and
 * returns -1 on bad input. */
int fmctl_parse_timeout(const char *prog, const char *arg, unsigned *out);

/* Returns FM_ST_SUCCESS with *h connected, or an error already printed. */
fmReturn_t fmctl_connect(const char *prog, const fmctl_conn_opts *o, fmHandle_t *h);
/* The same without printing: whether a fabric manager answers. `where`
 * receives the address tried (for the caller's message). */
fmReturn_t fmctl_try_connect(const fmctl_conn_opts *o, fmHandle_t *h, char *where, size_t len);
void fmctl_disconnect(fmHandle_t h);

#endif
