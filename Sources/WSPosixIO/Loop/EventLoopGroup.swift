// SPDX-License-Identifier: Apache-2.0
import Synchronization

/// A small, fixed group of ``EventLoop`` threads; connections are spread over them round-robin.
///
/// The loops are made at first use (the first connection or server on the group), not when
/// the group is created, so a group costs no thread and no descriptor until it is used, and a
/// system that refuses a loop's descriptors (`RLIMIT_NOFILE` reached) makes that first use
/// throw ``SystemError`` (``WebSocketError/outOfResources`` from `connect` and `start`) instead
/// of stopping the process. Loops made before such a refusal are kept; the next use makes the
/// rest. Loop threads live as long as the process (the group is meant to be created once).
public final class EventLoopGroup: Sendable {
    /// How many loops the group runs once used.
    public let threadCount: Int
    private let made: Lock<[EventLoop]>
    private let counter = Atomic<Int>(0)

    /// Creates one loop per CPU this process may use (``ProcessLimits/processorCount``: the
    /// online processors narrowed by the affinity mask and the cgroup v2 CPU quota).
    public convenience init() { self.init(threadCount: ProcessLimits.processorCount) }

    /// A group of `threadCount` loops (made at first use). A group needs at least one loop: with
    /// a `threadCount` under 1, that first use throws ``SystemError`` with `EINVAL`
    /// (``WebSocketError/unsupportedSocketOperation(_:)`` from `connect` and `bind`).
    public init(threadCount: Int) {
        self.threadCount = threadCount
        made = Lock([])
    }

    /// The process-wide default group, one loop per usable CPU.
    public static let shared = EventLoopGroup()

    /// The loops of the group, made now if they are not yet.
    public var loops: [EventLoop] {
        get throws(SystemError) {
            guard threadCount > 0 else {
                throw SystemError(errno: Sys.invalidArgument, operation: "EventLoopGroup(threadCount: \(threadCount))")
            }
            return try made.withLock { (loops: inout [EventLoop]) throws(SystemError) -> [EventLoop] in
                while loops.count < threadCount { loops.append(try EventLoop()) }
                return loops
            }
        }
    }

    /// The next loop, round-robin (the loops are made at the first call).
    public func next() throws(SystemError) -> EventLoop {
        let loops = try self.loops
        let i = counter.add(1, ordering: .relaxed).oldValue
        return loops[i % loops.count]
    }
}
