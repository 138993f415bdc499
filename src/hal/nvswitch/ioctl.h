/* The only door to the NVSwitch driver: open the nodes, issue one control
 * call, close. Everything else in the backend is ioctl-free, so a driver
 * model (or a test) sees exactly these calls. */
#ifndef OPENFM_NVSWITCH_IOCTL_H
#define OPENFM_NVSWITCH_IOCTL_H

#include <stddef.h>
#include <stdint.h>

#include "hal/nvswitch/nvswitch_abi.h"

/* Open DEV_ROOT/nvidia-nvswitchctl or DEV_ROOT/nvidia-nvswitchN (DEV_ROOT is
 * /dev on a real machine) read-write; returns the fd or -errno. */
int nvsw_open_ctl(const char *dev_root);
int nvsw_open_dev(const char *dev_root, uint32_t instance);
void nvsw_close(int fd);

/* One control call: type 'c' (control node) or 'd' (switch node), command
 * number `nr`, params of exactly `size` bytes, read and written back.
 * Returns 0 or -errno (EINVAL: size or command refused, ENODEV: excluded
 * device, EPERM: not privileged, ...). */
int nvsw_call(int fd, char type, unsigned nr, void *params, size_t size);

/* Name of a switch-node command for messages ("GET_INFO"), or "?". */
const char *nvsw_cmd_name(char type, unsigned nr);

/* Fabric-management capability: open the capability device named by the
 * proc file (read with open/read, no stdio) and return its fd, or -errno. */
int nvsw_open_fm_capability(void);

#define NVSW_CALL(fd, type, nr, p) nvsw_call((fd), (type), (nr), (p), sizeof *(p))

#endif
