// SPDX-License-Identifier: Apache-2.0
import CSSL
import Testing
import WSTestSupport
import WSTLS

/// The record path as the engine runs it for speed: TLS 1.3 suites in our order, reads that stop
/// when the bytes given are used up, OpenSSL's error queue cleared only when something was left
/// in it. Each test pins an outcome those shortcuts must keep.
@Suite("TLS engine: records, cipher order, stale errors")
struct EngineRecordTests {
    private static func established() throws -> EnginePair {
        var pair = try EnginePair(client: .test(), server: .test())
        try pair.handshake()
        #expect(pair.client.state == .established && pair.server.state == .established)
        return pair
    }

    /// OpenSSL's default client order puts TLS_AES_256_GCM_SHA384 first; our server picks in its
    /// own order, AES-128-GCM first.
    @Test func theServerPicksAES128GCMFromAClientThatPrefersAES256() throws {
        let server = try TLSEngine(context: TLSContext(server: .test()))
        let ctx = try #require(SSL_CTX_new(TLS_client_method()))
        defer { SSL_CTX_free(ctx) }
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nil)
        let ssl = try #require(SSL_new(ctx))
        defer { SSL_free(ssl) }
        let inbound = try #require(BIO_new(BIO_s_mem()))
        let outbound = try #require(BIO_new(BIO_s_mem()))
        SSL_set_bio(ssl, inbound, outbound)
        SSL_set_connect_state(ssl)
        let offered = try #require(SSL_get1_supported_ciphers(ssl))
        defer { OPENSSL_sk_free(offered) }
        let first = try #require(SSL_CIPHER_get_name(OpaquePointer(OPENSSL_sk_value(offered, 0))))
        #expect(String(cString: first) == "TLS_AES_256_GCM_SHA384")  // the client's preference
        var plaintext: [UInt8] = []
        for _ in 0..<6 where server.state == .handshaking {
            ERR_clear_error()
            _ = SSL_do_handshake(ssl)
            var hello = [UInt8](repeating: 0, count: 16384)
            let n = hello.withUnsafeMutableBytes { BIO_read(outbound, $0.baseAddress, Int32($0.count)) }
            if n > 0 { try hello[..<Int(n)].withUnsafeBytes { try server.receive($0, into: &plaintext) } }
            let answer = server.takeOutput()
            if !answer.isEmpty { _ = answer.withUnsafeBytes { BIO_write(inbound, $0.baseAddress, Int32($0.count)) } }
        }
        #expect(server.state == .established)
        #expect(server.session?.cipher == "TLS_AES_128_GCM_SHA256")
        ERR_clear_error()
    }

    /// Two records and close_notify in one receive: the read does not stop after the first
    /// record while bytes remain.
    @Test func twoRecordsAndCloseNotifyInOneReceive() throws {
        let pair = try Self.established()
        var wire: [UInt8] = []
        try [UInt8]("first".utf8).withUnsafeBytes { try pair.client.send($0, into: &wire) }
        try [UInt8](" and second".utf8).withUnsafeBytes { try pair.client.send($0, into: &wire) }
        pair.client.close()
        pair.client.takeOutput(into: &wire)
        #expect(wire.count == 2 * (5 + 5 + 1 + 16) + 6 + (5 + 2 + 1 + 16))  // 2 records, 1 alert (TLS 1.3)
        var plaintext: [UInt8] = []
        try wire.withUnsafeBytes { try pair.server.receive($0, into: &plaintext) }
        #expect(plaintext == Array("first and second".utf8))
        #expect(pair.server.receivedCloseNotify)
        #expect(pair.server.state == .closed)
    }

    /// A record larger than one read of plaintext (16 KiB + 1 byte of application data makes two
    /// records), and a record cut at every byte: the plaintext comes out whole, once.
    @Test func recordsCutAtEveryByteAndAFullSizedRecord() throws {
        let pair = try Self.established()
        let big = (0..<(16 * 1024 + 1)).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        var wire: [UInt8] = []
        try big.withUnsafeBytes { try pair.client.send($0, into: &wire) }
        var plaintext: [UInt8] = []
        try wire.withUnsafeBytes { try pair.server.receive($0, into: &plaintext) }
        #expect(plaintext == big)

        let message = Array("cut anywhere".utf8)
        wire = []
        try message.withUnsafeBytes { try pair.client.send($0, into: &wire) }
        for split in 1..<wire.count {
            let copy = try Self.established()
            var record: [UInt8] = []
            try message.withUnsafeBytes { try copy.client.send($0, into: &record) }
            var received: [UInt8] = []
            try record[..<split].withUnsafeBytes { try copy.server.receive($0, into: &received) }
            #expect(received.isEmpty)
            try record[split...].withUnsafeBytes { try copy.server.receive($0, into: &received) }
            #expect(received == message, "split at \(split)")
        }
    }

    /// An error another library left on this thread's OpenSSL queue does not fail the
    /// connection: the engine clears it before reading (else `SSL_get_error` would report the
    /// half record's "want more" as that error).
    @Test func anErrorLeftOnTheThreadsQueueIsNotTakenForOurs() throws {
        let pair = try Self.established()
        var wire: [UInt8] = []
        try [UInt8]("after a stale error".utf8).withUnsafeBytes { try pair.client.send($0, into: &wire) }
        #expect(BIO_new_file("/nonexistent/wstls-stale-error", "r") == nil)  // queues a system error
        #expect(ERR_peek_error() != 0)
        var plaintext: [UInt8] = []
        try wire[..<10].withUnsafeBytes { try pair.server.receive($0, into: &plaintext) }
        #expect(pair.server.failure == nil)
        #expect(BIO_new_file("/nonexistent/wstls-stale-error", "r") == nil)
        try wire[10...].withUnsafeBytes { try pair.server.receive($0, into: &plaintext) }
        #expect(plaintext == Array("after a stale error".utf8))
        #expect(pair.server.state == .established)
        #expect(ERR_peek_error() == 0)
    }
}
