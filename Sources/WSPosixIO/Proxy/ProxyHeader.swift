// SPDX-License-Identifier: Apache-2.0

/// A PROXY protocol header, as a load balancer (HAProxy's `send-proxy` / `send-proxy-v2`)
/// writes it in front of the client's bytes: who the client really is.
///
/// Version 1 is one text line (`PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n`); version 2
/// is binary, after a 12-byte signature. Both carry the original source and destination of a
/// proxied TCP connection, or say that the addresses are unknown (v1 `UNKNOWN`) or that the
/// connection is the proxy's own (v2 `LOCAL`, e.g. a health check).
public struct ProxyHeader: Hashable, Sendable {
    /// The protocol version of the header.
    public enum Version: Hashable, Sendable {
        /// The text form (`PROXY ...\r\n`).
        case v1
        /// The binary form (after `\r\n\r\n\0\r\nQUIT\n`).
        case v2
    }

    /// What the header says about the connection.
    public enum Command: Hashable, Sendable {
        /// The connection was relayed on behalf of a client (v1, v2 `PROXY`). ``source`` and
        /// ``destination`` are `nil` when the proxy did not know them (v1 `UNKNOWN`, v2 with an
        /// unspecified or UNIX family).
        case proxy
        /// The proxy opened the connection for itself (v2 `LOCAL`, e.g. a health check): the
        /// socket's own endpoints are the real ones.
        case local
    }

    /// A v2 type-length-value field after the addresses (unknown types are kept, not interpreted).
    public struct TLV: Hashable, Sendable {
        /// The type byte (e.g. 0x01 ALPN, 0x02 authority, 0x04 no-op).
        public var type: UInt8
        /// The value.
        public var value: [UInt8]

        /// A field of `type` carrying `value`.
        public init(type: UInt8, value: [UInt8]) { self.type = type; self.value = value }
    }

    /// Whether the header came as the v1 text line or the v2 binary form.
    public var version: Version
    /// Whether the connection was relayed for a client (`PROXY`) or is the proxy's own (`LOCAL`).
    public var command: Command
    /// The original client (address and port), when known.
    public var source: SocketAddress?
    /// The address and port the client connected to (the proxy's front), when known.
    public var destination: SocketAddress?
    /// The v2 TLV fields, in order (always empty for v1).
    public var tlvs: [TLV]

    /// A header with each part as given (default: no addresses, no TLVs).
    public init(version: Version, command: Command, source: SocketAddress? = nil,
                destination: SocketAddress? = nil, tlvs: [TLV] = []) {
        self.version = version; self.command = command
        self.source = source; self.destination = destination; self.tlvs = tlvs
    }

    /// The 12 bytes that open a version 2 header.
    public static let v2Signature: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A]
    /// The 6 bytes that open a version 1 header (`PROXY `).
    public static let v1Prefix: [UInt8] = Array("PROXY ".utf8)
    /// The longest version 1 line, CRLF included (the spec's bound: `PROXY UNKNOWN` with two
    /// full IPv6 addresses and ports).
    public static let v1MaxLength = 107
}

