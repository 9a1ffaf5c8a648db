// SPDX-License-Identifier: Apache-2.0
internal import CSSL

/// Reading PEM certificates and keys through OpenSSL's BIOs (a file BIO or a memory BIO).
enum PEM {
    /// Every certificate in the source, in order; at least one.
    static func certificates(from source: PEMSource) throws(TLSError) -> [OpaquePointer] {
        try withBIO(source) { bio throws(TLSError) in
            var certificates: [OpaquePointer] = []
            while let certificate = PEM_read_bio_X509(bio, nil, nil, nil) { certificates.append(certificate) }
            ERR_clear_error()  // reading stops with a "no start line" error at the end of the data
            guard !certificates.isEmpty else {
                throw .invalidConfiguration("no PEM certificate in \(source.name)")
            }
            return certificates
        }
    }

    /// The first private key in the source.
    static func privateKey(from source: PEMSource) throws(TLSError) -> OpaquePointer {
        try withBIO(source) { bio throws(TLSError) in
            guard let key = PEM_read_bio_PrivateKey(bio, nil, nil, nil) else {
                throw .invalidConfiguration("no PEM private key in \(source.name): \(OpenSSLErrors.drain())")
            }
            return key
        }
    }

    private static func withBIO<R>(_ source: PEMSource, _ body: (OpaquePointer) throws(TLSError) -> R) throws(TLSError) -> R {
        ERR_clear_error()
        switch source {
        case .file(let path):
            // OpenSSL takes the path as a C string: a NUL would cut it short and open another file.
            guard !path.utf8.contains(0) else { throw .invalidConfiguration("invalid file name: it contains a NUL byte") }
            guard let bio = BIO_new_file(path, "r") else {
                throw .invalidConfiguration("cannot read \(path): \(OpenSSLErrors.drain())")
            }
            defer { BIO_free(bio) }
            return try body(bio)
        case .bytes(let bytes):
            // A memory BIO takes an `int` length.
            guard bytes.count <= Int(Int32.max) else {
                throw .invalidConfiguration("\(bytes.count) bytes of PEM: more than a memory BIO holds (\(Int32.max))")
            }
            let result: Result<R, TLSError> = bytes.withUnsafeBytes { raw in
                guard let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count)) else {
                    return .failure(.invalidConfiguration("BIO_new_mem_buf failed"))
                }
                defer { BIO_free(bio) }
                do throws(TLSError) { return .success(try body(bio)) } catch { return .failure(error) }
            }
            return try result.get()
        }
    }
}

extension PEMSource {
    var name: String {
        switch self {
        case .file(let path): return path
        case .bytes(let bytes): return "\(bytes.count) bytes of PEM"
        }
    }
}

/// OpenSSL's thread-local error queue.
enum OpenSSLErrors {
    /// Empties the queue if anything was left in it (by other code on this thread), so that
    /// `SSL_get_error` reads only what our next call puts there. Peeking costs less than
    /// clearing, and on the engine's paths the queue is nearly always empty already.
    @inline(__always)
    static func clearStale() {
        if ERR_peek_error() != 0 { ERR_clear_error() }
    }

    /// Empties the queue and returns the reason of its first (earliest) entry, e.g.
    /// "wrong version number"; "unknown error" when empty.
    static func drain() -> String {
        var first: String? = nil
        while case let code = ERR_get_error(), code != 0 {
            if first == nil { first = reason(code) }
        }
        return first ?? "unknown error"
    }

    static func reason(_ code: UInt) -> String {
        if let text = ERR_reason_error_string(code) { return String(cString: text) }
        // System errors (a file that cannot be opened) have no reason string: the full text
        // ends with the system's ("...:No such file or directory").
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, buffer.count)
        let full = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return full.split(separator: ":", omittingEmptySubsequences: false).last.map(String.init) ?? "error \(code)"
    }
}
