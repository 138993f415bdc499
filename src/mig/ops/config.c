/* mig-parted style YAML configs, read with libyaml's event API so every
 * error can name its line. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "openfm/fileio.h"
#include "mig/mig_ops.h"
#include "yaml_reader.h"

typedef ofm_yaml_rd rd;

static int expect(rd *r, yaml_event_type_t t, const char *what)
{
    if (ofm_yaml_next(r))
        return -1;
    if (r->ev.type != t)
        return ofm_error_set(r->err, r->origin, ofm_yaml_line(r), "expected %s", what);
    return 0;
}

/* Skip nothing: every node must be understood. */
static int parse_u32(const char *s, uint32_t max, uint32_t *out)
{
    if (!*s || strlen(s) > 10)
        return -1;
    for (const char *p = s; *p; p++)
        if (!isdigit((unsigned char)*p))
            return -1;
    unsigned long v = strtoul(s, NULL, 10);
    if (v > max)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

static int parse_pci(rd *r, ofm_mig_cfg_spec *s)
{
    const char *v = ofm_yaml_scalar(r);
    if (s->nfilters == 8)
        return ofm_error_set(r->err, r->origin, ofm_yaml_line(r), "more than 8 device-filter entries");
    if (strlen(v) != 10 || strncasecmp(v, "0x", 2))
        goto bad;
    for (const char *p = v + 2; *p; p++)
        if (!isxdigit((unsigned char)*p))
            goto bad;
    s->filters[s->nfilters++] = (uint32_t)strtoul(v + 2, NULL, 16);
    return 0;
bad:
    return ofm_error_set(r->err, r->origin, ofm_yaml_line(r),
                         "device-filter '%.40s' is not a PCI ID like 0x20B010DE", v);
}

static int parse_devices(rd *r, ofm_mig_cfg_spec *s)
{
    if (r->ev.type == YAML_SCALAR_EVENT) {
        uint32_t v;
        if (!strcmp(ofm_yaml_scalar(r), "all"))
            s->all_devices = true;
        else if (parse_u32(ofm_yaml_scalar(r), OFM_MAX_GPUS - 1, &v) == 0)
            s->devices[s->ndevices++] = v;
        else
            return ofm_error_set(r->err, r->origin, ofm_yaml_line(r),
                                 "devices: '%.40s' is neither 'all' nor a list of GPU indices",
                                 ofm_yaml_scalar(r));
        return 0;
    }
    if (r->ev.type != YAML_SEQUENCE_START_EVENT)
        return ofm_error_set(r->err, r->origin, ofm_yaml_line(r), "devices: expected 'all' or a list");
    for (;;) {
        if (ofm_yaml_next(r))
            return -1;
        if (r->ev.type == YAML_SEQUENCE_END_EVENT)
            return 0;
        uint32_t v;
        if (r->ev.type != YAML_SCALAR_EVENT || parse_u32(ofm_yaml_scalar(r), OFM_MAX_GPUS - 1, &v))
            return ofm_error_set(r->err, r->origin, ofm_yaml_line(r),
                                 "devices: entries must be GPU indices 0-%d", OFM_MAX_GPUS - 1);
        if (s->ndevices == OFM_MAX_GPUS)
            return ofm_error_set(r->err, r->origin, ofm_yaml_line(r), "devices: too many entries");
        s->devices[s->ndevices++] = v;
    }
}

static int parse_spec(rd *r, ofm_mig_cfg_spec *s)
{
    memset(s, 0, sizeof *s);
    s->line = ofm_yaml_line(r);
    bool seen_dev = false, seen_md = false;
    for (;;) {
        if (ofm_yaml_next(r))
            return -1;
        if (r->ev.type == YAML_MAPPING_END_EVENT)
            break;
        if (r->ev.type != YAML_SCALAR_EVENT)
            return ofm_error_set(r->err, r->origin, ofm_yaml_line(r), "expected a field name");
        char key[64];
        snprintf(key, sizeof key, "%s", ofm_yaml_scalar(r));
        unsigned kline = ofm_yaml_line(r);
        if (ofm_yaml_next(r))
            return -1;
        if (!strcmp(key, "devices")) {
            seen_dev = true;
            if (parse_devices(r, s))
                return -1;
        } else if (!strcmp(key, "mig-enabled")) {
            if (r->ev.type != YAML_SCALAR_EVENT ||
                (strcmp(ofm_yaml_scalar(r), "true") && strcmp(ofm_yaml_scalar(r), "false")))
                return ofm_error_set(r->err, r->origin, ofm_yaml_line(r),
                                     "mig-enabled must be true or false");
            s->enabled = !strcmp(ofm_yaml_scalar(r), "true");
            s->has_enabled = true;
        } else if (!strcmp(key, "mig-devices")) {
            seen_md = true;
            if (r->ev.type != YAML_MAPPING_START_EVENT)
                return ofm_error_set(r->err, r->origin, ofm_yaml_line(r),
                                     "mig-devices must map profile names to counts ({} for none)");
            for (;;) {
                if (ofm_yaml_next(r))
                    return -1;
                if (r->ev.type == YAML_MAPPING_END_EVENT)
                    break;
                if (r->ev.type != YAML_SCALAR_EVENT || strlen(ofm_yaml_scalar(r)) >= 24 || !*ofm_yaml_scalar(r))
                    return ofm_error_set(r->err, r->origin, ofm_yaml_line(r), "bad profile name");
                if (s->ndevs == OFM_MIG_CFG_MAX_DEVS)
                    return ofm_error_set(r->err, r->origin, ofm_yaml_line(r), "too many profiles");
                ofm_mig_cfg_dev *d = &s->devs[s->ndevs];
                snprintf(d->name, sizeof d->name, "%s", ofm_yaml_scalar(r));
                d->line = ofm_yaml_line(r);
                for (size_t i = 0; i < s->ndevs; i++)
                    if (!strcmp(s->devs[i].name, d->name))
                        return ofm_error_set(r->err, r->origin, d->line,
                                             "profile '%s' listed twice", d->name);
                if (ofm_yaml_next(r))
                    return -1;
                if (r->ev.type != YAML_SCALAR_EVENT || parse_u32(ofm_yaml_scalar(r), 16, &d->count))
                    return ofm_error_set(r->err, r->origin, ofm_yaml_line(r),
                                         "count of '%s' must be a number 0-16", d->name);
                if (d->count)
                    s->ndevs++;
            }
        } else if (!strcmp(key, "device-filter")) {
            if (r->ev.type == YAML_SCALAR_EVENT) {
                if (parse_pci(r, s))
                    return -1;
            } else if (r->ev.type == YAML_SEQUENCE_START_EVENT) {
                for (;;) {
                    if (ofm_yaml_next(r))
                        return -1;
                    if (r->ev.type == YAML_SEQUENCE_END_EVENT)
                        break;
                    if (r->ev.type != YAML_SCALAR_EVENT || parse_pci(r, s))
                        return r->err->msg[0] ? -1
                                              : ofm_error_set(r->err, r->origin, ofm_yaml_line(r),
                                                              "device-filter: expected PCI IDs");
                }
            } else {
                return ofm_error_set(r->err, r->origin, ofm_yaml_line(r),
                                     "device-filter: expected a PCI ID or a list of them");
            }
        } else {
            return ofm_error_set(r->err, r->origin, kline, "unknown field '%s' (expected devices, "
                                 "mig-enabled, mig-devices, device-filter)", key);
        }
    }
    if (!seen_dev)
        return ofm_error_set(r->err, r->origin, s->line, "missing field 'devices'");
    if (!s->has_enabled)
        return ofm_error_set(r->err, r->origin, s->line, "missing field 'mig-enabled'");
    if (!s->enabled && s->ndevs)
        return ofm_error_set(r->err, r->origin, s->devs[0].line,
                             "mig-devices given while mig-enabled is false");
    (void)seen_md;
    return 0;
}

static int parse_configs(rd *r, ofm_mig_cfg *c)
{
    if (r->ev.type != YAML_MAPPING_START_EVENT)
        return ofm_error_set(r->err, r->origin, ofm_yaml_line(r), "mig-configs must map labels to lists");
    for (;;) {
        if (ofm_yaml_next(r))
            return -1;
        if (r->ev.type == YAML_MAPPING_END_EVENT)
            return 0;
        if (r->ev.type != YAML_SCALAR_EVENT || !*ofm_yaml_scalar(r) || strlen(ofm_yaml_scalar(r)) >= 64)
            return ofm_error_set(r->err, r->origin, ofm_yaml_line(r), "bad label");
        if (c->nlabels == OFM_MIG_CFG_MAX_LABELS)
            return ofm_error_set(r->err, r->origin, ofm_yaml_line(r), "more than %d labels",
                                 OFM_MIG_CFG_MAX_LABELS);
        ofm_mig_cfg_label *l = &c->labels[c->nlabels];
        memset(l, 0, sizeof *l);
        snprintf(l->label, sizeof l->label, "%s", ofm_yaml_scalar(r));
        l->line = ofm_yaml_line(r);
        if (ofm_mig_cfg_find(c, l->label))
            return ofm_error_set(r->err, r->origin, l->line, "label '%s' defined twice", l->label);
        if (expect(r, YAML_SEQUENCE_START_EVENT, "a list of device specs under the label"))
            return -1;
        for (;;) {
            if (ofm_yaml_next(r))
                return -1;
            if (r->ev.type == YAML_SEQUENCE_END_EVENT)
                break;
            if (r->ev.type != YAML_MAPPING_START_EVENT)
                return ofm_error_set(r->err, r->origin, ofm_yaml_line(r), "expected a device spec");
            if (l->nspecs == OFM_MIG_CFG_MAX_SPECS)
                return ofm_error_set(r->err, r->origin, ofm_yaml_line(r), "more than %d specs",
                                     OFM_MIG_CFG_MAX_SPECS);
            if (parse_spec(r, &l->specs[l->nspecs++]))
                return -1;
        }
        c->nlabels++;
    }
}

int ofm_mig_cfg_parse(const char *buf, size_t len, const char *origin, ofm_mig_cfg *c,
                      ofm_error *err)
{
    memset(c, 0, sizeof *c);
    memset(err, 0, sizeof *err);
    snprintf(c->origin, sizeof c->origin, "%s", origin);
    rd r;
    int rc = -1;
    bool version = false, configs = false;
    if (ofm_yaml_open(&r, buf, len, origin, err, "version and mig-configs"))
        goto out;
    for (;;) {
        if (ofm_yaml_next(&r))
            goto out;
        if (r.ev.type == YAML_MAPPING_END_EVENT)
            break;
        if (r.ev.type != YAML_SCALAR_EVENT) {
            ofm_error_set(err, origin, ofm_yaml_line(&r), "expected a field name");
            goto out;
        }
        char key[64];
        snprintf(key, sizeof key, "%s", ofm_yaml_scalar(&r));
        unsigned kline = ofm_yaml_line(&r);
        if (ofm_yaml_next(&r))
            goto out;
        if (!strcmp(key, "version")) {
            if (r.ev.type != YAML_SCALAR_EVENT || strcmp(ofm_yaml_scalar(&r), "v1")) {
                ofm_error_set(err, origin, ofm_yaml_line(&r), "unsupported version (only v1)");
                goto out;
            }
            version = true;
        } else if (!strcmp(key, "mig-configs")) {
            if (parse_configs(&r, c))
                goto out;
            configs = true;
        } else {
            ofm_error_set(err, origin, kline, "unknown field '%s' (expected version, mig-configs)",
                          key);
            goto out;
        }
    }
    if (ofm_yaml_end(&r))
        goto out;
    if (!version)
        ofm_error_set(err, origin, 1, "missing field 'version: v1'");
    else if (!configs)
        ofm_error_set(err, origin, 1, "missing field 'mig-configs'");
    else
        rc = 0;
out:
    ofm_yaml_close(&r);
    return rc;
}

int ofm_mig_cfg_load(const char *path, ofm_mig_cfg *out, ofm_error *err)
{
    char *buf;
    size_t n;
    if (ofm_file_read(path, "MIG configuration", 1u << 20, 0, &buf, &n, err))
        return -1;
    int rc = ofm_mig_cfg_parse(buf, n, path, out, err);
    free(buf);
    return rc;
}

const ofm_mig_cfg_label *ofm_mig_cfg_find(const ofm_mig_cfg *c, const char *label)
{
    for (size_t i = 0; i < c->nlabels; i++)
        if (!strcmp(c->labels[i].label, label))
            return &c->labels[i];
    return NULL;
}
