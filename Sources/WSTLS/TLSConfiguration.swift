// SPDX-License-Identifier: Apache-2.0

/// PEM data: a file to read, or the bytes themselves.
public enum PEMSource: Hashable, Sendable {
    /// A PEM file, read when the ``TLSContext`` is made.
    case file(String)
    /// PEM text.
    case bytes([UInt8])
}

/// A TLS protocol version. Versions before 1.2 are not offered.
public enum TLSVersion: String, Hashable, Sendable, Comparable, CaseIterable {
    /// TLS 1.2 (RFC 5246).
    case v1_2 = "TLSv1.2"
    /// TLS 1.3 (RFC 8446).
    case v1_3 = "TLSv1.3"

    /// The version named `rawValue` as OpenSSL names it (`TLSv1.2`, `TLSv1.3`), or `nil`.
    public init?(rawValue: String) {
        guard let version = Self.allCases.first(where: { $0.rawValue == rawValue }) else { return nil }
        self = version
    }

    /// Whether `a` is an older version than `b`.
    public static func < (a: TLSVersion, b: TLSVersion) -> Bool { a.wireValue < b.wireValue }

    var wireValue: Int32 { self == .v1_2 ? 0x0303 : 0x0304 }
}

/// The certificates a peer's chain must lead to.
public enum TrustRoots: Hashable, Sendable {
    /// The system trust store (OpenSSL's default paths; `/etc/ssl/certs` on Debian).
    case system
    /// The system trust store plus these PEM certificates.
    case systemAnd([PEMSource])
    /// Only these PEM certificates.
    case only([PEMSource])
}

/// How a TLS client verifies its server, and what it presents.
///
/// The defaults verify: the system trust store, the host name or IP address connected to,
/// TLS 1.2 at least (1.3 preferred), ALPN `http/1.1`.
public struct TLSClientConfiguration: Hashable, Sendable {
    /// The roots the server's chain must lead to. Default ``TrustRoots/system``.
    public var trustRoots: TrustRoots = .system
    /// Whether the server's certificate is verified at all. Default `true`; `false` accepts any
    /// certificate (and ignores ``pinnedPublicKeys``): only for tests.
    public var verifiesPeer: Bool = true
    /// Verification failures to let through (as Tufao's ignored SSL errors); only these pass.
    public var ignoredFailures: Set<VerificationFailure> = []
    /// SHA-256 digests of DER SubjectPublicKeyInfo; when not empty, a certificate of the
    /// server's chain must carry one of these keys (checked after the chain verified).
    public var pinnedPublicKeys: Set<[UInt8]> = []
    /// A certificate chain to present (mutual TLS), leaf first; needs ``privateKey``.
    public var certificateChain: PEMSource? = nil
    /// The private key of ``certificateChain``.
    public var privateKey: PEMSource? = nil
    /// The lowest version accepted. Default TLS 1.2.
    public var minimumVersion: TLSVersion = .v1_2
    /// The highest version offered; `nil` for the highest OpenSSL has (TLS 1.3).
    public var maximumVersion: TLSVersion? = nil
    /// ALPN protocols to offer (RFC 7301), in order of preference. Default `http/1.1`. Each
    /// name takes 1–255 bytes, all together at most ``TLSContext/maxALPNBytes`` in wire format.
    public var applicationProtocols: [String] = ["http/1.1"]
    /// Application bytes a connection holds while its handshake runs (nothing is sent in clear
    /// before verification). Default 256 KiB.
    public var maxPendingBytes: Int = 256 * 1024

    /// A client configuration that trusts `trustRoots` (the system store by default) and lets
    /// the `ignoredFailures` through verification (none by default).
    public init(trustRoots: TrustRoots = .system, ignoredFailures: Set<VerificationFailure> = []) {
        self.trustRoots = trustRoots
        self.ignoredFailures = ignoredFailures
    }
}

/// What a TLS server presents and whom it accepts.
public struct TLSServerConfiguration: Hashable, Sendable {
    /// Whether and how clients present certificates.
    public enum ClientAuthentication: Hashable, Sendable {
        /// No client certificate is requested.
        case none
        /// A certificate is requested; one that is presented must verify against the roots.
        case optional(TrustRoots)
        /// A certificate that verifies against the roots is required.
        case required(TrustRoots)
    }

    /// The certificate chain, leaf first (PEM).
    public var certificateChain: PEMSource
    /// The private key of the leaf (PEM).
    public var privateKey: PEMSource
    /// The lowest version accepted. Default TLS 1.2.
    public var minimumVersion: TLSVersion = .v1_2
    /// The highest version accepted; `nil` for the highest OpenSSL has (TLS 1.3).
    public var maximumVersion: TLSVersion? = nil
    /// ALPN protocols the server speaks, in order of preference (RFC 7301). Default `http/1.1`;
    /// a client offering none of them goes on without ALPN. Bounded as the client's are.
    public var applicationProtocols: [String] = ["http/1.1"]
    /// Client certificates. Default ``ClientAuthentication/none``.
    public var clientAuthentication: ClientAuthentication = .none
    /// Application bytes a connection holds while its handshake runs. Default 256 KiB.
    public var maxPendingBytes: Int = 256 * 1024
    /// Session tickets sent after each TLS 1.3 handshake (RFC 8446 §4.6.1), so that a client
    /// can resume instead of running a full handshake again; 0 to 16 (``sessionTicketRange``,
    /// more is a configuration error). Default 0: no tickets and no session resumption at all
    /// (no TLS 1.2 tickets, no server-side session cache). OpenSSL encrypts tickets with a key
    /// it makes at start and never rotates, so one stolen key opens every session resumed with
    /// it (hardening guides such as CIS's for nginx turn tickets off for that reason); a ticket
    /// resumes only on the process that issued it (not across a fleet behind a load balancer);
    /// each costs the server 10-25 µs of CPU per handshake (OpenSSL 3.0), and WebSocket
    /// connections live long enough that resuming saves little. Set 1 or 2 (OpenSSL's and
    /// BoringSSL's default) for clients that reconnect often to the same process; TLS 1.2
    /// clients then get a ticket too.
    public var sessionTickets: Int = 0
    /// The session ticket counts a server accepts (each one is work and bytes per handshake).
    public static let sessionTicketRange = 0...16

    /// A server configuration that presents `certificateChain` (the server's certificate
    /// first) with its `privateKey`.
    public init(certificateChain: PEMSource, privateKey: PEMSource) {
        self.certificateChain = certificateChain
        self.privateKey = privateKey
    }
}
