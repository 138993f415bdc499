/* fmctl: the operator's command line. This file only dispatches. */
#include <stdio.h>
#include <string.h>

#include "tools/fmctl.h"

#ifndef OPENFM_VERSION
#define OPENFM_VERSION "unknown"
#endif

static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *summary;
} commands[] = {
    {"topo", fmctl_topo_main, "show platform topology, GPU matrix and default partitions"},
    {"status", fmctl_status_main, "show the fabric manager's state and per-GPU fabric state"},
    {"nvlink", fmctl_nvlink_main, "per-link state, rate, far end and error counters (nvidia-smi nvlink)"},
    {"events", fmctl_events_main, "SXid/Xid, NVLink, partition and state-change events (--follow)"},
    {"partition", fmctl_partition_main, "list, define, delete, activate and deactivate fabric partitions"},
    {"audit", fmctl_audit_main, "read programmed switch routing and print GPU reachability"},
    {"mig", fmctl_mig_main, "MIG profiles, GPU/compute instances and declarative configs"},
    {"hw", fmctl_hw_main, "what the hardware backends see: driver, NVSwitches, GPUs (NVML)"},
    {"exclude", fmctl_exclude_main, "put a GPU/NVSwitch on the driver's exclusion list (after reboot)"},
    {"include", fmctl_include_main, "take a GPU/NVSwitch off the driver's exclusion list (after reboot)"},
    {"reset", fmctl_reset_main, "reset a GPU after checking the preconditions, wait for its NVLinks (FM §13.9)"},
    {"emu", fmctl_emu_main, "create, inspect and inject faults into emulated systems"},
    {"passthrough", fmctl_passthrough_main, "full-passthrough VM plans: GPUs, NVSwitches, links to disable"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: fmctl [--version] [--help] COMMAND [ARGS...]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nRun 'fmctl COMMAND --help' for the options of a command.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "-v") || !strcmp(argv[1], "--version")) {
        printf("fmctl (openfm) %s\n", OPENFM_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) {
            /* getopt prefixes its own messages ("invalid option") with argv[0] */
            char prog[32];
            snprintf(prog, sizeof prog, "fmctl %s", commands[i].name);
            argv[1] = prog;
            return commands[i].fn(argc - 1, argv + 1);
        }
    fprintf(stderr, "fmctl: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
