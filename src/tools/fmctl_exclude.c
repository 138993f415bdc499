/* fmctl exclude|include gpu|switch ID: edit the driver's exclusion lists
 * (NVreg_ExcludedGpus, NvSwitchExcludelist; FM §9.6) in a modprobe file. The
 * lists take effect when the driver loads, so the tool says so and changes
 * nothing on the running system. IDs given as a physical ID or a PCI address
 * are turned into the UUID the driver matches through the backend: among the
 * devices it enumerates, then among those the last boot excluded.
 * Fourth-generation NVSwitches (HGX B200) are no devices of the NVSwitch
 * driver: excluding one is refused with the reason (docs/b200.md). */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "openfm/fileio.h"
#include "openfm/hal.h"
#include "openfm/modprobe.h"
#include "tools/fmctl.h"
#include "tools/fmctl_backend.h"

static void usage(FILE *f, const char *verb)
{
    fprintf(f,
            "usage: fmctl %s gpu|switch ID [--modprobe-file F] [--backend SPEC] [--emu-dir DIR]\n"
            "\n"
            "%s a GPU (NVreg_ExcludedGpus) or an NVSwitch (NvSwitchExcludelist) %s the\n"
            "driver's exclusion list in the modprobe file F (FM §9.6). The file is edited\n"
            "atomically; its other lines are kept; running it twice changes nothing. It takes\n"
            "effect when the driver loads: after a reboot (emulator: fmctl emu reboot).\n"
            "\n"
            "  ID                     the device's UUID (GPU-..., SWX-...), used as given; or\n"
            "                         its physical ID or PCI address (0000:18:00.0), looked up\n"
            "                         on the backend (also among devices already excluded)\n"
            "  --modprobe-file F      default $OPENFM_MODPROBE_FILE, else " OFM_MODPROBE_DEFAULT_FILE "\n"
            FMCTL_BACKEND_HELP
            "  --emu-dir DIR          the emulated system (with the emulator backend)\n"
            "  -h, --help             this text\n"
            "\n"
            "Exit status: 0 done (or nothing to do), 1 failed, 2 bad usage.\n",
            verb, !strcmp(verb, "exclude") ? "Add" : "Remove", !strcmp(verb, "exclude") ? "to" : "from");
}

typedef struct {
    bool found;
    uint32_t phys_id;
    char uuid[80], bdf[32];
    bool subnet_managed;     /* a fourth-generation NVSwitch, or one on such a platform */
    char platform[64];       /* the backend's platform, "" unknown */
} device;

static bool all_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return false;
    return true;
}

/* PCI addresses compare without the domain when one side omits it. */
static bool bdf_eq(const char *a, const char *b)
{
    if (!strcasecmp(a, b))
        return true;
    size_t la = strlen(a), lb = strlen(b);
    return (la == 12 && lb == 7 && !strcasecmp(a + 5, b)) || (lb == 12 && la == 7 && !strcasecmp(b + 5, a));
}

static bool matches(const char *id, uint32_t phys, const char *uuid, const char *bdf)
{
    if (all_digits(id))
        return strtoul(id, NULL, 10) == phys;
    return bdf_eq(id, bdf) || !strcmp(id, uuid);
}

static void take(device *d, uint32_t phys, const char *uuid, const char *bdf)
{
    d->found = true;
    d->phys_id = phys;
    snprintf(d->uuid, sizeof d->uuid, "%s", uuid);
    snprintf(d->bdf, sizeof d->bdf, "%s", bdf);
}

