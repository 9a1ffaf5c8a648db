// SPDX-License-Identifier: Apache-2.0

/// How many CPUs this process may actually use: the online processors, narrowed by the CPU
/// affinity mask (`taskset`, cpusets) and by the cgroup v2 CPU quota (`cpu.max`, container
/// limits such as `docker --cpus`). ``EventLoopGroup`` runs one loop per such CPU.
///
/// The parsing is pure (file contents in, numbers out) so it is unit-tested without a cgroup.
package enum CPUBudget {
    /// The CPUs usable now: `min(online, affinity, quota)`, at least 1.
    package static var current: Int {
        let mask = Sys.affinityMask()
        let quota = Sys.readSmallFile("/proc/self/cgroup").flatMap(cgroupV2Path).flatMap { path in
            quotaCPUs(path: path, read: { Sys.readSmallFile($0) })
        }
        return usable(online: Sys.processorCount(), affinity: mask.map(count(affinityMask:)), quota: quota)
    }

    /// `min(online, affinity, quota)`, ignoring what is unknown (`nil`, or an empty mask), at least 1.
    package static func usable(online: Int, affinity: Int?, quota: Int?) -> Int {
        var n = max(1, online)
        if let affinity, affinity > 0 { n = min(n, affinity) }
        if let quota, quota > 0 { n = min(n, quota) }
        return n
    }

    /// The number of CPUs in an affinity mask (set bits).
    package static func count(affinityMask mask: [UInt8]) -> Int {
        mask.reduce(0) { $0 + $1.nonzeroBitCount }
    }

    /// Parses a cgroup v2 `cpu.max` file, `"$MAX $PERIOD"` (e.g. `"150000 100000"` for 1.5 CPUs,
    /// `"max 100000"` for no limit): the quota in whole CPUs, rounded up (1.5 → 2), or `nil` when
    /// unlimited or malformed.
    package static func parseCPUMax(_ text: String) -> Int? {
        let fields = text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" })
        guard fields.count == 2, fields[0] != "max",
              let quota = Int(fields[0]), let period = Int(fields[1]), quota > 0, period > 0 else { return nil }
        return (quota + period - 1) / period
    }

    /// The process's cgroup v2 path from `/proc/self/cgroup` (the `0::PATH` line), or `nil`
    /// when the process is not in a v2 hierarchy.
    package static func cgroupV2Path(_ text: String) -> String? {
        for line in text.split(separator: "\n") where line.hasPrefix("0::") {
            let path = line.dropFirst(3)
            return path.hasPrefix("/") ? String(path) : nil
        }
        return nil
    }

    /// The tightest `cpu.max` quota from the process's cgroup up to the root of
    /// `/sys/fs/cgroup` (a parent's quota limits its children), in whole CPUs; `nil` when none
    /// is set. `read` returns a file's contents (`nil` when it does not exist).
    package static func quotaCPUs(path: String, root: String = "/sys/fs/cgroup", read: (String) -> String?) -> Int? {
        var components = path.split(separator: "/").map(String.init)
        var tightest: Int? = nil
        while true {
            let directory = components.isEmpty ? root : root + "/" + components.joined(separator: "/")
            if let text = read(directory + "/cpu.max"), let cpus = parseCPUMax(text) {
                tightest = min(tightest ?? cpus, cpus)
            }
            if components.isEmpty { return tightest }
            components.removeLast()
        }
    }
}
