// SPDX-License-Identifier: Apache-2.0
internal import CSSL

/// A sans-I/O TLS connection over the system OpenSSL: bytes from the network in, plaintext
/// and bytes to send out. No socket, no thread, no clock: any driver can run it.
///
/// The engine holds an `SSL` on a BIO of its own: OpenSSL reads the records straight from the
/// bytes passed to ``receive(_:into:)`` (plaintext is appended to the buffer you pass; nothing of
/// the input is copied or kept outside OpenSSL) and writes its records to an output the engine
/// holds until ``takeOutput(into:)``. Pass what the application sends to ``send(_:)`` (or
/// ``send(_:into:)``), and after every call write what ``takeOutput(into:)`` returns. Application bytes sent before the handshake finished are held (up to the
/// configuration's `maxPendingBytes`) and encrypted only once the peer is verified, so nothing
/// is ever sent in clear or to an unverified peer.
///
/// ```
///  handshaking ──(handshake done, peer verified)──▶ established ──(close_notify both ways)──▶ closed
///       └──────────────(any failure: the error is thrown, an alert may be in the output)─────────▲
/// ```
///
/// Idle, an engine keeps little: no input, the output's capacity only as large as the last
/// application records it held (none after the handshake's flights, session tickets or alerts,
/// none after a burst over 256 KiB), and
/// the context sets `SSL_MODE_RELEASE_BUFFERS`, so OpenSSL frees its record buffers once they
/// are empty (a partial record waits in them).
///
/// An engine is used by one owner at a time (it is not `Sendable`); OpenSSL's error queue is
/// per thread, and every call starts and ends with it empty.
public final class TLSEngine {
    /// Where the connection is.
    public enum State: Hashable, Sendable {
        /// The handshake is running.
        case handshaking
        /// The handshake finished and the peer was verified; application data flows.
        case established
        /// Closed (close_notify received and answered) or failed.
        case closed
    }

    // The stored `var`s below are marked `@exclusivity(unchecked)`: a class's properties are
    // otherwise checked for exclusive access at run time (`swift_beginAccess`, about 75
    // instructions each), two per receive and two per send on a 32 B message. The engine has one
    // owner at a time and nothing it calls back into (the BIO, the verification callback)
    // touches these properties, so no access can overlap another.

    /// A server turning a connection away before any handshake (at its connection cap, or
    /// shutting down): one TLS record holding a fatal `internal_error` alert (RFC 8446 §5.1,
    /// §6.2: content type 21, record version 3.3, length 2, level fatal, description 80),
    /// which a client reports as "tlsv1 alert internal error". It needs no engine: nothing of the
    /// peer's has been read, and nothing is negotiated.
    public static let refusal: [UInt8] = [21, 0x03, 0x03, 0x00, 0x02, 2, 80]

    /// Where the engine is: handshaking, open, or closed (see ``State``).
    @exclusivity(unchecked) public private(set) var state: State = .handshaking
    /// What the handshake agreed on (version, cipher, ALPN, the peer's certificate); `nil`
    /// until ``State/established``.
    @exclusivity(unchecked) public private(set) var session: TLSSessionInfo? = nil
    /// Whether the peer's close_notify arrived (the stream ended cleanly).
    @exclusivity(unchecked) public private(set) var receivedCloseNotify = false
    /// Whether ours went out (``close()``).
    @exclusivity(unchecked) public private(set) var sentCloseNotify = false
    /// The error that ended the connection, if one did.
    @exclusivity(unchecked) public private(set) var failure: TLSError? = nil

    private let ssl: OpaquePointer
    private let io = RecordIO()          // what the engine's BIO reads from and writes to (io.state)
    private let context: TLSContext      // keeps the SSL_CTX alive
    private let record: VerificationRecord
    @exclusivity(unchecked) private var pending: [UInt8] = []    // application bytes sent before the handshake finished
    @exclusivity(unchecked) private var closeRequested = false   // close() was called (close_notify follows the handshake)
    @exclusivity(unchecked) private var outputHasRecords = false // the output holds application records (from write)

