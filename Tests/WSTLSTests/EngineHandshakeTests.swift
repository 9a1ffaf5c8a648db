// SPDX-License-Identifier: Apache-2.0
import Testing
import WSTestSupport
import WSTLS

@Suite("TLS engine: handshake and data in memory")
struct EngineHandshakeTests {
    @Test("Handshake and data both ways", arguments: [TLSVersion.v1_2, .v1_3])
    func handshakeAndData(version: TLSVersion) throws {
        var client = try TLSClientConfiguration.test()
        client.maximumVersion = version
        var pair = try EnginePair(client: client, server: .test())
        try pair.handshake()
        #expect(pair.client.state == .established)
        #expect(pair.server.state == .established)
        let session = try #require(pair.client.session)
        #expect(session.version == version.rawValue)
        #expect(pair.server.session?.version == version.rawValue)
        #expect(session.cipher == (version == .v1_3 ? "TLS_AES_128_GCM_SHA256" : "ECDHE-ECDSA-AES256-GCM-SHA384"))
        #expect(session.applicationProtocol == "http/1.1")
        #expect(session.ignoredFailures.isEmpty)
        let certificate = try #require(session.peerCertificate)
        #expect(certificate.subject == "CN=localhost")
        #expect(certificate.issuer == "CN=WSTLS Test CA")
        let fingerprint = certificate.sha256Fingerprint.map { hex($0) }.joined(separator: ":")
        #expect(fingerprint == (try TestCertificates.text("server.fp")))
        #expect(base64(certificate.publicKeySHA256) == (try TestCertificates.text("server.spki")))
        #expect(certificate.notAfter - certificate.notBefore == 31 * 86_400)
        #expect(pair.server.session?.peerCertificate == nil)  // no client certificate asked for

        let hello = Array("hello from the client".utf8)
        try hello.withUnsafeBytes { try pair.client.send($0) }
        try pair.toServer()
        #expect(pair.serverReceived == hello)
        let big = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try big.withUnsafeBytes { try pair.server.send($0) }
        try pair.toClient()
        #expect(pair.clientReceived == big)
    }

    @Test("TLS 1.3: no session ticket by default, the configured number otherwise", arguments: [0, 1, 2])
    func sessionTicketsTLS13(count: Int) throws {
        var server = try TLSServerConfiguration.test()
        if count > 0 { server.sessionTickets = count }
        var pair = try EnginePair(client: .test(), server: server)
        try pair.client.start()
        try pair.toServer()  // ClientHello
        try pair.toClient()  // ServerHello ... Finished
        try pair.toServer()  // the client's Finished: the server is done, and sends its tickets
        #expect(pair.server.state == .established)
        let afterHandshake = pair.server.takeOutput()
        // Each NewSessionTicket is one encrypted record (outer type 23, application data).
        let records = try tlsRecords(afterHandshake)
        #expect(records.map(\.type) == Array(repeating: 23, count: count))
        try afterHandshake.withUnsafeBytes { try pair.client.receive($0, into: &pair.clientReceived) }
        #expect(pair.client.state == .established)
        #expect(pair.clientReceived.isEmpty)
    }

    @Test("TLS 1.2: no ticket by default, one when tickets are on", arguments: [0, 1])
    func sessionTicketsTLS12(count: Int) throws {
        var client = try TLSClientConfiguration.test()
        client.maximumVersion = .v1_2
        var server = try TLSServerConfiguration.test()
        server.sessionTickets = count
        var pair = try EnginePair(client: client, server: server)
        try pair.client.start()
        try pair.toServer()  // ClientHello
        try pair.toClient()  // ServerHello, Certificate, ServerKeyExchange, ServerHelloDone
        try pair.toServer()  // ClientKeyExchange, ChangeCipherSpec, Finished
        let finalFlight = try tlsRecords(pair.server.takeOutput())
        // NewSessionTicket (handshake type 4, in clear before ChangeCipherSpec), then
        // ChangeCipherSpec (record type 20) and the encrypted Finished (22).
        let expected: [UInt8] = count > 0 ? [22, 20, 22] : [20, 22]
        #expect(finalFlight.map(\.type) == expected)
        if count > 0 { #expect(finalFlight[0].firstByte == 4) }
    }

    @Test("A ticket count outside 0...16 is a configuration error", arguments: [-1, 17, Int.max])
    func aTicketCountOutOfRangeIsAConfigurationError(count: Int) throws {
        var server = try TLSServerConfiguration.test()
        server.sessionTickets = count
        #expect(throws: TLSError.invalidConfiguration("session tickets \(count) not in 0...16")) {
            _ = try TLSContext(server: server)
        }
    }


