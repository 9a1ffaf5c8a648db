// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import WSPosixIO
import WSProtocol

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

    /// Waits until SIGINT, SIGTERM or SIGHUP arrives; returns the signal number (SIGTERM if
    /// the waiting thread cannot be started).
    static func waitForTermination() async -> Int32 {
        await wait(timeout: nil) ?? SIGTERM
    }

    /// Waits until SIGINT, SIGTERM or SIGHUP arrives or `timeout` has passed; returns the
    /// signal number, or `nil` at the timeout (how `ws serve` lets a second signal end draining).
    static func waitForTermination(timeout: Duration) async -> Int32? {
        await wait(timeout: timeout)
    }

    /// A dedicated thread polls the pipe until a signal number arrives or the deadline (if
    /// any) passes; `nil` at the deadline or when the thread cannot start.
    private static func wait(timeout: Duration?) async -> Int32? {
        let deadline = timeout.map { MonotonicClock.now() + $0 }
        let fd = signalPipe.read
        guard fd >= 0 else {  // no pipe: no signal ever arrives
            guard let timeout else { return await withCheckedContinuation { _ in } }
            try? await Task.sleep(for: timeout)
            return nil
        }
        return await withCheckedContinuation { continuation in
            let box = Box(continuation: continuation, fd: fd, deadline: deadline)
            var thread = pthread_t()
            let started = pthread_create(&thread, nil, { raw in
                let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
                var result: Int32? = nil
                while true {
                    var milliseconds: Int32 = -1
                    if let deadline = box.deadline {
                        let now = MonotonicClock.now()
                        if now >= deadline { break }
                        milliseconds = Int32(clamping: (deadline.nanoseconds - now.nanoseconds + 999_999) / 1_000_000)
                    }
                    var entry = pollfd(fd: box.fd, events: Int16(POLLIN), revents: 0)
                    let ready = poll(&entry, 1, milliseconds)
                    if ready < 0 && errno == EINTR { continue }  // a signal landed on this thread: poll again
                    if ready > 0 {
                        var number: UInt8 = 0
                        if read(box.fd, &number, 1) == 1 { result = Int32(number) }
                        break
                    }
                    if ready < 0 { break }
                }
                box.continuation.resume(returning: result)
                return nil
            }, Unmanaged.passRetained(box).toOpaque())
            if started == 0 { pthread_detach(thread) } else { continuation.resume(returning: nil) }
        }
    }

    private final class Box: @unchecked Sendable {
        let continuation: CheckedContinuation<Int32?, Never>
        let fd: Int32
        let deadline: Instant?
        init(continuation: CheckedContinuation<Int32?, Never>, fd: Int32, deadline: Instant?) {
            self.continuation = continuation; self.fd = fd; self.deadline = deadline
        }
    }
}

/// Set once by ``SignalWaiter/install()`` before the handlers can run; read by them.
nonisolated(unsafe) private var signalPipe: (read: Int32, write: Int32) = (-1, -1)

private func onTerminationSignal(_ number: Int32) {
    var byte = UInt8(truncatingIfNeeded: number)
    _ = write(signalPipe.write, &byte, 1)
}
