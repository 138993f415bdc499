/* One case per class of malformed topology input: the exact message and the
 * line it names. The loader must reject each without crashing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "openfm/platform.h"

#define HDR "platform t\nali no\n"
#define DEV "gpu 1 model=X nvlinks=2 rate=25000 board=1\ngpu 2 model=X nvlinks=2 rate=25000 board=1\n" \
            "switch 1 gen=2 ports=4 board=1\nswitch 2 gen=2 ports=4 board=1\n"

/* two baseboards, GPUs 1-8 and 9-16 (lines 3-18), two switches (19-20) */
#define G(n, b) "gpu " #n " model=X nvlinks=2 rate=25000 board=" #b "\n"
#define DEV2B G(1, 1) G(2, 1) G(3, 1) G(4, 1) G(5, 1) G(6, 1) G(7, 1) G(8, 1) \
              G(9, 2) G(10, 2) G(11, 2) G(12, 2) G(13, 2) G(14, 2) G(15, 2) G(16, 2) \
              "switch 1 gen=2 ports=4 board=1\nswitch 2 gen=2 ports=4 board=2\n"

static const struct {
    const char *name;
    const char *text;
    unsigned line;
    const char *msg;
} cases[] = {
    {"unknown keyword", HDR "gpus 1\n", 3, "unknown keyword 'gpus'"},
    {"unknown key", HDR "gpu 1 model=X nvlinks=2 rate=1 board=1 color=red\n", 3, "unknown key 'color'"},
    {"missing key", HDR "gpu 1 model=X nvlinks=2 rate=1\n", 3, "missing key 'board'"},
    {"key twice", HDR "gpu 1 model=X nvlinks=2 nvlinks=3 rate=1 board=1\n", 3, "key 'nvlinks' given twice"},
    {"bad number", HDR "gpu 1x model=X nvlinks=2 rate=1 board=1\n", 3, "GPU ID: '1x' is not a number"},
    {"negative number", HDR "gpu -1 model=X nvlinks=2 rate=1 board=1\n", 3, "GPU ID: '-1' is not a number"},
    {"overflow", HDR "gpu 99999999999 model=X nvlinks=2 rate=1 board=1\n", 3, "GPU ID: '99999999999' is too large"},
    {"out of range", HDR "switch 1 gen=5 ports=4 board=1\n", 3, "gen: 5 is out of range 1-4"},
    {"ports beyond 72", HDR "switch 1 gen=4 ports=73 board=1\n", 3, "ports: 73 is out of range 1-72"},
    {"duplicate GPU", HDR "gpu 1 model=X nvlinks=2 rate=1 board=1\ngpu 1 model=X nvlinks=2 rate=1 board=1\n", 4,
     "duplicate GPU ID 1 (first declared on line 3)"},
    {"duplicate switch", HDR "switch 1 gen=2 ports=4 board=1\nswitch 1 gen=2 ports=4 board=1\n", 4,
     "duplicate switch ID 1 (first declared on line 3)"},
    {"GPU link twice", HDR DEV "access gpu=1 link=0 switch=1 port=0\naccess gpu=1 link=0 switch=2 port=0\n", 8,
     "GPU 1 link 0 is already connected to switch 1 port 0"},
    {"port twice", HDR DEV "access gpu=1 link=0 switch=1 port=0\naccess gpu=2 link=0 switch=1 port=0\n", 8,
     "switch 1 port 0 is already used by GPU 1 link 0"},
    {"port used by trunk", HDR DEV "trunk 1:3 2:3\naccess gpu=2 link=0 switch=1 port=3\n", 8,
     "switch 1 port 3 is already used by trunk 1:3 2:3"},
    {"port beyond count", HDR DEV "access gpu=1 link=0 switch=1 port=4\n", 7, "switch 1 port 4 is beyond its 4 ports"},
    {"GPU link beyond count", HDR DEV "access gpu=1 link=2 switch=1 port=0\n", 7, "GPU 1 link 2 is beyond its 2 NVLinks"},
    {"undeclared GPU", HDR DEV "access gpu=3 link=0 switch=1 port=0\n", 7,
     "GPU 3 is not declared (declare it with a 'gpu' line first)"},
    {"undeclared switch", HDR DEV "access gpu=1 link=0 switch=9 port=0\n", 7,
     "switch 9 is not declared (declare it with a 'switch' line first)"},
    {"trunk to itself", HDR DEV "trunk 1:0 1:1\n", 7, "trunk connects switch 1 to itself"},
    {"asymmetric trunk", HDR DEV "trunk 1:0 2:0\ntrunk 2:0 1:1\n", 8, "switch 2 port 0 is already used by trunk 1:0 2:0"},
    {"trunk shape", HDR DEV "trunk 1:0\n", 7, "'trunk' takes two ends: SWITCH:PORT SWITCH:PORT"},
    {"partition unknown GPU", HDR DEV "partition 0 gpus=1-3 nvlinks=2\n", 7, "partition 0 names GPU 3, which is not declared"},
    {"partition GPU twice", HDR DEV "partition 0 gpus=1,2,1 nvlinks=2\n", 7, "partition 0 lists GPU 1 twice"},
    {"duplicate partition", HDR DEV "partition 0 gpus=1 nvlinks=0\npartition 0 gpus=2 nvlinks=0\n", 8,
     "duplicate partition ID 0 (first declared on line 7)"},
    /* FM §11.2.2: custom partitions must respect the baseboards */
    {"2-GPU partition across baseboards", HDR DEV2B "partition 5 gpus=1,9 nvlinks=2\n", 21,
     "partition 5: a 2-GPU partition must lie on one baseboard, but its GPUs are on baseboards 1 "
     "and 2 (GPU 1 and GPU 9) (FM §11.2.2)"},
    {"4-GPU partition across baseboards", HDR DEV2B "partition 6 gpus=1-3,9 nvlinks=2\n", 21,
     "partition 6: a 4-GPU partition must lie on one baseboard, but its GPUs are on baseboards 1 "
     "and 2 (GPU 1 and GPU 9) (FM §11.2.2)"},
    {"8-GPU partition split 5+3", HDR DEV2B "partition 1 gpus=1-5,9-11 nvlinks=2\n", 21,
     "partition 1: an 8-GPU partition spanning two baseboards must have four GPUs on each, but has "
     "5 on baseboard 1 (GPUs 1,2,3,4,5) (FM §11.2.2)"},
    {"no platform line", "ali no\n", 1, "'ali' before the 'platform' line (the file must start with 'platform NAME')"},
    {"empty file", "", 0, "no 'platform' line: empty or truncated file"},
    {"truncated record", HDR DEV "access gpu=1 link=0 sw", 7, "last line has no newline: truncated file?"},
    {"missing ali", "platform t\n", 0, "missing 'ali yes|no' line"},
    {"no GPUs", HDR "switch 1 gen=2 ports=4 board=1\n", 0, "no GPUs declared"},
    {"ALI mismatch", "platform t\nali yes\ngpu 1 model=X nvlinks=2 rate=1 board=1\nswitch 1 gen=2 ports=4 board=1\n", 4,
     "switch 1 is gen2 but the platform says 'ali yes' (ALI is a gen3 feature)"},
    {"control char", HDR "gpu 1 model=X\x01 nvlinks=2 rate=1 board=1\n", 3, "control character 0x01 in line"},
};

