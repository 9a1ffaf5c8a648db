// SPDX-License-Identifier: Apache-2.0
//
// Sys: the monotonic and wall clocks, threads, CPUs, resource limits and the environment.

#if canImport(Glibc)
import Glibc
import CWSPosixShims
#elseif canImport(Musl)
import Musl
import CWSPosixShims
#elseif canImport(Darwin)
import Darwin
#else
#error("WSPosixIO supports Linux (Glibc, Musl) and Darwin")
#endif

extension Sys {
    /// CLOCK_MONOTONIC in nanoseconds.
    @inline(__always)
    static func monotonicNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    /// CLOCK_MONOTONIC as of the kernel's last tick (Linux's CLOCK_MONOTONIC_COARSE: 1–10 ms
    /// behind, never ahead), read without the time-stamp counter: about 5 ns against 23 here.
    /// CLOCK_MONOTONIC elsewhere.
    @inline(__always)
    static func coarseMonotonicNanoseconds() -> UInt64 {
        var ts = timespec()
        #if os(Linux)
        clock_gettime(CLOCK_MONOTONIC_COARSE, &ts)
        #else
        clock_gettime(CLOCK_MONOTONIC, &ts)
        #endif
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    /// CLOCK_REALTIME in whole seconds since 1970 (as of the kernel's last tick on Linux,
    /// CLOCK_REALTIME_COARSE): the wall clock, read only for HTTP `Date` fields (`WallClock`).
    static func realtimeSeconds() -> Int64 {
        var ts = timespec()
        #if os(Linux)
        clock_gettime(CLOCK_REALTIME_COARSE, &ts)
        #else
        clock_gettime(CLOCK_REALTIME, &ts)
        #endif
        return Int64(ts.tv_sec)
    }

    static func processorCount() -> Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

    /// The CPU affinity mask of the calling thread (bit i of byte i / 8 is CPU i), or `nil` where
    /// the platform has none (Darwin) or the call fails.
    static func affinityMask() -> [UInt8]? {
        #if canImport(Darwin)
        return nil
        #else
        var mask = [UInt8](repeating: 0, count: 1024)  // 8,192 CPUs
        let r = mask.withUnsafeMutableBytes { cwsposix_cpu_affinity($0.baseAddress!.assumingMemoryBound(to: UInt8.self), $0.count) }
        return r == 0 ? mask : nil
        #endif
    }

    /// The contents of a small text file (at most `limit` bytes), or `nil` if it cannot be read.
    static func readSmallFile(_ path: String, limit: Int = 4096) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { _ = sysClose(fd) }
        var bytes = [UInt8](repeating: 0, count: limit)
        var count = 0
        while count < limit {
            let n = bytes.withUnsafeMutableBytes { sysRead(fd, $0.baseAddress! + count, limit - count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            count += n
        }
        return String(decoding: bytes[..<count], as: UTF8.self)
    }

    /// An identifier of the calling thread, comparable with `==`.
    @inline(__always)
    static func currentThread() -> UInt {
        #if canImport(Darwin)
        UInt(bitPattern: pthread_self())
        #else
        UInt(pthread_self())
        #endif
    }

    /// The values of the named environment variables that are set (for the proxy settings).
    static func environment(_ names: [String]) -> [String: String] {
        var values: [String: String] = [:]
        for name in names {
            if let raw = getenv(name) { values[name] = String(cString: raw) }
        }
        return values
    }

    private final class ThreadBody { let run: () -> Void; init(_ run: @escaping () -> Void) { self.run = run } }

    /// Starts a detached OS thread running `body`.
    ///
    /// Detached from its creation (an attribute), not by `pthread_detach` after it: a thread
    /// that had already run and exited by then (a host-name lookup answered at once, one of a
    /// thousand started together) crashed the detach once, in a test of 1,000 concurrent
    /// `wss://localhost` connections.
    static func spawnThread(_ body: @escaping @Sendable () -> Void) {
        let box = Unmanaged.passRetained(ThreadBody(body)).toOpaque()
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        #if canImport(Darwin)
        var thread: pthread_t?
        let rc = pthread_create(&thread, &attributes, { arg in
            Unmanaged<ThreadBody>.fromOpaque(arg).takeRetainedValue().run()
            return nil
        }, box)
        #else
        var thread = pthread_t()
        let rc = pthread_create(&thread, &attributes, { arg in
            Unmanaged<ThreadBody>.fromOpaque(arg!).takeRetainedValue().run()
            return nil
        }, box)
        #endif
        precondition(rc == 0, "pthread_create failed: \(rc)")
    }

    /// The soft and hard limits on open file descriptors (RLIMIT_NOFILE).
    static func openFileLimit() -> (soft: UInt64, hard: UInt64) {
        var rl = rlimit()
        getrlimit(openFilesResource, &rl)
        return (UInt64(rl.rlim_cur), UInt64(rl.rlim_max))
    }

    static func setOpenFileLimit(soft: UInt64) throws(SystemError) {
        var rl = rlimit()
        getrlimit(openFilesResource, &rl)
        rl.rlim_cur = rlim_t(soft)
        _ = try check("setrlimit") { setrlimit(openFilesResource, &rl) }
    }
}

#if canImport(Darwin)
private let openFilesResource = RLIMIT_NOFILE
#else
private let openFilesResource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
#endif
