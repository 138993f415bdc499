/* Small helpers shared by the SDK tests. */
#ifndef TESTS_SDK_UTIL_H
#define TESTS_SDK_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "nv_fm_agent.h"

/* fmConnect() to 127.0.0.1:port or a Unix socket path. */
fmReturn_t sdk_connect_tcp(uint16_t port, unsigned timeout_ms, fmHandle_t *h);
fmReturn_t sdk_connect_unix(const char *path, unsigned timeout_ms, fmHandle_t *h);

/* Raw TCP/Unix client sockets for sending hand-made frames. */
int raw_connect_tcp(uint16_t port);
int raw_connect_unix(const char *path);
/* Waits (bounded by a 10 s guard) until the peer closes; 1 if it did,
 * 0 if data arrived or the guard expired instead. */
int raw_wait_closed(int fd);
void raw_send(int fd, const void *buf, size_t len);

/* dir + "/" + name into buf; fails the test if it does not fit. */
void path_join(char *buf, size_t size, const char *dir, const char *name);

/* mkdtemp under $TMPDIR; rm -rf on cleanup. */
char *tmpdir_make(void);
void tmpdir_remove(char *dir);

#endif
