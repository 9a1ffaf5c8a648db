// SPDX-License-Identifier: Apache-2.0
import Testing
@testable import WSPosixIO
import WSProtocol

@Suite("Per-connection footprint", .timeLimit(.minutes(1)))
struct FootprintTests {
    /// The inline state of a connection stays small (goal: ≤ 5 KiB resident per idle connection,
    /// including the kernel-independent heap objects: channel, state, core, small buffers).
    @Test func channelStateIsSmall() {
        let state = MemoryLayout<ChannelState>.size
        let event = MemoryLayout<WebSocketEvent>.size
        #expect(state <= 1024, "ChannelState is \(state) bytes")  // 1000 today; the client handshake and the setup are boxed
        #expect(event <= 32, "WebSocketEvent is \(event) bytes")
    }
}
