/* Keys of NVIDIA's fabricmanager.cfg whose subject openfm does not have, or
 * has only on some systems. The shipped file sets them all, so they are
 * always accepted; none is ignored silently: each either acts with its
 * documented meaning or gets one start-up line saying why it does not apply.
 *
 *   BIND_INTERFACE_IP, STARTING_TCP_PORT, UNIX_SOCKET_PATH  the channel between
 *       NVIDIA's global and local fabric manager processes: openfm is one
 *       process per node and has no such channel.
 *   DATABASE_PATH  NVIDIA's fabric database files: openfm has none.
 *   ABORT_CUDA_JOBS_ON_FM_EXIT  acts in bare-metal mode on systems whose
 *       links the manager trains (A100 class, FM §13.8): 1 tears the fabric's
 *       routing down at exit, so running CUDA jobs lose NVLink traffic and
 *       abort (the switches drop it with SXid 11004, the GPUs report Xid 45);
 *       0 leaves the routing, so running jobs continue, while new launches
 *       fail until a fabric manager runs again. No effect on H100 (ALI) or in
 *       the partition modes, where the hypervisor owns the partitions. */
#include "daemon/daemon.h"

#include "openfm/log.h"

void ofm_daemon_log_inert_keys(const ofm_daemon *d)
{
    const ofm_config *c = &d->cfg;
    /* on HGX B200 the channel keys get that platform's reason (sm_keys.c) */
    bool b200 = ofm_daemon_log_sm_keys(d);
    static const char channel[] =
        "openfm runs as one process per node with no global/local fabric manager channel; "
        "SDK clients connect to FM_CMD_BIND_INTERFACE:FM_CMD_PORT_NUMBER or "
        "FM_CMD_UNIX_SOCKET_PATH";
    if (!b200) {
        OFM_INFO("BIND_INTERFACE_IP=%s: accepted, not applicable to openfm because %s",
                 c->bind_interface_ip, channel);
        OFM_INFO("STARTING_TCP_PORT=%ld: accepted, not applicable to openfm because %s",
                 c->starting_tcp_port, channel);
        OFM_INFO("UNIX_SOCKET_PATH=%s: accepted, not applicable to openfm because %s",
                 c->unix_socket_path, channel);
    }
    OFM_INFO("DATABASE_PATH=%s: accepted, not applicable to openfm because openfm keeps no "
             "database files: its platform models are built in or read from TOPOLOGY_FILE_PATH",
             c->database_path);
}

/* Where the key acts: bare metal on a system without ALI. */
static bool abort_applies(const ofm_daemon *d)
{
    return d->cfg.fabric_mode == 0 && d->fctx && d->fctx->platform.ngpus > 0 &&
           !d->fctx->platform.ali;
}

void ofm_daemon_log_abort_policy(const ofm_daemon *d)
{
    int v = d->cfg.abort_cuda_jobs_on_fm_exit;
    if (abort_applies(d))
        OFM_INFO("ABORT_CUDA_JOBS_ON_FM_EXIT=%d: when the fabric manager exits, %s", v,
                 v ? "running CUDA jobs are aborted (NVLink routing is torn down)"
                   : "running CUDA jobs continue (NVLink routing stays); new CUDA launches fail "
                     "until a fabric manager runs again");
    else
        OFM_INFO("ABORT_CUDA_JOBS_ON_FM_EXIT=%d: accepted, not applicable to openfm because %s", v,
                 d->cfg.fabric_mode != 0
                     ? "it only applies in bare-metal mode (FABRIC_MODE=0); in the partition modes "
                       "the hypervisor owns running partitions"
                     : "this system's links train autonomously (H100 class), where the key has no "
                       "effect (FM §13.8)");
}

void ofm_daemon_exit_policy(ofm_daemon *d)
{
    if (!abort_applies(d) || !d->hal)
        return;
    const ofm_platform *p = &d->fctx->platform;
    if (!d->cfg.abort_cuda_jobs_on_fm_exit) {
        OFM_INFO("ABORT_CUDA_JOBS_ON_FM_EXIT=0: NVLink routing left in place, running CUDA jobs "
                 "continue; new CUDA launches fail until a fabric manager runs again");
        return;
    }
    size_t cleared = 0;
    for (size_t s = 0; s < p->nswitches; s++)
        if (d->fctx->decision.effective.switch_ok[s] &&
            d->hal->ops->route_clear_switch(d->hal, p->switches[s].id) == OFM_HAL_OK)
            cleared++;
    ofm_log_alert(OFM_LOG_WARN,
                  "ABORT_CUDA_JOBS_ON_FM_EXIT=1: NVLink routing torn down on %zu of %zu NVSwitch(es): "
                  "running CUDA jobs are aborted (Xid 45) and new launches fail until a fabric "
                  "manager runs again",
                  cleared, p->nswitches);
}
