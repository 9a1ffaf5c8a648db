// SPDX-License-Identifier: Apache-2.0
import Synchronization
@testable import WSPosixIO

/// A one-shot "it happened" that tasks wait for: what the socket tests synchronise on instead
/// of sleeping. Waiting is bounded (the timeout is a failure, never the expected path).
final class Signal: Sendable {
    private struct State {
        var fired = false
        var nextID = 0
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
    }
    // The driver's lock (a pthread mutex in ThreadSanitizer builds, which cannot see the standard
    // library's futex-based `Mutex` and reported this helper's own state as racing).
    private let state = Lock(State())

    /// Fires the signal (once; later calls do nothing) and wakes every waiter.
    func fire() {
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            guard !s.fired else { return [] }
            s.fired = true
            defer { s.waiters = [:] }
            return Array(s.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    var isFired: Bool { state.withLock { $0.fired } }

    /// Waits until the signal fires (`true`) or `timeout` passes (`false`).
    func wait(timeout: Duration = .seconds(20)) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask { await self.waitUntilFiredOrCancelled(); return self.isFired }
            group.addTask { try? await Task.sleep(for: timeout); return false }
            let first = await group.next() ?? false
            group.cancelAll()
            return first || isFired
        }
    }

    private func waitUntilFiredOrCancelled() async {
        let id = state.withLock { s in s.nextID += 1; return s.nextID }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { s -> Bool in
                    if s.fired || Task.isCancelled { return true }
                    s.waiters[id] = c
                    return false
                }
                if resumeNow { c.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }
}

/// A signal that fires once `count` arrivals are counted ("every client is connected").
final class Countdown: Sendable {
    private let remaining: Lock<Int>
    private let signal = Signal()

    init(_ count: Int) {
        remaining = Lock(count)
        if count <= 0 { signal.fire() }
    }

    func arrive() {
        if remaining.withLock({ left -> Int in left -= 1; return left }) == 0 { signal.fire() }
    }

    /// Waits until every arrival was counted (`true`) or `timeout` passes (`false`).
    func wait(timeout: Duration = .seconds(20)) async -> Bool { await signal.wait(timeout: timeout) }
}
