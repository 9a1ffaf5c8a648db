// SPDX-License-Identifier: Apache-2.0

/// The parameters of a permessage-deflate offer or response (RFC 7692 §7.1), and, once
/// negotiated, the values the compressor of both ends must honour.
public struct PerMessageDeflateParameters: Hashable, Sendable {
    /// The extension token (RFC 7692 §7).
    public static let extensionName = "permessage-deflate"
    /// The range of `*_max_window_bits` values (RFC 7692 §7.1.2).
    public static let windowBitsRange = 8...15

    /// `server_no_context_takeover`: the server resets its compression context after each
    /// message (RFC 7692 §7.1.1.1).
    public var serverNoContextTakeover = false
    /// `client_no_context_takeover`: the client resets its compression context after each
    /// message (RFC 7692 §7.1.1.2).
    public var clientNoContextTakeover = false
    /// `server_max_window_bits`: the server's LZ77 window is at most 2^n bytes; `nil` means
    /// 15 (RFC 7692 §7.1.2.1).
    public var serverMaxWindowBits: Int? = nil
    /// `client_max_window_bits` with a value: the client's window is at most 2^n bytes; `nil`
    /// means 15 (RFC 7692 §7.1.2.2).
    public var clientMaxWindowBits: Int? = nil
    /// In an offer only: `client_max_window_bits` is present, with or without a value — the
    /// client can honour a limit chosen by the server (RFC 7692 §7.1.2.2). Implied when
    /// ``clientMaxWindowBits`` is set.
    public var clientMaxWindowBitsSupported = false

    /// Parameters with each field as given (defaults: none present). Setting
    /// `clientMaxWindowBits` also sets ``clientMaxWindowBitsSupported``. Values are stored as
    /// given, not checked against ``windowBitsRange``.
    public init(serverNoContextTakeover: Bool = false, clientNoContextTakeover: Bool = false,
                serverMaxWindowBits: Int? = nil, clientMaxWindowBits: Int? = nil,
                clientMaxWindowBitsSupported: Bool = false) {
        self.serverNoContextTakeover = serverNoContextTakeover
        self.clientNoContextTakeover = clientNoContextTakeover
        self.serverMaxWindowBits = serverMaxWindowBits
        self.clientMaxWindowBits = clientMaxWindowBits
        self.clientMaxWindowBitsSupported = clientMaxWindowBitsSupported || clientMaxWindowBits != nil
    }

    /// Where a parameter list comes from; the grammar differs (RFC 7692 §7.1.2.2: only an
    /// offer may carry `client_max_window_bits` without a value).
    public enum Context: Hashable, Sendable {
        /// A client's offer: `client_max_window_bits` may come without a value.
        case offer
        /// A server's response: every `*_max_window_bits` needs a value.
        case response
    }

    /// Parses the parameters of a `permessage-deflate` element.
    ///
    /// Returns `nil` when the element breaks RFC 7692 §7: an unknown parameter, a parameter
    /// given twice, a value on a flag, a missing or invalid window-bits value (not a decimal
    /// 8–15 without leading zeros), or `client_max_window_bits` without a value in a response.
    /// A server declines such an offer; a client fails the connection (RFC 7692 §7.1).
    public static func parse(_ element: ExtensionOffer, as context: Context) -> PerMessageDeflateParameters? {
        guard HTTPSyntax.equalsIgnoringCase(element.name, extensionName) else { return nil }
        var p = PerMessageDeflateParameters()
        var seen = Set<String>()
        for param in element.parameters {
            let name = HTTPSyntax.lowercased(param.name)
            // "multiple extension parameters with the same name" → decline / fail (RFC 7692 §7).
            guard seen.insert(name).inserted else { return nil }
            switch name {
            case "server_no_context_takeover":
                guard param.value == nil else { return nil }
                p.serverNoContextTakeover = true
            case "client_no_context_takeover":
                guard param.value == nil else { return nil }
                p.clientNoContextTakeover = true
            case "server_max_window_bits":
                guard let bits = param.value.flatMap(windowBits) else { return nil }
                p.serverMaxWindowBits = bits
            case "client_max_window_bits":
                if let value = param.value {
                    guard let bits = windowBits(value) else { return nil }
                    p.clientMaxWindowBits = bits
                } else if context == .response {
                    return nil
                }
                p.clientMaxWindowBitsSupported = true
            default:
                return nil
            }
        }
        return p
    }

    /// A window-bits value: 1*DIGIT without leading zeros, 8–15 (RFC 7692 §7.1.2.1).
    static func windowBits(_ s: String) -> Int? {
        let u = Array(s.utf8)
        guard !u.isEmpty, u.count <= 2, u[0] != UInt8(ascii: "0"),
              u.allSatisfy(HTTPSyntax.isDigit) else { return nil }
        let n = u.reduce(0) { $0 * 10 + Int($1 - 0x30) }
        return windowBitsRange.contains(n) ? n : nil
    }

    /// These parameters as a header element, in the RFC's order.
    public var element: ExtensionOffer {
        var e = ExtensionOffer(name: Self.extensionName)
        if serverNoContextTakeover { e.parameters.append(.init(name: "server_no_context_takeover")) }
        if clientNoContextTakeover { e.parameters.append(.init(name: "client_no_context_takeover")) }
        if let b = serverMaxWindowBits { e.parameters.append(.init(name: "server_max_window_bits", value: String(b))) }
        if let b = clientMaxWindowBits {
            e.parameters.append(.init(name: "client_max_window_bits", value: String(b)))
        } else if clientMaxWindowBitsSupported {
            e.parameters.append(.init(name: "client_max_window_bits"))
        }
        return e
    }

    /// Whether a server's response is acceptable for this offer (RFC 7692 §7.1): it may add
    /// `server_no_context_takeover`, `client_no_context_takeover` and a `server_max_window_bits`
    /// of its own, but a `server_max_window_bits` greater than offered, or any
    /// `client_max_window_bits` when the offer had none or a greater value than offered, is not.
    public func allows(response: PerMessageDeflateParameters) -> Bool {
        if let offered = serverMaxWindowBits, (response.serverMaxWindowBits ?? 15) > offered { return false }
        if let bits = response.clientMaxWindowBits {
            guard clientMaxWindowBitsSupported else { return false }
            if let offered = clientMaxWindowBits, bits > offered { return false }
        }
        if serverNoContextTakeover && !response.serverNoContextTakeover { return false }
        return true
    }
}