    /// Makes an engine for one connection.
    ///
    /// - Parameters:
    ///   - context: a client or server context; the engine plays its role.
    ///   - serverName: (client) the host name or IP address connected to: sent as SNI when it
    ///     is a name (RFC 6066 §3), and verified against the certificate either way. `nil`
    ///     verifies the chain only.
    /// - Throws: ``TLSError/invalidConfiguration(_:)`` for a server name OpenSSL refuses or one
    ///   with a NUL byte.
    public init(context: TLSContext, serverName: String? = nil) throws(TLSError) {
        // OpenSSL takes the name as a C string: a NUL would cut it short, and the certificate
        // would be verified (and SNI sent) for a name other than the one given.
        if !context.isServer, let serverName, serverName.utf8.contains(0) {
            throw .invalidConfiguration("invalid server name: it contains a NUL byte")
        }
        ERR_clear_error()
        guard let ssl = SSL_new(context.ctx) else {
            throw .invalidConfiguration("SSL_new failed: \(OpenSSLErrors.drain())")
        }
        guard let bio = BIO_new(RecordIO.method) else {
            SSL_free(ssl)
            throw .invalidConfiguration("BIO_new failed: \(OpenSSLErrors.drain())")
        }
        // The BIO points at `io`'s state, which lives as long as the engine (SSL_free frees the BIO).
        BIO_set_data(bio, UnsafeMutableRawPointer(io.state))
        SSL_set_bio(ssl, bio, bio)  // one BIO both ways: one reference consumed
        self.ssl = ssl
        self.context = context
        self.record = VerificationRecord(policy: context.policy)
        SSL_set_ex_data(ssl, 0, Unmanaged.passUnretained(record).toOpaque())
        if context.isServer {
            SSL_set_accept_state(ssl)
        } else {
            SSL_set_connect_state(ssl)
            if var name = serverName, !name.isEmpty {
                if name.hasPrefix("["), name.hasSuffix("]") { name = String(name.dropFirst().dropLast()) }
                let param = SSL_get0_param(ssl)
                if X509_VERIFY_PARAM_set1_ip_asc(param, name) != 1 {
                    ERR_clear_error()
                    X509_VERIFY_PARAM_set_hostflags(param, UInt32(X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS))
                    guard SSL_set1_host(ssl, name) == 1, cssl_set_tlsext_host_name(ssl, name) == 1 else {
                        throw .invalidConfiguration("invalid server name \"\(name)\": \(OpenSSLErrors.drain())")
                    }
                }
            }
        }
    }

    deinit { SSL_free(ssl) }  // frees the BIO

    /// Starts the handshake: a client's ClientHello goes to the output. A server waits for one.
    public func start() throws(TLSError) {
        guard !context.isServer, state == .handshaking else { return }
        try advanceHandshake()
    }

    /// Bytes from the network: runs the handshake, then appends the plaintext they carry.
    ///
    /// - Throws: the ``TLSError`` that ended the connection (an alert for the peer may be
    ///   waiting in the output: write it before closing the socket).
    public func receive(_ wire: UnsafeRawBufferPointer, into plaintext: inout [UInt8]) throws(TLSError) {
        try receive(wire) { plaintext.append(contentsOf: $0) }
    }

    /// Bytes from the network, as ``receive(_:into:)``, with the plaintext handed to `body` in
    /// the pieces OpenSSL decrypts (each valid during the call only; none when the bytes carry
    /// none): nothing is gathered into an array first.
    ///
    /// - Throws: as ``receive(_:into:)``.
    public func receive(_ wire: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> Void) throws(TLSError) {
        if let failure { throw failure }
        guard state != .closed else { return }
        OpenSSLErrors.clearStale()
        // OpenSSL reads from `wire` during this call only: it takes every byte (a partial
        // record waits in its read buffer) before it asks for more, and ends the call asking.
        let io = self.io.state
        io.pointee.input = wire
        io.pointee.inputOffset = 0
        defer { io.pointee.input = UnsafeRawBufferPointer(start: nil, count: 0) }
        if state == .handshaking {
            try advanceHandshake()
            guard state == .established else { return }
        }
        try readPlaintext(body)
    }

