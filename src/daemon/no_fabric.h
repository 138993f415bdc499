/* Is there a fabric to manage? (src/daemon/no_fabric.c) */
#ifndef OPENFM_DAEMON_NO_FABRIC_H
#define OPENFM_DAEMON_NO_FABRIC_H

#include <stdio.h>

#include "openfm/hal.h"

/* Opens `backend` as an observer (or, when it cannot be opened yet and
 * `emulate` names the platform the daemon would create, reads that model)
 * and, when there are GPUs but no NVSwitch, writes why there is nothing to
 * manage to `out` and returns 3 (the daemon's exit status for it). Returns
 * 0 otherwise, including when the backend cannot be opened. */
int ofm_daemon_no_fabric(const char *backend, const char *emulate, FILE *out);

#endif
