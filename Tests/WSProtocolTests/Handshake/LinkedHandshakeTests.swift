// SPDX-License-Identifier: Apache-2.0
import Testing
import WSProtocol
import WSTestSupport

/// A client and a server handshake joined in memory, then their connections.
private struct LinkedHandshake {
    var client: Connection
    var server: Connection
    var clientLeftover: [UInt8]
    var serverLeftover: [UInt8]
    var request: UpgradeRequest

    /// Runs both handshakes, cutting every transfer into `chunk`-byte reads (nil: whole).
    /// `serverFirst` is sent by the server right after its 101, in the same write.
    static func run(options: ClientHandshake.Options, entropy: any RandomNumberGenerator & Sendable = ScriptedRNG.rfcNonce,
                    subprotocol: String? = nil, serverExtensions: [any ExtensionNegotiator] = [],
                    clientFirst: [UInt8] = [], serverFirst: Message? = nil, chunk: Int? = nil) throws -> LinkedHandshake {
        var hs = try ClientHandshake(options: options, now: .zero, entropy: entropy)
        var server = ServerHandshake(now: .zero)
        var request: UpgradeRequest? = nil
        for piece in cut(hs.requestBytes + clientFirst, chunk) {
            if request == nil, case .upgradeRequest(let r) = server.receive(piece, now: .zero) { request = r }
            else if request != nil { _ = server.receive(piece, now: .zero) }
        }
        let r = try #require(request)
        var (response, serverConnection, serverLeftover) = try server.accept(
            r, subprotocol: subprotocol ?? r.subprotocols.first, extensions: serverExtensions, now: .zero)
        if let serverFirst { try serverConnection.send(serverFirst, now: .zero, into: &response) }
        var connected: (Connection, [UInt8])? = nil
        for piece in cut(response, chunk) {
            if let (c, rest) = connected { connected = (c, rest + piece); continue }
            switch hs.receive(piece, now: .zero) {
            case .needMoreData: continue
            case .connected(let c, let leftover, _): connected = (c, leftover)
            case .failed(let e): Issue.record("client failed: \(e)"); throw e
            }
        }
        let (clientConnection, clientLeftover) = try #require(connected)
        return LinkedHandshake(client: clientConnection, server: serverConnection, clientLeftover: clientLeftover,
                               serverLeftover: serverLeftover, request: r)
    }

    static func cut(_ bytes: [UInt8], _ chunk: Int?) -> [[UInt8]] {
        guard let chunk else { return [bytes] }
        return stride(from: 0, to: bytes.count, by: chunk).map { Array(bytes[$0..<min($0 + chunk, bytes.count)]) }
    }

    /// A ``LinkedPair`` over the two connections, with the leftovers already pending.
    var pair: LinkedPair {
        var p = LinkedPair()
        p.client = client; p.server = server
        p.toClient = clientLeftover; p.toServer = serverLeftover
        return p
    }
}

@Suite("RFC 6455 §4 Opening handshake, client and server linked")
struct LinkedHandshakeTests {
    static let options = ClientHandshake.Options(host: "localhost", port: 8080, resource: "/echo", subprotocols: ["chat", "superchat"])

    @Test("Handshake then messages both ways, with every chunk size 1–16")
    func roundTrip() throws {
        for chunk in [nil] + Array(1...16) as [Int?] {
            var pair = try LinkedHandshake.run(options: Self.options, chunk: chunk).pair
            #expect(pair.client.subprotocol == "chat")
            #expect(pair.server.subprotocol == "chat")
            pair.chunkSize = chunk
            try pair.client { (c, now) throws(UsageError) in try c.send(.text("Hello"), now: now) }
            try pair.server { (c, now) throws(UsageError) in try c.send(.binary([1, 2, 3]), now: now) }
            pair.pump()
            #expect(pair.serverEvents == [Event.message(.text("Hello"))])
            #expect(pair.clientEvents == [Event.message(.binary([1, 2, 3]))])
        }
    }

    @Test("The client's first frame after the handshake is pinned by the generator (RFC 6455 §5.7)")
    func goldenFirstFrame() throws {
        let rng = ScriptedRNG(bytes: Array("the sample nonce".utf8) + [0x37, 0xfa, 0x21, 0x3d, 0, 0, 0, 0])
        var linked = try LinkedHandshake.run(options: Self.options, entropy: rng)
        #expect(linked.request.key == "dGhlIHNhbXBsZSBub25jZQ==")
        let out = try linked.client.send(.text("Hello"), now: .zero)
        #expect(out == [.write([0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58])])
    }

