// SPDX-License-Identifier: Apache-2.0
import Testing
import WSProtocol

@Suite("RFC 6455 §5.5.2 Ping and §5.5.3 Pong")
struct PingPongTests {
    static func server(_ configure: (inout Connection.Configuration) -> Void = { _ in }) -> Connection {
        var config = Connection.Configuration()
        configure(&config)
        return Connection(role: .server, configuration: config)
    }

    @Test func pingIsAnsweredWithTheSamePayload() {
        var server = Self.server()
        #expect(server.receive(Wire.client(.ping, [1, 2, 3]), now: .zero)
                == [.deliver(.ping([1, 2, 3])), .write([0x8A, 0x03, 1, 2, 3])])
    }

    @Test func automaticPongCanBeTurnedOff() throws {
        var server = Self.server { $0.autoPong = false }
        #expect(server.receive(Wire.client(.ping, [1]), now: .zero) == [.deliver(.ping([1]))])
        #expect(try server.pong([1], now: .zero) == [.write([0x8A, 0x01, 1])])
    }

    @Test func pongIsDelivered() {
        var server = Self.server()
        #expect(server.receive(Wire.client(.pong, [5]), now: .zero) == [.deliver(.pong([5]))])
    }

    @Test func pongsOfOneReadAreWrittenTogether() {
        var server = Self.server()
        let input = Wire.client(.ping, [1]) + Wire.client(.ping, [2]) + Wire.client(.binary, [3])
        #expect(server.receive(input, now: .zero)
                == [.deliver(.ping([1])), .deliver(.ping([2])), .deliver(.message(.binary([3]))),
                    .write([0x8A, 0x01, 1, 0x8A, 0x01, 2])])
    }

    @Test func pingFloodIsCappedPerReceive() {
        var server = Self.server { $0.maxAutoPongsPerReceive = 3 }
        var input: [UInt8] = []
        for i in 1...10 { input += Wire.client(.ping, [UInt8(i)]) }
        let pongs = [1, 2, 3, 10].flatMap { Wire.server(.pong, [UInt8($0)]) }
        #expect(server.receive(input, now: .zero) == (1...10).map { .deliver(.ping([UInt8($0)])) } + [.write(pongs)])
        // The cap is per call: the next read may answer again.
        #expect(server.receive(Wire.client(.ping, [11]), now: .zero) == [.deliver(.ping([11])), .write(Wire.server(.pong, [11]))])
    }

    @Test func theDeferredPongGoesOutBeforeOurCloseReply() {
        var server = Self.server { $0.maxAutoPongsPerReceive = 0 }
        let input = Wire.client(.ping, [1]) + Wire.client(.ping, [2]) + Wire.client(.close)
        let peer = CloseFrame(code: .noStatusReceived)
        #expect(server.receive(input, now: .zero)
                == [.deliver(.ping([1])), .deliver(.ping([2])), .deliver(.closeReceived(peer)),
                    .write(Wire.server(.pong, [2]) + Wire.server(.close)),
                    .deliver(.closed(.handshakeCompleted(peer: peer, initiatedLocally: false))), .closeTransport])
    }

    @Test func pingPayloadLimit() throws {
        var server = Self.server()
        #expect(throws: UsageError.controlPayloadTooLong(126)) { try server.ping([UInt8](repeating: 0, count: 126), now: .zero) }
        #expect(throws: UsageError.controlPayloadTooLong(200)) { try server.pong([UInt8](repeating: 0, count: 200), now: .zero) }
        let max = [UInt8](repeating: 1, count: 125)
        #expect(try server.ping(max, now: .zero) == [.write([0x89, 0x7D] + max)])
    }

    @Test func clientPingIsMasked() throws {
        var client = Connection(role: .client, entropy: FixedKeyGenerator())
        #expect(try client.ping(RFCVectors.hello, now: .zero) == [.write([0x89, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58])])
    }
}

@Suite("Keepalive")
struct KeepaliveTests {
    static func server() -> Connection {
        var config = Connection.Configuration()
        config.keepalive = .init(interval: .seconds(10), timeout: .seconds(5))
        return Connection(role: .server, configuration: config, now: .seconds(100))
    }

    @Test func offByDefault() {
        var server = Connection(role: .server)
        #expect(server.nextDeadline == nil)
        #expect(server.handleTimeout(now: .seconds(1_000_000)) == [])
    }

