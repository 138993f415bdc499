/* fmConnect(): validate the connection parameters strictly and open the
 * socket with a bounded, non-blocking connect. */
#include <arpa/inet.h>
#include <ctype.h>
#include <netdb.h>
#include <stdio.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <linux/vm_sockets.h>
#endif

#include "nv_fm_agent.h"
#include "sdk/sdk_internal.h"

/* Decimal number of 1..maxdigits digits, value <= max; *p advanced. */
static int parse_num(const char **p, unsigned maxdigits, unsigned long max, unsigned long *out)
{
    const char *s = *p;
    unsigned long v = 0;
    unsigned n = 0;
    while (*s >= '0' && *s <= '9') {
        if (++n > maxdigits)
            return -1;
        v = v * 10 + (unsigned long)(*s - '0');
        s++;
    }
    if (n == 0 || v > max)
        return -1;
    *p = s;
    *out = v;
    return 0;
}

/* "a.b.c.d" or "a.b.c.d:port", port 1..65535. */
static int parse_inet(const char *s, struct sockaddr_in *sin)
{
    unsigned long o[4], port = FM_CMD_PORT_NUMBER;
    const char *p = s;
    for (int i = 0; i < 4; i++) {
        if (parse_num(&p, 3, 255, &o[i]) != 0)
            return -1;
        if (i < 3 && *p++ != '.')
            return -1;
    }
    if (*p == ':') {
        p++;
        if (parse_num(&p, 5, 65535, &port) != 0 || port == 0)
            return -1;
    }
    if (*p != '\0')
        return -1;
    memset(sin, 0, sizeof *sin);
    sin->sin_family = AF_INET;
    sin->sin_port = htons((uint16_t)port);
    sin->sin_addr.s_addr = htonl((uint32_t)((o[0] << 24) | (o[1] << 16) | (o[2] << 8) | o[3]));
    return 0;
}

/* "name" or "name:port": a DNS-style host name (letters, digits, '-' and
 * '.', starting with a letter, at most 253 bytes), optional decimal port
 * 1..65535. Dotted quads never come here (they start with a digit). */
static int parse_hostport(const char *s, char *host, size_t hostlen, unsigned long *port)
{
    size_t n = 0;
    if (!isalpha((unsigned char)s[0]))
        return -1;
    while (s[n] && s[n] != ':') {
        unsigned char c = (unsigned char)s[n];
        if (!isalnum(c) && c != '-' && c != '.')
            return -1;
        n++;
    }
    if (n > 253 || n >= hostlen)
        return -1;
    memcpy(host, s, n);
    host[n] = '\0';
    *port = FM_CMD_PORT_NUMBER;
    const char *p = s + n;
    if (*p == ':') {
        p++;
        if (parse_num(&p, 5, 65535, port) != 0 || *port == 0)
            return -1;
    }
    return *p == '\0' ? 0 : -1;
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static fmReturn_t connect_bounded(int family, const struct sockaddr *sa, socklen_t salen,
                                  long timeout_ms, int *out)
{
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return errno == EAFNOSUPPORT ? FM_ST_NOT_SUPPORTED : FM_ST_GENERIC_ERROR;
    if (connect(fd, sa, salen) != 0) {
        if (errno != EINPROGRESS) {
            close(fd);
            return FM_ST_CONNECTION_NOT_VALID;
        }
        long deadline = now_ms() + timeout_ms;
        for (;;) {
            long left = deadline - now_ms();
            if (left <= 0) {
                /* Unreachable within the caller's bound: the guide's code
                 * for "could not be reached". */
                close(fd);
                return FM_ST_CONNECTION_NOT_VALID;
            }
            struct pollfd pfd = {.fd = fd, .events = POLLOUT};
            int n = poll(&pfd, 1, (int)(left > 1000000 ? 1000000 : left));
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0) {
                close(fd);
                return FM_ST_GENERIC_ERROR;
            }
            if (n == 0)
                continue;
            int soerr = 0;
            socklen_t len = sizeof soerr;
            if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0 || soerr != 0) {
                close(fd);
                return FM_ST_CONNECTION_NOT_VALID;
            }
            break;
        }
    }
    if (family == AF_INET) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    *out = fd;
    return FM_ST_SUCCESS;
}

/* A dotted quad (anything starting with a digit is parsed strictly as one)
 * or a host name, resolved and connected to within timeout_ms in all; each
 * IPv4 address of the name is tried in turn. */
static fmReturn_t open_inet(const char *addr, unsigned timeout_ms, int *fd)
{
    if (isdigit((unsigned char)addr[0])) {
        struct sockaddr_in sin;
        if (parse_inet(addr, &sin) != 0) {
            nvfm_detail_set(FM_ST_BADPARAM,
                            "addressInfo '%s' is not a.b.c.d or a.b.c.d:port (decimal, each "
                            "part 0-255, port 1-65535)", addr);
            return FM_ST_BADPARAM;
        }
        return connect_bounded(AF_INET, (struct sockaddr *)&sin, sizeof sin, timeout_ms, fd);
    }
    char host[FM_MAX_STR_LENGTH];
    unsigned long port;
    if (parse_hostport(addr, host, sizeof host, &port) != 0) {
        nvfm_detail_set(FM_ST_BADPARAM,
                        "addressInfo '%s' is neither an IPv4 address nor a host name "
                        "(name or name:port, port 1-65535)", addr);
        return FM_ST_BADPARAM;
    }
    long deadline = now_ms() + (long)timeout_ms;
    struct addrinfo *res = NULL;
    fmReturn_t rc = nvfm_resolve(host, (unsigned)port, deadline, &res);
    if (rc != FM_ST_SUCCESS)
        return rc;
    rc = FM_ST_CONNECTION_NOT_VALID;
    for (struct addrinfo *ai = res; ai && rc != FM_ST_SUCCESS; ai = ai->ai_next) {
        long left = deadline - now_ms();
        if (left <= 0)
            break;
        if (ai->ai_family == AF_INET)
            rc = connect_bounded(AF_INET, ai->ai_addr, ai->ai_addrlen, left, fd);
    }
    freeaddrinfo(res);
    return rc;
}

