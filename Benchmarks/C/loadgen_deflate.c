/* SPDX-License-Identifier: Apache-2.0
 *
 * Closed-loop echo load with permessage-deflate (RFC 7692): CONNS connections, one thread each,
 * each sending a compressed text message and waiting for its echo before the next.
 *
 *   loadgen_deflate -p PORT [-r PATH] [-c CONNS] [-s SIZE] [-t SECONDS] [-w WARMUP] [-P PID]
 *
 * The offer is `permessage-deflate; client_no_context_takeover; server_max_window_bits=12;
 * client_max_window_bits=12` (Python websockets' default windows); the server must accept
 * it. Messages are 16 JSON-like texts of SIZE bytes, compressed once each at start (raw
 * deflate, level 6, 12-bit window, memLevel 5, a fresh stream per message as
 * client_no_context_takeover allows, the 00 00 FF FF tail removed, §7.2.1). Every echo is
 * inflated (its own stream per connection, context kept: the server keeps its window) and
 * compared byte for byte with what was sent; any mismatch, close or wrong opcode is an error,
 * and a run with errors exits 1.
 *
 * -Z (no server): the zlib floor. Does in this process, for -t seconds, exactly the zlib work a
 * server does per message of this load: inflate the client's message (a fresh stream, as
 * client_no_context_takeover allows; the 00 00 FF FF tail appended) and deflate the echo with one
 * stream kept across messages (level 6, 12-bit window, memLevel 5, Z_SYNC_FLUSH, the tail
 * removed), and prints zlib_us_per_msg (CPU time per message) and wire_in_per_msg: a server
 * that did nothing else would spend that much; a ratio of two servers' rates cannot exceed the
 * slower server's CPU per message over it.
 *
 * One line out: msgs_per_s, p50_us, p99_us, wire bytes per message each way (compressed
 * payloads), errors, this process's CPU (cores) and, with -P, the server's CPU (cores) and
 * server_us_per_msg.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "ws_common.h"

#define VARIANTS 16
#define MAX_SAMPLES (1u << 20)

static int port = 9001, conns = 1, size = 1024, pid = 0;
static const char *path = "/";
static double seconds = 2, warmup = 0.5;
static atomic_int recording, stopping;

static uint8_t *plain[VARIANTS];   /* the texts */
static uint8_t *frames[VARIANTS];  /* each one masked client frame, compressed */
static size_t frame_len[VARIANTS], wire_out[VARIANTS];

struct worker {
    pthread_t thread;
    int index;
    uint64_t msgs, errors, wire_in, wire_out;
    uint32_t *samples; size_t nsamples;
};

/* JSON-like text of exactly `n` bytes, different per variant. */
static void make_text(uint8_t *out, size_t n, int variant) {
    size_t pos = 0;
    unsigned seed = 2166136261u ^ (unsigned)variant;
    while (pos < n) {
        seed = seed * 1103515245u + 12345u;
        char item[128];
        int k = snprintf(item, sizeof item, "{\"id\":%u,\"name\":\"item-%u\",\"price\":%u.%02u,\"tags\":[\"a\",\"b\"]},",
                         seed % 100000, (seed >> 8) % 1000, (seed >> 4) % 500, seed % 100);
        for (int i = 0; i < k && pos < n; i++) out[pos++] = (uint8_t)item[i];
    }
}

static size_t deflate_message(const uint8_t *in, size_t n, uint8_t **out) {
    z_stream z; memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 6, Z_DEFLATED, -12, 5, Z_DEFAULT_STRATEGY) != Z_OK) exit(2);
    size_t cap = deflateBound(&z, n) + 16;
    *out = malloc(cap);
    z.next_in = (Bytef *)in; z.avail_in = (uInt)n;
    z.next_out = *out; z.avail_out = (uInt)cap;
    if (deflate(&z, Z_SYNC_FLUSH) != Z_OK || z.avail_in != 0) exit(2);
    size_t len = cap - z.avail_out;
    deflateEnd(&z);
    if (len < 4 || memcmp(*out + len - 4, "\x00\x00\xff\xff", 4) != 0) exit(2);
    return len - 4;
}

