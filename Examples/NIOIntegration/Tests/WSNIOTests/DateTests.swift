// SPDX-License-Identifier: Apache-2.0
import Foundation
import NIOCore
import NIOEmbedded
import Testing
import WSNIO
import WSProtocol

/// "An origin server with a clock MUST generate a Date header field in all 2xx, 3xx, and 4xx
/// responses" (RFC 9110 §6.6.1): every response the server handler writes carries exactly one
/// `Date`, the one ``ServerSettings/date`` gives.
@Suite("WebSocketChannelHandler: the Date of a server's responses (RFC 9110 §6.6.1)")
struct DateTests {
    /// RFC 9110 §5.6.7's example date.
    static let dateLine = "Date: Sun, 06 Nov 1994 08:49:37 GMT"

    /// What the server writes for `request` (after the head timeout, for a head left incomplete).
    static func response(to request: String) throws -> String {
        let settings = ServerSettings(
            handshake: .init(timeout: .seconds(3)),
            decide: { $0.path == "/chat" ? .accept(subprotocol: nil, headers: [:]) : .reject(status: 403, headers: [:], body: []) },
            date: { HandlerTests.date })
        let channel = EmbeddedChannel(handlers: [WebSocketChannelHandler(mode: .server(settings))])
        try channel.connect(to: .init(ipAddress: "127.0.0.1", port: 1)).wait()
        try channel.writeInbound(ByteBuffer(string: request))
        channel.embeddedEventLoop.advanceTime(by: .seconds(3))
        return String(decoding: try HandlerTests.written(channel), as: UTF8.self)
    }

    static let upgrade = HandlerTests.request
    @Test("Each response: its status line, and exactly one Date, the settings' one", arguments: [
        (upgrade, "HTTP/1.1 101 Switching Protocols"),
        (upgrade.replacingOccurrences(of: "/chat", with: "/private"), "HTTP/1.1 403 Forbidden"),
        (upgrade.replacingOccurrences(of: "Version: 13", with: "Version: 8"), "HTTP/1.1 426 Upgrade Required"),
        ("GET /page HTTP/1.1\r\nHost: a\r\n\r\n", "HTTP/1.1 404 Not Found"),
        ("HEAD /page HTTP/1.1\r\nHost: a\r\n\r\n", "HTTP/1.1 404 Not Found"),
        ("GET /chat HTTP/1.1\r\n", "HTTP/1.1 408 Request Timeout"),
        ("GET /chat HTTP/1.1\r\nNo colon\r\n\r\n", "HTTP/1.1 400 Bad Request"),
    ])
    func dated(request: String, statusLine: String) throws {
        let response = try Self.response(to: request)
        let head = response.components(separatedBy: "\r\n\r\n")[0].components(separatedBy: "\r\n")
        #expect(head.first == statusLine)
        #expect(head.filter { $0.lowercased().hasPrefix("date:") } == [Self.dateLine])
    }

    @Test("By default the date is the wall clock's current second")
    func wallClock() {
        let before = Int64(Date().timeIntervalSince1970)
        let date = ServerSettings().date()
        let after = Int64(Date().timeIntervalSince1970)
        #expect(date.map { (before...after).contains($0.secondsSince1970) } == true)
        #expect(date == date.map { HTTPDate(secondsSince1970: $0.secondsSince1970) })
    }
}
