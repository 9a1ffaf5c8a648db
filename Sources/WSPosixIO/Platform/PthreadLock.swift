// SPDX-License-Identifier: Apache-2.0
//
// The lock the driver uses when built with -DWS_PTHREAD_LOCK (for ThreadSanitizer).

#if WS_PTHREAD_LOCK
#if canImport(Glibc)
import Glibc
import CWSPosixShims
#elseif canImport(Musl)
import Musl
import CWSPosixShims
#elseif canImport(Darwin)
import Darwin
#else
#error("WSPosixIO supports Linux (Glibc, Musl) and Darwin")
#endif
/// A pthread mutex, which ThreadSanitizer understands (it does not see `Synchronization.Mutex`
/// on Linux). Build with `-Xswiftc -DWS_PTHREAD_LOCK --sanitize=thread` to check the driver.
final class Lock<Value: ~Copyable>: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private var value: Value
    init(_ value: consuming Value) { self.value = value; pthread_mutex_init(mutex, nil) }
    deinit { pthread_mutex_destroy(mutex); mutex.deallocate() }
    func withLock<R, E: Error>(_ body: (inout Value) throws(E) -> R) throws(E) -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}
#endif
