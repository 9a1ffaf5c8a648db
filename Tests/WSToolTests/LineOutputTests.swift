// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import Synchronization
import Testing
@testable import ws

/// `ws serve`'s lines, written off the event loops: a pipe nobody reads never blocks the
/// printer; log lines beyond the limit are dropped and counted, the command's output waits.
@Suite("ws serve: lines written off the loops")
struct LineOutputTests {
    /// A pipe whose buffer is already full (its reader has not read): the next write blocks.
    /// Returns the descriptors and the bytes written to fill it.
    static func fullPipe() throws -> (read: Int32, write: Int32, filler: Int) {
        var fds: [Int32] = [0, 0]
        try #require(pipe(&fds) == 0)
        let flags = fcntl(fds[1], F_GETFL)
        _ = fcntl(fds[1], F_SETFL, flags | O_NONBLOCK)
        let chunk = [UInt8](repeating: UInt8(ascii: "."), count: 4096)
        var filler = 0
        while true {
            let n = chunk.withUnsafeBytes { write(fds[1], $0.baseAddress, $0.count) }
            if n <= 0 { break }
            filler += n
        }
        _ = fcntl(fds[1], F_SETFL, flags)  // blocking again, as standard error is
        return (fds[0], fds[1], filler)
    }

    /// Reads a descriptor to its end on a thread of its own.
    final class Drain: Sendable {
        private let result = Mutex<[UInt8]>([])
        private let done = DispatchSemaphore(value: 0)

        init(_ fd: Int32) {
            DispatchQueue.global().async { [self] in
                var all: [UInt8] = []
                var buffer = [UInt8](repeating: 0, count: 65536)
                while true {
                    let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                    if n <= 0 { break }
                    all += buffer[0..<n]
                }
                close(fd)
                self.result.withLock { $0 = all }
                self.done.signal()
            }
        }

        /// What was read, once the write end is closed.
        func bytes() -> [UInt8] {
            done.wait()
            return result.withLock { $0 }
        }
    }

    /// The pipe read from now on: what `output` wrote once it is flushed.
    static func written(_ output: LineOutput, readEnd: Int32, writeEnd: Int32, filler: Int,
                        before: () async -> Void = {}) async -> String {
        let drain = Drain(readEnd)
        await before()
        #expect(output.flush(timeout: .seconds(30)))
        close(writeEnd)
        let all = drain.bytes()
        #expect(all.prefix(filler).allSatisfy { $0 == UInt8(ascii: ".") })
        return String(decoding: all.dropFirst(filler), as: UTF8.self)
    }

    /// The writer is blocked on a full pipe: `print` returns at once every time; the lines that
    /// fit the limit go out in order once the pipe is read, the rest are counted in one line.
    @Test func logLinesBeyondTheLimitAreDroppedAndCounted() async throws {
        let (readEnd, writeEnd, filler) = try Self.fullPipe()
        let output = LineOutput(fd: writeEnd, name: "test", limit: 40)
        // 7 bytes each: 5 fit in 40 (a line the blocked writer holds still counts as waiting).
        for i in 1...10 { output.print("line \(i)\n") }
        let text = await Self.written(output, readEnd: readEnd, writeEnd: writeEnd, filler: filler)
        #expect(text == "line 1\nline 2\nline 3\nline 4\nline 5\nws: 5 line(s) dropped: the output was not read\n")
    }

    /// `printWaiting` suspends while the limit is reached (nothing dropped), and goes on, in
    /// order, once the reader reads.
    @Test func outputLinesWaitForRoom() async throws {
        let (readEnd, writeEnd, filler) = try Self.fullPipe()
        let output = LineOutput(fd: writeEnd, name: "test", limit: 14)
        output.print("line 1\n")
        output.print("line 2\n")  // 14 bytes wait: the limit
        let waiting = Task { await output.printWaiting("line 3\n") }
        for _ in 0..<100_000 where output.blockedPrinters == 0 { await Task.yield() }
        #expect(output.blockedPrinters == 1)
        let text = await Self.written(output, readEnd: readEnd, writeEnd: writeEnd, filler: filler,
                                      before: { await waiting.value })
        #expect(text == "line 1\nline 2\nline 3\n")
    }
}