static void build_frames(void) {
    for (int v = 0; v < VARIANTS; v++) {
        plain[v] = malloc((size_t)size);
        make_text(plain[v], (size_t)size, v);
        uint8_t *z; size_t zn = deflate_message(plain[v], (size_t)size, &z);
        wire_out[v] = zn;
        uint8_t *f = malloc(zn + 14);
        size_t h = 0;
        f[h++] = 0xC1;  /* FIN, RSV1 (compressed), text */
        if (zn < 126) f[h++] = 0x80 | (uint8_t)zn;
        else if (zn < 65536) { f[h++] = 0x80 | 126; f[h++] = (uint8_t)(zn >> 8); f[h++] = (uint8_t)zn; }
        else { f[h++] = 0x80 | 127; for (int i = 7; i >= 0; i--) f[h++] = (uint8_t)((uint64_t)zn >> (8 * i)); }
        uint8_t key[4] = {(uint8_t)(0x37 + v), 0xfa, 0x21, (uint8_t)(0x3d ^ v)};
        memcpy(f + h, key, 4); h += 4;
        mask_copy(f + h, z, zn, key);
        frames[v] = f; frame_len[v] = h + zn;
        free(z);
    }
}

/* The server's zlib work per message, alone (see -Z above). */
static int run_zlib_floor(void) {
    z_stream out; memset(&out, 0, sizeof out);
    if (deflateInit2(&out, 6, Z_DEFLATED, -12, 5, Z_DEFAULT_STRATEGY) != Z_OK) return 1;
    uint8_t *text = malloc((size_t)size + 64), *echo = malloc((size_t)size * 2 + 1024);
    uint8_t *wire[VARIANTS]; size_t wire_len[VARIANTS];
    for (int v = 0; v < VARIANTS; v++) {  /* each message's compressed bytes, unmasked, with the tail */
        size_t h = frame_len[v] - wire_out[v];
        wire[v] = malloc(wire_out[v] + 4);
        const uint8_t *key = frames[v] + h - 4;
        for (size_t i = 0; i < wire_out[v]; i++) wire[v][i] = frames[v][h + i] ^ key[i & 3];
        memcpy(wire[v] + wire_out[v], "\x00\x00\xff\xff", 4);
        wire_len[v] = wire_out[v] + 4;
    }
    uint64_t msgs = 0, in_bytes = 0;
    struct timespec c0, c1, w0, w1;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0); clock_gettime(CLOCK_MONOTONIC, &w0);
    for (;;) {
        int v = (int)(msgs % VARIANTS);
        z_stream in; memset(&in, 0, sizeof in);
        if (inflateInit2(&in, -12) != Z_OK) return 1;
        in.next_in = wire[v]; in.avail_in = (uInt)wire_len[v];
        in.next_out = text; in.avail_out = (uInt)size + 64;
        int rc = inflate(&in, Z_SYNC_FLUSH);
        if ((rc != Z_OK && rc != Z_STREAM_END) || size + 64 - (int)in.avail_out != size || memcmp(text, plain[v], (size_t)size) != 0) {
            fprintf(stderr, "loadgen_deflate: zlib floor: inflate mismatch\n"); return 1;
        }
        inflateEnd(&in);
        out.next_in = text; out.avail_in = (uInt)size;
        out.next_out = echo; out.avail_out = (uInt)size * 2 + 1024;
        if (deflate(&out, Z_SYNC_FLUSH) != Z_OK || out.avail_in != 0) return 1;
        size_t n = (size_t)size * 2 + 1024 - out.avail_out;
        if (n < 4 || memcmp(echo + n - 4, "\x00\x00\xff\xff", 4) != 0) return 1;
        msgs++; in_bytes += wire_out[v];
        if ((msgs & 63) == 0) {
            clock_gettime(CLOCK_MONOTONIC, &w1);
            if ((double)(w1.tv_sec - w0.tv_sec) + (double)(w1.tv_nsec - w0.tv_nsec) / 1e9 >= seconds) break;
        }
    }
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
    double cpu = (double)(c1.tv_sec - c0.tv_sec) + (double)(c1.tv_nsec - c0.tv_nsec) / 1e9;
    printf("zlib_us_per_msg=%.2f msgs=%llu wire_in_per_msg=%.1f\n", cpu * 1e6 / (double)msgs,
           (unsigned long long)msgs, (double)in_bytes / (double)msgs);
    return 0;
}

