// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One measured thing: a closure that does a fixed amount of work per call (`unitsPerCall`
/// frames, messages, bytes or handshakes) and returns a value that is folded into a sink so the
/// optimizer cannot drop the work.
public struct Scenario {
    /// Row key shared by every implementation of the same workload (e.g. `decode.16B.64K`).
    public var key: String
    /// Which implementation: `ours`, `nio`, `stdlib`, `memcpy`, ...
    public var impl: String
    /// How the rate is reported: `frames/s`, `msgs/s`, `GB/s`, `hs/s`.
    public var unit: String
    /// Work units done by one call of `run` (bytes for `GB/s`).
    public var unitsPerCall: Double
    /// Does the work once. Scenarios own their state (connections, channels, buffers).
    public var run: () -> Int

    public init(key: String, impl: String, unit: String, unitsPerCall: Double, run: @escaping () -> Int) {
        self.key = key; self.impl = impl; self.unit = unit; self.unitsPerCall = unitsPerCall; self.run = run
    }
}

/// The sink every scenario's result is folded into (printed at the end so it stays live).
nonisolated(unsafe) public var benchSink = 0

/// Nanoseconds on the monotonic clock.
@inline(__always)
public func monotonicNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
}

/// How long and how often to measure.
public struct TimingPlan: Sendable {
    /// Target duration of one run, in nanoseconds.
    public var runNanoseconds: UInt64
    /// Number of runs; the median rate is reported.
    public var runs: Int

    public static let full = TimingPlan(runNanoseconds: 150_000_000, runs: 9)
    public static let quick = TimingPlan(runNanoseconds: 10_000_000, runs: 3)
}

/// The result of timing one scenario.
public struct Timing {
    public var median: Double
    public var min: Double
    public var max: Double
    /// The rate of every round, in round order (round k of every scenario of a workload ran in
    /// the same round, so `rates[k]` of two scenarios make a pair).
    public var rates: [Double] = []
}

/// Median, min and max of the per-round ratios `a.rates[k] / b.rates[k]`.
public func pairedRatio(_ a: Timing, _ b: Timing) -> (median: Double, min: Double, max: Double)? {
    let ratios = zip(a.rates, b.rates).compactMap { $1 > 0 ? $0 / $1 : nil }.sorted()
    guard !ratios.isEmpty else { return nil }
    let n = ratios.count
    let median = n % 2 == 1 ? ratios[n / 2] : (ratios[n / 2 - 1] + ratios[n / 2]) / 2
    return (median, ratios.first!, ratios.last!)
}

/// Warms `scenario` up and returns the iteration count that fills one run of `plan`.
public func calibrate(_ scenario: Scenario, plan: TimingPlan) -> Int {
    var iterations = 1
    // Grow until one batch takes a tenth of a run.
    while true {
        let t0 = monotonicNanoseconds()
        for _ in 0..<iterations { benchSink &+= scenario.run() }
        let dt = monotonicNanoseconds() - t0
        if dt >= plan.runNanoseconds / 10 || iterations >= 1 << 30 {
            let perCall = max(Double(dt) / Double(iterations), 1)
            return max(1, Int(Double(plan.runNanoseconds) / perCall))
        }
        iterations *= 4
    }
}

/// One timed run: the rate in units per second (10^9 bytes per second for `GB/s`).
public func measureOnce(_ scenario: Scenario, iterations: Int) -> Double {
    let t0 = monotonicNanoseconds()
    for _ in 0..<iterations { benchSink &+= scenario.run() }
    let dt = Double(monotonicNanoseconds() - t0) / 1e9
    let rate = scenario.unitsPerCall * Double(iterations) / dt
    return scenario.unit == "GB/s" ? rate / 1e9 : rate
}

/// Times the scenarios of one workload together: after calibrating each, the runs are
/// interleaved in rounds, every scenario once per round in an order shuffled from `seed` (so a
/// change in machine load hits every implementation alike, and none always runs right after
/// another). Returns one median per scenario, with every round's rate for paired ratios.
public func timeInterleaved(_ scenarios: [Scenario], plan: TimingPlan, seed: UInt64 = 1) -> [Timing] {
    let iterations = scenarios.map { calibrate($0, plan: plan) }
    var rates = [[Double]](repeating: [], count: scenarios.count)
    var rng = SplitMix64(seed: seed)
    for _ in 0..<plan.runs {
        for i in scenarios.indices.shuffled(using: &rng) {
            rates[i].append(measureOnce(scenarios[i], iterations: iterations[i]))
        }
    }
    return rates.map { r in
        let sorted = r.sorted()
        let n = sorted.count
        let median = n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2
        return Timing(median: median, min: sorted.first!, max: sorted.last!, rates: r)
    }
}

/// One paired-ratio line for Scripts/bench: `pair <TAB> key <TAB> a <TAB> b <TAB> median <TAB>
/// min <TAB> max` (the per-round ratios a ÷ b of two implementations of one workload).
public func emitPair(_ key: String, _ a: String, _ b: String, _ ratio: (median: Double, min: Double, max: Double)) {
    func f(_ x: Double) -> String { String(Double(Int(x * 1000)) / 1000) }
    print("pair\t\(key)\t\(a)\t\(b)\t\(f(ratio.median))\t\(f(ratio.min))\t\(f(ratio.max))")
}

/// One output line for Scripts/bench: `row <TAB> key <TAB> impl <TAB> value <TAB> unit <TAB> min <TAB> max`.
public func emit(_ key: String, _ impl: String, _ value: Double, _ unit: String, min: Double? = nil, max: Double? = nil) {
    func f(_ x: Double) -> String { x >= 100 ? String(Int(x.rounded())) : String(Double(Int(x * 1000)) / 1000) }
    print("row\t\(key)\t\(impl)\t\(f(value))\t\(unit)\t\(f(min ?? value))\t\(f(max ?? value))")
}
