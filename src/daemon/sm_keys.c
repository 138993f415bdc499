/* The keys of NVIDIA's fabric manager for systems whose NVSwitches a subnet
 * manager programs (HGX B200, docs/b200.md): FM_SM_IPC_INTERFACE and
 * FM_SM_MGMT_PORT_GUID. There the manager reaches the switches through the
 * NVLink subnet manager and reads no topology file, so four of the classic
 * keys lose their subject; everywhere else the two SM keys have none. Each
 * case gets one start-up line per key, once the platform is known. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "daemon/daemon.h"
#include "openfm/log.h"

static const ofm_platform *known_platform(const ofm_daemon *d)
{
    return d->fctx && d->fctx->platform.ngpus > 0 ? &d->fctx->platform : NULL;
}

static void sm_key_lines(const ofm_daemon *d, const ofm_platform *p)
{
    const ofm_config *c = &d->cfg;
    char guid[40];
    snprintf(guid, sizeof guid, "0x%" PRIx64, c->fm_sm_mgmt_port_guid);
    const char *kind = c->fm_sm_ipc_interface[0] == '/' ? "Unix socket" : "TCP endpoint";
    if (p && ofm_platform_sm_managed(p)) {
        OFM_INFO("FM_SM_IPC_INTERFACE=%s: applies on %s: the NVLink subnet manager's IPC %s; "
                 "openfm has no subnet-manager backend yet, so nothing connects to it "
                 "(docs/b200.md)",
                 c->fm_sm_ipc_interface, p->name, kind);
        OFM_INFO("FM_SM_MGMT_PORT_GUID=%s: applies on %s: %s; openfm has no subnet-manager "
                 "backend yet, so no port is opened (docs/b200.md)",
                 guid, p->name,
                 c->fm_sm_mgmt_port_guid ? "the NVSwitch management port to use"
                                         : "not set (the manager would pick the bridge's port)");
        return;
    }
    char why[200];
    if (p)
        snprintf(why, sizeof why, "%s's NVSwitches are managed by the fabric manager, not by a "
                                  "subnet manager (only HGX B200-class systems use it)", p->name);
    else
        snprintf(why, sizeof why, "the platform is not known (bring-up did not recognise it); "
                                  "only HGX B200-class systems use it");
    OFM_INFO("FM_SM_IPC_INTERFACE=%s: accepted, inert because %s", c->fm_sm_ipc_interface, why);
    OFM_INFO("FM_SM_MGMT_PORT_GUID=%s: accepted, inert because %s", guid, why);
}

bool ofm_daemon_log_sm_keys(const ofm_daemon *d)
{
    const ofm_platform *p = known_platform(d);
    sm_key_lines(d, p);
    if (!p || !ofm_platform_sm_managed(p))
        return false;
    const ofm_config *c = &d->cfg;
    char why[240];
    snprintf(why, sizeof why, "on %s the fabric manager reaches the NVSwitches through the NVLink "
                              "subnet manager (FM_SM_IPC_INTERFACE)", p->name);
    OFM_INFO("TOPOLOGY_FILE_PATH=%s: accepted, does not apply: %s, which discovers the fabric: no "
             "topology file is read there; openfm took its model from %s",
             c->topology_file_path, why, d->status.topology_source[0] ? d->status.topology_source
                                                                    : "the backend");
    OFM_INFO("BIND_INTERFACE_IP=%s: accepted, does not apply: %s", c->bind_interface_ip, why);
    OFM_INFO("STARTING_TCP_PORT=%ld: accepted, does not apply: %s", c->starting_tcp_port, why);
    OFM_INFO("UNIX_SOCKET_PATH=%s: accepted, does not apply: %s", c->unix_socket_path, why);
    return true;
}
