/* Test fixture: the real API server on a libevent loop in its own thread,
 * with a fake handler table that records what the daemon side saw. */
#ifndef TESTS_SDK_FAKE_SERVER_H
#define TESTS_SDK_FAKE_SERVER_H

#include <pthread.h>
#include <stdint.h>

#include "api/api_server.h"
#include "nv_fm_types.h"

typedef struct fake_calls {
    unsigned count;              /* handler invocations */
    const char *last;            /* name of the last handler called */
    fmFabricPartitionId_t last_id;
    unsigned num_vfs;
    fmPciDevice_t vfs[FM_MAX_NUM_GPUS];
    unsigned num_ids;
    fmFabricPartitionId_t ids[FM_MAX_FABRIC_PARTITIONS];
    unsigned count_at_first_deactivate; /* handler calls before the first deactivate */
    unsigned deactivates;
} fake_calls;

typedef struct fake_server {
    pthread_t thread;
    struct event_base *base;
    ofm_api_server *srv;
    struct event *stop_ev;
    int stop_pipe[2];
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int gate_armed, gate_blocked; /* see fake_server_block_next_activate */
    fake_calls calls;
    fmReturn_t rc;               /* what every handler returns */
    unsigned list_partitions;    /* partitions get_supported reports */
    char unix_path[108];
    uint16_t port;
} fake_server;

/* Start on 127.0.0.1:<free port> (unix_path NULL) or on a Unix socket. */
void fake_server_start(fake_server *fs, const char *unix_path, unsigned max_clients);
/* Same, with a frame timeout (ms) for stalled senders. */
void fake_server_start_ex(fake_server *fs, const char *unix_path, unsigned max_clients,
                          unsigned frame_timeout_ms);
/* Same, with every listener setting from *l (bind_addr NULL: 127.0.0.1). */
void fake_server_start_cfg(fake_server *fs, const ofm_api_listen *l);
void fake_server_stop(fake_server *fs);
/* The next activate handler call blocks the server's loop until
 * fake_server_release(); fake_server_wait_blocked() returns once it does
 * (fails the test after 10 s). Lets a test queue input on several
 * connections while the server is known to be busy. */
void fake_server_block_next_activate(fake_server *fs);
void fake_server_wait_blocked(fake_server *fs);
void fake_server_release(fake_server *fs);
void fake_server_set_rc(fake_server *fs, fmReturn_t rc);
fake_calls fake_server_calls(fake_server *fs);

/* The log of the process, captured (ofm_log sink) for assertions. */
void log_capture_start(void);
/* 1 if some captured line contains every one of the NULL-terminated
 * needles. */
int log_contains(const char *needle, ...);
void log_capture_stop(void);
/* Forget what was captured so far. */
void log_clear(void);

#endif
