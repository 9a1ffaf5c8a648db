// SPDX-License-Identifier: Apache-2.0
import CZlib

/// The sending half of permessage-deflate: one raw-deflate `z_stream` (RFC 7692 §7.2.1).
///
/// The stream is created on the first message (a connection that never sends costs nothing)
/// and freed in `deinit`. It is a reference type because a `z_stream` cannot be copied: a copy
/// of the ``PerMessageDeflate`` value (and so of the `Connection` holding it) shares it.
///
/// `@unchecked Sendable`: a connection is driven by one thread at a time (the driver's event
/// loop, or a test), and only that connection holds this object, so the stream is never used
/// concurrently. Do not share one ``PerMessageDeflate`` between connections.
final class DeflateCompressor: @unchecked Sendable {
    /// The marker a sync flush ends with, removed from each message (RFC 7692 §7.2.1).
    static let syncMarker: [UInt8] = [0x00, 0x00, 0xFF, 0xFF]

    private let stream: UnsafeMutablePointer<z_stream>
    private var isInitialized = false
    private let allocator = ZlibAllocator()
    /// Bytes zlib holds for this stream (0 until the first message).
    var memoryInUse: Int { allocator.bytes }
    let level: Int32
    /// zlib's windowBits, negated for raw deflate: 9–15.
    let windowBits: Int32
    let memoryLevel: Int32

    init(level: Int, windowBits: Int, memoryLevel: Int) {
        self.level = Int32(level)
        self.windowBits = Int32(windowBits)
        self.memoryLevel = Int32(memoryLevel)
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        allocator.install(on: stream)
    }

    deinit {
        if isInitialized { deflateEnd(stream) }
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// Compresses one whole message: deflate, `Z_SYNC_FLUSH`, then strip the trailing
    /// `00 00 FF FF` (RFC 7692 §7.2.1). Resets the stream afterwards when `reset` (this end's
    /// `*_no_context_takeover`, RFC 7692 §7.1.1).
    /// - Returns: the compressed payload, or `nil` if zlib failed (the caller then sends the
    ///   message uncompressed, which RFC 7692 §6.1 allows; the stream has been reset, so the
    ///   peer's context and ours still agree).
    func compress(_ input: [UInt8], reset: Bool) -> [UInt8]? {
        if !isInitialized {
            guard czlib_deflate_init(stream, level, -windowBits, memoryLevel) == Z_OK else { return nil }
            isInitialized = true
        }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(stream, uLong(input.count))) + 16)
        var produced = 0
        let ok: Bool = input.withUnsafeBufferPointer { source in
            defer { stream.pointee.next_in = nil; stream.pointee.next_out = nil }
            var consumed = 0
            // Fed in pieces so a count never overflows zlib's 32-bit `avail_in`.
            repeat {
                let piece = min(source.count - consumed, 1 << 30)
                stream.pointee.next_in = source.baseAddress.map { UnsafeMutablePointer(mutating: $0 + consumed) }
                stream.pointee.avail_in = uInt(piece)
                let flush = consumed + piece == source.count ? Z_SYNC_FLUSH : Z_NO_FLUSH
                repeat {
                    if produced == output.count { output += repeatElement(0, count: max(output.count, 64)) }
                    let rc = output.withUnsafeMutableBufferPointer { out -> Int32 in
                        stream.pointee.next_out = out.baseAddress! + produced
                        stream.pointee.avail_out = uInt(min(out.count - produced, 1 << 30))
                        let before = Int(stream.pointee.avail_out)
                        let rc = deflate(stream, flush)
                        produced += before - Int(stream.pointee.avail_out)
                        return rc
                    }
                    // Z_BUF_ERROR: nothing left to do (a repeated flush); not an error.
                    guard rc == Z_OK || rc == Z_BUF_ERROR else { return false }
                } while stream.pointee.avail_out == 0 || stream.pointee.avail_in != 0
                consumed += piece
            } while consumed < source.count
            return true
        }
        output.removeLast(output.count - produced)
        guard ok, output.count > Self.syncMarker.count, output.suffix(4).elementsEqual(Self.syncMarker) else {
            deflateReset(stream)
            return nil
        }
        output.removeLast(Self.syncMarker.count)
        if reset { deflateReset(stream) }
        return output
    }
}
