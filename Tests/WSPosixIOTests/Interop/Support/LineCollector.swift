// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization
@testable import WSPosixIO

/// Reads a pipe on its own thread and hands out complete lines.
final class LineCollector: Sendable {
    private struct State {
        var buffer: [UInt8] = []
        var consumed = 0
        var atEnd = false
    }

    private let state = Lock(State())

    init(fd: Int32) {
        let thread = Thread { [self] in
            var chunk = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                self.state.withLock { $0.buffer.append(contentsOf: chunk[..<n]) }
            }
            close(fd)
            self.state.withLock { $0.atEnd = true }
        }
        thread.start()
    }

    /// The next complete line; waits up to `timeout`.
    func nextLine(timeout: Duration, what: String,
                  diagnostics: () -> String) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while true {
            let (line, atEnd) = state.withLock { s -> (String?, Bool) in
                let pending = s.buffer[s.consumed...]
                guard let newline = pending.firstIndex(of: UInt8(ascii: "\n")) else {
                    return (nil, s.atEnd)
                }
                let line = String(decoding: s.buffer[s.consumed..<newline], as: UTF8.self)
                s.consumed = newline + 1
                return (line, false)
            }
            if let line { return line }
            if atEnd {
                throw Subprocess.Failure(description: "\(what): end of output; \(diagnostics())")
            }
            if ContinuousClock.now >= deadline {
                throw Subprocess.Failure(description: "\(what): no line within \(timeout); \(diagnostics())")
            }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Waits (bounded) until the writer closed the pipe and everything was read.
    func waitForEnd(timeout: Duration) async {
        let deadline = ContinuousClock.now + timeout
        while !state.withLock({ $0.atEnd }) && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(2))
        }
    }

    /// Everything not handed out as a line yet.
    func everything() -> String {
        state.withLock { String(decoding: $0.buffer[$0.consumed...], as: UTF8.self) }
    }
}
