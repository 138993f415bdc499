/* NVSwitch driver calls: the single place where openfm issues ioctl(). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "hal/nvswitch/ioctl.h"

int nvsw_open_ctl(const char *root)
{
    char path[320];
    snprintf(path, sizeof path, "%s/nvidia-nvswitchctl", root);
    int fd = open(path, O_RDWR | O_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

int nvsw_open_dev(const char *root, uint32_t instance)
{
    char path[320];
    snprintf(path, sizeof path, "%s/nvidia-nvswitch%u", root, instance);
    int fd = open(path, O_RDWR | O_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

void nvsw_close(int fd)
{
    if (fd >= 0)
        close(fd);
}

int nvsw_call(int fd, char type, unsigned nr, void *params, size_t size)
{
    /* Read-write for every call: the driver copies in on the write bit and
     * back out on the read bit, so this is right for inputs and outputs. */
    unsigned long req = _IOC(_IOC_READ | _IOC_WRITE, (unsigned)(unsigned char)type, nr, size);
    int rc;
    do
        rc = ioctl(fd, req, params);
    while (rc < 0 && errno == EINTR);
    return rc < 0 ? -errno : 0;
}

const char *nvsw_cmd_name(char type, unsigned nr)
{
    if (type == NVSW_IOC_CTL)
        switch (nr) {
        case NVSW_CTL_GET_DEVICES: return "GET_DEVICES";
        case NVSW_CTL_CHECK_VERSION: return "CHECK_VERSION";
        case NVSW_CTL_GET_DEVICES_V2: return "GET_DEVICES_V2";
        default: return "?";
        }
    switch (nr) {
    case NVSW_CMD_GET_INFO: return "GET_INFO";
    case NVSW_CMD_SET_SWITCH_PORT_CONFIG: return "SET_SWITCH_PORT_CONFIG";
    case NVSW_CMD_GET_ERRORS: return "GET_ERRORS";
    case NVSW_CMD_SET_REMAP_POLICY: return "SET_REMAP_POLICY";
    case NVSW_CMD_SET_ROUTING_ID: return "SET_ROUTING_ID";
    case NVSW_CMD_SET_ROUTING_LAN: return "SET_ROUTING_LAN";
    case NVSW_CMD_GET_ROUTING_LAN: return "GET_ROUTING_LAN";
    case NVSW_CMD_SET_ROUTING_LAN_VALID: return "SET_ROUTING_LAN_VALID";
    case NVSW_CMD_GET_NVLINK_STATUS: return "GET_NVLINK_STATUS";
    case NVSW_CMD_ACQUIRE_CAPABILITY: return "ACQUIRE_CAPABILITY";
    case NVSW_CMD_GET_ROUTING_ID: return "GET_ROUTING_ID";
    case NVSW_CMD_SET_ROUTING_ID_VALID: return "SET_ROUTING_ID_VALID";
    case NVSW_CMD_GET_REMAP_POLICY: return "GET_REMAP_POLICY";
    case NVSW_CMD_SET_REMAP_POLICY_VALID: return "SET_REMAP_POLICY_VALID";
    case NVSW_CMD_SET_FM_DRIVER_STATE: return "SET_FM_DRIVER_STATE";
    case NVSW_CMD_SET_DEVICE_FABRIC_STATE: return "SET_DEVICE_FABRIC_STATE";
    case NVSW_CMD_SET_FM_HEARTBEAT_TIMEOUT: return "SET_FM_HEARTBEAT_TIMEOUT";
    case NVSW_CMD_INBAND_SEND_DATA: return "INBAND_SEND_DATA";
    case NVSW_CMD_INBAND_READ_DATA: return "INBAND_READ_DATA";
    case NVSW_CMD_INBAND_FLUSH_DATA: return "INBAND_FLUSH_DATA";
    case NVSW_CMD_INBAND_PENDING_DATA_STATS: return "INBAND_PENDING_DATA_STATS";
    default: return "?";
    }
}

int nvsw_open_fm_capability(void)
{
    int fd = open(NVSW_CAP_PROC_PATH, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    char buf[256];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    int err = n < 0 ? errno : 0;
    close(fd);
    if (n < 0)
        return -err;
    buf[n] = '\0';
    /* "DeviceFileMinor: N" names /dev/nvidia-caps/nvidia-capN */
    const char *k = strstr(buf, "DeviceFileMinor:");
    if (!k)
        return -EPROTO;
    char *end;
    errno = 0;
    unsigned long minor = strtoul(k + strlen("DeviceFileMinor:"), &end, 10);
    if (errno || end == k + strlen("DeviceFileMinor:") || minor > 1048575)
        return -EPROTO;
    char path[64];
    snprintf(path, sizeof path, NVSW_CAP_DEV_FMT, (unsigned)minor);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    return fd < 0 ? -errno : fd;
}