    /// The network stream ended (EOF). Fine after the peer's close_notify.
    ///
    /// - Throws: ``TLSError/truncated`` after the handshake without close_notify;
    ///   ``TLSError/handshakeFailed(reason:)`` ("unexpected eof while reading") during it.
    public func receiveEndOfStream() throws(TLSError) {
        if let failure { throw failure }
        if receivedCloseNotify { return }
        switch state {
        case .handshaking: throw fail(.handshakeFailed(reason: "unexpected eof while reading"))
        case .established: throw fail(.truncated)
        case .closed: return
        }
    }

    /// Application bytes to send: encrypted into the output once the handshake is done, held
    /// until then.
    ///
    /// - Throws: ``TLSError/closed`` after ``close()`` or the peer's close_notify;
    ///   ``TLSError/pendingLimitExceeded(limit:)`` when too much waits for the handshake.
    public func send(_ plaintext: UnsafeRawBufferPointer) throws(TLSError) {
        if let failure { throw failure }
        guard state != .closed, !closeRequested else { throw .closed }
        guard plaintext.count > 0 else { return }
        if state == .handshaking {
            guard pending.count + plaintext.count <= context.maxPendingBytes else {
                throw .pendingLimitExceeded(limit: context.maxPendingBytes)
            }
            pending.append(contentsOf: plaintext)
            return
        }
        try write(plaintext)
    }

    /// Application bytes to send, their records appended to `wire` after what was waiting in
    /// the output (held until the handshake is done, like ``send(_:)``).
    ///
    /// - Throws: as ``send(_:)``.
    public func send(_ plaintext: UnsafeRawBufferPointer, into wire: inout [UInt8]) throws(TLSError) {
        try send(plaintext)
        takeOutput(into: &wire)
    }

    /// Ends the connection cleanly: sends close_notify (once). During the handshake, the bytes
    /// already sent wait for it to finish, then go out followed by close_notify. The peer's
    /// data can still be received until its close_notify arrives.
    public func close() {
        guard !closeRequested, failure == nil, state != .closed else { return }
        closeRequested = true
        if state == .established { sendCloseNotify() }
    }

    private func sendCloseNotify() {
        guard !sentCloseNotify else { return }
        sentCloseNotify = true
        ERR_clear_error()
        _ = SSL_shutdown(ssl)
        ERR_clear_error()
        if receivedCloseNotify { state = .closed }
    }

    /// Whether bytes wait to be written to the network.
    public var hasOutput: Bool { !io.state.pointee.output.isEmpty }

    /// Appends the bytes to write to the network (records, alerts) to `wire`; the engine keeps
    /// no buffer afterwards (into an empty `wire`, the output is handed over without a copy).
    public func takeOutput(into wire: inout [UInt8]) {
        let io = self.io.state
        guard !io.pointee.output.isEmpty else { return }
        if wire.isEmpty && !outputHasRecords {
            // Handshake flights, session tickets, alerts: handed over whole, nothing kept.
            wire = io.pointee.output
            io.pointee.output = []
            return
        }
        wire.append(contentsOf: io.pointee.output)
        // The capacity of application records stays for the next ones (no allocation, no fresh
        // pages per message), unless it grew past the bound; handshake flights, session tickets
        // and alerts leave none behind.
        io.pointee.output.removeAll(keepingCapacity: outputHasRecords && io.pointee.output.capacity <= RecordIO.keptOutputCapacity)
        outputHasRecords = false
    }

    /// The bytes to write to the network (records, alerts).
    public func takeOutput() -> [UInt8] {
        var wire: [UInt8] = []
        takeOutput(into: &wire)
        return wire
    }

