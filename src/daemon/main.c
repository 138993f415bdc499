/* openfm: the fabric manager daemon. Process concerns only: options,
 * configuration, logging, daemonizing, the PID file, signals and the event
 * loop. The fabric work happens in src/manager (bring-up, monitor) and
 * src/partition (shared NVSwitch / vGPU), reached through the HAL. */
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "daemon/check.h"
#include "daemon/config.h"
#include "daemon/daemon.h"
#include "daemon/eventlog.h"
#include "daemon/gpu_reset.h"
#include "daemon/link_counters.h"
#include "daemon/telemetry.h"
#include "daemon/instance_lock.h"
#include "daemon/logsink.h"
#include "daemon/no_fabric.h"
#include "daemon/live_status.h"
#include "daemon/status_doc.h"
#include "openfm/emu.h"
#include "openfm/fileio.h"
#include "openfm/log.h"

#ifndef OPENFM_VERSION
#define OPENFM_VERSION "unknown"
#endif
/* The driver branch this build speaks to (FM §2.5: the manager and the
 * driver must come from the same release). */
#define OPENFM_DRIVER_BRANCH "580"

static void usage(FILE *f)
{
    fprintf(f,
        "usage: openfm [OPTIONS]\n"
        "\n"
        "openfm fabric manager: discovers GPUs and NVSwitches, trains NVLinks, programs switch\n"
        "routing (one fabric in bare-metal mode, isolated partitions in shared NVSwitch / vGPU\n"
        "modes), watches SXid/Xid errors, and serves the Fabric Manager SDK API.\n"
        "\n"
        "  -c, --config FILE      configuration file (KEY=VALUE, see docs/configuration.md);\n"
        "                         without it /usr/share/nvidia/nvswitch/fabricmanager.cfg\n"
        "                         when that exists, else every key's documented default\n"
        "  -r, --restart          resiliency restart (FABRIC_MODE 1 and 2 only): keep the\n"
        "                         routes of running partitions and wait for the hypervisor's\n"
        "                         fmSetActivatedFabricPartitions (same as FABRIC_MODE_RESTART=1)\n"
        "  -b, --backend SPEC     hardware to drive (OPENFM_BACKEND): emu:DIR (the emulator),\n"
        "                         real (NVSwitch driver + NVML) or auto (real when NVSwitch\n"
        "                         device nodes exist). Default: the emulator when --emulate,\n"
        "                         --emu-dir or OPENFM_EMU_DIR is set, else auto\n"
        "      --emu-dir DIR      manage the emulated system in DIR (OPENFM_EMU_DIR)\n"
        "      --emulate PLATFORM create the emulated system from PLATFORM (a built-in name\n"
        "                         such as hgx-h100, or a topology file) if DIR has none\n"
        "                         (OPENFM_EMULATE)\n"
        "  -g, --fm-sm-mgmt-port-guid GUID\n"
        "                         HGX B200: GUID of the NVSwitch management port, hex\n"
        "                         (FM_SM_MGMT_PORT_GUID; inert on other platforms)\n"
        "  -n, --check            check the configuration and the topologies it names, then\n"
        "                         exit 0 (valid) or 1 (each problem as FILE:LINE: message)\n"
        "  -h, --help             this text\n"
        "  -v, --version          print the version and exit\n"
        "\n"
        "With DAEMONIZE=1 (the default) openfm forks, writes its PID file and returns once the\n"
        "fabric is ready (exit 0) or bring-up failed (exit 1). With DAEMONIZE=0 it stays in the\n"
        "foreground and reports readiness with sd_notify (systemd Type=notify).\n"
        "SIGTERM or SIGINT shut it down cleanly. 'fmctl status' shows what it is doing.\n"
        "\n"
        "Environment: NOTIFY_SOCKET (set by systemd) receives READY=1; OPENFM_EMU_DIR names\n"
        "the emulated system when neither --emu-dir nor the configuration does;\n"
        "OPENFM_DEV_ROOT replaces /dev where auto and the real backends look for device\n"
        "nodes; OPENFM_NVML_LIBRARY replaces libnvidia-ml.so.1;\n"
        "XDG_RUNTIME_DIR holds the PID and status files of a non-root openfm.\n"
        "\n"
        "Exit status: 0 clean shutdown (daemonizing: the daemon is ready); 1 configuration\n"
        "refused, another instance running, incompatible driver or bring-up failed;\n"
        "2 usage error; 3 no hardware to manage (auto found no NVIDIA driver or no\n"
        "NVSwitch; the one-line message says which). See openfm(8), docs/hardware.md.\n");
}