    @Test func anIPAddressIsVerifiedAgainstTheCertificate() throws {
        var pair = try EnginePair(client: .test(), server: .test(), serverName: "127.0.0.1")
        try pair.handshake()
        #expect(pair.client.state == .established)
        var ipv6 = try EnginePair(client: .test(), server: .test(), serverName: "[::1]")
        try ipv6.handshake()
        #expect(ipv6.client.state == .established)
    }

    /// OpenSSL reads the name as a C string: "localhost\0evil.example" would be verified (and
    /// sent as SNI) as "localhost", a name the caller did not give.
    @Test("A server name with a NUL byte is a configuration error", arguments: [
        "localhost\0evil.example", "127.0.0.1\0evil", "\0", "[::1]\0",
    ])
    func aServerNameWithANULByteIsRefused(name: String) throws {
        let context = try TLSContext(client: .test())
        #expect(throws: TLSError.invalidConfiguration("invalid server name: it contains a NUL byte")) {
            _ = try TLSEngine(context: context, serverName: name)
        }
    }

    @Test func bytesSentBeforeTheHandshakeWaitAndAreNeverInClear() throws {
        var pair = try EnginePair(client: .test(), server: .test())
        let request = Array("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n".utf8)
        try request.withUnsafeBytes { try pair.client.send($0) }
        try pair.client.start()
        var wire: [UInt8] = []
        for _ in 0..<10 where pair.client.hasOutput || pair.server.hasOutput {
            let bytes = pair.client.takeOutput()
            wire += bytes
            try bytes.withUnsafeBytes { try pair.server.receive($0, into: &pair.serverReceived) }
            try pair.toClient()
        }
        #expect(pair.serverReceived == request)
        #expect(!wire.contains(Array("GET /".utf8)))
    }

    @Test func thePendingBudgetIsEnforced() throws {
        var config = try TLSClientConfiguration.test()
        config.maxPendingBytes = 1000
        let pair = try EnginePair(client: config, server: .test())
        let bytes = [UInt8](repeating: 1, count: 600)
        try bytes.withUnsafeBytes { try pair.client.send($0) }
        #expect(throws: TLSError.pendingLimitExceeded(limit: 1000)) {
            try bytes.withUnsafeBytes { try pair.client.send($0) }
        }
    }

    @Test func aVersionBelowTheServersMinimumIsRefused() throws {
        var client = try TLSClientConfiguration.test()
        client.maximumVersion = .v1_2
        var server = try TLSServerConfiguration.test()
        server.minimumVersion = .v1_3
        var pair = try EnginePair(client: client, server: server)
        try pair.client.start()
        #expect(throws: TLSError.handshakeFailed(reason: "unsupported protocol")) { try pair.toServer() }
        #expect(throws: TLSError.handshakeFailed(reason: "tlsv1 alert protocol version")) { try pair.toClient() }
    }

    @Test func mutualTLS() throws {
        var client = try TLSClientConfiguration.test()
        client.certificateChain = .file(try TestCertificates.path("client.pem"))
        client.privateKey = .bytes(try TestCertificates.bytes("client.key"))
        var server = try TLSServerConfiguration.test()
        server.clientAuthentication = .required(.only([.bytes(try TestCertificates.bytes("ca.pem"))]))
        var pair = try EnginePair(client: client, server: server)
        try pair.handshake()
        #expect(pair.server.state == .established)
        #expect(pair.server.session?.peerCertificate?.subject == "CN=WSTLS Test Client")
    }

    @Test func aRequiredClientCertificateThatIsMissingIsRefused() throws {
        var server = try TLSServerConfiguration.test()
        server.clientAuthentication = .required(.only([.file(try TestCertificates.path("ca.pem"))]))
        var pair = try EnginePair(client: .test(), server: server)
        try pair.client.start()
        try pair.toServer()
        try pair.toClient()  // TLS 1.3: the client is done once it sent its Finished
        #expect(pair.client.state == .established)
        #expect(throws: TLSError.handshakeFailed(reason: "peer did not return a certificate")) { try pair.toServer() }
        #expect(throws: TLSError.protocolError(reason: "tlsv13 alert certificate required")) { try pair.toClient() }
    }

    @Test func badConfigurationsAreTypedErrors() throws {
        #expect(throws: TLSError.invalidConfiguration("no PEM certificate in 5 bytes of PEM")) {
            _ = try TLSContext(server: TLSServerConfiguration(certificateChain: .bytes(Array("hello".utf8)),
                                                              privateKey: .bytes([])))
        }
        #expect(throws: TLSError.self) {
            _ = try TLSContext(server: TLSServerConfiguration(certificateChain: .file("/nonexistent.pem"),
                                                              privateKey: .file("/nonexistent.key")))
        }
        let mismatch = TLSServerConfiguration(certificateChain: .file(try TestCertificates.path("server.pem")),
                                              privateKey: .file(try TestCertificates.path("client.key")))
        #expect(throws: TLSError.invalidConfiguration("the private key does not match the certificate: key values mismatch")) {
            _ = try TLSContext(server: mismatch)
        }
    }

    /// A path is a C string to OpenSSL: "server.pem\0.bak" would load server.pem.
    @Test func aFileNameWithANULByteIsAConfigurationError() throws {
        let nul = TLSError.invalidConfiguration("invalid file name: it contains a NUL byte")
        var server = try TLSServerConfiguration.test()
        server.certificateChain = .file(try TestCertificates.path("server.pem") + "\0.bak")
        #expect(throws: nul) { _ = try TLSContext(server: server) }
        server = try TLSServerConfiguration.test()
        server.privateKey = .file(try TestCertificates.path("server.key") + "\0.bak")
        #expect(throws: nul) { _ = try TLSContext(server: server) }
        let client = TLSClientConfiguration(trustRoots: .only([.file(try TestCertificates.path("ca.pem") + "\0.bak")]))
        #expect(throws: nul) { _ = try TLSContext(client: client) }
    }
}

