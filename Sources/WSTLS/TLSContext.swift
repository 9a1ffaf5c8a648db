// SPDX-License-Identifier: Apache-2.0
internal import CSSL

/// A configured OpenSSL context (`SSL_CTX`): made once from a configuration, shared by every
/// ``TLSEngine`` of that configuration.
///
/// Making one loads the certificates, key and trust roots (the system store is read here, so
/// reuse a context rather than making one per connection). A context never changes after it
/// is made; to replace a server's certificates, make a new context (new connections use it,
/// open ones keep theirs).
public final class TLSContext: @unchecked Sendable {
    // @unchecked: the SSL_CTX is fully configured in init and only read afterwards (SSL_new),
    // which OpenSSL allows from any thread.
    let ctx: OpaquePointer
    /// Which side the engines made from this context play.
    public let isServer: Bool
    let policy: VerificationPolicy
    let maxPendingBytes: Int
    /// ALPN protocols in wire format (RFC 7301 §3.1) and a 0 byte after them, read by the
    /// server's selection callback; `alpnLength` excludes the 0.
    let alpnWire: UnsafeMutableBufferPointer<UInt8>
    let alpnLength: Int

    /// Makes a client context.
    ///
    /// - Throws: ``TLSError/invalidConfiguration(_:)`` when a trust root, the client certificate
    ///   or its key cannot be loaded, or the key does not match the certificate.
    public convenience init(client configuration: TLSClientConfiguration) throws(TLSError) {
        try self.init(isServer: false, minimum: configuration.minimumVersion, maximum: configuration.maximumVersion,
                      alpn: configuration.applicationProtocols, maxPendingBytes: configuration.maxPendingBytes,
                      policy: VerificationPolicy(ignored: configuration.ignoredFailures,
                                                 pins: configuration.pinnedPublicKeys))
        if configuration.verifiesPeer {
            try loadTrustRoots(configuration.trustRoots)
            SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verifyCallback)
            if !configuration.pinnedPublicKeys.isEmpty {
                SSL_CTX_set_cert_verify_callback(ctx, pinningVerifyCallback, nil)
            }
        } else {
            SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nil)
        }
        if configuration.certificateChain != nil || configuration.privateKey != nil {
            guard let chain = configuration.certificateChain, let key = configuration.privateKey else {
                throw .invalidConfiguration("a client certificate needs both a chain and a private key")
            }
            try useCertificate(chain: chain, key: key)
        }
        if !configuration.applicationProtocols.isEmpty {
            // SSL_CTX_set_alpn_protos returns 0 on success (unlike most of OpenSSL).
            guard SSL_CTX_set_alpn_protos(ctx, alpnWire.baseAddress, UInt32(alpnLength)) == 0 else {
                throw .invalidConfiguration("ALPN protocols rejected: \(configuration.applicationProtocols)")
            }
        }
    }

    /// Makes a server context.
    ///
    /// - Throws: ``TLSError/invalidConfiguration(_:)`` when the certificate chain, the key or a
    ///   client trust root cannot be loaded, or the key does not match the certificate.
    public convenience init(server configuration: TLSServerConfiguration) throws(TLSError) {
        try self.init(isServer: true, minimum: configuration.minimumVersion, maximum: configuration.maximumVersion,
                      alpn: configuration.applicationProtocols, maxPendingBytes: configuration.maxPendingBytes,
                      policy: VerificationPolicy(ignored: [], pins: []))
        try useCertificate(chain: configuration.certificateChain, key: configuration.privateKey)
        switch configuration.clientAuthentication {
        case .none:
            SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nil)
        case .optional(let roots):
            try loadTrustRoots(roots)
            SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verifyCallback)
        case .required(let roots):
            try loadTrustRoots(roots)
            SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verifyCallback)
        }
        let sessionContext: [UInt8] = Array("wstls".utf8)
        _ = SSL_CTX_set_session_id_context(ctx, sessionContext, UInt32(sessionContext.count))
        guard TLSServerConfiguration.sessionTicketRange.contains(configuration.sessionTickets) else {
            throw .invalidConfiguration("session tickets \(configuration.sessionTickets) not in \(TLSServerConfiguration.sessionTicketRange)")
        }
        _ = SSL_CTX_set_num_tickets(ctx, configuration.sessionTickets)
        if configuration.sessionTickets == 0 {
            _ = SSL_CTX_set_options(ctx, cssl_op_no_ticket())
            _ = cssl_ctx_set_session_cache_off(ctx)
        }
        if !configuration.applicationProtocols.isEmpty {
            SSL_CTX_set_alpn_select_cb(ctx, alpnSelectCallback, UnsafeMutableRawPointer(alpnWire.baseAddress))
        }
    }

    private init(isServer: Bool, minimum: TLSVersion, maximum: TLSVersion?, alpn: [String], maxPendingBytes: Int,
                 policy: VerificationPolicy) throws(TLSError) {
        var wire: [UInt8] = []
        for name in alpn {
            let bytes = Array(name.utf8)
            guard (1...255).contains(bytes.count) else { throw .invalidConfiguration("invalid ALPN protocol \"\(name)\"") }
            wire.append(UInt8(bytes.count))
            wire += bytes
        }
        // RFC 7301 §3.1 bounds the list by 2^16-1 bytes, but it travels in the ClientHello's
        // extensions, whose total has that same bound: OpenSSL took a longer list and failed
        // each handshake with "internal error". Half the bound leaves room for the others.
        guard wire.count <= TLSContext.maxALPNBytes else {
            throw .invalidConfiguration("ALPN protocols take \(wire.count) bytes; at most \(TLSContext.maxALPNBytes) fit in a handshake")
        }
        if let maximum, maximum < minimum {
            throw .invalidConfiguration("maximum version \(maximum.rawValue) below minimum \(minimum.rawValue)")
        }
        ERR_clear_error()
        guard let ctx = SSL_CTX_new(isServer ? TLS_server_method() : TLS_client_method()) else {
            throw .invalidConfiguration("SSL_CTX_new failed: \(OpenSSLErrors.drain())")
        }
        self.ctx = ctx
        self.isServer = isServer
        self.policy = policy
        self.maxPendingBytes = maxPendingBytes
        alpnWire = .allocate(capacity: wire.count + 1)
        _ = alpnWire.initialize(from: wire + [0])
        alpnLength = wire.count
        _ = cssl_ctx_set_min_proto_version(ctx, minimum.wireValue)
        _ = cssl_ctx_set_max_proto_version(ctx, maximum?.wireValue ?? 0)
        _ = SSL_CTX_set_options(ctx, cssl_op_no_renegotiation() | cssl_op_no_compression())
        // TLS 1.3 suites, AES-128-GCM first (OpenSSL's default puts AES-256-GCM-SHA384 first):
        // with AES-NI and SHA-NI it is the cheaper one, per handshake (SHA-256 key schedule)
        // and per record, and it is the suite RFC 8446 §9.1 makes mandatory. A server picks
        // in this order among what the client offers.
        _ = SSL_CTX_set_ciphersuites(ctx, TLSContext.tls13CipherSuites)  // names OpenSSL 3 knows: cannot fail
        if isServer { _ = SSL_CTX_set_options(ctx, cssl_op_cipher_server_preference()) }
        // OpenSSL's read and write buffers are freed while a connection is idle.
        _ = cssl_ctx_set_mode(ctx, Int(SSL_MODE_RELEASE_BUFFERS))
    }

    /// The most bytes the ALPN protocols may take in wire format (RFC 7301 §3.1: each name with
    /// its length byte), so that a ClientHello offering them still fits.
    public static let maxALPNBytes = 32_768

    /// The TLS 1.3 cipher suites, in order of preference.
    static let tls13CipherSuites = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"

    deinit {
        SSL_CTX_free(ctx)
        alpnWire.deallocate()
    }

    private func loadTrustRoots(_ roots: TrustRoots) throws(TLSError) {
        let extra: [PEMSource]
        switch roots {
        case .system:
            guard SSL_CTX_set_default_verify_paths(ctx) == 1 else {
                throw .invalidConfiguration("cannot load the system trust store: \(OpenSSLErrors.drain())")
            }
            return
        case .systemAnd(let sources):
            guard SSL_CTX_set_default_verify_paths(ctx) == 1 else {
                throw .invalidConfiguration("cannot load the system trust store: \(OpenSSLErrors.drain())")
            }
            extra = sources
        case .only(let sources):
            extra = sources
        }
        let store = SSL_CTX_get_cert_store(ctx)
        for source in extra {
            let certificates = try PEM.certificates(from: source)
            defer { certificates.forEach { X509_free($0) } }
            for certificate in certificates where X509_STORE_add_cert(store, certificate) != 1 {
                ERR_clear_error()  // the same root twice is not an error worth failing for
            }
        }
    }

    private func useCertificate(chain: PEMSource, key: PEMSource) throws(TLSError) {
        let certificates = try PEM.certificates(from: chain)
        defer { certificates.forEach { X509_free($0) } }
        guard SSL_CTX_use_certificate(ctx, certificates[0]) == 1 else {
            throw .invalidConfiguration("certificate refused: \(OpenSSLErrors.drain())")
        }
        for intermediate in certificates.dropFirst() where cssl_ctx_add1_chain_cert(ctx, intermediate) != 1 {
            throw .invalidConfiguration("chain certificate refused: \(OpenSSLErrors.drain())")
        }
        let privateKey = try PEM.privateKey(from: key)
        defer { EVP_PKEY_free(privateKey) }
        guard SSL_CTX_use_PrivateKey(ctx, privateKey) == 1, SSL_CTX_check_private_key(ctx) == 1 else {
            throw .invalidConfiguration("the private key does not match the certificate: \(OpenSSLErrors.drain())")
        }
    }
}

