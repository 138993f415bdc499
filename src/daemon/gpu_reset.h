/* GPU resets seen by the running daemon (src/daemon/gpu_reset.c). */
#ifndef OPENFM_DAEMON_GPU_RESET_H
#define OPENFM_DAEMON_GPU_RESET_H

struct ofm_daemon;

/* After a live refresh: retrain the switch-side links of GPUs a reset took
 * down (A100-class systems), log it, count it and publish the new state. */
void ofm_daemon_gpu_resets(struct ofm_daemon *d);

#endif
