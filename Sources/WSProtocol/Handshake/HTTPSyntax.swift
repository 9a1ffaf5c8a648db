// SPDX-License-Identifier: Apache-2.0

/// Character classes and small helpers of the HTTP/1.1 grammar (RFC 9110 §5.6, RFC 9112), on
/// bytes and ASCII strings. Internal: the handshake types use them to parse and to validate what
/// they write.
enum HTTPSyntax {
    /// `tchar` (RFC 9110 §5.6.2): the characters of a token.
    @inline(__always)
    static func isTokenChar(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "z"),
             UInt8(ascii: "A")...UInt8(ascii: "Z"):
            return true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
             UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
             UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    /// A field-value byte (RFC 9110 §5.5): VCHAR, SP, HTAB or obs-text; never CR, LF or NUL.
    @inline(__always)
    static func isFieldValueByte(_ b: UInt8) -> Bool {
        b == 0x09 || (b >= 0x20 && b != 0x7F)
    }

    /// Whether `value` is a valid `Host` field value, `uri-host [ ":" port ]` (RFC 9110 §7.2,
    /// RFC 3986 §3.2.2–§3.2.3): an IP literal in brackets (IPv6 or IPvFuture, with an RFC 6874
    /// zone), or a reg-name (unreserved characters, sub-delims, `%` with two hex digits, which
    /// also covers IPv4 addresses); then optionally a colon and digits. An empty value is valid
    /// (a request whose target has no authority, RFC 9110 §7.2); an empty host before a port
    /// is not ("http" URIs have a host, RFC 9110 §4.2.1).
    static func isValidHost(_ value: String) -> Bool {
        let u = Array(value.utf8)
        var i = 0
        if u.first == UInt8(ascii: "[") {
            guard let close = u.firstIndex(of: UInt8(ascii: "]")), close > 1 else { return false }
            guard u[1..<close].allSatisfy({ isUnreserved($0) || isSubDelim($0) || $0 == UInt8(ascii: ":")
                || $0 == UInt8(ascii: "%") }) else { return false }
            i = close + 1
        } else {
            while i < u.count && u[i] != UInt8(ascii: ":") {
                if u[i] == UInt8(ascii: "%") {
                    guard i + 2 < u.count, isHexDigit(u[i + 1]), isHexDigit(u[i + 2]) else { return false }
                    i += 3
                    continue
                }
                guard isUnreserved(u[i]) || isSubDelim(u[i]) else { return false }
                i += 1
            }
            if i == 0 && !u.isEmpty { return false }  // ":8080"
        }
        guard i < u.count else { return true }
        guard u[i] == UInt8(ascii: ":") else { return false }
        return u[(i + 1)...].allSatisfy(isDigit)
    }

    /// `ALPHA / DIGIT / "-" / "." / "_" / "~"` (RFC 3986 §2.3).
    private static func isUnreserved(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    /// `"!" / "$" / "&" / "'" / "(" / ")" / "*" / "+" / "," / ";" / "="` (RFC 3986 §2.2).
    private static func isSubDelim(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "!"), UInt8(ascii: "$"), UInt8(ascii: "&"), UInt8(ascii: "'"), UInt8(ascii: "("),
             UInt8(ascii: ")"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: ","), UInt8(ascii: ";"), UInt8(ascii: "="):
            return true
        default:
            return false
        }
    }

    /// An ASCII decimal digit (`Int(_:)` also takes a sign, where a grammar allows only `DIGIT`).
    static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }

    private static func isHexDigit(_ b: UInt8) -> Bool {
        isDigit(b) || (b | 0x20 >= UInt8(ascii: "a") && b | 0x20 <= UInt8(ascii: "f"))
    }

    /// Whether `s` is a non-empty token (RFC 9110 §5.6.2).
    static func isToken(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.allSatisfy(isTokenChar)
    }

    /// Whether `s` may be written as a field value: no CR, LF, NUL or other controls but HTAB,
    /// and no leading or trailing whitespace.
    static func isFieldValue(_ s: String) -> Bool {
        let u = s.utf8
        guard u.allSatisfy(isFieldValueByte) else { return false }
        if let f = u.first, f == 0x20 || f == 0x09 { return false }
        if let l = u.last, l == 0x20 || l == 0x09 { return false }
        return true
    }

    /// ASCII lowercase of one byte.
    @inline(__always)
    static func lower(_ b: UInt8) -> UInt8 {
        (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z")) ? b | 0x20 : b
    }

    /// ASCII case-insensitive equality (header names, tokens; RFC 9110 §5.1).
    /// Over the strings' contiguous bytes when they have them (native strings do): the generic
    /// `zip` of two UTF-8 views cost about 12,000 instructions per server handshake.
    static func equalsIgnoringCase(_ a: String, _ b: String) -> Bool {
        let x = a.utf8, y = b.utf8
        guard x.count == y.count else { return false }
        let contiguous = x.withContiguousStorageIfAvailable { p in
            y.withContiguousStorageIfAvailable { q in
                for i in 0..<p.count where lower(p[i]) != lower(q[i]) { return false }
                return true
            }
        }
        if let result = contiguous ?? nil { return result }
        return x.elementsEqual(y) { lower($0) == lower($1) }
    }

    /// The ASCII-lowercased form of `s` (non-ASCII characters unchanged).
    static func lowercased(_ s: String) -> String {
        String(decoding: s.utf8.map(lower), as: UTF8.self)
    }

    /// `s` without leading and trailing SP and HTAB (OWS, RFC 9110 §5.6.3).
    static func trimmingOWS(_ s: Substring) -> Substring {
        var t = s
        while let f = t.first, f == " " || f == "\t" { t.removeFirst() }
        while let l = t.last, l == " " || l == "\t" { t.removeLast() }
        return t
    }

    /// The comma-separated list elements of `values` (RFC 9110 §5.6.1), trimmed, empty
    /// elements skipped (the grammar allows them and requires recipients to ignore them).
    static func listElements(_ values: some Sequence<String>) -> [String] {
        var out: [String] = []
        for v in values {
            for part in v.split(separator: ",", omittingEmptySubsequences: false) {
                let t = trimmingOWS(part)
                if !t.isEmpty { out.append(String(t)) }
            }
        }
        return out
    }

    /// Appends the UTF-8 bytes of `s` to `out`.
    @inline(__always)
    static func append(_ s: String, to out: inout [UInt8]) {
        out.append(contentsOf: s.utf8)
    }

    /// The decimal form of a non-negative integer.
    static func decimal(_ n: Int) -> String { String(n) }
}
