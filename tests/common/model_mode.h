/* End-to-end suites run twice: on the emulator backend (the default) and,
 * with OFM_TEST_BACKEND=model, on the real NVSwitch driver backend through
 * scripts/with-driver-model (the driver model over the same emulated
 * system). Either way the emulator's probe judges the outcome. */
#ifndef OFM_TEST_MODEL_MODE_H
#define OFM_TEST_MODEL_MODE_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static inline bool mm_enabled(void)
{
    const char *b = getenv("OFM_TEST_BACKEND");
    return b && !strcmp(b, "model");
}

/* scripts/with-driver-model in the source tree. */
static inline const char *mm_wrapper(void)
{
    static char path[1024];
    const char *src = getenv("OPENFM_SOURCE_DIR");
    snprintf(path, sizeof path, "%s/scripts/with-driver-model", src ? src : ".");
    return path;
}

/* The config line naming the emulated system: none under the model, so
 * openfm picks its real backend. */
static inline const char *mm_emu_key(void) { return mm_enabled() ? "# OPENFM_EMU_DIR" : "OPENFM_EMU_DIR"; }

/* ctest runs a suite's subset under the model: OFM_TEST_FILTER is a cmocka
 * test-name pattern. */
static inline void mm_apply_filter(void)
{
    const char *f = getenv("OFM_TEST_FILTER");
    if (f && *f)
        cmocka_set_test_filter(f);
    if (mm_enabled())
        print_message("backend: real NVSwitch backend through the driver model (%s)\n", mm_wrapper());
}

#endif
