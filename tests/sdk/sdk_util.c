#include "sdk_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

fmReturn_t sdk_connect_tcp(uint16_t port, unsigned timeout_ms, fmHandle_t *h)
{
    fmConnectParams_t p;
    memset(&p, 0, sizeof p);
    p.version = fmConnectParams_version;
    snprintf(p.addressInfo, sizeof p.addressInfo, "127.0.0.1:%u", (unsigned)port);
    p.timeoutMs = timeout_ms;
    return fmConnect(&p, h);
}

fmReturn_t sdk_connect_unix(const char *path, unsigned timeout_ms, fmHandle_t *h)
{
    fmConnectParams_t p;
    memset(&p, 0, sizeof p);
    p.version = fmConnectParams_version;
    snprintf(p.addressInfo, sizeof p.addressInfo, "%s", path);
    p.timeoutMs = timeout_ms;
    p.addressIsUnixSocket = 1;
    return fmConnect(&p, h);
}

int raw_connect_tcp(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(port)};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof sin), 0);
    return fd;
}

int raw_connect_unix(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
    assert_int_equal(connect(fd, (struct sockaddr *)&sun, sizeof sun), 0);
    return fd;
}

int raw_wait_closed(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, 10000) != 1)
        return 0;
    char b[64];
    ssize_t n = recv(fd, b, sizeof b, 0);
    return n <= 0;
}

void raw_send(int fd, const void *buf, size_t len)
{
    assert_int_equal(send(fd, buf, len, MSG_NOSIGNAL), (ssize_t)len);
}

char *tmpdir_make(void)
{
    const char *base = getenv("TMPDIR");
    char *t = malloc(4096);
    assert_non_null(t);
    snprintf(t, 4096, "%s/ofm-sdk-XXXXXX", base && *base ? base : "/tmp");
    assert_non_null(mkdtemp(t));
    return t;
}

void tmpdir_remove(char *dir)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    free(dir);
}

void path_join(char *buf, size_t size, const char *dir, const char *name)
{
    int n = snprintf(buf, size, "%s/%s", dir, name);
    assert_true(n > 0 && (size_t)n < size);
}
