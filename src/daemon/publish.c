/* What the daemon tells operators about itself, said once per change of
 * condition rather than at every occurrence:
 *  - the status document: a write failure is logged when it starts and when
 *    it ends, and shown in the status served over the SDK (which does not
 *    depend on the file) as "status_file_error";
 *  - the backend: when the monitor cannot read the hardware (or the
 *    emulator's state), the fabric is DEGRADED with the reason until a read
 *    works again; the log says so once each way. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "daemon/daemon.h"
#include "daemon/live_status.h"
#include "daemon/status_doc.h"
#include "openfm/log.h"

/* The document written last, so that an unchanged one is not rewritten:
 * a partition change alters nothing in it, and a file written on the state
 * file's filesystem would make the change's fdatasync flush it too. */
static char *last_written;
/* A publication due once the current request is answered (see below). */
static struct event *publish_ev;

void ofm_daemon_publish_status(ofm_daemon *d)
{
    if (publish_ev)
        event_del(publish_ev); /* this one covers it */
    /* a document that was written needs no word about its own failure */
    char *json = ofm_daemon_status_json(d, false, false);
    ofm_error err;
    if (json && last_written && !strcmp(json, last_written) && !d->status_file_error[0]) {
        free(json);
        return;
    }
    if (!json) {
        ofm_error_set(&err, d->status_path, 0, "out of memory");
    } else if (ofm_status_write(d->status_path, json, &err) == 0) {
        free(last_written);
        last_written = json;
        if (d->status_file_error[0]) {
            OFM_INFO("status document %s is written again", d->status_path);
            d->status_file_error[0] = '\0';
        }
        return;
    }
    free(json);
    char b[700];
    const char *msg = ofm_error_format(&err, b, sizeof b);
    if (!d->status_file_error[0])
        OFM_ERR("cannot write the status document: %s; it stays stale until a write works "
                "('fmctl status' asks the daemon and is not affected)", msg);
    snprintf(d->status_file_error, sizeof d->status_file_error, "%s", msg);
}

/* After a partition change the client is answered first and the document
 * written right after, before the loop polls again: serialising a rack's
 * status (72 GPUs, 18 chips, 1296 ports) costs more than the change itself,
 * and nothing the client was told depends on the file. The event is made
 * active from the request's callback, so libevent runs it once that
 * callback (which has sent the reply) returns. */
static void on_publish(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    ofm_daemon_publish_status(arg);
}

void ofm_daemon_publish_status_soon(ofm_daemon *d)
{
    if (d->base && !publish_ev)
        publish_ev = event_new(d->base, -1, 0, on_publish, d);
    if (!publish_ev) {
        ofm_daemon_publish_status(d);
        return;
    }
    if (!event_pending(publish_ev, EV_TIMEOUT | EV_READ | EV_WRITE | EV_SIGNAL, NULL))
        event_active(publish_ev, 0, 0);
}

void ofm_daemon_publish_stop(void)
{
    if (publish_ev)
        event_free(publish_ev);
    publish_ev = NULL;
}

void ofm_daemon_publish_forget(void)
{
    free(last_written);
    last_written = NULL;
}

void ofm_daemon_backend_polled(ofm_daemon *d, int rc)
{
    if (rc < 0 && !d->backend_fault) {
        d->backend_fault = true;
        d->state_before_fault = d->status.state;
        snprintf(d->message_before_fault, sizeof d->message_before_fault, "%s", d->status.message);
        d->status.state = OFM_SYS_DEGRADED;
        snprintf(d->status.message, sizeof d->status.message,
                 "the fabric cannot be monitored: %.250s", ofm_hal_last_error(d->hal));
        OFM_ERR("%s; the fabric is DEGRADED until the backend can be read again", d->status.message);
    } else if (rc >= 0 && d->backend_fault) {
        d->backend_fault = false;
        d->status.state = d->state_before_fault;
        snprintf(d->status.message, sizeof d->status.message, "%s", d->message_before_fault);
        OFM_INFO("the backend can be read again: the fabric is %s",
                 ofm_system_state_name(d->status.state));
    }
}
