/* Catalog: every shipped file parses, models map to catalogs, malformed input
 * is rejected with file:line, CI profiles follow nvidia-smi -lcip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mig/mig.h"

static void test_every_model_catalogued(void **state)
{
    (void)state;
    static const char *want[] = {"A100-40GB", "A100-80GB", "A30-24GB", "H100-SXM5-80GB",
                                 "H100-PCIE-80GB", "H100-NVL-94GB", "H200-141GB", "GH200-144GB",
                                 "B200-180GB", "RTX-PRO-6000-96GB"};
    assert_int_equal(ofm_mig_catalog_count(), sizeof want / sizeof want[0]);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const ofm_mig_catalog *c = ofm_mig_catalog_by_name(want[i]);
        assert_non_null(c);
        assert_true(c->nprofiles >= 5);
        assert_int_not_equal(c->pci_id & 0xffff, 0);
        assert_int_equal(c->pci_id & 0xffff, 0x10DE);
    }
}

static void test_platform_models_match(void **state)
{
    (void)state;
    assert_string_equal(ofm_mig_catalog_for_model("A100-SXM4-80GB")->name, "A100-80GB");
    assert_string_equal(ofm_mig_catalog_for_model("A800-SXM4-80GB")->name, "A100-80GB");
    assert_string_equal(ofm_mig_catalog_for_model("A100-SXM4-40GB")->name, "A100-40GB");
    assert_string_equal(ofm_mig_catalog_for_model("H100-SXM5-80GB")->name, "H100-SXM5-80GB");
    assert_string_equal(ofm_mig_catalog_for_model("h800-sxm5-80gb")->name, "H100-SXM5-80GB");
    assert_null(ofm_mig_catalog_for_model("V100-SXM3-32GB")); /* HGX-2: no MIG */
}

static void test_names_resolve_per_device(void **state)
{
    (void)state;
    /* "1g.10gb" is ID 15 on the 40 GB card and ID 19 on the 80 GB card */
    assert_int_equal(ofm_mig_profile_lookup(ofm_mig_catalog_by_name("A100-40GB"), "1g.10gb")->id, 15);
    assert_int_equal(ofm_mig_profile_lookup(ofm_mig_catalog_by_name("A100-80GB"), "1g.10gb")->id, 19);
    const ofm_mig_catalog *c = ofm_mig_catalog_by_name("A100-80GB");
    assert_string_equal(ofm_mig_profile_lookup(c, "9")->name, "3g.40gb");
    assert_string_equal(ofm_mig_profile_lookup(c, "MIG 3g.40gb")->name, "3g.40gb");
    assert_null(ofm_mig_profile_lookup(c, "3g.20gb"));
    assert_null(ofm_mig_profile_lookup(c, "99"));
    const ofm_mig_gi_profile *p = ofm_mig_profile_lookup(c, "3g.40gb");
    assert_int_equal(p->slices, 4);
    assert_int_equal(p->compute, 3);
    assert_int_equal(p->nplacements, 2);
    assert_int_equal(p->placements[1], 4);
}

static void test_ci_profiles(void **state)
{
    (void)state;
    const ofm_mig_catalog *c = ofm_mig_catalog_by_name("A100-40GB");
    ofm_mig_ci_profile cp[8];
    size_t n = ofm_mig_ci_profiles(ofm_mig_profile_lookup(c, "3g.20gb"), cp, 8);
    assert_int_equal(n, 3);
    assert_string_equal(cp[0].name, "1c.3g.20gb");
    assert_int_equal(cp[0].max, 3);
    assert_int_equal(cp[0].sms, 14);
    assert_string_equal(cp[1].name, "2c.3g.20gb");
    assert_int_equal(cp[2].id, 2);
    assert_true(cp[2].is_default);
    assert_string_equal(cp[2].name, "3g.20gb");
    n = ofm_mig_ci_profiles(ofm_mig_profile_lookup(c, "4g.20gb"), cp, 8);
    assert_int_equal(n, 3); /* 1c, 2c, 4g */
    assert_int_equal(cp[2].id, 3);
    n = ofm_mig_ci_profiles(ofm_mig_profile_lookup(c, "7g.40gb"), cp, 8);
    assert_int_equal(n, 5); /* 1c 2c 3c 4c 7g */
    assert_int_equal(cp[4].id, 4);
    n = ofm_mig_ci_profiles(ofm_mig_profile_lookup(c, "1g.5gb"), cp, 8);
    assert_int_equal(n, 1);
    assert_int_equal(cp[0].id, 0);
    assert_true(cp[0].is_default);
}

