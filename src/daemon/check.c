/* openfm -n (see check.h). Read-only: nothing here creates, locks or opens
 * a device, so it is safe beside a running daemon. */
#include "daemon/check.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/listen_addr.h"
#include "openfm/emu.h"
#include "openfm/fileio.h"
#include "openfm/hal.h"
#include "openfm/platform.h"

static void report(FILE *errs, int *n, const ofm_error *e)
{
    char b[800];
    fprintf(errs, "openfm: %s\n", ofm_error_format(e, b, sizeof b));
    (*n)++;
}

/* Every NAME.topo of the directory must parse: bring-up picks one by the
 * platform's name, so a broken one fails only on the machine it names. */
static void check_topology_dir(const char *dir, bool is_default, FILE *out, FILE *errs, int *n)
{
    struct stat sb;
    ofm_error e;
    if (stat(dir, &sb) < 0) {
        if (is_default && errno == ENOENT)
            return; /* no installed topology files: the built-in models serve */
        ofm_error_set(&e, dir, 0, "TOPOLOGY_FILE_PATH: %s", strerror(errno));
        report(errs, n, &e);
        return;
    }
    if (!S_ISDIR(sb.st_mode)) {
        ofm_error_set(&e, dir, 0, "TOPOLOGY_FILE_PATH is not a directory");
        report(errs, n, &e);
        return;
    }
    DIR *d = opendir(dir);
    if (!d) {
        ofm_error_set(&e, dir, 0, "TOPOLOGY_FILE_PATH: %s", strerror(errno));
        report(errs, n, &e);
        return;
    }
    ofm_platform *p = malloc(sizeof *p);
    unsigned ok = 0;
    for (struct dirent *de; p && (de = readdir(d));) {
        size_t l = strlen(de->d_name);
        if (l < 6 || strcmp(de->d_name + l - 5, ".topo"))
            continue;
        char path[4400];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (ofm_platform_load_file(path, p, &e))
            report(errs, n, &e);
        else
            ok++;
    }
    closedir(d);
    free(p);
    if (ok)
        fprintf(out, "openfm: %u topology file(s) in %s parse\n", ok, dir);
}

/* The subnet-manager keys parse by then (the parser validated them); say
 * what they are and whether the platform this configuration would run uses
 * them, with the keys that lose their subject there. */
static void check_sm_keys(const ofm_config *cfg, const ofm_platform *p, FILE *out)
{
    fprintf(out, "openfm: FM_SM_IPC_INTERFACE=%s (%s), FM_SM_MGMT_PORT_GUID=0x%" PRIx64 "%s: ",
            cfg->fm_sm_ipc_interface,
            cfg->fm_sm_ipc_interface[0] == '/' ? "Unix socket" : "TCP endpoint",
            cfg->fm_sm_mgmt_port_guid, cfg->fm_sm_mgmt_port_guid ? "" : " (not set)");
    if (p && ofm_platform_sm_managed(p))
        fprintf(out, "apply on %s (its NVSwitches are managed by a subnet manager); "
                     "TOPOLOGY_FILE_PATH, BIND_INTERFACE_IP, STARTING_TCP_PORT and "
                     "UNIX_SOCKET_PATH do not apply there\n", p->name);
    else if (p)
        fprintf(out, "inert on %s (only HGX B200-class systems use them)\n", p->name);
    else
        fprintf(out, "used only on HGX B200-class systems (no platform named to tell which)\n");
}

int ofm_config_check(const ofm_config *cfg, const char *origin, const char *cli_backend,
                     bool restart, FILE *out, FILE *errs)
{
    int n = 0;
    ofm_error e;
    const char *who = origin ? origin : "built-in defaults";
    if (restart && cfg->fabric_mode == 0) {
        ofm_error_set(&e, origin, 0, "--restart / FABRIC_MODE_RESTART=1 needs FABRIC_MODE 1 or 2");
        report(errs, &n, &e);
    }
    const char *env = getenv("OPENFM_EMU_DIR");
    bool emu = cfg->emu_dir[0] || cfg->emulate[0] || (env && *env);
    const char *spec = ofm_hal_select(cli_backend, cfg->backend, emu, "auto");
    char eb[700];
    if (ofm_hal_spec_check(spec, eb, sizeof eb)) {
        ofm_error_set(&e, origin, 0, "OPENFM_BACKEND: %s", eb);
        report(errs, &n, &e);
    }
    char lip[64];
    unsigned lport;
    if (cfg->metrics_listen[0] && ofm_listen_addr_parse(cfg->metrics_listen, lip, sizeof lip, &lport, &e)) {
        char msg[OFM_ERROR_MSG_LEN];
        snprintf(msg, sizeof msg, "%s", e.msg);
        ofm_error_set(&e, origin, 0, "%s", msg);
        report(errs, &n, &e);
    }
    ofm_platform *p = malloc(sizeof *p);
    bool have_platform = false;
    if (cfg->emulate[0] && p) {
        /* a platform name or a topology file; a file error carries its line */
        if (ofm_platform_load(cfg->emulate, cfg->topology_file_path, p, &e)) {
            if (!e.origin[0]) {
                char msg[OFM_ERROR_MSG_LEN];
                snprintf(msg, sizeof msg, "%s", e.msg);
                ofm_error_set(&e, origin, 0, "OPENFM_EMULATE: %.250s", msg);
            }
            report(errs, &n, &e);
        } else {
            fprintf(out, "openfm: OPENFM_EMULATE names %s (%zu GPUs, %zu NVSwitches)\n", p->name,
                    p->ngpus, p->nswitches);
            have_platform = true;
        }
    }
    check_topology_dir(cfg->topology_file_path,
                       !strcmp(cfg->topology_file_path, "/usr/share/nvidia/nvswitch"), out, errs, &n);
    char dir[4096];
    struct stat sb;
    if (emu && !ofm_emu_resolve_dir(cfg->emu_dir[0] ? cfg->emu_dir : NULL, dir, sizeof dir) &&
        stat(dir, &sb) == 0) {
        /* an existing system must be one the daemon would accept */
        char topo[4200];
        snprintf(topo, sizeof topo, "%s/topology.topo", dir);
        if (ofm_dir_check_private(dir, &e))
            report(errs, &n, &e);
        else if (access(topo, F_OK) == 0 && p) {
            char *buf = NULL;
            size_t len;
            int bad = ofm_file_read(topo, "topology file", 1u << 20, OFM_FILE_NOFOLLOW, &buf, &len, &e) ||
                      ofm_platform_parse(buf, len, topo, p, &e);
            free(buf);
            if (bad)
                report(errs, &n, &e);
            have_platform = !bad; /* the system that exists is the one the daemon runs */
        }
    }
    check_sm_keys(cfg, have_platform ? p : NULL, out);
    free(p);
    if (n)
        fprintf(errs, "openfm: %s: %d problem(s)\n", who, n);
    else
        fprintf(out, "openfm: %s: configuration OK\n", who);
    return n;
}
