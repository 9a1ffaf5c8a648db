// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing
import WSFoundation
import WSPosixIO
import WSProtocol

@Suite("WSFoundation: URL, Data and TimeInterval conveniences")
struct WSFoundationTests {
    @Test("Message ↔ Data: binary bytes as they are, text as its UTF-8 bytes (nil when it is not UTF-8)")
    func messageData() {
        #expect(Message(Data([0, 1, 255])) == .binary([0, 1, 255]))
        #expect(Message(Data("héllo ✓".utf8), as: .text) == .text("héllo ✓"))
        #expect(Message(Data([0x68, 0xFF]), as: .text) == nil)
        #expect(Message.binary([9, 8]).data == Data([9, 8]))
        #expect(Message.text("é").data == Data([0xC3, 0xA9]))
        #expect(WebSocketEvent.text("a").data == Data([0x61]))
        #expect(WebSocketEvent.ping([1]).data == nil)
    }

    @Test("Duration ↔ TimeInterval, to the nanosecond; a Date deadline becomes the time left")
    func durations() {
        #expect(Duration(timeInterval: 1.5) == .milliseconds(1500))
        #expect(Duration(timeInterval: 0.000_000_001) == .nanoseconds(1))
        #expect(Duration(timeInterval: -2) == .seconds(-2))
        #expect(Duration.milliseconds(2500).timeInterval == 2.5)
        let now = Date(timeIntervalSinceReferenceDate: 1000)
        #expect(Duration.until(now.addingTimeInterval(3), from: now) == .seconds(3))
        #expect(Duration.until(now.addingTimeInterval(-3), from: now) == .zero)
        #expect(Connection.Configuration.Keepalive(interval: 20, timeout: 0.25)
                == .init(interval: .seconds(20), timeout: .milliseconds(250)))
    }

    @Test("Connect by URL, send Data of both kinds, receive it back as Data", .timeLimit(.minutes(1)))
    func echoByURL() async throws {
        // Echoes every message; answers "?resource" with the resource the request named.
        let server = try await WebSocketServer.bind(host: "127.0.0.1", port: 0, onEvent: { ws, event in
            if event == .text("?resource") { try? ws.enqueue(.text(ws.request?.resource ?? "none")) }
            else if let message = event.message { try? ws.enqueue(message) }
        })
        let url = try #require(URL(string: "ws://127.0.0.1:\(server.port)/echo?x=1"))
        let ws = try await WebSocket.connect(to: url)
        var events = ws.makeAsyncIterator()
        try await ws.send(Data([0, 1, 2, 255]))
        #expect(await events.next()?.data == Data([0, 1, 2, 255]))
        try await ws.send(Data("grüße".utf8), as: .text)
        #expect(await events.next() == .text("grüße"))
        try ws.enqueue(Data([7]))
        #expect(await events.next() == .binary([7]))
        try await ws.send(.text("?resource"))
        #expect(await events.next() == .text("/echo?x=1"))
        try ws.close()
        await server.shutdown(timeout: .seconds(1))
    }

    @Test("A URL that is not a WebSocket URL is refused with a clear error")
    func badURL() async throws {
        let url = try #require(URL(string: "http://127.0.0.1:1/"))
        await #expect(throws: WebSocketError.invalidArgument("Invalid URL: scheme must be ws or wss")) {
            _ = try await WebSocket.connect(to: url)
        }
    }

    @Test("Text Data that is not UTF-8 is refused before anything is sent")
    func invalidText() async throws {
        let server = try await WebSocketServer.bind(host: "127.0.0.1", port: 0, onEvent: { _, _ in })
        let ws = try await WebSocket.connect(to: try #require(URL(string: "ws://127.0.0.1:\(server.port)/")))
        await #expect(throws: WebSocketError.usage(.invalidUTF8)) { try await ws.send(Data([0xFF]), as: .text) }
        try ws.close()
        await server.shutdown(timeout: .seconds(1))
    }
}
