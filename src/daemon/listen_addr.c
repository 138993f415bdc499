#include "daemon/listen_addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

int ofm_listen_addr_parse(const char *v, char *ip, size_t iplen, unsigned *port, ofm_error *err)
{
    const char *colon = strrchr(v, ':');
    struct in_addr a;
    char *end;
    if (!colon || (size_t)(colon - v) >= iplen)
        return ofm_error_set(err, NULL, 0, "OPENFM_METRICS_LISTEN=%.80s: expected IPV4:PORT, e.g. "
                             "127.0.0.1:9469 (empty turns the endpoint off)", v);
    memcpy(ip, v, (size_t)(colon - v));
    ip[colon - v] = '\0';
    if (inet_pton(AF_INET, ip, &a) != 1)
        return ofm_error_set(err, NULL, 0, "OPENFM_METRICS_LISTEN=%.80s: '%s' is not an IPv4 address",
                             v, ip);
    errno = 0;
    unsigned long p = strtoul(colon + 1, &end, 10);
    if (!colon[1] || colon[1] < '0' || colon[1] > '9' || *end || errno || p > 65535)
        return ofm_error_set(err, NULL, 0, "OPENFM_METRICS_LISTEN=%.80s: '%s' is not a port 0-65535",
                             v, colon + 1);
    *port = (unsigned)p;
    return 0;
}
