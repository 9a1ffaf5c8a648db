// SPDX-License-Identifier: Apache-2.0
// System headers the Swift Glibc module does not export (epoll, eventfd). Only
// Sources/WSPosixIO/Platform/Sys*.swift import this module.
#ifndef CWSPOSIXSHIMS_H
#define CWSPOSIXSHIMS_H

#if defined(__linux__)
#include <stddef.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

/// accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC) (needs _GNU_SOURCE, which the
/// Swift Glibc module does not define).
int cwsposix_accept_nonblocking(int fd);

/// sched_getaffinity(0, size, mask): the CPUs this thread may run on, one bit per CPU
/// (bit i of byte i / 8 is CPU i). Returns 0, or -1 with errno set.
int cwsposix_cpu_affinity(unsigned char *mask, size_t size);
#endif

/// Marker so the module is never empty on platforms without the headers above.
int cwsposix_shims_version(void);

#endif
