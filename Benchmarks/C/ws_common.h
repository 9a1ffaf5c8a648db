/* SPDX-License-Identifier: Apache-2.0
 *
 * Small helpers shared by the C benchmark programs: SHA-1 (FIPS 180-4) and Base64 (RFC 4648)
 * for the Sec-WebSocket-Accept value (RFC 6455 §4.2.2), a UTF-8 check (RFC 3629), clocks (wall,
 * this process's CPU time, another process's CPU time).
 * Written for the benchmark; header-only so each program is one `cc -O2` command.
 */
#ifndef WS_COMMON_H
#define WS_COMMON_H

#include <stdint.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>
#include <time.h>
#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

static inline uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* This process's user+system CPU time in ns. */
static inline uint64_t cpu_ns(void) {
    struct rusage ru; getrusage(RUSAGE_SELF, &ru);
    return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000ull
         + (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000ull;
}

/* Another process's user+system CPU time in ns (all its threads), from /proc/PID/stat; 0 if
 * unreadable. Resolution: one clock tick (10 ms), so over a 2 s run it is good to 0.5 %. */
static inline uint64_t proc_cpu_ns(int pid) {
    char path[64]; snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    char buf[1024]; size_t n = fread(buf, 1, sizeof buf - 1, f); fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')');  /* the command name may contain spaces: fields follow the last ')' */
    if (!p) return 0;
    unsigned long long ut = 0, st = 0;
    /* after ')': state(3) ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime(14) stime(15) */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2) return 0;
    return (ut + st) * (1000000000ull / (unsigned long long)sysconf(_SC_CLK_TCK));
}

static inline uint32_t rol32(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

/* SHA-1 of a short message (the accept key input is 60 bytes; any length works). */
static inline void sha1(const uint8_t *msg, size_t len, uint8_t out[20]) {
    uint32_t h0 = 0x67452301u, h1 = 0xEFCDAB89u, h2 = 0x98BADCFEu, h3 = 0x10325476u, h4 = 0xC3D2E1F0u;
    size_t total = ((len + 8) / 64 + 1) * 64; /* padded length */
    uint64_t bits = (uint64_t)len * 8;
    for (size_t block = 0; block < total; block += 64) {
        uint8_t b[64];
        for (size_t i = 0; i < 64; i++) {
            size_t p = block + i;
            if (p < len) b[i] = msg[p];
            else if (p == len) b[i] = 0x80;
            else if (p >= total - 8) b[i] = (uint8_t)(bits >> (8 * (total - 1 - p)));
            else b[i] = 0;
        }
        uint32_t w[80];
        for (int i = 0; i < 16; i++)
            w[i] = (uint32_t)b[4*i] << 24 | (uint32_t)b[4*i+1] << 16 | (uint32_t)b[4*i+2] << 8 | b[4*i+3];
        for (int i = 16; i < 80; i++) w[i] = rol32(w[i-3] ^ w[i-8] ^ w[i-14] ^ w[i-16], 1);
        uint32_t a = h0, bb = h1, c = h2, d = h3, e = h4;
        for (int i = 0; i < 80; i++) {
            uint32_t f, k;
            if (i < 20) { f = (bb & c) | (~bb & d); k = 0x5A827999u; }
            else if (i < 40) { f = bb ^ c ^ d; k = 0x6ED9EBA1u; }
            else if (i < 60) { f = (bb & c) | (bb & d) | (c & d); k = 0x8F1BBCDCu; }
            else { f = bb ^ c ^ d; k = 0xCA62C1D6u; }
            uint32_t t = rol32(a, 5) + f + e + k + w[i];
            e = d; d = c; c = rol32(bb, 30); bb = a; a = t;
        }
        h0 += a; h1 += bb; h2 += c; h3 += d; h4 += e;
    }
    uint32_t h[5] = {h0, h1, h2, h3, h4};
    for (int i = 0; i < 5; i++) {
        out[4*i] = (uint8_t)(h[i] >> 24); out[4*i+1] = (uint8_t)(h[i] >> 16);
        out[4*i+2] = (uint8_t)(h[i] >> 8); out[4*i+3] = (uint8_t)h[i];
    }
}

/* Base64 with padding; `out` needs 4*ceil(len/3)+1 bytes. Returns the length written. */
static inline size_t base64(const uint8_t *in, size_t len, char *out) {
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < len) v |= (uint32_t)in[i+1] << 8;
        if (i + 2 < len) v |= in[i+2];
        out[o++] = tbl[(v >> 18) & 63];
        out[o++] = tbl[(v >> 12) & 63];
        out[o++] = i + 1 < len ? tbl[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < len ? tbl[v & 63] : '=';
    }
    out[o] = 0;
    return o;
}

