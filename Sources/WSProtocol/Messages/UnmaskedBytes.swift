// SPDX-License-Identifier: Apache-2.0

/// Masked payload bytes seen as the unmasked bytes they stand for (RFC 6455 §5.3), so that
/// `Array.append(contentsOf:)` writes them into the array's new tail in one pass.
///
/// `append(contentsOf:)` reserves `underestimatedCount` more elements and hands the new tail to
/// the sequence's `_copyContents(initializing:)`; this type answers with the fused copy+unmask
/// (`Masking.apply(_:offset:from:to:)`). Without it a frame that spans reads took two passes
/// over its bytes: a copy, then an unmask in place. The iterator is the byte-wise fallback for
/// any other consumer.
struct UnmaskedBytes: Sequence {
    let source: UnsafeRawBufferPointer
    let key: MaskingKey
    /// Payload position of `source[0]` (selects the key byte it is XORed with).
    let offset: Int

    init(_ source: UnsafeRawBufferPointer, key: MaskingKey, offset: Int) {
        self.source = source
        self.key = key
        self.offset = offset
    }

    struct Iterator: IteratorProtocol {
        let bytes: UnmaskedBytes
        var position: Int

        mutating func next() -> UInt8? {
            guard position < bytes.source.count else { return nil }
            defer { position += 1 }
            return bytes.source[position] ^ bytes.key[bytes.offset &+ position]
        }
    }

    func makeIterator() -> Iterator { Iterator(bytes: self, position: 0) }

    var underestimatedCount: Int { source.count }

    func _copyContents(initializing buffer: UnsafeMutableBufferPointer<UInt8>) -> (Iterator, Int) {
        let n = Swift.min(buffer.count, source.count)
        if n > 0 {
            Masking.apply(key, offset: offset, from: UnsafeRawBufferPointer(rebasing: source[0..<n]),
                          to: UnsafeMutableRawBufferPointer(buffer))
        }
        return (Iterator(bytes: self, position: n), n)
    }
}
