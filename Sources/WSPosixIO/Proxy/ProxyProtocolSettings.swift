// SPDX-License-Identifier: Apache-2.0
import WSProtocol

/// How a server accepts the PROXY protocol (HAProxy's `send-proxy` / `send-proxy-v2`): from
/// which direct peers, and within which limits. Set ``WebSocketServer/Configuration/proxyProtocol``
/// to turn it on.
///
/// A connection from a trusted source must start with a valid header (v1 or v2, told apart by
/// its first bytes); without one it is closed. A connection from any other source must not
/// send one: it is closed if it starts like a header (``ProxyHeaderError/untrustedSource``),
/// and otherwise served as usual with its socket address. The header counts against the
/// server's handshake timeout and comes before TLS. Once read, ``WebSocket/peer`` reports the header's source (the
/// real client) and ``WebSocket/directPeer`` the proxy.
public struct ProxyProtocolSettings: Hashable, Sendable {
    /// The direct peers that must send a header. Default: loopback (127.0.0.0/8, ::1), a
    /// balancer on the same machine.
    public var trustedSources: [IPAddressPrefix]
    /// Bounds on the header (the v2 length).
    public var limits: ProxyHeaderParser.Limits

    /// Settings that require a header from `trustedSources` (default loopback) within
    /// `limits` (default: v2 length at most 1024 bytes).
    public init(trustedSources: [IPAddressPrefix] = IPAddressPrefix.loopback, limits: ProxyHeaderParser.Limits = .init()) {
        self.trustedSources = trustedSources
        self.limits = limits
    }

    /// The stage for a connection from `peer`; `deadline`, if any, ends it (the server's driver
    /// bounds its stages by the handshake timeout either way).
    func stage(for peer: SocketAddress?, deadline: Instant?) -> ProxyProtocolStage {
        ProxyProtocolStage(mode: trustedSources.containsAddress(peer) ? .require(limits) : .refuse, deadline: deadline)
    }
}
