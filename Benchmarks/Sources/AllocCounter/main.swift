// SPDX-License-Identifier: Apache-2.0
//
// Allocations per message: runs a scenario once to warm it up (buffers reach their steady
// capacity), then counts mallocs over one more run with the interposer ordo-one/benchmark uses,
// and divides by the frames/messages of that run. Prints `row alloc.<key> <impl> <value> allocs/msg`.
// Run with LD_PRELOAD of libMallocInterposerSwift.so (Scripts/bench does) so every malloc in the
// process, the Swift runtime's included, goes through the counter.
//   AllocCounter [--filter SUBSTRING]
import BenchSupport
import MallocInterposerSwift

/// The rows for the targets: one small message received (per read, and 64 KiB reads), one
/// small message sent (server and client), one small message echoed, one server handshake.
let keys: Set<String> = ["decode.16B.1frame", "decode.16B.64K", "encode.16B.server", "encode.16B.client", "echo.16B.1msg",
                         "handshake"]
var filter: String? = nil
if CommandLine.arguments.count > 2, CommandLine.arguments[1] == "--filter" { filter = CommandLine.arguments[2] }

// Check that the interposer is live: a fresh array must be counted.
MallocInterposerSwift.initialize()
MallocInterposerSwift.hook()
let probe = [UInt8](repeating: 1, count: 1000 + Int(CommandLine.arguments.count))
MallocInterposerSwift.unhook()
let live = MallocInterposerSwift.getStatistics().mallocCount > 0
precondition(live, "the malloc interposer is not active (LD_PRELOAD libMallocInterposerSwift.so)")
benchSink &+= probe.count

for make in Catalog.all {
    for scenario in make() where keys.contains(scenario.key) && (filter.map { scenario.key.contains($0) } ?? true) {
        benchSink &+= scenario.run()
        benchSink &+= scenario.run()
        MallocInterposerSwift.initialize()
        MallocInterposerSwift.hook()
        benchSink &+= scenario.run()
        MallocInterposerSwift.unhook()
        let stats = MallocInterposerSwift.getStatistics()
        let perUnit = Double(stats.mallocCount) / scenario.unitsPerCall
        emit("alloc." + scenario.key, scenario.impl, perUnit, scenario.key == "handshake" ? "allocs/hs" : "allocs/msg")
    }
}
print("sink\t\(benchSink)")
