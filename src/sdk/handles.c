/* Library state and the registry of open handles. Handles are looked up
 * before use so that a stale or foreign pointer is answered with
 * FM_ST_BADPARAM instead of being dereferenced, and reference counted so
 * that fmDisconnect() from one thread cannot free a handle another thread
 * is using. */
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nv_fm_agent.h"
#include "sdk/sdk_internal.h"

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static int g_init;
static nvfm_handle *g_handles;

int nvfm_initialized(void)
{
    pthread_mutex_lock(&g_lock);
    int v = g_init;
    pthread_mutex_unlock(&g_lock);
    return v;
}

static void destroy(nvfm_handle *h)
{
    if (h->fd >= 0)
        close(h->fd);
    pthread_mutex_destroy(&h->lock);
    free(h->rbuf);
    free(h);
}

fmReturn_t nvfm_register(nvfm_handle *h)
{
    pthread_mutex_lock(&g_lock);
    if (!g_init) {
        pthread_mutex_unlock(&g_lock);
        return FM_ST_UNINITIALIZED;
    }
    h->refs = 1;
    h->next = g_handles;
    g_handles = h;
    pthread_mutex_unlock(&g_lock);
    return FM_ST_SUCCESS;
}

fmReturn_t nvfm_acquire(fmHandle_t handle, nvfm_handle **out)
{
    nvfm_detail_clear();
    fmReturn_t rc = FM_ST_BADPARAM;
    pthread_mutex_lock(&g_lock);
    if (!g_init) {
        rc = FM_ST_UNINITIALIZED;
    } else {
        for (nvfm_handle *h = g_handles; h; h = h->next) {
            if ((void *)h == handle) {
                h->refs++;
                *out = h;
                rc = FM_ST_SUCCESS;
                break;
            }
        }
    }
    pthread_mutex_unlock(&g_lock);
    return rc;
}

void nvfm_release(nvfm_handle *h)
{
    pthread_mutex_lock(&g_lock);
    int last = --h->refs == 0;
    pthread_mutex_unlock(&g_lock);
    if (last)
        destroy(h);
}

/* Removes h from the registry (caller holds g_lock); wakes any thread
 * blocked on its socket. Returns whether the registry's reference was the
 * last one. */
static int unlink_locked(nvfm_handle *h)
{
    for (nvfm_handle **pp = &g_handles; *pp; pp = &(*pp)->next) {
        if (*pp == h) {
            *pp = h->next;
            break;
        }
    }
    if (h->fd >= 0)
        shutdown(h->fd, SHUT_RDWR);
    return --h->refs == 0;
}

fmReturn_t nvfm_unregister(fmHandle_t handle)
{
    nvfm_handle *victim = NULL;
    fmReturn_t rc = FM_ST_BADPARAM;
    int last = 0;
    pthread_mutex_lock(&g_lock);
    if (!g_init) {
        rc = FM_ST_UNINITIALIZED;
    } else {
        for (nvfm_handle *h = g_handles; h; h = h->next) {
            if ((void *)h == handle) {
                victim = h;
                break;
            }
        }
        if (victim) {
            last = unlink_locked(victim);
            rc = FM_ST_SUCCESS;
        }
    }
    pthread_mutex_unlock(&g_lock);
    if (last)
        destroy(victim);
    return rc;
}

fmReturn_t fmLibInit(void)
{
    pthread_mutex_lock(&g_lock);
    /* The guide documents FM_ST_IN_USE for a second initialisation; the
     * library stays initialised (no reference count). */
    fmReturn_t rc = g_init ? FM_ST_IN_USE : FM_ST_SUCCESS;
    g_init = 1;
    pthread_mutex_unlock(&g_lock);
    return rc;
}

fmReturn_t fmLibShutdown(void)
{
    pthread_mutex_lock(&g_lock);
    if (!g_init) {
        pthread_mutex_unlock(&g_lock);
        return FM_ST_UNINITIALIZED;
    }
    g_init = 0;
    nvfm_handle *dead = NULL;
    while (g_handles) {
        nvfm_handle *h = g_handles;
        if (unlink_locked(h)) {
            h->next = dead;
            dead = h;
        }
    }
    pthread_mutex_unlock(&g_lock);
    while (dead) {
        nvfm_handle *n = dead->next;
        destroy(dead);
        dead = n;
    }
    return FM_ST_SUCCESS;
}
