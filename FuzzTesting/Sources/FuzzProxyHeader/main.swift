// SPDX-License-Identifier: Apache-2.0
// libFuzzer entry point: ProxyHeaderParser (PROXY protocol v1 and v2) and the forwarding
// header parsers (Forwarded, X-Forwarded-For).
//
// Input: byte 0 selects the variant (bit 0: a small v2 limit from byte 2; bit 1: also parse the
// rest as forwarding header values), byte 1 seeds the chunking; the rest is the stream. Checks:
// whole and split parses give the same header, error and leftover; an error is sticky; a
// finished parse never grows past the spec's bounds (107 bytes for v1, 16 + limit for v2); a
// parsed header written back with `bytes` parses to the same header (v1 UNKNOWN excepted: it
// drops what followed the keyword).
import FuzzSupport
import WSPosixIO

enum Outcome: Equatable {
    case incomplete
    case failed(ProxyHeaderError)
    case parsed(ProxyHeader, leftover: [UInt8])
}

func parse(_ pieces: [[UInt8]], limits: ProxyHeaderParser.Limits) -> Outcome {
    var parser = ProxyHeaderParser(limits: limits)
    var header: ProxyHeader? = nil
    var leftover: [UInt8] = []
    for piece in pieces {
        do throws(ProxyHeaderError) {
            guard let (h, rest) = try parser.parse(piece) else {
                if header != nil { violation("parser forgot its header") }
                continue
            }
            if let header, header != h { violation("header changed after completion") }
            header = h
            leftover += rest
        } catch {
            if header != nil { violation("error after the header was complete") }
            do throws(ProxyHeaderError) {
                _ = try parser.parse([0x41])
                violation("no error after \(error)")
            } catch let again {
                if again != error { violation("error changed: \(error) then \(again)") }
            }
            return .failed(error)
        }
    }
    guard let header else { return .incomplete }
    return .parsed(header, leftover: leftover)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzProxyHeader(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    withFuzzInput(data, size) { input in
        var r = FuzzReader(input)
        let flags = r.byte()
        let seed = r.byte()
        var limits = ProxyHeaderParser.Limits()
        if flags & 1 != 0 { limits.maxV2Length = Int(r.byte()) }
        let stream = r.rest()
        let whole = parse([stream], limits: limits)
        let split = parse(Chunking.split(stream, seed: seed), limits: limits)
        if whole != split { violation("whole \(whole) != split \(split)") }

        if case .incomplete = whole {
            let bound = stream.first == 0x50 ? ProxyHeader.v1MaxLength : 16 + limits.maxV2Length
            if stream.count >= bound { violation("incomplete after \(stream.count) bytes (bound \(bound))") }
        }
        if case .parsed(let header, let leftover) = whole {
            let length = stream.count - leftover.count
            let bound = header.version == .v1 ? ProxyHeader.v1MaxLength : 16 + limits.maxV2Length
            if length > bound { violation("header of \(length) bytes over the bound \(bound)") }
            if Array(stream[length...]) != leftover { violation("leftover is not the stream's tail") }
            let unknownV1 = header.version == .v1 && header.source == nil
            if !unknownV1 || Array(stream[..<length]) == Array("PROXY UNKNOWN\r\n".utf8) {
                var again = ProxyHeaderParser(limits: .init(maxV2Length: 65535))
                let reparsed = try? again.parse(header.bytes)
                if reparsed?.header != header || reparsed?.leftover != [] {
                    violation("round trip: \(header) became \(String(describing: reparsed))")
                }
            }
        }

        if flags & 2 != 0 {
            let text = String(decoding: stream, as: UTF8.self)
            let trusted = IPAddressPrefix.loopback
            if let elements = try? ForwardedHeaders.parseForwarded(text) {
                _ = ForwardedHeaders(forwarded: elements).client(trusting: trusted)
            }
            if let nodes = try? ForwardedHeaders.parseForwardedFor(text) {
                _ = ForwardedHeaders(forwardedFor: nodes).client(trusting: trusted)
            }
            _ = try? ForwardedHeaders.parseForwardedProto(text)
            _ = IPAddressPrefix(text)
        }
    }
}
