/* fmctl topo as an operator sees it: run the binary, read what it prints. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

static char out[1 << 20];

static int run(const char *args)
{
    const char *bd = getenv("OPENFM_BUILD_DIR");
    assert_non_null(bd);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s/bin/fmctl topo %s 2>&1", bd, args);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    size_t n = fread(out, 1, sizeof out - 1, f);
    out[n] = '\0';
    int st = pclose(f);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The cell in row `row` (0-based GPU index) and column `col` of the matrix. */
static void cell(int row, int col, char *buf)
{
    char *line = strchr(out, '\n') + 1; /* skip header */
    for (int i = 0; i < row; i++)
        line = strchr(line, '\n') + 1;
    char *save, copy[512];
    snprintf(copy, sizeof copy, "%.*s", (int)(strchr(line, '\n') - line), line);
    char *t = strtok_r(copy, " ", &save);
    for (int i = 0; i <= col; i++)
        t = strtok_r(NULL, " ", &save);
    strcpy(buf, t);
}

static void test_matrix(void **state)
{
    (void)state;
    char c[32];
    assert_int_equal(run("matrix"), 0); /* default platform: hgx-h100 */
    assert_non_null(strstr(out, "GPU1   GPU2"));
    cell(0, 0, c);
    assert_string_equal(c, "X");
    cell(0, 7, c);
    assert_string_equal(c, "NV18");
    assert_int_equal(run("matrix hgx-a100-2b"), 0);
    cell(0, 15, c);
    assert_string_equal(c, "NV12");
    cell(15, 15, c);
    assert_string_equal(c, "X");
    assert_int_equal(run("matrix hgx-2"), 0);
    cell(3, 12, c);
    assert_string_equal(c, "NV6");
}

static void test_json_and_errors(void **state)
{
    (void)state;
    assert_int_equal(run("partitions --json hgx-h100"), 0);
    assert_non_null(strstr(out, "\"id\":14"));
    assert_int_equal(run("show --json hgx-a100-2b"), 0);
    assert_non_null(strstr(out, "\"trunk_ports\":16"));
    assert_int_equal(run("show nope"), 2);
    assert_non_null(strstr(out, "unknown platform 'nope' (built-in: "));
    assert_int_equal(run("show /nonexistent.topo"), 2);
    assert_non_null(strstr(out, "/nonexistent.topo: cannot open topology file"));
    assert_int_equal(run("bogus"), 2);
    assert_int_equal(run("--help"), 0);
    assert_non_null(strstr(out, "hgx-a100-top"));
}

/* HGX H200: the operator sees H200 GPUs on the H100 wiring. */
static void test_h200(void **state)
{
    (void)state;
    char c[32];
    assert_int_equal(run("show hgx-h200"), 0);
    assert_non_null(strstr(out, "hgx-h200"));
    assert_non_null(strstr(out, "H200-SXM5-141GB"));
    assert_non_null(strstr(out, "Access links (144)"));
    assert_int_equal(run("matrix hgx-h200"), 0);
    cell(0, 7, c);
    assert_string_equal(c, "NV18");
    cell(4, 4, c);
    assert_string_equal(c, "X");
    assert_int_equal(run("partitions hgx-h200 --json"), 0);
    assert_non_null(strstr(out, "\"platform\":\"hgx-h200\""));
    assert_non_null(strstr(out, "\"id\":0"));
    assert_non_null(strstr(out, "\"id\":14"));
    assert_null(strstr(out, "\"id\":15"));
}

/* HGX B200: two 72-port gen4 chips, NV18 everywhere, B200's partition IDs. */
static void test_b200(void **state)
{
    (void)state;
    char c[32];
    assert_int_equal(run("show hgx-b200"), 0);
    assert_non_null(strstr(out, "B200-SXM6-180GB"));
    assert_non_null(strstr(out, "gen4"));
    assert_non_null(strstr(out, "Access links (144)"));
    assert_int_equal(run("matrix hgx-b200"), 0);
    cell(0, 7, c);
    assert_string_equal(c, "NV18");
    cell(3, 2, c);
    assert_string_equal(c, "NV18");
    cell(7, 7, c);
    assert_string_equal(c, "X");
    assert_int_equal(run("partitions hgx-b200 --json"), 0);
    assert_non_null(strstr(out, "\"platform\":\"hgx-b200\""));
    assert_null(strstr(out, "\"id\":0,"));
    assert_non_null(strstr(out, "\"id\":1,"));
    assert_non_null(strstr(out, "\"id\":15"));
}

static void test_file_path(void **state)
{
    (void)state;
    char args[512];
    snprintf(args, sizeof args, "partitions %s/topologies/hgx-2.topo", getenv("OPENFM_DATA_DIR"));
    assert_int_equal(run(args), 0);
    assert_non_null(strstr(out, "Default partitions of hgx-2 (33)"));
    assert_non_null(strstr(out, "1,4,6,7,9,12,14,15"));
}

static void test_show_and_option_order(void **state)
{
    (void)state;
    assert_int_equal(run("show hgx-a100-2b"), 0);
    assert_non_null(strstr(out, "Access links (192)"));
    assert_non_null(strstr(out, "Trunk links (96)"));
    assert_non_null(strstr(out, "switch 1 port 23 <-> switch 7 port 23"));
    assert_null(strstr(out, "switch 1 port 8 <-> "));
    /* --json after the platform name, as operators type it */
    assert_int_equal(run("partitions hgx-h800 --json"), 0);
    assert_non_null(strstr(out, "\"platform\":\"hgx-h800\""));
    assert_int_equal(run("show a b"), 2);
    assert_non_null(strstr(out, "too many arguments: 'b' after 'a'"));
    assert_int_equal(run("show -x"), 2);
    assert_non_null(strstr(out, "unknown option '-x'"));
}

static void test_malformed_file(void **state)
{
    (void)state;
    char dir[] = "/tmp/ofm-topo-test-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256], args[512];
    snprintf(path, sizeof path, "%s/bad.topo", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("platform bad\nali no\ngpu 1 model=X nvlinks=2 rate=25000 board=1 colour=red\n", f);
    fclose(f);
    snprintf(args, sizeof args, "matrix %s", path);
    int rc = run(args);
    unlink(path);
    rmdir(dir);
    assert_int_equal(rc, 2);
    char want[600];
    snprintf(want, sizeof want, "fmctl topo: %s:3: unknown key 'colour'\n", path);
    assert_string_equal(out, want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matrix),
        cmocka_unit_test(test_json_and_errors),
        cmocka_unit_test(test_file_path),
        cmocka_unit_test(test_h200),
        cmocka_unit_test(test_b200),
        cmocka_unit_test(test_show_and_option_order),
        cmocka_unit_test(test_malformed_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