static int write_all(int fd, const uint8_t *p, size_t n) {
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w; n -= (size_t)w;
    }
    return 0;
}

/* Reads until `buf` holds at least `need` bytes. */
static int fill(int fd, uint8_t **buf, size_t *len, size_t *cap, size_t need) {
    while (*len < need) {
        if (need > *cap) { *cap = need + 65536; *buf = realloc(*buf, *cap); }
        ssize_t r = read(fd, *buf + *len, *cap - *len);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        *len += (size_t)r;
    }
    return 0;
}

static int open_connection(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) { close(fd); return -1; }
    int one = 1; setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    char req[512];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                     "Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover; "
                     "server_max_window_bits=12; client_max_window_bits=12\r\n\r\n", path, port);
    if (write_all(fd, (const uint8_t *)req, (size_t)n) != 0) { close(fd); return -1; }
    char head[4096]; size_t got = 0;
    while (got < sizeof head - 1) {  /* one byte at a time: nothing after the head is consumed */
        ssize_t r = read(fd, head + got, 1);
        if (r <= 0) { close(fd); return -1; }
        got++;
        if (got >= 4 && memcmp(head + got - 4, "\r\n\r\n", 4) == 0) break;
    }
    head[got] = 0;
    if (strncmp(head, "HTTP/1.1 101", 12) != 0 || !strcasestr(head, "permessage-deflate")) {
        fprintf(stderr, "loadgen_deflate: the server did not accept permessage-deflate:\n%s", head);
        close(fd); return -1;
    }
    return fd;
}

