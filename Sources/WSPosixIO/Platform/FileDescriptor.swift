// SPDX-License-Identifier: Apache-2.0

/// The sole owner of one file descriptor (a socket, the poller, the wakeup channel).
///
/// Non-copyable, so exactly one value owns the descriptor, and it is closed exactly once: when
/// the owner is destroyed (an owner closes early by setting its `FileDescriptor?` to `nil`).
struct FileDescriptor: ~Copyable {
    /// The descriptor number, for system calls. Never close it directly.
    let raw: Int32

    init(_ raw: Int32) { self.raw = raw }

    deinit { Sys.close(raw) }
}
