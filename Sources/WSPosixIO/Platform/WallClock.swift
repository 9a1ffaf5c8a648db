// SPDX-License-Identifier: Apache-2.0
package import WSProtocol
import Synchronization

/// The wall clock, read for one thing: the `Date` field of the HTTP responses a server writes
/// ("An origin server with a clock MUST generate a Date header field in all 2xx, 3xx, and 4xx
/// responses", RFC 9110 §6.6.1). Timeouts never use it (`MonotonicClock` does).
///
/// The server dates every response it writes, the 101 and 5xx included: the RFC allows a
/// `Date` there ("MAY generate a Date header field in 1xx and 5xx responses"), nginx and
/// Python websockets send one on their 101s, it tells a client how far its clock is off, and
/// one rule for all statuses leaves no response to forget. A `Date` the application set is
/// kept and no second one added.
package enum WallClock {
    /// The date of the current second, formatted once per second for the whole process: a
    /// response costs a coarse clock read and an uncontended lock, not a formatting.
    package static func httpDate() -> HTTPDate {
        let seconds = Sys.realtimeSeconds()
        return cache.withLock { cached in
            if let cached, cached.secondsSince1970 == seconds { return cached }
            let date = HTTPDate(secondsSince1970: seconds)
            cached = date
            return date
        }
    }

    private static let cache = Lock<HTTPDate?>(nil)
}
