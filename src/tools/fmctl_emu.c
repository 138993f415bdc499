/* Placeholder until the emu command lands. */
#include <stdio.h>

#include "tools/fmctl.h"

int fmctl_emu_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "fmctl emu: not available in this build\n");
    return 2;
}
