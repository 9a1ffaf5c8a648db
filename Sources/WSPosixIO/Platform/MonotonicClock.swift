// SPDX-License-Identifier: Apache-2.0
public import WSProtocol

/// The driver's clock: CLOCK_MONOTONIC, as the core's `Instant`. The only clock the module reads.
public enum MonotonicClock {
    /// The current instant.
    @inline(__always)
    public static func now() -> Instant { Instant(nanoseconds: Sys.monotonicNanoseconds()) }
}
