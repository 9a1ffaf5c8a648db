// SPDX-License-Identifier: Apache-2.0
import Testing
import WSProtocol
import WSTestSupport

@Suite("RFC 6455 §9.1 Sec-WebSocket-Extensions grammar")
struct ExtensionOfferTests {
    @Test("Valid lists parse into names and parameters, in order", arguments: [
        ("foo", [ExtensionOffer(name: "foo")]),
        ("", []),
        (" , foo,, bar ,", [ExtensionOffer(name: "foo"), ExtensionOffer(name: "bar")]),
        ("foo, bar; baz=2", [ExtensionOffer(name: "foo"), ExtensionOffer(name: "bar", parameters: [.init(name: "baz", value: "2")])]),
        ("foo;bar;baz", [ExtensionOffer(name: "foo", parameters: [.init(name: "bar"), .init(name: "baz")])]),
        ("foo ; bar = \"quoted\"", [ExtensionOffer(name: "foo", parameters: [.init(name: "bar", value: "quoted")])]),
        ("foo; bar=\"a\\bc\"", [ExtensionOffer(name: "foo", parameters: [.init(name: "bar", value: "abc")])]),
        ("permessage-deflate; client_max_window_bits; server_max_window_bits=10, permessage-deflate",
         [ExtensionOffer(name: "permessage-deflate", parameters: [.init(name: "client_max_window_bits"),
                                                                  .init(name: "server_max_window_bits", value: "10")]),
          ExtensionOffer(name: "permessage-deflate")]),
        ("x; a=1; a=2", [ExtensionOffer(name: "x", parameters: [.init(name: "a", value: "1"), .init(name: "a", value: "2")])]),
    ])
    func valid(text: String, expected: [ExtensionOffer]) throws {
        #expect(try ExtensionOffer.parse([text]) == expected)
    }

    @Test("Malformed values are rejected (RFC 6455 §9.1: the recipient MUST fail)", arguments: [
        "foo;", "foo; =x", "foo bar", "foo; bar=", "foo; bar=\"a b\"", "foo; bar=\"unterminated", "foo; bar=a b",
        "\"foo\"", "foo;;bar", "foo, ;", "foo; bar=\"\"", "foo; b@r", "f/o", "foo; bar=\"a\\\"",
    ])
    func invalid(text: String) {
        #expect(throws: HandshakeError.invalidExtensionHeader) { try ExtensionOffer.parse([text]) }
    }

    @Test("Several header fields form one list")
    func severalFields() throws {
        #expect(try ExtensionOffer.parse(["a; x", "b"]) == [ExtensionOffer(name: "a", parameters: [.init(name: "x")]),
                                                            ExtensionOffer(name: "b")])
    }

    @Test("Writing and parsing back is the identity")
    func roundTrip() throws {
        let offers = [ExtensionOffer(name: "permessage-deflate", parameters: [.init(name: "client_max_window_bits"),
                                                                             .init(name: "server_max_window_bits", value: "12")]),
                      ExtensionOffer(name: "x-y")]
        let text = ExtensionOffer.headerValue(offers)
        #expect(text == "permessage-deflate; client_max_window_bits; server_max_window_bits=12, x-y")
        #expect(try ExtensionOffer.parse([text]) == offers)
        #expect(!ExtensionOffer(name: "a b").isValid)
        #expect(!ExtensionOffer(name: "a", parameters: [.init(name: "p", value: "x y")]).isValid)
    }
}

@Suite("RFC 6455 §9 Extension negotiation")
struct ExtensionNegotiationTests {
    static let a = MarkerNegotiator(name: "x-a", reservedBits: 0x20)
    static let b = MarkerNegotiator(name: "x-b", reservedBits: 0x10)

    @Test("The server answers offers in the client's order, once per extension, skipping unknown ones")
    func serverOrder() throws {
        let offers = try ExtensionOffer.parse(["x-unknown, x-b; p=1, x-a, x-b; p=2"])
        let (responses, extensions) = ExtensionNegotiation.accept(offers: offers, negotiators: [Self.a, Self.b])
        #expect(responses == [ExtensionOffer(name: "x-b", parameters: [.init(name: "p", value: "1")]), ExtensionOffer(name: "x-a")])
        #expect(extensions.map(\.name) == ["x-b", "x-a"])
    }

