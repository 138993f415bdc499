/* The status document's JSON is the typed structure's only serialisation:
 * decoding what the encoder wrote gives back the same structure, and the
 * decoder refuses documents that do not follow the schema, naming the key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "status/status.h"
#include "wire/wire.h"

static ofm_status_doc a, b;

static void fill(ofm_status_doc *d)
{
    memset(d, 0, sizeof *d);
    ofm_fabric_status_init(&d->fabric);
    d->schema_version = OFM_STATUS_SCHEMA_VERSION;
    d->pid = 4242;
    strcpy(d->driver, "550.127.05");
    d->emulated = true;
    strcpy(d->emu_dir, "/tmp/emu");
    ofm_fabric_status *st = &d->fabric;
    st->state = OFM_SYS_DEGRADED;
    st->mode = OFM_FABRIC_MODE_SHARED;
    strcpy(st->platform, "hgx-a100");
    strcpy(st->topology_source, "built-in hgx-a100");
    strcpy(st->message, "degraded: \"quoted\" text");
    st->bringup_ns = 123456789;
    st->generation = 7;
    st->updated_ns = 1700000000123456789ull;
    st->ngpus = 2;
    for (size_t i = 0; i < 2; i++) {
        ofm_gpu_status *g = &st->gpus[i];
        g->phys_id = (uint32_t)i + 1;
        snprintf(g->uuid, sizeof g->uuid, "GPU-%zu", i);
        strcpy(g->pci_bdf, "0000:18:00.0");
        g->present = i == 0;
        g->health = i == 0 ? OFM_DEV_OK : OFM_DEV_FAILED;
        g->p2p = true;
        g->fabric_state = OFM_FABRIC_COMPLETED;
        g->fabric_status = i ? -1 : 0;
        g->links_usable = 11;
        g->links_active = 12;
        g->links_expected = 12;
        g->mig = i ? OFM_MIG_ENABLED : OFM_MIG_NA;
        g->mig_pending = i;
        g->mig_instances = 3;
        g->partition = i ? 5 : -1;
        g->last_xid = 79;
        g->xids = 2;
        g->link_retrains = 4;
    }
    st->nswitches = 1;
    st->switches[0] = (ofm_switch_status_entry){.id = 3, .status = OFM_SW_FAILED, .links_active = 30,
                                                .links_expected = 36, .sxid_fatal = 1, .sxid_nonfatal = 4};
    strcpy(st->switches[0].uuid, "SWX-1");
    st->access_active = 95;
    st->access_expected = 96;
    st->routes_programmed = 672;
    for (int i = 0; i < 40; i++) {
        ofm_fabric_error *e = &st->errors[st->errors_head];
        memset(e, 0, sizeof *e);
        e->seq = (uint64_t)i + 1;
        e->kind = i % 2 ? OFM_EVT_SXID : OFM_EVT_LINK_DOWN;
        e->code = (uint32_t)i;
        e->sw = 3;
        e->port = (uint32_t)i;
        snprintf(e->summary, sizeof e->summary, "error %d", i);
        st->errors_head = (st->errors_head + 1) % OFM_STATUS_MAX_ERRORS;
        st->errors_total++;
    }
    d->have_partitions = true;
    d->npartitions = 1;
    d->partitions[0] = (ofm_pm_entry){.id = 5, .supported = true, .active = true, .ngpus = 2,
                                      .gpus = {1, 2}, .nvfs = 1};
    d->partitions[0].vfs[0] = (fmPciDevice_t){.domain = 0, .bus = 0x41, .device = 0, .function = 4};
}

static void test_round_trip(void **state)
{
    (void)state;
    fill(&a);
    char *j1 = ofm_status_to_json(&a);
    assert_non_null(j1);
    ofm_error err;
    if (ofm_status_from_json(j1, &b, &err))
        fail_msg("decode failed: %s\n%s", err.msg, j1);
    char *j2 = ofm_status_to_json(&b);
    assert_string_equal(j1, j2);
    /* the typed fields survive, the error ring reads back oldest first */
    assert_int_equal(b.fabric.gpus[1].partition, 5);
    assert_int_equal(b.fabric.gpus[0].partition, -1);
    assert_int_equal(b.fabric.gpus[1].mig, OFM_MIG_ENABLED);
    assert_int_equal(b.fabric.gpus[1].link_retrains, 4);
    assert_int_equal(b.fabric.errors_total, 40);
    assert_int_equal(ofm_fabric_status_error(&b.fabric, 0)->seq, 9);
    assert_int_equal(ofm_fabric_status_error(&b.fabric, 31)->seq, 40);
    assert_int_equal(b.partitions[0].vfs[0].bus, 0x41);
    assert_int_equal(b.partitions[0].vfs[0].function, 4);
    free(j1);
    free(j2);
}

