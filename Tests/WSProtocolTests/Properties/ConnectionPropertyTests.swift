// SPDX-License-Identifier: Apache-2.0
import Testing
import WSProtocol
import WSTestSupport

private typealias F = TestFrameEncoder

/// Properties of the connection state machine, over seeded random inputs: messages survive any
/// chunking, the writer and an independent encoder agree byte for byte, and garbage never traps
/// and ends only in documented outcomes (h11's AFL rule).
@Suite("Connection properties")
struct ConnectionPropertyTests {
    /// A random message: text (any characters) or binary, mostly small, sometimes around the
    /// 125/126 and 65535/65536 length boundaries.
    static func randomMessage(using rng: inout SeededGenerator) -> Message {
        let lengths = [0, 1, 125, 126, 127, 65535, 65536]
        let length = Int.random(in: 0..<10, using: &rng) == 0 ? lengths.randomElement(using: &rng)! : Int.random(in: 0...300, using: &rng)
        if Bool.random(using: &rng) {
            var text = UTF8Samples.randomText(scalars: min(length, 200), using: &rng)
            if length > 200 { text += [UInt8](repeating: 0x61, count: length - 200) }
            return .text(String(decoding: text, as: UTF8.self))
        }
        return .binary(rng.bytes(length))
    }

    @Test("Random message sequences both ways, with pings and any fragment size, arrive intact and in order under random chunking")
    func linkedPairRoundTrip() throws {
        for seed in PropertyRun.seeds(default: 100) {
            var rng = SeededGenerator(seed: seed)
            var clientConfiguration = Connection.Configuration(), serverConfiguration = Connection.Configuration()
            clientConfiguration.fragmentSize = [nil, 1, 5, 125, 1000].randomElement(using: &rng)!
            serverConfiguration.fragmentSize = [nil, 2, 126, 4096].randomElement(using: &rng)!
            var pair = RandomLink(client: clientConfiguration, server: serverConfiguration, clientEntropy: SeededGenerator(seed: seed))
            var toServer: [Message] = [], toClient: [Message] = []
            var pings: [[UInt8]] = []
            for _ in 0..<Int.random(in: 0...12, using: &rng) {
                let message = Self.randomMessage(using: &rng)
                switch Int.random(in: 0..<5, using: &rng) {
                case 0:
                    let payload = rng.bytes(Int.random(in: 0...125, using: &rng))
                    pings.append(payload)
                    try pair.client { (c) throws(UsageError) in try c.ping(payload, now: .zero) }
                case 1, 2:
                    toServer.append(message)
                    try pair.client { (c) throws(UsageError) in try c.send(message, now: .zero) }
                default:
                    toClient.append(message)
                    try pair.server { (c) throws(UsageError) in try c.send(message, now: .zero) }
                }
                if Bool.random(using: &rng) { pair.pump(using: &rng) }
            }
            let closeFromClient = Bool.random(using: &rng)
            if closeFromClient {
                try pair.client { (c) throws(UsageError) in try c.close(code: .normalClosure, reason: "done", now: .zero) }
            } else {
                // Pings still in flight when the server's close goes out get no pong (RFC 6455
                // §5.5.1: nothing is sent after a close frame), so deliver them first.
                pair.pump(using: &rng)
                try pair.server { (c) throws(UsageError) in try c.close(code: .goingAway, now: .zero) }
            }
            pair.pump(using: &rng)

            #expect(pair.toServer.isEmpty && pair.toClient.isEmpty, "seed \(seed)")
            let serverMessages = pair.serverEvents.compactMap { if case .message(let m) = $0 { m } else { nil } }
            let clientMessages = pair.clientEvents.compactMap { if case .message(let m) = $0 { m } else { nil } }
            let serverPings = pair.serverEvents.compactMap { if case .ping(let p) = $0 { p } else { nil } }
            let clientPongs = pair.clientEvents.compactMap { if case .pong(let p) = $0 { p } else { nil } }
            #expect(serverMessages == toServer, "seed \(seed)")
            #expect(clientMessages == toClient, "seed \(seed)")
            #expect(serverPings == pings && clientPongs == pings, "seed \(seed)")
            let peerFrame = closeFromClient ? CloseFrame(code: .normalClosure, reason: "done") : CloseFrame(code: .goingAway)
            let echo = closeFromClient ? CloseFrame(code: .normalClosure) : CloseFrame(code: .goingAway)
            #expect(pair.serverEvents.last == .closed(.handshakeCompleted(peer: closeFromClient ? peerFrame : echo, initiatedLocally: !closeFromClient)),
                    "seed \(seed)")
            #expect(pair.clientEvents.last == .closed(.handshakeCompleted(peer: closeFromClient ? echo : peerFrame, initiatedLocally: closeFromClient)),
                    "seed \(seed)")
            #expect(pair.client.isClosed && pair.server.isClosed, "seed \(seed)")
        }
    }

    @Test("write→parse: what the connection writes equals the independent encoder's frames, and parses back to the message")
    func writeParseIdentity() throws {
        for seed in PropertyRun.seeds(default: 150) {
            var rng = SeededGenerator(seed: seed)
            let message = Self.randomMessage(using: &rng)
            let (opcode, payload): (UInt8, [UInt8]) = switch message {
            case .text(let s): (F.text, Array(s.utf8))
            case .binary(let b): (F.binary, b)
            }
            for role in [Role.server, .client] {
                var writer = Testee(role)
                writer.record(try writer.connection.send(message, now: .zero))
                #expect(writer.outcome == Outcome(written: Testee.frame(from: role, opcode, payload)), "seed \(seed) \(role)")
                var reader = Testee(role == .server ? .client : .server)
                reader.receive([writer.outcome.written], .chunks(Int.random(in: 1...3000, using: &rng)))
                #expect(reader.outcome == Expect.messages([message]), "seed \(seed) \(role)")
            }
        }
    }

    /// Mostly plausible frames with random damage: the kind of input that reaches deep states.
    static func garbage(toward role: Role, using rng: inout SeededGenerator) -> [UInt8] {
        if Int.random(in: 0..<4, using: &rng) == 0 { return rng.bytes(Int.random(in: 0...200, using: &rng)) }
        var bytes: [UInt8] = []
        for _ in 0..<Int.random(in: 1...8, using: &rng) {
            let opcode = [F.text, F.binary, F.continuation, F.ping, F.pong, F.close, 0x3, 0xB].randomElement(using: &rng)!
            var payload = opcode == F.text ? UTF8Samples.randomInput(using: &rng) : rng.bytes(Int.random(in: 0...130, using: &rng))
            if opcode == F.close && Bool.random(using: &rng) {
                let code = [1000, 1001, 3000, UInt16.random(in: 990...1020, using: &rng)].randomElement(using: &rng)!
                payload = F.closePayload(code, Bool.random(using: &rng) ? Array("bye".utf8) : Array(payload.prefix(20)))
            }
            let fin = Int.random(in: 0..<4, using: &rng) != 0
            let rsv: UInt8 = Int.random(in: 0..<10, using: &rng) == 0 ? 0x40 : 0
            let masked = Int.random(in: 0..<20, using: &rng) == 0 ? (role == .client) : (role == .server)
            bytes += F.frame(opcode, payload, fin: fin, rsv: rsv, key: masked ? MaskingKey.random(using: &rng) : nil)
        }
        for _ in 0..<Int.random(in: 0...2, using: &rng) where !bytes.isEmpty {
            bytes[Int.random(in: 0..<bytes.count, using: &rng)] ^= UInt8(1) << UInt8.random(in: 0...7, using: &rng)
        }
        return bytes
    }

    /// Configurations the garbage runs under: defaults, streaming delivery, and limits small
    /// enough for random frames to hit them (1009).
    static let garbageConfigurations: [String] = ["default", "streaming", "small limits"]

    static func configuration(_ name: String) -> Connection.Configuration {
        var configuration = Connection.Configuration()
        configuration.maxAutoPongsPerReceive = .max  // so that the pong count cannot depend on the cut
        switch name {
        case "streaming": configuration.deliversFragments = true
        case "small limits": configuration.maxFrameSize = 64; configuration.maxMessageSize = 100
        default: break
        }
        return configuration
    }

    @Test("Garbage never traps, gives the same outcome however it is cut, and ends only in documented outcomes",
          arguments: garbageConfigurations)
    func garbageHasDocumentedOutcomes(configurationName: String) {
        let configuration = Self.configuration(configurationName)
        var kinds: Set<String> = []  // which outcomes the generator reached
        for seed in PropertyRun.seeds {
            var rng = SeededGenerator(seed: seed)
            for role in [Role.server, .client] {
                let input = Self.garbage(toward: role, using: &rng)
                var whole = Testee(role, configuration: configuration)
                whole.receive([input], .whole)
                var chopped = Testee(role, configuration: configuration)
                chopped.receive([input], .chunks(Int.random(in: 1...17, using: &rng)))
                #expect(chopped.outcome == whole.outcome, "seed \(seed) \(role)")
                kinds.formUnion(whole.outcome.events.map { event in
                    switch event {
                    case .closed(.protocolError(let e)): "failed \(e.closeCode)"
                    case .closed(.handshakeCompleted): "closed by peer"
                    case .message, .fragment: "data"
                    default: "other"
                    }
                })
                let problem = Self.undocumented(whole.outcome, role: role)
                #expect(problem == nil, "seed \(seed) \(role): \(problem ?? "")")
            }
        }
        if PropertyRun.seeds.count >= 100 {
            var expected: Set<String> = ["failed 1002", "failed 1007", "closed by peer", "data"]
            if configurationName == "small limits" { expected.insert("failed 1009") }
            #expect(kinds.isSuperset(of: expected), "\(kinds)")
        }
    }

    /// Why `outcome` is not one the documentation allows, or `nil` if it is.
    static func undocumented(_ outcome: Outcome, role: Role) -> String? {
        guard let written = TestFrameDecoder.frames(outcome.written) else { return "written bytes are not whole frames" }
        for frame in written {
            guard frame.fin, frame.rsv == 0, (frame.maskingKey != nil) == (role == .client) else { return "bad frame written: \(frame)" }
        }
        let pings = outcome.events.compactMap { if case .ping(let p) = $0 { p } else { nil } }
        let pongs = written.filter { $0.opcode == F.pong }.map(\.payload)
        let closes = written.filter { $0.opcode == F.close }
        guard let last = outcome.events.last, case .closed(let reason) = last else {
            // Still open (or, for a client, waiting for the server's TCP close after the handshake).
            guard outcome.transport.isEmpty, pongs == pings else { return "open, but transport \(outcome.transport), pongs \(pongs.count) for \(pings.count) pings" }
            let closeReceived = outcome.events.contains { if case .closeReceived = $0 { return true } else { return false } }
            guard closes.count == (closeReceived ? 1 : 0), written.last?.opcode == closes.last?.opcode || closes.isEmpty else { return "close frames written: \(closes.count)" }
            return closeReceived && role == .server ? "a server must close after the close handshake" : nil
        }
        guard outcome.transport == [.closeTransport] else { return "closed, but transport \(outcome.transport)" }
        guard closes.count == 1, let close = written.last, close.opcode == F.close else { return "closed without exactly one final close frame" }
        // Pongs answer pings in order, none after the close frame.
        guard pongs == Array(pings.prefix(pongs.count)) else { return "pongs do not answer the pings" }
        switch reason {
        case .protocolError(let error):
            let code = error.closeCode.rawValue
            guard close.payload == F.closePayload(code, Expect.failureReason(error.closeCode)) else { return "close payload \(close.payload) for \(error)" }
            guard [1002, 1007, 1009].contains(code) else { return "unexpected code \(code)" }
            return nil
        case .handshakeCompleted(let peer, initiatedLocally: false):
            guard role == .server else { return "a client must wait for the server's TCP close" }
            let echo = peer.code == .noStatusReceived ? [] : F.closePayload(peer.code.rawValue)
            guard peer.code == .noStatusReceived || peer.code.isValidOnWire else { return "accepted invalid code \(peer.code)" }
            return close.payload == echo ? nil : "echo \(close.payload) for \(peer)"
        case .handshakeCompleted(_, initiatedLocally: true), .abnormal, .timedOut:
            return "unexpected reason \(reason)"
        }
    }
}

