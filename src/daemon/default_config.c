/* Where the configuration comes from without -c: the file NVIDIA's packages
 * install (FM §2.8: "/usr/share/nvidia/nvswitch/fabricmanager.cfg"), so a
 * host set up for NVIDIA's fabric manager runs openfm with its settings.
 * The path is a build option (OPENFM_DEFAULT_CONFIG_PATH) and, for tests,
 * the environment variable OPENFM_DEFAULT_CONFIG, so nothing depends on the
 * host's /usr/share. */
#include "daemon/daemon.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>

#ifndef OPENFM_DEFAULT_CONFIG_PATH
#define OPENFM_DEFAULT_CONFIG_PATH "/usr/share/nvidia/nvswitch/fabricmanager.cfg"
#endif

const char *ofm_daemon_default_config(void)
{
    const char *env = getenv("OPENFM_DEFAULT_CONFIG");
    return env && *env ? env : OPENFM_DEFAULT_CONFIG_PATH;
}

bool ofm_daemon_default_config_exists(void)
{
    struct stat st;
    /* a path that is there but unreadable is loaded, and its error shown */
    return stat(ofm_daemon_default_config(), &st) == 0 || errno != ENOENT;
}
