// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing
import WSPosixIO

/// Where the interop tests find their peers, and whether a missing peer fails or skips.
///
/// - `WS_TEST_PYTHON`: the Python with websockets 17.4 and wsproto 1.3.2 (Scripts/test sets it
///   to `.venv/bin/python`). Without it, `<package>/.venv/bin/python` is tried.
/// - `WS_REQUIRE_PEERS=1`: a missing peer is a test failure, never a skip (Scripts/test, CI).
/// - `WS_CHROMIUM`: the browser binary (default: `chromium` or `chromium-browser` on `PATH`).
/// - `WS_BINARY`: the `ws` binary (default: next to the test bundle in the build directory).
enum Peers {
    static let environment = ProcessInfo.processInfo.environment

    /// The event loop that runs the interop tests' own clients and servers. Not the shared
    /// group: the loopback tests beside them push 16 MiB messages and one-byte fragments
    /// through the shared loops, and every connection on a busy loop waits its turn (seen as
    /// 10 s handshake timeouts of the Python peers on a loaded machine).
    static let loops = EventLoopGroup(threadCount: 1)

    /// True when a missing peer must fail the test (`WS_REQUIRE_PEERS=1`).
    static var required: Bool { environment["WS_REQUIRE_PEERS"] == "1" }

    /// The Python interpreter with the pinned peers, if present.
    static var python: String? {
        if let path = environment["WS_TEST_PYTHON"], !path.isEmpty {
            return FileManager.default.isExecutableFile(atPath: path) ? path : nil
        }
        let venv = packageRoot.appendingPathComponent(".venv/bin/python").path
        return FileManager.default.isExecutableFile(atPath: venv) ? venv : nil
    }

    /// The Chromium binary, if installed.
    static var chromium: String? {
        if let path = environment["WS_CHROMIUM"], !path.isEmpty {
            return FileManager.default.isExecutableFile(atPath: path) ? path : nil
        }
        return findOnPath("chromium") ?? findOnPath("chromium-browser")
    }

    /// The `ws` executable built with the tests (`swift build --build-tests` builds it).
    static var wsBinary: String? {
        if let path = environment["WS_BINARY"], !path.isEmpty {
            return FileManager.default.isExecutableFile(atPath: path) ? path : nil
        }
        let candidates = [buildDirectory.appendingPathComponent("ws").path,
                          packageRoot.appendingPathComponent(".build/debug/ws").path]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// The enabling condition for a test that needs `peer`: run it when the peer exists or
    /// when peers are required (the test then fails in ``require(_:_:)``).
    static func available(_ peer: String?) -> Bool { peer != nil || required }

    /// Returns the peer's path or throws (failing the test) with a message that says how to
    /// install it.
    static func require(_ peer: String?, _ what: String) throws -> String {
        guard let peer else {
            throw Subprocess.Failure(description: "\(what) is missing: run Scripts/setup-test-peers (or Scripts/test)")
        }
        return peer
    }

    /// The folder with the Python peers: the source folder when it is there (so an edited peer
    /// needs no rebuild), else the copy in the test bundle.
    static var resources: URL {
        let source = packageRoot.appendingPathComponent("Tests/WSPosixIOTests/Resources")
        if FileManager.default.fileExists(atPath: source.appendingPathComponent("peer_common.py").path) {
            return source
        }
        return Bundle.module.url(forResource: "Resources", withExtension: nil) ?? source
    }

    /// Starts a Python peer script from ``resources``.
    static func startPython(_ script: String, _ arguments: [String]) throws -> Subprocess {
        let python = try require(python, "Python with websockets 17.4 / wsproto 1.3.2")
        let path = resources.appendingPathComponent(script).path
        return try Subprocess([python, path] + arguments)
    }

    /// Starts a peer that prints `PORT <n>` first, and returns it with that port.
    static func startServer(_ script: String, _ arguments: [String] = []) async throws -> (Subprocess, Int) {
        let peer = try startPython(script, arguments)
        do {
            let first = try await peer.nextLine()
            guard first.hasPrefix("PORT "), let port = Int(first.dropFirst(5)) else {
                throw Subprocess.Failure(description: "\(script): unexpected first line \(first)")
            }
            return (peer, port)
        } catch {
            peer.stop()
            throw error
        }
    }

    static var buildDirectory: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent()
    }

    static var packageRoot: URL {
        // …/Tests/WSPosixIOTests/Interop/Support/Peers.swift → the package root.
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<5 { url.deleteLastPathComponent() }
        return url
    }

    private static func findOnPath(_ name: String) -> String? {
        for folder in (environment["PATH"] ?? "/usr/bin").split(separator: ":") {
            let path = "\(folder)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }
}
