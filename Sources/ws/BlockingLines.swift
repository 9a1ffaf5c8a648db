// SPDX-License-Identifier: Apache-2.0
import Dispatch
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

    static func standardInput() -> Lines {
        // A stream of its own on descriptor 0 (the C `stdin` is shared mutable state to Swift),
        // used by the reader thread only.
        nonisolated(unsafe) let file = fdopen(STDIN_FILENO, "r")
        return lines { file.flatMap { line(from: $0) } }
    }

    /// The next line of `file` as its bytes, without the `\n` or `\r\n` that ends it; `nil` at
    /// the end. Bytes, not a `String`: `--binary` sends them as they are (a `String` replaced
    /// each byte that is not UTF-8 with U+FFFD).
    static func line(from file: UnsafeMutablePointer<FILE>) -> [UInt8]? {
        var buffer: UnsafeMutablePointer<CChar>? = nil
        var capacity = 0
        defer { free(buffer) }
        let count = getline(&buffer, &capacity, file)
        guard count >= 0, let buffer else { return nil }
        var line = UnsafeRawBufferPointer(start: buffer, count: count).withMemoryRebound(to: UInt8.self) { Array($0) }
        if line.last == 0x0A {
            line.removeLast()
            if line.last == 0x0D { line.removeLast() }
        }
        return line
    }

    /// The lines `read` returns until it returns `nil`, each call made on a dedicated thread once
    /// fewer than `readAhead` lines wait for the consumer. `whenFull` runs on that thread each
    /// time it has to wait for the consumer (for tests).
    static func lines(readAhead: Int = readAhead, whenFull: @escaping @Sendable () -> Void = {},
                      read: @escaping @Sendable () -> [UInt8]?) -> Lines {
        let (stream, continuation) = AsyncStream<[UInt8]>.makeStream(bufferingPolicy: .unbounded)
        // Made with 0 and signalled up: libdispatch traps when a semaphore is freed holding
        // less than it was made with (the reader, done or waiting, holds some).
        let room = DispatchSemaphore(value: 0)
        for _ in 0..<max(1, readAhead) { room.signal() }
        let reader = Reader(continuation: continuation, room: room, whenFull: whenFull, read: read)
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
        return Lines(stream: stream, room: room)
    }

    /// The lines; taking one makes room for the reader to read another.
    struct Lines: AsyncSequence, Sendable {
        let stream: AsyncStream<[UInt8]>
        let room: DispatchSemaphore

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
        let whenFull: @Sendable () -> Void
        let read: @Sendable () -> [UInt8]?

        init(continuation: AsyncStream<[UInt8]>.Continuation, room: DispatchSemaphore,
             whenFull: @escaping @Sendable () -> Void, read: @escaping @Sendable () -> [UInt8]?) {
            self.continuation = continuation; self.room = room; self.whenFull = whenFull; self.read = read
        }

        /// Reads while there is room, waiting for the consumer when there is none.
        func run() {
            while true {
                if room.wait(timeout: .now()) == .timedOut {
                    whenFull()
                    room.wait()
                }
                guard let line = read() else { break }
                continuation.yield(line)
            }
            continuation.finish()
        }
    }
}
