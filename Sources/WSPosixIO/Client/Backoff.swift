// SPDX-License-Identifier: Apache-2.0

/// Exponential backoff with jitter and a cap: how long to wait before reconnect attempt N.
///
/// The delay before attempt `n` (0 for the first retry) is `min(maximum, initial × multiplierⁿ)`,
/// then shortened by a random fraction up to ``jitter`` (so clients that lost the same server
/// do not all come back at the same instant). Randomness is passed in, so tests pin the delays.
public struct Backoff: Hashable, Sendable {
    /// The first delay. Default 100 ms.
    public var initial: Duration
    /// The growth per attempt. Default 2.
    public var multiplier: Double
    /// The cap. Default 10 s.
    public var maximum: Duration
    /// The largest share of the delay taken off at random, 0...1. Default 0.5 (delays fall in
    /// [d/2, d]).
    public var jitter: Double

    /// A backoff with the given values (defaults 100 ms, ×2, 10 s, 0.5). A `multiplier` below 1
    /// is raised to 1 and `jitter` is clamped to 0...1.
    public init(initial: Duration = .milliseconds(100), multiplier: Double = 2, maximum: Duration = .seconds(10),
                jitter: Double = 0.5) {
        self.initial = initial
        self.multiplier = max(1, multiplier)
        self.maximum = maximum
        self.jitter = jitter.isNaN ? 0 : min(max(jitter, 0), 1)
    }

    /// The delay before retry number `attempt` (0-based).
    public func delay(attempt: Int, using generator: inout some RandomNumberGenerator) -> Duration {
        let cap = Double(maximum.nanoseconds)
        var nanos = Double(initial.nanoseconds)
        var i = 0
        while i < attempt && nanos < cap {
            nanos *= multiplier
            i += 1
        }
        nanos = min(nanos, cap)
        let unit = Double(generator.next() >> 11) / Double(1 << 53)  // [0, 1)
        let cut = jitter * unit
        if cut.isFinite { nanos *= 1 - cut }  // a jitter set to NaN or infinity takes nothing off
        // Saturating: a cap at or near `Int64.max` nanoseconds rounds up to 2⁶³ as a `Double`,
        // and `0 × ∞` (an initial delay of zero with an infinite multiplier) is NaN; either
        // trapped in `Int64(_:)`.
        guard !nanos.isNaN else { return .zero }
        if nanos >= 0x1p63 { return .nanoseconds(Int64.max) }
        if nanos < -0x1p63 { return .nanoseconds(Int64.min) }
        return .nanoseconds(Int64(nanos))
    }
}

extension Duration {
    /// The whole duration in nanoseconds (saturating).
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (s, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        return s.addingReportingOverflow(attoseconds / 1_000_000_000).overflow ? .max : s + attoseconds / 1_000_000_000
    }
}
