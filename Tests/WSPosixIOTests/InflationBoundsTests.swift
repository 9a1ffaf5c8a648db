// SPDX-License-Identifier: Apache-2.0
import Synchronization
import Testing
import WSDeflate
@testable import WSPosixIO
@_spi(Testing) import WSProtocol

/// permessage-deflate (RFC 7692) against the inbound budget: what one read completes is
/// inflated at once, so the budget holds only if a read cannot carry much more than it.
@Suite("Inflated bytes against the inbound budget", .timeLimit(.minutes(1)))
struct InflationBoundsTests {
    /// Compressed messages of zeros, one frame each (RSV1 set), from a compressor with context
    /// takeover and 12-bit windows (what `.default` answers): a client's, masked (zero key), or
    /// a server's, unmasked.
    static func compressedZeros(count: Int, size: Int, from role: Role = .client) -> [UInt8] {
        let parameters = role == .client ? PerMessageDeflateParameters(clientMaxWindowBits: 12)
            : PerMessageDeflateParameters(serverMaxWindowBits: 12, clientMaxWindowBits: 12)
        var deflate = PerMessageDeflate(parameters: parameters, role: role, options: .init(compressionLevel: 9))
        let zeros = [UInt8](repeating: 0, count: size)
        var bytes: [UInt8] = []
        for _ in 0..<count {
            let (payload, bits) = deflate.encode(zeros, kind: .binary)
            var frame = BoundsTests.masked(0x2, payload)
            if role == .server {
                frame.removeSubrange(2..<6)  // unmasked: a server's frame
                frame[1] &= 0x7F
            }
            frame[0] |= bits
            bytes += frame
        }
        return bytes
    }

    /// 1,000 messages of 64 KiB of zeros, about 80 bytes each compressed, in one write: every
    /// one of them fits in one 256 KiB read, which inflated them all (50 MB queued for a
    /// handler that takes nothing) before the budget was looked at. Reads are now cut so that
    /// one inflates to about the budget at most: the server stops reading with the budget,
    /// one read's worth of inflated bytes and one message held, the rest left in the kernel.
    /// Also when the messages come in the request's own write: the bytes after the head reach
    /// the new connection at once, so the reads are cut before the handshake too.
    @Test(arguments: [false, true])
    func compressedMessagesInOneWriteStopAtTheBudget(withTheRequest: Bool) async throws {
        var configuration = WebSocketServer.Configuration()
        configuration.compression = .default
        configuration.flowControl = FlowControl(inboundBudget: 64 << 10)
        let release = Signal()
        let server = try await WebSocketServer.bind(port: 0, configuration: configuration) { ws in
            _ = await release.wait()  // takes no event: they stay queued against the budget
            _ = ws
        }
        let size = 64 << 10, count = 1000
        let bytes = Self.compressedZeros(count: count, size: size)
        #expect(bytes.count < 128 << 10, "\(bytes.count) bytes: one read's worth")
        let offer = "permessage-deflate; client_max_window_bits"
        let raw: RawTCP
        if withTheRequest {
            raw = try await RawTCP.connect(server.localAddress)
            let request = "GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                + "Sec-WebSocket-Extensions: \(offer)\r\n\r\n"
            try raw.write(bytes: Array(request.utf8) + bytes)
        } else {
            let (client, head, _) = try await CompressionTests.rawUpgrade(server.localAddress, extensions: offer)
            #expect(head.hasPrefix("HTTP/1.1 101 "))
            #expect(CompressionTests.extensionsHeader(head) == "permessage-deflate; server_max_window_bits=12; client_max_window_bits=12")
            raw = client
            try raw.write(bytes: bytes)
        }
        let highest = try await BoundsTests.settle { server.bufferedBytes }
        let flow = configuration.flowControl
        // A read of `slicedReadSize` bytes inflates to at most 1,032 times as much.
        let bound = flow.inboundBudget + 1032 * Channel.slicedReadSize(flow) + size + ServerContext.accountingGranule
        #expect(highest <= bound, "the server held \(highest) bytes of \(count * size) inflated")
        #expect(highest > flow.inboundBudget, "the counter saw the backlog")
        release.fire()
        await server.shutdown(timeout: .seconds(1))
        _ = raw
    }

    /// The same against a client: a server that answers the handshake with permessage-deflate
    /// and, in the same write, 1,000 messages of 64 KiB of zeros (about 80 bytes each). The
    /// client's reads are cut too (from the start, and once the extension is negotiated): it
    /// stops reading with the budget, one read's worth inflated and one message held.
    @Test func compressedMessagesToAClientStopAtTheBudget() async throws {
        let listener = try SilentListener()
        let size = 64 << 10, count = 1000
        let messages = Self.compressedZeros(count: count, size: size, from: .server)
        #expect(messages.count < 128 << 10, "\(messages.count) bytes: one read's worth")
        let server = Task { () -> RawTCP? in
            guard let raw = try await listener.accept(timeout: .seconds(10)) else { return nil }
            let head = String(decoding: try await raw.read(until: { $0.suffix(4) == Array("\r\n\r\n".utf8) }, timeout: .seconds(5)),
                              as: UTF8.self)
            let key = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("sec-websocket-key: ") }?.dropFirst(19) ?? ""
            let response = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Accept: \(AcceptKey.accept(forKey: String(key)))\r\n"
                + "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=12; client_max_window_bits=12\r\n\r\n"
            try raw.write(bytes: Array(response.utf8) + messages)
            return raw
        }
        var configuration = WebSocket.ClientConfiguration(flowControl: FlowControl(inboundBudget: 64 << 10), compression: .default)
        configuration.connection.keepalive = nil
        let ws = try await WebSocket.connect(to: "ws://127.0.0.1:\(listener.address.port)/", configuration: configuration)
        #expect(ws.extensions == ["permessage-deflate"])
        // Nothing is taken: the events stay queued against the budget.
        let highest = try await BoundsTests.settle { ws.bufferedEventBytes + ws.channel.state.withLock { $0.assembling } }
        let flow = configuration.flowControl
        let bound = flow.inboundBudget + 1032 * Channel.slicedReadSize(flow) + size
        #expect(highest <= bound, "the client held \(highest) bytes of \(count * size) inflated")
        #expect(highest > flow.inboundBudget, "the counter saw the backlog")
        let raw = try await server.value
        try ws.close(code: .normalClosure)
        _ = raw
    }
}
