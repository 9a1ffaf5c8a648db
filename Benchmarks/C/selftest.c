/* SPDX-License-Identifier: Apache-2.0
 * Self-check of ws_common.h against published vectors (RFC 6455 §1.3, FIPS 180 examples). */
#include <stdio.h>
#include "ws_common.h"

static int hex_is(const uint8_t *d, const char *want) {
    char h[41];
    for (int i = 0; i < 20; i++) snprintf(h + 2 * i, 3, "%02x", d[i]);
    return strcmp(h, want) == 0;
}

int main(void) {
    int ok = 1;
    char out[29];
    ws_accept("dGhlIHNhbXBsZSBub25jZQ==", 24, out);
    ok &= strcmp(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") == 0;
    uint8_t d[20];
    sha1((const uint8_t *)"abc", 3, d);
    ok &= hex_is(d, "a9993e364706816aba3e25717850c26c9cd0d89d");
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    sha1((const uint8_t *)m, strlen(m), d);
    ok &= hex_is(d, "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
    ok &= utf8_valid((const uint8_t *)"h\xc3\xa9llo", 6) == 1;
    ok &= utf8_valid((const uint8_t *)"\xc3", 1) == 0;
    ok &= utf8_valid((const uint8_t *)"\xed\xa0\x80", 3) == 0;
    ok &= utf8_valid((const uint8_t *)"\xf0\x9f\x98\x80xxxxxxxxxx", 14) == 1;
    printf("selftest %s\n", ok ? "OK" : "FAILED");
    return ok ? 0 : 1;
}
