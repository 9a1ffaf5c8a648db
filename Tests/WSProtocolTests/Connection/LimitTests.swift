// SPDX-License-Identifier: Apache-2.0
import Testing
import WSProtocol

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
