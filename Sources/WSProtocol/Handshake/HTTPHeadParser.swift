// SPDX-License-Identifier: Apache-2.0

/// An incremental, size-limited parser for the head of an HTTP/1.1 request or response
/// (RFC 9112 §2–§5).
///
/// Feed it bytes as they arrive; it returns `nil` until the blank line that ends the head, then
/// the head and every byte that followed it (the start of the body, or the first WebSocket
/// frames), which it never drops. It checks each byte once, so any split of the same input gives
/// the same result, and errors are decided by the earliest offending byte.
///
/// The syntax is strict: lines end with CRLF (a bare CR or LF is an error), no obs-fold
/// (RFC 9112 §5.2), no whitespace between a field name and its colon (RFC 9112 §5.1), field
/// names are tokens, values have no control characters but HTAB.
public struct HTTPHeadParser: Sendable {
    /// Which kind of head to expect.
    public enum Kind: Hashable, Sendable {
        /// A request head: `METHOD target HTTP/x.y`.
        case request
        /// A response head: `HTTP/x.y status reason`.
        case response
    }

    /// Size limits. The defaults follow common servers: 16 KiB for a head (node.js's
    /// `--max-http-header-size` and h11's default), 100 fields (Apache `LimitRequestFields`),
    /// 8 KiB for the request line (Apache `LimitRequestLine` 8190).
    public struct Limits: Hashable, Sendable {
        /// The most bytes in the whole head, CRLFs included (→ 431 for a request).
        public var maxHeadSize: Int = 16 * 1024
        /// The most header fields (→ 431 for a request).
        public var maxHeaderCount: Int = 100
        /// The most bytes in the request line, CRLF excluded (→ 414).
        public var maxRequestLineLength: Int = 8 * 1024

        /// Limits with each value as given; the defaults are 16 KiB, 100 fields and 8 KiB.
        public init(maxHeadSize: Int = 16 * 1024, maxHeaderCount: Int = 100, maxRequestLineLength: Int = 8 * 1024) {
            self.maxHeadSize = maxHeadSize; self.maxHeaderCount = maxHeaderCount
            self.maxRequestLineLength = maxRequestLineLength
        }
    }

    /// A parsed head.
    public enum Head: Hashable, Sendable {
        /// A request head (from a parser of kind ``Kind/request``).
        case request(HTTPRequestHead)
        /// A response head (from a parser of kind ``Kind/response``).
        case response(HTTPResponseHead)
    }

    /// The kind of head this parser expects.
    public let kind: Kind
    /// The limits in force.
    public let limits: Limits

    private var buffer: [UInt8] = []
    private var scanned = 0
    private var lineStart = 0
    private var startLine: [UInt8]? = nil
    private var fields: [(name: String, value: String)] = []
    private var failure: HandshakeError? = nil
    private var completed: Head? = nil

    /// Creates a parser for one head.
    public init(kind: Kind, limits: Limits = .init()) {
        self.kind = kind; self.limits = limits
    }

    /// Feeds bytes.
    ///
    /// - Returns: `nil` while the head is incomplete; otherwise the head and the bytes after it.
    ///   Once the head is complete, every later call returns the same head with just the new
    ///   bytes (the parser reads one head; create a new one for the next).
    /// - Throws: ``HandshakeError/headTooLarge(limit:)``, ``HandshakeError/requestLineTooLong(limit:)``,
    ///   ``HandshakeError/tooManyHeaders(limit:)`` or ``HandshakeError/malformedHead(_:)``; after
    ///   an error every later call throws the same error.
    public mutating func parse(_ bytes: some Sequence<UInt8>) throws(HandshakeError) -> (head: Head, leftover: [UInt8])? {
        if let failure { throw failure }
        if let completed { return (completed, Array(bytes)) }
        buffer.append(contentsOf: bytes)
        do throws(HandshakeError) {
            return try scan()
        } catch {
            failure = error
            throw error
        }
    }

    private static let responsePrefix: [UInt8] = Array("HTTP/".utf8)

