/* Allocation-failure injection (issue 14): the parsers (topology,
 * configuration, MIG config, wire codec), the SDK server's request path and
 * the partition manager are run once per allocation they make, with that
 * allocation failing. Each run must end in a clear error or a clean
 * recovery: no crash, no hang, no leak (the ASan build checks leaks at
 * exit), and for the partition manager the emulator's probe must agree with
 * what the calls answered. See alloc_fail.h for the mechanism. */
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "alloc_fail.h"
#include "daemon/config.h"
#include "fake_server.h"
#include "mig/mig_ops.h"
#include "openfm/platform.h"
#include "partition/state_file.h"
#include "pm_fixture.h"
#include "sdk_util.h"
#include "wire/wire.h"

#define MAX_POINTS 100000ul

/* Runs `run` once per allocation failure point; returns the number of
 * points. `run` returns 0 on success, else non-zero with err set. A run
 * without an injected failure must succeed; one with a failure must report
 * it (err naming the problem), or succeed if the code recovered. */
static unsigned long each_failure(const char *what, int (*run)(void *arg, ofm_error *err),
                                  void *arg, const char *must_say)
{
    unsigned long n;
    unsigned errors = 0;
    for (n = 1; n < MAX_POINTS; n++) {
        ofm_error err;
        memset(&err, 0, sizeof err);
        alloc_fail_at(n);
        int rc = run(arg, &err);
        bool failed = alloc_failed();
        alloc_fail_at(0);
        if (!failed) {
            if (rc != 0)
                fail_msg("%s: fails without an injected failure: %s", what, err.msg);
            break;
        }
        if (rc != 0) {
            errors++;
            if (!err.msg[0])
                fail_msg("%s: allocation %lu failed and the error says nothing", what, n);
            if (must_say && !strstr(err.msg, must_say))
                fail_msg("%s: allocation %lu failed, error does not say '%s': %s", what, n,
                         must_say, err.msg);
        }
    }
    print_message("%s: %lu allocation failure points (%u reported as errors, the rest "
                  "recovered)\n", what, n - 1, errors);
    return n - 1;
}

/* ---- parsers ----------------------------------------------------------- */

static char g_path[1024];

static int run_topology(void *arg, ofm_error *err)
{
    (void)arg;
    static ofm_platform p;
    return ofm_platform_load_file(g_path, &p, err);
}

static void test_topology(void **state)
{
    (void)state;
    snprintf(g_path, sizeof g_path, "%s/share/topologies/hgx-h100.topo",
             getenv("OPENFM_SOURCE_DIR"));
    each_failure("topology file", run_topology, NULL, NULL);
}

static int run_config(void *arg, ofm_error *err)
{
    (void)arg;
    ofm_config c;
    ofm_config_defaults(&c);
    return ofm_config_load_file(g_path, &c, err);
}

static void test_config(void **state)
{
    (void)state;
    snprintf(g_path, sizeof g_path, "%s/etc/fabricmanager.cfg", getenv("OPENFM_SOURCE_DIR"));
    each_failure("configuration file", run_config, NULL, NULL);
}

static const char k_mig_yaml[] =
    "version: v1\n"
    "mig-configs:\n"
    "  all-disabled:\n"
    "    - devices: all\n"
    "      mig-enabled: false\n"
    "      mig-devices: {}\n"
    "  mixed:\n"
    "    - devices: [0, 1]\n"
    "      mig-enabled: true\n"
    "      mig-devices:\n"
    "        \"1g.10gb\": 2\n"
    "        \"3g.40gb\": 1\n";

static int run_mig(void *arg, ofm_error *err)
{
    ofm_mig_cfg *c = arg;
    return ofm_mig_cfg_parse(k_mig_yaml, sizeof k_mig_yaml - 1, "mig.yaml", c, err);
}

static void test_mig_config(void **state)
{
    (void)state;
    ofm_mig_cfg *c = malloc(sizeof *c);
    assert_non_null(c);
    each_failure("MIG config", run_mig, c, NULL);
    free(c);
}

static int run_wire(void *arg, ofm_error *err)
{
    (void)arg;
    /* request: encode, decode */
    ofm_wire_request rq = {.request_id = 3, .op = OFM_OP_SET_ACTIVATED, .num_ids = 3,
                           .ids = {1, 5, 9},
                           .struct_version = fmActivatedFabricPartitionList_version};
    uint8_t *frame = NULL;
    size_t len = 0;
    if (ofm_wire_encode_request(&rq, &frame, &len, err))
        return -1;
    ofm_wire_request back;
    int rc = ofm_wire_decode_request(frame + OFM_WIRE_HEADER_LEN, len - OFM_WIRE_HEADER_LEN,
                                     &back, err);
    free(frame);
    if (rc)
        return -1;
    /* reply with a partition list: encode, decode */
    static fmFabricPartitionList_t list, out;
    memset(&list, 0, sizeof list);
    list.version = fmFabricPartitionList_version;
    list.numPartitions = 2;
    for (unsigned p = 0; p < 2; p++) {
        list.partitionInfo[p].partitionId = p;
        list.partitionInfo[p].numGpus = 2;
        snprintf(list.partitionInfo[p].gpuInfo[0].uuid, sizeof list.partitionInfo[p].gpuInfo[0].uuid,
                 "GPU-%u", p);
    }
    ofm_wire_reply rp = {.request_id = 4, .op = OFM_OP_GET_SUPPORTED, .partitions = &list};
    if (ofm_wire_encode_reply(&rp, &frame, &len, err))
        return -1;
    memset(&out, 0, sizeof out);
    ofm_wire_reply rb = {.partitions = &out};
    rc = ofm_wire_decode_reply(frame + OFM_WIRE_HEADER_LEN, len - OFM_WIRE_HEADER_LEN,
                               OFM_OP_GET_SUPPORTED, &rb, err);
    free(frame);
    free(rb.json);
    return rc ? -1 : 0;
}

