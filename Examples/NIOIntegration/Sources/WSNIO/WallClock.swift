// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization
import WSProtocol

/// The wall clock, read for one thing: the `Date` field of the HTTP responses a server writes
/// ("An origin server with a clock MUST generate a Date header field in all 2xx, 3xx, and 4xx
/// responses", RFC 9110 §6.6.1). Timeouts never use it: they run on the event loop's
/// monotonic `now`. (``ServerSettings/date`` is where a server takes it from; tests pass a
/// fixed date there.)
public enum WallClock {
    /// The date of the current second (`CLOCK_REALTIME`), formatted once per second for the
    /// whole process: a response costs a clock read and an uncontended lock, not a formatting.
    @Sendable public static func httpDate() -> HTTPDate {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let seconds = Int64(now.tv_sec)
        return cache.withLock { cached in
            if let cached, cached.secondsSince1970 == seconds { return cached }
            let date = HTTPDate(secondsSince1970: seconds)
            cached = date
            return date
        }
    }

    private static let cache = Mutex<HTTPDate?>(nil)
}