    private mutating func scan() throws(HandshakeError) -> (head: Head, leftover: [UInt8])? {
        while scanned < buffer.count {
            let i = scanned
            let b = buffer[i]
            if i > 0 && buffer[i - 1] == 0x0D && b != 0x0A && i - 1 >= lineStart {
                throw .malformedHead("CR not followed by LF")
            }
            if b != 0x0A && b != 0x0D {
                if kind == .request && startLine == nil && i + 1 > limits.maxRequestLineLength {
                    throw .requestLineTooLong(limit: limits.maxRequestLineLength)
                }
            }
            if i + 1 > limits.maxHeadSize { throw .headTooLarge(limit: limits.maxHeadSize) }
            // A response starts with "HTTP/": anything else (a TLS alert, a SOCKS reply) fails
            // at its first byte instead of waiting for a line end that may never come.
            if kind == .response && startLine == nil && i < 5 && b != Self.responsePrefix[i] {
                throw .malformedHead("invalid HTTP version")
            }
            scanned = i + 1
            guard b == 0x0A else { continue }
            guard i > lineStart, buffer[i - 1] == 0x0D else { throw .malformedHead("LF without CR") }
            let line = buffer[lineStart..<(i - 1)]
            lineStart = i + 1
            if startLine == nil {
                guard !line.isEmpty else { throw .malformedHead("empty start line") }
                startLine = Array(line)
                // Validate now so that a bad start line is reported at its position.
                _ = try parseStartLine(Array(line))
                continue
            }
            if line.isEmpty {
                let head = try parseStartLine(startLine ?? [])
                let leftover = Array(buffer[(i + 1)...])
                buffer = []
                completed = head
                return (head, leftover)
            }
            try parseField(line)
        }
        return nil
    }

    private mutating func parseField(_ line: ArraySlice<UInt8>) throws(HandshakeError) {
        guard let first = line.first, first != 0x20, first != 0x09 else {
            throw .malformedHead("obsolete line folding")
        }
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else {
            throw .malformedHead("header line without colon")
        }
        let name = line[line.startIndex..<colon]
        guard !name.isEmpty, name.allSatisfy(HTTPSyntax.isTokenChar) else {
            throw .malformedHead("invalid header name")
        }
        var value = line[(colon + 1)...]
        while let f = value.first, f == 0x20 || f == 0x09 { value.removeFirst() }
        while let l = value.last, l == 0x20 || l == 0x09 { value.removeLast() }
        guard value.allSatisfy(HTTPSyntax.isFieldValueByte) else {
            throw .malformedHead("invalid character in header value")
        }
        guard fields.count < limits.maxHeaderCount else { throw .tooManyHeaders(limit: limits.maxHeaderCount) }
        fields.append((String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self)))
    }

    private func parseStartLine(_ line: [UInt8]) throws(HandshakeError) -> Head {
        let parts = line.split(separator: 0x20, maxSplits: 2, omittingEmptySubsequences: false)
        switch kind {
        case .request:
            guard parts.count == 3 else { throw .malformedHead("invalid request line") }
            guard !parts[0].isEmpty, parts[0].allSatisfy(HTTPSyntax.isTokenChar) else {
                throw .malformedHead("invalid method")
            }
            guard !parts[1].isEmpty, parts[1].allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
                throw .malformedHead("invalid request target")
            }
            let version = try Self.parseVersion(parts[2])
            return .request(HTTPRequestHead(method: String(decoding: parts[0], as: UTF8.self),
                                            target: String(decoding: parts[1], as: UTF8.self),
                                            version: version, headers: HTTPHeaders(fields)))
        case .response:
            guard parts.count >= 2 else { throw .malformedHead("invalid status line") }
            let version = try Self.parseVersion(parts[0])
            let code = parts[1]
            guard code.count == 3, code.allSatisfy(HTTPSyntax.isDigit) else {
                throw .malformedHead("invalid status code")
            }
            let status = code.reduce(0) { $0 * 10 + Int($1 - 0x30) }
            let reason = parts.count == 3 ? parts[2] : []
            guard reason.allSatisfy(HTTPSyntax.isFieldValueByte) else { throw .malformedHead("invalid reason phrase") }
            return .response(HTTPResponseHead(status: status, reason: String(decoding: reason, as: UTF8.self),
                                              version: version, headers: HTTPHeaders(fields)))
        }
    }

    /// `HTTP-version = "HTTP/" DIGIT "." DIGIT` (RFC 9112 §2.3).
    private static func parseVersion(_ s: ArraySlice<UInt8>) throws(HandshakeError) -> HTTPVersion {
        let b = Array(s)
        guard b.count == 8, b[0...4].elementsEqual("HTTP/".utf8), b[6] == UInt8(ascii: "."),
              (0x30...0x39).contains(b[5]), (0x30...0x39).contains(b[7]) else {
            throw .malformedHead("invalid HTTP version")
        }
        return HTTPVersion(major: Int(b[5] - 0x30), minor: Int(b[7] - 0x30))
    }
}