/* Sec-WebSocket-Accept for a key (RFC 6455 §4.2.2 step 5.4): base64(sha1(key + GUID)). */
static inline void ws_accept(const char *key, size_t keylen, char out[29]) {
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    uint8_t buf[128];
    if (keylen > 60) keylen = 60;
    memcpy(buf, key, keylen);
    memcpy(buf + keylen, guid, 36);
    uint8_t digest[20];
    sha1(buf, keylen + 36, digest);
    base64(digest, 20, out);
}

/* Whole-buffer UTF-8 check (RFC 3629), ASCII 8 bytes at a time. */
static inline int utf8_valid(const uint8_t *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        if (i + 8 <= n) {
            uint64_t w; memcpy(&w, s + i, 8);
            if ((w & 0x8080808080808080ull) == 0) { i += 8; continue; }
        }
        uint8_t c = s[i];
        if (c < 0x80) { i++; continue; }
        int need; uint8_t lo = 0x80, hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF) need = 1;
        else if (c == 0xE0) { need = 2; lo = 0xA0; }
        else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) need = 2;
        else if (c == 0xED) { need = 2; hi = 0x9F; }
        else if (c == 0xF0) { need = 3; lo = 0x90; }
        else if (c >= 0xF1 && c <= 0xF3) need = 3;
        else if (c == 0xF4) { need = 3; hi = 0x8F; }
        else return 0;
        i++;
        for (int k = 0; k < need; k++, i++) {
            if (i >= n) return 0;
            uint8_t d = s[i];
            if (d < lo || d > hi) return 0;
            lo = 0x80; hi = 0xBF;
        }
    }
    return 1;
}

/* XOR `n` bytes of `src` with the 4-byte mask starting at key phase 0 into `dst` (may alias). */
static inline void mask_copy(uint8_t *dst, const uint8_t *src, size_t n, const uint8_t key[4]) {
    uint32_t k32; memcpy(&k32, key, 4);
    uint64_t k64 = (uint64_t)k32 | ((uint64_t)k32 << 32);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w; memcpy(&w, src + i, 8);
        w ^= k64;
        memcpy(dst + i, &w, 8);
    }
    for (; i < n; i++) dst[i] = src[i] ^ key[i & 3];
}

/* The connection's SSL (a `ssl` member), or NULL when built without OpenSSL. */
#ifdef WITH_OPENSSL
#define SSL_OF(c) ((c)->ssl)
#else
#define SSL_OF(c) NULL
#endif

#ifdef WITH_OPENSSL
#include <errno.h>
#include <unistd.h>
#include <openssl/ssl.h>

/* read(2), or (with `ssl`) SSL_read until OpenSSL has nothing more: -1 with EAGAIN when
 * nothing at all, 0 at close_notify, -1 with EPIPE on a TLS error. */
static inline ssize_t io_read(int fd, SSL *ssl, uint8_t *buf, size_t n) {
    if (!ssl) return read(fd, buf, n);
    size_t got = 0;
    while (got < n) {
        int r = SSL_read(ssl, buf + got, (int)(n - got > 1 << 30 ? 1 << 30 : n - got));
        if (r > 0) { got += (size_t)r; continue; }
        int e = SSL_get_error(ssl, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) break;
        if (got) return (ssize_t)got;
        if (e == SSL_ERROR_ZERO_RETURN) return 0;
        errno = EPIPE; return -1;
    }
    if (got == 0) { errno = EAGAIN; return -1; }
    return (ssize_t)got;
}

/* write(2), or (with `ssl`) SSL_write with partial writes on: -1 with EAGAIN to retry. */
static inline ssize_t io_write(int fd, SSL *ssl, const uint8_t *buf, size_t n) {
    if (!ssl) return write(fd, buf, n);
    int r = SSL_write(ssl, buf, (int)(n > 1 << 30 ? 1 << 30 : n));
    if (r > 0) return r;
    int e = SSL_get_error(ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) { errno = EAGAIN; return -1; }
    errno = EPIPE; return -1;
}
#else
#define io_read(fd, ssl, buf, n) read((fd), (buf), (n))
#define io_write(fd, ssl, buf, n) write((fd), (buf), (n))
#endif


#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>

/* The echo servers' common start: the descriptor limit raised to its maximum, a non-blocking
 * listener on 127.0.0.1:port (backlog 4096), and an epoll instance watching it with a NULL
 * data pointer (the listener's mark). Returns the listener; *epoll_fd gets the epoll instance.
 * Exits on failure. */
static inline int listen_loopback(int port, int *epoll_fd) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) { rl.rlim_cur = rl.rlim_max; setrlimit(RLIMIT_NOFILE, &rl); }
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET; a.sin_port = htons((uint16_t)port); a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(lfd, 4096) < 0) { perror("listen"); exit(1); }
    *epoll_fd = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(*epoll_fd, EPOLL_CTL_ADD, lfd, &ev);
    return lfd;
}

#endif