/* ------------------------------------------------------------------ paths */

static int default_paths(ofm_daemon *d)
{
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    char dir[400];
    if (geteuid() == 0)
        snprintf(dir, sizeof dir, "/run/nvidia-fabricmanager");
    else if (xdg && *xdg)
        snprintf(dir, sizeof dir, "%.300s/openfm", xdg);
    else
        snprintf(dir, sizeof dir, "/tmp/openfm-%ld", (long)getuid());
    if (d->cfg.pid_file[0])
        snprintf(d->pid_path, sizeof d->pid_path, "%s", d->cfg.pid_file);
    else
        snprintf(d->pid_path, sizeof d->pid_path, "%s/nv-fabricmanager.pid", dir);
    if (d->cfg.status_file[0])
        snprintf(d->status_path, sizeof d->status_path, "%s", d->cfg.status_file);
    else {
        char pd[512];
        snprintf(pd, sizeof pd, "%s", d->pid_path);
        char *slash = strrchr(pd, '/');
        if (slash)
            *slash = '\0';
        snprintf(d->status_path, sizeof d->status_path, "%.480s/status.json", slash ? pd : ".");
    }
    if (d->cfg.pid_file[0] && d->cfg.status_file[0])
        return 0;
    /* The default directory may be a fixed name in /tmp that another user can
     * create first: use it only if it is ours and nobody else can write it. */
    mkdir(dir, geteuid() == 0 ? 0755 : 0700);
    ofm_error err;
    if (ofm_dir_check_private(dir, &err)) {
        char b[700];
        fprintf(stderr, "openfm: %s (set OPENFM_PID_FILE and OPENFM_STATUS_FILE to use another "
                        "place)\n", ofm_error_format(&err, b, sizeof b));
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ PID file */

static int pid_fd = -1;

static int pidfile_lock(const char *path)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0644);
    if (fd < 0) {
        fprintf(stderr, "openfm: cannot open PID file %s: %s\n", path,
                errno == ELOOP ? "it is a symbolic link; refusing to follow it" : strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        char buf[32] = "";
        ssize_t n = read(fd, buf, sizeof buf - 1);
        buf[n > 0 ? n : 0] = '\0';
        buf[strcspn(buf, "\n")] = '\0';
        fprintf(stderr,
                "openfm: another instance is already running (pid %s, PID file %s); stop it "
                "first ('systemctl stop nvidia-fabricmanager' or kill %s)\n",
                buf[0] ? buf : "?", path, buf[0] ? buf : "<pid>");
        close(fd);
        return -1;
    }
    pid_fd = fd;
    return 0;
}

static void pidfile_write(void)
{
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
    if (ftruncate(pid_fd, 0) == 0 && pwrite(pid_fd, buf, (size_t)n, 0) == n)
        return;
    OFM_WARN("cannot write the PID file: %s", strerror(errno));
}

/* ------------------------------------------------------------------ status */

/* ------------------------------------------------------------------ loop */

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    ofm_daemon *d = arg;
    OFM_INFO("received %s: shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    event_base_loopbreak(d->base);
}

static void on_monitor(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    ofm_daemon *d = arg;
    ofm_system_state before = d->status.state;
    uint64_t gen = d->status.generation;
    int n = ofm_monitor_poll(&d->monitor, d->hal, &d->status);
    ofm_daemon_backend_polled(d, n);
    /* Live state: at once after events (a link went down, MIG took links
     * away), otherwise every OFM_LIVE_REFRESH_NS for changes no event
     * announces (MIG mode on H100, registration, device health). */
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t now = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    bool refreshed = false;
    if (n > 0 || now - d->last_refresh_ns >= OFM_LIVE_REFRESH_NS) {
        d->last_refresh_ns = now;
        refreshed = ofm_daemon_refresh(d);
        ofm_daemon_gpu_resets(d);
    }
    ofm_daemon_link_counters_tick(d);
    if (!refreshed && d->status.generation != gen)
        ofm_daemon_publish_status(d);
    if (d->status.state != before) {
        ofm_eventlog_track(d);
        sd_notifyf(0, "STATUS=%s", ofm_system_state_name(d->status.state));
    }
}

/* ------------------------------------------------------------------ start-up */

static int notify_parent_fd = -1;

static void tell_parent(char c)
{
    if (notify_parent_fd >= 0) {
        ssize_t w = write(notify_parent_fd, &c, 1);
        (void)w;
        close(notify_parent_fd);
        notify_parent_fd = -1;
    }
}

/* Fork twice; the original process waits for the daemon's verdict so that
 * scripts and Type=forking units see success only once the fabric is ready. */
static int daemonize(const ofm_config *cfg)
{
    int p[2];
    if (pipe(p)) {
        perror("openfm: pipe");
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("openfm: fork");
        return -1;
    }
    if (pid > 0) {
        close(p[1]);
        char c = 0;
        ssize_t n;
        do
            n = read(p[0], &c, 1);
        while (n < 0 && errno == EINTR);
        if (n == 1 && c == '1')
            _exit(0);
        if (n == 1 && c == 'e')
            _exit(1); /* the reason was already printed on our shared stderr */
        /* the daemon's own messages went to its log, not to this terminal */
        if (cfg->log_use_syslog)
            fprintf(stderr, "openfm: the fabric manager did not start; the reason is in syslog "
                            "(ident nv-fabricmanager)\n");
        else if (cfg->log_file_name[0])
            fprintf(stderr, "openfm: the fabric manager did not start; the reason is in %s\n",
                    cfg->log_file_name);
        else
            fprintf(stderr, "openfm: the fabric manager did not start; run with DAEMONIZE=0 to "
                            "see why\n");
        _exit(1);
    }
    close(p[0]);
    setsid();
    pid = fork();
    if (pid < 0)
        _exit(1);
    if (pid > 0)
        _exit(0);
    notify_parent_fd = p[1];
    if (chdir("/")) {
        /* nothing relies on the cwd afterwards */
    }
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
        dup2(null, STDIN_FILENO);
        dup2(null, STDOUT_FILENO);
        /* stderr stays until logging is set up, so early errors are seen */
        if (null > 2)
            close(null);
    }
    return 0;
}

