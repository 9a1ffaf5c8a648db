// SPDX-License-Identifier: Apache-2.0
import Synchronization

/// A small, fixed group of ``EventLoop`` threads; connections are spread over them round-robin.
///
/// Loop threads live as long as the process (the group is meant to be created once).
public final class EventLoopGroup: Sendable {
    /// The loops of the group.
    public let loops: [EventLoop]
    private let counter = Atomic<Int>(0)

    /// Creates one loop per CPU this process may use (``ProcessLimits/processorCount``: the
    /// online processors narrowed by the affinity mask and the cgroup v2 CPU quota).
    public convenience init() { self.init(threadCount: ProcessLimits.processorCount) }

    /// Creates `threadCount` loops.
    public init(threadCount: Int) {
        precondition(threadCount > 0, "an event loop group needs at least one thread")
        loops = (0..<threadCount).map { _ in EventLoop() }
    }

    /// The process-wide default group, one loop per usable CPU, created on first use.
    public static let shared = EventLoopGroup()

    /// The next loop, round-robin.
    public func next() -> EventLoop {
        let i = counter.add(1, ordering: .relaxed).oldValue
        return loops[i % loops.count]
    }
}
