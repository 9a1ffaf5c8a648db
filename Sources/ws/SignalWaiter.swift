// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Turns SIGINT and SIGTERM into an async wait, so `ws serve` can shut down gracefully.
///
/// ``blockTermination()`` must run first in `main`, before any thread starts, so every thread
/// inherits the blocked mask and only the waiting thread receives the signals (via sigwait).
enum SignalWaiter {
    /// Blocks SIGINT and SIGTERM in the calling thread (and the threads it starts later).
    static func blockTermination() {
        var set = terminationSet()
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }

    /// Waits on a dedicated thread until SIGINT or SIGTERM arrives; returns the signal number.
    static func waitForTermination() async -> Int32 {
        await withCheckedContinuation { continuation in
            let box = Box(continuation)
            var thread = pthread_t()
            let started = pthread_create(&thread, nil, { raw in
                let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
                var set = SignalWaiter.terminationSet()
                var signal: Int32 = 0
                sigwait(&set, &signal)
                box.continuation.resume(returning: signal)
                return nil
            }, Unmanaged.passRetained(box).toOpaque())
            if started == 0 { pthread_detach(thread) } else { continuation.resume(returning: SIGTERM) }
        }
    }

    fileprivate static func terminationSet() -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        return set
    }

    private final class Box: @unchecked Sendable {
        let continuation: CheckedContinuation<Int32, Never>
        init(_ continuation: CheckedContinuation<Int32, Never>) { self.continuation = continuation }
    }
}
