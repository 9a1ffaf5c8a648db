// SPDX-License-Identifier: Apache-2.0

/// The bytes a channel has queued for its socket, in order: frames and handshake bytes copied
/// into one array, large server payloads held by reference (no copy), and, with a
/// ``Transport``, plaintext not yet wrapped at the tail.
///
/// A value type with no I/O: the write path asks for the next run of bytes
/// (``withNextWrite(limit:_:)``), writes it with one `write`/`writev`, and reports how much the
/// kernel took (``advance(by:)``). Everything queued counts in ``count``, which the driver
/// compares with ``FlowControl/highWaterMark`` (sends suspend, reading stops above it).
///
/// ```
/// bytes:    [ written ][ wrapped (wire) ][ plaintext to wrap ]
///            0 ....... start ........... plainStart ........ bytes.count
/// segments:        payload k goes to the socket right after bytes[..<segments[k].at]
/// ```
struct OutboundBuffer {
    /// Frames and handshake bytes; `bytes[start...]` are unwritten.
    private(set) var bytes: [UInt8] = []
    private(set) var start = 0
    /// With a transport: `bytes[start..<plainStart]` is wrapped (ready to write), the rest is
    /// plaintext still to wrap. Without one it stays 0 and unused.
    private(set) var plainStart = 0
    /// Large payloads queued by reference: `segments[segmentHead...]` are unwritten, the head
    /// one from `segmentOffset`.
    private var segments: [OutboundSegment] = []
    private var segmentHead = 0
    private var segmentOffset = 0
    /// Unwritten bytes in `segments`.
    private var segmentBytes = 0

    /// Whether a payload queued by reference waits (writes then gather with `writev`).
    var hasSegments: Bool { segmentHead < segments.count }

    /// Written bytes a small array keeps in front of the next ones before it is emptied.
    static let writtenKept = 1 << 10

    /// Bytes queued and not yet written (plaintext still to wrap included).
    var count: Int { bytes.count - start + segmentBytes }
    var isEmpty: Bool { count == 0 }

    /// Appends bytes to write (frames, a handshake, an HTTP response), or to wrap with a transport.
    mutating func append(_ new: [UInt8]) { bytes.append(contentsOf: new) }

    /// The array the core appends frames to in place (`Connection.send`).
    mutating func withAppendable<R, E: Error>(_ body: (inout [UInt8]) throws(E) -> R) throws(E) -> R {
        try body(&bytes)
    }

    /// Queues a payload by reference: it goes to the socket after everything appended so far.
    /// Plain TCP only (a transport wraps everything in `bytes`).
    mutating func appendSegment(_ payload: [UInt8]) {
        segments.append(OutboundSegment(at: bytes.count, bytes: payload))
        segmentBytes += payload.count
    }

    /// Queues bytes that go to the socket as they are (a transport's own records), ahead of any
    /// plaintext not yet wrapped.
    mutating func insertWire(_ wire: [UInt8]) {
        guard !wire.isEmpty else { return }
        bytes.insert(contentsOf: wire, at: plainStart)
        plainStart += wire.count
    }

    /// Appended bytes are plaintext for a transport to wrap (set by ``startWrapping()``).
    private(set) var wraps = false

    /// Whether plaintext waits to be wrapped by the transport.
    var hasPlaintext: Bool { wraps && bytes.count > plainStart }
    /// Plaintext waiting to be wrapped (0 without a transport).
    var plaintextCount: Int { wraps ? bytes.count - plainStart : 0 }
    /// Bytes ready for the socket ahead of any plaintext (with a transport: the wrapped ones; the
    /// array's only, payload segments are plain TCP's).
    var wireCount: Int { (wraps ? plainStart : bytes.count) - start }

