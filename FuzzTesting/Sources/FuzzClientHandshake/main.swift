// SPDX-License-Identifier: Apache-2.0
// libFuzzer entry point: ClientHandshake receiving an arbitrary response, then the leftover
// (and every later byte) into the client Connection; or, in URL mode, `Options(url:)`.
//
// Input: byte 0 selects variants (bit 0 offer subprotocols chat and superchat; bit 1 offer
// permessage-deflate, with preferences from the next byte; bit 2 small body prefix; bit 7 URL
// mode); byte 1 seeds the chunking; the rest is the server's response, in which the text
// `{accept}` is replaced by the right Sec-WebSocket-Accept value (the key comes from a fixed
// seed), so the fuzzer reaches the connection. Checks: the connected response is a 101;
// the connection obeys the OutputChecker invariants; whole and split inputs agree. URL mode:
// a URL that parses gives a request that our own server validator accepts.
import FuzzSupport
@_spi(Testing) import WSProtocol

func options(_ flags: UInt8, _ prefs: UInt8) -> ClientHandshake.Options {
    var negotiators: [any ExtensionNegotiator] = []
    if flags & 2 != 0 {
        let p = prefs
        let preferences = PerMessageDeflateNegotiator.Preferences(
            serverNoContextTakeover: p & 1 != 0, clientNoContextTakeover: p & 2 != 0,
            serverMaxWindowBits: p & 4 != 0 ? Int(p >> 4) + 4 : nil,
            clientMaxWindowBits: p & 8 != 0 ? Int(p >> 4) + 4 : nil)
        negotiators.append(PerMessageDeflateNegotiator(preferences: preferences) { _, _ in RunLengthExtension() })
    }
    return ClientHandshake.Options(host: "example.com", subprotocols: flags & 1 != 0 ? ["chat", "superchat"] : [],
                                   extensions: negotiators, maxBodyPrefix: flags & 4 != 0 ? 7 : 4096)
}

func run(_ pieces: [[UInt8]], options: ClientHandshake.Options) -> String {
    guard var handshake = try? ClientHandshake(options: options, now: .zero, entropy: SplitMix64(seed: 7)) else {
        violation("fixed options refused")
    }
    var index = 0
    while index < pieces.count {
        let step = handshake.receive(pieces[index], now: .zero)
        index += 1
        switch step {
        case .needMoreData:
            continue
        case .failed(let error):
            if case .refused(let status, _, _, let body) = error {
                if status == 101 { violation("101 reported as a refusal") }
                if body.count > max(options.maxBodyPrefix, 0) { violation("body prefix over the cap") }
            }
            return "failed \(error)"
        case .connected(let connection, let leftover, let response):
            if response.status != 101 { violation("connected on status \(response.status)") }
            if connection.role != .client { violation("client handshake made a server") }
            if let p = connection.subprotocol, !options.subprotocols.contains(p) { violation("subprotocol \(p) not offered") }
            var checked = CheckedConnection(connection)
            var rest = leftover
            for piece in pieces[index...] { rest += piece }
            checked.receive(rest)
            checked.endOfStream()
            checked.finish()
            return "connected \(response) \(checked.transcript.records) \(checked.transcript.written)"
        }
    }
    return "incomplete \(String(describing: handshake.receiveEndOfStream(now: .zero)))"
}

func substituteAccept(_ bytes: [UInt8], key: String) -> [UInt8] {
    let marker = Array("{accept}".utf8)
    let value = Array(AcceptKey.accept(forKey: key).utf8)
    var out: [UInt8] = []
    var i = 0
    while i < bytes.count {
        if bytes.count - i >= marker.count && bytes[i..<i + marker.count].elementsEqual(marker) {
            out += value; i += marker.count
        } else {
            out.append(bytes[i]); i += 1
        }
    }
    return out
}

func checkURL(_ bytes: [UInt8]) {
    let url = String(decoding: bytes, as: UTF8.self)
    guard let options = try? ClientHandshake.Options(url: url) else { return }
    guard let handshake = try? ClientHandshake(options: options, now: .zero, entropy: SplitMix64(seed: 7)) else { return }
    var parser = HTTPHeadParser(kind: .request)
    let parsed: (head: HTTPHeadParser.Head, leftover: [UInt8])?
    do throws(HandshakeError) {
        parsed = try parser.parse(handshake.requestBytes)
    } catch {
        violation("request for \(url) does not parse: \(error)")
    }
    guard let parsed, case .request(let head) = parsed.head, parsed.leftover.isEmpty else { violation("request for \(url) incomplete") }
    do throws(HandshakeError) {
        let request = try UpgradeRequest.validate(head)
        if request.key != handshake.key { violation("key changed") }
    } catch {
        violation("our server refuses our client's request for \(url): \(error)")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzClientHandshake(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    withFuzzInput(data, size) { input in
        var r = FuzzReader(input)
        let flags = r.byte()
        let seed = r.byte()
        if flags & 0x80 != 0 { return checkURL(r.rest()) }
        let prefs = flags & 2 != 0 ? r.byte() : 0
        let opts = options(flags, prefs)
        guard let probe = try? ClientHandshake(options: opts, now: .zero, entropy: SplitMix64(seed: 7)) else {
            violation("fixed options refused")
        }
        let text = substituteAccept(r.rest(), key: probe.key)
        let whole = run([text], options: opts)
        let split = run(Chunking.split(text, seed: seed), options: opts)
        if whole != split { violation("whole and split differ:\n\(whole)\n\(split)") }
    }
}
