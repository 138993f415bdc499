#include "fake_server.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "openfm/log.h"

#include <setjmp.h>
#include <stddef.h>
#include <cmocka.h>

static void record(fake_server *fs, const char *name, fmFabricPartitionId_t id)
{
    pthread_mutex_lock(&fs->lock);
    fs->calls.count++;
    fs->calls.last = name;
    fs->calls.last_id = id;
    pthread_mutex_unlock(&fs->lock);
}

static fmReturn_t f_get_supported(void *ctx, fmFabricPartitionList_t *out)
{
    fake_server *fs = ctx;
    record(fs, "get_supported", 0);
    if (fs->rc != FM_ST_SUCCESS)
        return fs->rc;
    out->numPartitions = fs->list_partitions;
    out->maxNumPartitions = FM_MAX_FABRIC_PARTITIONS;
    for (unsigned p = 0; p < fs->list_partitions && p < FM_MAX_FABRIC_PARTITIONS; p++) {
        fmFabricPartitionInfo_t *pi = &out->partitionInfo[p];
        pi->partitionId = p;
        pi->isActive = p == 1;
        pi->numGpus = p == 0 ? 8 : 2;
        for (unsigned g = 0; g < pi->numGpus; g++) {
            pi->gpuInfo[g].physicalId = g + 1;
            snprintf(pi->gpuInfo[g].uuid, sizeof pi->gpuInfo[g].uuid, "GPU-%08u-%u", p, g);
            snprintf(pi->gpuInfo[g].pciBusId, sizeof pi->gpuInfo[g].pciBusId,
                     "00000000:%02X:00.0", g + 0x10);
            pi->gpuInfo[g].numNvLinksAvailable = 18;
            pi->gpuInfo[g].maxNumNvLinks = 18;
            pi->gpuInfo[g].nvlinkLineRateMBps = 25000;
        }
    }
    return FM_ST_SUCCESS;
}

static fmReturn_t f_activate(void *ctx, fmFabricPartitionId_t id)
{
    fake_server *fs = ctx;
    record(fs, "activate", id);
    pthread_mutex_lock(&fs->lock);
    if (fs->gate_armed) {
        fs->gate_armed = 0;
        fs->gate_blocked = 1;
        pthread_cond_broadcast(&fs->cond);
        while (fs->gate_blocked)
            pthread_cond_wait(&fs->cond, &fs->lock);
    }
    pthread_mutex_unlock(&fs->lock);
    return fs->rc;
}

void fake_server_block_next_activate(fake_server *fs)
{
    pthread_mutex_lock(&fs->lock);
    fs->gate_armed = 1;
    pthread_mutex_unlock(&fs->lock);
}

void fake_server_wait_blocked(fake_server *fs)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 10;
    pthread_mutex_lock(&fs->lock);
    int rc = 0;
    while (!fs->gate_blocked && rc == 0)
        rc = pthread_cond_timedwait(&fs->cond, &fs->lock, &dl);
    int blocked = fs->gate_blocked;
    pthread_mutex_unlock(&fs->lock);
    if (!blocked)
        fail_msg("the server never reached the blocked activate handler");
}

void fake_server_release(fake_server *fs)
{
    pthread_mutex_lock(&fs->lock);
    fs->gate_blocked = 0;
    pthread_cond_broadcast(&fs->cond);
    pthread_mutex_unlock(&fs->lock);
}

static fmReturn_t f_activate_vfs(void *ctx, fmFabricPartitionId_t id, const fmPciDevice_t *vfs,
                                 unsigned n)
{
    fake_server *fs = ctx;
    record(fs, "activate_with_vfs", id);
    pthread_mutex_lock(&fs->lock);
    fs->calls.num_vfs = n;
    memcpy(fs->calls.vfs, vfs, n * sizeof *vfs);
    pthread_mutex_unlock(&fs->lock);
    return fs->rc;
}

static fmReturn_t f_deactivate(void *ctx, fmFabricPartitionId_t id)
{
    fake_server *fs = ctx;
    pthread_mutex_lock(&fs->lock);
    if (fs->calls.deactivates++ == 0)
        fs->calls.count_at_first_deactivate = fs->calls.count;
    pthread_mutex_unlock(&fs->lock);
    record(fs, "deactivate", id);
    return fs->rc;
}

