/* Text format, one record per line:
 *   openfm-state 1
 *   platform hgx-h100
 *   gpu 1 GPU-....
 *   partition 0 supported=1 active=0 vfs=0000:3b:00.1,0000:3b:00.2
 *   end
 * The final "end" line makes a truncated file detectable. */
#include "partition/state_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_BYTES (256u * 1024u)

int ofm_pm_state_save(const char *path, const ofm_pm_state *s, ofm_error *err)
{
    char tmp[600];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return ofm_error_set(err, path, 0, "path too long");
    FILE *f = fopen(tmp, "w");
    if (!f)
        return ofm_error_set(err, tmp, 0, "cannot write: %s", strerror(errno));
    fprintf(f, "openfm-state 1\nplatform %s\n", s->platform);
    for (size_t i = 0; i < s->ngpus; i++)
        fprintf(f, "gpu %u %s\n", s->gpu_id[i], s->gpu_uuid[i][0] ? s->gpu_uuid[i] : "-");
    for (size_t i = 0; i < s->npartitions; i++) {
        fprintf(f, "partition %u supported=%d active=%d vfs=", s->part_id[i], s->supported[i],
                s->active[i]);
        if (!s->nvfs[i])
            fputc('-', f);
        for (unsigned k = 0; k < s->nvfs[i]; k++)
            fprintf(f, "%s%04x:%02x:%02x.%x", k ? "," : "", s->vfs[i][k].domain, s->vfs[i][k].bus,
                    s->vfs[i][k].device, s->vfs[i][k].function);
        fputc('\n', f);
    }
    fputs("end\n", f);
    int bad = fflush(f) || fsync(fileno(f));
    if (fclose(f) || bad || rename(tmp, path)) {
        int e = errno;
        unlink(tmp);
        return ofm_error_set(err, path, 0, "cannot write: %s", strerror(e));
    }
    return 0;
}

static int parse_vfs(char *v, ofm_pm_state *s, size_t i, const char *origin, unsigned line, ofm_error *err)
{
    s->nvfs[i] = 0;
    if (!strcmp(v, "-"))
        return 0;
    char *save;
    for (char *t = strtok_r(v, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        unsigned d, b, dev, fn;
        char extra;
        if (s->nvfs[i] >= FM_MAX_NUM_GPUS || sscanf(t, "%x:%x:%x.%x%c", &d, &b, &dev, &fn, &extra) != 4 ||
            d > 0xffff || b > 0xff || dev > 0x1f || fn > 7)
            return ofm_error_set(err, origin, line, "bad VF address '%.40s'", t);
        s->vfs[i][s->nvfs[i]++] = (fmPciDevice_t){d, b, dev, fn};
    }
    return 0;
}

int ofm_pm_state_parse(const char *buf, size_t len, const char *origin, ofm_pm_state *s, ofm_error *err)
{
    memset(s, 0, sizeof *s);
    unsigned line = 0;
    bool header = false, ended = false;
    for (size_t pos = 0; pos < len;) {
        line++;
        const char *nl = memchr(buf + pos, '\n', len - pos);
        if (!nl)
            return ofm_error_set(err, origin, line, "truncated (no newline)");
        size_t l = (size_t)(nl - (buf + pos));
        char ln[512];
        if (l >= sizeof ln || memchr(buf + pos, '\0', l))
            return ofm_error_set(err, origin, line, "malformed line");
        memcpy(ln, buf + pos, l);
        ln[l] = '\0';
        pos += l + 1;
        if (ended)
            return ofm_error_set(err, origin, line, "data after 'end'");
        char w[32], a[128], b[128], c[128], d[512];
        unsigned id;
        int sup, act;
        if (!header) {
            int ver;
            char extra;
            if (sscanf(ln, "openfm-state %d%c", &ver, &extra) != 1)
                return ofm_error_set(err, origin, line, "not an openfm state file");
            if (ver != 1)
                return ofm_error_set(err, origin, line, "state file version %d, expected 1", ver);
            header = true;
        } else if (!strcmp(ln, "end")) {
            ended = true;
        } else if (sscanf(ln, "platform %63s", s->platform) == 1) {
        } else if (sscanf(ln, "gpu %u %79s", &id, a) == 2) {
            if (s->ngpus >= OFM_MAX_GPUS)
                return ofm_error_set(err, origin, line, "too many GPUs");
            s->gpu_id[s->ngpus] = id;
            snprintf(s->gpu_uuid[s->ngpus], sizeof s->gpu_uuid[0], "%.79s", strcmp(a, "-") ? a : "");
            s->ngpus++;
        } else if (sscanf(ln, "partition %u %127s %127s %511s", &id, b, c, d) == 4 &&
                   sscanf(b, "supported=%d", &sup) == 1 && sscanf(c, "active=%d", &act) == 1 &&
                   !strncmp(d, "vfs=", 4)) {
            if (s->npartitions >= OFM_MAX_PARTITIONS)
                return ofm_error_set(err, origin, line, "too many partitions");
            if ((sup != 0 && sup != 1) || (act != 0 && act != 1))
                return ofm_error_set(err, origin, line, "supported= and active= must be 0 or 1");
            size_t i = s->npartitions++;
            s->part_id[i] = id;
            s->supported[i] = sup == 1;
            s->active[i] = act == 1;
            if (parse_vfs(d + 4, s, i, origin, line, err))
                return -1;
        } else {
            (void)w;
            return ofm_error_set(err, origin, line, "unrecognised line '%.60s'", ln);
        }
    }
    if (!header)
        return ofm_error_set(err, origin, 0, "empty state file");
    if (!ended)
        return ofm_error_set(err, origin, 0, "truncated: no 'end' line");
    if (!s->platform[0])
        return ofm_error_set(err, origin, 0, "no platform line");
    return 0;
}

int ofm_pm_state_load(const char *path, ofm_pm_state *s, ofm_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return ofm_error_set(err, path, 0, "cannot open: %s", strerror(errno));
    char *buf = malloc(MAX_BYTES + 1);
    size_t n = buf ? fread(buf, 1, MAX_BYTES + 1, f) : 0;
    fclose(f);
    int rc = !buf ? ofm_error_set(err, path, 0, "out of memory")
             : n > MAX_BYTES ? ofm_error_set(err, path, 0, "too large")
                             : ofm_pm_state_parse(buf, n, path, s, err);
    free(buf);
    return rc;
}
