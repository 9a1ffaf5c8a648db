// SPDX-License-Identifier: Apache-2.0
// libFuzzer entry point: ServerHandshake on arbitrary request bytes, then accept and the
// leftover (and every later byte) into the server Connection.
//
// Input: byte 0 selects variants (bit 0 choose the first offered subprotocol; bit 1 support
// permessage-deflate, with the run-length toy standing in for the compressor; bit 2 small
// limits; bit 3 deflate preferences from the next byte); byte 1 seeds the chunking; the rest is
// what the client sends. Checks: the 101 response carries the right Sec-WebSocket-Accept and
// parses; an error response parses and has the error's status; the connection obeys the
// OutputChecker invariants; whole and split inputs give the same step, response and transcript.
import FuzzSupport
@_spi(Testing) import WSProtocol

func run(_ pieces: [[UInt8]], flags: UInt8, preferences: PerMessageDeflateNegotiator.Preferences) -> String {
    var limits = HTTPHeadParser.Limits()
    if flags & 4 != 0 { limits = .init(maxHeadSize: 300, maxHeaderCount: 8, maxRequestLineLength: 64) }
    var handshake = ServerHandshake(options: .init(limits: limits), now: .zero)
    let negotiators: [any ExtensionNegotiator] = flags & 2 == 0 ? [] : [
        PerMessageDeflateNegotiator(preferences: preferences) { _, _ in RunLengthExtension() },
    ]
    var index = 0
    while index < pieces.count {
        let step = handshake.receive(pieces[index], now: .zero)
        index += 1
        switch step {
        case .needMoreData:
            continue
        case .notAnUpgrade(let head):
            return "notAnUpgrade \(head)"
        case .invalid(let error, let response):
            guard let (head, _) = parseResponseHead(response) else { violation("unparseable error response for \(error)") }
            if head.status != (error.httpStatus ?? 400) { violation("status \(head.status) for \(error)") }
            return "invalid \(error) \(response)"
        case .upgradeRequest(let request):
            let subprotocol = flags & 1 != 0 ? request.subprotocols.first : nil
            let accepted: (response: [UInt8], connection: Connection, leftover: [UInt8])
            do throws(HandshakeError) {
                accepted = try handshake.accept(request, subprotocol: subprotocol, extensions: negotiators,
                                                configuration: .init(), now: .zero, entropy: SplitMix64(seed: 1))
            } catch {
                return "accept threw \(error)"  // e.g. a request without a key cannot be accepted this way
            }
            guard let key = request.key else { violation("accepted without a key") }
            guard let (head, body) = parseResponseHead(accepted.response), body.isEmpty, head.status == 101 else {
                violation("unparseable 101 response")
            }
            if head.headers["Sec-WebSocket-Accept"] != [AcceptKey.accept(forKey: key)] { violation("wrong accept value") }
            if head.headers["Sec-WebSocket-Protocol"] != (subprotocol.map { [$0] } ?? []) { violation("wrong subprotocol") }
            let answered = (try? ExtensionOffer.parse(head.headers["Sec-WebSocket-Extensions"])) ?? [ExtensionOffer(name: "?")]
            if answered.count != accepted.connection.extensions.count { violation("extension header and extensions differ") }
            var connection = CheckedConnection(accepted.connection)
            var rest = accepted.leftover
            for piece in pieces[index...] { rest += piece }
            connection.receive(rest)
            connection.endOfStream()
            connection.finish()
            return "upgraded \(accepted.response) \(connection.transcript.records) \(connection.transcript.written)"
        }
    }
    _ = handshake.receiveEndOfStream(now: .zero)
    return "incomplete"
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzServerHandshake(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    withFuzzInput(data, size) { input in
        var r = FuzzReader(input)
        let flags = r.byte()
        let seed = r.byte()
        var preferences = PerMessageDeflateNegotiator.Preferences()
        if flags & 8 != 0 {
            let p = r.byte()
            preferences = .init(serverNoContextTakeover: p & 1 != 0, clientNoContextTakeover: p & 2 != 0,
                                serverMaxWindowBits: p & 4 != 0 ? Int(p >> 4) + 4 : nil,
                                clientMaxWindowBits: p & 8 != 0 ? Int(p >> 4) + 4 : nil)
        }
        let text = r.rest()
        let whole = run([text], flags: flags, preferences: preferences)
        let split = run(Chunking.split(text, seed: seed), flags: flags, preferences: preferences)
        if whole != split { violation("whole and split differ:\n\(whole)\n\(split)") }
    }
}