/// The server's ALPN choice (RFC 7301 §3.2): the first of our protocols the client offers;
/// without a common one the handshake goes on without ALPN.
private func alpnSelectCallback(
    _ ssl: OpaquePointer?, _ out: UnsafeMutablePointer<UnsafePointer<UInt8>?>?, _ outLength: UnsafeMutablePointer<UInt8>?,
    _ offered: UnsafePointer<UInt8>?, _ offeredLength: UInt32, _ argument: UnsafeMutableRawPointer?
) -> Int32 {
    guard let out, let outLength, let offered, let argument else { return SSL_TLSEXT_ERR_NOACK }
    let ours = argument.assumingMemoryBound(to: UInt8.self)
    var i = 0
    while ours[i] != 0 {
        let length = Int(ours[i])
        var j = 0
        while j < Int(offeredLength) {
            let theirLength = Int(offered[j])
            if theirLength == length, j + 1 + theirLength <= Int(offeredLength),
               (0..<length).allSatisfy({ offered[j + 1 + $0] == ours[i + 1 + $0] }) {
                out.pointee = offered + j + 1
                outLength.pointee = UInt8(length)
                return SSL_TLSEXT_ERR_OK
            }
            j += 1 + theirLength
        }
        i += 1 + length
    }
    return SSL_TLSEXT_ERR_NOACK
}
