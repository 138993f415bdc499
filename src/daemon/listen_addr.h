/* OPENFM_METRICS_LISTEN's value, IPV4:PORT: parsed the same way by the
 * metrics endpoint at start-up and by `openfm -n`, so a value the daemon
 * would refuse is never reported as a valid configuration. */
#ifndef OPENFM_DAEMON_LISTEN_ADDR_H
#define OPENFM_DAEMON_LISTEN_ADDR_H

#include <stddef.h>

#include "openfm/error.h"

/* "IPV4:PORT" (port 0-65535; 0 picks a free one) -> `ip` and `port`. On
 * failure `err` names the key, the value and the rule it breaks. */
int ofm_listen_addr_parse(const char *v, char *ip, size_t iplen, unsigned *port, ofm_error *err);

#endif
