// SPDX-License-Identifier: Apache-2.0
// libFuzzer entry point: HTTPHeadParser (requests and responses).
//
// Input: byte 0 selects the variant (bit 0 response, bit 1 small limits from the next three
// bytes), byte 1 seeds the chunking; the rest is the head. Checks: whole and split parses give
// the same head, error and leftover (the parser promises any split gives the same result);
// an error is sticky; a parsed head written back with `bytes` parses to the same head; the
// upgrade validators accept or refuse the head without crashing.
import FuzzSupport
import WSProtocol

enum Outcome: Equatable {
    case incomplete
    case failed(HandshakeError)
    case parsed(HTTPHeadParser.Head, leftover: [UInt8])
}

func parse(_ pieces: [[UInt8]], kind: HTTPHeadParser.Kind, limits: HTTPHeadParser.Limits) -> Outcome {
    var parser = HTTPHeadParser(kind: kind, limits: limits)
    var head: HTTPHeadParser.Head? = nil
    var leftover: [UInt8] = []
    for piece in pieces {
        do throws(HandshakeError) {
            guard let (h, rest) = try parser.parse(piece) else {
                if head != nil { violation("parser forgot its head") }
                continue
            }
            if let head, head != h { violation("head changed after completion") }
            head = h
            leftover += rest
        } catch {
            if head != nil { violation("error after the head was complete") }
            // Sticky: the same error again.
            do throws(HandshakeError) {
                _ = try parser.parse([0x41])
                violation("no error after \(error)")
            } catch let again {
                if again != error { violation("error changed: \(error) then \(again)") }
            }
            return .failed(error)
        }
    }
    guard let head else { return .incomplete }
    return .parsed(head, leftover: leftover)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTPHead(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    withFuzzInput(data, size) { input in
        var r = FuzzReader(input)
        let flags = r.byte()
        let seed = r.byte()
        let kind: HTTPHeadParser.Kind = flags & 1 == 0 ? .request : .response
        var limits = HTTPHeadParser.Limits()
        if flags & 2 != 0 {
            limits = .init(maxHeadSize: Int(r.byte()) * 4, maxHeaderCount: Int(r.byte() % 8),
                           maxRequestLineLength: Int(r.byte()))
        }
        let text = r.rest()
        let whole = parse([text], kind: kind, limits: limits)
        let split = parse(Chunking.split(text, seed: seed), kind: kind, limits: limits)
        if whole != split { violation("whole \(whole) != split \(split)") }

        guard case .parsed(let head, _) = whole else { return }
        switch head {
        case .request(let request):
            let again = parse([request.bytes], kind: .request, limits: .init(maxHeadSize: 1 << 20, maxHeaderCount: 1000,
                                                                              maxRequestLineLength: 1 << 20))
            if again != .parsed(head, leftover: []) { violation("request round trip: \(head) became \(again)") }
            if UpgradeRequest.isUpgradeAttempt(request) {
                do throws(HandshakeError) {
                    let upgrade = try UpgradeRequest.validate(request)
                    _ = (upgrade.resource, upgrade.path, upgrade.query, upgrade.origin)
                } catch {
                    _ = (error.httpStatus, error.reasonText, ServerHandshake.errorResponse(for: error))
                }
            }
            _ = try? ExtendedConnect.validate(request.headers)
        case .response(let response):
            guard response.status >= 100 else { return }  // written as 500 by design
            let again = parse([response.bytes], kind: .response, limits: .init(maxHeadSize: 1 << 20, maxHeaderCount: 1000,
                                                                                maxRequestLineLength: 1 << 20))
            if again != .parsed(head, leftover: []) { violation("response round trip: \(head) became \(again)") }
        }
    }
}