/// Why a PROXY protocol header was refused. The connection is closed without an answer.
public enum ProxyHeaderError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The connection does not start with a PROXY header (neither `PROXY ` nor the v2 signature).
    case missingHeader
    /// A version 1 line is over 107 bytes without its CRLF.
    case v1LineTooLong
    /// A version 1 line does not have the required shape (single spaces, a CRLF at the end,
    /// six fields for TCP4/TCP6).
    case v1Malformed
    /// A version 1 protocol other than `TCP4`, `TCP6` or `UNKNOWN`.
    case v1UnsupportedProtocol
    /// An address that is not a valid address of the announced family.
    case invalidAddress
    /// A port that is not a decimal number from 0 to 65535 without leading zeros.
    case invalidPort
    /// A version 2 header whose version nibble is not 2.
    case v2UnsupportedVersion(UInt8)
    /// A version 2 command other than LOCAL (0) or PROXY (1).
    case v2UnsupportedCommand(UInt8)
    /// A version 2 address family other than UNSPEC, INET, INET6, UNIX.
    case v2UnsupportedFamily(UInt8)
    /// A version 2 transport other than STREAM for a proxied TCP connection.
    case v2UnsupportedTransport(UInt8)
    /// A version 2 header longer than the configured limit (``ProxyHeaderParser/Limits``).
    case v2TooLong(length: Int)
    /// A version 2 length too short for the announced addresses.
    case v2AddressesTruncated
    /// The version 2 TLV fields do not exactly fill the rest of the header.
    case v2MalformedTLV
    /// The peer closed the connection before the header was complete.
    case endOfStream
    /// A PROXY header came from a source that is not a trusted proxy.
    case untrustedSource

    /// One line for logs, e.g. `malformed PROXY v1 line`.
    public var description: String {
        switch self {
        case .missingHeader: return "no PROXY protocol header"
        case .v1LineTooLong: return "PROXY v1 line longer than 107 bytes"
        case .v1Malformed: return "malformed PROXY v1 line"
        case .v1UnsupportedProtocol: return "PROXY v1 protocol is not TCP4, TCP6 or UNKNOWN"
        case .invalidAddress: return "invalid address in PROXY header"
        case .invalidPort: return "invalid port in PROXY header"
        case .v2UnsupportedVersion(let v): return "PROXY v2 header with version \(v)"
        case .v2UnsupportedCommand(let c): return "PROXY v2 header with command \(c)"
        case .v2UnsupportedFamily(let f): return "PROXY v2 header with address family \(f)"
        case .v2UnsupportedTransport(let t): return "PROXY v2 header with transport \(t)"
        case .v2TooLong(let length): return "PROXY v2 header of \(length) bytes is over the limit"
        case .v2AddressesTruncated: return "PROXY v2 header too short for its addresses"
        case .v2MalformedTLV: return "malformed PROXY v2 TLV"
        case .endOfStream: return "connection closed inside the PROXY header"
        case .untrustedSource: return "PROXY header from an untrusted source"
        }
    }
}

extension ProxyHeader {
    /// The header on the wire, as a proxy writes it: v1 `TCP4`/`TCP6` (or `UNKNOWN` without
    /// both addresses of one family), v2 `PROXY` with `AF_INET`/`AF_INET6` over `STREAM` (or
    /// `AF_UNSPEC` without addresses), or v2 `LOCAL`; v2 TLVs follow the addresses.
    public var bytes: [UInt8] {
        let addresses: (SocketAddress, SocketAddress)?
        if let source, let destination, source.family == destination.family, command == .proxy {
            addresses = (source, destination)
        } else {
            addresses = nil
        }
        switch version {
        case .v1:
            guard let (s, d) = addresses else { return Array("PROXY UNKNOWN\r\n".utf8) }
            let proto = s.family == .ipv4 ? "TCP4" : "TCP6"
            return Array("PROXY \(proto) \(s.host) \(d.host) \(s.port) \(d.port)\r\n".utf8)
        case .v2:
            var body: [UInt8] = []
            let familyTransport: UInt8
            if let (s, d) = addresses {
                familyTransport = s.family == .ipv4 ? 0x11 : 0x21
                body = s.bytes + d.bytes + [UInt8(s.port >> 8), UInt8(s.port & 0xFF), UInt8(d.port >> 8), UInt8(d.port & 0xFF)]
            } else {
                familyTransport = 0x00
            }
            if command == .proxy {
                for tlv in tlvs {
                    body += [tlv.type, UInt8(truncatingIfNeeded: tlv.value.count >> 8), UInt8(truncatingIfNeeded: tlv.value.count)] + tlv.value
                }
            }
            let command: UInt8 = self.command == .local ? 0x20 : 0x21
            return Self.v2Signature + [command, command == 0x20 ? 0x00 : familyTransport,
                                       UInt8(truncatingIfNeeded: body.count >> 8), UInt8(truncatingIfNeeded: body.count)] + body
        }
    }
}
