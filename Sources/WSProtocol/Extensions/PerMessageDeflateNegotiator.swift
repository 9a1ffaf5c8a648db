// SPDX-License-Identifier: Apache-2.0

/// Negotiates permessage-deflate (RFC 7692 §7) and hands the agreed parameters to a
/// compressor supplied by the application.
///
/// The core has no compressor of its own (it links no zlib): `makeExtension` receives the
/// negotiated ``PerMessageDeflateParameters`` and this end's role, and returns the
/// ``MessageExtension`` that compresses with them.
public struct PerMessageDeflateNegotiator: ExtensionNegotiator {
    /// What this end asks for (client) or allows (server).
    public struct Preferences: Hashable, Sendable {
        /// Client: ask the server not to take over context. Server: do not take over context.
        public var serverNoContextTakeover = false
        /// Client: promise not to take over context. Server: require the client not to.
        public var clientNoContextTakeover = false
        /// Client: ask the server to use at most 2^n window. Server: use at most 2^n.
        public var serverMaxWindowBits: Int? = nil
        /// Client: use at most 2^n window (offered with this value; without one, the offer
        /// says the client accepts any limit). Server: ask the client to use at most 2^n
        /// (applied only if the client's offer allows it).
        public var clientMaxWindowBits: Int? = nil

        /// Preferences with each field as given; the defaults ask for and allow anything (no
        /// `*_no_context_takeover`, no window limit). Window bits outside 8–15 are clamped
        /// into that range when an offer or response is built.
        public init(serverNoContextTakeover: Bool = false, clientNoContextTakeover: Bool = false,
                    serverMaxWindowBits: Int? = nil, clientMaxWindowBits: Int? = nil) {
            self.serverNoContextTakeover = serverNoContextTakeover
            self.clientNoContextTakeover = clientNoContextTakeover
            self.serverMaxWindowBits = serverMaxWindowBits
            self.clientMaxWindowBits = clientMaxWindowBits
        }
    }

    /// `permessage-deflate` (RFC 7692 §7).
    public var name: String { PerMessageDeflateParameters.extensionName }
    /// This end's preferences.
    public var preferences: Preferences
    /// Builds the compressor for the negotiated parameters and this end's role.
    public var makeExtension: @Sendable (PerMessageDeflateParameters, Role) -> any MessageExtension

    /// A negotiator with `preferences` (default: no restrictions) that calls `makeExtension`
    /// with the agreed parameters once negotiation succeeds, on the client (``Role/client``)
    /// or the server (``Role/server``). WSDeflate's `PerMessageDeflate.negotiator(_:options:)`
    /// builds one with the zlib compressor.
    public init(preferences: Preferences = .init(),
                makeExtension: @escaping @Sendable (PerMessageDeflateParameters, Role) -> any MessageExtension) {
        self.preferences = preferences; self.makeExtension = makeExtension
    }

    /// The client's offer: one element with the preferences, always advertising
    /// `client_max_window_bits` (RFC 7692 §7.1.2.2).
    public var offer: PerMessageDeflateParameters {
        PerMessageDeflateParameters(serverNoContextTakeover: preferences.serverNoContextTakeover,
                                    clientNoContextTakeover: preferences.clientNoContextTakeover,
                                    serverMaxWindowBits: preferences.serverMaxWindowBits.map(clamp),
                                    clientMaxWindowBits: preferences.clientMaxWindowBits.map(clamp),
                                    clientMaxWindowBitsSupported: true)
    }

    /// Client: one offer, ``offer`` as a `Sec-WebSocket-Extensions` element.
    public func offers() -> [ExtensionOffer] { [offer.element] }

    /// The server's answer to one valid offer (RFC 7692 §7.1): each `*_no_context_takeover`
    /// that the offer or the preferences ask for, and for each window the smaller of the
    /// offered and preferred bits (either one when only one is given, none when neither is);
    /// `client_max_window_bits` only when the offer allows it.
    public func response(to offer: PerMessageDeflateParameters) -> PerMessageDeflateParameters {
        var r = PerMessageDeflateParameters()
        r.serverNoContextTakeover = offer.serverNoContextTakeover || preferences.serverNoContextTakeover
        r.clientNoContextTakeover = offer.clientNoContextTakeover || preferences.clientNoContextTakeover
        switch (offer.serverMaxWindowBits, preferences.serverMaxWindowBits.map(clamp)) {
        case let (o?, p?): r.serverMaxWindowBits = min(o, p)
        case let (o?, nil): r.serverMaxWindowBits = o
        case let (nil, p?): r.serverMaxWindowBits = p
        case (nil, nil): r.serverMaxWindowBits = nil
        }
        if offer.clientMaxWindowBitsSupported {
            switch (offer.clientMaxWindowBits, preferences.clientMaxWindowBits.map(clamp)) {
            case let (o?, p?): r.clientMaxWindowBits = min(o, p)
            case let (nil, p?): r.clientMaxWindowBits = p
            case let (o?, nil): r.clientMaxWindowBits = o
            case (nil, nil): r.clientMaxWindowBits = nil
            }
        }
        r.clientMaxWindowBitsSupported = r.clientMaxWindowBits != nil
        return r
    }

    /// Server: parses `offer` and answers it with ``response(to:)`` and the extension
    /// `makeExtension` builds for ``Role/server``; `nil` (declined) when the offer breaks
    /// RFC 7692 §7's grammar.
    public func accept(offer: ExtensionOffer) -> (response: ExtensionOffer, extension: any MessageExtension)? {
        // An invalid offer is declined, not fatal: "the server MUST decline" (RFC 7692 §7).
        guard let parsed = PerMessageDeflateParameters.parse(offer, as: .offer) else { return nil }
        let r = response(to: parsed)
        return (r.element, makeExtension(r, .server))
    }

    /// Client: checks the server's `response` and returns the extension `makeExtension`
    /// builds for ``Role/client``.
    /// - Throws: ``HandshakeError/unexpectedExtension(_:)`` when the response breaks RFC 7692
    ///   §7's grammar or ``offer`` does not allow it (see
    ///   ``PerMessageDeflateParameters/allows(response:)``).
    public func confirm(response: ExtensionOffer) throws(HandshakeError) -> any MessageExtension {
        // "the client MUST _Fail the WebSocket Connection_" on an invalid response (RFC 7692 §7).
        guard let parsed = PerMessageDeflateParameters.parse(response, as: .response) else {
            throw .unexpectedExtension("invalid permessage-deflate response: \(response)")
        }
        guard offer.allows(response: parsed) else {
            throw .unexpectedExtension("permessage-deflate response does not match the offer: \(response)")
        }
        return makeExtension(parsed, .client)
    }

    private func clamp(_ bits: Int) -> Int {
        min(max(bits, PerMessageDeflateParameters.windowBitsRange.lowerBound), PerMessageDeflateParameters.windowBitsRange.upperBound)
    }
}