/// A client and a server joined in memory that read what the other wrote in random chunks. Its
/// own small link (rather than `LinkedPair`) so that the chunking is drawn from the seed.
struct RandomLink {
    var client: Connection
    var server: Connection
    var toServer: [UInt8] = [], toClient: [UInt8] = []
    var clientEvents: [Event] = [], serverEvents: [Event] = []
    var clientClosedTransport = false, serverClosedTransport = false
    var clientSawEndOfStream = false, serverSawEndOfStream = false

    init(client: Connection.Configuration, server: Connection.Configuration, clientEntropy: some RandomNumberGenerator & Sendable) {
        self.client = Connection(role: .client, configuration: client, entropy: clientEntropy)
        self.server = Connection(role: .server, configuration: server)
    }

    mutating func perform(_ outputs: [Connection.Output], fromClient: Bool) {
        for output in outputs {
            switch output {
            case .write(let bytes): if fromClient { toServer += bytes } else { toClient += bytes }
            case .deliver(let event): if fromClient { clientEvents.append(event) } else { serverEvents.append(event) }
            case .shutdownWrite, .closeTransport: if fromClient { clientClosedTransport = true } else { serverClosedTransport = true }
            }
        }
    }

    mutating func client(_ command: (inout Connection) throws(UsageError) -> [Connection.Output]) throws(UsageError) {
        perform(try command(&client), fromClient: true)
    }

