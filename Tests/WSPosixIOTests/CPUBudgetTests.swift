// SPDX-License-Identifier: Apache-2.0
import Testing
@testable import WSPosixIO

/// The loop count comes from the CPUs this process may use: the affinity mask and the cgroup
/// v2 `cpu.max` quota, parsed from the files' contents.
@Suite("CPUBudget: affinity mask and cgroup v2 quota")
struct CPUBudgetTests {
    @Test func cpuMaxParsing() {
        #expect(CPUBudget.parseCPUMax("max 100000\n") == nil)
        #expect(CPUBudget.parseCPUMax("100000 100000\n") == 1)
        #expect(CPUBudget.parseCPUMax("150000 100000\n") == 2)  // 1.5 CPUs: rounded up
        #expect(CPUBudget.parseCPUMax("200000 100000") == 2)
        #expect(CPUBudget.parseCPUMax("50000 100000\n") == 1)   // half a CPU still needs one loop
        #expect(CPUBudget.parseCPUMax("400000 50000\n") == 8)
        #expect(CPUBudget.parseCPUMax("") == nil)
        #expect(CPUBudget.parseCPUMax("max") == nil)
        #expect(CPUBudget.parseCPUMax("0 100000") == nil)
        #expect(CPUBudget.parseCPUMax("100000 0") == nil)
        #expect(CPUBudget.parseCPUMax("-5 100000") == nil)
        #expect(CPUBudget.parseCPUMax("abc 100000") == nil)
        #expect(CPUBudget.parseCPUMax("100000 100000 7") == nil)
    }

    @Test func cgroupPath() {
        #expect(CPUBudget.cgroupV2Path("0::/user.slice/user-1000.slice/session-2.scope\n") == "/user.slice/user-1000.slice/session-2.scope")
        #expect(CPUBudget.cgroupV2Path("0::/\n") == "/")
        // Hybrid hierarchy: the v1 lines are ignored.
        #expect(CPUBudget.cgroupV2Path("12:cpu,cpuacct:/docker/abc\n1:name=systemd:/x\n0::/docker/abc\n") == "/docker/abc")
        #expect(CPUBudget.cgroupV2Path("12:cpu,cpuacct:/docker/abc\n") == nil)  // v1 only
        #expect(CPUBudget.cgroupV2Path("") == nil)
    }

    @Test func tightestQuotaUpTheHierarchy() {
        let files = [
            "/sys/fs/cgroup/kubepods/cpu.max": "400000 100000\n",
            "/sys/fs/cgroup/kubepods/pod1/cpu.max": "max 100000\n",
            "/sys/fs/cgroup/kubepods/pod1/c1/cpu.max": "250000 100000\n",
        ]
        #expect(CPUBudget.quotaCPUs(path: "/kubepods/pod1/c1", read: { files[$0] }) == 3)
        #expect(CPUBudget.quotaCPUs(path: "/kubepods/pod1", read: { files[$0] }) == 4)  // the parent's limit
        #expect(CPUBudget.quotaCPUs(path: "/other", read: { files[$0] }) == nil)
        #expect(CPUBudget.quotaCPUs(path: "/", read: { files[$0] }) == nil)
        #expect(CPUBudget.quotaCPUs(path: "/", read: { $0 == "/sys/fs/cgroup/cpu.max" ? "100000 100000" : nil }) == 1)
    }

    @Test func affinityMaskCount() {
        #expect(CPUBudget.count(affinityMask: [0b0000_0011]) == 2)
        #expect(CPUBudget.count(affinityMask: [0b0000_0001, 0, 0b1000_0000]) == 2)  // CPUs 0 and 23
        #expect(CPUBudget.count(affinityMask: [0xFF, 0xFF]) == 16)
        #expect(CPUBudget.count(affinityMask: [UInt8](repeating: 0, count: 128)) == 0)
    }

    @Test func usableIsTheSmallestKnownLimit() {
        #expect(CPUBudget.usable(online: 8, affinity: 8, quota: nil) == 8)
        #expect(CPUBudget.usable(online: 8, affinity: 1, quota: nil) == 1)   // taskset -c 0
        #expect(CPUBudget.usable(online: 8, affinity: 8, quota: 2) == 2)     // docker --cpus 2
        #expect(CPUBudget.usable(online: 8, affinity: 3, quota: 2) == 2)
        #expect(CPUBudget.usable(online: 8, affinity: nil, quota: nil) == 8)
        #expect(CPUBudget.usable(online: 8, affinity: 0, quota: nil) == 8)   // unknown mask
        #expect(CPUBudget.usable(online: 0, affinity: nil, quota: nil) == 1)
    }

    /// This process: the live affinity mask matches the count (at least one CPU, at most the
    /// online ones).
    @Test func liveValues() throws {
        let mask = try #require(Sys.affinityMask())
        let affinity = CPUBudget.count(affinityMask: mask)
        #expect(affinity >= 1 && affinity <= Sys.processorCount())
        #expect(CPUBudget.current <= affinity)
        #expect(ProcessLimits.processorCount == CPUBudget.current)
    }
}
