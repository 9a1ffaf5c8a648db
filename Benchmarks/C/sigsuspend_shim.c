// SPDX-License-Identifier: Apache-2.0
// Preloaded under Valgrind by Scripts/bench-instructions. Valgrind 3.19 (Debian 12) dies with
// an internal SIGSEGV when rt_sigsuspend is given a signal mask in read-only memory, which is
// what libdispatch's dispatchMain() passes (Swift's async top-level code ends there); this
// copy of sigsuspend hands the kernel a copy of the mask on the stack instead.
#define _GNU_SOURCE
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

int sigsuspend(const sigset_t *mask) {
    sigset_t copy = *mask;
    return (int)syscall(SYS_rt_sigsuspend, &copy, _NSIG / 8);
}
