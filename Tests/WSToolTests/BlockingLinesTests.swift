// SPDX-License-Identifier: Apache-2.0
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
            return "line \(n)"
        })
        var waits = fulls.makeAsyncIterator()
        // Four lines read, none taken: the reader waits.
        #expect(await waits.next() == 4)
        var it = lines.makeAsyncIterator()
        for n in 1...3 {
            #expect(await it.next() == "line \(n)")
            #expect(await waits.next() == 4 + n)
        }
        // The rest, to the end of the input.
        var rest: [String] = []
        while let line = await it.next() { rest.append(line) }
        #expect(rest == (4...100).map { "line \($0)" })
    }
}
