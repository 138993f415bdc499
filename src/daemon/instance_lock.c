/* Single-instance guards (see instance_lock.h). Lock files are never removed:
 * removing one while another process waits to open it would let two holders
 * believe they are alone. */
#include "daemon/instance_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "openfm/fileio.h"

static int lock_beside(const char *path, const char *what, const char *key, ofm_error *err)
{
    char lock[OFM_CFG_STR_MAX + 16];
    snprintf(lock, sizeof lock, "%s.lock", path);
    pid_t holder = 0;
    ofm_error e;
    int fd = ofm_lockfile_acquire(lock, what, &holder, &e);
    if (fd >= 0)
        return 0; /* held (and the fd kept open) until the process exits */
    if (errno != EBUSY) {
        char b[700];
        return ofm_error_set(err, NULL, 0, "%s %s: %s", what, path,
                             ofm_error_format(&e, b, sizeof b));
    }
    char who[48] = "another process";
    if (holder > 0)
        snprintf(who, sizeof who, "process %ld", (long)holder);
    return ofm_error_set(err, NULL, 0,
                         "%s %s is in use by %s (lock %s): another fabric manager is running "
                         "with it; stop that one first or choose another %s",
                         what, path, who, lock, key);
}

int ofm_instance_lock_resources(const ofm_config *c, ofm_error *err)
{
    if (c->fm_cmd_unix_socket_path[0] &&
        lock_beside(c->fm_cmd_unix_socket_path, "the SDK socket", "FM_CMD_UNIX_SOCKET_PATH", err))
        return -1;
    if (c->fabric_mode != 0 &&
        lock_beside(c->state_file_name, "the state file", "STATE_FILE_NAME", err))
        return -1;
    return 0;
}

int ofm_instance_check_log(const ofm_config *c, ofm_error *err)
{
    if (!c->daemonize || c->log_use_syslog || !c->log_file_name[0])
        return 0;
    /* O_APPEND|O_CREAT changes nothing the log sink would not change itself */
    int fd = open(c->log_file_name, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
    if (fd >= 0) {
        close(fd);
        return 0;
    }
    return ofm_error_set(err, c->log_file_name, 0,
                         "cannot open the log file: %s. With DAEMONIZE=1 every message would be "
                         "lost, so openfm does not start: fix LOG_FILE_NAME, set LOG_USE_SYSLOG=1, "
                         "or run with DAEMONIZE=0 to log to stderr",
                         strerror(errno));
}
