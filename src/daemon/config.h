/* The daemon's configuration: the KEY=VALUE file of the guide (FM §2.11),
 * every key NVIDIA's shipped fabricmanager.cfg has, plus openfm's own keys
 * (prefixed OPENFM_ so they can never collide). One table drives parsing,
 * defaults, validation and the documentation test. */
#ifndef OPENFM_DAEMON_CONFIG_H
#define OPENFM_DAEMON_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "openfm/error.h"

#define OFM_CFG_STR_MAX 256

typedef enum {
    OFM_CFG_INT,
    OFM_CFG_BOOL,
    OFM_CFG_IPV4,
    OFM_CFG_PATH,
    OFM_CFG_STRING,
    OFM_CFG_ENDPOINT, /* an absolute Unix socket path or IPV4:PORT */
    OFM_CFG_HEX64,    /* a 64-bit number written in hex (0x optional): a port GUID */
} ofm_cfg_type;

/* Longest Unix socket path an ENDPOINT may name (sockaddr_un's sun_path). */
#define OFM_CFG_SOCKET_PATH_MAX 107

/* Every key, once: X(KEY, member, kind, default, min, max, doc). The
 * struct below, the parser's table, the defaults, the shipped
 * etc/fabricmanager.cfg and the key table of docs/configuration.md are all
 * generated from this list (the last two by `make config-docs`, checked by the
 * daemon_cfgdoc test). kind: INT (int), LONG (long) with min/max, BOOL (0/1),
 * IPV4, PATH (made absolute at start-up), STRING, ENDPOINT (absolute Unix
 * socket path or IPV4:PORT), HEX64 (uint64_t, hex); min/max only for INT/LONG. */
