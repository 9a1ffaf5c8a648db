// SPDX-License-Identifier: Apache-2.0
public import WSProtocol

/// Namespace placeholder until the binding lands.
public enum WSPosixIO {
    /// The core version this binding drives.
    public static let coreRole: Role = .client
}
