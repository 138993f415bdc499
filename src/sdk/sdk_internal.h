/* Internals shared by the files of libnvfm. */
#ifndef OPENFM_SDK_INTERNAL_H
#define OPENFM_SDK_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "nv_fm_types.h"
#include "sdk/abi_layout.h"
#include "wire/wire.h"

/* Used when fmConnect() is given timeoutMs 0. */
#define NVFM_DEFAULT_TIMEOUT_MS 60000u

typedef struct nvfm_handle {
    struct nvfm_handle *next;     /* registry list, under the global lock */
    unsigned refs;                /* registry + callers in flight, global lock */
    pthread_mutex_t lock;         /* serialises request/reply on fd */
    int fd;
    int dead;                     /* stream unusable: protocol error or EOF */
    unsigned timeout_ms;
    uint32_t next_id;
    uint8_t *rbuf;                /* bytes received but not yet consumed */
    size_t rlen, rcap;
} nvfm_handle;

/* Registry (handles.c). */
fmReturn_t nvfm_register(nvfm_handle *h);
/* Looks h up among live handles and takes a reference. Returns
 * FM_ST_UNINITIALIZED or FM_ST_BADPARAM when it cannot. */
fmReturn_t nvfm_acquire(fmHandle_t h, nvfm_handle **out);
void nvfm_release(nvfm_handle *h);
fmReturn_t nvfm_unregister(fmHandle_t h);
int nvfm_initialized(void);

/* Connection setup (connect.c). On success *fd is a connected non-blocking
 * socket. */
fmReturn_t nvfm_open(const fmConnectParams_t *params, int *fd, unsigned *timeout_ms);

/* Host-name resolution (resolve.c): IPv4 addresses of host:port, resolved
 * on a thread the caller abandons at deadline_ms (CLOCK_MONOTONIC, ms).
 * FM_ST_SUCCESS with *out to free with freeaddrinfo(); FM_ST_BADPARAM for a
 * name that does not resolve; FM_ST_CONNECTION_NOT_VALID when the answer
 * does not come in time or the name server is unreachable. Each failure
 * leaves its reason for ofmReturnText(). */
struct addrinfo;
fmReturn_t nvfm_resolve(const char *host, unsigned port, long deadline_ms, struct addrinfo **out);
/* The resolver used; tests replace it to model slow or failing name
 * servers. Results must come from getaddrinfo() (freed with freeaddrinfo). */
typedef int (*nvfm_getaddrinfo_fn)(const char *, const char *, const struct addrinfo *,
                                   struct addrinfo **);
extern nvfm_getaddrinfo_fn nvfm_getaddrinfo;

/* Reason for the failure of the last call on this thread, returned by
 * ofmReturnText(rc) for that rc (return_names.c). Cleared at the start of
 * fmConnect() and of every call on a handle. */
void nvfm_detail_set(fmReturn_t rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void nvfm_detail_clear(void);

/* One request/reply exchange (rpc.c). rp's output pointers must be set for
 * ops that return data. */
fmReturn_t nvfm_call(nvfm_handle *h, ofm_wire_request *rq, ofm_wire_reply *rp);

#endif