#define OFM_CONFIG_KEYS(X)                                                                         \
    X(LOG_LEVEL, log_level, INT, "4", 0, 4,                                                        \
      "0 off, 1 critical, 2 error, 3 warning, 4 info")                                             \
    X(LOG_FILE_NAME, log_file_name, PATH, "/var/log/fabricmanager.log", 0, 0,                      \
      "log file; empty or not openable: stderr, except with DAEMONIZE=1: empty logs to syslog, "   \
      "not openable stops the start")                                                              \
    X(LOG_APPEND_TO_LOG, log_append, BOOL, "1", 0, 1,                                              \
      "0 truncates the log at start")                                                              \
    X(LOG_FILE_MAX_SIZE, log_file_max_size_mb, LONG, "1024", 1, 1048576,                           \
      "size in MB at which the log rotates")                                                       \
    X(LOG_MAX_ROTATE_COUNT, log_max_rotate_count, INT, "3", 0, 100,                                \
      "0: stop logging at the size limit; n: keep n rotated files")                                \
    X(LOG_USE_SYSLOG, log_use_syslog, BOOL, "0", 0, 1,                                             \
      "send all logs to syslog instead of the file")                                               \
    X(DAEMONIZE, daemonize, BOOL, "1", 0, 1,                                                       \
      "run as a Unix daemon; 0 stays in the foreground")                                           \
    X(BIND_INTERFACE_IP, bind_interface_ip, IPV4, "127.0.0.1", 0, 0,                               \
      "interface for the manager's internal communication")                                        \
    X(STARTING_TCP_PORT, starting_tcp_port, LONG, "16000", 0, 65535,                               \
      "first TCP port of the internal communication")                                              \
    X(UNIX_SOCKET_PATH, unix_socket_path, PATH, "", 0, 0,                                          \
      "Unix socket for the internal communication instead of TCP")                                 \
    X(FABRIC_MODE, fabric_mode, INT, "0", 0, 2,                                                    \
      "0 bare metal / full passthrough, 1 shared NVSwitch, 2 vGPU")                                \
    X(FABRIC_MODE_RESTART, fabric_mode_restart, BOOL, "0", 0, 1,                                   \
      "1: resiliency restart, like --restart (modes 1 and 2)")                                     \
    X(STATE_FILE_NAME, state_file_name, PATH, "/tmp/fabricmanager.state", 0, 0,                    \
      "resiliency metadata (modes 1 and 2)")                                                       \
    X(FM_CMD_BIND_INTERFACE, fm_cmd_bind_interface, IPV4, "127.0.0.1", 0, 0,                       \
      "interface the SDK/API listens on")                                                          \
    X(FM_CMD_PORT_NUMBER, fm_cmd_port_number, LONG, "6666", 0, 65535,                              \
      "TCP port of the SDK/API")                                                                   \
    X(FM_CMD_UNIX_SOCKET_PATH, fm_cmd_unix_socket_path, PATH, "", 0, 0,                            \
      "Unix socket for the SDK/API instead of TCP")                                                \
    X(FM_STAY_RESIDENT_ON_FAILURES, fm_stay_resident_on_failures, BOOL, "0", 0, 1,                 \
      "1: keep running after an initialisation failure (system stays uninitialised)")              \
    X(ACCESS_LINK_FAILURE_MODE, access_link_failure_mode, INT, "0", 0, 1,                          \
      "GPU access NVLink failure policy (A100)")                                                   \
    X(TRUNK_LINK_FAILURE_MODE, trunk_link_failure_mode, INT, "0", 0, 1,                            \
      "trunk NVLink failure policy (A100)")                                                        \
    X(NVSWITCH_FAILURE_MODE, nvswitch_failure_mode, INT, "0", 0, 1,                                \
      "NVSwitch failure policy (A100)")                                                            \
    X(ABORT_CUDA_JOBS_ON_FM_EXIT, abort_cuda_jobs_on_fm_exit, BOOL, "1", 0, 1,                     \
      "1: running CUDA jobs are aborted when the manager exits (no effect on H100)")               \
    X(TOPOLOGY_FILE_PATH, topology_file_path, PATH, "/usr/share/nvidia/nvswitch", 0, 0,            \
      "directory of platform topology files (NAME.topo); built-in models are always available")    \
    X(DATABASE_PATH, database_path, PATH, "/usr/share/nvidia/nvswitch", 0, 0,                      \
      "fabric manager database files")                                                             \
    X(FM_SM_IPC_INTERFACE, fm_sm_ipc_interface, ENDPOINT,                                          \
      "/var/run/nvidia-fabricmanager/fm_sm_ipc.socket", 0, 0,                                      \
      "HGX B200: the NVLink subnet manager's IPC endpoint, a Unix socket path or IPV4:PORT; "      \
      "inert on other platforms (docs/b200.md)")                                                   \
    X(FM_SM_MGMT_PORT_GUID, fm_sm_mgmt_port_guid, HEX64, "0x0", 0, 0,                              \
      "HGX B200: GUID of the NVSwitch management port (the NIC bridge's limited function), hex; "  \
      "0x0 not set; -g/--fm-sm-mgmt-port-guid overrides; inert on other platforms")                \
    X(OPENFM_BACKEND, backend, STRING, "", 0, 0,                                                   \
      "hardware backend: emu:DIR, real or auto (default: the emulator when OPENFM_EMU_DIR or "     \
      "OPENFM_EMULATE is set, else auto; see docs/hardware.md)")                                   \
    X(OPENFM_EMU_DIR, emu_dir, PATH, "", 0, 0,                                                     \
      "emulated system to manage (default: $OPENFM_EMU_DIR, else /var/lib/openfm/emu/default as "  \
      "root or the per-user runtime default)")                                                     \
    X(OPENFM_EMULATE, emulate, STRING, "", 0, 0,                                                   \
      "create the emulated system from this platform or topology file if it does not exist")       \
    X(OPENFM_PID_FILE, pid_file, PATH, "", 0, 0,                                                   \
      "PID file (default /run/nvidia-fabricmanager/nv-fabricmanager.pid as root, else in "         \
      "$XDG_RUNTIME_DIR)")                                                                         \
    X(OPENFM_STATUS_FILE, status_file, PATH, "", 0, 0,                                             \
      "status document read by 'fmctl status' (default: PID file dir)")                            \
    X(OPENFM_RESTART_TIMEOUT_S, restart_timeout_s, LONG, "60", 1, 3600,                            \
      "seconds to wait for fmSetActivatedFabricPartitions after --restart (the guide's 60 s)")     \
    X(OPENFM_LOG_MAX_SIZE_BYTES, log_max_size_bytes, LONG, "0", 0, 1L << 40,                       \
      "test knob: rotate the log at this many bytes instead of LOG_FILE_MAX_SIZE MB")              \
    X(OPENFM_MONITOR_INTERVAL_MS, monitor_interval_ms, LONG, "100", 10, 60000,                     \
      "how often error events are polled")                                                         \
    X(OPENFM_API_ADMIN_GROUP, api_admin_group, STRING, "", 0, 0,                                   \
      "group (name or gid) whose members may change partitions over the SDK; empty: root only")    \
    X(OPENFM_API_ALLOW_REMOTE, api_allow_remote, LONG, "0", 0, 2,                                  \
      "non-loopback FM_CMD_BIND_INTERFACE: 0 refused, 1 remote peers read only, 2 they may "       \
      "also change partitions")                                                                    \
    X(OPENFM_API_IDLE_TIMEOUT_S, api_idle_timeout_s, LONG, "0", 0, 86400,                          \
      "disconnect SDK clients silent for this long; 0 never")                                      \
    X(OPENFM_HEARTBEAT_TIMEOUT_MS, heartbeat_timeout_ms, LONG, "10000", 100, 600000,               \
      "NVSwitch driver backend: the manager heartbeat timeout handed to the driver")              \
    X(OPENFM_METRICS_LISTEN, metrics_listen, STRING, "127.0.0.1:9469", 0, 0,                       \
      "Prometheus /metrics and /healthz endpoint, IPV4:PORT (port 0 picks one); empty: off")

typedef struct {
    const char *key;
    ofm_cfg_type type;
    const char *def;  /* default, as text */
    long min, max;    /* for INT */
    const char *doc;
    size_t offset;    /* of the value in ofm_config */
    size_t size;      /* of the value: tells int from long for INT */
} ofm_cfg_key;

#define OFM_CFG_MEMBER_INT(m) int m;
#define OFM_CFG_MEMBER_LONG(m) long m;
#define OFM_CFG_MEMBER_BOOL(m) bool m;
#define OFM_CFG_MEMBER_IPV4(m) char m[OFM_CFG_STR_MAX + 1];
#define OFM_CFG_MEMBER_PATH(m) char m[OFM_CFG_STR_MAX + 1];
#define OFM_CFG_MEMBER_STRING(m) char m[OFM_CFG_STR_MAX + 1];
#define OFM_CFG_MEMBER_ENDPOINT(m) char m[OFM_CFG_STR_MAX + 1];
#define OFM_CFG_MEMBER_HEX64(m) uint64_t m;
#define OFM_CFG_MEMBER(key, m, kind, def, lo, hi, doc) OFM_CFG_MEMBER_##kind(m)

/* One member per key, named as in the list above. */
typedef struct {
    OFM_CONFIG_KEYS(OFM_CFG_MEMBER)
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
