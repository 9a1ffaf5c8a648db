// SPDX-License-Identifier: Apache-2.0
import Testing
import WSProtocol
import WSTestSupport

@Suite("RFC 9110 §5.6.7 IMF-fixdate")
struct HTTPDateTests {
    @Test("Fixed instants", arguments: [
        (0, "Thu, 01 Jan 1970 00:00:00 GMT"),
        (784_111_777, "Sun, 06 Nov 1994 08:49:37 GMT"),  // RFC 9110 §5.6.7's example
        (951_782_400, "Tue, 29 Feb 2000 00:00:00 GMT"),  // a leap day in a year divisible by 400
        (951_868_800, "Wed, 01 Mar 2000 00:00:00 GMT"),
        (4_107_542_399, "Sun, 28 Feb 2100 23:59:59 GMT"),
        (4_107_542_400, "Mon, 01 Mar 2100 00:00:00 GMT"),  // 2100 has no 29 February
        (1_233_633_906, "Tue, 03 Feb 2009 04:05:06 GMT"),  // every field zero-padded
        (-1, "Wed, 31 Dec 1969 23:59:59 GMT"),
        (-2_203_891_200, "Thu, 01 Mar 1900 00:00:00 GMT"),
        (-11_670_955_200, "Tue, 29 Feb 1600 12:00:00 GMT"),
        (253_402_300_799, "Fri, 31 Dec 9999 23:59:59 GMT"),
        (-62_135_596_800, "Mon, 01 Jan 0001 00:00:00 GMT"),
    ] as [(Int64, String)])
    func fixedInstants(seconds: Int64, text: String) {
        let date = HTTPDate(secondsSince1970: seconds)
        #expect(date.imfFixdate == text)
        #expect(date.description == text)
        #expect(date.secondsSince1970 == seconds)
    }

    @Test("Seconds outside years 0001–9999 are clamped to them")
    func clamping() {
        #expect(HTTPDate(secondsSince1970: .max) == HTTPDate(secondsSince1970: 253_402_300_799))
        #expect(HTTPDate(secondsSince1970: .min).imfFixdate == "Mon, 01 Jan 0001 00:00:00 GMT")
        #expect(HTTPDate(secondsSince1970: 253_402_300_800).imfFixdate == "Fri, 31 Dec 9999 23:59:59 GMT")
    }

    @Test("Any second reads back as itself, with its day name (an independent parser)")
    func roundTrip() throws {
        var rng = SeededGenerator(seed: 9110)
        // Every 37th second around 29 February 2000, the turn of 2000 and 1 March 2100, then random ones.
        var samples: [Int64] = Array(stride(from: 951_782_400 - 86_400, to: 951_782_400 + 2 * 86_400, by: 37))
        samples += Array(stride(from: 946_684_800 - 86_400, to: 946_684_800 + 86_400, by: 37))
        samples += Array(stride(from: 4_107_542_400 - 2 * 86_400, to: 4_107_542_400 + 86_400, by: 37))
        samples += (0..<5_000).map { _ in Int64.random(in: HTTPDate.range, using: &rng) }
        for seconds in samples {
            let text = HTTPDate(secondsSince1970: seconds).imfFixdate
            let parsed = try #require(IMFFixdate.secondsSince1970(text), "\(seconds): \(text)")
            #expect(parsed == seconds, "\(seconds): \(text)")
        }
    }
}

@Suite("RFC 9110 §6.6.1 Date on the responses ServerHandshake writes")
struct ServerHandshakeDateTests {
    static let date = HTTPDate(secondsSince1970: 784_111_777)

    static func awaitingDecision() -> ServerHandshake {
        var hs = ServerHandshake(now: .zero)
        _ = hs.receive(ServerHandshakeTests.request.bytes, now: .zero)
        return hs
    }

    @Test("Without a date (a server without a clock) no response has one")
    func noClockNoDate() throws {
        var bad = ServerHandshake(now: .zero)
        guard case .invalid(_, let response) = bad.receive("GET / HTTP/1.1\r\n\r\n".bytes, now: .zero) else {
            Issue.record("not refused"); return
        }
        #expect(IMFFixdate.dateFields(in: response) == [])
        var hs = Self.awaitingDecision()
        #expect(IMFFixdate.dateFields(in: try hs.reject(status: 403)) == [])
        let request = try #require(UpgradeRequest.sample)
        var accepting = Self.awaitingDecision()
        let (head, _, _) = try accepting.accept(request, now: .zero)
        #expect(IMFFixdate.dateFields(in: head) == [])
    }

