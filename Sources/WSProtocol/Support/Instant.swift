// SPDX-License-Identifier: Apache-2.0

/// A point on a monotonic clock, in nanoseconds since an arbitrary origin chosen by the driver.
///
/// The core never reads a clock: every input carries `now:`, and timers come back as
/// ``Connection/nextDeadline``. Tests construct instants freely.
public struct Instant: Comparable, Hashable, Sendable, CustomStringConvertible {
    /// Nanoseconds since the driver's origin.
    public var nanoseconds: UInt64

    /// Creates an instant `nanoseconds` after the driver's origin.
    public init(nanoseconds: UInt64) { self.nanoseconds = nanoseconds }

    /// The driver's origin.
    public static let zero = Instant(nanoseconds: 0)

    /// Creates an instant a whole number of seconds after the origin (for tests and examples).
    public static func seconds(_ s: UInt64) -> Instant { Instant(nanoseconds: s &* 1_000_000_000) }

    /// Creates an instant a whole number of milliseconds after the origin.
    public static func milliseconds(_ ms: UInt64) -> Instant { Instant(nanoseconds: ms &* 1_000_000) }

    /// Whether `lhs` comes before `rhs`.
    public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.nanoseconds < rhs.nanoseconds }

    /// The instant `duration` later, saturating at the end of time (negative durations count as zero).
    public static func + (lhs: Instant, rhs: Duration) -> Instant {
        let (seconds, attoseconds) = rhs.components
        guard seconds >= 0, attoseconds >= 0 else { return lhs }
        let (ns, o1) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
        let (sum, o2) = lhs.nanoseconds.addingReportingOverflow(ns &+ UInt64(attoseconds / 1_000_000_000))
        return (o1 || o2) ? Instant(nanoseconds: .max) : Instant(nanoseconds: sum)
    }

    /// The instant `nanoseconds` later, saturating at the end of time.
    @inlinable
    public func adding(nanoseconds delta: UInt64) -> Instant {
        let (sum, overflow) = nanoseconds.addingReportingOverflow(delta)
        return Instant(nanoseconds: overflow ? .max : sum)
    }

    /// The nanoseconds since the origin, e.g. `"Instant(1500000000ns)"`.
    public var description: String { "Instant(\(nanoseconds)ns)" }
}
