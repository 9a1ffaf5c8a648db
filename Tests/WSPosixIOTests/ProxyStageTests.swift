// SPDX-License-Identifier: Apache-2.0
import Testing
@testable import WSPosixIO
import WSProtocol

/// What a stage did with one input, comparable (``StreamStageStep`` is not `Equatable`).
enum StageOutcome: Hashable {
    case needMoreData(write: [UInt8])
    case done(write: [UInt8], leftover: [UInt8])
    case failed(WebSocketError)

    init(_ step: StreamStageStep) {
        switch step {
        case .needMoreData(let write): self = .needMoreData(write: write)
        case .done(let write, let leftover, _): self = .done(write: write, leftover: leftover)
        case .failed(let error): self = .failed(error)
        }
    }
}

/// Drives a stage with a script: the bytes the proxy sends, and at the end, everything the
/// stage wrote plus how it finished.
struct StageRun: Hashable {
    var written: [UInt8] = []
    var outcome: StageOutcome?

    /// Feeds `reply` in the given chunks (stops at the first `done` / `failed`).
    static func run(_ stage: some StreamStage, chunks: [[UInt8]], endOfStream: Bool = false) -> StageRun {
        var stage = stage
        var run = StageRun()
        run.written = stage.start(now: .zero)
        for (index, chunk) in chunks.enumerated() {
            let step = chunk.withUnsafeBytes { stage.receive($0, now: .seconds(1)) }
            switch StageOutcome(step) {
            case .needMoreData(let write): run.written += write
            case .done(let write, let leftover):
                // The driver hands later reads to what runs next: they follow the leftover.
                run.written += write
                run.outcome = .done(write: [], leftover: leftover + chunks[(index + 1)...].joined())
                return run
            case .failed(let error):
                // A failed stage's pending writes do not matter (the connection ends).
                run.written = []
                run.outcome = .failed(error)
                return run
            }
        }
        if endOfStream { run.outcome = StageOutcome(stage.receiveEndOfStream(now: .seconds(2))) }
        return run
    }

    /// The same run for the input whole, one byte at a time, and split at every point: all
    /// must agree (the stage may not depend on how reads fall).
    static func everySplit(_ make: () -> some StreamStage, _ reply: [UInt8], endOfStream: Bool = false) -> StageRun {
        let whole = run(make(), chunks: [reply], endOfStream: endOfStream)
        #expect(run(make(), chunks: reply.map { [$0] }, endOfStream: endOfStream) == whole, "byte by byte")
        for i in 0...reply.count {
            let split = run(make(), chunks: [Array(reply[..<i]), Array(reply[i...])], endOfStream: endOfStream)
            #expect(split == whole, "split at \(i)")
        }
        return whole
    }
}

@Suite("Proxy stages: HTTP CONNECT (RFC 9110 §9.3.6)")
struct HTTPConnectStageTests {
    static func stage(host: String = "ws.example", port: UInt16 = 8080,
                      credentials: WebSocket.Proxy.Credentials? = nil, maxReplySize: Int = 8192) -> HTTPConnectStage {
        HTTPConnectStage(host: host, port: port, credentials: credentials, timeout: .seconds(10), maxReplySize: maxReplySize)
    }

    static let request = Array("CONNECT ws.example:8080 HTTP/1.1\r\nHost: ws.example:8080\r\n\r\n".utf8)

    @Test func requestWithoutCredentials() {
        var s = Self.stage()
        #expect(s.start(now: .zero) == Self.request)
        #expect(s.nextDeadline == .seconds(10))
    }

