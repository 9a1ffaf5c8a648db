// SPDX-License-Identifier: Apache-2.0
import Synchronization
import Testing
import WSDeflate
@testable import WSPosixIO
import WSProtocol

/// permessage-deflate (RFC 7692) as one setting: `ClientConfiguration.compression` and
/// `WebSocketServer.Configuration.compression`, and one message sent uncompressed.
@Suite("WSPosixIO permessage-deflate setting", .timeLimit(.minutes(1)))
struct CompressionTests {
    /// A raw client: sends an upgrade request offering `extensions` (nil: no header) and
    /// returns the response head and whatever bytes followed it.
    static func rawUpgrade(_ address: SocketAddress, extensions: String?) async throws -> (RawTCP, String, [UInt8]) {
        let raw = try await RawTCP.connect(address)
        var request = "GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        if let extensions { request += "Sec-WebSocket-Extensions: \(extensions)\r\n" }
        try raw.write(request + "\r\n")
        let end: [UInt8] = Array("\r\n\r\n".utf8)
        func headEnd(_ bytes: [UInt8]) -> Int? {
            guard bytes.count >= 4 else { return nil }
            return (0...(bytes.count - 4)).first { bytes[$0..<($0 + 4)].elementsEqual(end) }
        }
        let bytes = try await raw.read(until: { headEnd($0) != nil }, timeout: .seconds(10))
        let cut = try #require(headEnd(bytes)) + 4
        return (raw, String(decoding: bytes[..<cut], as: UTF8.self), Array(bytes[cut...]))
    }

    /// The `Sec-WebSocket-Extensions` value of a response head (nil when absent).
    static func extensionsHeader(_ head: String) -> String? {
        let prefix = "sec-websocket-extensions: "
        for line in head.split(separator: "\r\n") where line.lowercased().hasPrefix(prefix) {
            return String(line.dropFirst(prefix.count))
        }
        return nil
    }

    @Test func clientAndServerCompressWithOneSettingEach() async throws {
        var serverConfiguration = WebSocketServer.Configuration()
        serverConfiguration.compression = .default
        let offered = Lock<String?>(nil)
        let server = try await WebSocketServer.bind(port: 0, configuration: serverConfiguration) { ws in
            offered.withLock { $0 = ws.request?.headers.first(name: "Sec-WebSocket-Extensions") }
            for await event in ws { if case .text(let t) = event { try? await ws.send(.text(t)) } }
        }
        var configuration = WebSocket.ClientConfiguration()
        configuration.compression = .default
        let ws = try await WebSocket.connect(address: server.localAddress, configuration: configuration)
        #expect(ws.extensions == ["permessage-deflate"])
        #expect(ws.response?.headers.first(name: "Sec-WebSocket-Extensions")
                == "permessage-deflate; server_max_window_bits=12; client_max_window_bits=12")
        let text = String(repeating: #"{"id": 17, "name": "widget", "tags": ["a", "b"]}, "#, count: 1500)
        try await ws.send(.text(text))
        var iterator = ws.makeAsyncIterator()
        #expect(await Echo.nextData(&iterator) == .text(text))
        #expect(offered.withLock { $0 } == "permessage-deflate; server_max_window_bits=12; client_max_window_bits=12")
        try ws.close()
        _ = await Echo.drain(&iterator)
        await server.shutdown(timeout: .seconds(1))
    }

    /// The memory the default setting costs (Docs/Deflate.md): nothing until the first message,
    /// then zlib's buffers for windows of 2^12 and memLevel 5 (32,768 + 4,096 bytes) plus each
    /// stream's state (a few KiB, depending on the zlib version).
    @Test func theDefaultSettingHoldsSmallZlibBuffers() async throws {
        var serverConfiguration = WebSocketServer.Configuration()
        serverConfiguration.compression = .default
        let server = try await Echo.server(configuration: serverConfiguration)
        var configuration = WebSocket.ClientConfiguration()
        configuration.compression = .default
        let ws = try await WebSocket.connect(address: server.localAddress, configuration: configuration)
        func zlibBytes() -> Int? {
            ws.channel.state.withLock { st in
                st.lifecycle.withConnection(&st.outbound) { c, _ in (c.extensions.first as? PerMessageDeflate)?.memoryInUse } ?? nil
            }
        }
        #expect(zlibBytes() == 0)
        try await ws.send(.text(String(repeating: "compressible ", count: 100)))
        var iterator = ws.makeAsyncIterator()
        #expect(await Echo.nextData(&iterator) == .text(String(repeating: "compressible ", count: 100)))
        let bytes = try #require(zlibBytes())
        #expect(bytes - (32_768 + 4_096) >= 0 && bytes - (32_768 + 4_096) < 14_000, "zlib holds \(bytes) bytes")
        try ws.close()
        _ = await Echo.drain(&iterator)
        await server.shutdown(timeout: .seconds(1))
    }

