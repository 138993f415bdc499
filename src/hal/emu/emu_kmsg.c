/* The emulated kernel log and device identities. Lines follow FM §3.3 so the
 * same parser reads real dmesg output and ours:
 *   [  12.345678] nvidia-nvswitch3: SXid (PCI:0000:c1:00.0): 28006, Non-fatal, Link 46 <desc>
 *   [  12.345678] NVRM: Xid (PCI:0000:34:00): 45, <detail>
 * Timestamps are seconds since the emulated system's last boot. */
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hal/emu/emu_int.h"

static uint64_t fnv(const char *s, uint64_t h)
{
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

/* splitmix64 finaliser: spreads FNV's output so similar keys give unrelated UUIDs */
static uint64_t mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Deterministic, distinct bus numbers: GPUs spread over the tree, switches
 * grouped below them. A bus number has 8 bits: past 16 GPUs (a rack-scale
 * domain) each further group of 16 sits in the next PCI domain, at the same
 * buses, so every address is one lspci could print. */
void emu_gpu_bdf(const ofm_platform *p, size_t gi, char *out, size_t len)
{
    (void)p;
    snprintf(out, len, "%04zx:%02zx:00.0", gi / 16, 0x18 + (gi % 16) * 0x0e); /* 0x18-0xf2 */
}

void emu_switch_bdf(const ofm_platform *p, size_t si, char *out, size_t len)
{
    (void)p;
    snprintf(out, len, "0000:%02zx:00.0", 0x05 + si); /* below the GPUs: 0x05-0x10 */
}

static void uuid_of(const char *prefix, const ofm_platform *p, const char *kind, uint32_t id,
                    char *out, size_t len)
{
    char key[128];
    snprintf(key, sizeof key, "%s/%s/%" PRIu32, p->name, kind, id);
    uint64_t a = mix(fnv(key, 14695981039346656037ull)), b = mix(a ^ 0x9e3779b97f4a7c15ull);
    snprintf(out, len, "%s%08" PRIx32 "-%04" PRIx32 "-%04" PRIx32 "-%04" PRIx32 "-%012" PRIx64,
             prefix, (uint32_t)(a >> 32), (uint32_t)(a >> 16) & 0xffff, (uint32_t)a & 0xffff,
             (uint32_t)(b >> 48), (uint64_t)(b & 0xffffffffffffull));
}

void emu_gpu_uuid(const ofm_platform *p, size_t gi, char *out, size_t len)
{
    uuid_of("GPU-", p, "gpu", p->gpus[gi].phys_id, out, len);
}

void emu_switch_uuid(const ofm_platform *p, size_t si, char *out, size_t len)
{
    uuid_of("SWX-", p, "switch", p->switches[si].id, out, len);
}

__attribute__((format(printf, 3, 0))) static void vline(emu_impl *e, uint64_t now_ns, const char *fmt, va_list ap)
{
    char path[4200], line[1024];
    snprintf(path, sizeof path, "%s/kmsg", e->dir);
    if (!now_ns) { /* "now": keeps the log's timestamps in order for untimed notes */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        now_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    }
    uint64_t t = now_ns > e->st.f.boot_ns ? now_ns - e->st.f.boot_ns : 0;
    int n = snprintf(line, sizeof line, "[%5" PRIu64 ".%06" PRIu64 "] ", t / 1000000000u,
                     (t / 1000u) % 1000000u);
    vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    size_t l = strlen(line);
    line[l++] = '\n';
    /* O_APPEND keeps whole lines from concurrent writers */
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd >= 0) {
        ssize_t w = write(fd, line, l);
        (void)w;
        close(fd);
    }
}

void emu_kmsg_line(emu_impl *e, uint64_t now_ns, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vline(e, now_ns, fmt, ap);
    va_end(ap);
}

void emu_kmsg_sxid(emu_impl *e, size_t si, uint32_t port, uint32_t code, bool fatal,
                   const char *desc, uint64_t now_ns)
{
    char bdf[32];
    emu_switch_bdf(e->p, si, bdf, sizeof bdf);
    /* the driver numbers its nodes from 0 in enumeration order */
    emu_kmsg_line(e, now_ns, "nvidia-nvswitch%zu: SXid (PCI:%s): %" PRIu32 ", %s, Link %" PRIu32 " %s",
                  si, bdf, code, fatal ? "Fatal" : "Non-fatal", port, desc && *desc ? desc : "");
    emu_kmsg_line(e, now_ns,
                  "nvidia-nvswitch%zu: SXid (PCI:%s): %" PRIu32 ", Severity %d Engine instance %" PRIu32
                  " Sub-engine instance 00",
                  si, bdf, code, fatal ? 1 : 0, port);
    emu_kmsg_line(e, now_ns,
                  "nvidia-nvswitch%zu: SXid (PCI:%s): %" PRIu32 ", Data {0x%08" PRIx32
                  ", 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, "
                  "0x00000000}",
                  si, bdf, code, (port << 16) | (code & 0xffff));
}

void emu_kmsg_xid(emu_impl *e, size_t gi, uint32_t code, const char *detail, uint64_t now_ns)
{
    char bdf[32], uuid[80];
    emu_gpu_bdf(e->p, gi, bdf, sizeof bdf);
    emu_gpu_uuid(e->p, gi, uuid, sizeof uuid);
    bdf[strlen(bdf) - 2] = '\0'; /* the NVRM lines print domain:bus:device */
    emu_kmsg_line(e, now_ns, "NVRM: GPU at PCI:%s: %s", bdf, uuid);
    emu_kmsg_line(e, now_ns, "NVRM: GPU Board Serial Number: %013" PRIu32,
                  1320000000u + e->p->gpus[gi].phys_id);
    emu_kmsg_line(e, now_ns, "NVRM: Xid (PCI:%s): %" PRIu32 ", %s", bdf, code,
                  detail && *detail ? detail : "");
}