static bool driver_compatible(const char *ver)
{
    size_t l = strlen(OPENFM_DRIVER_BRANCH);
    return !strncmp(ver, OPENFM_DRIVER_BRANCH, l) && ver[l] == '.';
}

/* Decide which backend to open, before daemonizing, so that a machine with
 * nothing to manage gets its answer at once on the terminal. Makes the
 * emulator's directory explicit and absolute (the daemon leaves the cwd).
 * Returns 0, or the exit status. */
static int choose_backend(ofm_daemon *d, const char *cli, const char *cwd)
{
    const char *env = getenv("OPENFM_EMU_DIR");
    bool emu = d->cfg.emu_dir[0] || d->cfg.emulate[0] || (env && *env);
    const char *spec = ofm_hal_select(cli, d->cfg.backend, emu, "auto");
    char err[700];
    if (ofm_hal_spec_check(spec, err, sizeof err)) {
        fprintf(stderr, "openfm: %s%s\n", cli ? "--backend: " : "OPENFM_BACKEND: ", err);
        return 2;
    }
    if (!strcmp(spec, "auto") && ofm_hal_resolve_auto(NULL, &spec, err, sizeof err)) {
        fprintf(stderr, "openfm: %s\n", err);
        return 3;
    }
    const char *e = !strncmp(spec, "nvml+", 5) ? spec + 5 : spec;
    if (strncmp(e, "emu", 3) || (e[3] && e[3] != ':')) {
        snprintf(d->backend, sizeof d->backend, "%s", spec);
        return 0;
    }
    const char *dir = e[3] ? e + 4 : "";
    char res[4096];
    if (ofm_emu_resolve_dir(*dir ? dir : (d->cfg.emu_dir[0] ? d->cfg.emu_dir : NULL), res,
                            sizeof res)) {
        fprintf(stderr, "openfm: emulator directory path is too long\n");
        return 1;
    }
    int n = res[0] == '/' ? snprintf(d->emu_dir, sizeof d->emu_dir, "%s", res)
                          : snprintf(d->emu_dir, sizeof d->emu_dir, "%s/%s", cwd, res);
    if (n < 0 || (size_t)n >= sizeof d->emu_dir) {
        fprintf(stderr, "openfm: emulator directory path is too long\n");
        return 1;
    }
    snprintf(d->backend, sizeof d->backend, "%.*semu:%s", (int)(e - spec), spec, d->emu_dir);
    return 0;
}

