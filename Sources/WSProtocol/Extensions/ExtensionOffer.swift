// SPDX-License-Identifier: Apache-2.0

/// One element of a `Sec-WebSocket-Extensions` header: an extension token and its parameters
/// (RFC 6455 §9.1). The same type describes a client's offer and a server's response.
///
/// ```swift
/// let offers = try ExtensionOffer.parse(["permessage-deflate; client_max_window_bits, x-foo"])
/// offers[0].name                                   // "permessage-deflate"
/// offers[0].parameters                             // [.init(name: "client_max_window_bits")]
/// ExtensionOffer.headerValue(offers)               // "permessage-deflate; client_max_window_bits, x-foo"
/// ```
public struct ExtensionOffer: Hashable, Sendable, CustomStringConvertible {
    /// One `extension-param`: a token name and an optional token value.
    public struct Parameter: Hashable, Sendable {
        /// The parameter name (a token).
        public var name: String
        /// The value, unquoted, or `nil` when the parameter has none.
        public var value: String?

        /// A parameter `name`, with `value` or none (`nil`, the default).
        public init(name: String, value: String? = nil) { self.name = name; self.value = value }
    }

    /// The extension token, e.g. `permessage-deflate`.
    public var name: String
    /// The parameters, in order (duplicates kept, so negotiators can reject them).
    public var parameters: [Parameter]

    /// An element for extension `name` with `parameters` (default none), in the given order.
    public init(name: String, parameters: [Parameter] = []) { self.name = name; self.parameters = parameters }

    /// The element as written in the header: `name; p1; p2=v` (values that are not tokens are
    /// quoted).
    public var description: String {
        var s = name
        for p in parameters {
            s += "; " + p.name
            if let v = p.value { s += "=" + (HTTPSyntax.isToken(v) ? v : "\"" + v + "\"") }
        }
        return s
    }

    /// The header value for a list of elements, comma-separated.
    public static func headerValue(_ offers: [ExtensionOffer]) -> String {
        offers.map(\.description).joined(separator: ", ")
    }

    /// Whether the name and every parameter name and value are tokens, so the element can be
    /// written and read back unchanged.
    public var isValid: Bool {
        HTTPSyntax.isToken(name) && parameters.allSatisfy { p in
            HTTPSyntax.isToken(p.name) && (p.value.map(HTTPSyntax.isToken) ?? true)
        }
    }

    /// Parses the values of every `Sec-WebSocket-Extensions` field of a message, in order
    /// (several fields form one list, RFC 9110 §5.3).
    ///
    /// Grammar (RFC 6455 §9.1): `extension *( ";" param )`, `param = token [ "=" (token |
    /// quoted-string) ]`, where a quoted value must be a token once unescaped. Whitespace is
    /// allowed around separators; empty list elements are ignored (RFC 9110 §5.6.1).
    /// - Throws: ``HandshakeError/invalidExtensionHeader`` when the text does not match.
    public static func parse(_ values: [String]) throws(HandshakeError) -> [ExtensionOffer] {
        var out: [ExtensionOffer] = []
        for v in values {
            var scanner = Scanner(Array(v.utf8))
            try scanner.parseList(into: &out)
        }
        return out
    }

    private struct Scanner {
        let b: [UInt8]
        var i = 0
        init(_ b: [UInt8]) { self.b = b }

        var peek: UInt8? { i < b.count ? b[i] : nil }

        mutating func skipOWS() { while let c = peek, c == 0x20 || c == 0x09 { i += 1 } }

        mutating func token() -> String? {
            let start = i
            while let c = peek, HTTPSyntax.isTokenChar(c) { i += 1 }
            return i > start ? String(decoding: b[start..<i], as: UTF8.self) : nil
        }

        /// `quoted-string` (RFC 9110 §5.6.4), returned unescaped.
        mutating func quoted() throws(HandshakeError) -> String {
            i += 1  // opening quote
            var out: [UInt8] = []
            while let c = peek {
                i += 1
                switch c {
                case UInt8(ascii: "\""):
                    return String(decoding: out, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    guard let e = peek, HTTPSyntax.isFieldValueByte(e) else { throw .invalidExtensionHeader }
                    out.append(e); i += 1
                default:
                    guard HTTPSyntax.isFieldValueByte(c) else { throw .invalidExtensionHeader }
                    out.append(c)
                }
            }
            throw .invalidExtensionHeader
        }

        mutating func parseList(into out: inout [ExtensionOffer]) throws(HandshakeError) {
            while true {
                skipOWS()
                guard let c = peek else { return }
                if c == UInt8(ascii: ",") { i += 1; continue }  // empty element
                guard let name = token() else { throw .invalidExtensionHeader }
                var offer = ExtensionOffer(name: name)
                skipOWS()
                while peek == UInt8(ascii: ";") {
                    i += 1; skipOWS()
                    guard let pname = token() else { throw .invalidExtensionHeader }
                    var param = Parameter(name: pname)
                    skipOWS()
                    if peek == UInt8(ascii: "=") {
                        i += 1; skipOWS()
                        if peek == UInt8(ascii: "\"") {
                            let v = try quoted()
                            // "the value after quoted-string unescaping MUST conform to the
                            // 'token' ABNF" (RFC 6455 §9.1).
                            guard HTTPSyntax.isToken(v) else { throw .invalidExtensionHeader }
                            param.value = v
                        } else {
                            guard let v = token() else { throw .invalidExtensionHeader }
                            param.value = v
                        }
                        skipOWS()
                    }
                    offer.parameters.append(param)
                }
                out.append(offer)
                guard let next = peek else { return }
                guard next == UInt8(ascii: ",") else { throw .invalidExtensionHeader }
                i += 1
            }
        }
    }
}
