// SPDX-License-Identifier: Apache-2.0
public import WSProtocol
public import WSTLS

extension WebSocket {
    /// One opening handshake as the client saw it, for
    /// ``ClientConfiguration/onHandshake``: one per attempt that sent its request, so a
    /// followed redirect gives one for each hop.
    public struct HandshakeTrace: Sendable {
        /// The request head as sent (its `Sec-WebSocket-Key` included).
        public var request: HTTPRequestHead
        /// The response head as received: the 101, or the refusal (a redirect, 403, ...).
        /// `nil` when none was read: a timeout, a closed connection, a head that is not HTTP or
        /// breaks RFC 6455 §4.1.
        public var response: HTTPResponseHead?
        /// Over TLS (`wss://`): what the TLS handshake agreed on and the server's certificate.
        public var tls: TLSSessionInfo?
    }
}
