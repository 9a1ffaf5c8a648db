// SPDX-License-Identifier: Apache-2.0

/// An HTTP version as in `HTTP/1.1` (RFC 9112 §2.3).
public struct HTTPVersion: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The major version (the `1` of `HTTP/1.1`).
    public var major: Int
    /// The minor version (the second `1` of `HTTP/1.1`).
    public var minor: Int

    /// Creates a version `HTTP/major.minor`.
    public init(major: Int, minor: Int) { self.major = major; self.minor = minor }

    /// HTTP/1.0.
    public static let http1_0 = HTTPVersion(major: 1, minor: 0)
    /// HTTP/1.1, the version the opening handshake requires at least (RFC 6455 §4.1).
    public static let http1_1 = HTTPVersion(major: 1, minor: 1)

    /// Orders by major, then minor version: HTTP/1.0 < HTTP/1.1 < HTTP/2.0.
    public static func < (a: HTTPVersion, b: HTTPVersion) -> Bool {
        (a.major, a.minor) < (b.major, b.minor)
    }

    /// The version as in a request or status line, e.g. `"HTTP/1.1"`.
    public var description: String { "HTTP/\(major).\(minor)" }
}