static void test_wire(void **state)
{
    (void)state;
    unsigned long n = each_failure("wire codec", run_wire, NULL, "memory");
    assert_true(n > 0); /* protobuf-c's allocations go through the codec's allocator */
}

/* ---- the SDK server's request path -------------------------------------- */

typedef struct {
    fake_server fs;
    uint8_t frame[64];
    size_t flen;
} server_fx;

/* Reads one reply frame (or the close) within 5 s; 1 reply, 0 closed. */
static int reply_or_close(int fd, uint8_t *buf, size_t cap, size_t *len)
{
    size_t have = 0;
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 5000) != 1)
            fail_msg("the server neither answered nor closed within 5 s");
        ssize_t r = recv(fd, buf + have, cap - have, 0);
        if (r <= 0)
            return 0;
        have += (size_t)r;
        if (have >= OFM_WIRE_HEADER_LEN) {
            ofm_wire_header h;
            assert_int_equal(ofm_wire_header_decode(buf, OFM_WIRE_FLAG_REPLY, (uint32_t)cap, &h),
                             OFM_WIRE_OK);
            if (have >= OFM_WIRE_HEADER_LEN + h.length) {
                *len = have;
                return 1;
            }
        }
    }
}

static fmReturn_t served_status(const uint8_t *buf, size_t len)
{
    ofm_wire_reply rp = {0};
    assert_int_equal(ofm_wire_decode_reply(buf + OFM_WIRE_HEADER_LEN, len - OFM_WIRE_HEADER_LEN,
                                           OFM_OP_ACTIVATE, &rp, NULL),
                     0);
    return rp.status;
}

static void test_server_request_path(void **state)
{
    (void)state;
    server_fx *x = calloc(1, sizeof *x);
    assert_non_null(x);
    fake_server_start(&x->fs, NULL, 0);
    ofm_wire_request rq = {.request_id = 1, .op = OFM_OP_ACTIVATE, .partition_id = 2};
    uint8_t *f;
    assert_int_equal(ofm_wire_encode_request(&rq, &f, &x->flen, NULL), 0);
    memcpy(x->frame, f, x->flen);
    free(f);
    unsigned long n;
    for (n = 1; n < MAX_POINTS; n++) {
        alloc_fail_at(n);
        int fd = raw_connect_tcp(x->fs.port);
        raw_send(fd, x->frame, x->flen);
        uint8_t buf[512];
        size_t len = 0;
        int answered = reply_or_close(fd, buf, sizeof buf, &len);
        close(fd);
        bool failed = alloc_failed();
        alloc_fail_at(0); /* what follows checks; it is not the path under test */
        fmReturn_t st = answered ? served_status(buf, len) : FM_ST_SUCCESS;
        /* no reply could be encoded: the client is told FM_ST_GENERIC_ERROR */
        if (st != FM_ST_SUCCESS && !(failed && st == FM_ST_GENERIC_ERROR))
            fail_msg("allocation %lu: the client got %d", n, (int)st);
        if (!answered && !failed)
            fail_msg("connection closed without an injected failure");
        /* whatever happened, the server still serves a new client */
        fd = raw_connect_tcp(x->fs.port);
        raw_send(fd, x->frame, x->flen);
        assert_int_equal(reply_or_close(fd, buf, sizeof buf, &len), 1);
        assert_int_equal(served_status(buf, len), FM_ST_SUCCESS);
        close(fd);
        if (!failed)
            break;
    }
    print_message("SDK server request path: %lu allocation failure points\n", n - 1);
    assert_true(n > 1);
    fake_server_stop(&x->fs);
    free(x);
}

/* ---- partition manager --------------------------------------------------- */

