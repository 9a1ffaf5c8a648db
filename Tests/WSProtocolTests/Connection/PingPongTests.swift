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