static fmReturn_t f_set_activated(void *ctx, const fmActivatedFabricPartitionList_t *l)
{
    fake_server *fs = ctx;
    record(fs, "set_activated", 0);
    pthread_mutex_lock(&fs->lock);
    fs->calls.num_ids = l->numPartitions;
    memcpy(fs->calls.ids, l->partitionIds, l->numPartitions * sizeof l->partitionIds[0]);
    pthread_mutex_unlock(&fs->lock);
    return fs->rc;
}

static fmReturn_t f_failed(void *ctx, fmNvlinkFailedDevices_t *out)
{
    fake_server *fs = ctx;
    record(fs, "get_nvlink_failed_devices", 0);
    if (fs->rc != FM_ST_SUCCESS)
        return fs->rc;
    out->numGpus = 1;
    snprintf(out->gpuInfo[0].uuid, sizeof out->gpuInfo[0].uuid, "GPU-failed");
    snprintf(out->gpuInfo[0].pciBusId, sizeof out->gpuInfo[0].pciBusId, "00000000:18:00.0");
    out->gpuInfo[0].numPorts = 2;
    out->gpuInfo[0].portNum[0] = 3;
    out->gpuInfo[0].portNum[1] = 7;
    out->numSwitches = 1;
    out->switchInfo[0].numPorts = 1;
    out->switchInfo[0].portNum[0] = 40;
    return FM_ST_SUCCESS;
}

static fmReturn_t f_unsupported(void *ctx, fmUnsupportedFabricPartitionList_t *out)
{
    fake_server *fs = ctx;
    record(fs, "get_unsupported", 0);
    if (fs->rc != FM_ST_SUCCESS)
        return fs->rc;
    out->numPartitions = 1;
    out->partitionInfo[0].partitionId = 9;
    out->partitionInfo[0].numGpus = 2;
    out->partitionInfo[0].gpuPhysicalIds[0] = 5;
    out->partitionInfo[0].gpuPhysicalIds[1] = 6;
    return FM_ST_SUCCESS;
}

static fmReturn_t f_status(void *ctx, char **json)
{
    fake_server *fs = ctx;
    record(fs, "get_status_json", 0);
    if (fs->rc != FM_ST_SUCCESS)
        return fs->rc;
    *json = strdup("{\"mode\":1}");
    return *json ? FM_ST_SUCCESS : FM_ST_GENERIC_ERROR;
}

static const ofm_api_handlers k_handlers = {
    .get_supported = f_get_supported,
    .activate = f_activate,
    .activate_with_vfs = f_activate_vfs,
    .deactivate = f_deactivate,
    .set_activated = f_set_activated,
    .get_nvlink_failed_devices = f_failed,
    .get_unsupported = f_unsupported,
    .get_status_json = f_status,
};

static void on_stop(evutil_socket_t fd, short what, void *arg)
{
    fake_server *fs = arg;
    char b;
    (void)what;
    if (read(fd, &b, 1) < 0)
        return;
    ofm_api_server_stop(fs->srv);
    fs->srv = NULL;
    event_base_loopbreak(fs->base);
}

static void *loop_main(void *arg)
{
    fake_server *fs = arg;
    event_base_dispatch(fs->base);
    return NULL;
}

void fake_server_start(fake_server *fs, const char *unix_path, unsigned max_clients)
{
    fake_server_start_ex(fs, unix_path, max_clients, 0);
}

void fake_server_start_ex(fake_server *fs, const char *unix_path, unsigned max_clients,
                          unsigned frame_timeout_ms)
{
    ofm_api_listen l = {.unix_path = unix_path, .max_clients = max_clients,
                        .frame_timeout_ms = frame_timeout_ms};
    fake_server_start_cfg(fs, &l);
}