    @Test("Frames in the same read as the 101 are handed over as leftover, never dropped")
    func serverFramesWithThe101() throws {
        for chunk in [nil, 1, 7, 13] as [Int?] {
            var linked = try LinkedHandshake.run(options: Self.options, serverFirst: .text("early"), chunk: chunk)
            #expect(linked.clientLeftover == [0x81, 0x05] + Array("early".utf8))
            #expect(linked.client.receive(linked.clientLeftover, now: .zero) == [.deliver(.message(.text("early")))])
        }
    }

    @Test("Frames a client sends right behind its request reach the server connection")
    func clientFramesBehindTheRequest() throws {
        let frame = Wire.client(.binary, [9, 9])
        var linked = try LinkedHandshake.run(options: Self.options, clientFirst: frame, chunk: 5)
        #expect(linked.serverLeftover == frame)
        #expect(linked.server.receive(linked.serverLeftover, now: .zero) == [.deliver(.message(.binary([9, 9])))])
    }

    @Test("No subprotocol offered or chosen: both connections have none")
    func noSubprotocol() throws {
        let linked = try LinkedHandshake.run(options: .init(host: "localhost"))
        #expect(linked.client.subprotocol == nil)
        #expect(linked.server.subprotocol == nil)
        #expect(linked.request.subprotocols == [])
    }

    @Test("A negotiated extension's RSV bit is accepted by the frame parser; without negotiation it fails the connection")
    func negotiatedReservedBits() throws {
        let marker = MarkerNegotiator(name: "x-marker", reservedBits: 0x20)
        var options = Self.options
        options.extensions = [marker]
        var linked = try LinkedHandshake.run(options: options, serverExtensions: [marker])
        #expect(linked.request.extensions == [ExtensionOffer(name: "x-marker")])
        #expect(linked.client.extensions.map(\.name) == ["x-marker"])
        #expect(linked.server.extensions.map(\.name) == ["x-marker"])
        let frame = try linked.server.send(.text("rsv2"), now: .zero)
        #expect(frame == [.write([0x81 | 0x20, 0x04] + Array("rsv2".utf8))])
        guard case .write(let bytes)? = frame.first else { return }
        #expect(linked.client.receive(bytes, now: .zero) == [.deliver(.message(.text("rsv2")))])

        // The same frame without the extension negotiated (server declined it).
        var plain = try LinkedHandshake.run(options: options, serverExtensions: [])
        #expect(plain.client.extensions.isEmpty)
        let outputs = plain.client.receive(bytes, now: .zero)
        #expect(outputs.contains(.deliver(.closed(.protocolError(.reservedBitsSet(0x20))))))
    }

    @Test("permessage-deflate parameters negotiated end to end reach both factories")
    func deflateNegotiated() throws {
        var options = Self.options
        options.extensions = [PerMessageDeflateNegotiator.recording(.init(clientNoContextTakeover: true))]
        let server = PerMessageDeflateNegotiator.recording(.init(serverMaxWindowBits: 10, clientMaxWindowBits: 12))
        let linked = try LinkedHandshake.run(options: options, serverExtensions: [server])
        let c = try #require(linked.client.extensions.first as? RecordingDeflate)
        let s = try #require(linked.server.extensions.first as? RecordingDeflate)
        let expected = PerMessageDeflateParameters(clientNoContextTakeover: true, serverMaxWindowBits: 10, clientMaxWindowBits: 12)
        #expect(c.parameters == expected)
        #expect(s.parameters == expected)
        #expect((c.role, s.role) == (.client, .server))
    }

    @Test("A refusal written by the server reaches the client intact")
    func refusal() throws {
        var hs = try ClientHandshake(options: Self.options, now: .zero, entropy: SeededGenerator(seed: 3))
        var server = ServerHandshake(now: .zero)
        guard case .upgradeRequest(let r) = server.receive(hs.requestBytes, now: .zero) else { Issue.record("no request"); return }
        #expect(r.origin == nil)
        let bytes = try server.reject(status: 403, headers: ["X-Why": "origin"], body: Array("forbidden".utf8))
        #expect(failure(hs.receive(bytes, now: .zero)) == .refused(
            status: 403, reason: "Forbidden", headers: ["X-Why": "origin", "Connection": "close", "Content-Length": "9"],
            bodyPrefix: Array("forbidden".utf8)))
    }
}