    /// The bytes of buffer capacity the engine itself holds outside OpenSSL (its output and
    /// what waits for the handshake).
    var heldBufferCapacity: Int { io.state.pointee.output.capacity + pending.capacity + io.state.pointee.input.count }

    // MARK: - Handshake and records

    private func advanceHandshake() throws(TLSError) {
        let result = SSL_do_handshake(ssl)
        if result == 1 {
            state = .established
            session = makeSessionInfo()
            if !pending.isEmpty {
                let held = pending
                pending = []
                let failed: TLSError? = held.withUnsafeBytes { raw in
                    do throws(TLSError) { try write(raw); return nil } catch { return error }
                }
                if let failed { throw failed }
            }
            if closeRequested { sendCloseNotify() }
            return
        }
        switch SSL_get_error(ssl, result) {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
            return
        default:
            throw fail(handshakeError())
        }
    }

    private func handshakeError() -> TLSError {
        let reason = OpenSSLErrors.drain()
        if let pin = record.pinMismatch { return .publicKeyPinMismatch(sha256: pin) }
        if let refusal = record.refusal { return .verificationFailed(refusal) }
        return .handshakeFailed(reason: reason)
    }

    private func readPlaintext(_ body: (UnsafeRawBufferPointer) -> Void) throws(TLSError) {
        // A record carries at most 16 KiB of plaintext (RFC 8446 §5.1), and a read yields no
        // more plaintext than it brought ciphertext, plus what OpenSSL holds from before: a
        // scratch the size of the input (at least 512 bytes, at most a record) takes it in a
        // few reads at most, and for small messages it lives on the stack (16 KiB went to the
        // heap, an aligned allocation per read).
        let chunk = min(16 * 1024, max(512, io.state.pointee.input.count, Int(SSL_pending(ssl))))
        let failed: TLSError? = withUnsafeTemporaryAllocation(byteCount: chunk, alignment: 1) { scratch in
            while true {
                var n = 0
                let result = SSL_read_ex(ssl, scratch.baseAddress, chunk, &n)
                if result == 1 {
                    body(UnsafeRawBufferPointer(start: scratch.baseAddress, count: n))
                    // Every byte given was read into OpenSSL and the record it ended is used up
                    // (OpenSSL reads no further than the record it is on): another SSL_read could
                    // only ask for more (WANT_READ), after taking and freeing its read buffer.
                    if io.state.pointee.inputOffset == io.state.pointee.input.count, SSL_pending(ssl) == 0 {
                        return nil
                    }
                    continue
                }
                switch SSL_get_error(ssl, result) {
                case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
                    return nil
                case SSL_ERROR_ZERO_RETURN:
                    // The peer's close_notify: answer with ours (RFC 8446 §6.1), the stream is done.
                    receivedCloseNotify = true
                    closeRequested = true
                    sendCloseNotify()
                    state = .closed
                    return nil
                default:
                    return .protocolError(reason: OpenSSLErrors.drain())
                }
            }
        }
        if let failed { throw fail(failed) }
    }

    private func write(_ plaintext: UnsafeRawBufferPointer) throws(TLSError) {
        OpenSSLErrors.clearStale()
        outputHasRecords = true
        var offset = 0
        while offset < plaintext.count {
            var written = 0
            guard SSL_write_ex(ssl, plaintext.baseAddress! + offset, plaintext.count - offset, &written) == 1 else {
                throw fail(.protocolError(reason: OpenSSLErrors.drain()))
            }
            offset += written
        }
    }

    private func fail(_ error: TLSError) -> TLSError {
        failure = error
        state = .closed
        pending = []
        ERR_clear_error()
        return error
    }

