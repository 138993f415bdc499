/* The one place that opens hardware: a spec string names the backend, and
 * only this file knows which code implements each (the rest of openfm sees
 * ofm_hal_ops). Specs are documented in include/openfm/hal.h and
 * docs/hardware.md. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hal/backend_int.h"
#include "openfm/emu.h"
#include "openfm/log.h"

/* Switch-side backends that `real` and `nvml+NAME` can use. The NVSwitch
 * driver backend (src/hal/nvswitch) plugs its opener in here; NULL means
 * "not built into this openfm". */
static const struct {
    const char *name;
    ofm_hal_opener open;
} switch_sides[] = {
    {"nvswitch", ofm_nvswitch_backend_open},
};

#define DEFAULT_DEV_ROOT "/dev"

const char *ofm_hal_dev_root(const ofm_hal_open_opts *opts)
{
    if (opts && opts->dev_root && *opts->dev_root)
        return opts->dev_root;
    const char *env = getenv("OPENFM_DEV_ROOT");
    return env && *env ? env : DEFAULT_DEV_ROOT;
}

const char *ofm_hal_select(const char *cli_spec, const char *cfg_spec, bool emu_selected,
                           const char *fallback)
{
    if (cli_spec && *cli_spec)
        return cli_spec;
    if (cfg_spec && *cfg_spec)
        return cfg_spec;
    return emu_selected ? "emu:" : fallback;
}

static bool exists(const char *root, const char *name, char *path, size_t len)
{
    snprintf(path, len, "%s/%s", root, name);
    struct stat sb;
    return stat(path, &sb) == 0;
}

static int open_emu(const char *dir_arg, const ofm_hal_open_opts *o, ofm_hal **out, char *err,
                    size_t errlen)
{
    char dir[4096];
    const char *want = dir_arg && *dir_arg ? dir_arg : (o && o->emu_dir ? o->emu_dir : NULL);
    if (ofm_emu_resolve_dir(want, dir, sizeof dir)) {
        snprintf(err, errlen, "emulator directory path is too long");
        return OFM_HAL_EINVAL;
    }
    if (o && o->emulate && *o->emulate) {
        char probe[4200];
        snprintf(probe, sizeof probe, "%s/state.bin", dir);
        if (access(probe, F_OK) != 0) {
            char cerr[600];
            if (ofm_emu_create(dir, o->emulate, false, cerr, sizeof cerr) != OFM_HAL_OK) {
                snprintf(err, errlen, "cannot create the emulated %s system in %s: %s",
                         o->emulate, dir, cerr);
                return OFM_HAL_EIO;
            }
            OFM_INFO("created an emulated %s system in %s", o->emulate, dir);
        }
    }
    return ofm_emu_backend_open(dir, out, err, errlen);
}

static int open_switch_side(const char *spec, const ofm_hal_open_opts *o, ofm_hal **out,
                            char *err, size_t errlen)
{
    if (!strncmp(spec, "emu:", 4) || !strcmp(spec, "emu"))
        return open_emu(spec[3] ? spec + 4 : "", o, out, err, errlen);
    for (size_t i = 0; i < sizeof switch_sides / sizeof switch_sides[0]; i++) {
        if (strcmp(spec, switch_sides[i].name))
            continue;
        if (!switch_sides[i].open) {
            snprintf(err, errlen,
                     "the NVSwitch driver backend is not part of this openfm build yet, so it "
                     "cannot program real NVSwitches; use --emulate PLATFORM for the emulator");
            return OFM_HAL_ENOTSUP;
        }
        return switch_sides[i].open("", o, out, err, errlen);
    }
    snprintf(err, errlen, "unknown switch backend '%.64s' (expected nvswitch or emu:DIR)", spec);
    return OFM_HAL_EINVAL;
}

