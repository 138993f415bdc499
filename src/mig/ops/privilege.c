/* Who may change MIG mode. On real GPUs the driver lets only a process with
 * CAP_SYS_ADMIN do it, and a mode change stops every client of the GPU, so
 * openfm refuses up front, before any hook stops a service. */
#include <linux/capability.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "mig/mig_ops.h"

bool ofm_mig_has_sys_admin(void)
{
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {{0, 0, 0}};
    if (syscall(SYS_capget, &hdr, data) != 0)
        return false;
    return (data[CAP_TO_INDEX(CAP_SYS_ADMIN)].effective & CAP_TO_MASK(CAP_SYS_ADMIN)) != 0;
}

int ofm_mig_may_change_mode(const ofm_hal *h, char *why, size_t len)
{
    if (ofm_mig_has_sys_admin())
        return 0;
    /* An emulated system belongs to whoever made it. A process that could
     * never hold the capability -- a non-root user, or a container whose
     * bounding set lacks it -- administers its own, as the owner of a user
     * namespace does. One that could hold it but does not (root that dropped
     * it) is refused, as on real GPUs. */
    if (h->prov == OFM_PROV_EMULATED &&
        (geteuid() != 0 || prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN, 0, 0, 0) != 1))
        return 0;
    snprintf(why, len, "Insufficient Permissions: changing MIG mode needs CAP_SYS_ADMIN (run as "
                       "root, or give the process CAP_SYS_ADMIN); this process does not have it");
    return -1;
}
