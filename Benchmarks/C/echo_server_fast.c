/* SPDX-License-Identifier: Apache-2.0
 *
 * The optimised floor for the end-to-end rows (`c-fast` in Scripts/bench; the targets are
 * measured against it). The same work as the simple floor (echo_server.c): the opening handshake
 * with the SHA-1 accept (RFC 6455 §4.2.2), masked client frames (§5.2) unmasked (§5.3), UTF-8
 * validation of single-frame text messages (§8.1), each data frame echoed unmasked, pings
 * answered, close frames echoed (§5.5); no extensions, no message aggregation. Done as cheaply as
 * a single-threaded epoll server on plain sockets can:
 *   - built -O3; every socket registered once, edge-triggered (EPOLLIN | EPOLLOUT | EPOLLET), so
 *     there is no epoll_ctl after accept, not even around partial writes;
 *   - each readiness reads until EAGAIN into one shared 256 KiB buffer (grown for a larger frame);
 *   - payloads unmasked in place 32 bytes per step (four 64-bit words, vectorised by the
 *     compiler), ASCII checked 32 bytes per step before the byte-wise UTF-8 check;
 *   - every echo of one read goes out in one writev: the frame headers from a small array, the
 *     payloads straight from the read buffer (no copy); only what the socket did not take is
 *     copied, into the connection's pending output, sent when EPOLLOUT comes;
 *   - above 1 MiB of pending output a connection stops reading until it drained (then reads on,
 *     since with edge triggering no new event would come for bytes already waiting).
 *
 * Usage: echo_server_fast PORT    (listens on 127.0.0.1:PORT until killed)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include "ws_common.h"

#define BUF_SIZE (256 * 1024)
#define MAX_FRAME (64u << 20)
#define HEAD_LIMIT 8192
#define PENDING_LIMIT (1 << 20)
#define MAX_IOV 1024

struct conn {
    int fd;
    int upgraded;             /* the 101 went out */
    int closing;              /* a close frame was answered: close the socket once drained */
    int read_blocked;         /* stopped reading above PENDING_LIMIT; read on after draining */
    uint8_t *rest; size_t restlen;              /* an incomplete frame (or head) kept between reads */
    uint8_t *out; size_t outoff, outlen, outcap; /* output the socket did not take yet */
};

static int ep;
static uint8_t *buf; static size_t bufcap = BUF_SIZE;  /* the shared read buffer */
static struct iovec iov[MAX_IOV];
static uint8_t heads[MAX_IOV][10];
static int niov, nheads;
static size_t need;  /* set by answer(): the size of a frame larger than the buffer */

static void drop(struct conn *c) {
    close(c->fd);  /* closing the only descriptor also removes it from the epoll set */
    free(c->rest); free(c->out); free(c);
}

/* XOR with the 4-byte key from phase 0, in place, 32 bytes per step. */
static inline void unmask_wide(uint8_t *p, size_t n, const uint8_t key[4]) {
    uint32_t k32; memcpy(&k32, key, 4);
    const uint64_t k = (uint64_t)k32 << 32 | k32;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        uint64_t w[4]; memcpy(w, p + i, 32);
        w[0] ^= k; w[1] ^= k; w[2] ^= k; w[3] ^= k;
        memcpy(p + i, w, 32);
    }
    for (; i + 8 <= n; i += 8) { uint64_t w; memcpy(&w, p + i, 8); w ^= k; memcpy(p + i, &w, 8); }
    for (; i < n; i++) p[i] ^= key[i & 3];
}

/* UTF-8 (RFC 3629): whole 32-byte ASCII blocks skipped, the rest checked byte by byte. */
static inline int text_valid(const uint8_t *p, size_t n) {
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        uint64_t w[4]; memcpy(w, p + i, 32);
        if ((w[0] | w[1] | w[2] | w[3]) & 0x8080808080808080ull) break;
    }
    return utf8_valid(p + i, n - i);
}

/* Queues one output piece for the writev of this read (copied only if it is a header). */
static void emit(const uint8_t *data, size_t n) {
    iov[niov].iov_base = (void *)data; iov[niov].iov_len = n; niov++;
}

static void emit_head(uint8_t first, uint64_t len) {
    uint8_t *h = heads[nheads++];
    size_t k = 0;
    h[k++] = first;
    if (len < 126) h[k++] = (uint8_t)len;
    else if (len < 65536) { h[k++] = 126; h[k++] = (uint8_t)(len >> 8); h[k++] = (uint8_t)len; }
    else { h[k++] = 127; for (int s = 56; s >= 0; s -= 8) h[k++] = (uint8_t)(len >> s); }
    emit(h, k);
}

