/* The status document's per-GPU Fabric words are nvidia-smi's (FM §1.5):
 * a GPU still registering reads "In Progress" with status "N/A", a finished
 * one "Completed" with "Success" or its failure, a GPU outside registration
 * "N/A" twice. What fmctl status prints comes from here. */
#include <json-c/json.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "status/status.h"

static void gpu_words(const char *doc, size_t i, const char **state, const char **status)
{
    static json_object *o;
    if (o)
        json_object_put(o);
    o = json_tokener_parse(doc);
    assert_non_null(o);
    json_object *gpus, *g, *v;
    assert_true(json_object_object_get_ex(o, "gpus", &gpus));
    g = json_object_array_get_idx(gpus, i);
    assert_non_null(g);
    assert_true(json_object_object_get_ex(g, "fabric_state", &v));
    *state = json_object_get_string(v);
    assert_true(json_object_object_get_ex(g, "fabric_status", &v));
    *status = json_object_get_string(v);
}

static void fabric_words(void **s)
{
    (void)s;
    static ofm_status_doc d;
    ofm_fabric_status_init(&d.fabric);
    d.fabric.ngpus = 5;
    d.fabric.gpus[0] = (ofm_gpu_status){.phys_id = 1, .fabric_state = OFM_FABRIC_IN_PROGRESS};
    d.fabric.gpus[1] = (ofm_gpu_status){.phys_id = 2, .fabric_state = OFM_FABRIC_COMPLETED};
    d.fabric.gpus[2] = (ofm_gpu_status){.phys_id = 3, .fabric_state = OFM_FABRIC_COMPLETED, .fabric_status = 23};
    d.fabric.gpus[3] = (ofm_gpu_status){.phys_id = 4, .fabric_state = OFM_FABRIC_NOT_SUPPORTED};
    d.fabric.gpus[4] = (ofm_gpu_status){.phys_id = 5, .fabric_state = OFM_FABRIC_NOT_STARTED};
    char *doc = ofm_status_to_json(&d);
    assert_non_null(doc);
    const char *state, *status;
    gpu_words(doc, 0, &state, &status);
    assert_string_equal(state, "In Progress");
    assert_string_equal(status, "N/A");
    gpu_words(doc, 1, &state, &status);
    assert_string_equal(state, "Completed");
    assert_string_equal(status, "Success");
    gpu_words(doc, 2, &state, &status);
    assert_string_equal(state, "Completed");
    assert_string_equal(status, "Insufficient Resources");
    gpu_words(doc, 3, &state, &status);
    assert_string_equal(state, "N/A");
    assert_string_equal(status, "N/A");
    gpu_words(doc, 4, &state, &status);
    assert_string_equal(state, "Not Started");
    assert_string_equal(status, "N/A");
    free(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(fabric_words)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
