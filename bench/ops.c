/*
 * bench_ops — the operations views on the largest model (hgx-2, 16 GPUs,
 * 12 NVSwitches), each against a baseline measured in the same run:
 *
 *  1. event -> status: an NVLink is failed through the emulator and the
 *     daemon's status (SDK status call, decoded) is polled until the GPU's
 *     usable links drop. Baselines: the monitor poll interval the daemon
 *     runs with (the floor of any poll-driven reaction) and one SDK status
 *     round trip (the poll's own cost).
 *  2. scrape latency: GET /metrics vs GET /healthz on the same server and
 *     connection pattern (HTTP and the loop without the rendering),
 *     interleaved so both see the same load.
 *  3. loop stall during a scrape: the time the daemon's event loop spends
 *     building one /metrics answer (openfm_metrics_render_* as the daemon
 *     measures it around the handler), against the 1 ms budget and
 *     the daemon's own time for one SDK status call.
 *  4. GPU reset to links back (hgx-a100 under a running daemon, FM §13.9):
 *     from exec of `fmctl reset gpu ID` until the SDK status shows the GPU's
 *     switch-side links retrained (its link_retrains count up by one) and all
 *     12 usable again. Baselines on the same daemon: event -> status of a
 *     plain link failure (as in 1), and `fmctl --version` (the exec alone).
 *
 *   bench_ops [--build DIR] [-n SCRAPES] [-e EVENTS]
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "daemon_harness.h"
#include "nv_fm_agent.h"
#include "openfm/emu.h"
#include "sdk/nvfm_ext.h"
#include "status/status.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double *v, size_t n, double p)
{
    qsort(v, n, sizeof *v, cmp);
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return v[i < n ? i : n - 1];
}

/* One HTTP/1.0 GET; returns the body length, the whole answer in buf. */
static long http_get(unsigned port, const char *path, char *buf, size_t cap)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a)) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    char rq[128];
    int n = snprintf(rq, sizeof rq, "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
    if (write(fd, rq, (size_t)n) != n) {
        close(fd);
        return -1;
    }
    size_t got = 0;
    ssize_t r;
    while (got + 1 < cap && (r = read(fd, buf + got, cap - 1 - got)) > 0)
        got += (size_t)r;
    buf[got] = 0;
    close(fd);
    return (long)got;
}

static double metric(const char *text, const char *name)
{
    char key[128];
    snprintf(key, sizeof key, "\n%s ", name);
    const char *at = strstr(text, key);
    return at ? strtod(at + strlen(key), NULL) : -1;
}

static fmHandle_t sdk(const dh_daemon *d)
{
    fmConnectParams_t cp;
    memset(&cp, 0, sizeof cp);
    cp.version = fmConnectParams_version;
    cp.timeoutMs = 10000;
    cp.addressType = FM_ADDRESS_TYPE_UNIX;
    snprintf(cp.addressInfo, sizeof cp.addressInfo, "%s", d->sock);
    fmHandle_t h = NULL;
    return fmConnect(&cp, &h) == FM_ST_SUCCESS ? h : NULL;
}

static const ofm_gpu_status *gpu_of(const ofm_status_doc *doc, uint32_t gpu)
{
    for (size_t i = 0; i < doc->fabric.ngpus; i++)
        if (doc->fabric.gpus[i].phys_id == gpu)
            return &doc->fabric.gpus[i];
    return NULL;
}

static int usable(fmHandle_t h, uint32_t gpu, ofm_status_doc *doc)
{
    char *js = NULL;
    ofm_error err;
    if (ofmGetStatusJson(h, &js) != FM_ST_SUCCESS || ofm_status_from_json(js, doc, &err)) {
        free(js);
        return -1;
    }
    free(js);
    for (size_t i = 0; i < doc->fabric.ngpus; i++)
        if (doc->fabric.gpus[i].phys_id == gpu)
            return (int)doc->fabric.gpus[i].links_usable;
    return -1;
}

