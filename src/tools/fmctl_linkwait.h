/* Waiting for the fabric manager to retrain a GPU's switch-side NVLinks
 * after something reset the GPU (FM §13.9): `fmctl reset gpu`, and a MIG
 * mode change on an A100, whose driver applies it with a GPU reset. On
 * A100-class systems (no ALI) those links stay down until a running fabric
 * manager resets and trains them; fmctl waits for that with a deadline. */
#ifndef OPENFM_FMCTL_LINKWAIT_H
#define OPENFM_FMCTL_LINKWAIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "openfm/hal.h"

typedef struct {
    uint32_t sw, port;
} fmctl_sw_port;

/* Most switch ports one GPU has (18 NVLinks on the largest models). */
#define FMCTL_GPU_MAX_PORTS 64

/* The GPU's switch-side ports: from the platform model when the backend has
 * one (known even while down), else from the links' far ends now - call it
 * before a reset takes them down. */
size_t fmctl_gpu_switch_ports(ofm_hal *h, const ofm_hal_gpu *g, fmctl_sw_port *out, size_t cap);

/* Whether links train on their own (ALI, third NVSwitch generation on);
 * *has_switches: whether the system has NVSwitches at all. */
bool fmctl_links_autonomous(ofm_hal *h, bool *has_switches);

/* Wait until none of the ports is down any more (each up, or failed): the
 * fabric manager has handled the reset. *up: the ports up. False when the
 * deadline of wait_s seconds passed first. */
bool fmctl_wait_links(ofm_hal *h, const fmctl_sw_port *ports, size_t np, unsigned wait_s,
                      size_t *up);

#endif
