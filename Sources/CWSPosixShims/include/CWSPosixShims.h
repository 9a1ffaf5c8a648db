// SPDX-License-Identifier: Apache-2.0
// System headers the Swift Glibc module does not export (epoll, eventfd). Only
// Sources/WSPosixIO/Platform/Sys*.swift import this module.
#ifndef CWSPOSIXSHIMS_H
#define CWSPOSIXSHIMS_H

#if defined(__linux__)
#include <stddef.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>

/// accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC) (needs _GNU_SOURCE, which the
/// Swift Glibc module does not define).
int cwsposix_accept_nonblocking(int fd);

/// read, write, send and sendmsg as plain system calls. glibc's wrappers are cancellation
/// points: in a process with more than one thread each call switches the thread to
/// asynchronous cancellation and back (two atomic read-modify-writes around the system call,
/// about 5 % of the loop thread's user time per 32 B echo). Nothing here uses thread
/// cancellation, so the driver's data path calls the kernel directly (`syscall` is not a
/// cancellation point). Return values and errno as the wrappers.
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>
long syscall(long number, ...);
static inline long cwsposix_read(int fd, void *buffer, size_t count) { return syscall(SYS_read, fd, buffer, count); }
static inline long cwsposix_write(int fd, const void *buffer, size_t count) { return syscall(SYS_write, fd, buffer, count); }
static inline long cwsposix_send(int fd, const void *buffer, size_t count, int flags) {
    return syscall(SYS_sendto, fd, buffer, count, flags, (void *)0, 0);
}
static inline long cwsposix_sendmsg(int fd, const struct msghdr *message, int flags) {
    return syscall(SYS_sendmsg, fd, message, flags);
}
/// epoll_wait the same way (as epoll_pwait without a signal mask: every architecture has it).
static inline long cwsposix_epoll_wait(int ep, struct epoll_event *events, int count, int timeout) {
    return syscall(SYS_epoll_pwait, ep, events, count, timeout, (void *)0, 8);
}

/// A non-blocking, close-on-exec timerfd on CLOCK_MONOTONIC (-1 with errno on failure).
static inline int cwsposix_timer_create(void) {
    return timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
}

/// Arms `fd` to expire once at `nanoseconds` on CLOCK_MONOTONIC (absolute; a time already
/// past expires at once). Returns 0, or -1 with errno set.
static inline int cwsposix_timer_arm(int fd, unsigned long long nanoseconds) {
    struct itimerspec spec = {0};
    if (nanoseconds == 0) nanoseconds = 1;  /* all zero would disarm */
    spec.it_value.tv_sec = (time_t)(nanoseconds / 1000000000ull);
    spec.it_value.tv_nsec = (long)(nanoseconds % 1000000000ull);
    return timerfd_settime(fd, TFD_TIMER_ABSTIME, &spec, (struct itimerspec *)0);
}

/// sched_getaffinity(0, size, mask): the CPUs this thread may run on, one bit per CPU
/// (bit i of byte i / 8 is CPU i). Returns 0, or -1 with errno set.
int cwsposix_cpu_affinity(unsigned char *mask, size_t size);
#endif

/// Marker so the module is never empty on platforms without the headers above.
int cwsposix_shims_version(void);

#endif
