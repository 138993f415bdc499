/* `cmake --install` of the SDK component into a DESTDIR staging tree,
 * then an out-of-tree client built with only `pkg-config --cflags --libs
 * nvfm` from that tree, run against the real API server (fake handlers).
 * The same client source is also checked as C++. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "fake_server.h"
#include "nv_fm_agent.h"
#include "sdk_util.h"

#ifndef NVFM_TEST_SAN_FLAGS
#define NVFM_TEST_SAN_FLAGS ""
#endif

/* Runs a shell command, capturing stdout+stderr into out. */
static int run(const char *cmd, char *out, size_t outlen)
{
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, outlen - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    if (st != 0)
        print_message("command failed (%d): %s\n%s\n", st, cmd, out);
    return st;
}

static void test_install_and_build_client(void **state)
{
    (void)state;
    const char *build = getenv("OPENFM_BUILD_DIR");
    const char *src = getenv("OPENFM_SOURCE_DIR");
    assert_non_null(build);
    assert_non_null(src);
    char *dir = tmpdir_make();
    static char cmd[16384], out[16384];

    snprintf(cmd, sizeof cmd,
             "DESTDIR='%s/stage' '%s' --install '%s' --component sdk --prefix /opt/nvfm 2>&1",
             dir, NVFM_TEST_CMAKE, build);
    assert_int_equal(run(cmd, out, sizeof out), 0);
    char pc[4400], hdr[4400];
    snprintf(pc, sizeof pc, "%s/stage/opt/nvfm/%s/pkgconfig/nvfm.pc", dir, NVFM_TEST_LIBDIR);
    snprintf(hdr, sizeof hdr, "%s/stage/opt/nvfm/include/nv_fm_agent.h", dir);
    struct stat st;
    assert_int_equal(stat(pc, &st), 0);
    assert_int_equal(stat(hdr, &st), 0);
    snprintf(hdr, sizeof hdr, "%s/stage/opt/nvfm/%s/libnvfm.so.1", dir, NVFM_TEST_LIBDIR);
    assert_int_equal(stat(hdr, &st), 0);

    char pcenv[4400];
    snprintf(pcenv, sizeof pcenv, "PKG_CONFIG_PATH='%s/stage/opt/nvfm/%s/pkgconfig' "
             "PKG_CONFIG_LIBDIR=", dir, NVFM_TEST_LIBDIR);

    /* C, strict. */
    snprintf(cmd, sizeof cmd,
             "%s '%s' -std=c99 -Wall -Wextra -pedantic -Werror %s "
             "'%s/tests/sdk/install_client.c' -o '%s/client' "
             "$(%s pkg-config --cflags --libs nvfm) 2>&1",
             pcenv, NVFM_TEST_CC, NVFM_TEST_SAN_FLAGS, src, dir, pcenv);
    assert_int_equal(run(cmd, out, sizeof out), 0);

    /* C++: the headers compile cleanly in a C++ translation unit (c++ comes
     * with build-essential, which the build requires). */
    snprintf(cmd, sizeof cmd,
             "c++ -std=c++11 -Wall -Wextra -pedantic -Werror -fsyntax-only -x c++ "
             "'%s/tests/sdk/install_client.c' $(%s pkg-config --cflags nvfm) 2>&1",
             src, pcenv);
    assert_int_equal(run(cmd, out, sizeof out), 0);

    fake_server fs;
    fake_server_start(&fs, NULL, 0);
    snprintf(cmd, sizeof cmd, "LD_LIBRARY_PATH='%s/stage/opt/nvfm/%s' '%s/client' 127.0.0.1:%u 2>&1",
             dir, NVFM_TEST_LIBDIR, dir, (unsigned)fs.port);
    int rc = run(cmd, out, sizeof out);
    fake_server_stop(&fs);
    assert_int_equal(rc, 0);
    assert_string_equal(out, "partitions=3\n");
    tmpdir_remove(dir);
}

