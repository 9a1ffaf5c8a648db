// SPDX-License-Identifier: Apache-2.0

/// What went wrong in a TLS connection, with OpenSSL's own words for it.
///
/// A handshake that fails because the peer's certificate was refused is a
/// ``verificationFailed(_:)`` carrying the verification result ("certificate has expired",
/// "hostname mismatch", "unable to get local issuer certificate"); any other handshake failure
/// is a ``handshakeFailed(reason:)`` with OpenSSL's reason ("wrong version number" for a peer
/// that does not speak TLS, "tlsv1 alert unknown ca" when the peer refused ours).
public enum TLSError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The peer's certificate did not pass verification.
    case verificationFailed(VerificationError)
    /// The peer's certificate chain verified, but none of its public keys matches a pin
    /// (``TLSClientConfiguration/pinnedPublicKeys``); `sha256` is the leaf's SPKI SHA-256.
    case publicKeyPinMismatch(sha256: [UInt8])
    /// The handshake failed for another reason; `reason` is OpenSSL's ("wrong version number").
    case handshakeFailed(reason: String)
    /// A record after the handshake could not be processed (bad MAC, bad record, a fatal alert).
    case protocolError(reason: String)
    /// The stream ended without the peer's close_notify: the data may have been cut short.
    case truncated
    /// Application data to send after the connection was closed (by us or the peer).
    case closed
    /// More application data was queued before the handshake finished than the engine holds.
    case pendingLimitExceeded(limit: Int)
    /// A certificate, key or trust root could not be loaded, or the key does not match the
    /// certificate; the text says which and why.
    case invalidConfiguration(String)

    /// One line saying what failed and why.
    public var description: String {
        switch self {
        case .verificationFailed(let e): return "TLS certificate verification failed: \(e.reason)"
        case .publicKeyPinMismatch: return "TLS certificate verification failed: no public key matches a pin"
        case .handshakeFailed(let reason): return "TLS handshake failed: \(reason)"
        case .protocolError(let reason): return "TLS error: \(reason)"
        case .truncated: return "TLS stream truncated (no close_notify)"
        case .closed: return "the TLS connection is closed"
        case .pendingLimitExceeded(let limit): return "over \(limit) bytes queued before the TLS handshake finished"
        case .invalidConfiguration(let why): return "invalid TLS configuration: \(why)"
        }
    }
}

/// A refused certificate: OpenSSL's verification result, and the named kind when it is one
/// that ``TLSClientConfiguration/ignoredFailures`` can let through.
public struct VerificationError: Hashable, Sendable {
    /// The named kind of failure, `nil` for results that have no name here.
    public var failure: VerificationFailure?
    /// OpenSSL's `X509_V_ERR_*` code.
    public var result: Int32
    /// OpenSSL's text for ``result`` ("certificate has expired").
    public var reason: String
    /// Where in the chain the failure was found (0 is the peer's own certificate).
    public var depth: Int32

    /// A verification error with these fields.
    public init(failure: VerificationFailure?, result: Int32, reason: String, depth: Int32) {
        self.failure = failure; self.result = result; self.reason = reason; self.depth = depth
    }
}

/// The certificate verification failures a client can choose to ignore (as Tufao's
/// `ignoreSslErrors`). Only the named ones pass: ignoring ``expired`` still refuses a
/// certificate from an unknown issuer.
public enum VerificationFailure: String, Hashable, Sendable, CaseIterable {
    /// The failure whose raw value is `rawValue` (e.g. `"expired"`), or `nil`.
    public init?(rawValue: String) {
        guard let failure = Self.allCases.first(where: { $0.rawValue == rawValue }) else { return nil }
        self = failure
    }

    /// The peer's certificate (or a certificate in its chain) is self-signed and not trusted.
    case selfSigned = "self-signed"
    /// The chain leads to no trusted root.
    case unknownIssuer = "unknown-issuer"
    /// The certificate is not valid for the host name or IP address connected to.
    case hostNameMismatch = "hostname-mismatch"
    /// A certificate in the chain has expired.
    case expired = "expired"
    /// A certificate in the chain is not valid yet.
    case notYetValid = "not-yet-valid"
}
