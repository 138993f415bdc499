/* Table-driven parser for the KEY=VALUE configuration file. */
#include "daemon/config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openfm/fileio.h"

#define MAX_LINE 1024
#define MAX_FILE (1u << 20)

static const ofm_cfg_key keys[] = {
    {"LOG_LEVEL", OFM_CFG_INT, "4", 0, 4, "0 off, 1 critical, 2 error, 3 warning, 4 info"},
    {"LOG_FILE_NAME", OFM_CFG_PATH, "/var/log/fabricmanager.log", 0, 0,
     "log file; empty or not openable: log to stderr"},
    {"LOG_APPEND_TO_LOG", OFM_CFG_BOOL, "1", 0, 1, "0 truncates the log at start"},
    {"LOG_FILE_MAX_SIZE", OFM_CFG_INT, "1024", 1, 1048576, "size in MB at which the log rotates"},
    {"LOG_MAX_ROTATE_COUNT", OFM_CFG_INT, "3", 0, 100,
     "0: stop logging at the size limit; n: keep n rotated files"},
    {"LOG_USE_SYSLOG", OFM_CFG_BOOL, "0", 0, 1, "send all logs to syslog instead of the file"},
    {"DAEMONIZE", OFM_CFG_BOOL, "1", 0, 1, "run as a Unix daemon; 0 stays in the foreground"},
    {"BIND_INTERFACE_IP", OFM_CFG_IPV4, "127.0.0.1", 0, 0,
     "interface for the manager's internal communication"},
    {"STARTING_TCP_PORT", OFM_CFG_INT, "16000", 0, 65535, "first TCP port of the internal communication"},
    {"UNIX_SOCKET_PATH", OFM_CFG_PATH, "", 0, 0, "Unix socket for the internal communication instead of TCP"},
    {"FABRIC_MODE", OFM_CFG_INT, "0", 0, 2, "0 bare metal / full passthrough, 1 shared NVSwitch, 2 vGPU"},
    {"FABRIC_MODE_RESTART", OFM_CFG_BOOL, "0", 0, 1, "1: resiliency restart, like --restart (modes 1 and 2)"},
    {"STATE_FILE_NAME", OFM_CFG_PATH, "/tmp/fabricmanager.state", 0, 0, "resiliency metadata (modes 1 and 2)"},
    {"FM_CMD_BIND_INTERFACE", OFM_CFG_IPV4, "127.0.0.1", 0, 0, "interface the SDK/API listens on"},
    {"FM_CMD_PORT_NUMBER", OFM_CFG_INT, "6666", 0, 65535, "TCP port of the SDK/API"},
    {"FM_CMD_UNIX_SOCKET_PATH", OFM_CFG_PATH, "", 0, 0, "Unix socket for the SDK/API instead of TCP"},
    {"FM_STAY_RESIDENT_ON_FAILURES", OFM_CFG_BOOL, "0", 0, 1,
     "1: keep running after an initialisation failure (system stays uninitialised)"},
    {"ACCESS_LINK_FAILURE_MODE", OFM_CFG_INT, "0", 0, 1, "GPU access NVLink failure policy (A100)"},
    {"TRUNK_LINK_FAILURE_MODE", OFM_CFG_INT, "0", 0, 1, "trunk NVLink failure policy (A100)"},
    {"NVSWITCH_FAILURE_MODE", OFM_CFG_INT, "0", 0, 1, "NVSwitch failure policy (A100)"},
    {"ABORT_CUDA_JOBS_ON_FM_EXIT", OFM_CFG_BOOL, "1", 0, 1,
     "1: running CUDA jobs are aborted when the manager exits (no effect on H100)"},
    {"TOPOLOGY_FILE_PATH", OFM_CFG_PATH, "/usr/share/nvidia/nvswitch", 0, 0,
     "directory of platform topology files (NAME.topo); built-in models are always available"},
    {"DATABASE_PATH", OFM_CFG_PATH, "/usr/share/nvidia/nvswitch", 0, 0, "fabric manager database files"},
    {"OPENFM_BACKEND", OFM_CFG_STRING, "", 0, 0,
     "hardware backend: emu:DIR, real or auto (default: the emulator when OPENFM_EMU_DIR or "
     "OPENFM_EMULATE is set, else auto; see docs/hardware.md)"},
    {"OPENFM_EMU_DIR", OFM_CFG_PATH, "", 0, 0,
     "emulated system to manage (default: $OPENFM_EMU_DIR or the per-user runtime default)"},
    {"OPENFM_EMULATE", OFM_CFG_STRING, "", 0, 0,
     "create the emulated system from this platform or topology file if it does not exist"},
    {"OPENFM_PID_FILE", OFM_CFG_PATH, "", 0, 0,
     "PID file (default /run/nvidia-fabricmanager/nv-fabricmanager.pid as root, else in $XDG_RUNTIME_DIR)"},
    {"OPENFM_STATUS_FILE", OFM_CFG_PATH, "", 0, 0, "status document read by 'fmctl status' (default: PID file dir)"},
    {"OPENFM_RESTART_TIMEOUT_S", OFM_CFG_INT, "60", 1, 3600,
     "seconds to wait for fmSetActivatedFabricPartitions after --restart (the guide's 60 s)"},
    {"OPENFM_LOG_MAX_SIZE_BYTES", OFM_CFG_INT, "0", 0, 1L << 40,
     "test knob: rotate the log at this many bytes instead of LOG_FILE_MAX_SIZE MB"},
    {"OPENFM_MONITOR_INTERVAL_MS", OFM_CFG_INT, "100", 10, 60000, "how often error events are polled"},
    {"OPENFM_API_ADMIN_GROUP", OFM_CFG_STRING, "", 0, 0,
     "group (name or gid) whose members may change partitions over the SDK; empty: root only"},
    {"OPENFM_API_ALLOW_REMOTE", OFM_CFG_INT, "0", 0, 2,
     "non-loopback FM_CMD_BIND_INTERFACE: 0 refused, 1 remote peers read only, 2 they may also change partitions"},
    {"OPENFM_API_IDLE_TIMEOUT_S", OFM_CFG_INT, "0", 0, 86400,
     "disconnect SDK clients silent for this long; 0 never"},
    {"OPENFM_HEARTBEAT_TIMEOUT_MS", OFM_CFG_INT, "10000", 100, 600000,
     "NVSwitch driver backend: the manager heartbeat timeout handed to the driver"},
};

