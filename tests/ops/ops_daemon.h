/* One daemon per test, shared by the operations tests that run a daemon in
 * every test; include after ops_fixture.h (or ops_views.h), whose helpers
 * take the daemon as a parameter. */
#ifndef OFM_TEST_OPS_DAEMON_H
#define OFM_TEST_OPS_DAEMON_H

#include <string.h>

#include "daemon_harness.h"

/* The daemon of the running test. ops_teardown (cmocka teardown) kills and
 * removes it even when an assertion failed half-way, so the next test of
 * the program starts clean and nothing holds ctest's pipe (a stopped
 * daemon too: SIGKILL reaches it). */
static dh_daemon d;
static inline int ops_teardown(void **state)
{
    (void)state;
    if (d.dir[0])
        dh_cleanup(&d);
    memset(&d, 0, sizeof d);
    return 0;
}

#endif