    @Test func pingAfterSilenceThenPongClearsIt() {
        var server = Self.server()
        #expect(server.nextDeadline == .seconds(110))
        #expect(server.handleTimeout(now: .seconds(109)) == [])
        #expect(server.handleTimeout(now: .seconds(110)) == [.write([0x89, 0x04, 0, 0, 0, 1])])
        #expect(server.nextDeadline == .seconds(115))
        #expect(server.receive(Wire.client(.pong, [0, 0, 0, 1]), now: .seconds(112)) == [.deliver(.pong([0, 0, 0, 1]))])
        #expect(server.nextDeadline == .seconds(122))
        #expect(server.handleTimeout(now: .seconds(122)) == [.write([0x89, 0x04, 0, 0, 0, 2])])
    }

    @Test func trafficPostponesThePing() {
        var server = Self.server()
        _ = server.receive(Wire.client(.binary, [1]), now: .seconds(105))
        #expect(server.nextDeadline == .seconds(115))
        #expect(server.handleTimeout(now: .seconds(110)) == [])
    }

    @Test func aPongWithAnotherPayloadDoesNotCount() {
        var server = Self.server()
        _ = server.handleTimeout(now: .seconds(110))
        _ = server.receive(Wire.client(.pong, [9]), now: .seconds(111))
        #expect(server.nextDeadline == .seconds(115))
    }

    @Test func noPongInTimeFailsWith1011() {
        var server = Self.server()
        _ = server.handleTimeout(now: .seconds(110))
        #expect(server.handleTimeout(now: .seconds(114)) == [])
        #expect(server.handleTimeout(now: .seconds(115))
                == [.write(Wire.server(.close, Wire.close(1011, "keepalive timeout"))), .deliver(.closed(.timedOut(.keepalive))),
                    .closeTransport])
        #expect(server.closeReason?.code == .internalError)
        #expect(server.nextDeadline == nil)
    }

    @Test func clientKeepalivePingIsMasked() {
        var config = Connection.Configuration()
        config.keepalive = .init(interval: .seconds(1), timeout: .seconds(1))
        var client = Connection(role: .client, configuration: config, entropy: FixedKeyGenerator())
        #expect(client.handleTimeout(now: .seconds(1)) == [.write(Wire.client(.ping, [0, 0, 0, 1]))])
    }

    @Test func noKeepaliveWhileClosing() throws {
        var server = Self.server()
        _ = try server.close(now: .seconds(101))
        #expect(server.nextDeadline == .seconds(111))
        #expect(server.handleTimeout(now: .seconds(110)) == [])
    }
}

@Suite("Limits: frame and message size (1009)")
struct LimitTests {
    static func server(frame: Int = 16 << 20, message: Int = 16 << 20) -> Connection {
        var config = Connection.Configuration()
        config.maxFrameSize = frame
        config.maxMessageSize = message
        return Connection(role: .server, configuration: config)
    }

    @Test func defaultsAre16MiB() {
        let config = Connection.Configuration()
        #expect(config.maxFrameSize == 16 << 20 && config.maxMessageSize == 16 << 20)
    }

    @Test func frameTooLargeFailsOnTheHeaderAlone() {
        var server = Self.server(frame: 100)
        #expect(server.receive(Wire.clientHeader(.binary, length: 101), now: .zero) == Wire.failure(.frameTooLarge(limit: 100), role: .server))
    }

    @Test func hugeAnnouncedLengthFailsAtOnce() {
        var server = Self.server()
        #expect(server.receive(Wire.clientHeader(.binary, length: 1 << 40), now: .zero)
                == Wire.failure(.frameTooLarge(limit: 16 << 20), role: .server))
    }

    @Test func exactlyAtTheLimitIsFine() {
        var server = Self.server(frame: 4, message: 4)
        #expect(server.receive(Wire.client(.binary, [1, 2, 3, 4]), now: .zero) == [.deliver(.message(.binary([1, 2, 3, 4])))])
    }

    @Test func messageTooLargeFailsOnTheHeaderOfTheFrameThatWouldExceedIt() {
        var server = Self.server(message: 10)
        let first = Wire.client(.binary, [UInt8](repeating: 1, count: 6), fin: false)
        #expect(server.receive(first + Wire.clientHeader(.continuation, length: 5), now: .zero)
                == Wire.failure(.messageTooLarge(limit: 10), role: .server))
    }

    @Test func messageLimitInStreamingMode() {
        var config = Connection.Configuration()
        config.maxMessageSize = 3
        config.deliversFragments = true
        var server = Connection(role: .server, configuration: config)
        let first = Wire.client(.binary, [1, 2], fin: false)
        let piece = Event.fragment(Fragment(kind: .binary, bytes: [1, 2], isFirst: true, isFinal: false))
        #expect(server.receive(first + Wire.clientHeader(.continuation, length: 2), now: .zero)
                == Wire.failure(.messageTooLarge(limit: 3), role: .server, before: [piece]))
    }
}
