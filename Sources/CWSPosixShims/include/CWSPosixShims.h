// SPDX-License-Identifier: Apache-2.0
// System headers the Swift Glibc module does not export (epoll, eventfd). Only
// Sources/WSPosixIO/Platform/Sys*.swift import this module.
#ifndef CWSPOSIXSHIMS_H
#define CWSPOSIXSHIMS_H

#if defined(__linux__)
#include <sys/epoll.h>
#include <sys/eventfd.h>

/// accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC) (needs _GNU_SOURCE, which the
/// Swift Glibc module does not define).
int cwsposix_accept_nonblocking(int fd);
#endif

/// Marker so the module is never empty on platforms without the headers above.
int cwsposix_shims_version(void);

#endif
