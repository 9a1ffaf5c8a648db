// SPDX-License-Identifier: Apache-2.0
import Testing
import WSProtocol

private func element(_ text: String) throws -> ExtensionOffer {
    try #require(try ExtensionOffer.parse([text]).first)
}

@Suite("RFC 7692 §7 permessage-deflate negotiation")
struct PerMessageDeflateTests {
    typealias Prefs = PerMessageDeflateNegotiator.Preferences

    @Test("Server: each offer gets its response, or is declined (nil)", arguments: [
        ("permessage-deflate", "permessage-deflate"),
        ("Permessage-Deflate", "permessage-deflate"),
        ("permessage-deflate; client_max_window_bits", "permessage-deflate"),
        ("permessage-deflate; client_max_window_bits=10", "permessage-deflate; client_max_window_bits=10"),
        ("permessage-deflate; client_max_window_bits=\"10\"", "permessage-deflate; client_max_window_bits=10"),
        ("permessage-deflate; server_max_window_bits=8", "permessage-deflate; server_max_window_bits=8"),
        ("permessage-deflate; server_no_context_takeover", "permessage-deflate; server_no_context_takeover"),
        ("permessage-deflate; client_no_context_takeover", "permessage-deflate; client_no_context_takeover"),
        ("permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=15; client_max_window_bits=15",
         "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=15; client_max_window_bits=15"),
        // Declined: invalid values, duplicates, unknown parameters (RFC 7692 §7).
        ("permessage-deflate; server_max_window_bits", nil),
        ("permessage-deflate; server_max_window_bits=7", nil),
        ("permessage-deflate; server_max_window_bits=16", nil),
        ("permessage-deflate; server_max_window_bits=08", nil),
        ("permessage-deflate; server_max_window_bits=abc", nil),
        ("permessage-deflate; client_max_window_bits=0", nil),
        ("permessage-deflate; client_max_window_bits=100", nil),
        ("permessage-deflate; server_no_context_takeover=1", nil),
        ("permessage-deflate; client_no_context_takeover=true", nil),
        ("permessage-deflate; client_no_context_takeover; client_no_context_takeover", nil),
        ("permessage-deflate; server_max_window_bits=10; server_max_window_bits=10", nil),
        ("permessage-deflate; client_max_window_bits; client_max_window_bits=10", nil),
        ("permessage-deflate; foo", nil),
    ] as [(String, String?)])
    func serverDefault(offer: String, response: String?) throws {
        let n = PerMessageDeflateNegotiator.recording()
        let result = n.accept(offer: try element(offer))
        #expect(result.map { $0.response.description } == response)
        if let result {
            let ext = try #require(result.extension as? RecordingDeflate)
            #expect(ext.role == .server)
            #expect(ext.parameters.element.description == response)
            #expect(ext.reservedBits == 0x40)
        }
    }

    @Test("Server preferences: its own limits and context takeover, and the client's limit when the offer allows it", arguments: [
        ("permessage-deflate", "permessage-deflate; server_no_context_takeover; server_max_window_bits=12"),
        ("permessage-deflate; client_max_window_bits",
         "permessage-deflate; server_no_context_takeover; server_max_window_bits=12; client_max_window_bits=11"),
        ("permessage-deflate; server_max_window_bits=10; client_max_window_bits=13",
         "permessage-deflate; server_no_context_takeover; server_max_window_bits=10; client_max_window_bits=11"),
        ("permessage-deflate; server_max_window_bits=14; client_max_window_bits=9",
         "permessage-deflate; server_no_context_takeover; server_max_window_bits=12; client_max_window_bits=9"),
    ])
    func serverPreferences(offer: String, response: String) throws {
        let n = PerMessageDeflateNegotiator.recording(Prefs(serverNoContextTakeover: true, serverMaxWindowBits: 12, clientMaxWindowBits: 11))
        #expect(n.accept(offer: try element(offer))?.response.description == response)
    }

