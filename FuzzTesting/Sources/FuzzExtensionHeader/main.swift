// SPDX-License-Identifier: Apache-2.0
// libFuzzer entry point: Sec-WebSocket-Extensions parsing (ExtensionOffer, RFC 6455 §9.1) and
// permessage-deflate parameters (RFC 7692 §7).
//
// Input: byte 0 holds server preferences for permessage-deflate; the rest is header text, NUL
// separating field values. Checks: every parsed element is valid and the list written back
// parses to itself; parameters that parse write back to themselves; a server's response to a
// client's offer is acceptable to that offer and parses as a response; the negotiation over a
// whole list accepts at most one element per extension.
import FuzzSupport
import WSProtocol

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzExtensionHeader(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    withFuzzInput(data, size) { input in
        var r = FuzzReader(input)
        let p = r.byte()
        let values = r.rest().split(separator: 0, omittingEmptySubsequences: false)
            .map { String(decoding: $0, as: UTF8.self) }
        guard let offers = try? ExtensionOffer.parse(values) else { return }
        for offer in offers where !offer.isValid { violation("parsed an invalid element \(offer)") }
        let written = ExtensionOffer.headerValue(offers)
        guard let again = try? ExtensionOffer.parse([written]) else { violation("\(written) does not parse") }
        if again != offers { violation("round trip: \(offers) → \(written) → \(again)") }

        let preferences = PerMessageDeflateNegotiator.Preferences(
            serverNoContextTakeover: p & 1 != 0, clientNoContextTakeover: p & 2 != 0,
            serverMaxWindowBits: p & 4 != 0 ? Int(p >> 4) + 2 : nil,
            clientMaxWindowBits: p & 8 != 0 ? Int(p >> 4) + 2 : nil)
        let negotiator = PerMessageDeflateNegotiator(preferences: preferences) { _, _ in RunLengthExtension() }
        for offer in offers where offer.name == PerMessageDeflateParameters.extensionName {
            for context in [PerMessageDeflateParameters.Context.offer, .response] {
                guard let parsed = PerMessageDeflateParameters.parse(offer, as: context) else { continue }
                if PerMessageDeflateParameters.parse(parsed.element, as: context) != parsed {
                    violation("parameters round trip: \(parsed) → \(parsed.element)")
                }
                for bits in [parsed.serverMaxWindowBits, parsed.clientMaxWindowBits] {
                    if let b = bits, !PerMessageDeflateParameters.windowBitsRange.contains(b) { violation("window bits \(b)") }
                }
                guard context == .offer else { continue }
                let response = negotiator.response(to: parsed)
                if !parsed.allows(response: response) { violation("offer \(offer) does not allow the response \(response)") }
                guard let reparsed = PerMessageDeflateParameters.parse(response.element, as: .response) else {
                    violation("response \(response.element) does not parse as a response")
                }
                if reparsed != response {
                    violation("response round trip \(response) → \(reparsed)")
                }
                // The client that sent `parsed` confirms the server's answer.
                if (try? PerMessageDeflateNegotiator(preferences: .init(
                        serverNoContextTakeover: parsed.serverNoContextTakeover,
                        clientNoContextTakeover: parsed.clientNoContextTakeover,
                        serverMaxWindowBits: parsed.serverMaxWindowBits,
                        clientMaxWindowBits: parsed.clientMaxWindowBits)) { _, _ in RunLengthExtension() }
                    .confirm(response: response.element)) == nil {
                    violation("client refuses the server's answer \(response.element) to its offer \(offer)")
                }
            }
        }
        let (responses, extensions) = ExtensionNegotiation.accept(offers: offers, negotiators: [negotiator])
        if responses.count != extensions.count || responses.count > 1 { violation("negotiation accepted \(responses)") }
    }
}
