/* SPDX-License-Identifier: Apache-2.0
 *
 * Counts a server's heap allocations while a load generator measures it, so that rows can say
 * "allocations per echoed message" for the whole process: the binding, the runtime, the kernel
 * interface, not only the core (AllocCounter counts the core in-process).
 *
 *   cc -O2 -shared -fPIC -o bin/malloc_count.so C/malloc_count.c
 *   MALLOC_COUNT_FILE=/tmp/x LD_PRELOAD=bin/malloc_count.so SERVER ...
 *   loadgen ... -M /tmp/x          (reads the counters at the start and end of its window)
 *
 * The counters live in the first bytes of MALLOC_COUNT_FILE, mapped shared, so the load generator
 * reads them with no signal and no round trip: [0] allocations (malloc, calloc, memalign,
 * posix_memalign, aligned_alloc, valloc), [1] reallocs, [2] frees. Each is one relaxed atomic add
 * on glibc's own entry points (__libc_malloc and friends), so the allocator is unchanged.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

static uint64_t fallback[3];
static uint64_t *counters = fallback;

__attribute__((constructor)) static void malloc_count_init(void) {
    const char *path = getenv("MALLOC_COUNT_FILE");
    if (!path) return;
    int fd = open(path, O_RDWR | O_CREAT, 0600);
    if (fd < 0) return;
    if (ftruncate(fd, 4096) == 0) {
        void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (p != MAP_FAILED) counters = p;
    }
    close(fd);
}

static inline void count(int which) { __atomic_fetch_add(&counters[which], 1, __ATOMIC_RELAXED); }

void *malloc(size_t n) { count(0); return __libc_malloc(n); }
void *calloc(size_t a, size_t b) { count(0); return __libc_calloc(a, b); }
void *realloc(void *p, size_t n) { count(p ? 1 : 0); return __libc_realloc(p, n); }
void free(void *p) { if (p) count(2); __libc_free(p); }
void *memalign(size_t a, size_t n) { count(0); return __libc_memalign(a, n); }
void *aligned_alloc(size_t a, size_t n) { count(0); return __libc_memalign(a, n); }
void *valloc(size_t n) { count(0); return __libc_memalign((size_t)sysconf(_SC_PAGESIZE), n); }
int posix_memalign(void **out, size_t a, size_t n) {
    if (a < sizeof(void *) || (a & (a - 1)) != 0) return EINVAL;
    count(0);
    void *p = __libc_memalign(a, n);
    if (!p && n) return ENOMEM;
    *out = p;
    return 0;
}
