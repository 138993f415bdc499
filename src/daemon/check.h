/* `openfm -n`: check a configuration and the topologies it names without
 * starting anything (like ntpd -n / bgpd -n), so an operator can validate an
 * edit before restarting the service. */
#ifndef OPENFM_DAEMON_CHECK_H
#define OPENFM_DAEMON_CHECK_H

#include <stdbool.h>
#include <stdio.h>

#include "daemon/config.h"

/* `cfg` is already parsed (a syntax error never gets here) and its paths made
 * absolute; `origin` names it in messages. Checks what the file cannot say
 * about itself: the backend spec, the metrics endpoint's IPV4:PORT, the
 * mode/restart combination, the topology
 * named by OPENFM_EMULATE, every NAME.topo in TOPOLOGY_FILE_PATH, and the
 * emulated system's directory when one exists. Each problem is one line on
 * `errs` ("file:line: message" where a line is known); a summary goes to
 * `out`. Touches no file. Returns the number of problems found. */
int ofm_config_check(const ofm_config *cfg, const char *origin, const char *cli_backend,
                     bool restart, FILE *out, FILE *errs);

#endif
