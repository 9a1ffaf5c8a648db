// SPDX-License-Identifier: Apache-2.0
import Testing
import WSTestSupport
import WSTLS

@Suite("TLS engine: split flights, close_notify, truncation, garbage")
struct EngineStreamTests {
    /// Every flight of the handshake (ClientHello; the server's flight; the client's Finished)
    /// cut at every byte position gives the same result: both sides established, data flows.
    @Test("Every split point of the first flights", arguments: [TLSVersion.v1_2, .v1_3])
    func everySplitPoint(version: TLSVersion) throws {
        var client = try TLSClientConfiguration.test()
        client.maximumVersion = version
        let server = try TLSServerConfiguration.test()
        let clientContext = try TLSContext(client: client)
        let serverContext = try TLSContext(server: server)
        var checked = 0
        for flight in 0..<3 {
            var split = 1
            while true {
                let c = try TLSEngine(context: clientContext, serverName: "localhost")
                let s = try TLSEngine(context: serverContext)
                var sink: [UInt8] = []
                try c.start()
                var length = 0
                for index in 0..<4 {
                    let (from, to) = index % 2 == 0 ? (c, s) : (s, c)
                    let bytes = from.takeOutput()
                    if index == flight {
                        length = bytes.count
                        guard split < length else { break }
                        try bytes[..<split].withUnsafeBytes { try to.receive($0, into: &sink) }
                        #expect(to.hasOutput == false || index == 1, "flight \(flight) split \(split)")
                        try bytes[split...].withUnsafeBytes { try to.receive($0, into: &sink) }
                    } else {
                        try bytes.withUnsafeBytes { try to.receive($0, into: &sink) }
                    }
                }
                guard split < length else { break }
                #expect(c.state == .established && s.state == .established, "flight \(flight) split \(split)")
                let ping = Array("ping".utf8)
                try ping.withUnsafeBytes { try c.send($0) }
                var received: [UInt8] = []
                try c.takeOutput().withUnsafeBytes { try s.receive($0, into: &received) }
                #expect(received == ping, "flight \(flight) split \(split)")
                split += 1
                checked += 1
            }
        }
        #expect(checked > 500)
    }

    @Test func closeNotifyBothWays() throws {
        var pair = try EnginePair(client: .test(), server: .test())
        try pair.handshake()
        pair.client.close()
        #expect(pair.client.sentCloseNotify)
        #expect(throws: TLSError.closed) { try [1, 2, 3].withUnsafeBytes { try pair.client.send($0) } }
        let last = Array("last words".utf8)
        try last.withUnsafeBytes { try pair.server.send($0) }
        try pair.toServer()
        #expect(pair.server.receivedCloseNotify)
        #expect(pair.server.state == .closed)
        try pair.toClient()  // the data sent before the server saw our close_notify, then its reply
        #expect(pair.clientReceived == last)
        #expect(pair.client.receivedCloseNotify)
        #expect(pair.client.state == .closed)
        try pair.client.receiveEndOfStream()
        try pair.server.receiveEndOfStream()
    }

    @Test func closeDuringTheHandshakeSendsWhatWaitsThenCloseNotify() throws {
        var pair = try EnginePair(client: .test(), server: .test())
        let response = Array("HTTP/1.1 503 Service Unavailable\r\n\r\n".utf8)
        try pair.client.start()
        try pair.toServer()
        try response.withUnsafeBytes { try pair.server.send($0) }
        pair.server.close()
        #expect(!pair.server.sentCloseNotify)
        #expect(throws: TLSError.closed) { try [1].withUnsafeBytes { try pair.server.send($0) } }
        try pair.toClient()
        try pair.toServer()  // the client's Finished: the server sends the response, then close_notify
        #expect(pair.server.sentCloseNotify)
        try pair.toClient()
        #expect(pair.clientReceived == response)
        #expect(pair.client.receivedCloseNotify)
    }

    @Test func anEndOfStreamWithoutCloseNotifyIsATruncation() throws {
        var pair = try EnginePair(client: .test(), server: .test())
        try pair.handshake()
        #expect(throws: TLSError.truncated) { try pair.client.receiveEndOfStream() }
        #expect(pair.client.failure == .truncated)
        #expect(throws: TLSError.truncated) { try [1].withUnsafeBytes { try pair.client.send($0) } }
    }

    @Test func anEndOfStreamDuringTheHandshake() throws {
        var pair = try EnginePair(client: .test(), server: .test())
        try pair.client.start()
        try pair.toServer()
        #expect(throws: TLSError.handshakeFailed(reason: "unexpected eof while reading")) {
            try pair.client.receiveEndOfStream()
        }
    }

    @Test func aPlainHTTPRequestToTheServer() throws {
        let server = try TLSEngine(context: TLSContext(server: .test()))
        var sink: [UInt8] = []
        #expect(throws: TLSError.handshakeFailed(reason: "http request")) {
            try Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8).withUnsafeBytes { try server.receive($0, into: &sink) }
        }
        #expect(server.state == .closed)
    }

    @Test func aPlainHTTPAnswerToTheClient() throws {
        let client = try TLSEngine(context: TLSContext(client: .test()), serverName: "localhost")
        try client.start()
        var sink: [UInt8] = []
        #expect(throws: TLSError.handshakeFailed(reason: "wrong version number")) {
            try Array("HTTP/1.1 400 Bad Request\r\n\r\n".utf8).withUnsafeBytes { try client.receive($0, into: &sink) }
        }
    }

    @Test func garbageGivesATypedErrorAtAnyPoint() throws {
        var rng = SeededGenerator(seed: 9)
        for seed in 0..<50 {
            var pair = try EnginePair(client: .test(), server: .test())
            let garbage = (0..<(1 + seed * 7)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            if seed % 2 == 0 {
                try pair.handshake()
                var sink: [UInt8] = []
                // After the handshake a garbage record fails the connection (bad MAC or bad record).
                let record: [UInt8] = [0x17, 0x03, 0x03, UInt8(garbage.count >> 8), UInt8(garbage.count & 0xFF)] + garbage
                do {
                    try record.withUnsafeBytes { try pair.client.receive($0, into: &sink) }
                    Issue.record("seed \(seed): a garbage record was accepted")
                } catch let error as TLSError {
                    guard case .protocolError = error else { Issue.record("seed \(seed): \(error)"); continue }
                }
                #expect(sink.isEmpty, "seed \(seed)")
            } else {
                var sink: [UInt8] = []
                do {
                    try garbage.withUnsafeBytes { try pair.server.receive($0, into: &sink) }
                    #expect(garbage.count < 5, "seed \(seed): \(garbage.prefix(5))")  // waits for a record header
                } catch let error as TLSError {
                    guard case .handshakeFailed = error else { Issue.record("seed \(seed): \(error)"); continue }
                }
            }
        }
    }
}
