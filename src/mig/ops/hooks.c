/* MIG hooks: the services that use a GPU are stopped before its MIG mode
 * changes and started again after, whatever the outcome (docs/mig.md, "MIG
 * hooks"). On the emulator each service is also an emulated client holding
 * its GPUs, so stopping it releases them exactly as the real service would. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <yaml.h>

#include "mig/mig_ops.h"
#include "yaml_reader.h"
#include "openfm/fileio.h"

typedef ofm_yaml_rd rd;

static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
    if (!*s || strlen(s) > 10)
        return -1;
    for (const char *p = s; *p; p++)
        if (!isdigit((unsigned char)*p))
            return -1;
    *out = strtoul(s, NULL, 10);
    return *out > max ? -1 : 0;
}

/* A command: a non-empty list of words, run without a shell. */
static int parse_argv(rd *r, const char *key, char out[][OFM_MIG_HOOK_ARGLEN], size_t *n)
{
    if (r->ev.type != YAML_SEQUENCE_START_EVENT)
        return ofm_error_set(r->err, r->origin, ofm_yaml_line(r),
                             "%s: expected a command as a list of words ([systemctl, stop, x])",
                             key);
    *n = 0;
    for (;;) {
        if (ofm_yaml_next(r))
            return -1;
        if (r->ev.type == YAML_SEQUENCE_END_EVENT)
            break;
        if (r->ev.type != YAML_SCALAR_EVENT)
            return ofm_error_set(r->err, r->origin, ofm_yaml_line(r), "%s: words must be strings", key);
        if (*n == OFM_MIG_HOOK_ARGS)
            return ofm_error_set(r->err, r->origin, ofm_yaml_line(r), "%s: more than %d words", key,
                                 OFM_MIG_HOOK_ARGS);
        if (strlen(ofm_yaml_scalar(r)) >= OFM_MIG_HOOK_ARGLEN)
            return ofm_error_set(r->err, r->origin, ofm_yaml_line(r), "%s: a word longer than %d bytes",
                                 key, OFM_MIG_HOOK_ARGLEN - 1);
        snprintf(out[(*n)++], OFM_MIG_HOOK_ARGLEN, "%s", ofm_yaml_scalar(r));
    }
    if (!*n || !out[0][0])
        return ofm_error_set(r->err, r->origin, ofm_yaml_line(r), "%s: empty command", key);
    return 0;
}

static bool good_name(const char *s)
{
    if (!*s || strlen(s) >= 64)
        return false;
    for (const char *p = s; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("@._-:", *p))
            return false;
    return true;
}

