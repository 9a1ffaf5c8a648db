// SPDX-License-Identifier: Apache-2.0
package import WSProtocol

/// The driver's clock: CLOCK_MONOTONIC, as the core's `Instant`. The only clock the module reads.
package enum MonotonicClock {
    /// The current instant.
    @inline(__always)
    package static func now() -> Instant { Instant(nanoseconds: Sys.monotonicNanoseconds()) }
}
