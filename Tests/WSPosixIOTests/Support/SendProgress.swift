// SPDX-License-Identifier: Apache-2.0
import Synchronization
@testable import WSPosixIO

/// What a sending server task reports: messages sent, and the most `bufferedAmount` it saw.
typealias SendProgress = Lock<(sent: Int, maxBuffered: Int)>

extension SendProgress {
    /// Waits (at most 100 polls of `interval`) until the server's sends stop moving while the
    /// client `ws` has paused reading, and returns the progress seen then.
    func waitUntilStalled(_ ws: WebSocket, polling interval: Duration) async throws -> (sent: Int, maxBuffered: Int) {
        var stalled = withLock { $0 }
        for _ in 0..<100 {
            try await Task.sleep(for: interval)
            let now = withLock { $0 }
            if now.sent == stalled.sent && ws.isReadingPaused { break }
            stalled = now
        }
        return stalled
    }
}
