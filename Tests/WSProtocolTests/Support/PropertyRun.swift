// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Which seeds a property test runs: `0..<300` by default; `WS_SEED=n` replays seed `n` alone;
/// `WS_ITERATIONS=n` runs seeds `0..<n`. Loop over `PropertyRun.seeds` inside one `@Test` and
/// name the seed in every expectation, so that a failure says how to replay it.
enum PropertyRun {
    /// The default number of seeds per property.
    static let defaultIterations: UInt64 = 300

    /// The seeds to run, from the environment or the default.
    static var seeds: [UInt64] { seeds(default: defaultIterations) }

    /// The seeds to run, with a different default count (for costly properties).
    static func seeds(default iterations: UInt64) -> [UInt64] {
        if let seed = environment("WS_SEED").flatMap(UInt64.init) { return [seed] }
        let n = environment("WS_ITERATIONS").flatMap(UInt64.init) ?? iterations
        return Array(0..<n)
    }

    private static func environment(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        return String(cString: value)
    }
}