static void test_cases(void **state)
{
    (void)state;
    static ofm_platform p;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ofm_error e;
        memset(&e, 0, sizeof e);
        int rc = ofm_platform_parse(cases[i].text, strlen(cases[i].text), "t.topo", &p, &e);
        if (rc != -1)
            fail_msg("case '%s' was accepted", cases[i].name);
        if (e.line != cases[i].line || strcmp(e.msg, cases[i].msg))
            fail_msg("case '%s': got line %u '%s', want line %u '%s'", cases[i].name, e.line, e.msg,
                     cases[i].line, cases[i].msg);
        assert_string_equal(e.origin, "t.topo");
    }
}

/* What the rules allow: one-board 2/4-GPU partitions, 4+4 across boards. */
static void test_partition_rules_accept(void **state)
{
    (void)state;
    static ofm_platform p;
    static const char text[] = HDR DEV2B "partition 0 gpus=1-16 nvlinks=2\npartition 1 gpus=1-4,9-12 "
                               "nvlinks=2\npartition 2 gpus=13,14 nvlinks=2\npartition 3 gpus=5-8 "
                               "nvlinks=2\npartition 4 gpus=1 nvlinks=0\n";
    ofm_error e;
    if (ofm_platform_parse(text, strlen(text), "t.topo", &p, &e))
        fail_msg("rejected: %u %s", e.line, e.msg);
    assert_int_equal(p.npartitions, 5);
}

