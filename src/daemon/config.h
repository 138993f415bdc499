/* The daemon's configuration: the KEY=VALUE file of the guide (FM §2.11),
 * every key NVIDIA's shipped fabricmanager.cfg has, plus openfm's own keys
 * (prefixed OPENFM_ so they can never collide). One table drives parsing,
 * defaults, validation and the documentation test. */
#ifndef OPENFM_DAEMON_CONFIG_H
#define OPENFM_DAEMON_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "openfm/error.h"

#define OFM_CFG_STR_MAX 256

typedef enum { OFM_CFG_INT, OFM_CFG_BOOL, OFM_CFG_IPV4, OFM_CFG_PATH, OFM_CFG_STRING } ofm_cfg_type;

typedef struct {
    const char *key;
    ofm_cfg_type type;
    const char *def;  /* default, as text */
    long min, max;    /* for INT */
    const char *doc;
} ofm_cfg_key;

typedef struct {
    int log_level;
    char log_file_name[OFM_CFG_STR_MAX + 1];
    bool log_append;
    long log_file_max_size_mb;
    int log_max_rotate_count;
    bool log_use_syslog;
    bool daemonize;
    char bind_interface_ip[OFM_CFG_STR_MAX + 1];
    long starting_tcp_port;
    char unix_socket_path[OFM_CFG_STR_MAX + 1];
    int fabric_mode;
    bool fabric_mode_restart;
    char state_file_name[OFM_CFG_STR_MAX + 1];
    char fm_cmd_bind_interface[OFM_CFG_STR_MAX + 1];
    long fm_cmd_port_number;
    char fm_cmd_unix_socket_path[OFM_CFG_STR_MAX + 1];
    bool fm_stay_resident_on_failures;
    int access_link_failure_mode;
    int trunk_link_failure_mode;
    int nvswitch_failure_mode;
    bool abort_cuda_jobs_on_fm_exit;
    char topology_file_path[OFM_CFG_STR_MAX + 1];
    char database_path[OFM_CFG_STR_MAX + 1];
    /* openfm's own */
    char backend[OFM_CFG_STR_MAX + 1];
    char emu_dir[OFM_CFG_STR_MAX + 1];
    char emulate[OFM_CFG_STR_MAX + 1];
    char pid_file[OFM_CFG_STR_MAX + 1];
    char status_file[OFM_CFG_STR_MAX + 1];
    long restart_timeout_s;
    long log_max_size_bytes;   /* test knob: overrides LOG_FILE_MAX_SIZE when > 0 */
    long monitor_interval_ms;
    char api_admin_group[OFM_CFG_STR_MAX + 1];
    long api_allow_remote;
    long api_idle_timeout_s;
    long heartbeat_timeout_ms; /* NVSwitch driver backend */
} ofm_config;

const ofm_cfg_key *ofm_config_keys(size_t *n);

/* Defaults of every key. */
void ofm_config_defaults(ofm_config *c);

/* Parse a config file's bytes on top of *c (call ofm_config_defaults first).
 * Unknown keys, bad values and duplicates are errors naming origin:line and
 * the key. */
int ofm_config_parse(const char *buf, size_t len, const char *origin, ofm_config *c,
                     ofm_error *err);
int ofm_config_load_file(const char *path, ofm_config *c, ofm_error *err);

/* Set one key from text (command-line overrides use this). */
int ofm_config_set(ofm_config *c, const char *key, const char *value, ofm_error *err);

/* Make every relative path key absolute against `cwd`, so that a daemon
 * which has changed to "/" still finds what the operator meant. */
int ofm_config_absolute_paths(ofm_config *c, const char *cwd, ofm_error *err);

/* Effective log rotation size in bytes. */
long ofm_config_log_max_bytes(const ofm_config *c);

#endif