static void *run(void *arg) {
    struct worker *w = arg;
    w->samples = malloc(MAX_SAMPLES * sizeof *w->samples);
    int fd = open_connection();
    if (fd < 0) { w->errors++; return NULL; }
    z_stream inf; memset(&inf, 0, sizeof inf);
    if (inflateInit2(&inf, -15) != Z_OK) exit(2);
    size_t cap = 65536, len = 0, mcap = (size_t)size + 65536;
    uint8_t *buf = malloc(cap), *msg = malloc(mcap), *out = malloc((size_t)size + 1);
    for (unsigned i = (unsigned)w->index; !atomic_load(&stopping); i++) {
        int v = (int)(i % VARIANTS);
        uint64_t start = now_ns();
        if (write_all(fd, frames[v], frame_len[v]) != 0) { w->errors++; break; }
        size_t mlen = 0; int compressed = -1, done = 0;
        while (!done) {  /* one message, possibly in several frames */
            if (fill(fd, &buf, &len, &cap, 2) != 0) { w->errors++; goto end; }
            uint8_t b0 = buf[0]; uint64_t n = buf[1] & 0x7F; size_t h = 2;
            if (n == 126) { if (fill(fd, &buf, &len, &cap, 4)) { w->errors++; goto end; } n = (uint64_t)buf[2] << 8 | buf[3]; h = 4; }
            else if (n == 127) {
                if (fill(fd, &buf, &len, &cap, 10)) { w->errors++; goto end; }
                n = 0; for (int k = 0; k < 8; k++) n = n << 8 | buf[2 + k];
                h = 10;
            }
            if (fill(fd, &buf, &len, &cap, h + n) != 0) { w->errors++; goto end; }
            uint8_t op = b0 & 0x0F;
            if (op >= 0x8 || (compressed < 0 && op != 0x1) || (compressed >= 0 && op != 0x0)) { w->errors++; goto end; }
            if (compressed < 0) compressed = (b0 & 0x40) != 0;
            if (mlen + n + 4 > mcap) { mcap = mlen + n + 65536; msg = realloc(msg, mcap); }
            memcpy(msg + mlen, buf + h, n); mlen += n;
            memmove(buf, buf + h + n, len - h - n); len -= h + n;
            done = (b0 & 0x80) != 0;
        }
        int ok;
        if (compressed) {
            memcpy(msg + mlen, "\x00\x00\xff\xff", 4);
            inf.next_in = msg; inf.avail_in = (uInt)(mlen + 4);
            inf.next_out = out; inf.avail_out = (uInt)size + 1;
            int r = inflate(&inf, Z_SYNC_FLUSH);
            ok = (r == Z_OK || r == Z_BUF_ERROR) && inf.avail_in == 0 && (size_t)size + 1 - inf.avail_out == (size_t)size
                 && memcmp(out, plain[v], (size_t)size) == 0;
        } else {
            ok = mlen == (size_t)size && memcmp(msg, plain[v], (size_t)size) == 0;
        }
        if (!ok) { w->errors++; break; }
        if (atomic_load(&recording)) {
            w->msgs++; w->wire_in += mlen; w->wire_out += wire_out[v];
            if (w->nsamples < MAX_SAMPLES) w->samples[w->nsamples++] = (uint32_t)((now_ns() - start) / 10);
        }
    }
end:
    inflateEnd(&inf);
    close(fd);
    free(buf); free(msg); free(out);
    return NULL;
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    int opt;
    int zlib_floor = 0;
    while ((opt = getopt(argc, argv, "p:r:c:s:t:w:P:Z")) != -1) {
        switch (opt) {
        case 'p': port = atoi(optarg); break;
        case 'r': path = optarg; break;
        case 'c': conns = atoi(optarg); break;
        case 's': size = atoi(optarg); break;
        case 't': seconds = atof(optarg); break;
        case 'w': warmup = atof(optarg); break;
        case 'P': pid = atoi(optarg); break;
        case 'Z': zlib_floor = 1; break;
        default: fprintf(stderr, "usage: loadgen_deflate -p PORT [-r PATH] [-c CONNS] [-s SIZE] [-t S] [-w S] [-P PID] | -Z [-s SIZE] [-t S]\n"); return 2;
        }
    }
    if (port <= 0 || port > 65535 || conns < 1 || conns > 1000 || size < 1 || size > (16 << 20) || seconds <= 0 || warmup < 0) {
        fprintf(stderr, "loadgen_deflate: bad arguments\n"); return 2;
    }
    build_frames();
    if (zlib_floor) return run_zlib_floor();
    struct worker *ws = calloc((size_t)conns, sizeof *ws);
    for (int i = 0; i < conns; i++) { ws[i].index = i; pthread_create(&ws[i].thread, NULL, run, &ws[i]); }
    usleep((useconds_t)(warmup * 1e6));
    uint64_t c0 = cpu_ns(), s0 = pid ? proc_cpu_ns(pid) : 0, t0 = now_ns();
    atomic_store(&recording, 1);
    usleep((useconds_t)(seconds * 1e6));
    atomic_store(&recording, 0);
    uint64_t t1 = now_ns(), c1 = cpu_ns(), s1 = pid ? proc_cpu_ns(pid) : 0;
    atomic_store(&stopping, 1);
    uint64_t msgs = 0, errors = 0, win = 0, wout = 0; size_t total = 0;
    for (int i = 0; i < conns; i++) {
        pthread_join(ws[i].thread, NULL);
        msgs += ws[i].msgs; errors += ws[i].errors; win += ws[i].wire_in; wout += ws[i].wire_out; total += ws[i].nsamples;
    }
    uint32_t *all = malloc((total + 1) * sizeof *all); size_t k = 0;
    for (int i = 0; i < conns; i++) { memcpy(all + k, ws[i].samples, ws[i].nsamples * sizeof *all); k += ws[i].nsamples; }
    qsort(all, total, sizeof *all, cmp_u32);
    double el = (double)(t1 - t0) / 1e9;
    double p50 = total ? all[total / 2] / 100.0 : 0, p99 = total ? all[(size_t)((double)total * 0.99)] / 100.0 : 0;
    printf("msgs_per_s=%.0f p50_us=%.1f p99_us=%.1f wire_in_per_msg=%.1f wire_out_per_msg=%.1f errors=%llu cpu=%.2f",
           (double)msgs / el, p50, p99, msgs ? (double)win / (double)msgs : 0, msgs ? (double)wout / (double)msgs : 0,
           (unsigned long long)errors, (double)(c1 - c0) / 1e9 / el);
    if (pid) printf(" server_cpu=%.2f server_us_per_msg=%.2f", (double)(s1 - s0) / 1e9 / el,
                    msgs ? (double)(s1 - s0) / 1e3 / (double)msgs : 0);
    printf("\n");
    return errors ? 1 : 0;
}
