// SPDX-License-Identifier: Apache-2.0
import Testing
import WSTestSupport
import WSTLS

/// One certificate with one thing wrong, and what the client says about it.
struct BadCertificate: Sendable, CustomTestStringConvertible {
    var name: String
    var serverName: String
    var failure: VerificationFailure
    var result: Int32
    var reason: String
    var testDescription: String { "\(name) as \(serverName)" }
}

@Suite("TLS engine: verification and ignored failures")
struct EngineVerificationTests {
    static let cases: [BadCertificate] = [
        BadCertificate(name: "expired", serverName: "localhost", failure: .expired, result: 10,
                       reason: "certificate has expired"),
        BadCertificate(name: "notyet", serverName: "localhost", failure: .notYetValid, result: 9,
                       reason: "certificate is not yet valid"),
        BadCertificate(name: "otherhost", serverName: "localhost", failure: .hostNameMismatch, result: 62,
                       reason: "hostname mismatch"),
        BadCertificate(name: "server", serverName: "127.0.0.2", failure: .hostNameMismatch, result: 64,
                       reason: "IP address mismatch"),
        BadCertificate(name: "unknownca", serverName: "localhost", failure: .unknownIssuer, result: 20,
                       reason: "unable to get local issuer certificate"),
        BadCertificate(name: "selfsigned", serverName: "localhost", failure: .selfSigned, result: 18,
                       reason: "self-signed certificate"),
    ]

    @Test("Refused with its named error", arguments: cases)
    func refused(bad: BadCertificate) throws {
        var pair = try EnginePair(client: .test(), server: .test(bad.name), serverName: bad.serverName)
        try pair.client.start()
        try pair.toServer()
        let expected = TLSError.verificationFailed(
            VerificationError(failure: bad.failure, result: bad.result, reason: bad.reason, depth: 0))
        #expect(throws: expected) { try pair.toClient() }
        #expect(pair.client.state == .closed)
        #expect(pair.client.session == nil)
        // The alert tells the server why (RFC 8446 §6.2).
        #expect(throws: TLSError.self) { try pair.toServer() }
    }

    @Test("Ignoring exactly that failure lets it through", arguments: cases)
    func ignored(bad: BadCertificate) throws {
        var pair = try EnginePair(client: .test(ignoring: [bad.failure]), server: .test(bad.name),
                                  serverName: bad.serverName)
        try pair.handshake()
        #expect(pair.client.state == .established)
        #expect(pair.client.session?.ignoredFailures == [bad.failure])
    }

    @Test("Ignoring every other failure does not", arguments: cases)
    func otherIgnoresDoNotHelp(bad: BadCertificate) throws {
        let others = Set(VerificationFailure.allCases).subtracting([bad.failure])
        var pair = try EnginePair(client: .test(ignoring: others), server: .test(bad.name), serverName: bad.serverName)
        try pair.client.start()
        try pair.toServer()
        #expect(throws: TLSError.verificationFailed(
            VerificationError(failure: bad.failure, result: bad.result, reason: bad.reason, depth: 0))) {
            try pair.toClient()
        }
    }

    @Test func theServerHearsWhyItWasRefused() throws {
        var pair = try EnginePair(client: .test(), server: .test("expired"))
        try pair.client.start()
        try pair.toServer()
        #expect(throws: TLSError.self) { try pair.toClient() }
        #expect(throws: TLSError.handshakeFailed(reason: "sslv3 alert certificate expired")) { try pair.toServer() }
    }

    @Test func anUntrustedRootIsRefusedByTheSystemStore() throws {
        let client = TLSClientConfiguration()  // the system store: the test CA is not in it
        var pair = try EnginePair(client: client, server: .test())
        try pair.client.start()
        try pair.toServer()
        #expect(throws: TLSError.verificationFailed(VerificationError(
            failure: .unknownIssuer, result: 20, reason: "unable to get local issuer certificate", depth: 0))) {
            try pair.toClient()
        }
    }

    @Test func systemAndExtraRootsTrustTheTestCA() throws {
        let client = TLSClientConfiguration(trustRoots: .systemAnd([.bytes(try TestCertificates.bytes("ca.pem"))]))
        var pair = try EnginePair(client: client, server: .test())
        try pair.handshake()
        #expect(pair.client.state == .established)
    }

    @Test func verificationOffAcceptsAnything() throws {
        var client = TLSClientConfiguration()
        client.verifiesPeer = false
        var pair = try EnginePair(client: client, server: .test("selfsigned"), serverName: "other.example")
        try pair.handshake()
        #expect(pair.client.state == .established)
    }

    @Test func aPinnedKeyIsAccepted() throws {
        var client = try TLSClientConfiguration.test()
        client.pinnedPublicKeys = [try spki("server.spki")]
        var pair = try EnginePair(client: client, server: .test())
        try pair.handshake()
        #expect(pair.client.state == .established)
    }

    @Test func anotherKeyIsRefusedEvenWithAValidChain() throws {
        var client = try TLSClientConfiguration.test()
        client.pinnedPublicKeys = [[UInt8](repeating: 7, count: 32)]
        var pair = try EnginePair(client: client, server: .test())
        try pair.client.start()
        try pair.toServer()
        #expect(throws: TLSError.publicKeyPinMismatch(sha256: try spki("server.spki"))) { try pair.toClient() }
    }

    private func spki(_ name: String) throws -> [UInt8] {
        let text = try TestCertificates.text(name)
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var bits: UInt32 = 0, count = 0
        var out: [UInt8] = []
        for c in text.utf8 {
            guard let v = alphabet.firstIndex(of: c) else { continue }
            bits = bits << 6 | UInt32(v); count += 6
            if count >= 8 { count -= 8; out.append(UInt8(truncatingIfNeeded: bits >> UInt32(count))) }
        }
        return out
    }
}