static void test_partition_manager(void **state)
{
    (void)state;
    unsigned long n;
    unsigned refused = 0;
    for (n = 1; n < MAX_POINTS; n++) {
        pmfx *f = pmfx_open("hgx-h100", OFM_FABRIC_MODE_SHARED, NULL);
        alloc_fail_at(n);
        ofm_error err;
        memset(&err, 0, sizeof err);
        int rc = pmfx_pm(f, false, &err);
        fmReturn_t act = FM_ST_GENERIC_ERROR, deact = FM_ST_GENERIC_ERROR, act2 = FM_ST_GENERIC_ERROR;
        if (rc == 0) {
            act = ofm_pm_activate(f->pm, 1, NULL, 0);
            act2 = ofm_pm_activate(f->pm, 2, NULL, 0);
            deact = ofm_pm_deactivate(f->pm, 1);
        }
        bool failed = alloc_failed();
        alloc_fail_at(0);
        if (rc != 0) {
            if (!failed)
                fail_msg("partition manager refused to start without an injected failure: %s",
                         err.msg);
            if (!err.msg[0])
                fail_msg("allocation %lu: the partition manager failed without saying why", n);
            refused++;
        } else {
            /* the probe must agree with the answers */
            unsigned active[2], na = 0;
            if (act == FM_ST_SUCCESS && deact != FM_ST_SUCCESS)
                active[na++] = 1;
            if (act2 == FM_ST_SUCCESS)
                active[na++] = 2;
            pmfx_check_isolation(f, active, na, 0);
            if (!failed && (act != FM_ST_SUCCESS || act2 != FM_ST_SUCCESS || deact != FM_ST_SUCCESS))
                fail_msg("calls failed without an injected failure: %d %d %d", act, act2, deact);
        }
        pmfx_close(f);
        if (!failed)
            break;
    }
    print_message("partition manager (create, activate x2, deactivate): %lu allocation failure "
                  "points (%u refused at create)\n", n - 1, refused);
}

/* Partitions defined live: define, activate, deactivate, delete with each
 * allocation failing once. Whatever the answers, the table, the probe and
 * the state file on disk agree with them, and a refusal says why. */
static void test_partition_definitions(void **state)
{
    (void)state;
    unsigned long n;
    for (n = 1; n < MAX_POINTS; n++) {
        pmfx *f = pmfx_open("hgx-h100", OFM_FABRIC_MODE_SHARED, NULL);
        ofm_error err;
        assert_int_equal(pmfx_pm(f, false, &err), 0);
        alloc_fail_at(n);
        uint32_t g[] = {3, 1, 2};
        unsigned id = 0;
        char why[320] = "";
        fmReturn_t def = ofm_pm_define(f->pm, g, 3, true, 20, &id, why, sizeof why);
        fmReturn_t act = FM_ST_GENERIC_ERROR, deact = FM_ST_GENERIC_ERROR, del = FM_ST_GENERIC_ERROR;
        if (def == FM_ST_SUCCESS) {
            act = ofm_pm_activate(f->pm, 20, NULL, 0);
            if (act == FM_ST_SUCCESS)
                deact = ofm_pm_deactivate(f->pm, 20);
            if (act != FM_ST_SUCCESS || deact == FM_ST_SUCCESS)
                del = ofm_pm_undefine(f->pm, 20, why, sizeof why);
        }
        bool failed = alloc_failed();
        alloc_fail_at(0);
        if ((def != FM_ST_SUCCESS || (del != FM_ST_SUCCESS && def == FM_ST_SUCCESS &&
                                      (act != FM_ST_SUCCESS || deact == FM_ST_SUCCESS))) &&
            !why[0])
            fail_msg("allocation %lu: a refusal without a reason", n);
        ofm_partition_desc d;
        bool defined = ofm_pm_definition(f->pm, 20, &d);
        assert_int_equal(defined, def == FM_ST_SUCCESS && del != FM_ST_SUCCESS);
        unsigned active[1], na = 0;
        if (act == FM_ST_SUCCESS && deact != FM_ST_SUCCESS)
            active[na++] = 20;
        pmfx_check_isolation(f, active, na, 0);
        static ofm_pm_state st;
        assert_int_equal(ofm_pm_state_load(f->state, &st, &err), 0);
        bool recorded = false;
        for (size_t i = 0; i < st.npartitions; i++)
            recorded |= st.part_id[i] == 20 && st.live[i];
        assert_int_equal(recorded, defined);
        if (!failed && (def != FM_ST_SUCCESS || act != FM_ST_SUCCESS || deact != FM_ST_SUCCESS ||
                        del != FM_ST_SUCCESS))
            fail_msg("calls failed without an injected failure: %d %d %d %d (%s)", def, act, deact,
                     del, why);
        pmfx_close(f);
        if (!failed)
            break;
    }
    print_message("partitions defined live (define, activate, deactivate, delete): %lu allocation "
                  "failure points\n", n - 1);
}

static int group_setup(void **state)
{
    (void)state;
    /* libevent's own allocations are not counted: libevent 2.1 itself
     * crashes when one fails inside bufferevent_setwatermark (it uses the
     * callback entry it could not allocate). openfm's allocations on the
     * request path (connection, request decode, reply encode) are. */
    log_capture_start();
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    log_capture_stop();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_topology),
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_mig_config),
        cmocka_unit_test(test_partition_definitions),
        cmocka_unit_test(test_wire),
        cmocka_unit_test(test_server_request_path),
        cmocka_unit_test(test_partition_manager),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
