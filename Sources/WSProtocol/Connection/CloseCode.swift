// SPDX-License-Identifier: Apache-2.0

/// A close status code (RFC 6455 §7.4). Any `UInt16` is representable, so 3000–4999 and codes
/// unknown today are ordinary values; ``isValidOnWire`` says whether it may appear in a close frame.
public struct CloseCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The code as sent in the first two bytes of a close frame's body (network byte order on
    /// the wire).
    public var rawValue: UInt16
    /// The code `rawValue`; every value is accepted (see ``isValidOnWire``).
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    /// The code `rawValue`, unlabelled: `CloseCode(4000)`. Every value is accepted.
    public init(_ rawValue: UInt16) { self.rawValue = rawValue }

    /// 1000: the purpose for which the connection was established has been fulfilled.
    public static let normalClosure = CloseCode(1000)
    /// 1001: the endpoint is going away (server shutdown, page navigation).
    public static let goingAway = CloseCode(1001)
    /// 1002: the endpoint is terminating the connection due to a protocol error.
    public static let protocolError = CloseCode(1002)
    /// 1003: the endpoint received a type of data it cannot accept.
    public static let unsupportedData = CloseCode(1003)
    /// 1005: reported locally when a close frame carried no status code. Never sent.
    public static let noStatusReceived = CloseCode(1005)
    /// 1006: reported locally when the connection closed without a close frame. Never sent.
    public static let abnormalClosure = CloseCode(1006)
    /// 1007: data within a message was not consistent with its type (for example, text that is not UTF-8).
    public static let invalidFramePayloadData = CloseCode(1007)
    /// 1008: a message violated the endpoint's policy.
    public static let policyViolation = CloseCode(1008)
    /// 1009: a message was too big to process.
    public static let messageTooBig = CloseCode(1009)
    /// 1010: the client expected the server to negotiate an extension that it did not.
    public static let mandatoryExtension = CloseCode(1010)
    /// 1011: the server met an unexpected condition.
    public static let internalError = CloseCode(1011)
    /// 1012: the service is restarting (IANA registry).
    public static let serviceRestart = CloseCode(1012)
    /// 1013: try again later (IANA registry).
    public static let tryAgainLater = CloseCode(1013)
    /// 1014: a gateway or proxy received an invalid response from upstream (IANA registry).
    public static let badGateway = CloseCode(1014)
    /// 1015: reported locally when the TLS handshake failed. Never sent.
    public static let tlsHandshakeFailure = CloseCode(1015)

    /// Whether this code may be sent or received in a close frame: 1000–1003, 1007–1014 and
    /// 3000–4999 (RFC 6455 §7.4.1–§7.4.2 and the IANA registry). 1005, 1006 and 1015 are
    /// reported locally only.
    public var isValidOnWire: Bool {
        switch rawValue {
        case 1000...1003, 1007...1014, 3000...4999: return true
        default: return false
        }
    }

    /// The code in decimal, e.g. `"1000"`.
    public var description: String { String(rawValue) }
}
