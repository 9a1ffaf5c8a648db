// SPDX-License-Identifier: Apache-2.0
import CSSL
import Testing
import WSTestSupport
import WSTLS

/// A bare OpenSSL endpoint on memory BIOs, capped at TLS 1.2: a peer that asks for what our
/// engine refuses (renegotiation exists in TLS 1.2 only; TLS 1.3 removed it).
private final class RawPeer {
    let ctx: OpaquePointer
    let ssl: OpaquePointer
    let inbound: OpaquePointer
    let outbound: OpaquePointer

    /// A client that verifies nothing, or a server with the test `server` certificate.
    init(server: Bool) throws {
        ctx = try #require(SSL_CTX_new(server ? TLS_server_method() : TLS_client_method()))
        _ = cssl_ctx_set_max_proto_version(ctx, TLS1_2_VERSION)
        if server {
            #expect(SSL_CTX_use_certificate_file(ctx, try TestCertificates.path("server.pem"), SSL_FILETYPE_PEM) == 1)
            #expect(SSL_CTX_use_PrivateKey_file(ctx, try TestCertificates.path("server.key"), SSL_FILETYPE_PEM) == 1)
        } else {
            SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nil)
        }
        ssl = try #require(SSL_new(ctx))
        inbound = try #require(BIO_new(BIO_s_mem()))
        outbound = try #require(BIO_new(BIO_s_mem()))
        cssl_bio_set_mem_eof_return(inbound, -1)
        SSL_set_bio(ssl, inbound, outbound)
        if server { SSL_set_accept_state(ssl) } else { SSL_set_connect_state(ssl) }
    }

    deinit {
        SSL_free(ssl)
        SSL_CTX_free(ctx)
    }

    func feed(_ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        #expect(bytes.withUnsafeBytes { BIO_write(inbound, $0.baseAddress, Int32($0.count)) } == Int32(bytes.count))
    }

    func takeOutput() -> [UInt8] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { BIO_read(outbound, $0.baseAddress, Int32($0.count)) }
            guard n > 0 else { return bytes }
            bytes += chunk[..<Int(n)]
        }
    }

    /// `SSL_do_handshake`: 1, or the `SSL_get_error` code and the first queued error's reason.
    func handshake() -> (result: Int32, error: Int32, reason: Int32) {
        ERR_clear_error()
        return outcome(SSL_do_handshake(ssl))
    }

    /// `SSL_read` into a scratch buffer: as ``handshake()``, the byte count when positive.
    func readStep() -> (result: Int32, error: Int32, reason: Int32) {
        ERR_clear_error()
        var buffer = [UInt8](repeating: 0, count: 4096)
        return outcome(buffer.withUnsafeMutableBytes { SSL_read(ssl, $0.baseAddress, Int32($0.count)) })
    }

    private func outcome(_ result: Int32) -> (result: Int32, error: Int32, reason: Int32) {
        guard result <= 0 else { return (result, SSL_ERROR_NONE, 0) }
        let error = SSL_get_error(ssl, result)
        let reason = Int32(ERR_GET_REASON(ERR_peek_error()))
        ERR_clear_error()
        return (result, error, reason)
    }

}

/// Renegotiation is off both ways (`SSL_OP_NO_RENEGOTIATION` on every context): a TLS 1.2 peer
/// asking for one gets the `no_renegotiation` warning alert, its own OpenSSL then fails the
/// handshake it started with "no renegotiation", and our engine stays established.
@Suite("TLS engine: renegotiation refused")
struct RenegotiationTests {
    /// Feeds the peer's request for a new handshake to our engine and returns its answer: one
    /// alert record (TLS 1.2 AES-GCM: a 5-byte header, an 8-byte explicit nonce, the 2-byte
    /// alert, a 16-byte tag; no handshake record, type 22), no plaintext, still established.
    private static func refusal(of request: [UInt8], by engine: TLSEngine) throws -> [UInt8] {
        var plaintext: [UInt8] = []
        try request.withUnsafeBytes { try engine.receive($0, into: &plaintext) }
        #expect(plaintext.isEmpty)
        #expect(engine.state == .established)
        #expect(engine.failure == nil)
        let answer = engine.takeOutput()
        #expect(answer.count == 5 + 8 + 2 + 16)
        #expect(answer.prefix(3) == [21, 3, 3])  // content type alert, TLS 1.2
        return answer
    }

    /// OpenSSL 3 servers refuse a client's renegotiation by default too (unless
    /// `SSL_OP_ALLOW_CLIENT_RENEGOTIATION`); this pins the outcome whichever of the two decides.
    @Test("A client-initiated renegotiation is refused by our server")
    func serverRefusesClientRenegotiation() throws {
        let server = try TLSEngine(context: TLSContext(server: .test()))
        let client = try RawPeer(server: false)
        var plaintext: [UInt8] = []
        for _ in 0..<4 {
            let step = client.handshake()
            #expect(step.result == 1 || step.error == SSL_ERROR_WANT_READ)
            try client.takeOutput().withUnsafeBytes { try server.receive($0, into: &plaintext) }
            client.feed(server.takeOutput())
        }
        #expect(client.handshake().result == 1)
        #expect(server.state == .established)
        #expect(server.session?.version == "TLSv1.2")

        // The client asks for a new handshake: its ClientHello goes out inside the session.
        #expect(SSL_renegotiate(client.ssl) == 1)
        let asked = client.handshake()
        #expect(asked.result == -1 && asked.error == SSL_ERROR_WANT_READ)
        let hello = client.takeOutput()
        #expect(hello.count > 100)
        client.feed(try Self.refusal(of: hello, by: server))
        let refused = client.handshake()
        #expect(refused.result == -1)
        #expect(refused.error == SSL_ERROR_SSL)
        #expect(refused.reason == SSL_R_NO_RENEGOTIATION)
    }

    @Test("A server-initiated renegotiation is refused by our client")
    func clientRefusesServerRenegotiation() throws {
        let client = try TLSEngine(context: TLSContext(client: .test()), serverName: "localhost")
        let server = try RawPeer(server: true)
        var plaintext: [UInt8] = []
        try client.start()
        for _ in 0..<4 {
            server.feed(client.takeOutput())
            _ = server.handshake()
            try server.takeOutput().withUnsafeBytes { try client.receive($0, into: &plaintext) }
        }
        #expect(server.handshake().result == 1)
        #expect(client.state == .established)
        #expect(client.session?.version == "TLSv1.2")

        // The server asks for a new handshake: a HelloRequest inside the session (its
        // handshake call returns once that is written; the ClientHello is awaited in SSL_read).
        #expect(SSL_renegotiate(server.ssl) == 1)
        #expect(server.handshake().result == 1)
        let request = server.takeOutput()
        #expect(request.count > 0)
        server.feed(try Self.refusal(of: request, by: client))
        let refused = server.readStep()
        #expect(refused.result == -1)
        #expect(refused.error == SSL_ERROR_SSL)
        #expect(refused.reason == SSL_R_NO_RENEGOTIATION)
    }
}