/* Keeps bytes the socket did not take, after what is already pending. */
static void keep(struct conn *c, const uint8_t *data, size_t n) {
    if (c->outoff && c->outoff == c->outlen) c->outoff = c->outlen = 0;
    if (c->outlen + n > c->outcap) {
        if (c->outoff) { memmove(c->out, c->out + c->outoff, c->outlen - c->outoff); c->outlen -= c->outoff; c->outoff = 0; }
        if (c->outlen + n > c->outcap) { c->outcap = c->outlen + n + 4096; c->out = realloc(c->out, c->outcap); }
    }
    memcpy(c->out + c->outlen, data, n);
    c->outlen += n;
}

/* Sends the queued pieces: one writev when nothing is pending, whatever is left kept. */
static int send_queued(struct conn *c) {
    int first = 0;
    if (c->outlen == c->outoff) {
        while (first < niov) {
            ssize_t w = writev(c->fd, iov + first, niov - first > IOV_MAX ? IOV_MAX : niov - first);
            if (w < 0 && errno == EINTR) continue;
            if (w < 0 && errno == EAGAIN) break;
            if (w < 0) { niov = nheads = 0; return -1; }
            size_t left = (size_t)w;
            while (first < niov && left >= iov[first].iov_len) { left -= iov[first].iov_len; first++; }
            if (first < niov) { iov[first].iov_base = (uint8_t *)iov[first].iov_base + left; iov[first].iov_len -= left; }
        }
    }
    for (int i = first; i < niov; i++) keep(c, iov[i].iov_base, iov[i].iov_len);
    niov = nheads = 0;
    return 0;
}

/* Writes pending output; 1 when all of it went out, 0 when the socket is full, -1 when dead. */
static int drain(struct conn *c) {
    while (c->outoff < c->outlen) {
        ssize_t w = write(c->fd, c->out + c->outoff, c->outlen - c->outoff);
        if (w > 0) { c->outoff += (size_t)w; continue; }
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && errno == EAGAIN) return 0;
        return -1;
    }
    if (c->outcap > BUF_SIZE) { free(c->out); c->out = NULL; c->outcap = 0; }
    c->outoff = c->outlen = 0;
    return 1;
}

