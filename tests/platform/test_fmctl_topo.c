/* fmctl topo as an operator sees it: run the binary, read what it prints. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

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

static void test_file_path(void **state)
{
    (void)state;
    char args[512];
    snprintf(args, sizeof args, "partitions %s/topologies/hgx-2.topo", getenv("OPENFM_DATA_DIR"));
    assert_int_equal(run(args), 0);
    assert_non_null(strstr(out, "Default partitions of hgx-2 (33)"));
    assert_non_null(strstr(out, "1,4,6,7,9,12,14,15"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matrix),
        cmocka_unit_test(test_json_and_errors),
        cmocka_unit_test(test_file_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