    mutating func server(_ command: (inout Connection) throws(UsageError) -> [Connection.Output]) throws(UsageError) {
        perform(try command(&server), fromClient: false)
    }

    /// Moves bytes both ways in random chunks until nothing is pending, then reports end of
    /// stream to a side whose peer closed its transport. Bounded.
    mutating func pump(using rng: inout SeededGenerator) {
        for _ in 0..<1_000_000 {
            let size = Int.random(in: 1...[1, 7, 64, 1500, 100_000].randomElement(using: &rng)!, using: &rng)
            if !toServer.isEmpty && !serverClosedTransport && (toClient.isEmpty || clientClosedTransport || Bool.random(using: &rng)) {
                let chunk = Array(toServer.prefix(size)); toServer.removeFirst(chunk.count)
                perform(server.receive(chunk, now: .zero), fromClient: false)
            } else if !toClient.isEmpty && !clientClosedTransport {
                let chunk = Array(toClient.prefix(size)); toClient.removeFirst(chunk.count)
                perform(client.receive(chunk, now: .zero), fromClient: true)
            } else if clientClosedTransport && !serverSawEndOfStream && !serverClosedTransport {
                serverSawEndOfStream = true
                perform(server.receiveEndOfStream(now: .zero), fromClient: false)
            } else if serverClosedTransport && !clientSawEndOfStream && !clientClosedTransport {
                clientSawEndOfStream = true
                perform(client.receiveEndOfStream(now: .zero), fromClient: true)
            } else {
                return
            }
        }
    }
}