/* 4. GPU reset -> links back on an A100 board under a running daemon. */
static void bench_reset(int rounds)
{
    static dh_daemon d;
    if (dh_init(&d, "hgx-a100") || dh_write_config(&d, "OPENFM_METRICS_LISTEN=\n") ||
        dh_start(&d, NULL, 60000, NULL)) {
        fprintf(stderr, "bench_ops: cannot start openfm on an emulated hgx-a100\n");
        return;
    }
    ofm_hal *h = NULL;
    char err[512];
    fmHandle_t sh = sdk(&d);
    if (!sh || ofm_emu_open(d.emu, &h, err, sizeof err)) {
        fprintf(stderr, "bench_ops: reset setup failed\n");
        if (sh)
            fmDisconnect(sh);
        dh_stop(&d, 0);
        dh_cleanup(&d);
        return;
    }
    const ofm_platform *p = ofm_hal_platform(h);
    static ofm_status_doc doc;
    static char out[8192];
    char cmd[1024];
    size_t n = 0, cap = (size_t)rounds * p->ngpus;
    double *rs = calloc(cap, sizeof *rs), *ex = calloc(cap, sizeof *ex);
    for (int r = 0; r < rounds && rs && ex; r++)
        for (size_t g = 0; g < p->ngpus; g++) {
            uint32_t id = p->gpus[g].phys_id;
            if (usable(sh, id, &doc) < 0 || !gpu_of(&doc, id))
                goto out;
            uint32_t before = gpu_of(&doc, id)->link_retrains, want = gpu_of(&doc, id)->links_expected;
            snprintf(cmd, sizeof cmd, "'%s' --version >/dev/null", dh_bin("fmctl"));
            double t0 = now_ms();
            dh_run(cmd, out, sizeof out);
            ex[n] = now_ms() - t0;
            snprintf(cmd, sizeof cmd, "'%s' reset gpu %u --emu-dir '%s' --socket '%s'",
                     dh_bin("fmctl"), id, d.emu, d.sock);
            t0 = now_ms();
            if (dh_run(cmd, out, sizeof out) != 0) {
                fprintf(stderr, "bench_ops: fmctl reset gpu %u failed: %s\n", id, out);
                goto out;
            }
            const ofm_gpu_status *s = NULL;
            while (now_ms() - t0 < 10000) {
                if (usable(sh, id, &doc) >= 0 && (s = gpu_of(&doc, id)) &&
                    s->link_retrains > before && s->links_usable == want)
                    break;
                s = NULL;
            }
            if (!s) {
                fprintf(stderr, "bench_ops: GPU %u: status did not show its links back within 10 s\n", id);
                goto out;
            }
            rs[n++] = now_ms() - t0;
        }
out:;
    /* baseline: a plain link failure, event -> status, one link per GPU */
    double lat[OFM_MAX_GPUS];
    size_t nl = 0;
    for (size_t g = 0; g < p->ngpus; g++) {
        const ofm_access_link *a = NULL;
        for (size_t i = 0; i < p->naccess && !a; i++)
            if (p->access[i].gpu == p->gpus[g].phys_id)
                a = &p->access[i];
        int before = a ? usable(sh, a->gpu, &doc) : -1;
        if (before < 0)
            break;
        double t0 = now_ms();
        if (ofm_emu_inject_port_down(h, a->sw, a->sw_port))
            break;
        int u;
        while ((u = usable(sh, a->gpu, &doc)) == before && now_ms() - t0 < 5000)
            ;
        if (u == before)
            break;
        lat[nl++] = now_ms() - t0;
    }
    if (n >= 2 && nl >= 2) {
        double r50 = pct(rs, n, 0.5), rmax = pct(rs, n, 1.0), l50 = pct(lat, nl, 0.5);
        double e50 = pct(ex, n, 0.5);
        printf("GPU reset -> links back (%s, %zu resets): p50 %.1f ms, max %.1f ms; baselines: "
               "link failure -> status p50 %.1f ms (ratio p50 %.2f), fmctl exec alone p50 %.1f ms\n",
               p->name, n, r50, rmax, l50, r50 / l50, e50);
    } else {
        fprintf(stderr, "bench_ops: GPU reset bench incomplete (%zu resets, %zu failures)\n", n, nl);
    }
    free(rs);
    free(ex);
    fmDisconnect(sh);
    ofm_hal_close(h);
    dh_stop(&d, 0);
    dh_cleanup(&d);
}