static void expect_error(const char *text, unsigned line, const char *needle)
{
    ofm_mig_catalog c;
    ofm_error err;
    memset(&err, 0, sizeof err);
    assert_int_equal(ofm_mig_catalog_parse(text, strlen(text), "x.mig", &c, &err), -1);
    char buf[700];
    ofm_error_format(&err, buf, sizeof buf);
    if (err.line != line || !strstr(err.msg, needle))
        fail_msg("got '%s', want line %u containing '%s'", buf, line, needle);
}

#define HEAD "name T\nmodels T-1\npci 0x12340DE0\narch ampere\ngrid 8 7\n"
#define GIP "gip 9 3g.40gb 2 39.25 42 2 0 3 0 0 4 3 0 0,4\n"

static void test_malformed(void **state)
{
    (void)state;
    ofm_mig_catalog c;
    ofm_error err;
    const char *ok = HEAD GIP;
    assert_int_equal(ofm_mig_catalog_parse(ok, strlen(ok), "x.mig", &c, &err), 0);
    expect_error(HEAD "colour red\n", 6, "unknown or malformed directive 'colour'");
    expect_error(HEAD "gip 9 3g.40gb 2 39.25 42 2 0 3 0 0 4 3 0\n", 6, "14 fields");
    expect_error(HEAD "gip 9 3g.40gb 2 39.25 42 2 0 3 0 0 4 3 0 0,5\n", 6, "placement '5'");
    expect_error(HEAD "gip 9 3g.40gb 2 39.25 42 2 0 3 0 0 4 3 0 4,0\n", 6, "ascend");
    expect_error(HEAD "gip 9 3g.40gb 2 39.2x 42 2 0 3 0 0 4 3 0 0,4\n", 6, "bad memory '39.2x'");
    expect_error(HEAD "gip 9 3g.40gb 2 39.25 42 2 0 3 0 0 9 3 0 0\n", 6, "memory slice count '9'");
    expect_error(HEAD GIP GIP, 7, "duplicate profile");
    expect_error("name T\nmodels T\npci 0x12340DE0\narch volta\n", 4, "unknown arch 'volta'");
    expect_error("name T\npci 20B0\n", 2, "bad PCI ID '20B0'");
    expect_error("name T\nmodels T\narch ampere\ngip 9 3g.40gb 2 39.25 42 2 0 3 0 0 4 3 0 0,4\n", 4,
                 "'grid' must come before");
    expect_error("name T\n", 0, "incomplete catalog");
    expect_error(HEAD "gip 9 3g.40gb 2 39.25 42 2 0 3 0 0 4 3 0 0,4 extra\n", 6, "14 fields");
    char nul[] = HEAD "gip\0\n";
    assert_int_equal(ofm_mig_catalog_parse(nul, sizeof nul - 1, "x.mig", &c, &err), -1);
    assert_int_equal(err.line, 6);
}

/* The shipped files parse on their own (the embedded copies are the same bytes). */
static void test_shipped_files_parse(void **state)
{
    (void)state;
    const char *data = getenv("OPENFM_DATA_DIR");
    assert_non_null(data);
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/mig", data);
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        size_t l = strlen(e->d_name);
        if (l < 5 || strcmp(e->d_name + l - 4, ".mig"))
            continue;
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "r");
        assert_non_null(f);
        static char buf[1 << 16];
        size_t len = fread(buf, 1, sizeof buf, f);
        fclose(f);
        ofm_mig_catalog c;
        ofm_error err;
        if (ofm_mig_catalog_parse(buf, len, path, &c, &err)) {
            char msg[700];
            fail_msg("%s", ofm_error_format(&err, msg, sizeof msg));
        }
        assert_non_null(ofm_mig_catalog_by_name(c.name));
        n++;
    }
    closedir(d);
    assert_int_equal(n, ofm_mig_catalog_count());
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_model_catalogued),
        cmocka_unit_test(test_platform_models_match),
        cmocka_unit_test(test_names_resolve_per_device),
        cmocka_unit_test(test_ci_profiles),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_shipped_files_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
