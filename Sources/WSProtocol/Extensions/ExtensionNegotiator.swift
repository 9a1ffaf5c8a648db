// SPDX-License-Identifier: Apache-2.0

/// Negotiates one per-message extension through `Sec-WebSocket-Extensions` (RFC 6455 §9) and
/// builds the ``MessageExtension`` the connection then runs.
///
/// The application supplies negotiators to ``ClientHandshake`` (which sends their offers and
/// checks the server's answer) and to ``ServerHandshake/accept(_:subprotocol:extensions:headers:configuration:now:date:entropy:)``
/// (which answers the client's offers). The negotiator decides the parameters; the extension it
/// returns does the work. ``PerMessageDeflateNegotiator`` is the RFC 7692 one.
public protocol ExtensionNegotiator: Sendable {
    /// The extension token this negotiator handles, e.g. `permessage-deflate`.
    var name: String { get }

    /// Client: the offers to send, in order of preference (each named ``name``).
    func offers() -> [ExtensionOffer]

    /// Server: answers one offer named ``name``. Returns the response element and the
    /// extension to run, or `nil` to decline this offer (the server then tries the client's
    /// next offer, RFC 7692 §5).
    func accept(offer: ExtensionOffer) -> (response: ExtensionOffer, extension: any MessageExtension)?

    /// Client: checks the server's response element (named ``name``) against the offers sent
    /// and returns the extension to run.
    /// - Throws: ``HandshakeError/unexpectedExtension(_:)`` when the response is not acceptable
    ///   (the client then fails the connection, RFC 6455 §4.1).
    func confirm(response: ExtensionOffer) throws(HandshakeError) -> any MessageExtension
}

/// The negotiation of a whole `Sec-WebSocket-Extensions` list over several negotiators.
public enum ExtensionNegotiation {
    /// Server side: walks the client's offers in order and lets the matching negotiator accept
    /// or decline each (RFC 6455 §9.1: the server's order is the order the extensions apply).
    /// At most one offer per extension is accepted, and an extension whose RSV bits are already
    /// claimed by an accepted one is skipped (RFC 6455 §5.2: an RSV bit has one meaning).
    /// - Returns: the response elements (for the header) and the extensions, in the same order.
    public static func accept(offers: [ExtensionOffer], negotiators: [any ExtensionNegotiator])
        -> (responses: [ExtensionOffer], extensions: [any MessageExtension]) {
        var responses: [ExtensionOffer] = []
        var extensions: [any MessageExtension] = []
        var claimedBits: UInt8 = 0
        var used = Set<String>()
        for offer in offers {
            let key = HTTPSyntax.lowercased(offer.name)
            guard !used.contains(key),
                  let negotiator = negotiators.first(where: { HTTPSyntax.equalsIgnoringCase($0.name, offer.name) }),
                  let (response, ext) = negotiator.accept(offer: offer),
                  ext.reservedBits & claimedBits == 0
            else { continue }
            used.insert(key)
            claimedBits |= ext.reservedBits
            responses.append(response)
            extensions.append(ext)
        }
        return (responses, extensions)
    }

    /// Client side: checks the server's response list. Each element must name an extension we
    /// offered, at most once, with RSV bits no other accepted extension claims (RFC 6455 §4.1,
    /// response item 5: "the client MUST _Fail the WebSocket Connection_" otherwise).
    /// - Returns: the extensions in the order the server listed them.
    public static func confirm(responses: [ExtensionOffer], negotiators: [any ExtensionNegotiator])
        throws(HandshakeError) -> [any MessageExtension] {
        var extensions: [any MessageExtension] = []
        var claimedBits: UInt8 = 0
        var used = Set<String>()
        for response in responses {
            let key = HTTPSyntax.lowercased(response.name)
            guard let negotiator = negotiators.first(where: { HTTPSyntax.equalsIgnoringCase($0.name, response.name) }),
                  !negotiator.offers().isEmpty else {
                throw .unexpectedExtension("\(response.name) was not offered")
            }
            guard !used.contains(key) else { throw .unexpectedExtension("\(response.name) accepted twice") }
            let ext = try negotiator.confirm(response: response)
            guard ext.reservedBits & claimedBits == 0 else {
                throw .unexpectedExtension("\(response.name) claims RSV bits already in use")
            }
            used.insert(key)
            claimedBits |= ext.reservedBits
            extensions.append(ext)
        }
        return extensions
    }
}
