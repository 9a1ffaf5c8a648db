// SPDX-License-Identifier: Apache-2.0
import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The lines of standard input (their bytes) as an async sequence, read on a dedicated thread
/// (a blocking read must not hold up the concurrency pool), at most ``readAhead`` lines ahead of the
/// consumer: a consumer held back (a server that does not read, so each send waits) holds the
/// reading back too, instead of the whole input piling up in memory.
enum BlockingLines {
    /// The most lines read and not yet taken by the consumer.
    static let readAhead = 16
    /// The longest line read, in bytes (without its end): 16 MiB, the default message limit of
    /// both ends (a server with default limits refuses a longer message with 1009).
    static let maxLineLength = 16 << 20

    /// A line longer than the limit: reading stops there (read whole, a line without end,
    /// `ws connect URL < /dev/zero`, took all memory).
    struct LineTooLong: Error, Equatable {
        var limit: Int
    }

    static func standardInput() -> Lines {
        // A stream of its own on descriptor 0 (the C `stdin` is shared mutable state to Swift),
        // used by the reader thread only.
        nonisolated(unsafe) let file = fdopen(STDIN_FILENO, "r")
        return lines { () throws(LineTooLong) -> [UInt8]? in
            guard let file else { return nil }
            return try line(from: file)
        }
    }

    /// The next line of `file` as its bytes, without the `\n` or `\r\n` that ends it; `nil` at
    /// the end. Bytes, not a `String`: `--binary` sends them as they are (a `String` replaced
    /// each byte that is not UTF-8 with U+FFFD).
    /// - Throws: ``LineTooLong`` once more than `maxLength` bytes come without a line end
    ///   (at most `maxLength` + 2 bytes are held).
    static func line(from file: UnsafeMutablePointer<FILE>, maxLength: Int = maxLineLength) throws(LineTooLong) -> [UInt8]? {
        var line: [UInt8] = []
        flockfile(file)
        defer { funlockfile(file) }
        while true {
            let c = getc_unlocked(file)
            if c == EOF { return line.isEmpty ? nil : line }
            if c == 0x0A { break }
            line.append(UInt8(truncatingIfNeeded: c))
            // One byte more than the limit may be the CR of a CRLF ending.
            if line.count > maxLength && !(line.count == maxLength + 1 && c == 0x0D) {
                throw LineTooLong(limit: maxLength)
            }
        }
        if line.last == 0x0D { line.removeLast() }
        return line
    }

    /// The lines `read` returns until it returns `nil`, each call made on a dedicated thread once
    /// fewer than `readAhead` lines wait for the consumer. `whenFull` runs on that thread each
    /// time it has to wait for the consumer (for tests).
    static func lines(readAhead: Int = readAhead, whenFull: @escaping @Sendable () -> Void = {},
                      read: @escaping @Sendable () throws(LineTooLong) -> [UInt8]?) -> Lines {
        let (stream, continuation) = AsyncStream<[UInt8]>.makeStream(bufferingPolicy: .unbounded)
        // Made with 0 and signalled up: libdispatch traps when a semaphore is freed holding
        // less than it was made with (the reader, done or waiting, holds some).
        let room = DispatchSemaphore(value: 0)
        for _ in 0..<max(1, readAhead) { room.signal() }
        let failure = Failure()
        let reader = Reader(continuation: continuation, room: room, failure: failure, whenFull: whenFull, read: read)
        var thread = pthread_t()
        let started = pthread_create(&thread, nil, { raw in
            let reader = Unmanaged<Reader>.fromOpaque(raw!).takeRetainedValue()
            reader.run()
            return nil
        }, Unmanaged.passRetained(reader).toOpaque())
        if started == 0 {
            pthread_detach(thread)
        } else {
            Unmanaged.passUnretained(reader).release()
            continuation.finish()
        }
        return Lines(stream: stream, room: room, failure: failure)
    }

    /// Why the reading stopped before the end of the input, if it did.
    final class Failure: Sendable {
        private let error = Mutex<LineTooLong?>(nil)
        var value: LineTooLong? { error.withLock { $0 } }
        func set(_ value: LineTooLong) { error.withLock { $0 = value } }
    }

    /// The lines; taking one makes room for the reader to read another.
    struct Lines: AsyncSequence, Sendable {
        let stream: AsyncStream<[UInt8]>
        let room: DispatchSemaphore
        let failure: Failure

        /// Once the lines have ended: the line that stopped the reading, if one did (the lines
        /// before it were all delivered).
        var lineTooLong: LineTooLong? { failure.value }

        func makeAsyncIterator() -> Iterator { Iterator(base: stream.makeAsyncIterator(), room: room) }

        struct Iterator: AsyncIteratorProtocol {
            var base: AsyncStream<[UInt8]>.Iterator
            let room: DispatchSemaphore

            mutating func next() async -> [UInt8]? {
                guard let line = await base.next() else { return nil }
                room.signal()
                return line
            }
        }
    }

    private final class Reader: @unchecked Sendable {
        let continuation: AsyncStream<[UInt8]>.Continuation
        let room: DispatchSemaphore
        let failure: Failure
        let whenFull: @Sendable () -> Void
        let read: @Sendable () throws(LineTooLong) -> [UInt8]?

        init(continuation: AsyncStream<[UInt8]>.Continuation, room: DispatchSemaphore, failure: Failure,
             whenFull: @escaping @Sendable () -> Void, read: @escaping @Sendable () throws(LineTooLong) -> [UInt8]?) {
            self.continuation = continuation; self.room = room; self.failure = failure
            self.whenFull = whenFull; self.read = read
        }

        /// Reads while there is room, waiting for the consumer when there is none.
        func run() {
            while true {
                if room.wait(timeout: .now()) == .timedOut {
                    whenFull()
                    room.wait()
                }
                let line: [UInt8]?
                do throws(LineTooLong) { line = try read() } catch {
                    failure.set(error)  // before the end, so the consumer sees it once the lines end
                    break
                }
                guard let line else { break }
                continuation.yield(line)
            }
            continuation.finish()
        }
    }
}
