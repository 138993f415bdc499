/* Placeholder until the status command lands. */
#include <stdio.h>

#include "tools/fmctl.h"

int fmctl_status_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "fmctl status: not available in this build\n");
    return 2;
}