static int parse_service(rd *r, ofm_mig_service *s)
{
    memset(s, 0, sizeof *s);
    s->line = ofm_yaml_line(r);
    s->all_gpus = true;
    s->timeout_s = 30;
    bool named = false;
    for (;;) {
        if (ofm_yaml_next(r))
            return -1;
        if (r->ev.type == YAML_MAPPING_END_EVENT)
            break;
        if (r->ev.type != YAML_SCALAR_EVENT)
            return ofm_error_set(r->err, r->origin, ofm_yaml_line(r), "expected a field name");
        char key[32];
        snprintf(key, sizeof key, "%s", ofm_yaml_scalar(r));
        unsigned kline = ofm_yaml_line(r);
        if (ofm_yaml_next(r))
            return -1;
        unsigned long v;
        if (!strcmp(key, "name")) {
            if (r->ev.type != YAML_SCALAR_EVENT || !good_name(ofm_yaml_scalar(r)))
                return ofm_error_set(r->err, r->origin, ofm_yaml_line(r),
                                     "name: a service name of letters, digits and @._-: (at "
                                     "most 63)");
            snprintf(s->name, sizeof s->name, "%s", ofm_yaml_scalar(r));
            named = true;
        } else if (!strcmp(key, "gpus")) {
            if (r->ev.type == YAML_SCALAR_EVENT && !strcmp(ofm_yaml_scalar(r), "all")) {
                s->all_gpus = true;
                continue;
            }
            if (r->ev.type != YAML_SEQUENCE_START_EVENT)
                return ofm_error_set(r->err, r->origin, ofm_yaml_line(r),
                                     "gpus: expected 'all' or a list of GPU indices");
            s->all_gpus = false;
            for (;;) {
                if (ofm_yaml_next(r))
                    return -1;
                if (r->ev.type == YAML_SEQUENCE_END_EVENT)
                    break;
                if (r->ev.type != YAML_SCALAR_EVENT ||
                    parse_uint(ofm_yaml_scalar(r), OFM_MAX_GPUS - 1, &v))
                    return ofm_error_set(r->err, r->origin, ofm_yaml_line(r),
                                         "gpus: entries must be GPU indices 0-%d",
                                         OFM_MAX_GPUS - 1);
                s->gpus[v] = true;
            }
        } else if (!strcmp(key, "stop")) {
            if (parse_argv(r, key, s->stop, &s->nstop))
                return -1;
        } else if (!strcmp(key, "start")) {
            if (parse_argv(r, key, s->start, &s->nstart))
                return -1;
        } else if (!strcmp(key, "timeout")) {
            if (r->ev.type != YAML_SCALAR_EVENT || parse_uint(ofm_yaml_scalar(r), 600, &v) || !v)
                return ofm_error_set(r->err, r->origin, ofm_yaml_line(r),
                                     "timeout: seconds per command, 1-600");
            s->timeout_s = (uint32_t)v;
        } else {
            return ofm_error_set(r->err, r->origin, kline,
                                 "unknown field '%s' (expected name, gpus, stop, start, timeout)",
                                 key);
        }
    }
    if (!named)
        return ofm_error_set(r->err, r->origin, s->line, "service without a name");
    return 0;
}

int ofm_mig_hooks_parse(const char *buf, size_t len, const char *origin, ofm_mig_hooks *k,
                        ofm_error *err)
{
    memset(k, 0, sizeof *k);
    memset(err, 0, sizeof *err);
    snprintf(k->origin, sizeof k->origin, "%s", origin);
    rd r;
    int rc = -1;
    bool version = false, services = false;
    if (ofm_yaml_open(&r, buf, len, origin, err, "version and services"))
        goto out;
    for (;;) {
        if (ofm_yaml_next(&r))
            goto out;
        if (r.ev.type == YAML_MAPPING_END_EVENT)
            break;
        if (r.ev.type != YAML_SCALAR_EVENT) {
            ofm_error_set(err, origin, ofm_yaml_line(&r), "expected a field name");
            goto out;
        }
        char key[32];
        snprintf(key, sizeof key, "%s", ofm_yaml_scalar(&r));
        unsigned kline = ofm_yaml_line(&r);
        if (ofm_yaml_next(&r))
            goto out;
        if (!strcmp(key, "version")) {
            if (r.ev.type != YAML_SCALAR_EVENT || strcmp(ofm_yaml_scalar(&r), "v1")) {
                ofm_error_set(err, origin, ofm_yaml_line(&r), "unsupported version (only v1)");
                goto out;
            }
            version = true;
        } else if (!strcmp(key, "services")) {
            if (r.ev.type != YAML_SEQUENCE_START_EVENT) {
                ofm_error_set(err, origin, ofm_yaml_line(&r), "services: expected a list of services");
                goto out;
            }
            services = true;
            for (;;) {
                if (ofm_yaml_next(&r))
                    goto out;
                if (r.ev.type == YAML_SEQUENCE_END_EVENT)
                    break;
                if (r.ev.type != YAML_MAPPING_START_EVENT) {
                    ofm_error_set(err, origin, ofm_yaml_line(&r), "services: expected a service");
                    goto out;
                }
                if (k->n == OFM_MIG_HOOKS_MAX) {
                    ofm_error_set(err, origin, ofm_yaml_line(&r), "more than %d services",
                                  OFM_MIG_HOOKS_MAX);
                    goto out;
                }
                if (parse_service(&r, &k->svc[k->n]))
                    goto out;
                for (size_t i = 0; i < k->n; i++)
                    if (!strcmp(k->svc[i].name, k->svc[k->n].name)) {
                        ofm_error_set(err, origin, k->svc[k->n].line, "service '%s' listed twice",
                                      k->svc[k->n].name);
                        goto out;
                    }
                k->n++;
            }
        } else {
            ofm_error_set(err, origin, kline, "unknown field '%s' (expected version, services)",
                          key);
            goto out;
        }
    }
    if (ofm_yaml_end(&r))
        goto out;
    if (!version)
        ofm_error_set(err, origin, 1, "missing field 'version: v1'");
    else if (!services)
        ofm_error_set(err, origin, 1, "missing field 'services'");
    else
        rc = 0;
out:
    ofm_yaml_close(&r);
    return rc;
}

