/* Host names in fmConnect()'s INET address, resolved within timeoutMs.
 *
 * getaddrinfo() takes no timeout and a slow name server can hold it for
 * many seconds, so it runs on a detached thread. The caller waits on a
 * condition variable until its deadline; if the deadline passes first the
 * caller returns and abandons the thread, which frees the shared job when
 * getaddrinfo() finally returns (the job is reference counted: caller and
 * thread each drop one). Only IPv4 is asked for: INET addresses of the SDK
 * are IPv4, and the daemon listens on an IPv4 interface. */
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "sdk/sdk_internal.h"

nvfm_getaddrinfo_fn nvfm_getaddrinfo = getaddrinfo;

typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t cv;
    unsigned refs;      /* caller + thread */
    bool done;
    int gai_rc;
    struct addrinfo *res;
    nvfm_getaddrinfo_fn fn;
    char host[FM_MAX_STR_LENGTH];
    char serv[8];
} resolve_job;

static void job_put(resolve_job *j)
{
    pthread_mutex_lock(&j->lock);
    bool last = --j->refs == 0;
    pthread_mutex_unlock(&j->lock);
    if (!last)
        return;
    if (j->res)
        freeaddrinfo(j->res);
    pthread_cond_destroy(&j->cv);
    pthread_mutex_destroy(&j->lock);
    free(j);
}

static void *resolve_thread(void *arg)
{
    resolve_job *j = arg;
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    struct addrinfo *res = NULL;
    int rc = j->fn(j->host, j->serv, &hints, &res);
    pthread_mutex_lock(&j->lock);
    j->gai_rc = rc;
    j->res = rc == 0 ? res : NULL;
    j->done = true;
    pthread_cond_signal(&j->cv);
    pthread_mutex_unlock(&j->lock);
    job_put(j);
    return NULL;
}

fmReturn_t nvfm_resolve(const char *host, unsigned port, long deadline_ms, struct addrinfo **out)
{
    resolve_job *j = calloc(1, sizeof *j);
    if (!j) {
        nvfm_detail_set(FM_ST_GENERIC_ERROR, "out of memory resolving '%s'", host);
        return FM_ST_GENERIC_ERROR;
    }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&j->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&j->lock, NULL);
    j->refs = 2;
    j->fn = nvfm_getaddrinfo;
    snprintf(j->host, sizeof j->host, "%s", host);
    snprintf(j->serv, sizeof j->serv, "%u", port);

    pthread_attr_t ta;
    pthread_t t;
    pthread_attr_init(&ta);
    pthread_attr_setdetachstate(&ta, PTHREAD_CREATE_DETACHED);
    int perr = pthread_create(&t, &ta, resolve_thread, j);
    pthread_attr_destroy(&ta);
    if (perr) {
        j->refs = 1;
        job_put(j);
        nvfm_detail_set(FM_ST_GENERIC_ERROR, "cannot start a thread to resolve '%s': %s", host,
                        strerror(perr));
        return FM_ST_GENERIC_ERROR;
    }

    struct timespec until = {.tv_sec = deadline_ms / 1000,
                             .tv_nsec = (deadline_ms % 1000) * 1000000L};
    pthread_mutex_lock(&j->lock);
    while (!j->done)
        if (pthread_cond_timedwait(&j->cv, &j->lock, &until) == ETIMEDOUT && !j->done)
            break;
    bool done = j->done;
    int gai_rc = j->gai_rc;
    struct addrinfo *res = j->res;
    j->res = NULL; /* ours now */
    pthread_mutex_unlock(&j->lock);
    job_put(j);

    if (!done) {
        nvfm_detail_set(FM_ST_CONNECTION_NOT_VALID,
                        "resolving host name '%s' did not finish within timeoutMs", host);
        return FM_ST_CONNECTION_NOT_VALID;
    }
    if (gai_rc == EAI_AGAIN) {
        /* The name server did not answer: the name may well exist. */
        nvfm_detail_set(FM_ST_CONNECTION_NOT_VALID,
                        "cannot resolve host name '%s' now: %s (name server unreachable?)", host,
                        gai_strerror(gai_rc));
        return FM_ST_CONNECTION_NOT_VALID;
    }
    if (gai_rc != 0 || !res) {
        nvfm_detail_set(FM_ST_BADPARAM,
                        "host name '%s' in addressInfo does not resolve to an IPv4 address (%s)",
                        host, gai_rc ? gai_strerror(gai_rc) : "no address");
        return FM_ST_BADPARAM;
    }
    *out = res;
    return FM_ST_SUCCESS;
}
