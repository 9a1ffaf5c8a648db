// SPDX-License-Identifier: Apache-2.0
import Testing
import WSProtocol

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

    /// With the interval (10 s) shorter than the pong timeout (30 s), the pong brings the next
    /// deadline before the pong deadline a driver's timer is set for: the connection does not
    /// say "between messages" (a driver's cue to keep its timer) until the timers run again.
    @Test func aPongMovingTheDeadlineEarlierIsNotBetweenMessages() {
        var config = Connection.Configuration()
        config.keepalive = .init(interval: .seconds(10), timeout: .seconds(30))
        var server = Connection(role: .server, configuration: config, now: .seconds(100))
        let between1 = server.isOpenBetweenMessages()
        #expect(between1)
        #expect(server.handleTimeout(now: .seconds(110)) == [.write([0x89, 0x04, 0, 0, 0, 1])])
        #expect(server.nextDeadline == .seconds(140))
        let between2 = server.isOpenBetweenMessages()
        #expect(!between2)
        _ = server.receive(Wire.client(.pong, [0, 0, 0, 1]), now: .seconds(111))
        #expect(server.nextDeadline == .seconds(121))  // earlier than the timer set for 140
        let between3 = server.isOpenBetweenMessages()
        #expect(!between3)
        _ = server.receive(Wire.client(.binary, [1]), now: .seconds(112))
        let between4 = server.isOpenBetweenMessages()
        #expect(!between4)
        #expect(server.handleTimeout(now: .seconds(122)) == [.write([0x89, 0x04, 0, 0, 0, 2])])
        _ = server.receive(Wire.client(.pong, [0, 0, 0, 2]), now: .seconds(123))
        #expect(server.handleTimeout(now: .seconds(124)) == [])
        let between5 = server.isOpenBetweenMessages()
        #expect(between5)
    }
}
