/* SPDX-License-Identifier: Apache-2.0
 *
 * The floor for the end-to-end rows: a minimal single-threaded WebSocket echo server on plain
 * epoll that still does the real work: the opening handshake with the SHA-1 accept
 * (RFC 6455 §4.2.2), parsing masked client frames (§5.2), unmasking (§5.3), UTF-8 validation
 * of single-frame text messages (§8.1), echoing each data frame unmasked, answering pings and
 * close frames (§5.5). No extensions, no message aggregation.
 *
 * Usage: echo_server PORT [CERT.pem KEY.pem]    (listens on 127.0.0.1:PORT until killed)
 *
 * With a certificate and key it serves TLS (the wss:// floor) through OpenSSL on the socket
 * itself (SSL_set_fd): the same loop, reads and writes through SSL_read / SSL_write.
 * Build with -DWITH_OPENSSL ... -lssl -lcrypto for that.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include "ws_common.h"
#ifdef WITH_OPENSSL
static SSL_CTX *tls;
#endif

#define READ_SIZE (256 * 1024)
#define MAX_HEAD 8192
#define HIGH_WATER (1 << 20)

struct conn {
    int fd;
    int open;          /* handshake done */
    int closing;       /* close frame sent; close after flushing */
    int paused;        /* EPOLLIN off while output is above the high-water mark */
    uint8_t *in; size_t inlen, incap;     /* only partial frames live here */
    uint8_t *out; size_t outlen, outcap;  /* only unwritten output lives here */
#ifdef WITH_OPENSSL
    SSL *ssl;
#endif
};


static int ep;
static uint8_t rbuf[READ_SIZE];
static uint8_t *wbuf; static size_t wlen, wcap;

static void wreserve(size_t extra) {
    if (wlen + extra <= wcap) return;
    while (wcap < wlen + extra) wcap = wcap ? wcap * 2 : 65536;
    wbuf = realloc(wbuf, wcap);
}

static void conn_free(struct conn *c) {
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
#ifdef WITH_OPENSSL
    if (c->ssl) SSL_free(c->ssl);
#endif
    free(c->in); free(c->out); free(c);
}

