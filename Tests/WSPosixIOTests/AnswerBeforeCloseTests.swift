// SPDX-License-Identifier: Apache-2.0
import Synchronization
import Testing
@testable import WSPosixIO
import WSProtocol

/// Answers before the close over real sockets: a scripted client writes a text message and a
/// frame that breaks RFC 6455 (or a close frame) with ONE write; the echo server must send the
/// echo before its close frame, with the event handler on the loop thread and with the async API.
@Suite("WSPosixIO answers before the close", .timeLimit(.minutes(1)))
struct AnswerBeforeCloseSocketTests {
    /// A client frame masked with the key 00 00 00 00 (so the payload reads as sent).
    static func frame(_ first: UInt8, _ payload: [UInt8], masked: Bool = true) -> [UInt8] {
        precondition(payload.count < 126 || !masked || payload.count == 126)
        var bytes: [UInt8] = [first]
        if payload.count < 126 {
            bytes.append((masked ? 0x80 : 0) | UInt8(payload.count))
        } else {
            bytes += [(masked ? 0x80 : 0) | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        }
        if masked { bytes += [0, 0, 0, 0] }
        return bytes + payload
    }

    static func close(_ code: UInt16, _ reason: String) -> [UInt8] {
        let payload = [UInt8(code >> 8), UInt8(code & 0xFF)] + Array(reason.utf8)
        return [0x88, UInt8(payload.count)] + payload
    }

    static let protocolError = close(1002, "protocol error")
    static let invalidUTF8 = close(1007, "invalid UTF-8")

    /// The frame after "hi" in the same write, and the close frame the server must end with.
    static let cases: [(String, [UInt8], [UInt8])] = [
        ("RSV1 without an extension (3.2)", frame(0xC1, [0x78]), protocolError),
        ("reserved data opcode 3 (4.1.1)", frame(0x83, []), protocolError),
        ("reserved data opcode 4 with payload (4.1.3)", frame(0x84, [0x78]), protocolError),
        ("reserved control opcode 0xB (4.2.3)", frame(0x8B, []), protocolError),
        ("unmasked client frame", frame(0x81, [0x78], masked: false), protocolError),
        ("control frame over 125 bytes (2.5)", frame(0x89, Array(repeating: 1, count: 126)), protocolError),
        ("fragmented ping (5.1)", frame(0x09, [1]), protocolError),
        ("continuation without a start (5.15)", frame(0x80, [0x78]), protocolError),
        ("text that is not UTF-8 (6.x)", frame(0x81, [0x68, 0xC0, 0x80]), invalidUTF8),
        ("close code 1005 on the wire (7.9.x)", frame(0x88, [0x03, 0xED]), protocolError),
        ("one-byte close payload (7.3.2)", frame(0x88, [0x03]), protocolError),
        ("close reason that is not UTF-8 (7.5.1)", frame(0x88, [0x03, 0xE8, 0xFF]), invalidUTF8),
        ("a clean close 1000 (7.1.1)", frame(0x88, [0x03, 0xE8]), close(1000, "")),
    ]

    /// The echo servers: `event` answers on the loop thread (`onEvent`), `message` with the
    /// message handler (messages borrowed in place, `onMessage`), `async` with a task per
    /// connection iterating the events (`onConnection`). The answer timeout is a minute, so a
    /// close held for answers that the server never reports answered does not come within the
    /// reads' 20 s: each must release it as soon as its echo is queued.
    static func echoServer(_ kind: String) async throws -> WebSocketServer {
        var configuration = WebSocketServer.Configuration()
        configuration.connection.answerTimeout = .seconds(60)
        switch kind {
        case "event":
            return try await WebSocketServer.bind(port: 0, configuration: configuration, onEvent: { ws, event in
                if case .text(let t) = event { try? ws.enqueue(.text(t)) }
            })
        case "message":
            return try await WebSocketServer.bind(port: 0, configuration: configuration, onMessage: { ws, kind, bytes in
                try? ws.enqueue(kind, bytes: bytes)
            }, onEvent: { _, _ in })
        default:
            return try await Echo.server(configuration: configuration)
        }
    }

    @Test("A message and a violation (or a close) in one write: the echo precedes the close frame",
          arguments: ["event", "message", "async"], cases.map { $0 })
    func echoPrecedesTheCloseFrame(server kind: String, testCase: (String, [UInt8], [UInt8])) async throws {
        let (name, violation, closeFrame) = testCase
        let server = try await Self.echoServer(kind)
        let (raw, head, early) = try await CompressionTests.rawUpgrade(server.localAddress, extensions: nil)
        #expect(head.hasPrefix("HTTP/1.1 101 "))
        #expect(early.isEmpty)
        try raw.write(bytes: Self.frame(0x81, Array("hi".utf8)) + violation)
        let (bytes, eof) = try await raw.readToEnd(timeout: .seconds(20))
        #expect(bytes == [0x81, 0x02, 0x68, 0x69] + closeFrame, "\(name), \(kind) server")
        #expect(eof)
        await server.shutdown(timeout: .seconds(1))
    }

    @Test("Without a message before it, a violation is answered at once", arguments: ["event", "message", "async"])
    func violationAloneClosesAtOnce(server kind: String) async throws {
        let server = try await Self.echoServer(kind)
        let (raw, _, _) = try await CompressionTests.rawUpgrade(server.localAddress, extensions: nil)
        try raw.write(bytes: Self.frame(0x83, []))
        let (bytes, eof) = try await raw.readToEnd(timeout: .seconds(20))
        #expect(bytes == Self.protocolError)
        #expect(eof)
        await server.shutdown(timeout: .seconds(1))
    }

    @Test("A consumer that never comes back: the answer timeout sends the close")
    func answerTimeoutBoundsTheWait() async throws {
        var configuration = WebSocketServer.Configuration()
        configuration.connection.answerTimeout = .milliseconds(200)
        let server = try await WebSocketServer.bind(port: 0, configuration: configuration) { ws in
            var iterator = ws.makeAsyncIterator()
            if case .text(let t) = await iterator.next() { try? await ws.send(.text(t)) }
            try? await Task.sleep(for: .seconds(30))  // holds the handle; never asks again
            _ = ws
        }
        let (raw, _, _) = try await CompressionTests.rawUpgrade(server.localAddress, extensions: nil)
        let start = MonotonicClock.now()
        try raw.write(bytes: Self.frame(0x81, Array("hi".utf8)) + Self.frame(0x83, []))
        let (bytes, eof) = try await raw.readToEnd(timeout: .seconds(20))
        #expect(bytes == [0x81, 0x02, 0x68, 0x69] + Self.protocolError)
        #expect(eof)
        #expect(MonotonicClock.now().nanoseconds - start.nanoseconds >= 150_000_000)
        await server.shutdown(timeout: .seconds(1))
    }

    /// `ws serve` logs each connection's end from `closeInfo` once its loop has taken `.closed`:
    /// a clean close that came in one read with a message (`echo hi | ws connect URL`) was
    /// logged as 1006, `closeInfo` being `nil` until the loop closed the socket after the
    /// answered close.
    @Test("A close held for answers: closeInfo is the .closed event's once the handler has it")
    func closeInfoOnceClosedIsTaken() async throws {
        let seen = Lock<(event: CloseInfo?, property: CloseInfo?)>((nil, nil))
        let done = Signal()
        var configuration = WebSocketServer.Configuration()
        configuration.connection.answerTimeout = .seconds(60)
        let server = try await WebSocketServer.bind(port: 0, configuration: configuration) { ws in
            for await event in ws {
                switch event {
                case .text(let t): try? await ws.send(.text(t))
                case .closed(let info): seen.withLock { $0 = (info, ws.closeInfo) }
                default: break
                }
            }
            done.fire()
        }
        let (raw, _, _) = try await CompressionTests.rawUpgrade(server.localAddress, extensions: nil)
        try raw.write(bytes: Self.frame(0x81, Array("hi".utf8)) + Self.frame(0x88, [0x03, 0xE8]))
        let (bytes, eof) = try await raw.readToEnd(timeout: .seconds(20))
        #expect(bytes == [0x81, 0x02, 0x68, 0x69] + Self.close(1000, ""))
        #expect(eof)
        #expect(await done.wait())
        let (event, property) = seen.withLock { $0 }
        #expect(event?.code == .normalClosure)
        #expect(property == event)
        await server.shutdown(timeout: .seconds(1))
    }
}