    @Test("A declined offer lets the next offer of the same extension be tried (RFC 7692 §5)")
    func declineThenFallback() throws {
        let offers = try ExtensionOffer.parse(["permessage-deflate; bogus, permessage-deflate; client_max_window_bits"])
        let (responses, extensions) = ExtensionNegotiation.accept(offers: offers, negotiators: [PerMessageDeflateNegotiator.recording()])
        #expect(responses == [ExtensionOffer(name: "permessage-deflate")])
        #expect(extensions.count == 1)
        let declining = MarkerNegotiator(name: "x-a", reservedBits: 0x20, declines: true)
        #expect(ExtensionNegotiation.accept(offers: [ExtensionOffer(name: "x-a")], negotiators: [declining]).responses == [])
    }

    @Test("Two extensions claiming the same RSV bit: the server keeps the first, the client fails")
    func rsvConflict() throws {
        let c = MarkerNegotiator(name: "x-c", reservedBits: 0x20)
        let (responses, _) = ExtensionNegotiation.accept(offers: [ExtensionOffer(name: "x-a"), ExtensionOffer(name: "x-c")],
                                                         negotiators: [Self.a, c])
        #expect(responses.map(\.name) == ["x-a"])
        #expect(throws: HandshakeError.unexpectedExtension("x-c claims RSV bits already in use")) {
            try ExtensionNegotiation.confirm(responses: [ExtensionOffer(name: "x-a"), ExtensionOffer(name: "x-c")], negotiators: [Self.a, c])
        }
    }

    @Test("The client fails on an extension it did not offer or accepted twice (RFC 6455 §4.1)")
    func clientChecks() throws {
        #expect(throws: HandshakeError.unexpectedExtension("x-z was not offered")) {
            try ExtensionNegotiation.confirm(responses: [ExtensionOffer(name: "x-z")], negotiators: [Self.a])
        }
        #expect(throws: HandshakeError.unexpectedExtension("X-A accepted twice")) {
            try ExtensionNegotiation.confirm(responses: [ExtensionOffer(name: "x-a"), ExtensionOffer(name: "X-A")], negotiators: [Self.a])
        }
        let ok = try ExtensionNegotiation.confirm(responses: [ExtensionOffer(name: "x-b"), ExtensionOffer(name: "x-a")],
                                                  negotiators: [Self.a, Self.b])
        #expect(ok.map(\.name) == ["x-b", "x-a"])
        #expect(ok.map(\.reservedBits) == [0x10, 0x20])
    }
}

extension ExtensionOfferTests {
    @Test("Random lists round-trip through the header text; random garbage never traps (seeded)")
    func properties() throws {
        var rng = SeededGenerator(seed: 9441)
        let tokenChars = Array("abcXYZ019-_.!#$%&'*+^`|~")
        func token() -> String { String((0..<Int.random(in: 1...6, using: &rng)).map { _ in tokenChars.randomElement(using: &rng)! }) }
        for seed in 0..<200 {
            let offers = (0..<Int.random(in: 0...4, using: &rng)).map { _ in
                ExtensionOffer(name: token(), parameters: (0..<Int.random(in: 0...3, using: &rng)).map { _ in
                    ExtensionOffer.Parameter(name: token(), value: Bool.random(using: &rng) ? token() : nil)
                })
            }
            #expect(try ExtensionOffer.parse([ExtensionOffer.headerValue(offers)]) == offers, "seed \(seed)")
            let alphabet = Array("ab;=,\" \t\\x") + ["\u{7F}", "\u{01}"]
            let garbage = String((0..<Int.random(in: 0...40, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! })
            let result = Result { () throws(HandshakeError) in try ExtensionOffer.parse([garbage]) }
            switch result {
            case .success(let parsed): #expect(parsed.allSatisfy { $0.isValid }, "seed \(seed): \(garbage)")
            case .failure(let e): #expect(e == .invalidExtensionHeader, "seed \(seed)")
            }
        }
    }
}