/* The opening handshake from head[0..n): 0 when incomplete, -1 to drop, else bytes used. */
static long upgrade(struct conn *c, const uint8_t *head, size_t n) {
    const uint8_t *end = memmem(head, n, "\r\n\r\n", 4);
    if (!end) return n > HEAD_LIMIT ? -1 : 0;
    static const char field[] = "sec-websocket-key:";
    const char *key = NULL; size_t keylen = 0;
    const char *line = memchr(head, '\n', (size_t)(end - head));  /* skip the request line */
    while (line && line < (const char *)end && !key) {
        line++;
        const char *eol = memchr(line, '\r', (size_t)((const char *)end + 2 - line));
        if (!eol) break;
        size_t ll = (size_t)(eol - line), f = 0;
        while (f < sizeof field - 1 && f < ll && (line[f] | 0x20) == field[f]) f++;
        if (f == sizeof field - 1) {
            key = line + f;
            while (key < eol && (*key == ' ' || *key == '\t')) key++;
            keylen = (size_t)(eol - key);
            while (keylen && (key[keylen - 1] == ' ' || key[keylen - 1] == '\t')) keylen--;
        }
        line = memchr(line, '\n', (size_t)((const char *)end + 2 - line));
    }
    if (!key || keylen == 0 || keylen > 60) {
        static const char refused[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        if (write(c->fd, refused, sizeof refused - 1) < 0) { /* dropped either way */ }
        return -1;
    }
    char accept[29];
    ws_accept(key, keylen, accept);
    static char reply[160];
    int rn = snprintf(reply, sizeof reply, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                      "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", accept);
    emit((const uint8_t *)reply, (size_t)rn);
    c->upgraded = 1;
    return (long)(end + 4 - head);
}

/* Answers the whole frames in p[0..n), payloads unmasked in place and queued from there.
 * Returns the bytes used, -1 to drop (a protocol error: the floor just closes). */
static long answer(struct conn *c, uint8_t *p, size_t n) {
    size_t at = 0;
    while (!c->closing && n - at >= 2 && niov + 2 <= MAX_IOV) {
        const uint8_t b0 = p[at], b1 = p[at + 1];
        if (!(b1 & 0x80) || (b0 & 0x70)) return -1;  /* unmasked, or RSV bits without an extension */
        uint64_t len = b1 & 0x7F;
        size_t hl = 2;
        if (len == 126) {
            if (n - at < 4) break;
            len = (uint64_t)p[at + 2] << 8 | p[at + 3]; hl = 4;
        } else if (len == 127) {
            if (n - at < 10) break;
            len = 0;
            for (int i = 2; i < 10; i++) len = len << 8 | p[at + i];
            hl = 10;
        }
        if (len > MAX_FRAME) return -1;
        if (n - at < hl + 4 + len) {
            size_t whole = hl + 4 + (size_t)len;
            if (whole > bufcap) need = whole;  /* on_readable grows the buffer once this pass is sent */
            break;
        }
        const uint8_t op = b0 & 0x0F;
        uint8_t *payload = p + at + hl + 4;
        if (op >= 0x8 && (len > 125 || !(b0 & 0x80))) return -1;
        unmask_wide(payload, (size_t)len, p + at + hl);
        if (op <= 0x2) {
            if (op == 0x1 && (b0 & 0x80) && !text_valid(payload, (size_t)len)) return -1;
            emit_head(b0, len);
            if (len) emit(payload, (size_t)len);
        } else if (op == 0x9) {
            emit_head(0x8A, len);
            if (len) emit(payload, (size_t)len);
        } else if (op == 0x8) {
            emit_head(0x88, len >= 2 ? 2 : 0);
            if (len >= 2) emit(payload, 2);
            c->closing = 1;
        } else if (op != 0xA) {
            return -1;
        }
        at += hl + 4 + (size_t)len;
    }
    return (long)at;
}

/* Reads until EAGAIN (or until the pending output is too large), answering as it goes.
 * Returns -1 when the connection was dropped (c is freed), else 0. */
static int on_readable(struct conn *c) {
    size_t have = 0;
    if (c->restlen) {
        if (c->restlen > bufcap) { bufcap = c->restlen + BUF_SIZE; buf = realloc(buf, bufcap); }
        memcpy(buf, c->rest, c->restlen);
        have = c->restlen;
        free(c->rest); c->rest = NULL; c->restlen = 0;
    }
    int eof = 0;
    for (;;) {
        ssize_t r = 0;
        if (have < bufcap) {
            r = read(c->fd, buf + have, bufcap - have);
            if (r < 0 && errno == EINTR) continue;
            if (r < 0 && errno != EAGAIN) { drop(c); return -1; }
            if (r == 0) eof = 1;
            if (r > 0) have += (size_t)r;
        }
        size_t used = 0;
        for (;;) {  /* several passes when one read held more frames than MAX_IOV */
            if (!c->upgraded) {
                long h = upgrade(c, buf + used, have - used);
                if (h < 0) { drop(c); return -1; }
                used += (size_t)h;
            }
            long f = c->upgraded ? answer(c, buf + used, have - used) : 0;
            if (f < 0) { drop(c); return -1; }
            used += (size_t)f;
            if (send_queued(c) < 0) { drop(c); return -1; }
            if (f == 0 || c->closing || have - used < 2) break;
        }
        niov = nheads = 0;
        if (used) { memmove(buf, buf + used, have - used); have -= used; }
        else if (have == bufcap && need <= bufcap) { drop(c); return -1; }  /* cannot happen: bounded anyway */
        if (need > bufcap) { bufcap = need; buf = realloc(buf, bufcap); }
        need = 0;
        if (c->closing) {
            if (drain(c) != 0) { drop(c); return -1; }  /* all sent (or dead): done; else EPOLLOUT finishes */
            return 0;
        }
        if (eof) { drop(c); return -1; }
        if (c->outlen - c->outoff > PENDING_LIMIT) { c->read_blocked = 1; break; }
        if (r < 0) break;  /* EAGAIN: everything the socket had is answered */
    }
    if (have) { c->rest = malloc(have); memcpy(c->rest, buf, have); c->restlen = have; }
    return 0;
}

/* Sends pending output; reads on if reading stopped for it. -1 when c was dropped. */
static int on_writable(struct conn *c) {
    int d = drain(c);
    if (d < 0 || (d == 1 && c->closing)) { drop(c); return -1; }
    if (d == 1 && c->read_blocked) { c->read_blocked = 0; return on_readable(c); }
    return 0;
}

int main(int argc, char **argv) {
    int port = argc > 1 ? atoi(argv[1]) : 9001;
    signal(SIGPIPE, SIG_IGN);
    buf = malloc(bufcap);
    int lfd = listen_loopback(port, &ep);
    int one = 1;
    struct epoll_event evs[256];
    for (;;) {
        int k = epoll_wait(ep, evs, 256, -1);
        for (int i = 0; i < k; i++) {
            struct conn *c = evs[i].data.ptr;
            if (!c) {
                int fd;
                while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    struct conn *nc = calloc(1, sizeof *nc);
                    nc->fd = fd;
                    struct epoll_event cev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = nc};
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
                }
                continue;
            }
            uint32_t e = evs[i].events;
            if ((e & EPOLLOUT) && c->outlen > c->outoff && on_writable(c) < 0) continue;
            if ((e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) && !c->read_blocked && !c->closing) on_readable(c);
        }
    }
}
