/* SPDX-License-Identifier: Apache-2.0
 *
 * New wss:// connections per second: one thread on epoll keeps CONCURRENCY connections in
 * flight, each one a TCP connect, a full TLS handshake (OpenSSL, no session resumption: the
 * client keeps no session and offers no ticket), a WebSocket upgrade request answered by
 * `101`, then close_notify and close. A connection counts when its `101` arrived, so the
 * server has finished its side of the handshake, not just accepted the socket.
 *
 *   tls_handshakes [-h 127.0.0.1] -p PORT [-c CONCURRENCY] [-t SECONDS] [-w WARMUP]
 *                  [-r PATH] [-2] [-P SERVER_PID]
 *
 * -2 caps the client at TLS 1.2 (default: 1.3 preferred). Prints one line of key=value pairs:
 *   conns, conns_per_s, p50_us, p99_us (connect to `101`), cpu (this process), errors;
 * with -P SERVER_PID a second line: server_cpu and server_us_per_conn (the server's CPU time,
 * all threads, from /proc/PID/stat, per connection). No certificate verification (a load
 * generator). Client sockets are bound to 127.0.0.2–127.0.0.201 (IP_BIND_ADDRESS_NO_PORT) so
 * TIME_WAIT never exhausts the ephemeral ports. Every run ends by itself.
 * Build: cc -O2 -o tls_handshakes tls_handshakes.c -lssl -lcrypto
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "ws_common.h"

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

enum { IDLE, CONNECTING, TLS_HANDSHAKING, UPGRADING };

struct slot {
    int fd, state;
    SSL *ssl;
    size_t sent;
    char buf[1024]; size_t len;
    uint64_t started;
};

static SSL_CTX *tls;
static int ep, port = 9001;
static const char *host = "127.0.0.1";
static char request[256]; static size_t request_len;
static unsigned long long done, errors, counter;
static int recording;
static uint32_t *samples; static size_t nsamples, samples_cap = 1u << 22;

static void arm(struct slot *s, int out) {
    struct epoll_event ev = {.events = EPOLLIN | (out ? EPOLLOUT : 0), .data.ptr = s};
    epoll_ctl(ep, EPOLL_CTL_MOD, s->fd, &ev);
}

static void start(struct slot *s);

/* Ends the connection (close_notify when the handshake finished) and starts the next one. */
static void finish(struct slot *s, int ok) {
    if (ok) {
        SSL_shutdown(s->ssl);
        if (recording) {
            done++;
            if (nsamples < samples_cap) samples[nsamples++] = (uint32_t)((now_ns() - s->started) / 1000);
        }
    } else if (recording) {
        errors++;
    }
    SSL_free(s->ssl); s->ssl = NULL;
    epoll_ctl(ep, EPOLL_CTL_DEL, s->fd, NULL);
    close(s->fd);
    s->state = IDLE;
    start(s);
}

static void start(struct slot *s) {
    s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (s->fd < 0) { perror("socket"); exit(1); }
    int one = 1;
    setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(s->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    struct sockaddr_in src = {0};
    src.sin_family = AF_INET;
    src.sin_addr.s_addr = htonl(0x7F000002u + (uint32_t)(counter++ % 200));
    bind(s->fd, (struct sockaddr *)&src, sizeof src);
    struct sockaddr_in dst = {0};
    dst.sin_family = AF_INET; dst.sin_port = htons((uint16_t)port);
    inet_pton(AF_INET, host, &dst.sin_addr);
    s->started = now_ns();
    s->state = CONNECTING;
    s->sent = 0; s->len = 0;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = s};
    epoll_ctl(ep, EPOLL_CTL_ADD, s->fd, &ev);
    if (connect(s->fd, (struct sockaddr *)&dst, sizeof dst) < 0 && errno != EINPROGRESS) finish(s, 0);
}

