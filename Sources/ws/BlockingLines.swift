// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The lines of standard input as an async sequence, read on a dedicated thread (a blocking
/// `readLine` must not hold up the concurrency pool).
enum BlockingLines {
    static func standardInput() -> AsyncStream<String> {
        let (stream, continuation) = AsyncStream<String>.makeStream(bufferingPolicy: .unbounded)
        let box = Box(continuation)
        var thread = pthread_t()
        let started = pthread_create(&thread, nil, { raw in
            let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
            while let line = readLine(strippingNewline: true) {
                box.continuation.yield(line)
            }
            box.continuation.finish()
            return nil
        }, Unmanaged.passRetained(box).toOpaque())
        if started == 0 { pthread_detach(thread) } else { continuation.finish() }
        return stream
    }

    private final class Box: @unchecked Sendable {
        let continuation: AsyncStream<String>.Continuation
        init(_ continuation: AsyncStream<String>.Continuation) { self.continuation = continuation }
    }
}
