/* Start the real openfm binary on a fresh emulated system and wait for its
 * readiness the way systemd would: a NOTIFY_SOCKET datagram "READY=1".
 * No sleeps: every wait is a poll() with a deadline. */
#ifndef OFM_TEST_DAEMON_HARNESS_H
#define OFM_TEST_DAEMON_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct {
    pid_t pid;
    char dir[64];       /* temp dir holding everything below */
    char emu[128];      /* emulated system */
    char cfg[128];
    char log[128];
    char sock[128];     /* SDK Unix socket */
    char notify[128];
    char state[128];
    int nfd;            /* notify socket */
} dh_daemon;

/* Create a temp dir and an emulated `platform` in it (platform NULL: none). */
int dh_init(dh_daemon *d, const char *platform);
/* Write the config: the harness's own keys plus `extra` (KEY=VALUE lines). */
int dh_write_config(dh_daemon *d, const char *extra);
/* Start openfm with the config and `args` (NULL-terminated, may be NULL).
 * Returns 0 once READY=1 arrived, -1 if the daemon exited first (its status
 * in *exit_status when non-NULL) or the deadline passed. */
int dh_start(dh_daemon *d, const char *const *args, int timeout_ms, int *exit_status);
/* Like dh_start with a whole command line of its own (argv[0] the binary,
 * NULL-terminated): for starts without -c. */
int dh_start_cmd(dh_daemon *d, const char *const *argv, int timeout_ms, int *exit_status);
/* SIGTERM (or `sig`) and wait; returns the exit status, or 128+signal. */
int dh_stop(dh_daemon *d, int sig);
/* Remove the temp dir. */
void dh_cleanup(dh_daemon *d);
/* Whole log file as a malloc'd string (NULL if none). */
char *dh_read_log(const dh_daemon *d);
/* Run a shell command, capture its output (stdout and whatever the command
 * redirects there) into out, return its exit status (-1 if it did not exit). */
int dh_run(const char *cmd, char *out, size_t len);
/* Path of a binary in the build tree. */
const char *dh_bin(const char *name);

#endif
