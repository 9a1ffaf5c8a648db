/* SPDX-License-Identifier: Apache-2.0
 *
 * The load generator for the end-to-end rows: one thread on epoll, many WebSocket client
 * connections on loopback, each ping-ponging one masked message at a time (RFC 6455 §5.3) and
 * timing each round trip with CLOCK_MONOTONIC.
 *
 *   loadgen [-h 127.0.0.1] -p PORT [-c CONNS] [-s SIZE] [-b] [-t SECONDS] [-w WARMUP] [-P SERVER_PID]
 *   loadgen -p PORT -i IDLE_CONNS -P SERVER_PID [-W SETTLE]  (idle mode: resident memory per connection)
 *
 * -r PATH sets the request target (default /; `ws serve` echoes on /echo).
 * -S speaks TLS (wss://, OpenSSL on the socket, no certificate verification: a load generator);
 * build with -DWITH_OPENSSL ... -lssl -lcrypto for it. -b sends binary instead of text. Prints one line of key=value pairs:
 *   msgs, msgs_per_s, p50_us, p99_us, mb_per_s (echoed payload bytes received per second, 10^6),
 *   cpu (this process's user+system CPU time over wall time, 1.0 = one core), errors (connections
 *   that failed, including every echo whose bytes or opcode differ from what was sent).
 * With -P SERVER_PID it also prints a second line: server_cpu (the server's CPU time over the
 * same window, all threads, from /proc/PID/stat) and server_us_per_msg (that time per message):
 * the server's cost independent of whether the generator or the server is the bottleneck.
 * Idle mode opens IDLE_CONNS connections (at most 64 handshakes in flight), exchanges one
 * 32-byte text message on each, waits SETTLE seconds (default 1) and reads the server's VmRSS before and after from
 * /proc/PID/status: rss_before_kb, rss_after_kb, bytes_per_conn, conns.
 * Client sockets are bound to 127.0.0.2–127.0.0.201 (IP_BIND_ADDRESS_NO_PORT) so that many
 * thousands of connections never run out of ephemeral ports. Every run ends by itself.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include "ws_common.h"
#ifdef WITH_OPENSSL
static SSL_CTX *tls;
#endif

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

enum { CONNECTING, TLS_HANDSHAKING, HANDSHAKING, OPEN, DEAD };

struct client {
    int fd, state, idx;
    uint8_t *rbuf; size_t rlen, rcap;
    size_t woff;          /* bytes of the current outgoing frame already written */
    const uint8_t *wdata; size_t wsize;
    uint64_t sent_at;
    int got_echo, in_message;
#ifdef WITH_OPENSSL
    SSL *ssl;
#endif
};


static int ep;
static const char *host = "127.0.0.1";
static int port = 9001;
static uint8_t *frame; static size_t frame_len; static size_t payload_len;
static uint32_t *samples; static size_t nsamples, samples_cap = 4u << 20;
static uint64_t msgs, bytes, errors;
static int recording, idle_mode;
static uint8_t *payload; static uint8_t payload_opcode;  /* what every echo must bring back */
static char request[256]; static size_t request_len;

static void build_frame(size_t size, int binary) {
    payload_len = size;
    frame = malloc(size + 14);
    size_t h = 0;
    frame[h++] = binary ? 0x82 : 0x81;
    if (size < 126) frame[h++] = 0x80 | (uint8_t)size;
    else if (size < 65536) { frame[h++] = 0x80 | 126; frame[h++] = (uint8_t)(size >> 8); frame[h++] = (uint8_t)size; }
    else { frame[h++] = 0x80 | 127; for (int i = 7; i >= 0; i--) frame[h++] = (uint8_t)((uint64_t)size >> (8 * i)); }
    static const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
    memcpy(frame + h, key, 4); h += 4;
    payload = malloc(size ? size : 1);
    for (size_t i = 0; i < size; i++) payload[i] = (uint8_t)('a' + i % 26);
    payload_opcode = binary ? 0x2 : 0x1;
    mask_copy(frame + h, payload, size, key);
    frame_len = h + size;
}

