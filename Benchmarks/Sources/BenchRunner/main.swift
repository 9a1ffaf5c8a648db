// SPDX-License-Identifier: Apache-2.0
//
// Micro-benchmarks: every implementation of a workload runs on identical inputs in the same
// process; each prints `row` lines that Scripts/bench turns into one table.
//   BenchRunner [--quick] [--filter SUBSTRING] [--impl NAME]   (--impl: ours, nio, ...)
// Each workload's implementations run in 9 rounds (3 with --quick), each round in an order
// shuffled from the seed; besides each implementation's median (`row` lines) it prints the
// per-round ratios of every implementation to every other (`pair` lines: median, min, max).
import BenchSupport
#if canImport(Glibc)
import Glibc
#endif

var plan = TimingPlan.full
var filter: String? = nil
var implFilter: String? = nil
// The seed of the rounds' shuffled order (printed; BENCH_SEED repeats a run's order).
var seed = UInt64(monotonicNanoseconds() & 0xFFFF_FFFF)
if let text = getenv("BENCH_SEED").map({ String(cString: $0) }), let value = UInt64(text) { seed = value }
print("microseed\t\(seed)")
var args = CommandLine.arguments.dropFirst()
while let a = args.popFirst() {
    switch a {
    case "--quick": plan = .quick
    case "--filter": filter = args.popFirst()
    case "--impl": implFilter = args.popFirst()
    default: print("usage: BenchRunner [--quick] [--filter SUBSTRING] [--impl NAME]"); exit(2)
    }
}

for make in Catalog.all {
    let scenarios = make().filter { scenario in
        (filter.map { scenario.key.contains($0) } ?? true) && (implFilter.map { scenario.impl == $0 } ?? true)
    }
    // Scenarios sharing a key are timed together, their runs interleaved.
    var keys: [String] = []
    for s in scenarios where !keys.contains(s.key) { keys.append(s.key) }
    for key in keys {
        let group = scenarios.filter { $0.key == key }
        let timings = timeInterleaved(group, plan: plan, seed: seed &+ UInt64(keys.firstIndex(of: key)!))
        for (scenario, t) in zip(group, timings) {
            emit(scenario.key, scenario.impl, t.median, scenario.unit, min: t.min, max: t.max)
        }
        // Every implementation of the workload against every other, paired per round.
        for (i, a) in group.enumerated() {
            for (j, b) in group.enumerated() where j != i {
                if let ratio = pairedRatio(timings[i], timings[j]) { emitPair(key, a.impl, b.impl, ratio) }
            }
        }
    }
}
print("sink\t\(benchSink)")
