// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing
@testable import WSPosixIO
import WSProtocol
import WSTestSupport

/// "An origin server with a clock MUST generate a Date header field in all 2xx, 3xx, and 4xx
/// responses" (RFC 9110 §6.6.1): every response the server writes carries exactly one `Date`,
/// an IMF-fixdate (§5.6.7) of the wall clock, the 101 and 5xx included.
@Suite("RFC 9110 §6.6.1 Date on the server's responses, over loopback", .timeLimit(.minutes(1)))
struct DateHeaderTests {
    static let upgrade = "GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"

    /// Sends `request` and reads the response up to the end of its head (or of the stream).
    static func exchange(_ server: WebSocketServer, _ request: String) async throws -> [UInt8] {
        let raw = try await RawTCP.connect(server.localAddress)
        try raw.write(request)
        return try await raw.read(until: { $0.firstRange(of: Array("\r\n\r\n".utf8)) != nil }, timeout: .seconds(10))
    }

    /// Checks that `response` has status `status` and exactly one `Date` field, an IMF-fixdate
    /// within the test's own clock readings around the exchange (a second's slack each side:
    /// the field has whole seconds, and the server's clock is read at a coarse tick).
    static func expectDated(_ response: [UInt8], status: Int, from start: Double, to end: Double,
                            sourceLocation: SourceLocation = #_sourceLocation) {
        let text = String(decoding: response, as: UTF8.self)
        #expect(text.hasPrefix("HTTP/1.1 \(status) "), "\(text)", sourceLocation: sourceLocation)
        let dates = IMFFixdate.dateFields(in: response)
        #expect(dates.count == 1, "\(text)", sourceLocation: sourceLocation)
        guard let field = dates.first else { return }
        guard let seconds = IMFFixdate.secondsSince1970(field) else {
            Issue.record("not an IMF-fixdate: \(field)", sourceLocation: sourceLocation)
            return
        }
        #expect(Double(seconds) >= start.rounded(.down) - 1 && Double(seconds) <= end + 1,
                "\(field) is not between \(start) and \(end)", sourceLocation: sourceLocation)
    }

    static var wallClock: Double { Date().timeIntervalSince1970 }

    @Test("400 for a request without Host, 426 for a plain GET (the core's and the binding's answers)")
    func badRequests() async throws {
        let server = try await Echo.server()
        let start = Self.wallClock
        let bad = try await Self.exchange(server, "GET / HTTP/1.1\r\n\r\n")
        let plain = try await Self.exchange(server, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        let version = try await Self.exchange(server, Self.upgrade.replacingOccurrences(of: "Version: 13", with: "Version: 8"))
        let end = Self.wallClock
        Self.expectDated(bad, status: 400, from: start, to: end)
        Self.expectDated(plain, status: 426, from: start, to: end)
        Self.expectDated(version, status: 426, from: start, to: end)
        await server.shutdown(timeout: .seconds(1))
    }

    @Test("404 from the upgrade handler and from the HTTP handler, 200 to a HEAD, and the 101")
    func applicationResponses() async throws {
        let server = try await WebSocketServer.bind(port: 0, onUpgrade: { request in
            request.path == "/chat" ? .accept() : .reject(HTTPResponse(status: 404, text: "no such endpoint\n"))
        }, onHTTPRequest: { head in
            head.path == "/" ? HTTPResponse(status: 200, text: "page\n") : HTTPResponse(status: 404, text: "not found\n")
        }) { ws in for await _ in ws {} }
        let start = Self.wallClock
        let rejected = try await Self.exchange(server, Self.upgrade.replacingOccurrences(of: "/chat", with: "/nowhere"))
        let missing = try await Self.exchange(server, "GET /missing HTTP/1.1\r\nHost: x\r\n\r\n")
        let head = try await Self.exchange(server, "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n")
        let accepted = try await Self.exchange(server, Self.upgrade)
        let end = Self.wallClock
        Self.expectDated(rejected, status: 404, from: start, to: end)
        Self.expectDated(missing, status: 404, from: start, to: end)
        Self.expectDated(head, status: 200, from: start, to: end)
        Self.expectDated(accepted, status: 101, from: start, to: end)
        await server.shutdown(timeout: .seconds(1))
    }

    @Test("503 at the connection cap")
    func connectionCap() async throws {
        var config = WebSocketServer.Configuration()
        config.maxConnections = 1
        let server = try await Echo.server(configuration: config)
        let first = try await WebSocket.connect(host: "127.0.0.1", port: server.port)
        let start = Self.wallClock
        let refused = try await Self.exchange(server, Self.upgrade)
        Self.expectDated(refused, status: 503, from: start, to: Self.wallClock)
        try first.close()
        await server.shutdown(timeout: .seconds(1))
    }

    @Test("The application's own Date is the only one")
    func applicationDateKept() async throws {
        let fixed = "Sun, 06 Nov 1994 08:49:37 GMT"
        let server = try await WebSocketServer.bind(port: 0, onUpgrade: { _ in
            .reject(HTTPResponse(status: 403, headers: ["date": fixed], text: "no\n"))
        }, onHTTPRequest: { _ in
            HTTPResponse(status: 200, headers: ["Date": fixed], text: "page\n")
        }) { _ in }
        let rejected = try await Self.exchange(server, Self.upgrade)
        let page = try await Self.exchange(server, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(IMFFixdate.dateFields(in: rejected) == [fixed])
        #expect(IMFFixdate.dateFields(in: page) == [fixed])
        await server.shutdown(timeout: .seconds(1))
    }

    @Test("The wall clock's date is the current second, formatted")
    func wallClock() {
        let before = Int64(Self.wallClock)
        let date = WallClock.httpDate()
        let after = Int64(Self.wallClock)
        #expect(date.secondsSince1970 >= before - 1 && date.secondsSince1970 <= after)
        #expect(date == HTTPDate(secondsSince1970: date.secondsSince1970))
    }
}

/// What the server writes when the application's decision cannot be written as asked.
@Suite("Decisions the handshake cannot write, over loopback", .timeLimit(.minutes(1)))
struct UnwritableDecisionTests {
    /// A refusal with an interim status (a "101" looked like an acceptance without its key)
    /// is answered 500, as an acceptance the handshake cannot write is, and the connection ends.
    @Test(arguments: [101, 199])
    func anInterimRefusalIsAnswered500(status: Int) async throws {
        let server = try await WebSocketServer.bind(port: 0, onUpgrade: { _ in .reject(HTTPResponse(status: status)) },
                                                    onConnection: { _ in })
        let raw = try await RawTCP.connect(server.localAddress)
        try raw.write(DateHeaderTests.upgrade)
        let (response, sawEOF) = try await raw.readToEnd(timeout: .seconds(10))
        let body = "Internal Server Error: Invalid argument: status \(status) is interim: it cannot refuse a request"
        #expect(String(decoding: IMFFixdate.removingDateFields(response), as: UTF8.self)
                == "HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n"
                + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)")
        #expect(IMFFixdate.dateFields(in: response).count == 1)
        #expect(sawEOF)
        await server.shutdown(timeout: .seconds(1))
    }

    /// The same for an acceptance naming a subprotocol the client did not offer.
    @Test func anAcceptanceWithASubprotocolNotOfferedIsAnswered500() async throws {
        let server = try await WebSocketServer.bind(port: 0, onUpgrade: { _ in .accept(subprotocol: "chat") },
                                                    onConnection: { _ in })
        let raw = try await RawTCP.connect(server.localAddress)
        try raw.write(DateHeaderTests.upgrade)
        let (response, sawEOF) = try await raw.readToEnd(timeout: .seconds(10))
        let body = "Internal Server Error: Invalid argument: subprotocol chat was not offered"
        #expect(String(decoding: IMFFixdate.removingDateFields(response), as: UTF8.self)
                == "HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n"
                + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)")
        #expect(sawEOF)
        await server.shutdown(timeout: .seconds(1))
    }
}