static void arm(struct client *c, int out) {
    struct epoll_event ev = {.events = EPOLLIN | (out ? EPOLLOUT : 0), .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static void kill_client(struct client *c) {
    if (c->state == DEAD) return;
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->state = DEAD;
#ifdef WITH_OPENSSL
    if (c->ssl) { SSL_free(c->ssl); c->ssl = NULL; }
#endif
    errors++;
}

static int open_client(struct client *c, int idx) {
    c->idx = idx;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (c->fd < 0) return -1;
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    struct sockaddr_in src = {0};
    src.sin_family = AF_INET;
    src.sin_addr.s_addr = htonl(0x7F000002u + (uint32_t)(idx % 200));
    bind(c->fd, (struct sockaddr *)&src, sizeof src);
    struct sockaddr_in dst = {0};
    dst.sin_family = AF_INET; dst.sin_port = htons((uint16_t)port);
    inet_pton(AF_INET, host, &dst.sin_addr);
    int r = connect(c->fd, (struct sockaddr *)&dst, sizeof dst);
    if (r < 0 && errno != EINPROGRESS) { close(c->fd); return -1; }
    c->state = CONNECTING;
    c->rcap = payload_len + 4096; c->rbuf = malloc(c->rcap); c->rlen = 0;
    c->wdata = (const uint8_t *)request; c->wsize = request_len; c->woff = 0;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
    return 0;
}

/* Writes the rest of the current outgoing buffer. */
static void flush(struct client *c) {
    while (c->woff < c->wsize) {
        ssize_t w = io_write(c->fd, SSL_OF(c), c->wdata + c->woff, c->wsize - c->woff);
        if (w > 0) { c->woff += (size_t)w; continue; }
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && errno == EAGAIN) { arm(c, 1); return; }
        kill_client(c); return;
    }
    arm(c, 0);
}

static void send_message(struct client *c) {
    c->wdata = frame; c->wsize = frame_len; c->woff = 0;
    c->sent_at = now_ns();
    flush(c);
}

static void on_event(struct client *c, uint32_t events) {
    if (c->state == DEAD) return;
    if (c->state == CONNECTING && (events & EPOLLOUT)) {
        int err = 0; socklen_t l = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
        if (err) { kill_client(c); return; }
        c->state = HANDSHAKING;
#ifdef WITH_OPENSSL
        if (tls) {
            c->ssl = SSL_new(tls); SSL_set_fd(c->ssl, c->fd); SSL_set_connect_state(c->ssl);
            c->state = TLS_HANDSHAKING;
        }
#endif
    }
#ifdef WITH_OPENSSL
    if (c->state == TLS_HANDSHAKING) {
        int r = SSL_do_handshake(c->ssl);
        if (r != 1) {
            int e = SSL_get_error(c->ssl, r);
            if (e == SSL_ERROR_WANT_READ) { arm(c, 0); return; }
            if (e == SSL_ERROR_WANT_WRITE) { arm(c, 1); return; }
            kill_client(c); return;
        }
        c->state = HANDSHAKING;
        events |= EPOLLOUT;  /* the request goes out now */
    }
#endif
    if (events & EPOLLOUT) { flush(c); if (c->state == DEAD) return; }
    if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR))) return;
    for (;;) {
        if (c->rcap - c->rlen < 4096) { c->rcap *= 2; c->rbuf = realloc(c->rbuf, c->rcap); }
        ssize_t r = io_read(c->fd, SSL_OF(c), c->rbuf + c->rlen, c->rcap - c->rlen);
        if (r < 0 && errno == EAGAIN) break;
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) { kill_client(c); return; }
        c->rlen += (size_t)r;
        if ((size_t)r < 4096) break;
    }
    size_t pos = 0;
    if (c->state == HANDSHAKING) {
        uint8_t *end = memmem(c->rbuf, c->rlen, "\r\n\r\n", 4);
        if (!end) return;
        if (c->rlen < 12 || memcmp(c->rbuf + 9, "101", 3) != 0) { kill_client(c); return; }
        pos = (size_t)(end - c->rbuf) + 4;
        c->state = OPEN;
        memmove(c->rbuf, c->rbuf + pos, c->rlen - pos); c->rlen -= pos; pos = 0;
        send_message(c);
        return;
    }
    /* Frames from the server are unmasked (§5.1); a message may come as several frames. */
    while (c->rlen - pos >= 2) {
        uint8_t b0 = c->rbuf[pos], b1 = c->rbuf[pos + 1];
        uint64_t len = b1 & 0x7F; size_t hl = 2;
        if (len == 126) { if (c->rlen - pos < 4) break; len = (uint64_t)c->rbuf[pos + 2] << 8 | c->rbuf[pos + 3]; hl = 4; }
        else if (len == 127) {
            if (c->rlen - pos < 10) break;
            len = 0; for (int i = 0; i < 8; i++) len = len << 8 | c->rbuf[pos + 2 + i];
            hl = 10;
        }
        if (c->rlen - pos < hl + len) {
            if (hl + len > c->rcap) { c->rcap = hl + len + 4096; c->rbuf = realloc(c->rbuf, c->rcap); }
            break;
        }
        uint8_t op = b0 & 0x0F;
        if (op >= 0x8) { pos += hl + len; if (op == 0x8) { kill_client(c); return; } continue; }
        /* Correctness while measuring: the echo is the same message, byte for byte, with the
         * same opcode (the first frame's; continuations are 0), or the connection counts as an
         * error (and the run's errors field is not 0). */
        if (op != (c->in_message ? 0x0 : payload_opcode) || (size_t)c->got_echo + len > payload_len
            || memcmp(c->rbuf + pos + hl, payload + c->got_echo, len) != 0) { kill_client(c); return; }
        pos += hl + len;
        c->got_echo += (int)len;
        c->in_message = !(b0 & 0x80);
        if (c->in_message) continue;
        if ((size_t)c->got_echo != payload_len) { kill_client(c); return; }
        c->got_echo = 0;
        uint64_t t = now_ns();
        if (recording) {
            msgs++; bytes += payload_len;
            if (samples && nsamples < samples_cap) samples[nsamples++] = (uint32_t)((t - c->sent_at) / 10); /* 10 ns units */
        }
        if (c->woff < c->wsize) { kill_client(c); return; } /* echo before our write finished? */
        if (idle_mode) continue;
        send_message(c);
        if (c->state == DEAD) return;
    }
    if (pos) { memmove(c->rbuf, c->rbuf + pos, c->rlen - pos); c->rlen -= pos; }
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static long read_rss_kb(int pid) {
    char path[64]; snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r"); if (!f) return -1;
    char line[256]; long kb = -1;
    while (fgets(line, sizeof line, f)) if (sscanf(line, "VmRSS: %ld kB", &kb) == 1) break;
    fclose(f); return kb;
}