int ofm_mig_hooks_load(const char *path, ofm_mig_hooks *out, ofm_error *err)
{
    char *buf;
    size_t n;
    if (ofm_file_read(path, "MIG hooks file", 1u << 20, 0, &buf, &n, err))
        return -1;
    int rc = ofm_mig_hooks_parse(buf, n, path, out, err);
    free(buf);
    return rc;
}

/* Run one command with a small, fixed environment (the hook's variables, not
 * the caller's), its output on our stderr; killed past its timeout. */
static int run_cmd(const ofm_mig_service *s, const char (*argv_in)[OFM_MIG_HOOK_ARGLEN],
                   size_t argc, const char *phase, const char *gpus, bool enable, FILE *log)
{
    char *argv[OFM_MIG_HOOK_ARGS + 1];
    for (size_t i = 0; i < argc; i++)
        argv[i] = (char *)argv_in[i];
    argv[argc] = NULL;
    char e_phase[64], e_svc[96], e_gpus[160], e_mode[48];
    snprintf(e_phase, sizeof e_phase, "OPENFM_MIG_HOOK=%s", phase);
    snprintf(e_svc, sizeof e_svc, "OPENFM_MIG_SERVICE=%s", s->name);
    snprintf(e_gpus, sizeof e_gpus, "OPENFM_MIG_GPUS=%s", gpus);
    snprintf(e_mode, sizeof e_mode, "OPENFM_MIG_MODE=%s", enable ? "enable" : "disable");
    char *envp[] = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", e_phase,
                    e_svc, e_gpus, e_mode, NULL};
    fflush(log);
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(log, "MIG hook: %s %s: cannot fork: %s\n", phase, s->name, strerror(errno));
        return -1;
    }
    if (pid == 0) {
        dup2(STDERR_FILENO, STDOUT_FILENO);
        execvpe(argv[0], argv, envp);
        fprintf(stderr, "MIG hook: %s %s: cannot run '%s': %s\n", phase, s->name, argv[0],
                strerror(errno));
        _exit(127);
    }
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int st = 0;
    for (;;) {
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid)
            break;
        if (w < 0 && errno != EINTR) {
            fprintf(log, "MIG hook: %s %s: %s\n", phase, s->name, strerror(errno));
            return -1;
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - t0.tv_sec >= (time_t)s->timeout_s) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            fprintf(log, "MIG hook: %s %s: '%s' did not finish within %u s; killed\n", phase,
                    s->name, argv[0], s->timeout_s);
            return -1;
        }
        struct timespec nap = {0, 5 * 1000 * 1000};
        nanosleep(&nap, NULL);
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st)) {
        fprintf(log, "MIG hook: %s %s: '%s' failed (%s %d)\n", phase, s->name, argv[0],
                WIFEXITED(st) ? "exit status" : "signal",
                WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
        return -1;
    }
    return 0;
}

static bool uses(const ofm_mig_service *s, size_t idx) { return s->all_gpus || s->gpus[idx]; }

/* Real GPUs: a service without commands is a systemd unit. Emulated: the
 * emulated client stands for it; only explicit commands run. */
static bool emulated(const ofm_hal *h) { return h->prov == OFM_PROV_EMULATED; }