static int lookup(ofm_hal *h, bool sw, const char *id, device *d)
{
    size_t n = 0;
    if (sw) {
        ofm_hal_switch s[OFM_MAX_SWITCHES];
        int rc = h->ops->list_switches(h, s, OFM_MAX_SWITCHES, &n);
        if (rc)
            return rc;
        for (size_t i = 0; i < n && i < OFM_MAX_SWITCHES && !d->found; i++)
            if (matches(id, s[i].phys_id, s[i].uuid, s[i].pci_bdf)) {
                take(d, s[i].phys_id, s[i].uuid, s[i].pci_bdf);
                d->subnet_managed |= s[i].gen >= OFM_SWITCH_GEN4;
            }
        const ofm_platform *p = ofm_hal_platform(h);
        if (p) {
            snprintf(d->platform, sizeof d->platform, "%s", p->name);
            d->subnet_managed |= ofm_platform_sm_managed(p);
        }
    } else {
        ofm_hal_gpu g[OFM_MAX_GPUS];
        int rc = h->ops->list_gpus(h, g, OFM_MAX_GPUS, &n);
        if (rc)
            return rc;
        for (size_t i = 0; i < n && i < OFM_MAX_GPUS && !d->found; i++)
            if (matches(id, g[i].phys_id, g[i].uuid, g[i].pci_bdf))
                take(d, g[i].phys_id, g[i].uuid, g[i].pci_bdf);
    }
    if (d->found || !h->ops->list_excluded)
        return OFM_HAL_OK;
    ofm_hal_excluded x[OFM_MAX_GPUS + OFM_MAX_SWITCHES];
    int rc = h->ops->list_excluded(h, x, sizeof x / sizeof x[0], &n);
    if (rc)
        return rc;
    for (size_t i = 0; i < n && i < sizeof x / sizeof x[0] && !d->found; i++)
        if (x[i].is_switch == sw && matches(id, x[i].phys_id, x[i].uuid, x[i].pci_bdf))
            take(d, x[i].phys_id, x[i].uuid, x[i].pci_bdf);
    return OFM_HAL_OK;
}

static void print_list(const char *text, const char *path, const char *param)
{
    ofm_modprobe_list l;
    if (ofm_modprobe_parse(text, path, param, &l, NULL))
        return;
    if (!l.n) {
        printf("%s in %s is now empty.\n", param, path);
        return;
    }
    printf("%s now: options nvidia %s=", path, param);
    for (size_t i = 0; i < l.n; i++)
        printf("%s%s", i ? "," : "", l.uuid[i]);
    printf("\n");
}

static int edit(const char *verb, bool add, bool sw, const device *d, const char *path)
{
    const char *param = sw ? OFM_MODPROBE_SWITCH_PARAM : OFM_MODPROBE_GPU_PARAM;
    const char *what = sw ? "NVSwitch" : "GPU";
    char lockpath[4200], who[200], buf[800];
    ofm_error err;
    if (snprintf(lockpath, sizeof lockpath, "%s.lock", path) >= (int)sizeof lockpath) {
        fprintf(stderr, "fmctl %s: --modprobe-file path too long\n", verb);
        return 2;
    }
    if (d->found)
        snprintf(who, sizeof who, "%s %u (%s, %s)", what, d->phys_id, d->uuid, d->bdf);
    else
        snprintf(who, sizeof who, "%s %s", what, d->uuid);
    /* one editor at a time: two concurrent read-modify-writes would lose one */
    int lfd = ofm_lockfile_acquire(lockpath, "the modprobe file", NULL, &err);
    if (lfd < 0) {
        fprintf(stderr, "fmctl %s: %s\n", verb, ofm_error_format(&err, buf, sizeof buf));
        return 1;
    }
    int rc = 1;
    char *text = NULL, *out = NULL;
    size_t len = 0;
    bool changed = false;
    if (ofm_file_read(path, "modprobe configuration file", OFM_MODPROBE_MAX_BYTES, OFM_FILE_NOFOLLOW, &text,
                      &len, &err)) {
        if (errno != ENOENT)
            goto fail;
        text = strdup("");
        if (!text)
            goto done;
    } else if (strlen(text) != len) {
        ofm_error_set(&err, path, 0, "contains a NUL byte: not a modprobe configuration file");
        goto fail;
    }
    if (ofm_modprobe_edit(text, path, param, d->uuid, add, &out, &changed, &err))
        goto fail;
    if (!changed) {
        printf("%s is %s %s in %s: nothing changed.\n", who, add ? "already in" : "not in", param, path);
        rc = 0;
        goto done;
    }
    if (ofm_file_write_atomic(path, out, strlen(out), 0644, 0, &err))
        goto fail;
    printf("%s %s %s in %s.\n", who, add ? "added to" : "removed from", param, path);
    print_list(out, path, param);
    if (add)
        printf("Takes effect after a reboot (the driver reads the list when it loads; emulator: fmctl emu\n"
               "reboot): the %s is then absent, and the fabric manager starts without it, degraded as the\n"
               "HA policy says (%s), and logs that it is excluded.\n",
               what, sw ? "NVSWITCH_FAILURE_MODE" : "GPU links and partitions that need it are left out");
    else
        printf("Takes effect after a reboot (emulator: fmctl emu reboot): the %s is then back, and the\n"
               "fabric manager configures it at start-up.\n", what);
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "fmctl %s: %s\n", verb, ofm_error_format(&err, buf, sizeof buf));
done:
    free(text);
    free(out);
    close(lfd);
    return rc;
}

