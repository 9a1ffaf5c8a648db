// SPDX-License-Identifier: Apache-2.0
import WSProtocol

/// A connection made by a handshake, fed bytes and end of stream under the OutputChecker.
public struct CheckedConnection {
    public var connection: Connection
    var checker: OutputChecker
    public private(set) var transcript = ConnectionScript.Transcript()

    public init(_ connection: Connection) {
        self.connection = connection
        checker = OutputChecker(role: connection.role, configuration: connection.configuration)
    }

    public mutating func receive(_ bytes: [UInt8], now: Instant = .zero) {
        let op = ConnectionScript.Operation.receive(bytes)
        record(connection.receive(bytes, now: now), op)
    }

    public mutating func endOfStream(now: Instant = .zero) {
        record(connection.receiveEndOfStream(now: now), .endOfStream)
    }

    private mutating func record(_ outputs: [Connection.Output], _ op: ConnectionScript.Operation) {
        checker.observe(outputs, after: op)
        checker.checkQueries(connection)
        transcript.append(outputs)
    }

    /// Final checks on everything written.
    public func finish() { checker.finish(written: transcript.written) }
}

/// Parses a whole HTTP response head (for checking what a handshake wrote).
public func parseResponseHead(_ bytes: [UInt8]) -> (head: HTTPResponseHead, body: [UInt8])? {
    var parser = HTTPHeadParser(kind: .response, limits: .init(maxHeadSize: 1 << 20, maxHeaderCount: 1000))
    guard let result = try? parser.parse(bytes), case .response(let head) = result.head else { return nil }
    return (head, result.leftover)
}