static void pump(int timeout_ms) {
    struct epoll_event evs[512];
    int k = epoll_wait(ep, evs, 512, timeout_ms);
    for (int i = 0; i < k; i++) on_event(evs[i].data.ptr, evs[i].events);
}

static int run_idle(int n, int pid, double limit_s, double settle_s) {
    long before = read_rss_kb(pid);
    struct client *cs = calloc((size_t)n, sizeof *cs);
    int opened = 0;
    uint64_t deadline = now_ns() + (uint64_t)(limit_s * 1e9);
    recording = 1;
    /* At most 64 connections between connect and their first echo, so no accept queue overflows. */
    for (;;) {
        uint64_t done = msgs;
        int in_flight = opened - (int)done - (int)errors;
        while (opened < n && in_flight < 64) {
            if (open_client(&cs[opened], opened) < 0) { errors++; }
            opened++; in_flight++;
        }
        if ((int)(msgs + errors) >= n || now_ns() > deadline) break;
        pump(10);
    }
    /* Stop the clients from sending more: each connection already got its one echo. */
    for (int i = 0; i < n; i++) if (cs[i].state == OPEN) { epoll_ctl(ep, EPOLL_CTL_DEL, cs[i].fd, NULL); }
    usleep((useconds_t)(settle_s * 1e6));
    long after = read_rss_kb(pid);
    long alive = 0;
    for (int i = 0; i < n; i++) if (cs[i].state == OPEN) alive++;
    printf("conns=%ld rss_before_kb=%ld rss_after_kb=%ld bytes_per_conn=%.0f errors=%llu\n", alive, before, after,
           alive ? (double)(after - before) * 1024.0 / (double)alive : 0.0, (unsigned long long)errors);
    for (int i = 0; i < n; i++) if (cs[i].state == OPEN) close(cs[i].fd);
    return alive == n ? 0 : 1;
}

