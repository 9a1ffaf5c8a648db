// SPDX-License-Identifier: Apache-2.0

/// SplitMix64: the deterministic generator every input is drawn from, so both implementations
/// see identical bytes in every run.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Inputs shared by every scenario.
public enum Inputs {
    /// `count` bytes drawn from the seeded generator.
    public static func bytes(_ count: Int, seed: UInt64) -> [UInt8] {
        var rng = SplitMix64(seed: seed)
        var out = [UInt8](repeating: 0, count: count)
        var i = 0
        while i < count {
            let v = rng.next()
            for k in 0..<8 where i + k < count { out[i + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(k))) }
            i += 8
        }
        return out
    }

    /// One frame as a client sends it (RFC 6455 §5.2): FIN, the opcode, the MASK bit, the
    /// shortest length encoding, the key, and the masked payload (§5.3).
    public static func maskedFrame(opcode: UInt8, payload: [UInt8], key: (UInt8, UInt8, UInt8, UInt8), fin: Bool = true) -> [UInt8] {
        var f: [UInt8] = [(fin ? 0x80 : 0) | opcode]
        let n = payload.count
        if n < 126 { f.append(0x80 | UInt8(n)) }
        else if n < 65536 { f += [0x80 | 126, UInt8(n >> 8), UInt8(n & 0xFF)] }
        else { f.append(0x80 | 127); for s in stride(from: 56, through: 0, by: -8) { f.append(UInt8(truncatingIfNeeded: n >> s)) } }
        let k = [key.0, key.1, key.2, key.3]
        f += k
        for (i, b) in payload.enumerated() { f.append(b ^ k[i & 3]) }
        return f
    }

    /// A stream of `count` masked binary frames of `size` payload bytes each, with keys and
    /// payloads from the seeded generator, plus the frame boundaries.
    public static func maskedStream(frameSize size: Int, count: Int, seed: UInt64 = 42) -> (bytes: [UInt8], frameEnds: [Int]) {
        var rng = SplitMix64(seed: seed)
        var out: [UInt8] = []
        var ends: [Int] = []
        let payload = bytes(size, seed: seed ^ 0xABCDEF)
        for _ in 0..<count {
            let k = rng.next()
            let key = (UInt8(truncatingIfNeeded: k), UInt8(truncatingIfNeeded: k >> 8),
                       UInt8(truncatingIfNeeded: k >> 16), UInt8(truncatingIfNeeded: k >> 24))
            out += maskedFrame(opcode: 0x2, payload: payload, key: key)
            ends.append(out.count)
        }
        return (out, ends)
    }

    /// Cuts `bytes` into reads of `readSize` bytes (the last one shorter), as a socket delivers them.
    public static func reads(_ bytes: [UInt8], readSize: Int) -> [ArraySlice<UInt8>] {
        stride(from: 0, to: bytes.count, by: readSize).map { bytes[$0..<min($0 + readSize, bytes.count)] }
    }

    /// Cuts `bytes` at the given frame ends: one frame per read.
    public static func reads(_ bytes: [UInt8], frameEnds: [Int]) -> [ArraySlice<UInt8>] {
        var start = 0
        return frameEnds.map { end in defer { start = end }; return bytes[start..<end] }
    }

    /// 1 MiB of printable ASCII.
    public static let asciiText: [UInt8] = {
        var rng = SplitMix64(seed: 7)
        return (0..<(1 << 20)).map { _ in UInt8(0x20 + rng.next() % 95) }
    }()

    /// 1 MiB of mixed text: ASCII words mixed with 2-, 3- and 4-byte characters (Latin accents,
    /// Cyrillic, Greek, CJK, kana, emoji), about 60 % of the bytes in multibyte characters.
    public static let mixedText: [UInt8] = {
        let pieces = ["hello ", "world ", "caf\u{E9} ", "na\u{EF}ve ", "\u{41F}\u{440}\u{438}\u{432}\u{435}\u{442} ",
                      "\u{4F60}\u{597D} ", "\u{3053}\u{3093}\u{306B}\u{3061}\u{306F} ", "\u{1F600} ", "data ", "\u{1F680}\u{2728} ",
                      "stra\u{DF}e ", "\u{3B1}\u{3B2}\u{3B3} "]
        var rng = SplitMix64(seed: 11)
        var out: [UInt8] = []
        out.reserveCapacity(1 << 20)
        while true {
            let piece = Array(pieces[Int(rng.next() % UInt64(pieces.count))].utf8)
            if out.count + piece.count > 1 << 20 { break }
            out += piece
        }
        return out
    }()

    /// A client's opening handshake request (RFC 6455 §4.1), as a browser would send it.
    public static let handshakeRequest: [UInt8] = Array((
        "GET /chat HTTP/1.1\r\n" +
        "Host: 127.0.0.1:8080\r\n" +
        "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36\r\n" +
        "Accept-Encoding: gzip, deflate, br\r\n" +
        "Accept-Language: en-US,en;q=0.9\r\n" +
        "Cache-Control: no-cache\r\n" +
        "Connection: Upgrade\r\n" +
        "Origin: http://127.0.0.1:8080\r\n" +
        "Pragma: no-cache\r\n" +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
        "Sec-WebSocket-Version: 13\r\n" +
        "Upgrade: websocket\r\n" +
        "\r\n").utf8)
}