const ofm_cfg_key *ofm_config_keys(size_t *n)
{
    *n = sizeof keys / sizeof keys[0];
    return keys;
}

static void *field(ofm_config *c, const char *key, ofm_cfg_type *t)
{
    struct {
        const char *k;
        void *p;
    } map[] = {
        {"LOG_LEVEL", &c->log_level},
        {"LOG_FILE_NAME", c->log_file_name},
        {"LOG_APPEND_TO_LOG", &c->log_append},
        {"LOG_FILE_MAX_SIZE", &c->log_file_max_size_mb},
        {"LOG_MAX_ROTATE_COUNT", &c->log_max_rotate_count},
        {"LOG_USE_SYSLOG", &c->log_use_syslog},
        {"DAEMONIZE", &c->daemonize},
        {"BIND_INTERFACE_IP", c->bind_interface_ip},
        {"STARTING_TCP_PORT", &c->starting_tcp_port},
        {"UNIX_SOCKET_PATH", c->unix_socket_path},
        {"FABRIC_MODE", &c->fabric_mode},
        {"FABRIC_MODE_RESTART", &c->fabric_mode_restart},
        {"STATE_FILE_NAME", c->state_file_name},
        {"FM_CMD_BIND_INTERFACE", c->fm_cmd_bind_interface},
        {"FM_CMD_PORT_NUMBER", &c->fm_cmd_port_number},
        {"FM_CMD_UNIX_SOCKET_PATH", c->fm_cmd_unix_socket_path},
        {"FM_STAY_RESIDENT_ON_FAILURES", &c->fm_stay_resident_on_failures},
        {"ACCESS_LINK_FAILURE_MODE", &c->access_link_failure_mode},
        {"TRUNK_LINK_FAILURE_MODE", &c->trunk_link_failure_mode},
        {"NVSWITCH_FAILURE_MODE", &c->nvswitch_failure_mode},
        {"ABORT_CUDA_JOBS_ON_FM_EXIT", &c->abort_cuda_jobs_on_fm_exit},
        {"TOPOLOGY_FILE_PATH", c->topology_file_path},
        {"DATABASE_PATH", c->database_path},
        {"OPENFM_BACKEND", c->backend},
        {"OPENFM_EMU_DIR", c->emu_dir},
        {"OPENFM_EMULATE", c->emulate},
        {"OPENFM_PID_FILE", c->pid_file},
        {"OPENFM_STATUS_FILE", c->status_file},
        {"OPENFM_RESTART_TIMEOUT_S", &c->restart_timeout_s},
        {"OPENFM_LOG_MAX_SIZE_BYTES", &c->log_max_size_bytes},
        {"OPENFM_MONITOR_INTERVAL_MS", &c->monitor_interval_ms},
        {"OPENFM_API_ADMIN_GROUP", c->api_admin_group},
        {"OPENFM_API_ALLOW_REMOTE", &c->api_allow_remote},
        {"OPENFM_API_IDLE_TIMEOUT_S", &c->api_idle_timeout_s},
        {"OPENFM_HEARTBEAT_TIMEOUT_MS", &c->heartbeat_timeout_ms},
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (!strcmp(keys[i].key, key)) {
            *t = keys[i].type;
            for (size_t j = 0; j < sizeof map / sizeof map[0]; j++)
                if (!strcmp(map[j].k, key))
                    return map[j].p;
        }
    return NULL;
}

/* int-typed keys stored as int rather than long */
static bool is_int_field(const char *key)
{
    return !strcmp(key, "LOG_LEVEL") || !strcmp(key, "LOG_MAX_ROTATE_COUNT") ||
           !strcmp(key, "FABRIC_MODE") || !strcmp(key, "ACCESS_LINK_FAILURE_MODE") ||
           !strcmp(key, "TRUNK_LINK_FAILURE_MODE") || !strcmp(key, "NVSWITCH_FAILURE_MODE");
}

static const ofm_cfg_key *find(const char *key)
{
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (!strcmp(keys[i].key, key))
            return &keys[i];
    return NULL;
}

static int set_at(ofm_config *c, const char *key, const char *v, const char *origin, unsigned line,
                  ofm_error *err)
{
    const ofm_cfg_key *k = find(key);
    ofm_cfg_type t;
    void *f = k ? field(c, key, &t) : NULL;
    if (!f)
        return ofm_error_set(err, origin, line, "unknown key '%s'", key);
    size_t len = strlen(v);
    switch (k->type) {
    case OFM_CFG_INT: {
        char *end;
        errno = 0;
        long n = strtol(v, &end, 10);
        if (!*v || *end || errno || !(isdigit((unsigned char)*v)))
            return ofm_error_set(err, origin, line, "%s: value '%s' is not a number", key, v);
        if (n < k->min || n > k->max)
            return ofm_error_set(err, origin, line, "%s: value '%s' out of range %ld-%ld", key, v,
                                 k->min, k->max);
        if (is_int_field(key))
            *(int *)f = (int)n;
        else
            *(long *)f = n;
        return 0;
    }
    case OFM_CFG_BOOL:
        if (strcmp(v, "0") && strcmp(v, "1"))
            return ofm_error_set(err, origin, line, "%s: value '%s' must be 0 or 1", key, v);
        *(bool *)f = v[0] == '1';
        return 0;
    case OFM_CFG_IPV4: {
        struct in_addr a;
        if (len > 15 || inet_pton(AF_INET, v, &a) != 1)
            return ofm_error_set(err, origin, line, "%s: value '%s' is not an IPv4 address", key, v);
        break;
    }
    case OFM_CFG_PATH:
    case OFM_CFG_STRING:
        if (len > OFM_CFG_STR_MAX)
            return ofm_error_set(err, origin, line, "%s: value is longer than %d characters", key,
                                 OFM_CFG_STR_MAX);
        for (const char *p = v; *p; p++)
            if ((unsigned char)*p < 0x20)
                return ofm_error_set(err, origin, line, "%s: control character in value", key);
        break;
    }
    memcpy(f, v, len + 1);
    return 0;
}

int ofm_config_set(ofm_config *c, const char *key, const char *value, ofm_error *err)
{
    return set_at(c, key, value, "command line", 0, err);
}

void ofm_config_defaults(ofm_config *c)
{
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        set_at(c, keys[i].key, keys[i].def, NULL, 0, NULL);
}

/* Offset of the first byte that is not part of well-formed UTF-8, or -1.
 * Overlong forms and surrogates are rejected too. */
static long bad_utf8(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        size_t need;
        unsigned cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xc2 && c <= 0xdf) {
            need = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            need = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            need = 3;
            cp = c & 0x07;
        } else
            return (long)i;
        for (size_t k = 1; k <= need; k++) {
            if (i + k >= n || (s[i + k] & 0xc0) != 0x80)
                return (long)i;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((need == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
            (need == 3 && (cp < 0x10000 || cp > 0x10ffff)))
            return (long)i;
        i += need + 1;
    }
    return -1;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t l = strlen(s);
    while (l && (s[l - 1] == ' ' || s[l - 1] == '\t' || s[l - 1] == '\r'))
        s[--l] = '\0';
    return s;
}

int ofm_config_parse(const char *buf, size_t len, const char *origin, ofm_config *c, ofm_error *err)
{
    size_t nkeys = sizeof keys / sizeof keys[0];
    unsigned seen[sizeof keys / sizeof keys[0]] = {0};
    unsigned line = 0;
    for (size_t pos = 0; pos < len;) {
        line++;
        const char *nl = memchr(buf + pos, '\n', len - pos);
        size_t l = nl ? (size_t)(nl - (buf + pos)) : len - pos;
        if (memchr(buf + pos, '\0', l))
            return ofm_error_set(err, origin, line, "NUL byte in line");
        long bad = bad_utf8((const unsigned char *)buf + pos, l);
        if (bad >= 0)
            return ofm_error_set(err, origin, line, "invalid UTF-8 byte 0x%02x at column %ld",
                                 (unsigned char)buf[pos + (size_t)bad], bad + 1);
        if (l >= MAX_LINE)
            return ofm_error_set(err, origin, line, "line longer than %d characters", MAX_LINE - 1);
        char tmp[MAX_LINE];
        memcpy(tmp, buf + pos, l);
        tmp[l] = '\0';
        pos += l + (nl ? 1 : 0);
        char *s = trim(tmp);
        if (!*s || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (!eq)
            return ofm_error_set(err, origin, line, "expected KEY=VALUE, got '%.60s'", s);
        *eq = '\0';
        char *key = trim(s), *val = trim(eq + 1);
        if (!*key)
            return ofm_error_set(err, origin, line, "missing key before '='");
        const ofm_cfg_key *k = find(key);
        if (!k)
            return ofm_error_set(err, origin, line, "unknown key '%.60s'", key);
        size_t idx = (size_t)(k - keys);
        if (seen[idx])
            return ofm_error_set(err, origin, line, "duplicate key '%s' (first set on line %u)", key,
                                 seen[idx]);
        seen[idx] = line;
        if (set_at(c, key, val, origin, line, err))
            return -1;
    }
    (void)nkeys;
    return 0;
}

int ofm_config_load_file(const char *path, ofm_config *c, ofm_error *err)
{
    char *buf;
    size_t n;
    /* a directory, FIFO or device is refused here, never read as "empty" */
    if (ofm_file_read(path, "configuration file", MAX_FILE, 0, &buf, &n, err))
        return -1;
    int rc = ofm_config_parse(buf, n, path, c, err);
    free(buf);
    return rc;
}

int ofm_config_absolute_paths(ofm_config *c, const char *cwd, ofm_error *err)
{
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        ofm_cfg_type t;
        char *v = field(c, keys[i].key, &t);
        /* OPENFM_EMULATE is a platform name unless it looks like a path;
         * OPENFM_BACKEND is a spec whose directory the daemon resolves */
        bool path = t == OFM_CFG_PATH || (t == OFM_CFG_STRING && strchr(v, '/') &&
                                          strcmp(keys[i].key, "OPENFM_BACKEND"));
        if (!path || !v[0] || v[0] == '/')
            continue;
        char abs[2 * OFM_CFG_STR_MAX + 8];
        int n = snprintf(abs, sizeof abs, "%s/%s", cwd, v);
        if (n < 0 || (size_t)n > OFM_CFG_STR_MAX)
            return ofm_error_set(err, "configuration", 0,
                                 "%s: relative path '%s' is longer than %d characters once made "
                                 "absolute from %.200s; give an absolute path",
                                 keys[i].key, v, OFM_CFG_STR_MAX, cwd);
        memcpy(v, abs, (size_t)n + 1);
    }
    return 0;
}

long ofm_config_log_max_bytes(const ofm_config *c)
{
    return c->log_max_size_bytes > 0 ? c->log_max_size_bytes : c->log_file_max_size_mb * 1024L * 1024L;
}
