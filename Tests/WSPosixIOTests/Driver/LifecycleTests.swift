// SPDX-License-Identifier: Apache-2.0
import Testing
@testable import WSPosixIO
import WSProtocol

/// The channel's lifecycle driven by hand: inputs in, phases and steps out, time through `now:`.
/// (A real descriptor backs the link, unconnected: the lifecycle itself does no I/O.)
@Suite("Channel lifecycle transitions")
struct LifecycleTests {
    static let request = Array(("GET /chat HTTP/1.1\r\nHost: example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n").utf8)
    /// A masked text frame "Hi" with a zero key (RFC 6455 §5.3).
    static let maskedHi: [UInt8] = [0x81, 0x82, 0, 0, 0, 0, 0x48, 0x69]

    /// Everything an input needs besides the lifecycle.
    struct Bench: ~Copyable {
        var lifecycle: Lifecycle
        var out = OutboundBuffer()
        var outputs: [Connection.Output] = []
        var peer: SocketAddress?

        init(_ setup: ChannelSetup, deadline: Instant = .zero + .seconds(10)) throws {
            let fd = try Sys.socket(family: .ipv4)
            lifecycle = .connecting(Link(socket: FileDescriptor(fd)), setup: setup, deadline: deadline)
        }

        mutating func receive(_ bytes: [UInt8], at now: Instant = .zero) -> LifecycleStep {
            outputs = []
            return bytes.withUnsafeBytes { lifecycle.receive($0, now: now, &out, &outputs, &peer) }
        }

        mutating func tick(_ now: Instant) -> LifecycleStep {
            outputs = []
            return lifecycle.handleTimeout(now: now, &out, &outputs, &peer)
        }

