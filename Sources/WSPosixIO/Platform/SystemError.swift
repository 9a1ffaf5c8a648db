// SPDX-License-Identifier: Apache-2.0

/// A failed system call: the `errno` it left and the name of the operation.
///
/// Produced only by the module's system-call layer (Platform/Sys*.swift); the rest of the module maps it to a
/// ``WebSocketError`` for the application.
public struct SystemError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The `errno` value.
    public var errno: Int32
    /// The call that failed, e.g. `connect`.
    public var operation: String

    /// The failure of `operation` with `errno`.
    public init(errno: Int32, operation: String) {
        self.errno = errno
        self.operation = operation
    }

    /// One line: the operation, the system's message and the number, e.g.
    /// `connect: Connection refused (errno 111)`.
    public var description: String { "\(operation): \(Sys.errorDescription(errno)) (errno \(errno))" }
}
