/* Placeholder until the audit command lands. */
#include <stdio.h>

#include "tools/fmctl.h"

int fmctl_audit_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "fmctl audit: not available in this build\n");
    return 2;
}
