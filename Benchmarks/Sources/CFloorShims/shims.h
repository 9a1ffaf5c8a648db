// SPDX-License-Identifier: Apache-2.0
// The system headers SwiftFloor needs that the Glibc module does not export.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <limits.h>
#include <stdio.h>
static inline void floor_fail(const char *message) { fputs(message, stderr); }
static inline int floor_accept(int fd) { return accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC); }