func hex(_ byte: UInt8) -> String {
    let digits = Array("0123456789ABCDEF")
    return String([digits[Int(byte >> 4)], digits[Int(byte & 15)]])
}

func base64(_ bytes: [UInt8]) -> String {
    let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
    var out = ""
    var i = 0
    while i < bytes.count {
        let n = min(3, bytes.count - i)
        var chunk = UInt32(bytes[i]) << 16
        if n > 1 { chunk |= UInt32(bytes[i + 1]) << 8 }
        if n > 2 { chunk |= UInt32(bytes[i + 2]) }
        for j in 0..<4 { out.append(j <= n ? alphabet[Int((chunk >> (18 - 6 * UInt32(j))) & 63)] : "=") }
        i += 3
    }
    return out
}

/// The records of a TLS byte stream: each record's content type and the first byte of its body.
private func tlsRecords(_ bytes: [UInt8]) throws -> [(type: UInt8, firstByte: UInt8)] {
    var records: [(type: UInt8, firstByte: UInt8)] = []
    var index = 0
    while index < bytes.count {
        try #require(index + 5 <= bytes.count)
        let length = Int(bytes[index + 3]) << 8 | Int(bytes[index + 4])
        try #require(length > 0 && index + 5 + length <= bytes.count)
        records.append((bytes[index], bytes[index + 5]))
        index += 5 + length
    }
    return records
}

@Suite struct ConfigurationBoundsTests {
    /// Protocol names taking `bytes` bytes in wire format (each with its length byte).
    private func protocols(wireBytes bytes: Int) -> [String] {
        var names: [String] = []
        var left = bytes
        while left > 0 {
            // 255 bytes a name, but never leaving a last one too short for its tag.
            let length = left - 1 <= 255 ? left - 1 : (left - 1 - 255 < 16 ? 200 : 255)
            let tag = String(names.count)
            names.append(tag + String(repeating: "p", count: length - tag.utf8.count))
            left -= length + 1
        }
        return names
    }

    /// The list travels in the ClientHello's extensions (at most 2^16-1 bytes in all): a longer
    /// one was accepted and failed every handshake with "internal error".
    @Test func anALPNListLongerThanAHandshakeHoldsIsAConfigurationError() throws {
        let limit = TLSContext.maxALPNBytes
        var client = try TLSClientConfiguration.test()
        client.applicationProtocols = protocols(wireBytes: limit - 9) + ["http/1.1"]
        var pair = try EnginePair(client: client, server: try .test())
        try pair.handshake()
        #expect(pair.client.session?.applicationProtocol == "http/1.1")

        client.applicationProtocols = protocols(wireBytes: limit - 8) + ["http/1.1"]
        #expect(throws: TLSError.invalidConfiguration("ALPN protocols take 32769 bytes; at most 32768 fit in a handshake")) {
            _ = try TLSContext(client: client)
        }
        var server = try TLSServerConfiguration.test()
        server.applicationProtocols = protocols(wireBytes: limit + 1)
        #expect(throws: TLSError.invalidConfiguration("ALPN protocols take 32769 bytes; at most 32768 fit in a handshake")) {
            _ = try TLSContext(server: server)
        }
    }

    /// A memory BIO takes an `int` length: PEM bytes beyond it trapped converting the count.
    /// (The array's pages are never touched: allocated, not resident.)
    @Test func pemBytesLongerThanAMemoryBIOHoldsAreAConfigurationError() throws {
        let count = Int(Int32.max) + 1
        let huge = [UInt8](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
        var server = try TLSServerConfiguration.test()
        server.certificateChain = .bytes(huge)
        #expect(throws: TLSError.invalidConfiguration("2147483648 bytes of PEM: more than a memory BIO holds (2147483647)")) {
            _ = try TLSContext(server: server)
        }
    }
}