static void on_event(struct slot *s, uint32_t events) {
    if (s->state == CONNECTING) {
        if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
        int err = 0; socklen_t l = sizeof err;
        getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &l);
        if (err) { finish(s, 0); return; }
        s->ssl = SSL_new(tls);
        SSL_set_fd(s->ssl, s->fd);
        SSL_set_connect_state(s->ssl);
        s->state = TLS_HANDSHAKING;
    }
    if (s->state == TLS_HANDSHAKING) {
        int r = SSL_do_handshake(s->ssl);
        if (r != 1) {
            int e = SSL_get_error(s->ssl, r);
            if (e == SSL_ERROR_WANT_READ) { arm(s, 0); return; }
            if (e == SSL_ERROR_WANT_WRITE) { arm(s, 1); return; }
            finish(s, 0); return;
        }
        s->state = UPGRADING;
    }
    while (s->sent < request_len) {
        int w = SSL_write(s->ssl, request + s->sent, (int)(request_len - s->sent));
        if (w > 0) { s->sent += (size_t)w; continue; }
        int e = SSL_get_error(s->ssl, w);
        if (e == SSL_ERROR_WANT_WRITE) { arm(s, 1); return; }
        if (e == SSL_ERROR_WANT_READ) { arm(s, 0); return; }
        finish(s, 0); return;
    }
    for (;;) {
        if (s->len >= sizeof s->buf - 1) { finish(s, 0); return; }
        int r = SSL_read(s->ssl, s->buf + s->len, (int)(sizeof s->buf - 1 - s->len));
        if (r <= 0) {
            int e = SSL_get_error(s->ssl, r);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) { arm(s, e == SSL_ERROR_WANT_WRITE); return; }
            finish(s, 0); return;
        }
        s->len += (size_t)r;
        s->buf[s->len] = 0;
        if (strstr(s->buf, "\r\n\r\n")) {
            finish(s, s->len >= 12 && memcmp(s->buf + 9, "101", 3) == 0);
            return;
        }
    }
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    int concurrency = 8, pid = 0, tls12 = 0, opt;
    double seconds = 2.0, warmup = 0.5;
    const char *resource = "/";
    while ((opt = getopt(argc, argv, "h:p:c:t:w:r:2P:")) != -1) {
        switch (opt) {
        case 'h': host = optarg; break;
        case 'p': port = atoi(optarg); break;
        case 'c': concurrency = atoi(optarg); break;
        case 't': seconds = atof(optarg); break;
        case 'w': warmup = atof(optarg); break;
        case 'r': resource = optarg; break;
        case '2': tls12 = 1; break;
        case 'P': pid = atoi(optarg); break;
        default: fprintf(stderr, "usage: tls_handshakes [-h HOST] -p PORT [-c N] [-t S] [-w S] [-r PATH] [-2] [-P PID]\n"); return 2;
        }
    }
    if (concurrency < 1 || concurrency > 4096 || seconds <= 0) { fprintf(stderr, "bad -c or -t\n"); return 2; }
    signal(SIGPIPE, SIG_IGN);
    tls = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(tls, TLS1_2_VERSION);
    if (tls12) SSL_CTX_set_max_proto_version(tls, TLS1_2_VERSION);
    SSL_CTX_set_session_cache_mode(tls, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(tls, SSL_OP_NO_TICKET);
    request_len = (size_t)snprintf(request, sizeof request,
        "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", resource, host, port);
    samples = malloc(samples_cap * sizeof *samples);
    ep = epoll_create1(0);
    struct slot *slots = calloc((size_t)concurrency, sizeof *slots);
    for (int i = 0; i < concurrency; i++) start(&slots[i]);
    uint64_t warm_end = now_ns() + (uint64_t)(warmup * 1e9), end = warm_end + (uint64_t)(seconds * 1e9);
    struct epoll_event evs[256];
    int phase = 0;
    uint64_t m0 = 0, c0 = 0, s0 = 0;
    for (;;) {
        uint64_t t = now_ns();
        if (phase == 0 && t >= warm_end) { phase = 1; recording = 1; m0 = t; c0 = cpu_ns(); s0 = pid ? proc_cpu_ns(pid) : 0; }
        if (t >= end) break;
        int k = epoll_wait(ep, evs, 256, 5);
        for (int i = 0; i < k; i++) on_event(evs[i].data.ptr, evs[i].events);
    }
    uint64_t m1 = now_ns(), c1 = cpu_ns(), s1 = pid ? proc_cpu_ns(pid) : 0;
    double wall = (double)(m1 - m0) / 1e9;
    double p50 = 0, p99 = 0;
    if (nsamples) {
        qsort(samples, nsamples, sizeof *samples, cmp_u32);
        p50 = samples[nsamples / 2]; p99 = samples[(size_t)((double)nsamples * 0.99)];
    }
    printf("conns=%llu conns_per_s=%.0f p50_us=%.0f p99_us=%.0f cpu=%.2f errors=%llu\n",
           done, (double)done / wall, p50, p99, (double)(c1 - c0) / 1e9 / wall, errors);
    if (pid && s1 >= s0 && done)
        printf("server_cpu=%.2f server_us_per_conn=%.1f\n", (double)(s1 - s0) / 1e9 / wall, (double)(s1 - s0) / 1e3 / (double)done);
    return done ? 0 : 1;
}
