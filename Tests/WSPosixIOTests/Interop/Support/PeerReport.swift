// SPDX-License-Identifier: Apache-2.0
import Foundation

/// The JSON line a Python peer prints about one connection (see Resources/peer_common.py).
struct PeerReport: Decodable, Equatable {
    /// One message the peer received: its type, length, CRC-32, and its data when short
    /// (text as is, binary as lowercase hex).
    struct Received: Decodable, Equatable, CustomStringConvertible {
        var type: String
        var len: Int
        var crc32: UInt32
        var data: String?

        var description: String { "\(type)(\(len) bytes, crc \(crc32), \(data ?? "…"))" }

        /// The summary the peer gives for a text message.
        static func text(_ string: String) -> Received {
            let bytes = Array(string.utf8)
            return Received(type: "text", len: bytes.count, crc32: CRC32.checksum(bytes),
                            data: bytes.count <= 4096 ? string : nil)
        }

        /// The summary the peer gives for a binary message.
        static func binary(_ bytes: [UInt8]) -> Received {
            Received(type: "binary", len: bytes.count, crc32: CRC32.checksum(bytes),
                     data: bytes.count <= 4096 ? Hex.string(bytes, separator: "") : nil)
        }
    }

    var peer: String?
    var path: String?
    var subprotocol: String?
    var headers: [String: String]?
    var received: [Received]?
    var pongs: [String]?
    var close_code: Int?
    var close_reason: String?
    var error: String?
    /// The TLS version negotiated ("TLSv1.3"), for TLS connections.
    var tls: String?

    static func decode(_ line: String) throws -> PeerReport {
        try JSONDecoder().decode(PeerReport.self, from: Data(line.utf8))
    }
}

/// The deterministic payloads the peers generate (peer_common.py's `pattern_bytes`).
enum Pattern {
    /// Byte i is (i * 31 + 7) mod 256.
    static func bytes(_ count: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
    }
}

/// Lowercase hex, as the peers print it.
enum Hex {
    static func string(_ bytes: [UInt8], separator: String = " ") -> String {
        bytes.map { byte in
            let digits = Array("0123456789abcdef")
            return String([digits[Int(byte >> 4)], digits[Int(byte & 0xf)]])
        }.joined(separator: separator)
    }
}

/// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), as Python's `zlib.crc32`.
enum CRC32 {
    private static let table: [UInt32] = (0..<256).map { index in
        var c = UInt32(index)
        for _ in 0..<8 { c = c & 1 == 1 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func checksum(_ bytes: some Sequence<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xff)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }
}
