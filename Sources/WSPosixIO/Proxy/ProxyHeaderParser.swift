// SPDX-License-Identifier: Apache-2.0

/// Parses the PROXY protocol header (versions 1 and 2) at the start of a connection, strictly
/// and within fixed bounds: bytes in, a ``ProxyHeader`` and the bytes after it out.
///
/// The version is told from the first bytes (`PROXY ` or the v2 signature); anything else is
/// ``ProxyHeaderError/missingHeader`` as soon as one byte rules both out. A v1 line is at most
/// 107 bytes, CRLF included; a v2 header at most 16 bytes plus ``Limits/maxV2Length``. Any
/// split of the input gives the same result. An error is sticky: every later call throws it.
///
/// ```swift
/// var parser = ProxyHeaderParser()
/// if let (header, leftover) = try parser.parse(bytesRead) {
///     print(header.source!)   // 192.168.0.1:56324
///     // hand `leftover` (the start of the HTTP request) to what comes next
/// }
/// ```
public struct ProxyHeaderParser: Sendable {
    /// Bounds beyond the spec's own.
    public struct Limits: Hashable, Sendable {
        /// The largest v2 length field accepted (addresses plus TLVs, after the 16 fixed bytes).
        /// Default 1024: IPv6 addresses take 36, UNIX ones 216; HAProxy's optional TLVs (ALPN,
        /// authority, unique ID, SSL details) fit easily.
        public var maxV2Length: Int

        /// Limits with a v2 length field of at most `maxV2Length` bytes (default 1024).
        public init(maxV2Length: Int = 1024) { self.maxV2Length = maxV2Length }
    }

    /// The bounds this parser enforces (a longer v2 header is ``ProxyHeaderError/v2TooLong(length:)``).
    public let limits: Limits
    private var buffer: [UInt8] = []
    private var failure: ProxyHeaderError?
    private var result: ProxyHeader?

    /// A parser waiting for the first byte, with `limits` (default: v2 length at most 1024).
    public init(limits: Limits = .init()) { self.limits = limits }

    /// Feeds bytes read from the connection.
    ///
    /// - Returns: `nil` while the header is incomplete (the bytes are kept); once complete, the
    ///   header and every byte after it (later calls return the header again with their bytes).
    /// - Throws: ``ProxyHeaderError`` for a missing or malformed header (and on every later call).
    public mutating func parse(_ bytes: some Collection<UInt8>) throws(ProxyHeaderError) -> (header: ProxyHeader, leftover: [UInt8])? {
        if let failure { throw failure }
        if let result { return (result, Array(bytes)) }
        buffer.append(contentsOf: bytes)
        do throws(ProxyHeaderError) {
            guard let (header, length) = try Self.header(in: buffer, limits: limits) else { return nil }
            result = header
            let leftover = Array(buffer[length...])
            buffer = []
            return (header, leftover)
        } catch {
            failure = error
            buffer = []
            throw error
        }
    }

    /// The connection ended.
    /// - Throws: ``ProxyHeaderError/endOfStream`` unless the header was complete.
    public mutating func finish() throws(ProxyHeaderError) {
        if let failure { throw failure }
        guard result == nil else { return }
        failure = .endOfStream
        buffer = []
        throw .endOfStream
    }

    /// The header at the start of `bytes` and its length, or `nil` when more bytes are needed.
    static func header(in bytes: [UInt8], limits: Limits) throws(ProxyHeaderError) -> (ProxyHeader, Int)? {
        let v1 = bytes.starts(with: ProxyHeader.v1Prefix.prefix(bytes.count))
        let v2 = bytes.starts(with: ProxyHeader.v2Signature.prefix(bytes.count))
        if !v1 && !v2 { throw .missingHeader }
        if v1 && bytes.count >= ProxyHeader.v1Prefix.count { return try v1Header(in: bytes) }
        if v2 && bytes.count >= ProxyHeader.v2Signature.count { return try v2Header(in: bytes, limits: limits) }
        return nil
    }

    // MARK: version 1

    private static let cr: UInt8 = 0x0D, lf: UInt8 = 0x0A, space: UInt8 = 0x20

    /// `PROXY <TCP4|TCP6> <src> <dst> <sport> <dport>\r\n`, or `PROXY UNKNOWN[ anything]\r\n`.
    private static func v1Header(in bytes: [UInt8]) throws(ProxyHeaderError) -> (ProxyHeader, Int)? {
        var end: Int? = nil
        var i = ProxyHeader.v1Prefix.count
        while i < bytes.count && i < ProxyHeader.v1MaxLength {
            let b = bytes[i]
            if b == cr {
                guard i + 1 < ProxyHeader.v1MaxLength else { throw .v1LineTooLong }
                guard i + 1 < bytes.count else { return nil }
                guard bytes[i + 1] == lf else { throw .v1Malformed }
                end = i
                break
            }
            // Printable ASCII only (a NUL or LF inside the line is not a PROXY line).
            guard b >= 0x20 && b < 0x7F else { throw .v1Malformed }
            i += 1
        }
        guard let end else {
            if bytes.count >= ProxyHeader.v1MaxLength { throw .v1LineTooLong }
            return nil
        }
        let fields = bytes[..<end].split(separator: space, omittingEmptySubsequences: false)
        let proto = fields.count > 1 ? String(decoding: fields[1], as: UTF8.self) : ""
        let family: SocketAddress.Family
        switch proto {
        case "UNKNOWN":
            // "the receiver must ignore anything presented before the CRLF is found"
            return (ProxyHeader(version: .v1, command: .proxy), end + 2)
        case "TCP4": family = .ipv4
        case "TCP6": family = .ipv6
        default: throw .v1UnsupportedProtocol
        }
        guard fields.count == 6 else { throw .v1Malformed }
        let sourcePort = try port(fields[4]), destinationPort = try port(fields[5])
        let source = try address(fields[2], family: family, port: sourcePort)
        let destination = try address(fields[3], family: family, port: destinationPort)
        return (ProxyHeader(version: .v1, command: .proxy, source: source, destination: destination), end + 2)
    }