    /// Replaces the plaintext at the tail with what `wrap` makes of it (the transport's records).
    /// Does nothing when no plaintext waits (a transport is never asked to wrap nothing). After
    /// `wrap` throws, what the buffer holds is unspecified: the connection ends, and both callers
    /// empty it.
    ///
    /// `upTo`: wrap only the first that many bytes of plaintext (the rest stays plaintext, to be
    /// wrapped by a later call).
    mutating func wrapPlaintext<E: Error>(upTo limit: Int = .max,
                                          _ wrap: (UnsafeRawBufferPointer, inout [UInt8]) throws(E) -> Void) throws(E) {
        let plainStart = plainStart
        let plainCount = bytes.count - plainStart
        guard plainCount > 0 else { return }
        if limit < plainCount {
            let n = max(limit, 1)
            var wire: [UInt8] = []
            let failure = bytes.withUnsafeBytes { raw -> E? in
                do throws(E) { try wrap(UnsafeRawBufferPointer(rebasing: raw[plainStart..<(plainStart + n)]), &wire); return nil } catch { return error }
            }
            if let failure { throw failure }
            bytes.replaceSubrange(plainStart..<(plainStart + n), with: wire)
            self.plainStart = plainStart + wire.count
            return
        }
        let failure: E?
        if plainCount <= Self.stackWrapLimit {
            // A message or a few: the plaintext moves to the stack and the records are appended
            // straight to the array (no array made, filled, copied and freed per message).
            failure = withUnsafeTemporaryAllocation(byteCount: plainCount, alignment: 1) { scratch -> E? in
                bytes.withUnsafeBytes { raw in scratch.copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[plainStart...])) }
                bytes.removeLast(plainCount)
                do throws(E) { try wrap(UnsafeRawBufferPointer(scratch), &bytes); return nil } catch { return error }
            }
        } else {
            var wire: [UInt8] = []
            failure = bytes.withUnsafeBytes { raw -> E? in
                do throws(E) { try wrap(UnsafeRawBufferPointer(rebasing: raw[plainStart...]), &wire); return nil } catch { return error }
            }
            if failure == nil {
                bytes.removeLast(plainCount)
                bytes.append(contentsOf: wire)
            }
        }
        if let failure { throw failure }
        self.plainStart = bytes.count
    }

    /// The most plaintext ``wrapPlaintext(_:)`` moves to the stack (larger batches are wrapped
    /// into an array of their own: the copy is small beside the encryption).
    static let stackWrapLimit = 1024

    /// Calls `body` with the next bytes to write, at most `limit` in all: the array's bytes up to
    /// the next payload segment, that segment (from where a partial write left it), and the
    /// array's bytes after it up to the following segment (each part only after the whole of the
    /// one before). Without segments, only the first part is non-empty. With a transport, wrap
    /// the plaintext first (``wrapPlaintext(_:)``).
    func withNextWrite<R>(limit: Int, _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> R) -> R {
        bytes.withUnsafeBytes { out in
            var left = limit
            // `left` goes in and out explicitly: captured by a local function it was boxed and
            // its accesses checked at run time.
            func take(_ part: UnsafeRawBufferPointer, _ left: inout Int) -> UnsafeRawBufferPointer {
                let n = min(part.count, left)
                left -= n
                return UnsafeRawBufferPointer(rebasing: part[0..<n])
            }
            guard segmentHead < segments.count else {
                return body(take(UnsafeRawBufferPointer(rebasing: out[start...]), &left), .init(start: nil, count: 0), .init(start: nil, count: 0))
            }
            let head = segments[segmentHead]
            let next = segmentHead + 1 < segments.count ? segments[segmentHead + 1].at : bytes.count
            return head.bytes.withUnsafeBytes { payload in
                let first = take(UnsafeRawBufferPointer(rebasing: out[start..<head.at]), &left)
                let second = take(UnsafeRawBufferPointer(rebasing: payload[segmentOffset...]), &left)
                let third = take(UnsafeRawBufferPointer(rebasing: out[head.at..<next]), &left)
                return body(first, second, third)
            }
        }
    }

    /// Calls `body` with every unwritten byte of the array (plain TCP with no payload segment:
    /// all that is queued).
    func withUnwritten<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        bytes.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[start...])) }
    }

    /// A transport is installed: what is queued so far is wire bytes (a proxy stage's), what is
    /// appended from now on is plaintext for the transport to wrap.
    mutating func startWrapping() {
        wraps = true
        plainStart = bytes.count
    }

    /// Moves past `written` bytes (array bytes and payload segments, in their order), and gives
    /// memory back once everything is written. The usual case, array bytes all written with
    /// nothing to give back, is inlined into the caller (its call and checks cost about 38
    /// instructions per write); everything else goes to ``advancePast(_:)``.
    @inline(__always)
    mutating func advance(by written: Int) {
        if segments.isEmpty && start + written == bytes.count && bytes.count < Self.writtenKept
            && bytes.capacity <= 4 << 10 && segments.capacity <= 4 {
            start += written
            return
        }
        advancePast(written)
    }

    private mutating func advancePast(_ written: Int) {
        if segments.isEmpty {
            // Array bytes only (the usual case).
            start += written
            if start == bytes.count { allWritten(); return }
        } else {
            advanceThroughSegments(by: written)
            if count == 0 { allWritten(); return }
        }
        if start > (1 << 20) && start > bytes.count / 2 {
            // Drop the written head of a long backlog so the array does not only grow.
            bytes.removeFirst(start)
            plainStart = max(0, plainStart - start)
            for i in segmentHead..<segments.count { segments[i].at -= start }
            start = 0
        }
    }

    private mutating func advanceThroughSegments(by written: Int) {
        var n = written
        while n > 0 {
            if segmentHead < segments.count && start == segments[segmentHead].at {
                let size = segments[segmentHead].bytes.count
                let k = min(n, size - segmentOffset)
                segmentOffset += k
                segmentBytes -= k
                n -= k
                if segmentOffset == size {
                    segments[segmentHead].bytes = []  // the application's array is released
                    segmentHead += 1
                    segmentOffset = 0
                }
            } else {
                let end = segmentHead < segments.count ? segments[segmentHead].at : bytes.count
                let k = min(n, end - start)
                start += k
                n -= k
            }
        }
        if segmentHead == segments.count && segmentHead > 0 {
            segments.removeAll(keepingCapacity: true)
            segmentHead = 0
        }
    }

    /// Everything queued is written. Small arrays stay for the next messages; big ones go back
    /// (idle memory is a few KiB per connection). Bytes written stay in a small array until
    /// ``writtenKept`` of them have gathered (appends go after them): emptying the array after
    /// every small message cost about a tenth of a 32 B echo's instructions on the loop thread.
    /// A few segment slots stay: freeing them made every large message sent cost a malloc of
    /// its own.
    private mutating func allWritten() {
        if bytes.capacity > 4 << 10 {
            bytes = []
            start = 0
            plainStart = 0
        } else if bytes.count >= Self.writtenKept {
            bytes.removeAll(keepingCapacity: true)
            start = 0
            plainStart = 0
        }
        if segments.capacity > 4 { segments = [] }
    }

    /// Drops everything queued and gives the storage back (the socket is gone or failed, or
    /// nothing is queued and the connection is about to sit idle).
    mutating func removeAll() {
        bytes = []
        start = 0
        plainStart = 0
        segments = []
        segmentHead = 0
        segmentOffset = 0
        segmentBytes = 0
    }
}

/// A payload queued by reference: it goes to the socket after `bytes[..<at]`.
struct OutboundSegment {
    var at: Int
    var bytes: [UInt8]
}
