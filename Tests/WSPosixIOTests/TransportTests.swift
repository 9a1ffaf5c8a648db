// SPDX-License-Identifier: Apache-2.0
import Synchronization
import Testing
import WSPosixIO
import WSProtocol

/// A toy transport: a 4-byte greeting each way, then every byte XORed with a key. It proves the
/// TLS seam: start bytes first, own output polled after unwrap, every byte through wrap/unwrap.
struct XORTransport: Transport {
    static let greeting: [UInt8] = Array("XOR1".utf8)
    static let outputPolls = Atomic<Int>(0)
    var key: UInt8
    var greetingSeen = 0

    mutating func start() throws(WebSocketError) -> [UInt8] { Self.greeting }

    mutating func unwrap(_ wire: UnsafeRawBufferPointer, into plaintext: inout [UInt8]) throws(WebSocketError) {
        var bytes = wire[...]
        while greetingSeen < 4, let b = bytes.first {
            guard b == Self.greeting[greetingSeen] else { throw .invalidArgument("bad greeting") }
            greetingSeen += 1
            bytes = bytes.dropFirst()
        }
        plaintext.append(contentsOf: bytes.map { $0 ^ key })
    }

    mutating func wrap(_ plaintext: UnsafeRawBufferPointer, into wire: inout [UInt8]) throws(WebSocketError) {
        wire.append(contentsOf: plaintext.map { $0 ^ key })
    }

    mutating func takeOutput() -> [UInt8] {
        Self.outputPolls.add(1, ordering: .relaxed)
        return []
    }
}

@Suite("Transport seam (where TLS plugs in)", .timeLimit(.minutes(1)))
struct TransportTests {
    @Test func messagesCrossAnXORTransport() async throws {
        var serverConfig = WebSocketServer.Configuration()
        serverConfig.transport = { XORTransport(key: 0x5A) }
        let server = try await Echo.server(configuration: serverConfig)
        var config = WebSocket.ClientConfiguration()
        config.transport = { XORTransport(key: 0x5A) }
        // With a transport configured, wss:// is accepted: the transport owns the security layer.
        let ws = try await WebSocket.connect(to: "wss://127.0.0.1:\(server.port)/", configuration: config)
        var it = ws.makeAsyncIterator()
        for size in [0, 125, 70_000] {
            let bytes = Echo.bytes(count: size, seed: UInt64(size))
            try await ws.send(binary: bytes)
            #expect(await Echo.nextData(&it) == .binary(bytes))
        }
        try await ws.close()
        let rest = await Echo.drain(&it)
        if case .closed(let info)? = rest.last { #expect(info.code == .normalClosure) } else { Issue.record("\(rest)") }
        #expect(XORTransport.outputPolls.load(ordering: .relaxed) > 0)
        await server.shutdown(timeout: .seconds(1))
    }

    @Test func aPlainClientCannotTalkToAnXORServer() async throws {
        var serverConfig = WebSocketServer.Configuration()
        serverConfig.transport = { XORTransport(key: 0x5A) }
        let server = try await Echo.server(configuration: serverConfig)
        await #expect(throws: WebSocketError.self) {
            _ = try await WebSocket.connect(host: "127.0.0.1", port: server.port)
        }
        await server.shutdown(timeout: .seconds(1))
    }
}
