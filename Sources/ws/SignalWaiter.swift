// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Turns SIGINT, SIGTERM and SIGHUP into an async wait, so `ws serve` can shut down gracefully
/// (and reload its certificates on SIGHUP).
///
/// The handlers only write the signal number into a pipe (write(2) is async-signal-safe); a
/// dedicated thread reads it. (Blocking the signals and calling sigwait is not enough here:
/// the runtime may have started threads before `main` runs, and those would still take them.)
enum SignalWaiter {
    /// Installs the handlers. Call once, early in `main`.
    static func install() {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        signalPipe = (fds[0], fds[1])
        signal(SIGINT, onTerminationSignal)
        signal(SIGTERM, onTerminationSignal)
        signal(SIGHUP, onTerminationSignal)
    }

    /// Waits until SIGINT, SIGTERM or SIGHUP arrives; returns the signal number.
    static func waitForTermination() async -> Int32 {
        let fd = signalPipe.read
        guard fd >= 0 else { return await withCheckedContinuation { _ in } }  // never: no pipe
        return await withCheckedContinuation { continuation in
            let box = Box(continuation: continuation, fd: fd)
            var thread = pthread_t()
            let started = pthread_create(&thread, nil, { raw in
                let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
                var number: UInt8 = 0
                while read(box.fd, &number, 1) < 0 && errno == EINTR {}
                box.continuation.resume(returning: Int32(number))
                return nil
            }, Unmanaged.passRetained(box).toOpaque())
            if started == 0 { pthread_detach(thread) } else { continuation.resume(returning: SIGTERM) }
        }
    }

    private final class Box: @unchecked Sendable {
        let continuation: CheckedContinuation<Int32, Never>
        let fd: Int32
        init(continuation: CheckedContinuation<Int32, Never>, fd: Int32) {
            self.continuation = continuation; self.fd = fd
        }
    }
}

/// Set once by ``SignalWaiter/install()`` before the handlers can run; read by them.
nonisolated(unsafe) private var signalPipe: (read: Int32, write: Int32) = (-1, -1)

private func onTerminationSignal(_ number: Int32) {
    var byte = UInt8(truncatingIfNeeded: number)
    _ = write(signalPipe.write, &byte, 1)
}
