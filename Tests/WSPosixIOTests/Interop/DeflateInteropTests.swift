// SPDX-License-Identifier: Apache-2.0
import Foundation
import Synchronization
import Testing
import WSDeflate
@testable import WSPosixIO
import WSProtocol

/// permessage-deflate (RFC 7692, ``PerMessageDeflate``) against Python websockets 17.4 with its
/// compression on (Resources/websockets_deflate_echo.py): our client against its server, and
/// its client against our server. Both directions carry compressed frames, so each side
/// inflates what the other deflated.
@Suite("Interop: permessage-deflate with Python websockets", .serialized, .timeLimit(.minutes(1)))
struct DeflateInteropTests {
    static let script = "websockets_deflate_echo.py"

    /// The messages both tests exchange (the same list as the script's `messages()`).
    static let messages: [Message] = [
        .text("héllo wörld ✓ 世界 🎉"), .text(""), .binary([]), .binary([0x00, 0xff, 0x01]),
        .text(String(repeating: "Grüße, 世界! ", count: 60_000)),  // about 1 MiB of UTF-8
        .binary(Pattern.bytes(1 << 20)), .binary([UInt8](repeating: 0, count: 1 << 20)),
        .text("Hello"), .text("Hello"),
    ]

    /// The script's report (peer_common.py's, plus the extension headers).
    struct Report: Decodable {
        var offer: String?
        var extensions: String?
        var received: [PeerReport.Received]?
        var mismatches: [Int]?
        var close_code: Int?
        var error: String?
    }

    /// Server options for the script, and the `Sec-WebSocket-Extensions` answer it should give
    /// to our default offer (`permessage-deflate; client_max_window_bits`).
    static let serverVariants: [([String], String)] = [
        ([], "permessage-deflate; server_max_window_bits=12; client_max_window_bits=12"),
        (["--server-no-context-takeover", "--client-no-context-takeover"],
         "permessage-deflate; server_no_context_takeover; client_no_context_takeover"),
        (["--server-max-window-bits", "9", "--client-max-window-bits", "9"],
         "permessage-deflate; server_max_window_bits=9; client_max_window_bits=9"),
    ]

    @Test("Our client with permessage-deflate against a websockets server with compression",
          .enabled(if: Peers.available(Peers.python)), arguments: 0..<serverVariants.count)
    func ourClientTheirServer(variant: Int) async throws {
        let (arguments, expectedAnswer) = Self.serverVariants[variant]
        let (peer, port) = try await Peers.startServer(Self.script, ["server"] + arguments)
        defer { peer.stop() }
        var configuration = WebSocket.ClientConfiguration()
        configuration.group = Peers.loops
        configuration.extensions = [PerMessageDeflate.negotiator()]
        let ws = try await WebSocket.connect(to: "ws://127.0.0.1:\(port)/deflate", configuration: configuration)
        #expect(ws.response?.headers.first(name: "Sec-WebSocket-Extensions") == expectedAnswer)
        #expect(ws.extensions == ["permessage-deflate"])
        var events = ws.makeAsyncIterator()
        for message in Self.messages {
            try await ws.send(message)
            let echo = try #require(await events.next())
            #expect(echo.message == message, "echo of \(message.kind) (\(message.payloadCount) bytes)")
        }
        try ws.close()
        while await events.next() != nil {}

        let report = try JSONDecoder().decode(Report.self, from: Data(try await peer.nextLine().utf8))
        #expect(report.offer == "permessage-deflate; client_max_window_bits")
        #expect(report.extensions == expectedAnswer)
        #expect(report.received == Self.messages.map(PeerReport.Received.init))
        #expect(report.close_code == 1000)
    }

    @Test("A websockets client with compression against our server accepting permessage-deflate",
          .enabled(if: Peers.available(Peers.python)))
    func theirClientOurServer() async throws {
        let received = Lock<[Message]>([])
        let negotiated = Lock<[String]>([])
        var settings = WebSocketServer.Configuration()
        settings.group = Peers.loops
        let server = try await WebSocketServer.bind(
            host: "127.0.0.1", port: 0, configuration: settings,
            onUpgrade: { @Sendable _ in .accept(extensions: [PerMessageDeflate.negotiator()]) },
            onEvent: { ws, event in
                switch event {
                case .text(let text):
                    received.withLock { $0.append(.text(text)) }
                    negotiated.withLock { $0 = ws.extensions }
                    try? ws.enqueue(.text(text))
                case .binary(let bytes):
                    received.withLock { $0.append(.binary(bytes)) }
                    try? ws.enqueue(.binary(bytes))
                default:
                    break
                }
            })
        let peer = try Peers.startPython(Self.script, ["client", "ws://127.0.0.1:\(server.port)/"])
        defer { peer.stop() }
        let line = try await peer.nextLine(timeout: .seconds(30))
        await server.shutdown(timeout: .seconds(2))
        let report = try JSONDecoder().decode(Report.self, from: Data(line.utf8))
        #expect(report.error == nil, "\(report.error ?? "")")
        // websockets offers "permessage-deflate; client_max_window_bits"; our default answer.
        #expect(report.extensions == "permessage-deflate")
        #expect(report.mismatches == [])
        #expect(report.received == Self.messages.map(PeerReport.Received.init))
        #expect(report.close_code == 1000)
        #expect(received.withLock { $0 } == Self.messages)
        #expect(negotiated.withLock { $0 } == ["permessage-deflate"])
    }
}

private extension Message {
    var payloadCount: Int {
        switch self {
        case .text(let s): return s.utf8.count
        case .binary(let b): return b.count
        }
    }
}