static int run(int argc, char **argv, bool add)
{
    const char *verb = add ? "exclude" : "include";
    static const struct option lo[] = {{"modprobe-file", required_argument, NULL, 'm'},
                                       {"backend", required_argument, NULL, 'b'},
                                       {"emu-dir", required_argument, NULL, 'd'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
    const char *modprobe = NULL, *backend = NULL, *emu_dir = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (c) {
        case 'm': modprobe = optarg; break;
        case 'b': backend = optarg; break;
        case 'd': emu_dir = optarg; break;
        case 'h': usage(stdout, verb); return 0;
        default: usage(stderr, verb); return 2;
        }
    }
    if (argc - optind != 2) {
        fprintf(stderr, "fmctl %s: expected 'gpu ID' or 'switch ID' (%d operand%s given)\n", verb,
                argc - optind, argc - optind == 1 ? "" : "s");
        usage(stderr, verb);
        return 2;
    }
    if (strcmp(argv[optind], "gpu") && strcmp(argv[optind], "switch")) {
        fprintf(stderr, "fmctl %s: '%.40s' is not a device kind: gpu or switch\n", verb, argv[optind]);
        return 2;
    }
    bool sw = !strcmp(argv[optind], "switch");
    const char *id = argv[optind + 1];
    if (!*id) {
        fprintf(stderr, "fmctl %s: the ID is empty\n", verb);
        return 2;
    }
    if (strlen(id) >= OFM_MODPROBE_UUID_LEN) {
        fprintf(stderr, "fmctl %s: ID '%.40s...' is too long (at most %d characters)\n", verb, id,
                OFM_MODPROBE_UUID_LEN - 1);
        return 2;
    }
    const char *path = ofm_modprobe_default_path(modprobe);
    device d = {0};
    bool by_uuid = !all_digits(id) && !strchr(id, ':');
    if (by_uuid) {
        if (!ofm_modprobe_uuid_valid(id)) {
            fprintf(stderr, "fmctl %s: '%.60s' is not a physical ID, PCI address or UUID\n", verb, id);
            return 2;
        }
        snprintf(d.uuid, sizeof d.uuid, "%s", id);
        /* name it by ID too when the backend knows it; not required */
        ofm_hal *h;
        if (fmctl_open_backend(add ? "fmctl exclude" : "fmctl include", backend, emu_dir, &h) == OFM_HAL_OK) {
            lookup(h, sw, id, &d);
            ofm_hal_close(h);
        }
        if (!d.found)
            snprintf(d.uuid, sizeof d.uuid, "%s", id);
    } else {
        ofm_hal *h;
        int rc = fmctl_open_backend(add ? "fmctl exclude" : "fmctl include", backend, emu_dir, &h);
        if (rc)
            return 1;
        rc = lookup(h, sw, id, &d);
        if (rc)
            fprintf(stderr, "fmctl %s: cannot list devices: %s\n", verb, h->last_error);
        ofm_hal_close(h);
        if (rc)
            return 1;
        if (!d.found) {
            fprintf(stderr, "fmctl %s: no %s '%.60s' on this system (neither enumerated nor excluded); give its "
                            "UUID\n", verb, sw ? "NVSwitch" : "GPU", id);
            return 1;
        }
    }
    if (add && sw && d.subnet_managed) {
        fprintf(stderr,
                "fmctl exclude: NVSwitch %s cannot be excluded by a kernel module parameter: it is a "
                "fourth-generation NVSwitch%s%s%s, not a PCIe device of the NVSwitch driver. The NVLink "
                "subnet manager manages it through the NIC bridge, so %s cannot name it; nothing "
                "changed (docs/b200.md).\n",
                id, d.platform[0] ? " (" : "", d.platform, d.platform[0] ? ")" : "",
                OFM_MODPROBE_SWITCH_PARAM);
        return 1;
    }
    return edit(verb, add, sw, &d, path);
}

int fmctl_exclude_main(int argc, char **argv) { return run(argc, argv, true); }
int fmctl_include_main(int argc, char **argv) { return run(argc, argv, false); }
