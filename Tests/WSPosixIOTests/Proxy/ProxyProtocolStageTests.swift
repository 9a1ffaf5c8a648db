// SPDX-License-Identifier: Apache-2.0
import Testing
@testable import WSPosixIO
import WSProtocol

/// What a stage step did, comparable (``StreamStageStep`` carries no `Equatable`).
enum StageResult: Equatable {
    case needMore
    case done(leftover: [UInt8], facts: StreamStageFacts)
    case failed(WebSocketError)

    init(_ step: StreamStageStep) {
        switch step {
        case .needMoreData(let write): precondition(write.isEmpty); self = .needMore
        case .done(let write, let leftover, let facts): precondition(write.isEmpty); self = .done(leftover: leftover, facts: facts)
        case .failed(let error): self = .failed(error)
        }
    }
}

extension ProxyProtocolStage {
    mutating func feed(_ bytes: [UInt8], now: Instant = .zero) -> StageResult {
        StageResult(bytes.withUnsafeBytes { receive($0, now: now) })
    }
}

@Suite("PROXY protocol stage and trusted sources")
struct ProxyProtocolStageTests {
    static let deadline = Instant.seconds(10)

    @Test func trustedPeerMustSendAHeader() {
        let settings = ProxyProtocolSettings()
        var stage = settings.stage(for: SocketAddress(numericHost: "127.0.0.1", port: 4000), deadline: Self.deadline)
        #expect(stage.start(now: .zero) == [])
        #expect(stage.nextDeadline == Self.deadline)
        #expect(stage.feed(Array("PROXY TCP4 203.0.113.7 127.0.0.1 51000".utf8)) == .needMore)
        #expect(stage.feed(Array(" 8080\r\nGET / HTTP/1.1\r\n".utf8)) == .done(
            leftover: Array("GET / HTTP/1.1\r\n".utf8),
            facts: StreamStageFacts(source: v4("203.0.113.7", 51000), destination: v4("127.0.0.1", 8080))))
        #expect(stage.nextDeadline == nil)

        var missing = settings.stage(for: SocketAddress(numericHost: "::1", port: 4000), deadline: Self.deadline)
        #expect(missing.feed(Array("GET / HTTP/1.1\r\n".utf8)) == .failed(.proxyProtocol(.missingHeader)))
    }

    @Test func localHeaderLeavesTheSocketAddresses() {
        var stage = ProxyProtocolSettings().stage(for: SocketAddress(numericHost: "127.0.0.2", port: 1), deadline: nil)
        #expect(stage.feed(ProxyHeader.v2Signature + [0x20, 0x00, 0x00, 0x00]) == .done(leftover: [], facts: StreamStageFacts()))
    }

    @Test func untrustedPeerIsRefusedWhenItSendsAHeader() {
        let settings = ProxyProtocolSettings(trustedSources: [IPAddressPrefix("10.0.0.0/8")!])
        let outsider = SocketAddress(numericHost: "127.0.0.1", port: 4000)
        var v1 = settings.stage(for: outsider, deadline: Self.deadline)
        #expect(v1.feed(Array("PROX".utf8)) == .needMore)
        #expect(v1.feed(Array("Y TCP4 1.2.3.4 5.6.7.8 1 2\r\n".utf8)) == .failed(.proxyProtocol(.untrustedSource)))
        var v2 = settings.stage(for: outsider, deadline: Self.deadline)
        #expect(v2.feed(ProxyHeader.v2Signature) == .failed(.proxyProtocol(.untrustedSource)))
        // Anything else passes untouched, including what was held back to tell.
        var plain = settings.stage(for: outsider, deadline: Self.deadline)
        #expect(plain.feed(Array("P".utf8)) == .needMore)
        #expect(plain.feed(Array("OST / HTTP/1.1\r\n".utf8)) == .done(leftover: Array("POST / HTTP/1.1\r\n".utf8), facts: StreamStageFacts()))
        var http = settings.stage(for: outsider, deadline: Self.deadline)
        #expect(http.feed(Array("GET /".utf8)) == .done(leftover: Array("GET /".utf8), facts: StreamStageFacts()))
    }

    @Test func deadlineAndEndOfStream() {
        let settings = ProxyProtocolSettings()
        let proxy = SocketAddress(numericHost: "127.0.0.1", port: 4000)
        var slow = settings.stage(for: proxy, deadline: Self.deadline)
        #expect(slow.feed(Array("PROXY TCP4".utf8)) == .needMore)
        #expect(StageResult(slow.handleTimeout(now: .seconds(9))) == .needMore)
        #expect(StageResult(slow.handleTimeout(now: .seconds(10))) == .failed(.timeout(.handshake)))
        var cut = settings.stage(for: proxy, deadline: Self.deadline)
        #expect(cut.feed(Array("PROXY TCP4".utf8)) == .needMore)
        #expect(StageResult(cut.receiveEndOfStream(now: .zero)) == .failed(.proxyProtocol(.endOfStream)))
        var bad = settings.stage(for: proxy, deadline: Self.deadline)
        #expect(bad.feed(ProxyHeader.v2Signature + [0x21, 0x11, 0xFF, 0xFF]) == .failed(.proxyProtocol(.v2TooLong(length: 65535))))
    }

    @Test("Prefixes", arguments: [
        ("127.0.0.0/8", "127.255.0.1", true), ("127.0.0.0/8", "128.0.0.1", false),
        ("10.1.2.3", "10.1.2.3", true), ("10.1.2.3", "10.1.2.4", false),
        ("192.168.0.0/23", "192.168.1.200", true), ("192.168.0.0/23", "192.168.2.1", false),
        ("0.0.0.0/0", "8.8.8.8", true), ("0.0.0.0/0", "::1", false),
        ("::1/128", "::1", true), ("::1", "::2", false), ("[2001:db8::]/32", "2001:db8:ffff::1", true),
        ("2001:db8::/33", "2001:db8:8000::1", false), ("127.0.0.0/8", "::ffff:127.0.0.9", true),
    ] as [(String, String, Bool)])
    func prefixContains(prefix: String, address: String, expected: Bool) throws {
        let p = try #require(IPAddressPrefix(prefix))
        #expect(p.contains(try #require(SocketAddress(numericHost: address, port: 9))) == expected)
    }

    @Test("Invalid prefixes", arguments: ["", "localhost", "10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/-1",
                                          "10.0.0.0/+8", "10.0.0.0/8/8", "fe80::1%lo/64", "1.2.3.4 /8"])
    func invalidPrefix(text: String) {
        #expect(IPAddressPrefix(text) == nil)
    }

    @Test func prefixNormalisesItsNetwork() {
        #expect(IPAddressPrefix("10.1.2.3/8")?.description == "10.0.0.0/8")
        #expect(IPAddressPrefix.loopback.map(\.description) == ["127.0.0.0/8", "::1/128"])
    }
}