int ofm_mig_hooks_stop(ofm_mig_hooks *k, ofm_hal *h, const ofm_hal_gpu *gpus, size_t ngpus,
                       const bool *changing, bool enable, FILE *log)
{
    int rc = 0;
    char list[160] = "";
    for (size_t i = 0, o = 0; i < ngpus && i < OFM_MAX_GPUS; i++)
        if (changing[i])
            o += (size_t)snprintf(list + o, o < sizeof list ? sizeof list - o : 0, "%s%zu",
                                  o ? "," : "", i);
    for (size_t si = 0; si < k->n; si++) {
        ofm_mig_service *s = &k->svc[si];
        bool touched = false;
        for (size_t i = 0; i < ngpus && i < OFM_MAX_GPUS; i++)
            touched |= changing[i] && uses(s, i);
        if (!touched)
            continue;
        k->stopped[si] = true;
        fprintf(log, "Stopping %s before the MIG mode change of GPU %s\n", s->name, list);
        if (s->nstop) {
            if (run_cmd(s, (const char (*)[OFM_MIG_HOOK_ARGLEN])s->stop, s->nstop, "stop", list,
                        enable, log))
                rc = -1;
        } else if (!emulated(h)) {
            char cmd[3][OFM_MIG_HOOK_ARGLEN] = {"systemctl", "stop", ""};
            snprintf(cmd[2], sizeof cmd[2], "%s", s->name);
            if (run_cmd(s, (const char (*)[OFM_MIG_HOOK_ARGLEN])cmd, 3, "stop", list, enable, log))
                rc = -1;
        }
        if (!emulated(h) || !h->ops->gpu_hold)
            continue;
        for (size_t i = 0; i < ngpus && i < OFM_MAX_GPUS; i++) {
            uint32_t n = 0;
            if (!uses(s, i))
                continue;
            /* a GPU the service does not hold now stays as it is */
            if (h->ops->gpu_hold(h, gpus[i].phys_id, -1, &n) == OFM_HAL_OK) {
                k->released[si][i] = true;
                fprintf(log, "  GPU %zu: %s released it (%u client%s left)\n", i, s->name, n,
                        n == 1 ? "" : "s");
            }
        }
    }
    return rc;
}

int ofm_mig_hooks_start(ofm_mig_hooks *k, ofm_hal *h, const ofm_hal_gpu *gpus, size_t ngpus,
                        const bool *changing, bool enable, FILE *log)
{
    int rc = 0;
    char list[160] = "";
    for (size_t i = 0, o = 0; i < ngpus && i < OFM_MAX_GPUS; i++)
        if (changing[i])
            o += (size_t)snprintf(list + o, o < sizeof list ? sizeof list - o : 0, "%s%zu",
                                  o ? "," : "", i);
    /* reverse order: what was stopped last comes back first */
    for (size_t si = k->n; si-- > 0;) {
        ofm_mig_service *s = &k->svc[si];
        if (!k->stopped[si])
            continue;
        k->stopped[si] = false;
        fprintf(log, "Starting %s after the MIG mode change of GPU %s\n", s->name, list);
        for (size_t i = 0; i < ngpus && i < OFM_MAX_GPUS; i++) {
            uint32_t n = 0;
            if (!k->released[si][i])
                continue;
            k->released[si][i] = false;
            if (h->ops->gpu_hold(h, gpus[i].phys_id, +1, &n) != OFM_HAL_OK) {
                fprintf(log, "  GPU %zu: %s cannot hold it again: %s\n", i, s->name,
                        ofm_hal_last_error(h));
                rc = -1;
            } else {
                fprintf(log, "  GPU %zu: %s holds it again (%u client%s)\n", i, s->name, n,
                        n == 1 ? "" : "s");
            }
        }
        if (s->nstart) {
            if (run_cmd(s, (const char (*)[OFM_MIG_HOOK_ARGLEN])s->start, s->nstart, "start",
                        list, enable, log))
                rc = -1;
        } else if (!emulated(h)) {
            char cmd[3][OFM_MIG_HOOK_ARGLEN] = {"systemctl", "start", ""};
            snprintf(cmd[2], sizeof cmd[2], "%s", s->name);
            if (run_cmd(s, (const char (*)[OFM_MIG_HOOK_ARGLEN])cmd, 3, "start", list, enable,
                        log))
                rc = -1;
        }
    }
    return rc;
}
