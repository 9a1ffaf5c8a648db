// SPDX-License-Identifier: Apache-2.0

/// An IPv4 or IPv6 network in CIDR form (`10.0.0.0/8`, `::1/128`), used to say which direct
/// peers are trusted proxies.
public struct IPAddressPrefix: Hashable, Sendable, CustomStringConvertible {
    /// The network address (bits past ``length`` are zero).
    public let network: SocketAddress
    /// The number of leading bits that must match (0-32 for IPv4, 0-128 for IPv6).
    public let length: Int

    /// Parses `ADDRESS/LENGTH` or a bare `ADDRESS` (a single host: /32 or /128). IPv6 may be in
    /// brackets. Returns `nil` for anything else (host names, a length out of range, a zone).
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 1 || parts.count == 2 else { return nil }
        var host = Substring(parts[0])
        if host.hasPrefix("["), host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        guard !host.isEmpty, host.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != 0x25 }),
              let address = Sys.parseNumericAddress(String(host), port: 0) else { return nil }
        let maxLength = address.bytes.count * 8
        var length = maxLength
        if parts.count == 2 {
            guard let n = Int(parts[1]), parts[1].allSatisfy(\.isASCII), (0...maxLength).contains(n),
                  parts[1].first != "+", parts[1].first != "-" else { return nil }
            length = n
        }
        self.init(address: address, length: length)
    }

    /// The network of `address` with the first `length` bits kept (`length` is clamped to the
    /// family's range).
    public init(address: SocketAddress, length: Int) {
        let bits = min(max(length, 0), address.bytes.count * 8)
        self.length = bits
        self.network = SocketAddress(family: address.family, bytes: Self.masked(address.bytes, bits: bits), port: 0, scopeID: 0)
    }

    /// 127.0.0.0/8 and ::1/128: the default trusted proxies (a balancer on the same machine).
    public static let loopback: [IPAddressPrefix] = [IPAddressPrefix("127.0.0.0/8")!, IPAddressPrefix("::1/128")!]

    /// Whether `address` is inside this network. An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`)
    /// matches the IPv4 networks its IPv4 address is in.
    public func contains(_ address: SocketAddress) -> Bool {
        var bytes = address.bytes
        if address.family != network.family {
            guard address.family == .ipv6, network.family == .ipv4, bytes.count == 16,
                  bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF else { return false }
            bytes = Array(bytes[12...])
        }
        return Self.masked(bytes, bits: length) == network.bytes
    }

    /// The prefix in CIDR notation, e.g. `"10.0.0.0/8"` or `"::1/128"`.
    public var description: String { "\(network.host)/\(length)" }

    private static func masked(_ bytes: [UInt8], bits: Int) -> [UInt8] {
        var out = bytes
        for i in out.indices {
            let keep = min(max(bits - i * 8, 0), 8)
            out[i] &= keep == 0 ? 0 : UInt8(truncatingIfNeeded: 0xFF << (8 - keep))
        }
        return out
    }
}

extension Array where Element == IPAddressPrefix {
    /// Whether any prefix contains `address`.
    func containsAddress(_ address: SocketAddress?) -> Bool {
        guard let address else { return false }
        return contains { $0.contains(address) }
    }
}