void fake_server_start_cfg(fake_server *fs, const ofm_api_listen *tmpl)
{
    const char *unix_path = tmpl->unix_path;
    memset(fs, 0, sizeof *fs);
    pthread_mutex_init(&fs->lock, NULL);
    pthread_cond_init(&fs->cond, NULL);
    fs->rc = FM_ST_SUCCESS;
    fs->list_partitions = 3;
    fs->base = event_base_new();
    assert_non_null(fs->base);
    assert_int_equal(pipe(fs->stop_pipe), 0);
    ofm_api_listen l = *tmpl;
    if (!l.bind_addr)
        l.bind_addr = "127.0.0.1";
    l.unix_path = NULL;
    if (unix_path) {
        snprintf(fs->unix_path, sizeof fs->unix_path, "%s", unix_path);
        l.unix_path = fs->unix_path;
    }
    ofm_error err = {0};
    int rc = ofm_api_server_start(fs->base, &l, &k_handlers, fs, &fs->srv, &err);
    if (rc != 0)
        fail_msg("server start: %s", err.msg);
    fs->port = ofm_api_server_port(fs->srv);
    fs->stop_ev = event_new(fs->base, fs->stop_pipe[0], EV_READ, on_stop, fs);
    assert_non_null(fs->stop_ev);
    event_add(fs->stop_ev, NULL);
    assert_int_equal(pthread_create(&fs->thread, NULL, loop_main, fs), 0);
}

void fake_server_stop(fake_server *fs)
{
    assert_int_equal(write(fs->stop_pipe[1], "x", 1), 1);
    pthread_join(fs->thread, NULL);
    event_free(fs->stop_ev);
    event_base_free(fs->base);
    close(fs->stop_pipe[0]);
    close(fs->stop_pipe[1]);
    pthread_mutex_destroy(&fs->lock);
    pthread_cond_destroy(&fs->cond);
}

void fake_server_set_rc(fake_server *fs, fmReturn_t rc)
{
    pthread_mutex_lock(&fs->lock);
    fs->rc = rc;
    pthread_mutex_unlock(&fs->lock);
}

fake_calls fake_server_calls(fake_server *fs)
{
    pthread_mutex_lock(&fs->lock);
    fake_calls c = fs->calls;
    pthread_mutex_unlock(&fs->lock);
    return c;
}

/* ---- log capture ------------------------------------------------------ */

static pthread_mutex_t g_log_lock = PTHREAD_MUTEX_INITIALIZER;
static char *g_log;
static size_t g_log_len;

static void sink(void *ctx, ofm_log_level level, const char *msg)
{
    (void)ctx;
    (void)level;
    pthread_mutex_lock(&g_log_lock);
    size_t n = strlen(msg);
    char *nb = realloc(g_log, g_log_len + n + 2);
    if (nb) {
        g_log = nb;
        memcpy(g_log + g_log_len, msg, n);
        g_log[g_log_len + n] = '\n';
        g_log_len += n + 1;
        g_log[g_log_len] = '\0';
    }
    pthread_mutex_unlock(&g_log_lock);
}

void log_capture_start(void)
{
    pthread_mutex_lock(&g_log_lock);
    free(g_log);
    g_log = NULL;
    g_log_len = 0;
    pthread_mutex_unlock(&g_log_lock);
    ofm_log_set_level(OFM_LOG_DEBUG);
    ofm_log_set_sink(sink, NULL);
}

void log_clear(void)
{
    pthread_mutex_lock(&g_log_lock);
    free(g_log);
    g_log = NULL;
    g_log_len = 0;
    pthread_mutex_unlock(&g_log_lock);
}

void log_capture_stop(void)
{
    ofm_log_set_sink(NULL, NULL);
    ofm_log_set_level(OFM_LOG_INFO);
    pthread_mutex_lock(&g_log_lock);
    free(g_log);
    g_log = NULL;
    g_log_len = 0;
    pthread_mutex_unlock(&g_log_lock);
}

int log_contains(const char *needle, ...)
{
    int found = 0;
    pthread_mutex_lock(&g_log_lock);
    for (char *line = g_log; line && *line && !found;) {
        char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        char buf[2200];
        if (len >= sizeof buf)
            len = sizeof buf - 1;
        memcpy(buf, line, len);
        buf[len] = '\0';
        va_list ap;
        va_start(ap, needle);
        int all = 1;
        for (const char *n = needle; n; n = va_arg(ap, const char *))
            if (!strstr(buf, n))
                all = 0;
        va_end(ap);
        found = all;
        line = nl ? nl + 1 : NULL;
    }
    pthread_mutex_unlock(&g_log_lock);
    return found;
}
