// SPDX-License-Identifier: Apache-2.0
import Synchronization
public import WSTLS

extension WebSocket {
    /// What the TLS handshake agreed on (version, cipher, ALPN) and the peer's certificate
    /// (subject, issuer, SHA-256 fingerprint, validity); `nil` for a plain connection or a
    /// custom transport. A client keeps it after the connection closes.
    public var tls: TLSSessionInfo? {
        channel.state.withLock { st in st.lifecycle.inspectTransport { ($0 as? TLSTransport)?.session } ?? st.tlsSession }
    }
}
