// SPDX-License-Identifier: Apache-2.0
import Testing
import WSProtocol

/// A client and a server joined in memory agree on everything they exchange.
@Suite("Client and server linked in memory")
struct LinkedPairTests {
    static let messages: [Message] = [
        .text("Hello"), .binary([]), .text(""), .binary(Array(0...255)), .text(String(repeating: "€uro ", count: 40)),
        .binary([UInt8](repeating: 0xAB, count: 70_000)),
    ]

    @Test("Messages arrive intact both ways, for any read size", arguments: [nil, 1, 3, 7, 16, 1000] as [Int?])
    func roundTrip(chunkSize: Int?) throws {
        #expect(try LinkedPair.roundTrip(Self.messages, from: .client, chunkSize: chunkSize) == Self.messages)
        #expect(try LinkedPair.roundTrip(Self.messages, from: .server, chunkSize: chunkSize) == Self.messages)
    }

    @Test func fragmentedBothWays() throws {
        var config = Connection.Configuration()
        config.fragmentSize = 5
        #expect(try LinkedPair.roundTrip(Self.messages, from: .client, client: config) == Self.messages)
        #expect(try LinkedPair.roundTrip(Self.messages, from: .server, server: config) == Self.messages)
    }

    @Test func pingGetsItsPong() throws {
        var pair = LinkedPair()
        try pair.client { (c, now) throws(UsageError) in try c.ping([1, 2], now: now) }
        pair.pump()
        #expect(pair.serverEvents == [.ping([1, 2])])
        #expect(pair.clientEvents == [.pong([1, 2])])
    }

    @Test func clientInitiatedClose() throws {
        var pair = LinkedPair()
        try pair.client { (c, now) throws(UsageError) in try c.close(code: .goingAway, reason: "done", now: now) }
        pair.pump()
        let fromClient = CloseFrame(code: .goingAway, reason: "done")
        let fromServer = CloseFrame(code: .goingAway)
        #expect(pair.serverEvents == [.closeReceived(fromClient),
                                      .closed(.handshakeCompleted(peer: fromClient, initiatedLocally: false))])
        #expect(pair.clientEvents == [.closeReceived(fromServer),
                                      .closed(.handshakeCompleted(peer: fromServer, initiatedLocally: true))])
        #expect(pair.serverTransportClosed && pair.clientTransportClosed)
        #expect(pair.client.isClosed && pair.server.isClosed)
    }

    @Test func serverInitiatedClose() throws {
        var pair = LinkedPair()
        try pair.server { (c, now) throws(UsageError) in try c.send(.text("last words"), now: now) }
        try pair.server { (c, now) throws(UsageError) in try c.close(code: CloseCode(4000), now: now) }
        pair.pump()
        let code = CloseFrame(code: CloseCode(4000))
        #expect(pair.clientEvents == [.message(.text("last words")), .closeReceived(code),
                                      .closed(.handshakeCompleted(peer: code, initiatedLocally: false))])
        #expect(pair.serverEvents == [.closeReceived(code), .closed(.handshakeCompleted(peer: code, initiatedLocally: true))])
    }

    @Test func simultaneousClose() throws {
        var pair = LinkedPair()
        try pair.client { (c, now) throws(UsageError) in try c.close(code: .normalClosure, now: now) }
        try pair.server { (c, now) throws(UsageError) in try c.close(code: .goingAway, now: now) }
        pair.pump()
        #expect(pair.serverEvents == [.closeReceived(CloseFrame(code: .normalClosure)),
                                      .closed(.handshakeCompleted(peer: CloseFrame(code: .normalClosure), initiatedLocally: true))])
        #expect(pair.clientEvents == [.closeReceived(CloseFrame(code: .goingAway)),
                                      .closed(.handshakeCompleted(peer: CloseFrame(code: .goingAway), initiatedLocally: true))])
    }

    @Test func keepaliveAcrossThePair() throws {
        var config = Connection.Configuration()
        config.keepalive = .init(interval: .seconds(30), timeout: .seconds(10))
        var pair = LinkedPair(client: config)
        pair.now = .seconds(30)
        pair.perform(pair.client.handleTimeout(now: pair.now), from: .client)
        pair.pump()
        #expect(pair.serverEvents == [.ping([0, 0, 0, 1])])
        #expect(pair.clientEvents == [.pong([0, 0, 0, 1])])
        #expect(pair.client.nextDeadline == .seconds(60))
    }
}
