/* Allocation-failure injection for tests. Test executables that link
 * ofm_alloc_fail are built with -Wl,--wrap for malloc, calloc, realloc,
 * strdup and strndup: every such call made by openfm's own code in the
 * executable (the static ofm_* libraries included; not calls made inside
 * shared libraries such as libc or libyaml) goes through a counter, and the
 * Nth call after alloc_fail_at(N) returns NULL with errno ENOMEM. A test
 * loops N = 1, 2, ... until a run finishes without reaching the Nth call:
 * that visits every allocation of the code path once. */
#ifndef OFM_TEST_ALLOC_FAIL_H
#define OFM_TEST_ALLOC_FAIL_H

#include <stdbool.h>

/* Fail the nth counted call from now on (n >= 1); 0 disarms and counts. */
void alloc_fail_at(unsigned long n);
/* Calls counted since the last alloc_fail_at(). */
unsigned long alloc_calls(void);
/* Did the armed failure happen? */
bool alloc_failed(void);

#endif
