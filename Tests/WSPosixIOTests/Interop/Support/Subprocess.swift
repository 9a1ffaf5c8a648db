// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization
@testable import WSPosixIO

/// A child process for an interop test: a Python peer, the `ws` binary or a browser.
///
/// It is spawned in its own process group so that ``stop()`` also ends its children
/// (Chromium starts several). Standard output is read on a background thread and handed out a
/// line at a time; standard error is kept for diagnostics. Every test calls ``stop()`` when it
/// ends (`defer { peer.stop() }`), so no peer outlives its test.
final class Subprocess: Sendable {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    private static let spawnLock = NSLock()

    let pid: pid_t
    let name: String
    private let stdinFD: Lock<Int32>
    private let stdout: LineCollector
    private let stderr: LineCollector
    private let exitStatus = Lock<Int32?>(nil)

    /// Starts `argv[0]` (an absolute path) with the given arguments.
    init(_ argv: [String], environment: [String: String] = [:]) throws {
        signal(SIGPIPE, SIG_IGN)  // a peer that exits must not kill the test runner
        name = URL(fileURLWithPath: argv[0]).lastPathComponent
        // One spawn at a time, so no child inherits another child's pipe before FD_CLOEXEC
        // is set (pipe2 is not visible from Swift's Glibc module).
        Self.spawnLock.lock()
        defer { Self.spawnLock.unlock() }
        var inPipe: [Int32] = [0, 0], outPipe: [Int32] = [0, 0], errPipe: [Int32] = [0, 0]
        guard pipe(&inPipe) == 0, pipe(&outPipe) == 0, pipe(&errPipe) == 0 else {
            throw Failure(description: "pipe failed: errno \(errno)")
        }
        for fd in inPipe + outPipe + errPipe { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, inPipe[0], 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        // The child gets stdin/stdout/stderr and nothing else: a socket of a test running in
        // parallel, inherited by a long-lived peer, would keep that connection open after
        // the test closed it.
        // (glibc ≥ 2.34 has posix_spawn_file_actions_addclosefrom_np; Swift's Glibc module does
        // not show it, so it is looked up.)
        if let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") {
            typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, Int32) -> Int32
            _ = unsafeBitCast(symbol, to: CloseFrom.self)(&actions, 3)
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF))
        posix_spawnattr_setpgroup(&attributes, 0)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGPIPE)
        sigaddset(&defaults, SIGINT)
        sigaddset(&defaults, SIGTERM)
        posix_spawnattr_setsigdefault(&attributes, &defaults)

        var env = ProcessInfo.processInfo.environment
        env["PYTHONUNBUFFERED"] = "1"
        env.merge(environment) { _, new in new }
        let cArgs = argv.map { strdup($0) } + [nil]
        let cEnv = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (cArgs + cEnv).forEach { free($0) } }
        var child: pid_t = 0
        let result = posix_spawn(&child, argv[0], &actions, &attributes, cArgs, cEnv)
        close(inPipe[0]); close(outPipe[1]); close(errPipe[1])
        guard result == 0 else {
            close(inPipe[1]); close(outPipe[0]); close(errPipe[0])
            throw Failure(description: "cannot start \(argv[0]): errno \(result)")
        }
        pid = child
        stdinFD = Lock(inPipe[1])
        stdout = LineCollector(fd: outPipe[0])
        stderr = LineCollector(fd: errPipe[0])
    }

    deinit { stop() }

    /// The next line of standard output, without its newline; throws after `timeout` or at EOF.
    func nextLine(timeout: Duration = .seconds(20)) async throws -> String {
        try await stdout.nextLine(timeout: timeout, what: "\(name) stdout") {
            "stderr so far: \(self.stderr.everything().suffix(2000))"
        }
    }

    /// Waits for a line of standard output that satisfies `predicate`; skips the others.
    func line(where predicate: (String) -> Bool, timeout: Duration = .seconds(30)) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while true {
            let left = deadline - ContinuousClock.now
            let line = try await nextLine(timeout: left > .zero ? left : .zero)
            if predicate(line) { return line }
        }
    }

    /// Everything the process wrote to standard output that was not taken by `nextLine` yet.
    var remainingOutput: String { stdout.everything() }

    /// Everything the process wrote to standard error so far.
    var errorOutput: String { stderr.everything() }

    /// Waits (bounded) until standard error contains `text` (at least `count` times).
    func waitForError(containing text: String, count: Int = 1, timeout: Duration = .seconds(20)) async throws {
        let deadline = ContinuousClock.now + timeout
        while errorOutput.components(separatedBy: text).count - 1 < count {
            guard ContinuousClock.now < deadline else {
                throw Failure(description: "\(name) stderr has no '\(text)' within \(timeout): \(errorOutput.suffix(2000))")
            }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Writes bytes to the child's standard input.
    func sendInput(_ text: String) {
        stdinFD.withLock { fd in
            guard fd >= 0 else { return }
            var bytes = Array(text.utf8)[...]
            while !bytes.isEmpty {
                let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                if n <= 0 { return }
                bytes = bytes.dropFirst(n)
            }
        }
    }

    /// Closes the child's standard input (it sees end of file).
    func closeInput() {
        stdinFD.withLock { fd in
            if fd >= 0 { close(fd); fd = -1 }
        }
    }

    /// Sends `signal` to the process itself (not its group).
    func sendSignal(_ number: Int32) { _ = kill(pid, number) }

    /// Waits (bounded) for the process to exit and returns its exit status, or nil on timeout.
    /// A process killed by a signal reports 128 + the signal number, as shells do. Once it
    /// exited, its output has been read to the end (``errorOutput`` is complete).
    func waitForExit(timeout: Duration = .seconds(20)) async -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let status = reap(flags: WNOHANG) {
                await stdout.waitForEnd(timeout: .seconds(2))
                await stderr.waitForEnd(timeout: .seconds(2))
                return status
            }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return nil
    }

    /// Kills the whole process group with SIGKILL and reaps the process. Idempotent.
    func stop() {
        closeInput()
        if exitStatus.withLock({ $0 }) == nil {
            _ = kill(-pid, SIGKILL)
            _ = reap(flags: 0)
        } else {
            _ = kill(-pid, SIGKILL)  // children may outlive the leader
        }
    }

    private func reap(flags: Int32) -> Int32? {
        exitStatus.withLock { stored in
            if let stored { return stored }
            var status: Int32 = 0
            let r = waitpid(pid, &status, flags)
            guard r == pid else { return nil }
            let low = status & 0x7f
            stored = low == 0 ? (status >> 8) & 0xff : 128 + low
            return stored
        }
    }
}