static int open_backend(ofm_daemon *d)
{
    char err[700];
    ofm_hal_open_opts o = {.emulate = d->cfg.emulate,
                           .manager = true,
                           .heartbeat_timeout_ms = (uint32_t)d->cfg.heartbeat_timeout_ms};
    int rc = ofm_hal_open(d->backend, &o, &d->hal, err, sizeof err);
    if (rc != OFM_HAL_OK) {
        OFM_CRIT("cannot open the %s backend: %s", d->backend, err);
        return -1;
    }
    if (!strncmp(d->backend, "emu:", 4))
        OFM_INFO("using the emulated NVSwitch system in %s (emulated hardware, not real devices)",
                 d->emu_dir);
    else if (d->hal->prov == OFM_PROV_EMULATED)
        OFM_INFO("using backend %s (%s): partly emulated hardware, not real devices",
                 d->hal->ops->name, d->backend);
    else
        OFM_INFO("using backend %s (%s)", d->hal->ops->name, d->backend);
    if (!d->hal->ops->driver_version ||
        d->hal->ops->driver_version(d->hal, d->driver, sizeof d->driver) != OFM_HAL_OK) {
        OFM_CRIT("cannot read the NVIDIA driver version: %s", ofm_hal_last_error(d->hal));
        return -1;
    }
    if (!driver_compatible(d->driver)) {
        OFM_CRIT("driver version %s is not compatible with openfm %s, built for the %s.x driver "
                 "branch: install a matching driver or openfm (FM §2.5)",
                 d->driver, OPENFM_VERSION, OPENFM_DRIVER_BRANCH);
        return -1;
    }
    if (ofm_hal_claim(d->hal) != OFM_HAL_OK) {
        OFM_CRIT("%s", ofm_hal_last_error(d->hal));
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static ofm_daemon d;
    static const struct option lo[] = {
        {"config", required_argument, NULL, 'c'}, {"restart", no_argument, NULL, 'r'},
        {"emu-dir", required_argument, NULL, 'E'}, {"emulate", required_argument, NULL, 'P'},
        {"backend", required_argument, NULL, 'b'},
        {"help", no_argument, NULL, 'h'},          {"version", no_argument, NULL, 'v'},
        {"check", no_argument, NULL, 'n'},
        {"fm-sm-mgmt-port-guid", required_argument, NULL, 'g'}, {NULL, 0, NULL, 0}};
    const char *config = NULL, *emu_dir = NULL, *emulate = NULL, *backend = NULL, *guid = NULL;
    bool restart = false, check_only = false;
    int c;
    while ((c = getopt_long(argc, argv, "c:rb:g:hvn", lo, NULL)) != -1) {
        switch (c) {
        case 'c': config = optarg; break;
        case 'n': check_only = true; break;
        case 'r': restart = true; break;
        case 'E': emu_dir = optarg; break;
        case 'P': emulate = optarg; break;
        case 'b': backend = optarg; break;
        case 'g': guid = optarg; break;
        case 'h': usage(stdout); return 0;
        case 'v': printf("openfm %s (Fabric Manager compatible; driver branch %s)\n", OPENFM_VERSION,
                         OPENFM_DRIVER_BRANCH);
                  return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "openfm: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    ofm_config_defaults(&d.cfg);
    ofm_error err;
    char eb[700];
    /* without -c: NVIDIA's packaged configuration when the host has it */
    bool no_default_config = !config && !ofm_daemon_default_config_exists();
    if (!config && !no_default_config)
        config = ofm_daemon_default_config();
    if (no_default_config)
        fprintf(stderr, "openfm: no -c given and %s does not exist: running with the built-in "
                        "defaults of every key\n", ofm_daemon_default_config());
    if (config && ofm_config_load_file(config, &d.cfg, &err)) {
        fprintf(stderr, "openfm: %s\n", ofm_error_format(&err, eb, sizeof eb));
        return 1;
    }
    if ((emu_dir && ofm_config_set(&d.cfg, "OPENFM_EMU_DIR", emu_dir, &err)) ||
        (emulate && ofm_config_set(&d.cfg, "OPENFM_EMULATE", emulate, &err)) ||
        (guid && ofm_config_set(&d.cfg, "FM_SM_MGMT_PORT_GUID", guid, &err))) {
        fprintf(stderr, "openfm: %s\n", ofm_error_format(&err, eb, sizeof eb));
        return check_only ? 1 : 2;
    }
    char cwd[4096];
    if (!getcwd(cwd, sizeof cwd)) {
        fprintf(stderr, "openfm: cannot determine the current directory: %s\n", strerror(errno));
        return 1;
    }
    if (ofm_config_absolute_paths(&d.cfg, cwd, &err)) {
        fprintf(stderr, "openfm: %s\n", ofm_error_format(&err, eb, sizeof eb));
        return 1;
    }
    d.restart = restart || d.cfg.fabric_mode_restart;
    if (check_only)
        return ofm_config_check(&d.cfg, config, backend, d.restart, stdout, stderr) ? 1 : 0;
    if (d.restart && d.cfg.fabric_mode == 0) {
        fprintf(stderr, "openfm: --restart (resiliency) is only supported with FABRIC_MODE=1 "
                        "(shared NVSwitch) or 2 (vGPU); this configuration has FABRIC_MODE=0\n");
        return 2;
    }
    int brc = choose_backend(&d, backend, cwd);
    if (brc)
        return brc;
    if ((brc = ofm_daemon_no_fabric(d.backend, d.cfg.emulate, stderr)) != 0)
        return brc;
    /* nothing openfm writes (state, status, logs, sockets before their chmod)
     * is group- or world-writable, whatever umask it was started with */
    umask(027);
    if (default_paths(&d))
        return 1;
    if (d.cfg.daemonize && !d.cfg.log_use_syslog && !d.cfg.log_file_name[0]) {
        /* stderr goes to /dev/null once detached: an empty LOG_FILE_NAME
         * would otherwise mean no log at all */
        fprintf(stderr, "openfm: LOG_FILE_NAME is empty and DAEMONIZE=1: logging to syslog "
                        "(ident nv-fabricmanager)\n");
        d.cfg.log_use_syslog = true;
    }
    if (ofm_instance_check_log(&d.cfg, &err)) {
        fprintf(stderr, "openfm: %s\n", ofm_error_format(&err, eb, sizeof eb));
        return 1;
    }
    if (d.cfg.daemonize && daemonize(&d.cfg))
        return 1;
    if (pidfile_lock(d.pid_path)) {
        tell_parent('e');
        return 1;
    }
    if (ofm_instance_lock_resources(&d.cfg, &err)) {
        fprintf(stderr, "openfm: %s\n", ofm_error_format(&err, eb, sizeof eb));
        tell_parent('e');
        /* the PID file is ours (we hold its lock): leave no stale one */
        unlink(d.pid_path);
        return 1;
    }
    pidfile_write();
    ofm_logsink_setup(&d.cfg);
    if (d.cfg.daemonize) {
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0) {
            dup2(null, STDERR_FILENO);
            close(null);
        }
    }
    OFM_INFO("openfm %s starting (pid %ld, FABRIC_MODE=%d%s, config %s)", OPENFM_VERSION,
             (long)getpid(), d.cfg.fabric_mode, d.restart ? ", resiliency restart" : "",
             config ? config : "built-in defaults");
    if (no_default_config)
        OFM_WARN("no -c given and %s does not exist: running with the built-in defaults of "
                 "every key (docs/configuration.md)",
                 ofm_daemon_default_config());
    signal(SIGPIPE, SIG_IGN);
    d.exit_code = 0;
    ofm_fabric_status_init(&d.status);
    d.status.mode = (ofm_fabric_mode)d.cfg.fabric_mode;
    d.fctx = calloc(1, sizeof *d.fctx);
    d.base = event_base_new();
    int failed = !d.fctx || !d.base;
    if (!failed && open_backend(&d))
        failed = 1;
    if (!failed) {
        ofm_bringup_opts bo = {
            .topology_dir = d.cfg.topology_file_path,
            .mode = (ofm_fabric_mode)d.cfg.fabric_mode,
            .failure = {d.cfg.access_link_failure_mode, d.cfg.trunk_link_failure_mode,
                        d.cfg.nvswitch_failure_mode},
            .restart = d.restart,
        };
        d.status.state = OFM_SYS_INITIALIZING;
        ofm_daemon_publish_status(&d);
        if (ofm_bringup(d.hal, &bo, &d.status, d.fctx)) {
            OFM_CRIT("fabric initialisation failed: %s", d.status.message);
            failed = d.cfg.fm_stay_resident_on_failures ? 0 : 1;
            if (!failed)
                OFM_WARN("FM_STAY_RESIDENT_ON_FAILURES=1: staying up; the system stays "
                         "uninitialised and CUDA work will be refused");
        }
    }
    ofm_daemon_log_inert_keys(&d); /* which apply depends on the platform bring-up found */
    if (!failed && ofm_daemon_api_start(&d))
        failed = 1;
    if (!failed) {
        ofm_error merr;
        char mb[700];
        int mrc = ofm_metrics_start(&d, &merr);
        if (mrc == -2) {
            OFM_CRIT("%s", ofm_error_format(&merr, mb, sizeof mb));
            failed = 1;
        } else if (mrc) {
            OFM_ERR("%s; running without the metrics endpoint", ofm_error_format(&merr, mb, sizeof mb));
        }
    }
    if (failed) {
        ofm_metrics_stop(&d);
        d.status.state = OFM_SYS_FAILED;
        ofm_daemon_publish_status(&d);
        tell_parent('0');
        sd_notifyf(0, "STATUS=failed: %s", d.status.message);
        ofm_daemon_api_stop(&d);
        if (d.hal)
            ofm_hal_close(d.hal);
        unlink(d.pid_path);
        ofm_logsink_close();
        return 1;
    }
    ofm_monitor_init(&d.monitor, d.fctx);
    ofm_relink_init(&d.relink);
    ofm_daemon_monitor_partitions(&d);
    ofm_daemon_log_abort_policy(&d);
    ofm_daemon_refresh(&d);
    ofm_eventlog_track(&d); /* the baseline later changes are logged against */
    ofm_eventlog_startup(&d);
    ofm_daemon_telemetry_init(&d);
    ofm_daemon_link_counters_init(&d);
    d.monitor.on_event = ofm_daemon_link_counters_on_event; /* then ofm_daemon_on_hal_event */
    d.monitor.arg = &d;
    ofm_daemon_publish_status(&d);
    struct event *sigterm = evsignal_new(d.base, SIGTERM, on_signal, &d);
    struct event *sigint = evsignal_new(d.base, SIGINT, on_signal, &d);
    struct event *mon = event_new(d.base, -1, EV_PERSIST, on_monitor, &d);
    struct timeval iv = {d.cfg.monitor_interval_ms / 1000, (d.cfg.monitor_interval_ms % 1000) * 1000};
    event_add(sigterm, NULL);
    event_add(sigint, NULL);
    event_add(mon, &iv);
    OFM_INFO("fabric manager ready: %s, %s (bring-up %.1f ms)", d.status.platform,
             ofm_system_state_name(d.status.state), d.status.bringup_ns / 1e6);
    sd_notifyf(0, "READY=1\nSTATUS=%s %s\nMAINPID=%ld", d.status.platform,
               ofm_system_state_name(d.status.state), (long)getpid());
    tell_parent('1');

    event_base_dispatch(d.base);

    OFM_INFO("stopping: %s", d.exit_code ? "fatal condition" : "clean shutdown");
    sd_notify(0, "STOPPING=1");
    ofm_daemon_exit_policy(&d);
    ofm_metrics_stop(&d);
    ofm_daemon_api_stop(&d);
    event_free(sigterm);
    event_free(sigint);
    event_free(mon);
    ofm_hal_release(d.hal);
    ofm_hal_close(d.hal);
    ofm_daemon_publish_stop();
    event_base_free(d.base);
    free(d.fctx);
    free(d.telemetry);
    ofm_link_counters_free(d.link_counters);
    free(d.doc);
    unlink(d.status_path);
    ofm_daemon_publish_forget();
    unlink(d.pid_path);
    OFM_INFO("openfm stopped");
    ofm_logsink_close();
    return d.exit_code;
}
