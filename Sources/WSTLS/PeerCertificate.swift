// SPDX-License-Identifier: Apache-2.0
internal import CSSL

/// The peer's certificate, as seen after the handshake.
public struct PeerCertificate: Hashable, Sendable {
    /// The subject, RFC 2253 form ("CN=localhost,O=Example").
    public var subject: String
    /// The issuer, RFC 2253 form.
    public var issuer: String
    /// SHA-256 of the DER certificate.
    public var sha256Fingerprint: [UInt8]
    /// SHA-256 of the DER SubjectPublicKeyInfo (the value to pin).
    public var publicKeySHA256: [UInt8]
    /// Start of validity, in seconds since 1970-01-01 UTC.
    public var notBefore: Int64
    /// End of validity, in seconds since 1970-01-01 UTC.
    public var notAfter: Int64

    init(_ certificate: OpaquePointer) {
        subject = Certificates.name(X509_get_subject_name(certificate))
        issuer = Certificates.name(X509_get_issuer_name(certificate))
        sha256Fingerprint = Certificates.sha256(certificate)
        publicKeySHA256 = Certificates.publicKeySHA256(certificate)
        notBefore = Certificates.unixTime(X509_get0_notBefore(certificate))
        notAfter = Certificates.unixTime(X509_get0_notAfter(certificate))
    }
}

/// What a finished handshake agreed on.
public struct TLSSessionInfo: Hashable, Sendable {
    /// The protocol version ("TLSv1.3").
    public var version: String
    /// The cipher suite's OpenSSL name ("TLS_AES_128_GCM_SHA256").
    public var cipher: String
    /// The ALPN protocol agreed on (RFC 7301), if any.
    public var applicationProtocol: String?
    /// The peer's certificate; `nil` when it presented none (a client without a certificate).
    public var peerCertificate: PeerCertificate?
    /// The named verification failures that were seen and let through.
    public var ignoredFailures: Set<VerificationFailure>
}

enum Certificates {
    static func name(_ name: OpaquePointer?) -> String {
        guard let name, let bio = BIO_new(BIO_s_mem()) else { return "" }
        defer { BIO_free(bio) }
        guard X509_NAME_print_ex(bio, name, 0, cssl_xn_flag_rfc2253()) >= 0 else { return "" }
        return String(decoding: drain(bio), as: UTF8.self)
    }

    static func sha256(_ certificate: OpaquePointer) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 32
        guard X509_digest(certificate, EVP_sha256(), &digest, &length) == 1 else { return [] }
        return digest
    }

    /// SHA-256 of the DER SubjectPublicKeyInfo (what HPKP and Chromium's SPKI lists use).
    static func publicKeySHA256(_ certificate: OpaquePointer) -> [UInt8] {
        guard let key = X509_get_X509_PUBKEY(certificate) else { return [] }
        var der: UnsafeMutablePointer<UInt8>? = nil
        let length = i2d_X509_PUBKEY(key, &der)
        guard length > 0, let der else { return [] }
        defer { cssl_free(der) }
        var digest = [UInt8](repeating: 0, count: 32)
        var size: UInt32 = 32
        guard EVP_Digest(der, Int(length), &digest, &size, EVP_sha256(), nil) == 1 else { return [] }
        return digest
    }

    /// An ASN.1 time as seconds since the epoch (the difference from 1970-01-01, so no libc).
    static func unixTime(_ time: UnsafePointer<ASN1_TIME>?) -> Int64 {
        guard let time, let epoch = ASN1_TIME_set(nil, 0) else { return 0 }
        defer { ASN1_STRING_free(epoch) }
        var days: Int32 = 0
        var seconds: Int32 = 0
        guard ASN1_TIME_diff(&days, &seconds, epoch, time) == 1 else { return 0 }
        return Int64(days) * 86_400 + Int64(seconds)
    }

    static func drain(_ bio: OpaquePointer) -> [UInt8] {
        let pending = Int(BIO_ctrl_pending(bio))
        guard pending > 0 else { return [] }
        return [UInt8](unsafeUninitializedCapacity: pending) { buffer, count in
            count = Int(max(0, BIO_read(bio, buffer.baseAddress, Int32(pending))))
        }
    }
}
