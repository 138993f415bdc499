/* Driver exclusion lists on the emulator (FM §9.6). The real driver reads
 * NVreg_ExcludedGpus / NvSwitchExcludelist when it loads and leaves the
 * listed devices unusable; the emulated "load" is a reboot, so the lists are
 * applied there. `<dir>/excluded` records what the boot excluded, one
 * "gpu|switch ID UUID BDF" line per device: it is what the HAL reports as
 * excluded (nvidia-smi -B), and it tells the next reboot which missing
 * devices to bring back when the lists no longer name them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hal/emu/emu_int.h"
#include "hal/emu/emu_mig.h"
#include "openfm/fileio.h"

#define RECORD "excluded"
#define RECORD_MAX (64u * 1024u)

static bool listed(const ofm_modprobe_list *l, const char *uuid)
{
    for (size_t i = 0; l && i < l->n; i++)
        if (!strcmp(l->uuid[i], uuid))
            return true;
    return false;
}

/* Read the record; caller holds the state lock. A missing record is empty. */
static int read_record(ofm_hal *h, ofm_hal_excluded *out, size_t cap, size_t *n)
{
    emu_impl *e = emu_of(h);
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", e->dir, RECORD);
    char *text = NULL;
    size_t len;
    ofm_error err;
    *n = 0;
    if (ofm_file_read(path, "emulator exclusion record", RECORD_MAX, OFM_FILE_NOFOLLOW, &text, &len, &err))
        return errno == ENOENT ? OFM_HAL_OK : emu_fail(h, OFM_HAL_EIO, "%s", err.msg);
    int rc = OFM_HAL_OK;
    unsigned lineno = 0;
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        lineno++;
        char kind[8], uuid[80], bdf[32];
        unsigned id;
        int used = 0;
        if (sscanf(line, "%7s %u %79s %31s%n", kind, &id, uuid, bdf, &used) != 4 || line[used] ||
            (strcmp(kind, "gpu") && strcmp(kind, "switch")) || !ofm_modprobe_uuid_valid(uuid)) {
            rc = emu_fail(h, OFM_HAL_ECORRUPT, "%s:%u: not a \"gpu|switch ID UUID BDF\" record; run "
                          "'fmctl emu reboot'", path, lineno);
            break;
        }
        bool sw = !strcmp(kind, "switch");
        if ((sw ? emu_sw_index(e->p, id) : emu_gpu_index(e->p, id)) < 0) {
            rc = emu_fail(h, OFM_HAL_ECORRUPT, "%s:%u: no %s %u in %s", path, lineno, kind, id, e->p->name);
            break;
        }
        if (*n < cap) {
            ofm_hal_excluded *x = &out[*n];
            memset(x, 0, sizeof *x);
            x->is_switch = sw;
            x->phys_id = id;
            snprintf(x->uuid, sizeof x->uuid, "%s", uuid);
            snprintf(x->pci_bdf, sizeof x->pci_bdf, "%s", bdf);
        }
        (*n)++;
    }
    free(text);
    return rc;
}

int ofm_emu_list_excluded(ofm_hal *h, ofm_hal_excluded *out, size_t cap, size_t *n)
{
    int rc = emu_begin(h, false);
    if (rc)
        return rc;
    rc = read_record(h, out, cap, n);
    emu_end(h);
    return rc;
}

static bool was_excluded(const ofm_hal_excluded *old, size_t n, bool sw, uint32_t id)
{
    for (size_t i = 0; i < n; i++)
        if (old[i].is_switch == sw && old[i].phys_id == id)
            return true;
    return false;
}

