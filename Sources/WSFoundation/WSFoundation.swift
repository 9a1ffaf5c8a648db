// SPDX-License-Identifier: Apache-2.0
#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif
public import WSPosixIO
public import WSProtocol

extension WebSocket {
    /// Connects to a `ws://` or `wss://` URL (TLS over the system OpenSSL, as for a `String`).
    ///
    /// The URL's scheme, host (IPv6 literals in brackets), port, path and query are used; a
    /// URL with user info or a fragment is refused (RFC 6455 §3).
    /// - Throws: `WebSocketError.invalidArgument` for a URL that is not a
    ///   WebSocket URL, and every error of WSPosixIO's `connect(to:configuration:)` for a `String`.
    public static func connect(to url: URL, configuration: ClientConfiguration = .init()) async throws(WebSocketError) -> WebSocket {
        try await connect(to: url.absoluteString, configuration: configuration)
    }

    /// Sends `data` as one message of `kind` (binary unless given); waits while the outbound
    /// buffer is over its high-water mark.
    /// - Throws: `WebSocketError.usage` for text that is not UTF-8 or a send
    ///   after close, `WebSocketError.closed`.
    nonisolated(nonsending) public func send(_ data: Data, as kind: Message.Kind = .binary) async throws(WebSocketError) {
        guard let message = Message(data, as: kind) else { throw .usage(.invalidUTF8) }
        try await send(message)
    }

    /// Queues `data` as one message of `kind` without waiting (see
    /// `WebSocket.enqueue(_:compress:)`).
    /// - Throws: `WebSocketError.usage` for text that is not UTF-8 or a send
    ///   after close, `WebSocketError.closed`.
    public func enqueue(_ data: Data, as kind: Message.Kind = .binary) throws(WebSocketError) {
        guard let message = Message(data, as: kind) else { throw .usage(.invalidUTF8) }
        try enqueue(message)
    }
}

extension Message {
    /// A message of `kind` whose payload is `data`; `nil` for text that is not valid UTF-8
    /// (RFC 6455 §5.6: a text message is UTF-8).
    public init?(_ data: Data, as kind: Message.Kind = .binary) {
        switch kind {
        case .binary:
            self = .binary([UInt8](data))
        case .text:
            guard let text = String(validating: data, as: UTF8.self) else { return nil }
            self = .text(text)
        }
    }

    /// The payload as `Data` (a text message's UTF-8 bytes).
    public var data: Data {
        switch self {
        case .binary(let bytes): return Data(bytes)
        case .text(let text): return Data(text.utf8)
        }
    }
}

extension WebSocketEvent {
    /// The payload of a text or binary message as `Data`, `nil` for other events.
    public var data: Data? { message?.data }
}

extension Duration {
    /// The duration of `interval` seconds (a Foundation `TimeInterval`), to nanosecond
    /// precision; negative intervals give negative durations.
    public init(timeInterval interval: TimeInterval) {
        self = .nanoseconds(Int64((interval * 1e9).rounded()))
    }

    /// The duration in seconds, as a Foundation `TimeInterval`.
    public var timeInterval: TimeInterval {
        let (seconds, attoseconds) = components
        return TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18
    }

    /// The time from `now` until `date`, or zero when `date` has passed: a timeout for a
    /// configuration field (which takes a `Duration`) from a deadline given as a `Date`.
    public static func until(_ date: Date, from now: Date = Date()) -> Duration {
        Duration(timeInterval: max(0, date.timeIntervalSince(now)))
    }
}

extension Connection.Configuration.Keepalive {
    /// A keepalive ping after `interval` seconds of silence, answered within `timeout` seconds.
    public init(interval: TimeInterval, timeout: TimeInterval) {
        self.init(interval: Duration(timeInterval: interval), timeout: Duration(timeInterval: timeout))
    }
}
