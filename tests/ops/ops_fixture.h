/* Shared helpers of the operations tests: a real daemon on an emulated
 * system, `fmctl status --json` decoded into the typed status, and waits that
 * poll with a deadline (never sleep). */
#ifndef OFM_TEST_OPS_FIXTURE_H
#define OFM_TEST_OPS_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "daemon_harness.h"
#include "openfm/emu.h"
#include "status/status.h"

static char ops_out[1 << 18];

static inline uint64_t ops_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Run fmctl with printf-style arguments; output in ops_out. */
static inline int ops_fmctl(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline int ops_fmctl(const char *fmt, ...)
{
    char args[2048], cmd[2600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "%s %s 2>&1", dh_bin("fmctl"), args);
    return dh_run(cmd, ops_out, sizeof ops_out);
}

/* `fmctl status --json` decoded with the schema-checked decoder. */
static inline void ops_status(const dh_daemon *d, ofm_status_doc *doc)
{
    int rc = ops_fmctl("status --json --socket %s", d->sock);
    if (rc != 0 && rc != 1)
        fail_msg("fmctl status --json exited %d:\n%s", rc, ops_out);
    ofm_error err;
    if (ofm_status_from_json(ops_out, doc, &err))
        fail_msg("fmctl status --json is not a valid status document (%s):\n%s", err.msg, ops_out);
}

typedef int (*ops_pred)(const ofm_status_doc *doc, const void *arg);

/* Poll the status until pred holds; fail after timeout_ms. Returns the
 * elapsed milliseconds. */
static inline uint64_t ops_wait(const dh_daemon *d, ofm_status_doc *doc, ops_pred pred,
                                const void *arg, uint64_t timeout_ms, const char *what)
{
    uint64_t t0 = ops_now_ms();
    for (;;) {
        ops_status(d, doc);
        if (pred(doc, arg))
            return ops_now_ms() - t0;
        if (ops_now_ms() - t0 > timeout_ms)
            fail_msg("status did not show %s within %llu ms; last status:\n%s", what,
                     (unsigned long long)timeout_ms, ops_out);
    }
}

static inline const ofm_gpu_status *ops_gpu(const ofm_status_doc *doc, uint32_t phys)
{
    for (size_t i = 0; i < doc->fabric.ngpus; i++)
        if (doc->fabric.gpus[i].phys_id == phys)
            return &doc->fabric.gpus[i];
    return NULL;
}

static inline ofm_hal *ops_open(const dh_daemon *d)
{
    ofm_hal *h;
    char err[512];
    if (ofm_emu_open(d->emu, &h, err, sizeof err))
        fail_msg("cannot open %s: %s", d->emu, err);
    return h;
}

#endif
