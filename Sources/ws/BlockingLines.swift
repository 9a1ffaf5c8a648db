// SPDX-License-Identifier: Apache-2.0
import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The lines of standard input as an async sequence, read on a dedicated thread (a blocking
/// `readLine` must not hold up the concurrency pool), at most ``readAhead`` lines ahead of the
/// consumer: a consumer held back (a server that does not read, so each send waits) holds the
/// reading back too, instead of the whole input piling up in memory.
enum BlockingLines {
    /// The most lines read and not yet taken by the consumer.
    static let readAhead = 16

    static func standardInput() -> Lines {
        lines { readLine(strippingNewline: true) }
    }

    /// The lines `read` returns until it returns `nil`, each call made on a dedicated thread once
    /// fewer than `readAhead` lines wait for the consumer. `whenFull` runs on that thread each
    /// time it has to wait for the consumer (for tests).
    static func lines(readAhead: Int = readAhead, whenFull: @escaping @Sendable () -> Void = {},
                      read: @escaping @Sendable () -> String?) -> Lines {
        let (stream, continuation) = AsyncStream<String>.makeStream(bufferingPolicy: .unbounded)
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
        let stream: AsyncStream<String>
        let room: DispatchSemaphore

        func makeAsyncIterator() -> Iterator { Iterator(base: stream.makeAsyncIterator(), room: room) }

        struct Iterator: AsyncIteratorProtocol {
            var base: AsyncStream<String>.Iterator
            let room: DispatchSemaphore

            mutating func next() async -> String? {
                guard let line = await base.next() else { return nil }
                room.signal()
                return line
            }
        }
    }

    private final class Reader: @unchecked Sendable {
        let continuation: AsyncStream<String>.Continuation
        let room: DispatchSemaphore
        let whenFull: @Sendable () -> Void
        let read: @Sendable () -> String?

        init(continuation: AsyncStream<String>.Continuation, room: DispatchSemaphore,
             whenFull: @escaping @Sendable () -> Void, read: @escaping @Sendable () -> String?) {
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
