// SPDX-License-Identifier: Apache-2.0
#define _GNU_SOURCE
#include "CWSPosixShims.h"

#if defined(__linux__)
#include <stddef.h>
#include <sys/socket.h>

int cwsposix_accept_nonblocking(int fd) {
    return accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
}
#endif

int cwsposix_shims_version(void) { return 1; }
