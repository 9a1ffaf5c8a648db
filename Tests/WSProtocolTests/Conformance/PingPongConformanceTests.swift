// SPDX-License-Identifier: Apache-2.0
import Testing
import WSProtocol

private typealias F = TestFrameEncoder

/// Autobahn|Testsuite section 2 (pings and pongs, RFC 6455 §5.5.2–§5.5.3).
@Suite("Autobahn 2 Pings/Pongs (RFC 6455 §5.5.2, §5.5.3)")
struct PingPongConformanceTests {
    @Test("2.1–2.4: a ping of 0, 10 (text), 8 (binary) or 125 bytes gets a pong with the same payload",
          arguments: [[], Array("Hello, world!".utf8), [0x00, 0xFF, 0xFE, 0xFD, 0xFC, 0xFB, 0x00, 0xFF],
                      (0..<125).map { UInt8($0 ^ 0xFE) }] as [[UInt8]])
    func pingGetsPong(payload: [UInt8]) {
        for role in [Role.server, .client] {
            let expected = Outcome(events: [.ping(payload)], written: Testee.frame(from: role, F.pong, payload))
            Conformance.check(role, frames: [F.toward(role, F.ping, payload)], expected: expected)
        }
    }

    @Test("2.5: a ping with a 126-byte payload fails the connection with 1002")
    func pingTooLong() {
        let payload = [UInt8](repeating: 0xFE, count: 126)
        Conformance.check(.server, frames: [F.client(F.ping, payload)],
                          expected: Expect.failure(.controlFrameTooLong(length: 126), role: .server))
        Conformance.check(.client, frames: [F.server(F.ping, payload)],
                          expected: Expect.failure(.controlFrameTooLong(length: 126), role: .client))
    }

    @Test("2.6: a 125-byte ping fed octet-wise gets its pong")
    func pingOctetWise() {
        let payload = (0..<125).map { UInt8($0) }
        Conformance.check(.server, frames: [F.client(F.ping, payload)], deliveries: [.octets, .chunks(2)],
                          expected: Outcome(events: [.ping(payload)], written: F.server(F.pong, payload)))
    }

    @Test("2.7–2.8: an unsolicited pong, empty or not, is reported and answered with nothing",
          arguments: [[], Array("unsolicited pong payload".utf8)] as [[UInt8]])
    func unsolicitedPong(payload: [UInt8]) {
        Conformance.check(.server, frames: [F.client(F.pong, payload)], expected: Outcome(events: [.pong(payload)]))
    }

    @Test("2.9: an unsolicited pong, then a ping: only the ping is answered")
    func pongThenPing() {
        let ping = Array("ping payload".utf8)
        Conformance.check(.server, frames: [F.client(F.pong, Array("unsolicited".utf8)), F.client(F.ping, ping)],
                          expected: Outcome(events: [.pong(Array("unsolicited".utf8)), .ping(ping)], written: F.server(F.pong, ping)))
    }

    @Test("2.10–2.11: ten pings get ten pongs, in order, however the input is cut")
    func tenPings() {
        let payloads = (0..<10).map { Array("payload-\($0)".utf8) }
        let expected = Outcome(events: payloads.map { .ping($0) }, written: payloads.flatMap { F.server(F.pong, $0) })
        Conformance.check(.server, frames: payloads.map { F.client(F.ping, $0) }, expected: expected)
    }

    @Test("A ping between data messages is answered between them, with the messages intact")
    func pingBetweenMessages() {
        let frames = [F.client(F.text, Array("one".utf8)), F.client(F.ping, [1, 2]), F.client(F.binary, [3])]
        Conformance.check(.server, frames: frames,
                          expected: Outcome(events: [.message(.text("one")), .ping([1, 2]), .message(.binary([3]))],
                                            written: F.server(F.pong, [1, 2])))
    }

    @Test("With automatic pong off, a ping is reported and nothing is written")
    func autoPongOff() {
        var configuration = Connection.Configuration()
        configuration.autoPong = false
        Conformance.check(.server, configuration: configuration, frames: [F.client(F.ping, [9])],
                          expected: Outcome(events: [.ping([9])]))
    }
}