    @Test("A bad request's answer carries the date once, the rest unchanged", arguments: [
        "GET / HTTP/1.1\r\n\r\n",  // 400: no Host
        "GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 7\r\n\r\n",  // 426
    ])
    func errorResponses(request: String) {
        var dated = ServerHandshake(now: .zero)
        var undated = ServerHandshake(now: .zero)
        guard case .invalid(let error, let response) = dated.receive(request.bytes, now: .zero, date: Self.date),
              case .invalid(_, let plain) = undated.receive(request.bytes, now: .zero) else {
            Issue.record("not refused"); return
        }
        #expect(IMFFixdate.dateFields(in: response) == ["Sun, 06 Nov 1994 08:49:37 GMT"])
        #expect(IMFFixdate.removingDateFields(response) == plain)
        #expect(ServerHandshake.errorResponse(for: error, date: Self.date) == response)
    }

    @Test("The 408 at the head deadline carries the date")
    func timeout() {
        var hs = ServerHandshake(now: .zero)
        _ = hs.receive("GET / HT".bytes, now: .zero)
        guard case .invalid(.timedOut, let response) = hs.handleTimeout(now: .zero + .seconds(10), date: Self.date) else {
            Issue.record("no timeout"); return
        }
        #expect(response.starts(with: "HTTP/1.1 408 ".bytes))
        #expect(IMFFixdate.dateFields(in: response) == ["Sun, 06 Nov 1994 08:49:37 GMT"])
        #expect(IMFFixdate.removingDateFields(response) == ServerHandshake.errorResponse(for: .timedOut))
    }

    @Test("reject: the date once, unless the application's headers have a Date")
    func rejection() throws {
        var hs = Self.awaitingDecision()
        let response = try hs.reject(status: 401, headers: ["WWW-Authenticate": "Basic realm=\"ws\""], date: Self.date)
        #expect(response == """
            HTTP/1.1 401 Unauthorized\r
            WWW-Authenticate: Basic realm="ws"\r
            Date: Sun, 06 Nov 1994 08:49:37 GMT\r
            Connection: close\r
            Content-Length: 0\r
            \r\n
            """.bytes)
        var own = Self.awaitingDecision()
        let kept = try own.reject(status: 403, headers: ["date": "Thu, 01 Jan 1970 00:00:00 GMT"], date: Self.date)
        #expect(IMFFixdate.dateFields(in: kept) == ["Thu, 01 Jan 1970 00:00:00 GMT"])
    }

    @Test("accept: the 101 carries the date once, unless the application's headers have a Date")
    func acceptance() throws {
        var hs = Self.awaitingDecision()
        let request = try #require(UpgradeRequest.sample)
        let (response, _, _) = try hs.accept(request, now: .zero, date: Self.date)
        var undated = Self.awaitingDecision()
        let (plain, _, _) = try undated.accept(request, now: .zero)
        #expect(response.starts(with: "HTTP/1.1 101 Switching Protocols\r\n".bytes))
        #expect(IMFFixdate.dateFields(in: response) == ["Sun, 06 Nov 1994 08:49:37 GMT"])
        #expect(IMFFixdate.removingDateFields(response) == plain)
        let (head, _) = try ServerHandshake.acceptResponse(for: request, subprotocol: nil, extensions: [],
                                                           headers: ["Date": "Mon, 01 Jan 0001 00:00:00 GMT"], date: Self.date)
        #expect(head.headers["Date"] == ["Mon, 01 Jan 0001 00:00:00 GMT"])
    }
}

extension UpgradeRequest {
    /// The RFC 6455 §1.3 request, validated.
    fileprivate static var sample: UpgradeRequest? {
        var hs = ServerHandshake(now: .zero)
        return ServerOutcome(hs.receive(ServerHandshakeTests.request.bytes, now: .zero)).request
    }
}
