// SPDX-License-Identifier: Apache-2.0
package import WSProtocol

/// The driver's clock: CLOCK_MONOTONIC, as the core's `Instant`. The only clock behind timeouts
/// (the wall clock, `WallClock`, only dates HTTP responses).
package enum MonotonicClock {
    /// The current instant.
    @inline(__always)
    package static func now() -> Instant { Instant(nanoseconds: Sys.monotonicNanoseconds()) }

    /// The same clock as of its last tick (at most a tick, 1–10 ms, behind ``now()``), and never
    /// before `earlier`: for a loop's rounds of reads and writes, where it stamps activity and
    /// starts timeouts of a second or more. Deadlines are still checked against ``now()``.
    @inline(__always)
    package static func coarse(notBefore earlier: Instant) -> Instant {
        let ns = Sys.coarseMonotonicNanoseconds()
        return ns > earlier.nanoseconds ? Instant(nanoseconds: ns) : earlier
    }
}
