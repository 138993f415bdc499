#include "tools/fmctl_connect.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sdk/nvfm_ext.h"

int fmctl_parse_timeout(const char *prog, const char *arg, unsigned *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(arg, &end, 10);
    if (!*arg || *end || errno || v == 0 || v > 3600000 || arg[0] == '-') {
        fprintf(stderr, "%s: --timeout: '%.60s' is not a number of milliseconds in 1-3600000\n", prog, arg);
        return -1;
    }
    *out = (unsigned)v;
    return 0;
}

static fmReturn_t connect_to(const fmctl_conn_opts *o, fmHandle_t *h, char *where, size_t len)
{
    fmConnectParams_t p;
    memset(&p, 0, sizeof p);
    p.version = fmConnectParams_version;
    p.timeoutMs = o->timeout_ms ? o->timeout_ms : 5000;
    if (o->socket) {
        snprintf(p.addressInfo, sizeof p.addressInfo, "%s", o->socket);
        p.addressType = NV_FM_API_ADDR_TYPE_UNIX;
    } else {
        snprintf(p.addressInfo, sizeof p.addressInfo, "%s", o->address ? o->address : "127.0.0.1");
        p.addressType = NV_FM_API_ADDR_TYPE_INET;
    }
    snprintf(where, len, "%s", p.addressInfo);
    return fmConnect(&p, h);
}

fmReturn_t fmctl_connect(const char *prog, const fmctl_conn_opts *o, fmHandle_t *h)
{
    fmReturn_t rc = fmLibInit();
    if (rc != FM_ST_SUCCESS) {
        fprintf(stderr, "%s: fmLibInit failed: %s\n", prog, ofmReturnName(rc));
        return rc;
    }
    char where[300];
    rc = connect_to(o, h, where, sizeof where);
    if (rc != FM_ST_SUCCESS) {
        fprintf(stderr, "%s: cannot connect to the fabric manager at %s: %s (%s); is openfm running "
                        "with FM_CMD_%s set to this address?\n",
                prog, where, ofmReturnName(rc), ofmReturnText(rc),
                o->socket ? "UNIX_SOCKET_PATH" : "BIND_INTERFACE/FM_CMD_PORT_NUMBER");
        fmLibShutdown();
    }
    return rc;
}

fmReturn_t fmctl_try_connect(const fmctl_conn_opts *o, fmHandle_t *h, char *where, size_t len)
{
    fmReturn_t rc = fmLibInit();
    if (rc != FM_ST_SUCCESS) {
        snprintf(where, len, "(fmLibInit failed: %s)", ofmReturnName(rc));
        return rc;
    }
    rc = connect_to(o, h, where, len);
    if (rc != FM_ST_SUCCESS)
        fmLibShutdown();
    return rc;
}

void fmctl_disconnect(fmHandle_t h)
{
    fmDisconnect(h);
    fmLibShutdown();
}
