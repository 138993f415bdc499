/* The driver's exclusion lists in a modprobe configuration file (FM §9.6):
 *   options nvidia NVreg_ExcludedGpus=GPU-uuid1,GPU-uuid2
 *   options nvidia NvSwitchExcludelist=SWX-uuid
 * Reading the lists and editing one UUID in or out are pure functions of the
 * text, so `fmctl exclude|include` and the emulator's reboot agree on what the
 * file says; the caller writes the result with ofm_file_write_atomic. */
#ifndef OPENFM_MODPROBE_H
#define OPENFM_MODPROBE_H

#include <stdbool.h>
#include <stddef.h>

#include "openfm/error.h"

#define OFM_MODPROBE_GPU_PARAM "NVreg_ExcludedGpus"
#define OFM_MODPROBE_SWITCH_PARAM "NvSwitchExcludelist"
/* Default file; $OPENFM_MODPROBE_FILE overrides it (ofm_modprobe_default_path). */
#define OFM_MODPROBE_DEFAULT_FILE "/etc/modprobe.d/nvidia-openfm.conf"
#define OFM_MODPROBE_MAX_BYTES (256u * 1024u)
#define OFM_MODPROBE_MAX_UUIDS 64
#define OFM_MODPROBE_UUID_LEN 80

typedef struct {
    size_t n;
    char uuid[OFM_MODPROBE_MAX_UUIDS][OFM_MODPROBE_UUID_LEN];
} ofm_modprobe_list;

/* The path to use: `explicit_path` if set, else $OPENFM_MODPROBE_FILE if set
 * and non-empty, else OFM_MODPROBE_DEFAULT_FILE. */
const char *ofm_modprobe_default_path(const char *explicit_path);

/* Whether `s` can be a device UUID in the list: 1-79 characters of
 * [A-Za-z0-9-]. */
bool ofm_modprobe_uuid_valid(const char *s);

/* Every value of `param` on "options nvidia" lines of `text` (`path` names the
 * file in errors, which give the line and the bad value). Returns 0 or -1. */
int ofm_modprobe_parse(const char *text, const char *path, const char *param,
                       ofm_modprobe_list *out, ofm_error *err);

/* `text` with `uuid` added to (add) or removed from `param`. Every other line
 * is kept byte for byte; the values of `param` end up on its first line (a
 * new "options nvidia" line at the end when there was none); a line left with
 * no option is dropped. *out is malloc'd; *changed says whether it differs.
 * Returns 0 or -1. */
int ofm_modprobe_edit(const char *text, const char *path, const char *param, const char *uuid,
                      bool add, char **out, bool *changed, ofm_error *err);

/* Read `path` (a missing file is an empty one) and parse both lists. */
int ofm_modprobe_read(const char *path, ofm_modprobe_list *gpus, ofm_modprobe_list *switches,
                      ofm_error *err);

#endif