        mutating func written() -> String {
            let bytes = out.withNextWrite(limit: .max) { a, b, c in Array(a) + Array(b) + Array(c) }
            out.advance(by: bytes.count)
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    static func serverSetup(stages: [any StreamStage] = []) -> ChannelSetup {
        ChannelSetup(stages: stages, transport: nil, handshake: .server(.init()), stageTimeout: .seconds(10))
    }

    @Test func serverGoesFromAcceptToOpenToClosingToClosed() throws {
        var b = try Bench(Self.serverSetup())
        let v1 = b.lifecycle.phase
        #expect(v1 == .connecting)
        let v2 = b.lifecycle.tcpUp(now: .zero, &b.out, &b.peer)
        #expect(v2 == .none)
        let v3 = b.lifecycle.phase
        #expect(v3 == .serverHandshake)
        guard case .upgradeRequest(let request) = b.receive(Self.request) else { Issue.record("no request"); return }
        let v4 = b.lifecycle.phase
        #expect(v4 == .serverHandshake)
        b.lifecycle.awaitDecision(until: .zero + .seconds(10))
        let v5 = b.lifecycle.phase
        #expect(v5 == .awaitingDecision)
        #expect(b.receive(Self.maskedHi) == .none)  // reading is off while deciding: nothing is fed
        let step = b.lifecycle.accept(request, subprotocol: nil, extensions: [], headers: [:], configuration: .init(),
                                      now: .zero, &b.out, &b.outputs)
        #expect(step == .accepted)
        let v6 = b.lifecycle.phase
        #expect(v6 == .open)
        let v7 = b.written()
        #expect(v7.hasPrefix("HTTP/1.1 101 Switching Protocols\r\n"))
        let v8 = b.receive(Self.maskedHi)
        #expect(v8 == .outputs(assembling: 0))
        let v9 = b.outputs
        #expect(v9 == [.deliver(.message(.text("Hi")))])
        b.lifecycle.finish(now: .zero)
        let v10 = b.lifecycle.phase
        #expect(v10 == .closing)
        let v11 = b.lifecycle.nextDeadline()
        #expect(v11 == Instant.zero + Connection.Configuration().closeTimeout)
        let v12 = b.tick(.zero + .seconds(1))
        #expect(v12 == .none)
        let v13 = b.tick(.zero + Connection.Configuration().closeTimeout)
        #expect(v13 == .close)
        b.lifecycle.close(now: .zero, &b.outputs)
        let v14 = b.lifecycle.phase
        #expect(v14 == .closed)
        let v15 = b.lifecycle.isLive
        #expect(!v15)
    }

    /// Closing an open connection tells the core the transport ended: `.closed` with 1006.
    @Test func closingAnOpenConnectionReportsAbnormalClosure() throws {
        var b = try Bench(Self.serverSetup())
        _ = b.lifecycle.tcpUp(now: .zero, &b.out, &b.peer)
        guard case .upgradeRequest(let request) = b.receive(Self.request) else { Issue.record("no request"); return }
        _ = b.lifecycle.accept(request, subprotocol: nil, extensions: [], headers: [:], configuration: .init(),
                               now: .zero, &b.out, &b.outputs)
        b.outputs = []
        b.lifecycle.close(now: .zero, &b.outputs)
        let v16 = b.outputs
        #expect(v16 == [.deliver(.closed(.abnormal)), .closeTransport])
    }

    /// A stage runs first; the bytes after its end (here the whole request, in the same read)
    /// go to the handshake; its `facts.source` becomes the reported peer.
    @Test func aStageRunsFirstAndHandsItsLeftoverOn() throws {
        var b = try Bench(Self.serverSetup(stages: [LineStage(.server)]))
        let v17 = b.lifecycle.tcpUp(now: .zero, &b.out, &b.peer)
        #expect(v17 == .none)
        let v18 = b.lifecycle.phase
        #expect(v18 == .staging)
        let v19 = b.receive(Array("HELLO 203.0.113".utf8))
        #expect(v19 == .none)
        let v20 = b.lifecycle.phase
        #expect(v20 == .staging)
        guard case .upgradeRequest(let request) = b.receive(Array(".7 4242\n".utf8) + Self.request) else {
            Issue.record("the leftover did not reach the handshake"); return
        }
        #expect(request.resource == "/chat")
        let v21 = b.lifecycle.phase
        #expect(v21 == .serverHandshake)
        let v22 = b.peer
        #expect(v22 == SocketAddress(numericHost: "203.0.113.7", port: 4242))
        let v23 = b.written()
        #expect(v23 == "OK\n")
    }

    @Test func stagesRunInOrder() throws {
        var b = try Bench(Self.serverSetup(stages: [LineStage(.server), LineStage(.server)]))
        _ = b.lifecycle.tcpUp(now: .zero, &b.out, &b.peer)
        let v24 = b.receive(Array("HELLO 10.0.0.1 1\nHELLO 10.0.0.2 2\n".utf8))
        #expect(v24 == .none)
        let v25 = b.lifecycle.phase
        #expect(v25 == .serverHandshake)
        let v26 = b.peer
        #expect(v26 == SocketAddress(numericHost: "10.0.0.2", port: 2))
        let v27 = b.written()
        #expect(v27 == "OK\nOK\n")
    }

    @Test func aFailingStageEndsTheConnection() throws {
        var b = try Bench(Self.serverSetup(stages: [LineStage(.server)]))
        _ = b.lifecycle.tcpUp(now: .zero, &b.out, &b.peer)
        let v28 = b.receive(Array("GET / HTTP/1.1\r\n".utf8))
        #expect(v28 == .failed(.invalidArgument("GET / HTTP/1.1\r")))
        let v29 = b.lifecycle.phase
        #expect(v29 == .closing)
    }

    /// The stages get the handshake timeout in all; a stage's own deadline comes first if earlier.
    @Test func stagesTimeOut() throws {
        var b = try Bench(Self.serverSetup(stages: [LineStage(.server)]))
        _ = b.lifecycle.tcpUp(now: .zero, &b.out, &b.peer)
        let v30 = b.lifecycle.nextDeadline()
        #expect(v30 == Instant.zero + .seconds(10))
        let v31 = b.tick(.zero + .seconds(9))
        #expect(v31 == .none)
        let v32 = b.tick(.zero + .seconds(10))
        #expect(v32 == .failed(.timeout(.handshake)))

        var c = try Bench(Self.serverSetup(stages: [LineStage(.server, deadline: .zero + .seconds(2))]))
        _ = c.lifecycle.tcpUp(now: .zero, &c.out, &c.peer)
        let v33 = c.lifecycle.nextDeadline()
        #expect(v33 == Instant.zero + .seconds(2))
        let v34 = c.tick(.zero + .seconds(2))
        #expect(v34 == .failed(.invalidArgument("stage timed out")))
        let v35 = c.lifecycle.phase
        #expect(v35 == .closing)
    }

    @Test func theConnectTimeoutFails() throws {
        var b = try Bench(Self.serverSetup(), deadline: .zero + .seconds(3))
        let v36 = b.tick(.zero + .seconds(2))
        #expect(v36 == .none)
        let v37 = b.tick(.zero + .seconds(3))
        #expect(v37 == .failed(.timeout(.connect)))
    }

    /// A client queues its request once TCP is up (after its stages), and fails when no
    /// response comes within the handshake timeout.
    @Test func clientHandshakeStartsAfterTheStagesAndTimesOut() throws {
        let options = try ClientHandshake.Options(url: "ws://example/chat")
        let setup = ChannelSetup(stages: [LineStage(.client(claiming: SocketAddress(numericHost: "10.1.2.3", port: 80)!))],
                                 transport: nil, handshake: .client(options), stageTimeout: .seconds(10))
        var b = try Bench(setup)
        _ = b.lifecycle.tcpUp(now: .zero, &b.out, &b.peer)
        let v38 = b.written()
        #expect(v38 == "HELLO 10.1.2.3 80\n")
        let v39 = b.receive(Array("OK\n".utf8), at: .zero + .seconds(1))
        #expect(v39 == .none)
        let v40 = b.lifecycle.phase
        #expect(v40 == .clientHandshake)
        let v41 = b.written()
        #expect(v41.hasPrefix("GET /chat HTTP/1.1\r\n"))
        let maybeDeadline = b.lifecycle.nextDeadline()
        let deadline = try #require(maybeDeadline)
        #expect(deadline == Instant.zero + .seconds(1) + options.timeout)
        let v42 = b.tick(deadline)
        // The failure keeps the request that was sent (for `ClientConfiguration.onHandshake`).
        guard case .handshakeFailed(.timeout(.handshake), let request) = v42 else {
            Issue.record("\(v42)")
            return
        }
        #expect(String(decoding: request.bytes, as: UTF8.self) == v41)
        let v43 = b.lifecycle.phase
        #expect(v43 == .closing)
    }

    /// A refusal without Content-Length ends with the stream (`Connection: close`): the end of
    /// stream completes it, and the refusal (status, Location, body) is what fails the
    /// handshake, not "remote host closed" (which lost the status and stopped redirects).
    @Test func aRefusalEndedByTheStreamKeepsItsStatus() throws {
        let options = try ClientHandshake.Options(url: "ws://example/chat")
        var b = try Bench(ChannelSetup(stages: [], transport: nil, handshake: .client(options), stageTimeout: .seconds(10)))
        _ = b.lifecycle.tcpUp(now: .zero, &b.out, &b.peer)
        let sent = b.written()
        let v1 = b.receive(Array("HTTP/1.1 302 Found\r\nLocation: /next\r\nConnection: close\r\n\r\nmoved".utf8))
        #expect(v1 == .none)
        var outputs: [Connection.Output] = []
        let v2 = b.lifecycle.receiveEndOfStream(now: .zero + .seconds(1), pending: 0, &b.out, &outputs, &b.peer)
        guard case .handshakeFailed(let error, let request) = v2 else {
            Issue.record("\(v2)")
            return
        }
        #expect(error == .handshakeFailed(.refused(status: 302, reason: "Found",
                                                    headers: ["Location": "/next", "Connection": "close"],
                                                    bodyPrefix: Array("moved".utf8))))
        #expect(error.location == "/next")
        #expect(String(decoding: request.bytes, as: UTF8.self) == sent)
        let v3 = b.lifecycle.phase
        #expect(v3 == .closing)
    }

    /// No decision in time: 503, then the response is written and the socket lingers.
    @Test func aLateDecisionBecomesA503() throws {
        var b = try Bench(Self.serverSetup())
        _ = b.lifecycle.tcpUp(now: .zero, &b.out, &b.peer)
        _ = b.receive(Self.request)
        b.lifecycle.awaitDecision(until: .zero + .seconds(5))
        let v44 = b.tick(.zero + .seconds(5))
        #expect(v44 == .responding)
        let v45 = b.lifecycle.phase
        #expect(v45 == .httpResponse)
        let v46 = b.written()
        #expect(v46.hasPrefix("HTTP/1.1 503 "))
        b.lifecycle.responseWritten(now: .zero + .seconds(5))
        let v47 = b.lifecycle.nextDeadline()
        #expect(v47 == Instant.zero + .seconds(5) + Lifecycle.httpLinger)
        var outputs: [Connection.Output] = []
        let v48 = b.lifecycle.receiveEndOfStream(now: .zero + .seconds(6), pending: 0, &b.out, &outputs, &b.peer)
        #expect(v48 == .close)
    }

    /// The linger after a written response is the server's ``WebSocketServer/Configuration/responseLinger``.
    @Test func theLingerAfterAResponseIsConfigurable() throws {
        var b = try Bench(Self.serverSetup())
        _ = b.lifecycle.tcpUp(now: .zero, &b.out, &b.peer)
        _ = b.receive(Self.request)
        b.lifecycle.awaitDecision(until: .zero + .seconds(5))
        _ = b.tick(.zero + .seconds(5))
        b.lifecycle.responseWritten(now: .zero + .seconds(5), linger: .seconds(60))
        let deadline = b.lifecycle.nextDeadline()
        #expect(deadline == Instant.zero + .seconds(65))
        #expect(WebSocketServer.Configuration().responseLinger == Lifecycle.httpLinger)
    }

    /// A bad request head gets its error response, then the socket closes.
    @Test func aBadHeadGetsItsErrorResponse() throws {
        var b = try Bench(Self.serverSetup())
        _ = b.lifecycle.tcpUp(now: .zero, &b.out, &b.peer)
        let v49 = b.receive(Array("BLAH\r\n\r\n".utf8))
        #expect(v49 == .responding)
        let v50 = b.lifecycle.phase
        #expect(v50 == .httpResponse)
        let v51 = b.written()
        #expect(v51.hasPrefix("HTTP/1.1 400 "))
    }
}
