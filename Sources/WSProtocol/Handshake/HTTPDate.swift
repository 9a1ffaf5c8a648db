// SPDX-License-Identifier: Apache-2.0

/// A second of UTC as an HTTP `Date` field writes it: IMF-fixdate,
/// `Sun, 06 Nov 1994 08:49:37 GMT` (RFC 9110 §5.6.7).
///
/// The core has no clock, so it never makes one of these itself. A driver that has a clock
/// makes one from the wall clock and passes it as `date:` to ``ServerHandshake``'s inputs, and
/// the responses they write carry it ("An origin server with a clock MUST generate a Date
/// header field in all 2xx, 3xx, and 4xx responses", RFC 9110 §6.6.1). Without it (the
/// default) they have no `Date`, as RFC 9110 §6.6.1 asks of a server without a clock.
///
/// The text is made once, when the value is, so a driver that keeps the value of the current
/// second pays nothing per response.
public struct HTTPDate: Hashable, Sendable, CustomStringConvertible {
    /// Seconds since 1970-01-01 00:00:00 UTC, leap seconds not counted (POSIX time), within
    /// the years IMF-fixdate can write (0001–9999).
    public let secondsSince1970: Int64
    /// The IMF-fixdate text, 29 characters, e.g. `Thu, 01 Jan 1970 00:00:00 GMT`.
    public let imfFixdate: String

    /// The earliest and latest second written: 0001-01-01 00:00:00 and 9999-12-31 23:59:59 UTC.
    public static let range: ClosedRange<Int64> = -62_135_596_800...253_402_300_799

    /// The date of the second `secondsSince1970` (POSIX time, as `clock_gettime(CLOCK_REALTIME)`
    /// gives it); a value outside ``range`` is clamped to it (IMF-fixdate has four year digits).
    public init(secondsSince1970: Int64) {
        let seconds = min(max(secondsSince1970, Self.range.lowerBound), Self.range.upperBound)
        self.secondsSince1970 = seconds
        imfFixdate = Self.format(seconds)
    }

    /// The IMF-fixdate text.
    public var description: String { imfFixdate }

    private static let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// `day-name "," SP date1 SP time-of-day SP GMT` (RFC 9110 §5.6.7), for a second in ``range``.
    private static func format(_ seconds: Int64) -> String {
        // Floor division: a second before 1970 belongs to the day that starts before it.
        var days = seconds / 86_400
        var secondOfDay = seconds % 86_400
        if secondOfDay < 0 { secondOfDay += 86_400; days -= 1 }
        let (year, month, day) = civil(daysSince1970: days)
        // 1970-01-01 was a Thursday (index 4).
        let weekday = Int(((days % 7) + 11) % 7)

        var out: [UInt8] = []
        out.reserveCapacity(29)
        out.append(contentsOf: weekdays[weekday].utf8)
        out.append(UInt8(ascii: ",")); out.append(UInt8(ascii: " "))
        appendDigits(day, count: 2, to: &out); out.append(UInt8(ascii: " "))
        out.append(contentsOf: months[month - 1].utf8); out.append(UInt8(ascii: " "))
        appendDigits(year, count: 4, to: &out); out.append(UInt8(ascii: " "))
        appendDigits(Int(secondOfDay / 3600), count: 2, to: &out); out.append(UInt8(ascii: ":"))
        appendDigits(Int(secondOfDay / 60 % 60), count: 2, to: &out); out.append(UInt8(ascii: ":"))
        appendDigits(Int(secondOfDay % 60), count: 2, to: &out)
        out.append(contentsOf: " GMT".utf8)
        return String(decoding: out, as: UTF8.self)
    }

    /// The proleptic Gregorian date of a day counted from 1970-01-01, for the days of ``range``.
    ///
    /// Counts from 0000-03-01 instead, in years that start on 1 March, so that a leap day is
    /// the last day of its year and each cycle's longer part comes last: 400 years are 146,097
    /// days, of which each of the first three centuries is 36,524; a century's four-year spans
    /// are 1,461 days (its last may be a day short); a span's first three years are 365. Dividing
    /// by each length in turn, capped where the last part is the longer one, gives the year
    /// and the day within it.
    static func civil(daysSince1970: Int64) -> (year: Int, month: Int, day: Int) {
        var day = Int(daysSince1970) + 719_468  // days from 0000-03-01 to 1970-01-01
        let cycles = day / 146_097
        day -= cycles * 146_097
        let centuries = min(day / 36_524, 3)
        day -= centuries * 36_524
        let spans = day / 1_461
        day -= spans * 1_461
        let years = min(day / 365, 3)
        day -= years * 365
        var year = cycles * 400 + centuries * 100 + spans * 4 + years
        // `day` is now 0...365 from 1 March; February, last, takes what is left.
        let monthLengths = [31, 30, 31, 30, 31, 31, 30, 31, 30, 31, 31]  // March ... January
        var index = 0
        while index < monthLengths.count && day >= monthLengths[index] {
            day -= monthLengths[index]
            index += 1
        }
        // Index 0 is March; 10 and 11 (January, February) belong to the next calendar year.
        let month = index < 10 ? index + 3 : index - 9
        if month <= 2 { year += 1 }
        return (year, month, day + 1)
    }

    private static func appendDigits(_ value: Int, count: Int, to out: inout [UInt8]) {
        var divisor = 1
        for _ in 1..<count { divisor *= 10 }
        var rest = value
        while divisor > 0 {
            out.append(UInt8(ascii: "0") + UInt8(rest / divisor))
            rest %= divisor
            divisor /= 10
        }
    }
}
