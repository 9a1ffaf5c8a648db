// SPDX-License-Identifier: Apache-2.0
import Dispatch
import Synchronization

/// Lines for standard output or standard error written by a thread of their own, for `ws
/// serve`: its connections' log lines and `/report`'s messages are printed by tasks running on
/// the event loops, and a write to a pipe nobody reads (a paused pager, a log collector that
/// fell behind) blocks until the pipe drains. Written in place, one such write held a loop
/// thread, and every connection on that loop with it (their echoes, pings and timeouts).
///
/// Lines go out in the order they were queued. At most ``limit`` bytes wait; beyond it a log
/// line is dropped and counted (``print(_:)``: a server's log must not cost it its service), and
/// a line that is the command's output waits for room instead (``printWaiting(_:)``: `/report`'s
/// connection stops being read, its client feels the backpressure, nothing is lost). The count
/// of dropped lines is printed as soon as the output takes lines again.
final class LineOutput: Sendable {
    /// The bytes that may wait, queued and not yet written.
    let limit: Int
    private let fd: Int32
    private let writer: DispatchQueue
    private struct State {
        var waiting = 0  // bytes queued, not yet written
        var dropped = 0
        var blocked: [CheckedContinuation<[UInt8]?, Never>] = []
    }
    private let state = Mutex(State())

    init(fd: Int32, name: String, limit: Int = 1 << 20) {
        self.fd = fd
        self.limit = limit
        writer = DispatchQueue(label: "ws.\(name)")
    }

    /// Queues `line` (with its newline), or drops and counts it when ``limit`` bytes wait.
    /// Never blocks.
    func print(_ line: String) {
        let bytes = Array(line.utf8)
        let queued = state.withLock { s -> [UInt8]? in
            guard s.waiting + bytes.count <= limit else { s.dropped += 1; return nil }
            return Self.queue(bytes, &s)
        }
        if let queued { writer.async { self.write(queued) } }
    }

    /// Queues `line` once there is room for it (it suspends while ``limit`` bytes wait).
    func printWaiting(_ line: String) async {
        let bytes = Array(line.utf8)
        var queued: [UInt8]? = nil
        while queued == nil {
            queued = await withCheckedContinuation { (c: CheckedContinuation<[UInt8]?, Never>) in
                let now = state.withLock { s -> [UInt8]?? in
                    // A line longer than the limit goes once nothing else waits.
                    if s.waiting == 0 || s.waiting + bytes.count <= limit { return .some(Self.queue(bytes, &s)) }
                    s.blocked.append(c)
                    return .none
                }
                if let now { c.resume(returning: now) }
            }
        }
        if let queued { writer.async { self.write(queued) } }
    }

    /// `bytes` as they are queued, counted as waiting: after the count of the lines dropped
    /// before them, if any (the notice stands where the lines were lost).
    private static func queue(_ bytes: [UInt8], _ s: inout State) -> [UInt8] {
        let out = s.dropped == 0 ? bytes : notice(s.dropped) + bytes
        s.dropped = 0
        s.waiting += out.count
        return out
    }

    private static func notice(_ dropped: Int) -> [UInt8] {
        Array("ws: \(dropped) line(s) dropped: the output was not read\n".utf8)
    }

    /// How many ``printWaiting(_:)`` calls wait for room (for tests).
    var blockedPrinters: Int { state.withLock { $0.blocked.count } }

    /// Waits up to `timeout` for every queued line to be written, then the count of lines
    /// dropped since (before the process exits); `false` when some were still waiting (the
    /// output is blocked).
    @discardableResult
    func flush(timeout: DispatchTimeInterval) -> Bool {
        let done = DispatchSemaphore(value: 0)
        writer.async {
            let dropped = self.state.withLock { s in
                defer { s.dropped = 0 }
                return s.dropped
            }
            if dropped > 0 { Terminal.write(Self.notice(dropped)[...], to: self.fd) }
            done.signal()
        }
        return done.wait(timeout: .now() + timeout) == .success
    }

    /// The writer's thread: writes `bytes` whole (blocking while the reader is slow), then lets
    /// the printers waiting for room look again once half the limit is free.
    private func write(_ bytes: [UInt8]) {
        Terminal.write(bytes[...], to: fd)  // the reader gone: the rest of the line with it
        let released = state.withLock { s -> [CheckedContinuation<[UInt8]?, Never>] in
            s.waiting -= bytes.count
            guard s.waiting <= limit / 2 else { return [] }
            defer { s.blocked = [] }
            return s.blocked
        }
        for c in released { c.resume(returning: nil) }  // they look for room again
    }
}