/* The worst case the SDK socket carries: a 72-GPU rack, a full error ring of
 * the longest summaries and the partition manager's whole table (256) of
 * 72-GPU partitions. It round-trips, past the 64 of the public structures,
 * and the compact form fits the wire's status limit. */
static void test_full_table_fits_the_wire(void **state)
{
    (void)state;
    fill(&a);
    ofm_fabric_status *st = &a.fabric;
    st->ngpus = OFM_MAX_GPUS;
    for (size_t i = 0; i < OFM_MAX_GPUS; i++) {
        st->gpus[i] = st->gpus[0];
        st->gpus[i].phys_id = (uint32_t)i + 1;
        st->gpus[i].partition = 32766;
        snprintf(st->gpus[i].uuid, sizeof st->gpus[i].uuid,
                 "GPU-%08zx-9d9e-7056-08b6-52be267d5758", i);
    }
    for (size_t i = 0; i < OFM_STATUS_MAX_ERRORS; i++) {
        memset(st->errors[i].summary, 'e', sizeof st->errors[i].summary - 1);
        st->errors[i].summary[sizeof st->errors[i].summary - 1] = '\0';
    }
    a.npartitions = OFM_PM_MAX_PARTITIONS;
    for (size_t i = 0; i < OFM_PM_MAX_PARTITIONS; i++) {
        ofm_pm_entry *p = &a.partitions[i];
        memset(p, 0, sizeof *p);
        p->id = i ? (uint32_t)i : 32766;
        p->supported = true;
        p->active = i == 200;
        p->ngpus = OFM_MAX_GPUS;
        for (uint32_t k = 0; k < OFM_MAX_GPUS; k++)
            p->gpus[k] = k + 1;
    }
    char *j = ofm_status_to_json_compact(&a);
    assert_non_null(j);
    if (strlen(j) >= OFM_WIRE_MAX_JSON)
        fail_msg("compact status of %zu bytes exceeds the wire's %u", strlen(j), OFM_WIRE_MAX_JSON);
    ofm_error err;
    if (ofm_status_from_json(j, &b, &err))
        fail_msg("decode failed: %s", err.msg);
    assert_int_equal(b.npartitions, OFM_PM_MAX_PARTITIONS);
    assert_int_equal(b.partitions[255].id, 255);
    assert_int_equal(b.partitions[255].gpus[71], 72);
    assert_true(b.partitions[200].active);
    char *pretty = ofm_status_to_json(&b), *again = ofm_status_to_json(&a);
    assert_string_equal(pretty, again); /* compact and pretty carry the same document */
    free(pretty);
    free(again);
    free(j);
}

/* Replace the first occurrence of `from` in the encoded document. */
static void expect_reject(const char *from, const char *to, const char *msg_part)
{
    fill(&a);
    char *j = ofm_status_to_json(&a);
    char *at = strstr(j, from);
    assert_non_null(at);
    size_t n = strlen(j) + strlen(to) + 1;
    char *m = malloc(n);
    snprintf(m, n, "%.*s%s%s", (int)(at - j), j, to, at + strlen(from));
    ofm_error err;
    if (ofm_status_from_json(m, &b, &err) == 0)
        fail_msg("accepted a document with '%s' -> '%s'", from, to);
    if (!strstr(err.msg, msg_part))
        fail_msg("error '%s' does not name '%s'", err.msg, msg_part);
    free(m);
    free(j);
}

static void test_rejects(void **state)
{
    (void)state;
    expect_reject("\"schema_version\":6", "\"schema_version\":9", "schema version 9");
    expect_reject("\"state\":\"DEGRADED\"", "\"state\":\"SLEEPY\"", "state: unknown value");
    expect_reject("\"links_usable\":11", "\"links_usable\":99", "gpus[0].links_usable: out of range");
    expect_reject("\"links_usable\":11", "\"links_usable\":\"11\"", "links_usable: wrong type");
    expect_reject("\"mig_mode\":\"N/A\"", "\"mig_mode\":\"On\"", "gpus[0].mig_mode");
    expect_reject("\"pid\":4242,", "", "pid: missing");
    expect_reject("\"errors_total\":40", "\"errors_total\":3", "errors_total");
    expect_reject("\"0000:41:00.4\"", "\"41:00\"", "vfs: not a PCI address");
    expect_reject("\"sxid_fatal\":1", "\"sxid_fatal\":-1", "sxid_fatal: negative");
    ofm_error err;
    assert_int_equal(ofm_status_from_json("[1,2]", &b, &err), -1);
    assert_int_equal(ofm_status_from_json("{\"schema_version\":6", &b, &err), -1);
    /* a platform name longer than the structure holds is refused, not cut */
    char big[400];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    char to[450];
    snprintf(to, sizeof to, "\"platform\":\"%s\"", big);
    expect_reject("\"platform\":\"hgx-a100\"", to, "platform: too long");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_rejects),
        cmocka_unit_test(test_full_table_fits_the_wire),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