    @Test("Client offer always advertises client_max_window_bits, with the preferences")
    func clientOffer() {
        #expect(PerMessageDeflateNegotiator.recording().offers().map(\.description) == ["permessage-deflate; client_max_window_bits"])
        let n = PerMessageDeflateNegotiator.recording(Prefs(serverNoContextTakeover: true, clientNoContextTakeover: true,
                                                            serverMaxWindowBits: 10, clientMaxWindowBits: 9))
        #expect(n.offers().map(\.description) == [
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=9"])
    }

    @Test("Client with the default offer: responses accepted or failing the connection", arguments: [
        ("permessage-deflate", true),
        ("permessage-deflate; server_no_context_takeover", true),
        ("permessage-deflate; client_no_context_takeover", true),
        ("permessage-deflate; server_max_window_bits=9", true),
        ("permessage-deflate; client_max_window_bits=9", true),
        ("permessage-deflate; client_max_window_bits", false),          // a response needs a value
        ("permessage-deflate; server_max_window_bits=16", false),
        ("permessage-deflate; client_max_window_bits=7", false),
        ("permessage-deflate; x", false),
        ("permessage-deflate; server_no_context_takeover; server_no_context_takeover", false),
        ("permessage-deflate; client_no_context_takeover=1", false),
    ])
    func clientDefault(response: String, accepted: Bool) throws {
        let n = PerMessageDeflateNegotiator.recording()
        do {
            let ext = try n.confirm(response: try element(response))
            #expect(accepted)
            let recorded = try #require(ext as? RecordingDeflate)
            #expect(recorded.role == .client)
            #expect(recorded.parameters == PerMessageDeflateParameters.parse(try element(response), as: .response))
        } catch {
            #expect(!accepted)
        }
    }

    @Test("Client with limits: the response may not exceed what was offered", arguments: [
        ("permessage-deflate; server_no_context_takeover; server_max_window_bits=10", true),
        ("permessage-deflate; server_no_context_takeover; server_max_window_bits=9; client_max_window_bits=8", true),
        ("permessage-deflate; server_no_context_takeover; server_max_window_bits=11", false),
        ("permessage-deflate; server_no_context_takeover", false),          // server_max_window_bits declined
        ("permessage-deflate; server_max_window_bits=10", false),           // server_no_context_takeover declined
        ("permessage-deflate; server_no_context_takeover; server_max_window_bits=10; client_max_window_bits=11", false),
    ])
    func clientLimits(response: String, accepted: Bool) throws {
        let n = PerMessageDeflateNegotiator.recording(Prefs(serverNoContextTakeover: true, serverMaxWindowBits: 10, clientMaxWindowBits: 10))
        let ok = (try? n.confirm(response: try element(response))) != nil
        #expect(ok == accepted)
    }

    @Test("A response may not carry client_max_window_bits when the offer had none (RFC 7692 §7.1.2.2)")
    func clientWindowNotOffered() throws {
        let offer = PerMessageDeflateParameters()
        let response = try #require(PerMessageDeflateParameters.parse(try element("permessage-deflate; client_max_window_bits=10"), as: .response))
        #expect(!offer.allows(response: response))
        #expect(PerMessageDeflateParameters(clientMaxWindowBitsSupported: true).allows(response: response))
    }

    @Test("Parameters parse and serialise symmetrically")
    func parameters() throws {
        let p = try #require(PerMessageDeflateParameters.parse(
            try element("permessage-deflate; client_max_window_bits; server_max_window_bits=9"), as: .offer))
        #expect(p == PerMessageDeflateParameters(serverMaxWindowBits: 9, clientMaxWindowBitsSupported: true))
        #expect(p.element.description == "permessage-deflate; server_max_window_bits=9; client_max_window_bits")
        #expect(PerMessageDeflateParameters.parse(try element("x-other"), as: .offer) == nil)
    }
}
