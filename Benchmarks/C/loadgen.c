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
 *   cpu (this process's user+system CPU time over wall time, 1.0 = one core; the generator is one
 *   thread, so near 1.0 it is the bottleneck, not the server), user_cpu, sys_cpu (the same split),
 *   errors (connections lost or echoes that differ), mismatches (echoes that differ).
 * With -P SERVER_PID it also prints a second line over the same window, from /proc/PID/stat (all
 * threads; one clock tick, 10 ms, of resolution): server_cpu, server_user_cpu, server_sys_cpu
 * (CPU time over wall time) and server_us_per_msg, server_user_us_per_msg, server_sys_us_per_msg
 * (that time per echoed message): the server's cost whichever side is the bottleneck.
 * With -M FILE (the MALLOC_COUNT_FILE of a server started with LD_PRELOAD=bin/malloc_count.so,
 * see C/malloc_count.c) a third line: server_allocs_per_msg and server_reallocs_per_msg, the
 * server process's heap allocations over the same window per echoed message.
 * Every echo is checked while measuring: each frame's opcode (the sent one, then continuations),
 * no mask and no RSV bits from the server (§5.1, §5.2), and every payload byte against what was
 * sent; a difference closes that connection and counts as an error. The exit status is 1 if any
 * error happened or no message came back, so a row with errors fails.
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
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/mman.h>
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
    int got_echo;         /* payload bytes of the current echo checked so far */
    int in_message;       /* a first frame of the current echo arrived (even an empty one) */
#ifdef WITH_OPENSSL
    SSL *ssl;
#endif
};


static int ep;
static const char *host = "127.0.0.1";
static int port = 9001;
static uint8_t *frame; static size_t frame_len; static size_t payload_len;
static uint8_t *plain; static uint8_t sent_opcode;  /* what every echo must equal */
static uint32_t *samples; static size_t nsamples, samples_cap = 4u << 20;
static uint64_t msgs, bytes, errors, mismatches;
static int recording, idle_mode;
static char request[256]; static size_t request_len;

struct cpu_time { uint64_t user_ns, sys_ns; };

static struct cpu_time cpu_self(void) {
    struct rusage ru; getrusage(RUSAGE_SELF, &ru);
    return (struct cpu_time){
        (uint64_t)ru.ru_utime.tv_sec * 1000000000ull + (uint64_t)ru.ru_utime.tv_usec * 1000ull,
        (uint64_t)ru.ru_stime.tv_sec * 1000000000ull + (uint64_t)ru.ru_stime.tv_usec * 1000ull};
}

/* Another process's user and system CPU time in ns (all its threads), from /proc/PID/stat;
 * {0, 0} if unreadable. Resolution: one clock tick (10 ms), so over a 2 s run it is good to 0.5 %. */
static struct cpu_time proc_cpu(int pid) {
    struct cpu_time none = {0, 0};
    char path[64]; snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return none;
    char buf[1024]; size_t n = fread(buf, 1, sizeof buf - 1, f); fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')');  /* the command name may contain spaces: fields follow the last ')' */
    if (!p) return none;
    unsigned long long ut = 0, st = 0;
    /* after ')': state(3) ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime(14) stime(15) */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2) return none;
    unsigned long long tick = 1000000000ull / (unsigned long long)sysconf(_SC_CLK_TCK);
    return (struct cpu_time){ut * tick, st * tick};
}