static void set_events(struct conn *c) {
    struct epoll_event ev = {0};
    ev.events = (c->paused ? 0 : EPOLLIN) | (c->outlen ? EPOLLOUT : 0);
    ev.data.ptr = c;
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Writes what can be written of `data`, keeps the rest in c->out. Returns -1 on a dead socket. */
static int send_bytes(struct conn *c, const uint8_t *data, size_t n) {
    size_t done = 0;
    if (c->outlen == 0) {
        while (done < n) {
            ssize_t w = io_write(c->fd, SSL_OF(c), data + done, n - done);
            if (w > 0) { done += (size_t)w; continue; }
            if (w < 0 && errno == EINTR) continue;
            if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
            return -1;
        }
    }
    if (done < n) {
        size_t rest = n - done;
        if (c->outlen + rest > c->outcap) {
            c->outcap = c->outlen + rest + 4096;
            c->out = realloc(c->out, c->outcap);
        }
        memcpy(c->out + c->outlen, data + done, rest);
        c->outlen += rest;
    }
    return 0;
}

static void put_header(uint8_t first, uint64_t len) {
    wreserve(10);
    wbuf[wlen++] = first;
    if (len < 126) wbuf[wlen++] = (uint8_t)len;
    else if (len < 65536) { wbuf[wlen++] = 126; wbuf[wlen++] = (uint8_t)(len >> 8); wbuf[wlen++] = (uint8_t)len; }
    else { wbuf[wlen++] = 127; for (int i = 7; i >= 0; i--) wbuf[wlen++] = (uint8_t)(len >> (8 * i)); }
}

/* Finds `name:` in an HTTP head (case-insensitive) and returns its trimmed value. */
static const char *header_value(const char *head, size_t n, const char *name, size_t *vlen) {
    size_t nl = strlen(name);
    for (size_t i = 0; i + nl + 1 < n; i++) {
        if ((i == 0 || head[i - 1] == '\n') && strncasecmp(head + i, name, nl) == 0 && head[i + nl] == ':') {
            size_t s = i + nl + 1;
            while (s < n && (head[s] == ' ' || head[s] == '\t')) s++;
            size_t e = s;
            while (e < n && head[e] != '\r' && head[e] != '\n') e++;
            while (e > s && (head[e - 1] == ' ' || head[e - 1] == '\t')) e--;
            *vlen = e - s;
            return head + s;
        }
    }
    return NULL;
}

/* Consumes the HTTP head at data[0..n). Returns bytes consumed, 0 if incomplete, -1 to drop. */
static long handshake(struct conn *c, const uint8_t *data, size_t n) {
    const uint8_t *end = memmem(data, n, "\r\n\r\n", 4);
    if (!end) return n > MAX_HEAD ? -1 : 0;
    size_t headlen = (size_t)(end - data) + 4;
    size_t klen;
    const char *key = header_value((const char *)data, headlen, "Sec-WebSocket-Key", &klen);
    if (!key || klen == 0 || klen > 60) {
        static const char bad[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        send_bytes(c, (const uint8_t *)bad, sizeof bad - 1);
        return -1;
    }
    char accept[29];
    ws_accept(key, klen, accept);
    char resp[160];
    int rn = snprintf(resp, sizeof resp,
                      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Accept: %s\r\n\r\n", accept);
    wreserve((size_t)rn);
    memcpy(wbuf + wlen, resp, (size_t)rn);
    wlen += (size_t)rn;
    c->open = 1;
    return (long)headlen;
}

/* Parses and answers whole frames in data[0..n). Returns bytes consumed, -1 to drop. */
static long frames(struct conn *c, uint8_t *data, size_t n) {
    size_t pos = 0;
    while (n - pos >= 2 && !c->closing) {
        uint8_t b0 = data[pos], b1 = data[pos + 1];
        if (!(b1 & 0x80)) return -1;          /* clients must mask (§5.1) */
        if (b0 & 0x70) return -1;              /* no extensions negotiated (§5.2) */
        uint64_t len = b1 & 0x7F;
        size_t hl = 2;
        if (len == 126) { if (n - pos < 4) break; len = (uint64_t)data[pos + 2] << 8 | data[pos + 3]; hl = 4; }
        else if (len == 127) {
            if (n - pos < 10) break;
            len = 0;
            for (int i = 0; i < 8; i++) len = len << 8 | data[pos + 2 + i];
            if (len >> 63) return -1;
            hl = 10;
        }
        if (len > (64u << 20)) return -1;
        if (n - pos < hl + 4 + len) break;
        const uint8_t *key = data + pos + hl;
        uint8_t *payload = data + pos + hl + 4;
        uint8_t op = b0 & 0x0F;
        if (op >= 0x8 && (len > 125 || !(b0 & 0x80))) return -1;
        switch (op) {
        case 0x0: case 0x1: case 0x2:
            put_header(b0, len);
            wreserve(len);
            mask_copy(wbuf + wlen, payload, len, key);
            if (op == 0x1 && (b0 & 0x80) && !utf8_valid(wbuf + wlen, len)) return -1;
            wlen += len;
            break;
        case 0x9: /* ping → pong (§5.5.2) */
            put_header(0x8A, len);
            wreserve(len);
            mask_copy(wbuf + wlen, payload, len, key);
            wlen += len;
            break;
        case 0xA: break;
        case 0x8: /* close → echo the status and close the TCP connection (§5.5.1, §7.1.1) */
            put_header(0x88, len >= 2 ? 2 : 0);
            if (len >= 2) { wreserve(2); mask_copy(wbuf + wlen, payload, 2, key); wlen += 2; }
            c->closing = 1;
            break;
        default: return -1;
        }
        pos += hl + 4 + len;
    }
    return (long)pos;
}

/* One read and what it completes. Returns 0 when the connection was freed. */
static int on_readable_once(struct conn *c) {
    uint8_t *data; size_t n;
    if (c->inlen == 0) {
        ssize_t r = io_read(c->fd, SSL_OF(c), rbuf, READ_SIZE);
        if (r <= 0) { if (r < 0 && (errno == EAGAIN || errno == EINTR)) return 1; conn_free(c); return 0; }
        data = rbuf; n = (size_t)r;
    } else {
        if (c->incap - c->inlen < READ_SIZE) {
            c->incap = c->inlen + READ_SIZE;
            c->in = realloc(c->in, c->incap);
        }
        ssize_t r = io_read(c->fd, SSL_OF(c), c->in + c->inlen, READ_SIZE);
        if (r <= 0) { if (r < 0 && (errno == EAGAIN || errno == EINTR)) return 1; conn_free(c); return 0; }
        data = c->in; n = c->inlen + (size_t)r;
    }
    wlen = 0;
    size_t pos = 0;
    if (!c->open) {
        long h = handshake(c, data, n);
        if (h < 0) { conn_free(c); return 0; }
        pos = (size_t)h;
    }
    if (c->open) {
        long f = frames(c, data + pos, n - pos);
        if (f < 0) { conn_free(c); return 0; }
        pos += (size_t)f;
    }
    size_t rest = n - pos;
    if (rest && data == rbuf) {
        if (c->incap < rest) { c->incap = rest + READ_SIZE; c->in = realloc(c->in, c->incap); }
        memcpy(c->in, data + pos, rest);
    } else if (rest && pos) {
        memmove(c->in, c->in + pos, rest);
    }
    c->inlen = rest;
    if (c->inlen == 0 && c->incap > READ_SIZE) { free(c->in); c->in = NULL; c->incap = 0; }
    if (wlen && send_bytes(c, wbuf, wlen) < 0) { conn_free(c); return 0; }
    if (c->closing && c->outlen == 0) { conn_free(c); return 0; }
    int pause = c->outlen > HIGH_WATER;
    if (pause != c->paused || c->outlen) { c->paused = pause; set_events(c); }
    return 1;
}

static void on_readable(struct conn *c) {
    while (on_readable_once(c)) {
#ifdef WITH_OPENSSL
        /* A read that filled the buffer may leave plaintext inside OpenSSL (the rest of a
         * record) with nothing left in the socket: epoll would never report it, and the
         * message would wait forever (the 1 MiB echo check timed out once). Read it now. */
        if (c->ssl && !c->paused && SSL_has_pending(c->ssl)) continue;
#endif
        break;
    }
}

static void on_writable(struct conn *c) {
    while (c->outlen) {
        ssize_t w = io_write(c->fd, SSL_OF(c), c->out, c->outlen);
        if (w > 0) { memmove(c->out, c->out + w, c->outlen - (size_t)w); c->outlen -= (size_t)w; continue; }
        if (w < 0 && (errno == EAGAIN || errno == EINTR)) break;
        conn_free(c); return;
    }
    if (c->outlen == 0) {
        free(c->out); c->out = NULL; c->outcap = 0;
        if (c->closing) { conn_free(c); return; }
    }
    c->paused = c->outlen > HIGH_WATER;
    set_events(c);
#ifdef WITH_OPENSSL
    /* Reading again after a pause: what OpenSSL holds is not in the socket (see on_readable). */
    if (c->ssl && !c->paused && SSL_has_pending(c->ssl)) on_readable(c);
#endif
}

int main(int argc, char **argv) {
    int port = argc > 1 ? atoi(argv[1]) : 9001;
    signal(SIGPIPE, SIG_IGN);
    if (argc > 3) {
#ifdef WITH_OPENSSL
        tls = SSL_CTX_new(TLS_server_method());
        SSL_CTX_set_min_proto_version(tls, TLS1_2_VERSION);
        SSL_CTX_set_mode(tls, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
        SSL_CTX_set_read_ahead(tls, 1);  /* whole socket reads, not a header then a body per record */
        if (SSL_CTX_use_certificate_chain_file(tls, argv[2]) != 1 ||
            SSL_CTX_use_PrivateKey_file(tls, argv[3], SSL_FILETYPE_PEM) != 1) { fprintf(stderr, "bad certificate or key\n"); return 1; }
#else
        fprintf(stderr, "built without OpenSSL (-DWITH_OPENSSL)\n"); return 2;
#endif
    }
    int lfd = listen_loopback(port, &ep);
    int one = 1;
    struct epoll_event evs[256];
    for (;;) {
        int k = epoll_wait(ep, evs, 256, -1);
        for (int i = 0; i < k; i++) {
            struct conn *c = evs[i].data.ptr;
            if (!c) {
                for (;;) {
                    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
                    if (fd < 0) break;
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    struct conn *nc = calloc(1, sizeof *nc);
                    nc->fd = fd;
#ifdef WITH_OPENSSL
                    if (tls) { nc->ssl = SSL_new(tls); SSL_set_fd(nc->ssl, fd); SSL_set_accept_state(nc->ssl); }
#endif
                    struct epoll_event cev = {.events = EPOLLIN, .data.ptr = nc};
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
                }
                continue;
            }
            if (evs[i].events & EPOLLOUT) { on_writable(c); continue; }
            if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) on_readable(c);
        }
    }
}
