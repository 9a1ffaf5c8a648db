// SPDX-License-Identifier: Apache-2.0
#define _GNU_SOURCE
#include "CWSPosixShims.h"

#if defined(__linux__)
#include <sched.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>

int cwsposix_accept_nonblocking(int fd) {
    return accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

int cwsposix_cpu_affinity(unsigned char *mask, size_t size) {
    memset(mask, 0, size);
    return sched_getaffinity(0, size, (cpu_set_t *)mask);
}
#endif

int cwsposix_shims_version(void) { return 1; }
