// SPDX-License-Identifier: Apache-2.0

/// Process-wide resource limits a server (or a test with many connections) may need to raise.
public enum ProcessLimits {
    /// The number of CPUs this process may use: the online processors, narrowed by the CPU
    /// affinity mask (`taskset`, cpusets) and the cgroup v2 quota (`cpu.max`, rounded up: 1.5
    /// CPUs count as 2). At least 1.
    public static var processorCount: Int { CPUBudget.current }

    /// The current soft and hard limits on open file descriptors (RLIMIT_NOFILE).
    public static var openFiles: (soft: UInt64, hard: UInt64) { Sys.openFileLimit() }

    /// Raises the soft limit on open file descriptors to at least `count` (capped at the hard
    /// limit). Returns the soft limit in force afterwards.
    @discardableResult
    public static func raiseOpenFiles(atLeast count: UInt64) -> UInt64 {
        let (soft, hard) = Sys.openFileLimit()
        guard soft < count else { return soft }
        try? Sys.setOpenFileLimit(soft: min(count, hard))
        return Sys.openFileLimit().soft
    }
}