static void test_nul_and_long_lines(void **state)
{
    (void)state;
    static ofm_platform p;
    ofm_error e;
    const char nul[] = "platform t\nali no\ngpu 1\0 model=X\n";
    assert_int_equal(ofm_platform_parse(nul, sizeof nul - 1, "t.topo", &p, &e), -1);
    assert_int_equal(e.line, 3);
    assert_string_equal(e.msg, "NUL byte in line");
    char longl[2000];
    memset(longl, 'a', sizeof longl);
    memcpy(longl, "platform t\n", 11);
    assert_int_equal(ofm_platform_parse(longl, sizeof longl, "t.topo", &p, &e), -1);
    assert_int_equal(e.line, 2);
    assert_string_equal(e.msg, "line longer than 511 characters");
}

static void test_too_many_records(void **state)
{
    (void)state;
    static ofm_platform p;
    static char buf[8192];
    size_t off = (size_t)snprintf(buf, sizeof buf, "platform t\nali no\n");
    for (int i = 0; i <= OFM_MAX_GPUS; i++)
        off += (size_t)snprintf(buf + off, sizeof buf - off, "gpu %d model=X nvlinks=1 rate=1 board=1\n", i);
    ofm_error e;
    assert_int_equal(ofm_platform_parse(buf, off, "t.topo", &p, &e), -1);
    assert_int_equal(e.line, 3 + OFM_MAX_GPUS);
    assert_string_equal(e.msg, "too many GPUs (at most 72)");
}

static void test_valid_minimal_and_file_errors(void **state)
{
    (void)state;
    static ofm_platform p;
    const char *ok = HDR DEV "access gpu=1 link=0 switch=1 port=0 # trailing comment\n"
                             "partition 3 gpus=2,1 nvlinks=1\n# last line comment without newline";
    ofm_error e;
    assert_int_equal(ofm_platform_parse(ok, strlen(ok), "t.topo", &p, &e), 0);
    assert_int_equal(p.naccess, 1);
    assert_int_equal(p.partitions[0].gpus[0], 1); /* sorted */
    assert_int_equal(ofm_platform_load_file("/nonexistent/x.topo", &p, &e), -1);
    assert_string_equal(e.origin, "/nonexistent/x.topo");
    assert_string_equal(e.msg, "cannot open topology file: No such file or directory");
    char dir[] = "/tmp/ofm-topo-dir-XXXXXX";
    assert_non_null(mkdtemp(dir));
    int rc = ofm_platform_load_file(dir, &p, &e);
    rmdir(dir);
    assert_int_equal(rc, -1);
    assert_string_equal(e.msg, "topology file is a directory, not a regular file");
    assert_int_equal(ofm_platform_load("no-such-board", NULL, &p, &e), -1);
    assert_non_null(strstr(e.msg, "unknown platform 'no-such-board' (built-in: "));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_partition_rules_accept),
        cmocka_unit_test(test_nul_and_long_lines),
        cmocka_unit_test(test_too_many_records),
        cmocka_unit_test(test_valid_minimal_and_file_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