    @Test func requestWithBasicCredentialsAndIPv6Target() {
        var s = Self.stage(host: "::1", port: 443, credentials: .init(user: "Aladdin", password: "open sesame"))
        // RFC 7617 §2's example credentials.
        #expect(s.start(now: .zero) == Array("""
            CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\nProxy-Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n\r\n
            """.utf8))
    }

    @Test func tunnelOpensOn200AndKeepsTheBytesAfterTheHead() {
        let reply = Array("HTTP/1.0 200 Connection established\r\nProxy-agent: test\r\n\r\n\u{81}\u{02}hi".utf8)
        let run = StageRun.everySplit({ Self.stage() }, reply)
        #expect(run.written == Self.request)
        #expect(run.outcome == .done(write: [], leftover: Array("\u{81}\u{02}hi".utf8)))
    }

    @Test func interimRepliesAreSkipped() {
        let reply = Array("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\n".utf8)
        #expect(StageRun.everySplit({ Self.stage() }, reply).outcome == .done(write: [], leftover: []))
    }

    @Test func status407IsProxyAuthenticationRequired() {
        let reply = Array("HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"x\"\r\nContent-Length: 0\r\n\r\n".utf8)
        #expect(StageRun.everySplit({ Self.stage() }, reply).outcome == .failed(.proxyAuthenticationRequired))
        // tinyproxy 1.11's answer to wrong credentials.
        let tinyproxy = Array("HTTP/1.0 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"Tinyproxy\"\r\n\r\n".utf8)
        #expect(StageRun.run(Self.stage(), chunks: [tinyproxy]).outcome == .failed(.proxyAuthenticationRequired))
    }

    @Test func otherStatusesAreRefusals() {
        let reply = Array("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 3\r\n\r\nbad".utf8)
        #expect(StageRun.everySplit({ Self.stage() }, reply).outcome == .failed(.proxyRefused("HTTP 502 Bad Gateway")))
        let forbidden = Array("HTTP/1.1 403 \r\n\r\n".utf8)
        #expect(StageRun.run(Self.stage(), chunks: [forbidden]).outcome == .failed(.proxyRefused("HTTP 403")))
    }

    @Test func aReplyThatIsNotHTTPIsAProtocolError() {
        let run = StageRun.run(Self.stage(), chunks: [[0x05, 0x00]])
        #expect(run.outcome == .failed(.proxyProtocolError("the proxy's reply is not HTTP (byte 5 where 'HTTP/' should begin)")))
        let late = StageRun.everySplit({ Self.stage() }, Array("HTTP/1.1 200 OK\r\n\r\n".utf8).prefix(4) + [0x00])
        #expect(late.outcome == .failed(.proxyProtocolError("the proxy's reply is not HTTP (byte 0 where 'HTTP/' should begin)")))
        let version = StageRun.run(Self.stage(), chunks: [Array("HTTP/x.1 200 OK\r\n".utf8)])
        #expect(version.outcome == .failed(.proxyProtocolError("the HTTP proxy's reply is not valid HTTP: invalid HTTP version")))
        let bareLF = StageRun.run(Self.stage(), chunks: [Array("HTTP/1.1 200 OK\n\n".utf8)])
        #expect(bareLF.outcome == .failed(.proxyProtocolError(
            "the HTTP proxy's reply is not valid HTTP: LF without CR")))
    }

    @Test func aReplyHeadOverTheLimitIsAProtocolError() {
        let reply = Array("HTTP/1.1 200 OK\r\nX: \(String(repeating: "a", count: 100))\r\n\r\n".utf8)
        let run = StageRun.run(Self.stage(maxReplySize: 64), chunks: [reply])
        #expect(run.outcome == .failed(.proxyProtocolError(
            "the HTTP proxy's reply head is over 64 bytes")))
    }

    @Test func endOfStreamMidReplyIsProxyConnectionClosed() {
        let run = StageRun.everySplit({ Self.stage() }, Array("HTTP/1.1 200 Conn".utf8), endOfStream: true)
        #expect(run.outcome == .failed(.proxyConnectionClosed))
    }

    @Test func theDeadlineIsProxyConnectionTimeout() {
        var s = Self.stage()
        _ = s.start(now: .zero)
        #expect(StageOutcome(s.handleTimeout(now: .seconds(9))) == .needMoreData(write: []))
        #expect(StageOutcome(s.handleTimeout(now: .seconds(10))) == .failed(.proxyConnectionTimeout))
        #expect(s.nextDeadline == nil)
    }
}

@Suite("Proxy stages: SOCKS5 (RFC 1928, RFC 1929) and SOCKS4a")
struct SOCKSStageTests {
    static func socks5(_ target: SOCKS5Stage.Target = .name("ws.example"), port: UInt16 = 8080,
                       credentials: WebSocket.Proxy.Credentials? = nil) -> SOCKS5Stage {
        SOCKS5Stage(target: target, port: port, credentials: credentials, timeout: .seconds(10))
    }

    /// CONNECT ws.example:8080 by name.
    static let nameRequest: [UInt8] = [0x05, 0x01, 0x00, 0x03, 10] + Array("ws.example".utf8) + [0x1F, 0x90]
    static let ipv4Reply: [UInt8] = [0x05, 0x00, 0x00, 0x01, 127, 0, 0, 1, 0x30, 0x39]

    @Test func noAuthenticationHostNameResolvedByTheProxy() {
        let reply: [UInt8] = [0x05, 0x00] + Self.ipv4Reply + [0x81, 0x00]
        let run = StageRun.everySplit({ Self.socks5() }, reply)
        #expect(run.written == [0x05, 0x01, 0x00] + Self.nameRequest)
        #expect(run.outcome == .done(write: [], leftover: [0x81, 0x00]))
    }

    @Test func userPasswordAuthentication() {
        let reply: [UInt8] = [0x05, 0x02, 0x01, 0x00] + [0x05, 0x00, 0x00, 0x04] + [UInt8](repeating: 0, count: 16) + [0, 80]
        let run = StageRun.everySplit({ Self.socks5(credentials: .init(user: "u", password: "pässword")) }, reply)
        #expect(run.written == [0x05, 0x02, 0x00, 0x02] + [0x01, 1, UInt8(ascii: "u"), 9] + Array("pässword".utf8)
                + Self.nameRequest)
        #expect(run.outcome == .done(write: [], leftover: []))
    }

    @Test func aProxyThatSkipsAuthenticationOfferedIsFine() {
        let run = StageRun.everySplit({ Self.socks5(credentials: .init(user: "u", password: "p")) }, [0x05, 0x00] + Self.ipv4Reply)
        #expect(run.written == [0x05, 0x02, 0x00, 0x02] + Self.nameRequest)
        #expect(run.outcome == .done(write: [], leftover: []))
    }

    @Test func numericTargets() {
        let v4 = StageRun.run(Self.socks5(.address(1, [10, 0, 0, 7]), port: 80), chunks: [[0x05, 0x00]])
        #expect(v4.written == [0x05, 0x01, 0x00, 0x05, 0x01, 0x00, 0x01, 10, 0, 0, 7, 0, 80])
        let v6Bytes = [UInt8](repeating: 0, count: 15) + [1]
        let v6 = StageRun.run(Self.socks5(.address(4, v6Bytes), port: 443), chunks: [[0x05, 0x00]])
        #expect(v6.written == [0x05, 0x01, 0x00, 0x05, 0x01, 0x00, 0x04] + v6Bytes + [0x01, 0xBB])
    }

    @Test func aDomainNameInTheReplyIsSkippedExactly() {
        let reply: [UInt8] = [0x05, 0x00, 0x05, 0x00, 0x00, 0x03, 3] + Array("abc".utf8) + [0, 1] + [0x42]
        #expect(StageRun.everySplit({ Self.socks5() }, reply).outcome == .done(write: [], leftover: [0x42]))
    }

    @Test func noAcceptableMethodIsProxyAuthenticationRequired() {
        #expect(StageRun.everySplit({ Self.socks5() }, [0x05, 0xFF]).outcome == .failed(.proxyAuthenticationRequired))
    }

    @Test func rejectedCredentialsAreProxyAuthenticationRequired() {
        let run = StageRun.everySplit({ Self.socks5(credentials: .init(user: "u", password: "bad")) }, [0x05, 0x02, 0x01, 0x01])
        #expect(run.outcome == .failed(.proxyAuthenticationRequired))
    }

    @Test func replyCodes() {
        func outcome(_ code: UInt8) -> StageOutcome? {
            StageRun.everySplit({ Self.socks5() }, [0x05, 0x00, 0x05, code, 0x00, 0x01, 0, 0, 0, 0, 0, 0]).outcome
        }
        #expect(outcome(1) == .failed(.proxyRefused("SOCKS5 reply 1: general SOCKS server failure")))
        #expect(outcome(2) == .failed(.proxyRefused("SOCKS5 reply 2: connection not allowed by ruleset")))
        #expect(outcome(4) == .failed(.proxyRefused("SOCKS5 reply 4: host unreachable")))
        #expect(outcome(5) == .failed(.proxyRefused("SOCKS5 reply 5: connection refused")))
        #expect(outcome(7) == .failed(.unsupportedSocketOperation("SOCKS5 reply 7: command not supported")))
        #expect(outcome(8) == .failed(.unsupportedSocketOperation("SOCKS5 reply 8: address type not supported")))
        #expect(outcome(9) == .failed(.proxyProtocolError("the SOCKS5 reply has the unassigned code 9")))
    }

    @Test func malformedReplies() {
        let notSOCKS = StageRun.run(Self.socks5(), chunks: [Array("HTTP/1.1 400 Bad Request\r\n".utf8)])
        #expect(notSOCKS.outcome == .failed(.proxyProtocolError("the proxy's reply is not SOCKS5 (version byte 72, expected 5)")))
        let method = StageRun.run(Self.socks5(), chunks: [[0x05, 0x02]])
        #expect(method.outcome == .failed(.proxyProtocolError("the SOCKS5 proxy chose method 2, which was not offered")))
        let reserved = StageRun.run(Self.socks5(), chunks: [[0x05, 0x00, 0x05, 0x00, 0x01, 0x01, 0x00]])
        #expect(reserved.outcome == .failed(.proxyProtocolError("the SOCKS5 reply's reserved byte is 1, not 0")))
        let type = StageRun.run(Self.socks5(), chunks: [[0x05, 0x00, 0x05, 0x00, 0x00, 0x02, 0]])
        #expect(type.outcome == .failed(.proxyProtocolError("the SOCKS5 reply has address type 2")))
        let auth = StageRun.run(Self.socks5(credentials: .init(user: "u", password: "p")), chunks: [[0x05, 0x02, 0x05, 0x00]])
        #expect(auth.outcome == .failed(.proxyProtocolError("the SOCKS5 authentication reply has version 5, not 1 (RFC 1929)")))
    }

    @Test func endOfStreamAndTimeout() {
        let run = StageRun.everySplit({ Self.socks5() }, [0x05, 0x00, 0x05, 0x00, 0x00], endOfStream: true)
        #expect(run.outcome == .failed(.proxyConnectionClosed))
        var s = Self.socks5()
        _ = s.start(now: .zero)
        #expect(StageOutcome(s.handleTimeout(now: .seconds(10))) == .failed(.proxyConnectionTimeout))
    }

    @Test func socks4a() {
        let byName = SOCKS4aStage(target: .name("ws.example"), port: 8080, user: "me", timeout: .seconds(10))
        let run = StageRun.everySplit({ byName }, [0x00, 0x5A, 0, 0, 0, 0, 0, 0, 0x81])
        #expect(run.written == [0x04, 0x01, 0x1F, 0x90, 0, 0, 0, 1] + Array("me".utf8) + [0] + Array("ws.example".utf8) + [0])
        #expect(run.outcome == .done(write: [], leftover: [0x81]))
        let byAddress = SOCKS4aStage(target: .address([127, 0, 0, 1]), port: 80, user: "", timeout: .seconds(10))
        var started = byAddress
        #expect(started.start(now: .zero) == [0x04, 0x01, 0, 80, 127, 0, 0, 1, 0])
        let refused = StageRun.everySplit({ byAddress }, [0x00, 0x5B, 0, 0, 0, 0, 0, 0])
        #expect(refused.outcome == .failed(.proxyRefused("SOCKS4 reply 91: request rejected or failed")))
        #expect(StageRun.run(byAddress, chunks: [[0x05, 0x00, 0, 0, 0, 0, 0, 0]]).outcome
                == .failed(.proxyProtocolError("the proxy's reply is not SOCKS4 (first byte 5, expected 0)")))
    }

    @Test func whatAProxyCannotCarry() throws {
        let socks4a = try WebSocket.Proxy(url: "socks4a://127.0.0.1:1080")
        #expect(throws: WebSocketError.unsupportedSocketOperation("a SOCKS4a proxy cannot reach an IPv6 address (::1)")) {
            _ = try socks4a.stage(host: "::1", port: 80, resolved: nil)
        }
        let http = try WebSocket.Proxy(url: "http://a%3Ab:c@127.0.0.1:3128")
        #expect(throws: WebSocketError.invalidArgument("proxy: a Basic user name cannot contain ':' (RFC 7617)")) {
            _ = try http.stage(host: "ws.example", port: 80, resolved: nil)
        }
        let long = WebSocket.Proxy(kind: .socks5h, host: "127.0.0.1", port: 1080,
                                   credentials: .init(user: String(repeating: "u", count: 256), password: ""))
        #expect(throws: WebSocketError.invalidArgument("proxy: SOCKS5 user name and password are 1-255 and 0-255 bytes (RFC 1929)")) {
            _ = try long.stage(host: "ws.example", port: 80, resolved: nil)
        }
    }
}
