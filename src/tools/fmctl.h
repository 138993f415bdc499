/* fmctl subcommands. Each lives in its own file (fmctl_<name>.c) and receives
 * argv starting at its own name, so it can use getopt_long directly. Each
 * returns the process exit status. */
#ifndef OPENFM_FMCTL_H
#define OPENFM_FMCTL_H

int fmctl_topo_main(int argc, char **argv);      /* fmctl_topo.c      */
int fmctl_emu_main(int argc, char **argv);       /* fmctl_emu.c       */
int fmctl_mig_main(int argc, char **argv);       /* fmctl_mig.c       */
int fmctl_status_main(int argc, char **argv);    /* fmctl_status.c    */
int fmctl_events_main(int argc, char **argv);    /* fmctl_events.c    */
int fmctl_nvlink_main(int argc, char **argv);    /* fmctl_nvlink.c    */
int fmctl_partition_main(int argc, char **argv); /* fmctl_partition.c */
int fmctl_audit_main(int argc, char **argv);     /* fmctl_audit.c     */
int fmctl_hw_main(int argc, char **argv);        /* fmctl_hw.c        */
int fmctl_passthrough_main(int argc, char **argv); /* fmctl_passthrough.c */
int fmctl_exclude_main(int argc, char **argv);   /* fmctl_exclude.c   */
int fmctl_include_main(int argc, char **argv);   /* fmctl_exclude.c   */
int fmctl_reset_main(int argc, char **argv);     /* fmctl_reset.c     */

#endif
