// SPDX-License-Identifier: Apache-2.0
import WSProtocol
import WSTestSupport

/// A generator that first yields fixed bytes (little-endian words), then SplitMix64 output.
/// With ``rfcNonce`` the client's key is the RFC 6455 §1.3 sample nonce.
struct ScriptedRNG: RandomNumberGenerator, Sendable {
    var words: [UInt64]
    var fallback = SeededGenerator(seed: 42)
    init(bytes: [UInt8]) {
        precondition(bytes.count % 8 == 0)
        var words: [UInt64] = []
        for i in stride(from: 0, to: bytes.count, by: 8) {
            var w: UInt64 = 0
            for j in 0..<8 { w |= UInt64(bytes[i + j]) << UInt64(8 * j) }
            words.append(w)
        }
        self.words = words
    }
    mutating func next() -> UInt64 { words.isEmpty ? fallback.next() : words.removeFirst() }

    /// Yields "the sample nonce", so the key is `dGhlIHNhbXBsZSBub25jZQ==` (RFC 6455 §1.3).
    static var rfcNonce: ScriptedRNG { ScriptedRNG(bytes: Array("the sample nonce".utf8)) }
}

/// Ways to cut an input into reads: whole, byte by byte, and every chunk size 1–16.
enum Splits {
    static func all(_ bytes: [UInt8]) -> [[[UInt8]]] {
        var out: [[[UInt8]]] = [[bytes]]
        for size in 1...16 {
            out.append(stride(from: 0, to: bytes.count, by: size).map { Array(bytes[$0..<min($0 + size, bytes.count)]) })
        }
        return out
    }

    static func random(_ bytes: [UInt8], using rng: inout SeededGenerator) -> [[UInt8]] {
        var out: [[UInt8]] = []
        var i = 0
        while i < bytes.count {
            let n = Int.random(in: 1...32, using: &rng)
            out.append(Array(bytes[i..<min(i + n, bytes.count)])); i += n
        }
        return out
    }
}

extension String {
    /// The UTF-8 bytes, for literals written with `\r\n`.
    var bytes: [UInt8] { Array(utf8) }
}

/// An identity extension claiming an RSV bit, standing in for a real extension in negotiation
/// tests (test-only; never registered in the library).
struct MarkerExtension: MessageExtension {
    var name: String
    var reservedBits: UInt8
    var parameters: [ExtensionOffer.Parameter] = []
    mutating func encode(_ payload: [UInt8], kind: Message.Kind) -> (payload: [UInt8], reservedBits: UInt8) {
        (payload, reservedBits)
    }
    mutating func decode(_ payload: UnsafeRawBufferPointer, reservedBits: UInt8, isFinal: Bool,
                         into output: inout [UInt8], limit: Int) throws(ProtocolError) {
        guard output.count + payload.count <= limit else { throw .messageTooLarge(limit: limit) }
        output.append(contentsOf: payload)
    }
}

/// A negotiator for ``MarkerExtension``: offers `name` (with `parameters`), accepts any offer
/// of that name echoing its parameters, confirms any response.
struct MarkerNegotiator: ExtensionNegotiator {
    var name: String
    var reservedBits: UInt8
    var parameters: [ExtensionOffer.Parameter] = []
    var declines = false
    func offers() -> [ExtensionOffer] { [ExtensionOffer(name: name, parameters: parameters)] }
    func accept(offer: ExtensionOffer) -> (response: ExtensionOffer, extension: any MessageExtension)? {
        declines ? nil : (offer, MarkerExtension(name: name, reservedBits: reservedBits, parameters: offer.parameters))
    }
    func confirm(response: ExtensionOffer) throws(HandshakeError) -> any MessageExtension {
        MarkerExtension(name: name, reservedBits: reservedBits, parameters: response.parameters)
    }
}

/// A stand-in compressor for permessage-deflate negotiation tests: it records the negotiated
/// parameters and does not compress (the compressor is a later issue).
struct RecordingDeflate: MessageExtension {
    var parameters: PerMessageDeflateParameters
    var role: Role
    var name: String { PerMessageDeflateParameters.extensionName }
    var reservedBits: UInt8 { 0x40 }
    mutating func encode(_ payload: [UInt8], kind: Message.Kind) -> (payload: [UInt8], reservedBits: UInt8) { (payload, 0) }
    mutating func decode(_ payload: UnsafeRawBufferPointer, reservedBits: UInt8, isFinal: Bool,
                         into output: inout [UInt8], limit: Int) throws(ProtocolError) {
        throw .extensionFailure("test stand-in cannot inflate")
    }
}

extension PerMessageDeflateNegotiator {
    /// A negotiator whose extensions are ``RecordingDeflate``.
    static func recording(_ preferences: Preferences = .init()) -> PerMessageDeflateNegotiator {
        PerMessageDeflateNegotiator(preferences: preferences) { RecordingDeflate(parameters: $0, role: $1) }
    }
}
