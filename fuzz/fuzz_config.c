/* libFuzzer target for the daemon's KEY=VALUE configuration parser: any
 * bytes must give either success or a located error, never a crash; a
 * success must leave every string field terminated and every number within
 * the table's range. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ofm_config c;
    ofm_config_defaults(&c);
    ofm_error e;
    if (ofm_config_parse((const char *)data, size, "fuzz.cfg", &c, &e)) {
        if (!e.line || strlen(e.msg) == 0)
            abort(); /* every parse error names a line and says what */
        return 0;
    }
    if (c.log_level < 0 || c.log_level > 4 || c.fabric_mode < 0 || c.fabric_mode > 2 ||
        c.fm_cmd_port_number < 0 || c.fm_cmd_port_number > 65535)
        abort();
    if (strlen(c.log_file_name) > OFM_CFG_STR_MAX || strlen(c.emu_dir) > OFM_CFG_STR_MAX ||
        strlen(c.fm_cmd_unix_socket_path) > OFM_CFG_STR_MAX)
        abort();
    /* the subnet manager's endpoint is a socket that fits sun_path, or has a port */
    if (c.fm_sm_ipc_interface[0] == '/' ? strlen(c.fm_sm_ipc_interface) > OFM_CFG_SOCKET_PATH_MAX
                                        : !strchr(c.fm_sm_ipc_interface, ':'))
        abort();
    return 0;
}
