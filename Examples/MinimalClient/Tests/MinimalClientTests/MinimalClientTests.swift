// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import MinimalClient
import Testing
import WSProtocol

/// The minimal client against the real `ws serve` (started per test on a free port), and the
/// driver guide's line references into its source.
@Suite("MinimalClient against ws serve", .serialized, .timeLimit(.minutes(1)))
struct MinimalClientTests {
    @Test("Text and binary messages come back from /echo, byte for byte (a 1 MiB one over many reads)")
    func echo() throws {
        let serve = try WSServe()
        defer { serve.stop() }
        var client = try MinimalClient(url: "ws://127.0.0.1:\(serve.port)/echo")
        let big = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try client.send(.text("héllo ✓ 世界"))
        try client.send(.binary([0, 1, 254, 255]))
        try client.send(.binary(big))
        #expect(try client.nextEvent() == .message(.text("héllo ✓ 世界")))
        #expect(try client.nextEvent() == .message(.binary([0, 1, 254, 255])))
        #expect(try client.nextEvent() == .message(.binary(big)))
    }

    @Test("A ping is answered by a pong with the same payload")
    func pingPong() throws {
        let serve = try WSServe()
        defer { serve.stop() }
        var client = try MinimalClient(url: "ws://127.0.0.1:\(serve.port)/echo")
        try client.ping([7, 8, 9])
        #expect(try client.nextEvent() == .pong([7, 8, 9]))
    }

    @Test("Our close: the server echoes 4001, closes TCP, and the client reports the clean handshake")
    func clientCloses() throws {
        let serve = try WSServe()
        defer { serve.stop() }
        var client = try MinimalClient(url: "ws://127.0.0.1:\(serve.port)/echo")
        try client.close(code: CloseCode(4001), reason: "done")
        var events: [Event] = []
        while let event = try client.nextEvent() { events.append(event) }
        let peer = CloseFrame(code: CloseCode(4001))  // the server echoes the code only
        #expect(events == [.closeReceived(peer), .closed(.handshakeCompleted(peer: peer, initiatedLocally: true))])
        #expect(throws: MinimalClient.Failure.usage(.sendAfterClose)) { try client.send(.text("late")) }
    }

    @Test("The server's close (SIGTERM: 1001) is answered and reported")
    func serverCloses() throws {
        let serve = try WSServe()
        defer { serve.stop() }
        var client = try MinimalClient(url: "ws://127.0.0.1:\(serve.port)/echo")
        try client.send(.text("first"))
        #expect(try client.nextEvent() == .message(.text("first")))
        serve.terminate()
        var events: [Event] = []
        while let event = try client.nextEvent() { events.append(event) }
        let peer = CloseFrame(code: .goingAway, reason: "server shutdown")
        #expect(events == [.closeReceived(peer), .closed(.handshakeCompleted(peer: peer, initiatedLocally: false))])
    }

    @Test("A refused upgrade throws the server's status (404 for an unknown path)")
    func refused() throws {
        let serve = try WSServe()
        defer { serve.stop() }
        let error = #expect(throws: MinimalClient.Failure.self) {
            _ = try MinimalClient(url: "ws://127.0.0.1:\(serve.port)/nowhere")
        }
        guard case .handshake(.refused(let status, _, _, let body))? = error else {
            Issue.record("expected a refusal, got \(String(describing: error))")
            return
        }
        #expect(status == 404)
        #expect(String(decoding: body, as: UTF8.self) == "No WebSocket endpoint at /nowhere; try /echo or /chat.\n")
    }

    @Test("A server that never answers: the handshake deadline from the core ends the wait")
    func handshakeTimeout() throws {
        let (listener, port) = try silentListener()
        defer { close(listener) }
        let start = ContinuousClock.now
        #expect(throws: MinimalClient.Failure.handshake(.timedOut)) {
            _ = try MinimalClient(url: "ws://127.0.0.1:\(port)/", handshakeTimeout: .milliseconds(300))
        }
        #expect(ContinuousClock.now - start >= .milliseconds(300))
    }

    @Test("Nothing listening: connect fails with ECONNREFUSED")
    func connectionRefused() throws {
        let (listener, port) = try silentListener()
        close(listener)  // the port is now free and nobody listens
        #expect(throws: MinimalClient.Failure.system(operation: "connect", errno: ECONNREFUSED)) {
            _ = try MinimalClient(url: "ws://127.0.0.1:\(port)/")
        }
    }

    @Test("Every `MinimalClient.swift:N (step …)` reference in WritingADriver.md points at that step's line")
    func guideReferences() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let guide = try String(contentsOf: root.appendingPathComponent("../../Sources/WSProtocol/Docs.docc/WritingADriver.md"),
                               encoding: .utf8)
        let source = try String(contentsOf: root.appendingPathComponent("Sources/MinimalClient/MinimalClient.swift"),
                                encoding: .utf8)
        let lines = source.split(separator: "\n", omittingEmptySubsequences: false)
        let references = guide.matches(of: /MinimalClient\.swift:(\d+)`? \(([^)]+)\)/)
        #expect(references.count >= 8)
        for reference in references {
            let number = Int(reference.output.1)!
            let marker = String(reference.output.2)
            try #require(number >= 1 && number <= lines.count, "line \(number) is past the end")
            #expect(lines[number - 1].localizedCaseInsensitiveContains(marker),
                    "MinimalClient.swift:\(number) should contain “\(marker)”: \(lines[number - 1])")
        }
    }
}

/// `ws serve --port 0` from the root package's build (or `WS_BINARY`), stopped by ``stop()``.
final class WSServe {
    let process = Process()
    let port: Int

    init() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("../..").standardized
        let binary = ProcessInfo.processInfo.environment["WS_BINARY"] ?? root.appendingPathComponent(".build/debug/ws").path
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw Failure(description: "no ws binary at \(binary): build the root package first (Scripts/test does)")
        }
        let output = Pipe()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["serve", "--host", "127.0.0.1", "--port", "0"]
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        var text = ""
        while !text.contains("\n") {
            let data = output.fileHandleForReading.availableData
            if data.isEmpty { break }  // the server exited
            text += String(decoding: data, as: UTF8.self)
        }
        let prefix = "listening on ws://127.0.0.1:"
        guard text.hasPrefix(prefix), let port = Int(text.dropFirst(prefix.count).prefix { $0.isNumber }) else {
            process.terminate()
            throw Failure(description: "ws serve said: \(text)")
        }
        self.port = port
    }

    /// SIGTERM: the server closes every connection with 1001, then exits.
    func terminate() { process.terminate() }

    func stop() {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
    }

    struct Failure: Error, CustomStringConvertible { var description: String }
}

/// A listening socket on a free loopback port that never accepts: the kernel completes the TCP
/// handshake, and nothing ever answers.
func silentListener() throws -> (Int32, Int) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
            bind(fd, pointer, length) == 0 && listen(fd, 8) == 0 && getsockname(fd, pointer, &length) == 0
        }
    }
    guard fd >= 0, bound else { throw WSServe.Failure(description: "cannot listen: errno \(errno)") }
    return (fd, Int(UInt16(bigEndian: address.sin_port)))
}