    private func makeSessionInfo() -> TLSSessionInfo {
        let version = SSL_get_version(ssl).map { String(cString: $0) } ?? ""
        let cipher = SSL_get_current_cipher(ssl).flatMap { SSL_CIPHER_get_name($0) }.map { String(cString: $0) } ?? ""
        var alpn: UnsafePointer<UInt8>? = nil
        var alpnLength: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &alpn, &alpnLength)
        let protocolName = alpn.map { String(decoding: UnsafeBufferPointer(start: $0, count: Int(alpnLength)), as: UTF8.self) }
        return TLSSessionInfo(version: version, cipher: cipher, applicationProtocol: protocolName,
                              peerCertificate: SSL_get0_peer_certificate(ssl).map(PeerCertificate.init),
                              ignoredFailures: record.ignoredSeen)
    }
}

/// What the engine's BIO reads and writes: the bytes of the current ``TLSEngine/receive(_:into:)``
/// call, and the output.
struct RecordIOState {
    var input = UnsafeRawBufferPointer(start: nil, count: 0)
    var inputOffset = 0
    var output: [UInt8] = []
}

/// Owns the ``RecordIOState`` the BIO callbacks reach through a pointer (a class property would
/// pay a dynamic exclusivity check on every access, several per record).
final class RecordIO {
    let state: UnsafeMutablePointer<RecordIOState>

    init() {
        state = .allocate(capacity: 1)
        state.initialize(to: RecordIOState())
    }

    deinit {
        state.deinitialize(count: 1)
        state.deallocate()
    }

    /// The most output capacity kept between calls (256 KiB): a connection that once sent a
    /// larger burst does not keep that much while idle.
    static let keptOutputCapacity = 256 << 10

    /// The BIO method: reads copy from `input` (retry when it is used up: more comes with the
    /// next receive, and the end of the stream is reported by receiveEndOfStream()), writes
    /// append to `output` and always take everything; flush succeeds.
    nonisolated(unsafe) static let method: OpaquePointer = {
        let method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "WSTLS record I/O")!
        _ = BIO_meth_set_read_ex(method, recordIORead)
        _ = BIO_meth_set_write_ex(method, recordIOWrite)
        _ = BIO_meth_set_ctrl(method, recordIOControl)
        _ = BIO_meth_set_create(method, { bio in
            BIO_set_init(bio, 1)
            return 1
        })
        return method
    }()
}

private func recordIO(_ bio: OpaquePointer?) -> UnsafeMutablePointer<RecordIOState> {
    BIO_get_data(bio)!.assumingMemoryBound(to: RecordIOState.self)
}

private func recordIORead(_ bio: OpaquePointer?, _ buffer: UnsafeMutablePointer<CChar>?, _ size: Int,
                          _ read: UnsafeMutablePointer<Int>?) -> Int32 {
    cssl_bio_clear_retry_flags(bio)
    let io = recordIO(bio)
    let count = min(size, io.pointee.input.count - io.pointee.inputOffset)
    guard count > 0, let buffer, let base = io.pointee.input.baseAddress else {
        cssl_bio_set_retry_read(bio)
        read?.pointee = 0
        return 0
    }
    UnsafeMutableRawPointer(buffer).copyMemory(from: base + io.pointee.inputOffset, byteCount: count)
    io.pointee.inputOffset += count
    read?.pointee = count
    return 1
}

private func recordIOWrite(_ bio: OpaquePointer?, _ buffer: UnsafePointer<CChar>?, _ size: Int,
                           _ written: UnsafeMutablePointer<Int>?) -> Int32 {
    cssl_bio_clear_retry_flags(bio)
    let io = recordIO(bio)
    if size > 0, let buffer {
        let bytes = UnsafeBufferPointer(start: UnsafeRawPointer(buffer).assumingMemoryBound(to: UInt8.self), count: size)
        io.pointee.output.append(contentsOf: bytes)
    }
    written?.pointee = size
    return 1
}

private func recordIOControl(_ bio: OpaquePointer?, _ command: Int32, _ argument: Int, _ pointer: UnsafeMutableRawPointer?) -> Int {
    switch command {
    case BIO_CTRL_FLUSH: return 1
    case BIO_CTRL_PENDING, BIO_CTRL_WPENDING: return 0
    default: return 0
    }
}
