/* Placeholder until the partition command lands. */
#include <stdio.h>

#include "tools/fmctl.h"

int fmctl_partition_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "fmctl partition: not available in this build\n");
    return 2;
}