static void build_frame(size_t size, int binary) {
    payload_len = size;
    sent_opcode = binary ? 0x2 : 0x1;
    frame = malloc(size + 14);
    size_t h = 0;
    frame[h++] = 0x80 | sent_opcode;
    if (size < 126) frame[h++] = 0x80 | (uint8_t)size;
    else if (size < 65536) { frame[h++] = 0x80 | 126; frame[h++] = (uint8_t)(size >> 8); frame[h++] = (uint8_t)size; }
    else { frame[h++] = 0x80 | 127; for (int i = 7; i >= 0; i--) frame[h++] = (uint8_t)((uint64_t)size >> (8 * i)); }
    static const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
    memcpy(frame + h, key, 4); h += 4;
    plain = malloc(size ? size : 1);
    for (size_t i = 0; i < size; i++) plain[i] = (uint8_t)('a' + i % 26);
    mask_copy(frame + h, plain, size, key);
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

/* An echo that differs from what was sent: counted, and the connection is dropped. */
static void mismatch(struct client *c) {
    mismatches++;
    kill_client(c);
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
        const uint8_t *payload = c->rbuf + pos + hl;
        pos += hl + len;
        uint8_t op = b0 & 0x0F;
        /* Server frames carry no mask and, with no extension negotiated, no RSV bits. */
        if ((b1 & 0x80) || (b0 & 0x70)) { mismatch(c); return; }
        if (op >= 0x8) { if (op == 0x8 || op > 0xA) { kill_client(c); return; } continue; }
        /* The echo: the sent opcode on its first frame, continuations after, the sent bytes. */
        if (op != (c->in_message ? 0x0 : sent_opcode)) {
            mismatch(c); return;
        }
        if (len > payload_len - (size_t)c->got_echo || memcmp(payload, plain + c->got_echo, (size_t)len) != 0) {
            mismatch(c); return;
        }
        c->got_echo += (int)len;
        c->in_message = 1;
        if (!(b0 & 0x80)) continue;
        if ((size_t)c->got_echo != payload_len) { mismatch(c); return; }
        c->got_echo = 0; c->in_message = 0;
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

/* The server's allocation counters (C/malloc_count.c), mapped from its MALLOC_COUNT_FILE. */
static const char *alloc_file;
static volatile uint64_t *alloc_counters(void) {
    if (!alloc_file) return NULL;
    int fd = open(alloc_file, O_RDONLY);
    if (fd < 0) return NULL;
    void *p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    return p == MAP_FAILED ? NULL : p;
}

int main(int argc, char **argv) {
    int conns = 1, binary = 0, idle = 0, pid = 0, opt;
    size_t size = 32;
    double seconds = 2.0, warmup = 0.5, settle = 1.0;
    const char *resource = "/";  /* -r PATH: the request target (ws serve answers /echo) */
    while ((opt = getopt(argc, argv, "h:p:c:s:bt:w:i:P:W:Sr:M:")) != -1) {
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
        case 'M': alloc_file = optarg; break;
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
    volatile uint64_t *ac = alloc_counters();
    uint64_t a0 = ac ? ac[0] : 0, r0 = ac ? ac[1] : 0;
    recording = 1;
    struct cpu_time none = {0, 0};
    uint64_t m0 = now_ns();
    struct cpu_time c0 = cpu_self(), s0 = pid > 0 ? proc_cpu(pid) : none;
    while (now_ns() < end) pump(5);
    uint64_t m1 = now_ns();
    struct cpu_time c1 = cpu_self(), s1 = pid > 0 ? proc_cpu(pid) : none;
    uint64_t a1 = ac ? ac[0] : 0, r1 = ac ? ac[1] : 0;
    recording = 0;
    double wall = (double)(m1 - m0) / 1e9;
    double p50 = 0, p99 = 0;
    if (nsamples) {
        qsort(samples, nsamples, sizeof *samples, cmp_u32);
        p50 = samples[nsamples / 2] / 100.0;
        p99 = samples[(size_t)((double)nsamples * 0.99)] / 100.0;
    }
    double cu = (double)(c1.user_ns - c0.user_ns), csy = (double)(c1.sys_ns - c0.sys_ns);
    printf("msgs=%llu msgs_per_s=%.0f p50_us=%.1f p99_us=%.1f mb_per_s=%.1f cpu=%.2f user_cpu=%.2f sys_cpu=%.2f errors=%llu mismatches=%llu\n",
           (unsigned long long)msgs, (double)msgs / wall, p50, p99, (double)bytes / wall / 1e6,
           (cu + csy) / 1e9 / wall, cu / 1e9 / wall, csy / 1e9 / wall,
           (unsigned long long)errors, (unsigned long long)mismatches);
    if (pid > 0 && s1.user_ns >= s0.user_ns && s1.sys_ns >= s0.sys_ns && msgs) {
        double su = (double)(s1.user_ns - s0.user_ns), ss = (double)(s1.sys_ns - s0.sys_ns);
        printf("server_cpu=%.2f server_user_cpu=%.2f server_sys_cpu=%.2f server_us_per_msg=%.3f "
               "server_user_us_per_msg=%.3f server_sys_us_per_msg=%.3f\n",
               (su + ss) / 1e9 / wall, su / 1e9 / wall, ss / 1e9 / wall,
               (su + ss) / 1e3 / (double)msgs, su / 1e3 / (double)msgs, ss / 1e3 / (double)msgs);
    }
    if (ac && msgs)
        printf("server_allocs_per_msg=%.3f server_reallocs_per_msg=%.3f\n",
               (double)(a1 - a0) / (double)msgs, (double)(r1 - r0) / (double)msgs);
    if (errors) fprintf(stderr, "loadgen: %llu errors (%llu echoes differed from what was sent)\n",
                        (unsigned long long)errors, (unsigned long long)mismatches);
    return msgs && !errors ? 0 : 1;
}
