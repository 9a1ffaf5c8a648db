// SPDX-License-Identifier: Apache-2.0
@testable import WSPosixIO
import WSProtocol

/// A tiny pre-handshake stage for tests: the client sends `HELLO <host> <port>\n` and waits for
/// `OK\n`; the server reads that line, answers `OK\n` and reports the address as the client's
/// (the way a PROXY protocol header does). Bytes after a line are handed on as leftover.
struct LineStage: StreamStage {
    enum Side: Sendable {
        case client(claiming: SocketAddress)
        case server
    }
    var side: Side
    var deadline: Instant? = nil
    private var buffer: [UInt8] = []

    init(_ side: Side, deadline: Instant? = nil) {
        self.side = side
        self.deadline = deadline
    }

    mutating func start(now: Instant) -> [UInt8] {
        switch side {
        case .client(let address): return Array("HELLO \(address.host) \(address.port)\n".utf8)
        case .server: return []
        }
    }

    mutating func receive(_ bytes: UnsafeRawBufferPointer, now: Instant) -> StreamStageStep {
        buffer.append(contentsOf: bytes)
        guard let end = buffer.firstIndex(of: 0x0A) else {
            return buffer.count > 100 ? .failed(.invalidArgument("line too long")) : .needMoreData(write: [])
        }
        let line = String(decoding: buffer[..<end], as: UTF8.self)
        let rest = Array(buffer[(end + 1)...])
        switch side {
        case .client:
            return line == "OK" ? .done(write: [], leftover: rest, facts: .init()) : .failed(.invalidArgument(line))
        case .server:
            let parts = line.split(separator: " ")
            guard parts.count == 3, parts[0] == "HELLO", let port = UInt16(parts[2]),
                  let address = SocketAddress(numericHost: String(parts[1]), port: port) else {
                return .failed(.invalidArgument(line))
            }
            return .done(write: Array("OK\n".utf8), leftover: rest, facts: .init(source: address))
        }
    }

    mutating func receiveEndOfStream(now: Instant) -> StreamStageStep { .failed(.remoteHostClosed) }
    var nextDeadline: Instant? { deadline }
    mutating func handleTimeout(now: Instant) -> StreamStageStep { .failed(.invalidArgument("stage timed out")) }
}
