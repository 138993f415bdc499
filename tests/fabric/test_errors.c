/* SXid / Xid tables: spot checks against the guide (FM §3.3, §9.6.1.2,
 * §13.4-§13.7). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "fabric/fabric.h"

static void non_fatal(void **s)
{
    (void)s;
    const ofm_sxid_info *i = ofm_sxid_lookup(11004);
    assert_non_null(i);
    assert_int_equal(i->cls, OFM_SXID_NON_FATAL);
    assert_string_equal(i->name, "Ingress invalid ACL");
    assert_non_null(strstr(i->guest_impact, "Xid 45"));
    assert_int_equal(ofm_sxid_lookup(20001)->cls, OFM_SXID_NON_FATAL);
    assert_int_equal(ofm_sxid_lookup(24003)->cls, OFM_SXID_NON_FATAL);
    assert_int_equal(ofm_sxid_lookup(22013)->cls, OFM_SXID_NON_FATAL);
    assert_string_equal(ofm_sxid_class_name(OFM_SXID_NON_FATAL), "non-fatal");
}

static void fatal(void **s)
{
    (void)s;
    const uint32_t codes[] = {11001, 12002, 14017, 15013, 19047, 19070, 20034, 22012, 24007};
    for (size_t k = 0; k < sizeof codes / sizeof codes[0]; k++) {
        const ofm_sxid_info *i = ofm_sxid_lookup(codes[k]);
        assert_non_null(i);
        assert_int_equal(i->cls, OFM_SXID_FATAL);
    }
    assert_string_equal(ofm_sxid_lookup(12002)->name, "Egress packet route");
    assert_string_equal(ofm_sxid_class_name(OFM_SXID_FATAL), "fatal");
}

static void always_fatal(void **s)
{
    (void)s;
    for (uint32_t c = 23001; c <= 23017; c++)
        assert_int_equal(ofm_sxid_lookup(c)->cls, OFM_SXID_ALWAYS_FATAL);
    assert_int_equal(ofm_sxid_lookup(12020)->cls, OFM_SXID_ALWAYS_FATAL);
    assert_int_equal(ofm_sxid_lookup(22003)->cls, OFM_SXID_ALWAYS_FATAL);
    assert_int_equal(ofm_sxid_lookup(22011)->cls, OFM_SXID_ALWAYS_FATAL);
    assert_string_equal(ofm_sxid_class_name(OFM_SXID_ALWAYS_FATAL), "always fatal");
}

static void notable(void **s)
{
    (void)s;
    for (uint32_t c = 10001; c <= 10005; c++)
        assert_int_equal(ofm_sxid_lookup(c)->cls, OFM_SXID_NOTABLE);
    assert_non_null(strstr(ofm_sxid_lookup(10004)->guest_impact, "cooling"));
}

static void unknown_by_flag(void **s)
{
    (void)s;
    assert_null(ofm_sxid_lookup(99999));
    assert_int_equal(ofm_sxid_classify(99999, true), OFM_SXID_FATAL);
    assert_int_equal(ofm_sxid_classify(99999, false), OFM_SXID_NON_FATAL);
    /* The table wins over the hardware flag for listed numbers. */
    assert_int_equal(ofm_sxid_classify(23001, false), OFM_SXID_ALWAYS_FATAL);
}

static void recovery_by_scope(void **s)
{
    (void)s;
    const char *acc = ofm_sxid_recovery(OFM_SXID_FATAL, false, OFM_FABRIC_MODE_BARE_METAL);
    const char *trk = ofm_sxid_recovery(OFM_SXID_FATAL, true, OFM_FABRIC_MODE_BARE_METAL);
    /* FM §3.3.1.2: access port -> reset the GPU(s); trunk -> reset all GPUs
     * and switches with FM stopped, without -i. */
    assert_non_null(strstr(acc, "nvidia-smi -r"));
    assert_null(strstr(acc, "stop the fabric manager"));
    assert_non_null(strstr(trk, "stop the fabric manager"));
    assert_non_null(strstr(trk, "without -i"));
    assert_non_null(strstr(ofm_sxid_recovery(OFM_SXID_FATAL, true, OFM_FABRIC_MODE_SHARED), "span the trunk"));
    assert_non_null(strstr(ofm_sxid_recovery(OFM_SXID_ALWAYS_FATAL, false, OFM_FABRIC_MODE_SHARED), "reboot the host"));
    assert_non_null(strstr(ofm_sxid_recovery(OFM_SXID_NON_FATAL, true, OFM_FABRIC_MODE_BARE_METAL), "continue"));
}

static void xids(void **s)
{
    (void)s;
    assert_true(ofm_xid_lookup(48)->exclusion_candidate);
    assert_true(ofm_xid_lookup(79)->exclusion_candidate);
    assert_false(ofm_xid_lookup(45)->exclusion_candidate);
    assert_non_null(strstr(ofm_xid_lookup(74)->meaning, "NVLink"));
    assert_null(ofm_xid_lookup(1));
    assert_non_null(strstr(ofm_xid_recovery(48), "NVreg_ExcludedGpus"));
    assert_non_null(strstr(ofm_xid_recovery(45), "nvidia-smi -r"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(non_fatal), cmocka_unit_test(fatal), cmocka_unit_test(always_fatal),
        cmocka_unit_test(notable), cmocka_unit_test(unknown_by_flag),
        cmocka_unit_test(recovery_by_scope), cmocka_unit_test(xids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
