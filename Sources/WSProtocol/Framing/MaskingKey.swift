// SPDX-License-Identifier: Apache-2.0

/// The 32-bit masking key of a client frame (RFC 6455 §5.3), in wire order.
package struct MaskingKey: Hashable, Sendable {
    /// The four key bytes as they appear on the wire.
    package var bytes: (UInt8, UInt8, UInt8, UInt8)

    package init(_ b0: UInt8, _ b1: UInt8, _ b2: UInt8, _ b3: UInt8) { bytes = (b0, b1, b2, b3) }

    /// Draws a key from `generator` (RFC 6455 §5.3: "derived from a strong source of entropy").
    package static func random(using generator: inout some RandomNumberGenerator) -> MaskingKey {
        // The low 32 bits of one `next()`: exactly what `UInt32.random(in: .min ... .max, using:)`
        // returns, without the unspecialised generic call (the generator is often an existential).
        let v = UInt32(truncatingIfNeeded: generator.next())
        return MaskingKey(UInt8(truncatingIfNeeded: v), UInt8(truncatingIfNeeded: v >> 8),
                          UInt8(truncatingIfNeeded: v >> 16), UInt8(truncatingIfNeeded: v >> 24))
    }

    /// The key byte that masks payload byte `index`.
    @inlinable package subscript(index: Int) -> UInt8 {
        switch index & 3 {
        case 0: return bytes.0
        case 1: return bytes.1
        case 2: return bytes.2
        default: return bytes.3
        }
    }

    package static func == (a: MaskingKey, b: MaskingKey) -> Bool {
        a.bytes.0 == b.bytes.0 && a.bytes.1 == b.bytes.1 && a.bytes.2 == b.bytes.2 && a.bytes.3 == b.bytes.3
    }
    package func hash(into h: inout Hasher) { h.combine(bytes.0); h.combine(bytes.1); h.combine(bytes.2); h.combine(bytes.3) }
}