/* Every public name of NVIDIA's header, with its value (names_client.c),
 * against the installed headers: as C99 and C11 (built, linked and run) and
 * as C++11 (built; a compile-time check per value). */
static void test_every_public_name(void **state)
{
    (void)state;
    const char *build = getenv("OPENFM_BUILD_DIR");
    const char *src = getenv("OPENFM_SOURCE_DIR");
    char *dir = tmpdir_make();
    static char cmd[16384], out[16384];
    snprintf(cmd, sizeof cmd,
             "DESTDIR='%s/stage' '%s' --install '%s' --component sdk --prefix /usr 2>&1", dir,
             NVFM_TEST_CMAKE, build);
    assert_int_equal(run(cmd, out, sizeof out), 0);
    char inc[4400], lib[4400];
    snprintf(inc, sizeof inc, "%s/stage/usr/include", dir);
    snprintf(lib, sizeof lib, "%s/stage/usr/%s", dir, NVFM_TEST_LIBDIR);

    const char *stds[] = {"c99", "c11"};
    for (unsigned i = 0; i < 2; i++) {
        snprintf(cmd, sizeof cmd,
                 "'%s' -std=%s -Wall -Wextra -pedantic -Werror %s -I'%s' "
                 "'%s/tests/sdk/names_client.c' -o '%s/names_%s' -L'%s' -lnvfm 2>&1",
                 NVFM_TEST_CC, stds[i], NVFM_TEST_SAN_FLAGS, inc, src, dir, stds[i], lib);
        assert_int_equal(run(cmd, out, sizeof out), 0);
        snprintf(cmd, sizeof cmd, "LD_LIBRARY_PATH='%s' '%s/names_%s' 2>&1", lib, dir, stds[i]);
        assert_int_equal(run(cmd, out, sizeof out), 0);
        assert_string_equal(out, "entry points=11 fields=8\n");
    }
    snprintf(cmd, sizeof cmd,
             "c++ -std=c++11 -Wall -Wextra -pedantic -Werror -x c++ -c -I'%s' "
             "'%s/tests/sdk/names_client.c' -o '%s/names_cxx.o' 2>&1",
             inc, src, dir);
    assert_int_equal(run(cmd, out, sizeof out), 0);
    tmpdir_remove(dir);
}

static void test_dlopen_exports(void **state)
{
    /* Go and other dlopen() users resolve the documented names from
     * libnvfm.so; nothing internal leaks into their namespace. */
    (void)state;
    char path[4096];
    snprintf(path, sizeof path, "%s/lib/libnvfm.so", getenv("OPENFM_BUILD_DIR"));
    void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!lib)
        fail_msg("dlopen %s: %s", path, dlerror());
    const char *api[] = {"fmLibInit", "fmLibShutdown", "fmConnect", "fmDisconnect",
                         "fmGetSupportedFabricPartitions", "fmActivateFabricPartition",
                         "fmActivateFabricPartitionWithVFs", "fmDeactivateFabricPartition",
                         "fmSetActivatedFabricPartitions", "fmGetNvlinkFailedDevices",
                         "fmGetUnsupportedFabricPartitions"};
    for (unsigned i = 0; i < sizeof api / sizeof api[0]; i++)
        if (!dlsym(lib, api[i]))
            fail_msg("libnvfm.so does not export %s", api[i]);
    assert_null(dlsym(lib, "ofm_wire_encode_request"));
    assert_null(dlsym(lib, "nvfm_call"));
    assert_null(dlsym(lib, "ofm_error_set"));
    typedef fmReturn_t (*init_fn)(void);
    init_fn init, shut;
    *(void **)&init = dlsym(lib, "fmLibInit");
    *(void **)&shut = dlsym(lib, "fmLibShutdown");
    assert_int_equal(init(), FM_ST_SUCCESS);
    assert_int_equal(shut(), FM_ST_SUCCESS);
    dlclose(lib);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_install_and_build_client),
        cmocka_unit_test(test_every_public_name),
        cmocka_unit_test(test_dlopen_exports),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