int main(int argc, char **argv)
{
    int nscrape = 200, nev = 20;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--build") && i + 1 < argc)
            setenv("OPENFM_BUILD_DIR", argv[++i], 1);
        else if (!strcmp(argv[i], "-n") && i + 1 < argc)
            nscrape = atoi(argv[++i]);
        else if (!strcmp(argv[i], "-e") && i + 1 < argc)
            nev = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_ops [--build DIR] [-n SCRAPES] [-e EVENTS]\n");
            return 2;
        }
    }
    if (nscrape < 10 || nscrape > 100000 || nev < 2 || nev > 90) {
        fprintf(stderr, "bench_ops: -n 10-100000, -e 2-90\n");
        return 2;
    }
    static dh_daemon d;
    const long interval_ms = 100;
    char extra[128];
    snprintf(extra, sizeof extra, "OPENFM_METRICS_LISTEN=127.0.0.1:0\n");
    if (dh_init(&d, "hgx-2") || dh_write_config(&d, extra) || dh_start(&d, NULL, 60000, NULL)) {
        fprintf(stderr, "bench_ops: cannot start openfm on an emulated hgx-2\n");
        return 1;
    }
    /* the harness sets a faster monitor interval for tests; read it back */
    long mon = interval_ms;
    FILE *cf = fopen(d.cfg, "r");
    char line[512];
    while (cf && fgets(line, sizeof line, cf))
        if (!strncmp(line, "OPENFM_MONITOR_INTERVAL_MS=", 27))
            mon = atol(line + 27);
    if (cf)
        fclose(cf);
    char *log = dh_read_log(&d);
    const char *at = log ? strstr(log, "metrics: serving http://127.0.0.1:") : NULL;
    unsigned port = at ? (unsigned)atoi(at + strlen("metrics: serving http://127.0.0.1:")) : 0;
    free(log);
    ofm_hal *h = NULL;
    char err[512];
    fmLibInit();
    fmHandle_t sh = sdk(&d);
    if (!port || !sh || ofm_emu_open(d.emu, &h, err, sizeof err)) {
        fprintf(stderr, "bench_ops: setup failed (port %u)\n", port);
        dh_stop(&d, 0);
        dh_cleanup(&d);
        return 1;
    }
    const ofm_platform *p = ofm_hal_platform(h);
    static ofm_status_doc doc;
    printf("model: %s, %zu GPUs, %zu NVSwitches; monitor interval %ld ms\n", p->name, p->ngpus,
           p->nswitches, mon);

    /* 1. event -> status */
    double *lat = calloc((size_t)nev, sizeof *lat), *rtt = calloc((size_t)nev, sizeof *rtt);
    int done = 0;
    for (int i = 0; i < nev && (size_t)i < p->naccess; i++) {
        const ofm_access_link *a = &p->access[(size_t)i * (p->naccess / (size_t)nev)];
        int before = usable(sh, a->gpu, &doc);
        double r0 = now_ms();
        usable(sh, a->gpu, &doc);
        rtt[i] = now_ms() - r0;
        double t0 = now_ms();
        if (ofm_emu_inject_port_down(h, a->sw, a->sw_port))
            break;
        int u;
        while ((u = usable(sh, a->gpu, &doc)) == before && now_ms() - t0 < 5000)
            ;
        lat[i] = now_ms() - t0;
        if (u == before) {
            fprintf(stderr, "bench_ops: status did not follow a link failure within 5 s\n");
            break;
        }
        done++;
    }
    if (done >= 2) {
        double p50 = pct(lat, (size_t)done, 0.5), p99 = pct(lat, (size_t)done, 0.99);
        double r50 = pct(rtt, (size_t)done, 0.5);
        printf("event -> status (%d link failures): p50 %.1f ms, max %.1f ms; baseline monitor "
               "interval %ld ms (ratio p50 %.2f), SDK status round trip p50 %.2f ms\n",
               done, p50, p99, mon, p50 / (double)mon, r50);
    }

    /* 2. scrape latency, interleaved with the baseline */
    static char buf[1 << 20];
    double *sm = calloc((size_t)nscrape, sizeof *sm), *sh_ = calloc((size_t)nscrape, sizeof *sh_);
    long bytes = 0;
    for (int i = 0; i < nscrape; i++) {
        double t0 = now_ms();
        bytes = http_get(port, "/metrics", buf, sizeof buf);
        sm[i] = now_ms() - t0;
        t0 = now_ms();
        http_get(port, "/healthz", buf + (sizeof buf / 2), sizeof buf / 2);
        sh_[i] = now_ms() - t0;
    }
    http_get(port, "/metrics", buf, sizeof buf);
    double m50 = pct(sm, (size_t)nscrape, 0.5), m99 = pct(sm, (size_t)nscrape, 0.99);
    double h50 = pct(sh_, (size_t)nscrape, 0.5), h99 = pct(sh_, (size_t)nscrape, 0.99);
    printf("scrape /metrics (%ld bytes, %d scrapes): p50 %.3f ms, p99 %.3f ms; baseline /healthz "
           "p50 %.3f ms, p99 %.3f ms (ratio p50 %.2f)\n",
           bytes, nscrape, m50, m99, h50, h99, m50 / h50);

    /* 3. event-loop stall per scrape, as the daemon measured it */
    double scrapes = metric(buf, "openfm_metrics_scrapes_total");
    double sum = metric(buf, "openfm_metrics_render_seconds_total");
    double max = metric(buf, "openfm_metrics_render_max_seconds");
    double st_sum = -1, st_cnt = -1;
    const char *k = strstr(buf, "openfm_api_request_duration_seconds_sum{call=\"status\"} ");
    if (k)
        st_sum = strtod(k + strlen("openfm_api_request_duration_seconds_sum{call=\"status\"} "), NULL);
    k = strstr(buf, "openfm_api_request_duration_seconds_count{call=\"status\"} ");
    if (k)
        st_cnt = strtod(k + strlen("openfm_api_request_duration_seconds_count{call=\"status\"} "), NULL);
    if (scrapes > 1 && sum >= 0) {
        double mean_ms = sum / (scrapes - 1) * 1e3;
        printf("loop stall per scrape: mean %.3f ms, max %.3f ms; baselines: budget 1 ms (max %s), "
               "one SDK status call in the daemon %.3f ms (ratio mean %.2f)\n",
               mean_ms, max * 1e3, max * 1e3 <= 1.0 ? "within" : "OVER",
               st_cnt > 0 ? st_sum / st_cnt * 1e3 : -1.0,
               st_cnt > 0 ? mean_ms / (st_sum / st_cnt * 1e3) : -1.0);
    }
    free(lat);
    free(rtt);
    free(sm);
    free(sh_);
    fmDisconnect(sh);
    ofm_hal_close(h);
    dh_stop(&d, 0);
    dh_cleanup(&d);

    bench_reset(2);
    fmLibShutdown();
    return 0;
}
