/* The three operator views of a running daemon, read the way an operator's
 * tools read them, for the tests that check they agree with each other and
 * with the emulator's probe: `/metrics` scraped with a real HTTP client and
 * parsed by Prometheus' own parser (scrape.py under /usr/bin/python3), and
 * `fmctl events --json`. (`fmctl status --json` is ops_status in
 * ops_fixture.h.) */
#ifndef OFM_TEST_OPS_VIEWS_H
#define OFM_TEST_OPS_VIEWS_H

#include <json-c/json.h>

#include "ops_fixture.h"

/* The port the daemon says (in its log) it serves metrics on. */
static inline unsigned ops_metrics_port(const dh_daemon *d)
{
    char *log = dh_read_log(d);
    assert_non_null(log);
    const char *at = strstr(log, "metrics: serving http://127.0.0.1:");
    if (!at)
        fail_msg("the log does not say where metrics are served:\n%s", log);
    unsigned port = (unsigned)strtoul(at + strlen("metrics: serving http://127.0.0.1:"), NULL, 10);
    free(log);
    assert_true(port > 0);
    return port;
}

/* Scrape and parse; the caller json_object_put()s the result. */
static inline json_object *ops_scrape(unsigned port)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/tests/ops/scrape.py http://127.0.0.1:%u",
             getenv("OPENFM_SOURCE_DIR") ? getenv("OPENFM_SOURCE_DIR") : ".", port);
    int rc = dh_run(cmd, ops_out, sizeof ops_out);
    if (rc != 0)
        fail_msg("scrape failed (%d):\n%s", rc, ops_out);
    json_object *o = json_tokener_parse(ops_out);
    assert_non_null(o);
    return o;
}

/* Value of the sample `name` whose labels include label=value (label NULL:
 * the first sample of that name); fails when absent. The parser names
 * counter samples NAME_total even where the exposition (DCGM's names) has
 * no suffix. */
static inline double ops_sample(json_object *o, const char *name, const char *label, const char *value)
{
    json_object *s = json_object_object_get(o, "samples");
    for (size_t i = 0; i < json_object_array_length(s); i++) {
        json_object *x = json_object_array_get_idx(s, i);
        if (strcmp(json_object_get_string(json_object_array_get_idx(x, 0)), name))
            continue;
        json_object *labels = json_object_array_get_idx(x, 1), *v;
        if (label && (!json_object_object_get_ex(labels, label, &v) ||
                      strcmp(json_object_get_string(v), value)))
            continue;
        return json_object_get_double(json_object_array_get_idx(x, 2));
    }
    fail_msg("no sample %s{%s=\"%s\"} in the scrape", name, label ? label : "", value ? value : "");
    return -1;
}

/* Value of the sample `name` with both labels l1=v1 and l2=v2. */
static inline double ops_sample2(json_object *o, const char *name, const char *l1, const char *v1,
                                 const char *l2, const char *v2)
{
    json_object *s = json_object_object_get(o, "samples");
    for (size_t i = 0; i < json_object_array_length(s); i++) {
        json_object *x = json_object_array_get_idx(s, i), *a, *b;
        json_object *labels = json_object_array_get_idx(x, 1);
        if (!strcmp(json_object_get_string(json_object_array_get_idx(x, 0)), name) &&
            json_object_object_get_ex(labels, l1, &a) && !strcmp(json_object_get_string(a), v1) &&
            json_object_object_get_ex(labels, l2, &b) && !strcmp(json_object_get_string(b), v2))
            return json_object_get_double(json_object_array_get_idx(x, 2));
    }
    fail_msg("no sample %s{%s=\"%s\",%s=\"%s\"} in the scrape", name, l1, v1, l2, v2);
    return -1;
}

/* A GPU series' value, by physical ID. */
static inline double ops_gpu_sample(json_object *o, const char *name, uint32_t gpu)
{
    char id[16];
    snprintf(id, sizeof id, "%u", gpu);
    return ops_sample(o, name, "physical_id", id);
}

typedef struct {
    size_t n;
    json_object *ev[1024];
    json_object *all;
} ops_evlist;

/* `fmctl events --json --since SINCE`, one object per line; the caller
 * json_object_put()s l->all. */
static inline void ops_events(const dh_daemon *d, uint64_t since, ops_evlist *l)
{
    int rc = ops_fmctl("events --json --since %llu --socket %s", (unsigned long long)since, d->sock);
    if (rc != 0)
        fail_msg("fmctl events exited %d:\n%s", rc, ops_out);
    l->all = json_object_new_array();
    l->n = 0;
    char *save = NULL;
    for (char *line = strtok_r(ops_out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        json_object *o = json_tokener_parse(line);
        if (!o)
            fail_msg("not JSON: %s", line);
        json_object_array_add(l->all, o);
        if (l->n < sizeof l->ev / sizeof l->ev[0])
            l->ev[l->n++] = o;
    }
}

static inline const char *ops_ev_type(json_object *o)
{
    return json_object_get_string(json_object_object_get(o, "type"));
}
static inline int64_t ops_ev_num(json_object *o, const char *k)
{
    return json_object_get_int64(json_object_object_get(o, k));
}
static inline const char *ops_ev_text(json_object *o)
{
    return json_object_get_string(json_object_object_get(o, "text"));
}

/* The first event of `type` whose text contains text_part (NULL: any). */
static inline json_object *ops_ev_find(const ops_evlist *l, const char *type, const char *text_part)
{
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(ops_ev_type(l->ev[i]), type) &&
            (!text_part || strstr(ops_ev_text(l->ev[i]), text_part)))
            return l->ev[i];
    return NULL;
}

/* How many events of `type` name GPU `gpu` (its "gpu" field). */
static inline size_t ops_ev_count_gpu(const ops_evlist *l, const char *type, uint32_t gpu)
{
    size_t n = 0;
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(ops_ev_type(l->ev[i]), type) && ops_ev_num(l->ev[i], "gpu") == (int64_t)gpu)
            n++;
    return n;
}

/* Poll the log until an event of `type` containing `text` is there; the
 * caller json_object_put()s l->all. */
static inline void ops_wait_event(const dh_daemon *d, ops_evlist *l, const char *type, const char *text)
{
    uint64_t t0 = ops_now_ms();
    for (;;) {
        ops_events(d, 0, l);
        if (ops_ev_find(l, type, text))
            return;
        json_object_put(l->all);
        if (ops_now_ms() - t0 > 20000)
            fail_msg("no %s event with '%s' within 20 s:\n%s", type, text ? text : "", ops_out);
    }
}

#endif
