// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization
import Testing
@testable import ws

@Suite("ws connect: standard input is read at most a few lines ahead of the sends")
struct BlockingLinesTests {
    /// A consumer that takes nothing (each send waiting on a server that does not read) holds
    /// the reading back after `readAhead` lines; each line taken lets one more be read. (The
    /// reader read on without bound: all of standard input went into memory.)
    @Test func theReaderWaitsForTheConsumer() async {
        let (fulls, full) = AsyncStream<Int>.makeStream()
        let reads = Mutex(0)
        let lines = BlockingLines.lines(readAhead: 4, whenFull: { full.yield(reads.withLock { $0 }) }, read: {
            let n = reads.withLock { n in n += 1; return n }
            guard n <= 100 else {
                full.finish()
                return nil
            }
            return Array("line \(n)".utf8)
        })
        var waits = fulls.makeAsyncIterator()
        // Four lines read, none taken: the reader waits.
        #expect(await waits.next() == 4)
        var it = lines.makeAsyncIterator()
        for n in 1...3 {
            #expect(await it.next() == Array("line \(n)".utf8))
            #expect(await waits.next() == 4 + n)
        }
        // The rest, to the end of the input.
        var rest: [[UInt8]] = []
        while let line = await it.next() { rest.append(line) }
        #expect(rest == (4...100).map { Array("line \($0)".utf8) })
    }

    /// Lines are bytes: `--binary` sends what standard input held, bytes that are not UTF-8
    /// included (read as a `String`, each became U+FFFD, EF BF BD); `\n` and `\r\n` end lines.
    @Test func linesKeepTheirBytes() throws {
        var input: [UInt8] = [0xFF, 0xFE, 0x41, 0x0D, 0x0A, 0x00, 0x42, 0x0A, 0x0A, 0x43]
        let lines = try input.withUnsafeMutableBytes { raw -> [[UInt8]] in
            let file = try #require(fmemopen(raw.baseAddress, raw.count, "r"))
            defer { fclose(file) }
            var lines: [[UInt8]] = []
            while let line = try BlockingLines.line(from: file) { lines.append(line) }
            return lines
        }
        #expect(lines == [[0xFF, 0xFE, 0x41], [0x00, 0x42], [], [0x43]])
    }

    /// A line may be `maxLength` bytes (its `\r\n` not counted); one byte more stops the
    /// reading with `LineTooLong`, having held no more than that. (The whole line was read into
    /// memory: `ws connect URL < /dev/zero` grew without bound.)
    @Test func aLineOverTheLimitStopsTheReading() throws {
        func read(_ text: String, maxLength: Int) throws -> Result<[[UInt8]], BlockingLines.LineTooLong> {
            var input = Array(text.utf8)
            return try input.withUnsafeMutableBytes { raw in
                let file = try #require(fmemopen(raw.baseAddress, raw.count, "r"))
                defer { fclose(file) }
                var lines: [[UInt8]] = []
                do throws(BlockingLines.LineTooLong) {
                    while let line = try BlockingLines.line(from: file, maxLength: maxLength) { lines.append(line) }
                } catch {
                    return .failure(error)
                }
                return .success(lines)
            }
        }
        #expect(try read("abcd\r\nefgh\nijkl", maxLength: 4) == .success([Array("abcd".utf8), Array("efgh".utf8), Array("ijkl".utf8)]))
        #expect(try read("abcd\nefghi\nj\n", maxLength: 4) == .failure(.init(limit: 4)))
        #expect(try read("abcd\r\rx\n", maxLength: 4) == .failure(.init(limit: 4)))
        #expect(try read("abcde", maxLength: 4) == .failure(.init(limit: 4)))
        #expect(BlockingLines.maxLineLength == 16 << 20)
    }

    /// The lines before the long one are all delivered; then the lines end and say why.
    @Test func theLinesEndAtALineOverTheLimit() async {
        let reads = Mutex(0)
        let lines = BlockingLines.lines(read: { () throws(BlockingLines.LineTooLong) -> [UInt8]? in
            let n = reads.withLock { n in n += 1; return n }
            if n == 3 { throw BlockingLines.LineTooLong(limit: 7) }
            return Array("line \(n)".utf8)
        })
        var taken: [[UInt8]] = []
        for await line in lines { taken.append(line) }
        #expect(taken == [Array("line 1".utf8), Array("line 2".utf8)])
        #expect(lines.lineTooLong == BlockingLines.LineTooLong(limit: 7))
        #expect(reads.withLock { $0 } == 3)
    }
}
