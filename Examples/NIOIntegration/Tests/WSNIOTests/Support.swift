// SPDX-License-Identifier: Apache-2.0
import Foundation
import NIOPosix

/// Paths and processes for the socket tests: the Python peers of the root package's interop
/// tests (`Tests/WSPosixIOTests/Resources`), its venv, and Chromium.
enum Peers {
    static let environment = ProcessInfo.processInfo.environment
    /// The repository root (this package lives in `Examples/NIOIntegration`).
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("../..").standardized
    static let resources = root.appendingPathComponent("Tests/WSPosixIOTests/Resources")
    /// One event-loop thread for every test server and client.
    static let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    /// `WS_TEST_PYTHON` (Scripts/test sets it), else the repository's `.venv`.
    static func python() throws -> String {
        let path = environment["WS_TEST_PYTHON"] ?? root.appendingPathComponent(".venv/bin/python").path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw Failure("no Python peers at \(path): run Scripts/setup-test-peers")
        }
        return path
    }

    /// `WS_CHROMIUM`, else `chromium` on the PATH.
    static func chromium() throws -> String {
        if let path = environment["WS_CHROMIUM"] { return path }
        for directory in (environment["PATH"] ?? "/usr/bin").split(separator: ":") {
            let path = "\(directory)/chromium"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        throw Failure("chromium is missing: run Scripts/setup-test-peers")
    }
}

struct Failure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A child process whose standard output is read a line at a time (on a background thread);
/// ``stop()`` ends it.
final class Peer: @unchecked Sendable {
    private let process = Process()
    private let lock = NSCondition()
    private var lines: [String] = []
    private var ended = false
    private let exited = DispatchSemaphore(value: 0)

    init(_ executable: String, _ arguments: [String]) throws {
        let output = Pipe()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        process.currentDirectoryURL = Peers.resources
        process.terminationHandler = { [exited] _ in exited.signal() }
        try process.run()
        let handle = output.fileHandleForReading
        Thread.detachNewThread { [self] in
            var pending = Data()
            while true {
                let data = handle.availableData
                lock.lock()
                if data.isEmpty {
                    ended = true
                    lock.broadcast()
                    lock.unlock()
                    return
                }
                pending += data
                while let newline = pending.firstIndex(of: 10) {
                    lines.append(String(decoding: pending[pending.startIndex..<newline], as: UTF8.self))
                    pending = Data(pending[(newline + 1)...])
                }
                lock.broadcast()
                lock.unlock()
            }
        }
    }

    /// The next line of output, waiting at most `timeout`.
    func nextLine(timeout: TimeInterval = 20) throws -> String {
        let deadline = Date(timeIntervalSinceNow: timeout)
        lock.lock()
        defer { lock.unlock() }
        while lines.isEmpty {
            if ended { throw Failure("\(process.executableURL!.lastPathComponent) ended without more output") }
            if !lock.wait(until: deadline) { throw Failure("no output within \(timeout) s") }
        }
        return lines.removeFirst()
    }

    /// Ends the process (SIGTERM) and waits, at most 10 s, until it has exited. (Not
    /// `waitUntilExit()`: it spins a run loop that an async test's thread does not serve.)
    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        if exited.wait(timeout: .now() + 2) == .timedOut {
            kill(process.processIdentifier, SIGKILL)
            _ = exited.wait(timeout: .now() + 10)
        }
    }
}
