// SPDX-License-Identifier: Apache-2.0

/// One readiness notification from ``Sys/pollerWait(_:into:scratch:timeoutMilliseconds:)``.
struct PollEvent {
    var fd: Int32
    var readable: Bool
    var writable: Bool
    /// Error or hang-up: the owner should read (to see EOF or the error) and close.
    var hangup: Bool
}