    @Test func withoutTheSettingNothingIsOfferedOrAccepted() async throws {
        let server = try await Echo.server()
        let (raw, head, _) = try await Self.rawUpgrade(server.localAddress, extensions: "permessage-deflate")
        #expect(head.hasPrefix("HTTP/1.1 101 "))
        #expect(Self.extensionsHeader(head) == nil)
        _ = raw
        let ws = try await WebSocket.connect(address: server.localAddress)
        #expect(ws.extensions == [])
        await server.shutdown(timeout: .seconds(1))
    }

    /// Every parameter a client may offer (RFC 7692 §7.1), answered with the default setting
    /// (both windows at most 2^12).
    @Test(arguments: [
        ("permessage-deflate", "permessage-deflate; server_max_window_bits=12"),
        ("permessage-deflate; client_max_window_bits",
         "permessage-deflate; server_max_window_bits=12; client_max_window_bits=12"),
        ("permessage-deflate; client_max_window_bits=10",
         "permessage-deflate; server_max_window_bits=12; client_max_window_bits=10"),
        ("permessage-deflate; client_max_window_bits=15",
         "permessage-deflate; server_max_window_bits=12; client_max_window_bits=12"),
        ("permessage-deflate; server_max_window_bits=9", "permessage-deflate; server_max_window_bits=9"),
        ("permessage-deflate; server_max_window_bits=15", "permessage-deflate; server_max_window_bits=12"),
        ("permessage-deflate; server_no_context_takeover",
         "permessage-deflate; server_no_context_takeover; server_max_window_bits=12"),
        ("permessage-deflate; client_no_context_takeover",
         "permessage-deflate; client_no_context_takeover; server_max_window_bits=12"),
        ("permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=8; client_max_window_bits=8",
         "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=8; client_max_window_bits=8"),
        // An invalid offer is declined and the next one accepted (RFC 7692 §5, §7).
        ("permessage-deflate; server_max_window_bits=7, permessage-deflate; client_max_window_bits",
         "permessage-deflate; server_max_window_bits=12; client_max_window_bits=12"),
        ("permessage-deflate; unknown_parameter", nil),
    ] as [(String, String?)])
    func serverAnswersEveryOfferParameter(offer: String, answer: String?) async throws {
        var configuration = WebSocketServer.Configuration()
        configuration.compression = .default
        let server = try await Echo.server(configuration: configuration)
        let (raw, head, _) = try await Self.rawUpgrade(server.localAddress, extensions: offer)
        #expect(head.hasPrefix("HTTP/1.1 101 "))
        #expect(Self.extensionsHeader(head) == answer)
        _ = raw
        await server.shutdown(timeout: .seconds(1))
    }

    /// One message sent uncompressed (RSV1 clear) between two compressed ones, which keep
    /// their shared context (RFC 7692 §6.1, §7.2.3.2), through the async API and through an
    /// event handler's `enqueue`.
    @Test(arguments: [false, true])
    func oneMessageGoesOutUncompressed(inline: Bool) async throws {
        var configuration = WebSocketServer.Configuration()
        configuration.compression = .default
        let server: WebSocketServer
        if inline {
            server = try await WebSocketServer.bind(port: 0, configuration: configuration, onEvent: { ws, event in
                guard case .text = event else { return }
                try? ws.enqueue(.text("Hello"))
                try? ws.enqueue(.text("Hello"), compress: false)
                try? ws.enqueue(.text("Hello"), compress: true)
            })
        } else {
            server = try await WebSocketServer.bind(port: 0, configuration: configuration) { ws in
                for await event in ws {
                    guard case .text = event else { continue }
                    try? await ws.send(.text("Hello"))
                    try? await ws.send(.text("Hello"), compress: false)
                    try? await ws.send(.text("Hello"))
                }
            }
        }
        let (raw, head, early) = try await Self.rawUpgrade(server.localAddress, extensions: "permessage-deflate")
        #expect(Self.extensionsHeader(head) == "permessage-deflate; server_max_window_bits=12")
        #expect(early.isEmpty)
        try raw.write(bytes: [0x81, 0x82, 0, 0, 0, 0, 0x67, 0x6F])  // "go", masked with a zero key, uncompressed
        let expected: [UInt8] = [0xC1, 0x07, 0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00,
                                 0x81, 0x05, 0x48, 0x65, 0x6C, 0x6C, 0x6F,
                                 0xC1, 0x05, 0xF2, 0x00, 0x11, 0x00, 0x00]
        let bytes = try await raw.read(until: { $0.count >= expected.count }, timeout: .seconds(10))
        #expect(bytes == expected)
        await server.shutdown(timeout: .seconds(1))
    }
}
