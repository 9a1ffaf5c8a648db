// SPDX-License-Identifier: Apache-2.0

/// An IPv4 or IPv6 address and port, as a value (no platform types).
public struct SocketAddress: Hashable, Sendable, CustomStringConvertible {
    /// The address family.
    public enum Family: Hashable, Sendable {
        /// IPv4 (`AF_INET`): a 4-byte address.
        case ipv4
        /// IPv6 (`AF_INET6`): a 16-byte address.
        case ipv6
    }

    /// IPv4 or IPv6.
    public let family: Family
    /// The address in network byte order: 4 bytes (IPv4) or 16 bytes (IPv6).
    public let bytes: [UInt8]
    /// The TCP port.
    public let port: UInt16
    /// The IPv6 scope (interface) identifier; 0 for IPv4.
    public let scopeID: UInt32

    init(family: Family, bytes: [UInt8], port: UInt16, scopeID: UInt32) {
        self.family = family; self.bytes = bytes; self.port = port; self.scopeID = scopeID
    }

    /// Parses a numeric address such as `127.0.0.1` or `::1` (brackets allowed around IPv6).
    /// Returns `nil` for host names.
    public init?(numericHost host: String, port: UInt16) {
        var text = Substring(host)
        if text.hasPrefix("["), text.hasSuffix("]") { text = text.dropFirst().dropLast() }
        guard let parsed = Sys.parseNumericAddress(String(text), port: port) else { return nil }
        self = parsed
    }

    /// The same address with another port.
    public func withPort(_ port: UInt16) -> SocketAddress {
        SocketAddress(family: family, bytes: bytes, port: port, scopeID: scopeID)
    }

    /// The numeric host, e.g. `127.0.0.1` or `::1` (no brackets).
    public var host: String { Sys.formatAddress(self) }

    /// `host:port`, with brackets around IPv6 hosts.
    public var description: String {
        family == .ipv6 ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}
