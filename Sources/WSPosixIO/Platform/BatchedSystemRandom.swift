// SPDX-License-Identifier: Apache-2.0

/// The kernel's CSPRNG, fetched 256 bytes at a time: one system call per 32 masking keys instead
/// of one per frame (RFC 6455 §5.3 asks for a strong source of entropy; this is the same source,
/// batched). Each connection owns its own buffer; nothing is shared between connections.
public struct BatchedSystemRandom: RandomNumberGenerator, Sendable {
    private var words: [UInt64] = []
    private var index = 0

    public init() {}

    public mutating func next() -> UInt64 {
        if index == words.count {
            if words.isEmpty { words = [UInt64](repeating: 0, count: 32) }
            words.withUnsafeMutableBytes { Sys.fillRandom($0) }
            index = 0
        }
        defer { index += 1 }
        return words[index]
    }
}
