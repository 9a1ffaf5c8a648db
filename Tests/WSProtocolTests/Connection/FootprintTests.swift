// SPDX-License-Identifier: Apache-2.0
import Testing
import WSProtocol

@Suite("Footprint")
struct FootprintTests {
    /// An idle connection costs its inline state plus nothing on the heap but what the caller
    /// shares (configuration strings, extensions); the budget is 5 KiB per idle connection.
    @Test func inlineStateIsSmall() {
        #expect(MemoryLayout<Connection>.size <= 400, "\(MemoryLayout<Connection>.size) bytes")
    }
}
