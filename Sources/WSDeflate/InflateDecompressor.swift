// SPDX-License-Identifier: Apache-2.0
import CZlib
import WSProtocol

/// The receiving half of permessage-deflate: one raw-inflate `z_stream` (RFC 7692 §7.2.2).
///
/// Created on the first compressed message, freed in `deinit`. Like ``DeflateCompressor`` it
/// is shared by copies of the ``PerMessageDeflate`` value. `@unchecked Sendable` for the same
/// reason: one connection owns it and is driven by one thread at a time.
final class InflateDecompressor: @unchecked Sendable {
    /// Output is produced in pieces of at most this many bytes, so the limit is checked often.
    static let chunkSize = 64 << 10

    private let stream: UnsafeMutablePointer<z_stream>
    private var isInitialized = false
    private let allocator = ZlibAllocator()
    /// Bytes zlib holds for this stream (0 until the first message).
    var memoryInUse: Int { allocator.bytes }
    /// zlib's windowBits for raw inflate: 9–15.
    let windowBits: Int32
    /// The message's data ended with a final block (BFINAL = 1) and nothing followed it, so the
    /// `00 00 FF FF` tail is not appended (RFC 7692 §7.2.2).
    private var endedWithFinalBlock = false
    /// Bytes inflated over the stream's life (tests check that a bomb stops at the limit).
    private(set) var totalInflated = 0

    init(windowBits: Int) {
        self.windowBits = Int32(windowBits)
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        allocator.install(on: stream)
    }

    deinit {
        if isInitialized { inflateEnd(stream) }
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// Inflates one frame's payload of a compressed message, appending at most `limit` bytes
    /// to `output`. On the last frame, appends `00 00 FF FF` to the input first (RFC 7692
    /// §7.2.2), then resets the stream when `reset` (the peer's `*_no_context_takeover`).
    /// - Throws: ``ProtocolError/messageTooLarge(limit:)`` as soon as the output would exceed
    ///   `limit` (at most `limit + 1` bytes are ever inflated, so a zip bomb costs no more);
    ///   ``ProtocolError/extensionFailure(_:)`` for data zlib rejects (RFC 7692 §8).
    func decompress(_ input: UnsafeRawBufferPointer, isFinal: Bool, into output: inout [UInt8],
                    limit: Int, reset: Bool) throws(ProtocolError) {
        let budget = max(limit, 0)  // a negative limit allows nothing (and must not underflow in `run`)
        if !isInitialized {
            guard czlib_inflate_init(stream, -windowBits) == Z_OK else {
                throw .extensionFailure("permessage-deflate: inflateInit2 failed")
            }
            isInitialized = true
        }
        let start = output.count
        do throws(ProtocolError) {
            if input.count > 0 { try run(input, into: &output, start: start, limit: budget) }
            if isFinal {
                if !endedWithFinalBlock {
                    // (Array.withUnsafeBytes rethrows untyped errors, so the error is carried out.)
                    let failure: ProtocolError? = DeflateCompressor.syncMarker.withUnsafeBytes { tail in
                        do throws(ProtocolError) {
                            try run(tail, into: &output, start: start, limit: budget)
                            return nil
                        } catch { return error }
                    }
                    if let failure { throw failure }
                }
                endedWithFinalBlock = false
                if reset { inflateReset(stream) }
            }
        } catch {
            // The connection fails; leave the stream usable anyway.
            inflateReset(stream)
            endedWithFinalBlock = false
            if case .messageTooLarge = error { throw .messageTooLarge(limit: limit) }
            throw error
        }
    }

    private func run(_ input: UnsafeRawBufferPointer, into output: inout [UInt8], start: Int,
                     limit: Int) throws(ProtocolError) {
        // zlib writes into a scratch piece, copied out: no zero-filling of `output`.
        // At most `limit + 1` bytes, written so that `limit == .max` cannot overflow.
        let scratch = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: min(limit, Self.chunkSize - 1) + 1)
        defer { scratch.deallocate(); stream.pointee.next_in = nil; stream.pointee.next_out = nil }
        var consumed = 0
        while consumed < input.count {
            let piece = min(input.count - consumed, 1 << 30)
            stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress!
                .assumingMemoryBound(to: UInt8.self) + consumed)
            stream.pointee.avail_in = uInt(piece)
            endedWithFinalBlock = false
            inflating: while true {
                // One byte beyond the limit is offered, to tell "exactly the limit" from "more".
                let room = max(limit - (output.count - start), 0)
                let chunk = min(room, scratch.count - 1) + 1
                stream.pointee.next_out = scratch.baseAddress!
                stream.pointee.avail_out = uInt(chunk)
                let rc = inflate(stream, Z_SYNC_FLUSH)
                let unused = Int(stream.pointee.avail_out)
                let written = chunk - unused
                totalInflated += written
                if output.count - start + written > limit {
                    output.append(contentsOf: UnsafeBufferPointer(rebasing: scratch[..<(limit - (output.count - start))]))
                    throw .messageTooLarge(limit: limit)
                }
                output.append(contentsOf: UnsafeBufferPointer(rebasing: scratch[..<written]))
                switch rc {
                case Z_OK:
                    if stream.pointee.avail_in == 0 && unused > 0 { break inflating }
                case Z_BUF_ERROR where stream.pointee.avail_in == 0:
                    break inflating  // all input taken and no output pending
                case Z_STREAM_END:
                    // A final block (BFINAL = 1): the peer starts a new stream after it.
                    inflateReset(stream)
                    if stream.pointee.avail_in == 0 { endedWithFinalBlock = true; break inflating }
                default:
                    let detail = stream.pointee.msg.map { String(cString: $0) } ?? "zlib error \(rc)"
                    throw .extensionFailure("permessage-deflate: \(detail)")
                }
            }
            consumed += piece
        }
    }
}
