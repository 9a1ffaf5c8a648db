// SPDX-License-Identifier: Apache-2.0

/// Which end of the connection this machine plays (RFC 6455 §5.1: clients mask, servers don't).
public enum Role: Hashable, Sendable {
    /// The client: opens the handshake and masks every frame it sends (RFC 6455 §5.3).
    case client
    /// The server: answers the handshake, sends unmasked frames and requires masked ones.
    case server
}
