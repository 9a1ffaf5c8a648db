// SPDX-License-Identifier: Apache-2.0
import Synchronization
import Testing
import WSPosixIO
import WSProtocol

/// A toy transport: a 4-byte greeting each way, then every byte XORed with a key. It proves the
/// TLS seam: start bytes first, own output polled after unwrap, every byte through wrap/unwrap.
struct XORTransport: Transport {
    /// What one side's transport saw (each side of each test has its own).
    final class Record: Sendable {
        let outputPolls = Atomic<Int>(0)
        let wrapped = Atomic<Int>(0)
        let unwrapped = Atomic<Int>(0)
    }

    static let greeting: [UInt8] = Array("XOR1".utf8)
    var key: UInt8
    let record: Record
    var greetingSeen = 0

    mutating func start() throws(WebSocketError) -> [UInt8] { Self.greeting }

    mutating func unwrap(_ wire: UnsafeRawBufferPointer, into plaintext: inout [UInt8]) throws(WebSocketError) {
        var bytes = wire[...]
        while greetingSeen < 4, let b = bytes.first {
            guard b == Self.greeting[greetingSeen] else { throw .invalidArgument("bad greeting") }
            greetingSeen += 1
            bytes = bytes.dropFirst()
        }
        record.unwrapped.add(bytes.count, ordering: .relaxed)
        plaintext.append(contentsOf: bytes.map { $0 ^ key })
    }

    mutating func wrap(_ plaintext: UnsafeRawBufferPointer, into wire: inout [UInt8]) throws(WebSocketError) {
        record.wrapped.add(plaintext.count, ordering: .relaxed)
        wire.append(contentsOf: plaintext.map { $0 ^ key })
    }

    mutating func takeOutput() -> [UInt8] {
        record.outputPolls.add(1, ordering: .relaxed)
        return []
    }
}

@Suite("Transport seam (where TLS plugs in)", .timeLimit(.minutes(1)))
struct TransportTests {
    @Test func messagesCrossAnXORTransport() async throws {
        let serverSide = XORTransport.Record(), clientSide = XORTransport.Record()
        var serverConfig = WebSocketServer.Configuration()
        serverConfig.transport = { _ in XORTransport(key: 0x5A, record: serverSide) }
        let server = try await Echo.server(configuration: serverConfig)
        var config = WebSocket.ClientConfiguration()
        config.transport = { _ in XORTransport(key: 0x5A, record: clientSide) }
        // With a transport configured, wss:// is accepted: the transport owns the security layer.
        let ws = try await WebSocket.connect(to: "wss://127.0.0.1:\(server.port)/", configuration: config)
        var it = ws.makeAsyncIterator()
        var payload = 0
        for size in [0, 125, 70_000] {
            let bytes = Echo.bytes(count: size, seed: UInt64(size))
            try await ws.send(.binary(bytes))
            #expect(await Echo.nextData(&it) == .binary(bytes))
            payload += size
        }
        try ws.close()
        let rest = await Echo.drain(&it)
        #expect(rest.count == 1)
        guard case .closed(let info)? = rest.last else { Issue.record("no close: \(rest)"); return }
        #expect(info.code == .normalClosure && info.isClean)
        // Every byte went through the transport both ways: the handshake and the frames, more
        // than the payloads alone; the driver polled the transport for its own output.
        #expect(clientSide.wrapped.load(ordering: .relaxed) > payload)
        #expect(clientSide.unwrapped.load(ordering: .relaxed) > payload)
        #expect(serverSide.wrapped.load(ordering: .relaxed) == clientSide.unwrapped.load(ordering: .relaxed))
        #expect(clientSide.outputPolls.load(ordering: .relaxed) > 0)
        #expect(serverSide.outputPolls.load(ordering: .relaxed) > 0)
        await server.shutdown(timeout: .seconds(1))
    }

    /// A plain client reads the XOR server's greeting where the HTTP response should be, and
    /// the server drops it at the first byte that is not the greeting: the handshake fails with
    /// a response that is not HTTP at its first byte (not a timeout, nor anything else).
    @Test func aPlainClientCannotTalkToAnXORServer() async throws {
        let serverSide = XORTransport.Record()
        var serverConfig = WebSocketServer.Configuration()
        serverConfig.transport = { _ in XORTransport(key: 0x5A, record: serverSide) }
        let server = try await Echo.server(configuration: serverConfig)
        var config = WebSocket.ClientConfiguration()
        config.handshakeTimeout = .seconds(20)
        await #expect(throws: WebSocketError.handshakeFailed(.malformedHead("invalid HTTP version"))) {
            _ = try await WebSocket.connect(host: "127.0.0.1", port: server.port, configuration: config)
        }
        #expect(serverSide.unwrapped.load(ordering: .relaxed) == 0)
        await server.shutdown(timeout: .seconds(1))
    }

    /// At the connection cap a server with a transport that has no refusal of its own closes
    /// without a word: a 503 in the clear is nothing the transport's peer could read.
    @Test func atTheCapATransportWithoutARefusalClosesSilently() async throws {
        let serverSide = XORTransport.Record()
        var serverConfig = WebSocketServer.Configuration()
        serverConfig.transport = { _ in XORTransport(key: 0x5A, record: serverSide) }
        serverConfig.maxConnections = 1
        let server = try await Echo.server(configuration: serverConfig)
        var config = WebSocket.ClientConfiguration()
        config.transport = { _ in XORTransport(key: 0x5A, record: XORTransport.Record()) }
        let first = try await WebSocket.connect(to: "wss://127.0.0.1:\(server.port)/", configuration: config)
        let raw = try await RawTCP.connect(server.localAddress)
        let (bytes, sawEOF) = try await raw.readToEnd(timeout: .seconds(5))
        #expect(bytes == [])
        #expect(sawEOF)
        #expect(server.connectionCount == 1)
        try first.close()
        var it = first.makeAsyncIterator()
        _ = await Echo.drain(&it)
        await server.shutdown(timeout: .seconds(1))
    }
}