/* Apply the lists to the state and build the new record. */
static int apply(ofm_hal *h, const ofm_modprobe_list *gpus, const ofm_modprobe_list *switches,
                 char *rec, size_t cap)
{
    emu_impl *e = emu_of(h);
    ofm_hal_excluded old[OFM_MAX_GPUS + OFM_MAX_SWITCHES];
    size_t nold;
    int rc = read_record(h, old, sizeof old / sizeof old[0], &nold);
    if (rc)
        return rc;
    size_t len = 0;
    char uuid[80], bdf[32];
    for (size_t i = 0; i < e->p->ngpus; i++) {
        uint32_t id = e->p->gpus[i].phys_id;
        emu_gpu_uuid(e->p, i, uuid, sizeof uuid);
        emu_gpu_bdf(e->p, i, bdf, sizeof bdf);
        uint8_t *hl = &e->st.f.gpu_health[i];
        if (listed(gpus, uuid)) {
            *hl = OFM_DEV_MISSING;
            len += (size_t)snprintf(rec + len, cap - len, "gpu %u %s %s\n", id, uuid, bdf);
        } else if (*hl == OFM_DEV_MISSING && was_excluded(old, nold, false, id)) {
            *hl = OFM_DEV_OK;
        }
    }
    for (size_t i = 0; i < e->p->nswitches; i++) {
        uint32_t id = e->p->switches[i].id;
        emu_switch_uuid(e->p, i, uuid, sizeof uuid);
        emu_switch_bdf(e->p, i, bdf, sizeof bdf);
        uint8_t *hl = &e->st.f.sw_health[i];
        /* a fourth-generation NVSwitch is no device of the NVSwitch driver:
         * its exclusion list cannot name it (docs/b200.md) */
        if (listed(switches, uuid) && !emu_switch_has_telemetry(e->p, i)) {
            *hl = OFM_DEV_MISSING;
            len += (size_t)snprintf(rec + len, cap - len, "switch %u %s %s\n", id, uuid, bdf);
        } else if (*hl == OFM_DEV_MISSING && was_excluded(old, nold, true, id)) {
            *hl = OFM_DEV_OK;
        }
    }
    return len < cap ? OFM_HAL_OK : emu_fail(h, OFM_HAL_EIO, "exclusion record too long");
}

/* What the driver says when it loads and skips a listed device. */
static void log_excluded(emu_impl *e, const char *rec)
{
    char kind[8], uuid[80], bdf[32];
    unsigned id;
    int used;
    for (const char *p = rec; *p && sscanf(p, "%7s %u %79s %31s%n", kind, &id, uuid, bdf, &used) == 4;
         p += used + (p[used] == '\n')) {
        if (!strcmp(kind, "gpu"))
            emu_kmsg_line(e, 0, "NVRM: GPU %s at PCI:%s is excluded by NVreg_ExcludedGpus", uuid, bdf);
        else
            emu_kmsg_line(e, 0, "nvidia-nvswitch: NVSwitch %s at PCI:%s is excluded by NvSwitchExcludelist",
                          uuid, bdf);
    }
}

int ofm_emu_reboot_excluding(ofm_hal *h, const ofm_modprobe_list *gpus,
                             const ofm_modprobe_list *switches)
{
    int rc = emu_begin(h, true);
    if (rc)
        return rc;
    emu_impl *e = emu_of(h);
    char rec[(OFM_MAX_GPUS + OFM_MAX_SWITCHES) * 160];
    rec[0] = 0;
    rc = apply(h, gpus, switches, rec, sizeof rec);
    if (rc == OFM_HAL_OK) {
        emu_boot(e);
        emu_kmsg_line(e, e->st.f.boot_ns, "openfm-emu: rebooted %s (boot %u)", e->p->name, e->st.f.boots);
        log_excluded(e, rec);
        /* record first: a crash in between leaves devices excluded that the
         * record names, never the reverse */
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", e->dir, RECORD);
        ofm_error err;
        if (ofm_file_write_atomic(path, rec, strlen(rec), 0644, OFM_FILE_NOSYNC, &err))
            rc = emu_fail(h, OFM_HAL_EIO, "%s", err.msg);
        else
            rc = emu_commit(h);
    }
    emu_end(h);
    if (rc == OFM_HAL_OK)
        rc = ofm_emu_link_errors_reset(h); /* counters start at 0 with the driver */
    if (rc == OFM_HAL_OK)
        rc = ofm_emu_switch_telemetry_reset(h); /* and with the switches' boot */
    if (rc == OFM_HAL_OK) {
        int mrc = ofm_emu_mig_reboot(h);
        if (mrc != OFM_HAL_OK && mrc != OFM_HAL_ENOTSUP)
            rc = mrc;
    }
    return rc;
}
