// SPDX-License-Identifier: Apache-2.0
internal import CSSL

/// What a context lets through: the ignored failures and the pinned keys (immutable).
struct VerificationPolicy: Sendable {
    var ignored: Set<VerificationFailure>
    var pins: Set<[UInt8]>
}

/// One connection's view of its verification, reached from OpenSSL's callbacks through the
/// `SSL`'s app data (index 0). The callbacks run inside `SSL_do_handshake`, on the engine's
/// thread, so plain stored properties are enough.
final class VerificationRecord {
    let policy: VerificationPolicy
    /// The first failure that was not ignored (it ends the handshake).
    var refusal: VerificationError? = nil
    /// The named failures that were seen and let through.
    var ignoredSeen: Set<VerificationFailure> = []
    /// The leaf's SPKI SHA-256 when no certificate matched a pin.
    var pinMismatch: [UInt8]? = nil

    init(policy: VerificationPolicy) { self.policy = policy }

    static func of(_ store: OpaquePointer) -> VerificationRecord? {
        guard let ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()),
              let raw = SSL_get_ex_data(OpaquePointer(ssl), 0) else { return nil }
        return Unmanaged<VerificationRecord>.fromOpaque(raw).takeUnretainedValue()
    }
}

extension VerificationFailure {
    /// The named kind of an OpenSSL verification result, if it has one.
    init?(result: Int32) {
        switch result {
        case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
            self = .selfSigned
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT,
             X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
            self = .unknownIssuer
        case X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_IP_ADDRESS_MISMATCH:
            self = .hostNameMismatch
        case X509_V_ERR_CERT_HAS_EXPIRED:
            self = .expired
        case X509_V_ERR_CERT_NOT_YET_VALID:
            self = .notYetValid
        default:
            return nil
        }
    }
}

/// OpenSSL's per-certificate verification callback: a failure passes only when it is one of
/// the named ones the configuration ignores; the first other failure is recorded and ends
/// the handshake.
func verifyCallback(_ preverified: Int32, _ store: OpaquePointer?) -> Int32 {
    guard preverified != 1, let store else { return preverified }
    let result = X509_STORE_CTX_get_error(store)
    guard let record = VerificationRecord.of(store) else { return 0 }
    let failure = VerificationFailure(result: result)
    if let failure, record.policy.ignored.contains(failure) {
        record.ignoredSeen.insert(failure)
        return 1
    }
    if record.refusal == nil {
        let reason = X509_verify_cert_error_string(Int(result)).map { String(cString: $0) } ?? "error \(result)"
        record.refusal = VerificationError(failure: failure, result: result, reason: reason,
                                           depth: X509_STORE_CTX_get_error_depth(store))
    }
    return 0
}

/// Verification with pins: the chain is verified as usual first, then one of its certificates
/// must carry a pinned public key.
func pinningVerifyCallback(_ store: OpaquePointer?, _ argument: UnsafeMutableRawPointer?) -> Int32 {
    guard let store else { return 0 }
    guard X509_verify_cert(store) == 1 else { return 0 }
    guard let record = VerificationRecord.of(store) else { return 0 }
    let chain = X509_STORE_CTX_get0_chain(store)
    let count = cssl_stack_x509_count(chain)
    var leaf: [UInt8] = []
    for i in 0..<count {
        guard let certificate = cssl_stack_x509_at(chain, i) else { continue }
        let digest = Certificates.publicKeySHA256(certificate)
        if i == 0 { leaf = digest }
        if record.policy.pins.contains(digest) { return 1 }
    }
    record.pinMismatch = leaf
    X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION)
    return 0
}
