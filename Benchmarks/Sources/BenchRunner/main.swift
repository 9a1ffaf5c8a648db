// SPDX-License-Identifier: Apache-2.0
//
// Micro-benchmarks: every implementation of a workload runs on identical inputs in the same
// process; each prints `row` lines that Scripts/bench turns into one table.
//   BenchRunner [--quick] [--filter SUBSTRING] [--impl NAME]   (--impl: ours, nio, ...)
import BenchSupport
#if canImport(Glibc)
import Glibc
#endif

var plan = TimingPlan.full
var filter: String? = nil
var implFilter: String? = nil
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
        for (scenario, t) in zip(group, timeInterleaved(group, plan: plan)) {
            emit(scenario.key, scenario.impl, t.median, scenario.unit, min: t.min, max: t.max)
        }
    }
}
print("sink\t\(benchSink)")
