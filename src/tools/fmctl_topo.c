/* Placeholder until the topo command lands. */
#include <stdio.h>

#include "tools/fmctl.h"

int fmctl_topo_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "fmctl topo: not available in this build\n");
    return 2;
}