int ofm_hal_resolve_auto(const ofm_hal_open_opts *o, const char **spec, char *err, size_t errlen)
{
    const char *root = ofm_hal_dev_root(o);
    char ctl[600], sw0[600], gpu[600];
    bool have_ctl = exists(root, "nvidia-nvswitchctl", ctl, sizeof ctl);
    bool have_sw = exists(root, "nvidia-nvswitch0", sw0, sizeof sw0);
    bool have_drv = exists(root, "nvidiactl", gpu, sizeof gpu);
    if (have_ctl || have_sw) {
        *spec = "real";
        return OFM_HAL_OK;
    }
    *spec = NULL;
    if (!have_drv)
        snprintf(err, errlen,
                 "no NVIDIA driver: looked for %s and %s and found neither; install the NVIDIA "
                 "driver with NVSwitch support on an NVSwitch system, or run with --emulate "
                 "PLATFORM (e.g. hgx-h100) to use the emulator",
                 gpu, ctl);
    else
        snprintf(err, errlen,
                 "no NVSwitch: the NVIDIA driver is loaded (%s) but %s does not exist; a system "
                 "without NVSwitches needs no fabric manager (nothing to do), or run with "
                 "--emulate PLATFORM to use the emulator",
                 gpu, ctl);
    return OFM_HAL_EABSENT;
}

static int open_auto(const ofm_hal_open_opts *o, ofm_hal **out, char *err, size_t errlen)
{
    const char *spec;
    int rc = ofm_hal_resolve_auto(o, &spec, err, errlen);
    return rc ? rc : ofm_hal_open(spec, o, out, err, errlen);
}

static bool switch_spec_ok(const char *s)
{
    if (!strncmp(s, "emu:", 4) || !strcmp(s, "emu"))
        return true;
    for (size_t i = 0; i < sizeof switch_sides / sizeof switch_sides[0]; i++)
        if (!strcmp(s, switch_sides[i].name))
            return true;
    return false;
}

int ofm_hal_spec_check(const char *spec, char *err, size_t errlen)
{
    if (!spec || !*spec || strlen(spec) > 4100) {
        snprintf(err, errlen, "backend spec empty or too long");
        return OFM_HAL_EINVAL;
    }
    if (!strcmp(spec, "auto") || !strcmp(spec, "real") || !strcmp(spec, "nvml") ||
        switch_spec_ok(spec) || (!strncmp(spec, "nvml+", 5) && switch_spec_ok(spec + 5)))
        return OFM_HAL_OK;
    snprintf(err, errlen,
             "unknown backend '%.64s': expected emu:DIR, real, auto, nvml, nvswitch or nvml+SWITCH",
             spec);
    return OFM_HAL_EINVAL;
}

int ofm_hal_open(const char *spec, const ofm_hal_open_opts *opts, ofm_hal **out, char *err,
                 size_t errlen)
{
    *out = NULL;
    int rc = ofm_hal_spec_check(spec, err, errlen);
    if (rc)
        return rc;
    if (!strcmp(spec, "auto"))
        return open_auto(opts, out, err, errlen);
    if (!strcmp(spec, "real"))
        spec = "nvml+nvswitch";
    if (!strcmp(spec, "nvml"))
        return ofm_nvml_backend_open("", opts, out, err, errlen);
    if (!strncmp(spec, "nvml+", 5)) {
        const char *sw_spec = spec + 5;
        ofm_hal *sw = NULL, *gpu = NULL;
        char e2[512];
        rc = open_switch_side(sw_spec, opts, &sw, e2, sizeof e2);
        if (rc != OFM_HAL_OK) {
            snprintf(err, errlen, "%s", e2);
            return rc;
        }
        rc = ofm_nvml_backend_open("", opts, &gpu, e2, sizeof e2);
        if (rc != OFM_HAL_OK) {
            ofm_hal_close(sw);
            snprintf(err, errlen, "%s", e2);
            return rc;
        }
        char name[64];
        snprintf(name, sizeof name, "nvml+%s", sw->ops->name);
        rc = ofm_hal_compose(name, sw, gpu, out, err, errlen);
        if (rc != OFM_HAL_OK) {
            ofm_hal_close(sw);
            ofm_hal_close(gpu);
        }
        return rc;
    }
    return open_switch_side(spec, opts, out, err, errlen);
}

int ofm_emu_open(const char *dir, ofm_hal **out, char *err, size_t errlen)
{
    char spec[4200];
    if (snprintf(spec, sizeof spec, "emu:%s", dir ? dir : "") >= (int)sizeof spec) {
        snprintf(err, errlen, "emulator directory path is too long");
        return OFM_HAL_EINVAL;
    }
    return ofm_hal_open(spec, NULL, out, err, errlen);
}
