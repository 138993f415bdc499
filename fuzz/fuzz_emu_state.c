/* libFuzzer target: the emulator's state.bin reader. Whatever bytes sit in
 * an emulated system's directory, opening it either fails with a clear error
 * or yields a state every HAL call and the probe can walk without crashing.
 *
 * A real state file is ~100 KiB and checksummed, so raw mutation almost never
 * gets past the CRC. The first input byte therefore picks a mode:
 *   0: the rest is the whole file (header, size and checksum checks);
 *   1: the rest is a list of (u32 offset, u8 value) patches applied to a
 *      freshly created system's file, checksum left as is;
 *   2: the same patches, then the checksum recomputed, so the values behind
 *      it (link states, health, ring indexes, routes) reach the reader. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hal/emu/emu_int.h"
#include "openfm/emu.h"

static char dir[64];
static char state_path[128];
static uint8_t *pristine;
static size_t pristine_len;

static void cleanup(void)
{
    char err[512];
    ofm_emu_destroy(dir, err, sizeof err);
}

static void setup(void)
{
    char err[512];
    snprintf(dir, sizeof dir, "/tmp/ofm-fuzz-emu-XXXXXX");
    /* HGX-2: trunks between baseboards give the probe multi-hop paths */
    if (!mkdtemp(dir) || ofm_emu_create(dir, "hgx-2", true, err, sizeof err) != OFM_HAL_OK) {
        fprintf(stderr, "fuzz_emu_state: setup failed: %s\n", err);
        abort();
    }
    atexit(cleanup);
    snprintf(state_path, sizeof state_path, "%s/state.bin", dir);
    FILE *f = fopen(state_path, "rb");
    pristine = malloc(1u << 20);
    if (!f || !pristine)
        abort();
    pristine_len = fread(pristine, 1, 1u << 20, f);
    fclose(f);
}

static void put_file(const uint8_t *data, size_t len)
{
    int fd = open(state_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        abort();
    while (len) {
        ssize_t n = write(fd, data, len);
        if (n <= 0)
            abort();
        data += n;
        len -= (size_t)n;
    }
    close(fd);
}

static void exercise(ofm_hal *h)
{
    const ofm_platform *p = ofm_hal_platform(h);
    ofm_hal_switch sws[OFM_MAX_SWITCHES];
    ofm_hal_gpu gpus[OFM_MAX_GPUS];
    size_t n;
    char ver[64];
    h->ops->driver_version(h, ver, sizeof ver);
    if (strlen(ver) >= sizeof ver)
        abort();
    h->ops->list_switches(h, sws, OFM_MAX_SWITCHES, &n);
    h->ops->list_gpus(h, gpus, OFM_MAX_GPUS, &n);
    static ofm_route_entry routes[OFM_MAX_SWITCH_PORTS * OFM_MAX_GPUS];
    for (size_t s = 0; s < p->nswitches; s++) {
        h->ops->route_read(h, p->switches[s].id, routes, sizeof routes / sizeof routes[0], &n);
        for (uint32_t port = 0; port < p->switches[s].nports; port++) {
            ofm_hal_link lk;
            if (h->ops->switch_port(h, p->switches[s].id, port, &lk) == OFM_HAL_OK &&
                lk.state > OFM_LINK_FAILED)
                abort();
        }
    }
    ofm_hal_event ev[EMU_EVENT_RING];
    uint64_t cursor = 0;
    h->ops->read_events(h, &cursor, ev, EMU_EVENT_RING, &n);
    for (size_t i = 0; i < n; i++)
        if (strlen(ev[i].detail) >= sizeof ev[i].detail)
            abort();
    for (size_t g = 0; g < p->ngpus; g++) {
        ofm_hal_fabric_info fi;
        h->ops->fabric_get(h, p->gpus[g].phys_id, &fi);
        ofm_emu_probe_result r;
        uint32_t dst = p->gpus[(g + 1) % p->ngpus].phys_id;
        ofm_emu_probe(h, p->gpus[g].phys_id, dst, true, &r);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!pristine)
        setup();
    if (size < 1)
        return 0;
    uint8_t mode = data[0] % 3;
    data++, size--;
    if (mode == 0) {
        put_file(data, size);
    } else {
        uint8_t *img = malloc(pristine_len);
        if (!img)
            abort();
        memcpy(img, pristine, pristine_len);
        for (; size >= 5; data += 5, size -= 5) {
            uint32_t off;
            memcpy(&off, data, 4);
            img[off % pristine_len] = data[4];
        }
        if (mode == 2 && pristine_len > sizeof(emu_header)) {
            emu_header hdr;
            memcpy(&hdr, img, sizeof hdr);
            hdr.crc32 = emu_crc32(img + sizeof hdr, pristine_len - sizeof hdr, 0);
            memcpy(img, &hdr, sizeof hdr);
        }
        put_file(img, pristine_len);
        free(img);
    }
    ofm_hal *h = NULL;
    char err[512];
    if (ofm_emu_open(dir, &h, err, sizeof err) == OFM_HAL_OK) {
        exercise(h);
        ofm_hal_close(h);
    } else if (!strstr(err, dir)) {
        abort(); /* every refusal names the file */
    }
    return 0;
}