fmReturn_t nvfm_open(const fmConnectParams_t *params, int *fd, unsigned *timeout_ms)
{
    /* A v1 caller's structure is shorter: read addressType only from v2. */
    const fmConnectParams_v1 *v1 = (const fmConnectParams_v1 *)(const void *)params;
    unsigned type = v1->addressIsUnixSocket ? NV_FM_API_ADDR_TYPE_UNIX : NV_FM_API_ADDR_TYPE_INET;
    if (params->version == fmConnectV2Params_version2 &&
        params->addressType != NV_FM_API_ADDR_TYPE_UNKNOWN)
        type = (unsigned)params->addressType; /* supersedes a conflicting addressIsUnixSocket */

    size_t alen = strnlen(v1->addressInfo, sizeof v1->addressInfo);
    if (alen == 0 || alen == sizeof v1->addressInfo) {
        nvfm_detail_set(FM_ST_BADPARAM, "addressInfo is %s",
                        alen ? "not NUL-terminated within its 256 bytes" : "empty");
        return FM_ST_BADPARAM;
    }
    *timeout_ms = v1->timeoutMs ? v1->timeoutMs : NVFM_DEFAULT_TIMEOUT_MS;

    switch (type) {
    case NV_FM_API_ADDR_TYPE_INET:
        return open_inet(v1->addressInfo, *timeout_ms, fd);
    case NV_FM_API_ADDR_TYPE_UNIX: {
        struct sockaddr_un sun;
        memset(&sun, 0, sizeof sun);
        if (alen >= sizeof sun.sun_path) {
            nvfm_detail_set(FM_ST_BADPARAM, "Unix socket path is %zu bytes, at most %zu fit",
                            alen, sizeof sun.sun_path - 1);
            return FM_ST_BADPARAM;
        }
        sun.sun_family = AF_UNIX;
        memcpy(sun.sun_path, v1->addressInfo, alen);
        return connect_bounded(AF_UNIX, (struct sockaddr *)&sun, sizeof sun, *timeout_ms, fd);
    }
    case NV_FM_API_ADDR_TYPE_VSOCK: {
#ifdef __linux__
        unsigned long cid, port;
        const char *p = v1->addressInfo;
        if (parse_num(&p, 10, 0xFFFFFFFFul, &cid) != 0 || *p++ != ':' ||
            parse_num(&p, 10, 0xFFFFFFFFul, &port) != 0 || *p != '\0') {
            nvfm_detail_set(FM_ST_BADPARAM, "VSOCK addressInfo '%s' is not cid:port",
                            v1->addressInfo);
            return FM_ST_BADPARAM;
        }
        struct sockaddr_vm svm;
        memset(&svm, 0, sizeof svm);
        svm.svm_family = AF_VSOCK;
        svm.svm_cid = (unsigned)cid;
        svm.svm_port = (unsigned)port;
        return connect_bounded(AF_VSOCK, (struct sockaddr *)&svm, sizeof svm, *timeout_ms, fd);
#else
        return FM_ST_NOT_SUPPORTED;
#endif
    }
    default:
        nvfm_detail_set(FM_ST_BADPARAM, "addressType %u is not INET (1), UNIX (2) or VSOCK (3)",
                        type);
        return FM_ST_BADPARAM;
    }
}

fmReturn_t fmConnect(fmConnectParams_t *connectParams, fmHandle_t *pFmHandle)
{
    nvfm_detail_clear();
    if (!nvfm_initialized())
        return FM_ST_UNINITIALIZED;
    if (!connectParams || !pFmHandle)
        return FM_ST_BADPARAM;
    if (connectParams->version != fmConnectV1Params_version1 &&
        connectParams->version != fmConnectV2Params_version2)
        return FM_ST_VERSION_MISMATCH;

    nvfm_handle *h = calloc(1, sizeof *h);
    if (!h)
        return FM_ST_GENERIC_ERROR;
    h->fd = -1;
    fmReturn_t rc = nvfm_open(connectParams, &h->fd, &h->timeout_ms);
    if (rc != FM_ST_SUCCESS) {
        free(h);
        return rc;
    }
    pthread_mutex_init(&h->lock, NULL);
    rc = nvfm_register(h);
    if (rc != FM_ST_SUCCESS) {
        close(h->fd);
        pthread_mutex_destroy(&h->lock);
        free(h);
        return rc;
    }
    *pFmHandle = h;
    return FM_ST_SUCCESS;
}

fmReturn_t fmDisconnect(fmHandle_t pFmHandle)
{
    if (!pFmHandle)
        return nvfm_initialized() ? FM_ST_BADPARAM : FM_ST_UNINITIALIZED;
    return nvfm_unregister(pFmHandle);
}