    /// A decimal port, 0-65535, without leading zeros.
    private static func port(_ text: ArraySlice<UInt8>) throws(ProxyHeaderError) -> UInt16 {
        guard (1...5).contains(text.count), text.allSatisfy({ (0x30...0x39).contains($0) }) else { throw .invalidPort }
        if text.count > 1 && text.first == 0x30 { throw .invalidPort }
        let value = text.reduce(0) { $0 * 10 + Int($1 - 0x30) }
        guard let port = UInt16(exactly: value) else { throw .invalidPort }
        return port
    }

    /// A numeric address of the family (dotted quad without leading zeros, or IPv6 text without
    /// brackets or zone).
    private static func address(_ text: ArraySlice<UInt8>, family: SocketAddress.Family,
                                port: UInt16) throws(ProxyHeaderError) -> SocketAddress {
        let allowed: (UInt8) -> Bool
        switch family {
        case .ipv4: allowed = { (0x30...0x39).contains($0) || $0 == 0x2E }
        case .ipv6: allowed = { (0x30...0x39).contains($0) || (0x41...0x46).contains($0) || (0x61...0x66).contains($0) || $0 == 0x3A || $0 == 0x2E }
        }
        // Checked first: the text goes to inet_pton as a C string (no NUL may cut it short).
        guard !text.isEmpty, text.count <= 45, text.allSatisfy(allowed),
              let parsed = Sys.parseNumericAddress(String(decoding: text, as: UTF8.self), port: port),
              parsed.family == family else { throw .invalidAddress }
        return parsed
    }

    // MARK: version 2

    /// Signature, version/command, family/transport, length (big-endian), addresses, TLVs.
    private static func v2Header(in bytes: [UInt8], limits: Limits) throws(ProxyHeaderError) -> (ProxyHeader, Int)? {
        let fixed = ProxyHeader.v2Signature.count + 4
        if bytes.count > 12 {
            let version = bytes[12] >> 4, command = bytes[12] & 0x0F
            guard version == 2 else { throw .v2UnsupportedVersion(version) }
            guard command <= 1 else { throw .v2UnsupportedCommand(command) }
        }
        if bytes.count > 13 {
            let family = bytes[13] >> 4, transport = bytes[13] & 0x0F
            guard family <= 3 else { throw .v2UnsupportedFamily(family) }
            guard transport <= 2 else { throw .v2UnsupportedTransport(transport) }
        }
        guard bytes.count >= fixed else { return nil }
        let length = Int(bytes[14]) << 8 | Int(bytes[15])
        guard length <= limits.maxV2Length else { throw .v2TooLong(length: length) }
        guard bytes.count >= fixed + length else { return nil }
        let total = fixed + length
        if bytes[12] & 0x0F == 0 {
            // LOCAL: "the receiver MUST accept this connection as valid and MUST use the real
            // connection endpoints and discard the protocol block including the family".
            return (ProxyHeader(version: .v2, command: .local), total)
        }
        let family = bytes[13] >> 4, transport = bytes[13] & 0x0F
        let block = bytes[fixed..<total]
        var header = ProxyHeader(version: .v2, command: .proxy)
        let addressLength: Int
        switch family {
        case 0:  // AF_UNSPEC: the proxy does not know; the socket's endpoints stand.
            addressLength = 0
        case 1, 2:  // AF_INET, AF_INET6 over STREAM only: this is a TCP server.
            guard transport == 1 else { throw .v2UnsupportedTransport(transport) }
            let size = family == 1 ? 4 : 16
            addressLength = 2 * size + 4
            guard block.count >= addressLength else { throw .v2AddressesTruncated }
            let start = block.startIndex
            let f: SocketAddress.Family = family == 1 ? .ipv4 : .ipv6
            let sourcePort = UInt16(block[start + 2 * size]) << 8 | UInt16(block[start + 2 * size + 1])
            let destinationPort = UInt16(block[start + 2 * size + 2]) << 8 | UInt16(block[start + 2 * size + 3])
            header.source = SocketAddress(family: f, bytes: Array(block[start..<start + size]), port: sourcePort, scopeID: 0)
            header.destination = SocketAddress(family: f, bytes: Array(block[start + size..<start + 2 * size]),
                                               port: destinationPort, scopeID: 0)
        default:  // AF_UNIX: two 108-byte paths, nothing an IP peer address can hold.
            guard transport == 1 else { throw .v2UnsupportedTransport(transport) }
            addressLength = 216
            guard block.count >= addressLength else { throw .v2AddressesTruncated }
        }
        var at = block.startIndex + addressLength
        while at < total {
            guard total - at >= 3 else { throw .v2MalformedTLV }
            let valueLength = Int(bytes[at + 1]) << 8 | Int(bytes[at + 2])
            guard total - at - 3 >= valueLength else { throw .v2MalformedTLV }
            header.tlvs.append(ProxyHeader.TLV(type: bytes[at], value: Array(bytes[at + 3..<at + 3 + valueLength])))
            at += 3 + valueLength
        }
        return (header, total)
    }
}