int main(int argc, char **argv) {
    int conns = 1, binary = 0, idle = 0, pid = 0, opt;
    size_t size = 32;
    double seconds = 2.0, warmup = 0.5, settle = 1.0;
    const char *resource = "/";  /* -r PATH: the request target (ws serve answers /echo) */
    while ((opt = getopt(argc, argv, "h:p:c:s:bt:w:i:P:W:Sr:")) != -1) {
        switch (opt) {
        case 'h': host = optarg; break;
        case 'p': port = atoi(optarg); break;
        case 'c': conns = atoi(optarg); break;
        case 's': size = (size_t)atol(optarg); break;
        case 'b': binary = 1; break;
        case 't': seconds = atof(optarg); break;
        case 'w': warmup = atof(optarg); break;
        case 'i': idle = atoi(optarg); break;
        case 'P': pid = atoi(optarg); break;
        case 'W': settle = atof(optarg); break;
        case 'r': resource = optarg; break;
        case 'S':
#ifdef WITH_OPENSSL
            tls = SSL_CTX_new(TLS_client_method());
            SSL_CTX_set_min_proto_version(tls, TLS1_2_VERSION);
            SSL_CTX_set_mode(tls, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
            SSL_CTX_set_read_ahead(tls, 1);
            break;
#else
            fprintf(stderr, "built without OpenSSL (-DWITH_OPENSSL)\n"); return 2;
#endif
        default: fprintf(stderr, "bad option\n"); return 2;
        }
    }
    signal(SIGPIPE, SIG_IGN);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) { rl.rlim_cur = rl.rlim_max; setrlimit(RLIMIT_NOFILE, &rl); }
    ep = epoll_create1(0);
    request_len = (size_t)snprintf(request, sizeof request,
        "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", resource, host, port);
    if (idle) { idle_mode = 1; build_frame(32, 0); return run_idle(idle, pid, 60.0, settle); }
    build_frame(size, binary);
    samples = malloc(samples_cap * sizeof *samples);
    struct client *cs = calloc((size_t)conns, sizeof *cs);
    for (int i = 0; i < conns; i++) if (open_client(&cs[i], i) < 0) { fprintf(stderr, "connect failed\n"); return 1; }
    uint64_t t0 = now_ns();
    uint64_t warm_end = t0 + (uint64_t)(warmup * 1e9), end = warm_end + (uint64_t)(seconds * 1e9);
    while (now_ns() < warm_end) pump(5);
    recording = 1;
    uint64_t m0 = now_ns(), c0 = cpu_ns(), s0 = pid > 0 ? proc_cpu_ns(pid) : 0;
    while (now_ns() < end) pump(5);
    uint64_t m1 = now_ns(), c1 = cpu_ns(), s1 = pid > 0 ? proc_cpu_ns(pid) : 0;
    recording = 0;
    double wall = (double)(m1 - m0) / 1e9;
    double p50 = 0, p99 = 0;
    if (nsamples) {
        qsort(samples, nsamples, sizeof *samples, cmp_u32);
        p50 = samples[nsamples / 2] / 100.0;
        p99 = samples[(size_t)((double)nsamples * 0.99)] / 100.0;
    }
    printf("msgs=%llu msgs_per_s=%.0f p50_us=%.1f p99_us=%.1f mb_per_s=%.1f cpu=%.2f errors=%llu\n",
           (unsigned long long)msgs, (double)msgs / wall, p50, p99, (double)bytes / wall / 1e6,
           (double)(c1 - c0) / 1e9 / wall, (unsigned long long)errors);
    if (pid > 0 && s1 >= s0 && msgs)
        printf("server_cpu=%.2f server_us_per_msg=%.2f\n", (double)(s1 - s0) / 1e9 / wall, (double)(s1 - s0) / 1e3 / (double)msgs);
    return msgs ? 0 : 1;
}
