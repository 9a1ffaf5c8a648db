// SPDX-License-Identifier: Apache-2.0

extension Connection {
    /// What the driver must do after an input, performed in the order given.
    public enum Output: Hashable, Sendable {
        /// Write these bytes to the transport (after everything written before).
        case write([UInt8])
        /// Hand this event to the application.
        case deliver(Event)
        /// Half-close: shut down the write side of the transport after pending writes.
        case shutdownWrite
        /// Close the transport after pending writes; the connection is finished.
        case closeTransport
    }
}
