/* Placeholder until the mig command lands. */
#include <stdio.h>

#include "tools/fmctl.h"

int fmctl_mig_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "fmctl mig: not available in this build\n");
    return 2;
}
