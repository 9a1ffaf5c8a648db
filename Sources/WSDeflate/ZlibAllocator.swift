// SPDX-License-Identifier: Apache-2.0
import CZlib
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// zlib's allocator for one stream, counting what the stream holds (``PerMessageDeflate/memoryInUse``).
///
/// zlib allocates its state and buffers at init (the inflate window on first use) and frees
/// them all at `deflateEnd`/`inflateEnd`; resets keep them. So the sum of allocations is what
/// the stream holds for its whole life, and `zfree` need not subtract.
final class ZlibAllocator {
    /// Bytes zlib has allocated through this allocator.
    private(set) var bytes = 0

    /// Installs this allocator on `stream` (before `deflateInit2`/`inflateInit2`). The stream
    /// must not outlive `self` (both belong to the same owner).
    func install(on stream: UnsafeMutablePointer<z_stream>) {
        stream.pointee.opaque = Unmanaged.passUnretained(self).toOpaque()
        stream.pointee.zalloc = { opaque, items, size in
            let count = Int(items) * Int(size)
            guard let opaque, let memory = malloc(count) else { return nil }
            Unmanaged<ZlibAllocator>.fromOpaque(opaque).takeUnretainedValue().bytes += count
            return memory
        }
        stream.pointee.zfree = { _, address in free(address) }
    }
}
