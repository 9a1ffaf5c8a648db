// SPDX-License-Identifier: Apache-2.0

/// Reads back what a server put in its `Date` fields, independently of the code that wrote
/// them: a strict IMF-fixdate parser (RFC 9110 §5.6.7) counting days by whole years and
/// months from 0001-01-01, and helpers over a response's head.
public enum IMFFixdate {
    static let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// The POSIX time of an IMF-fixdate such as `Sun, 06 Nov 1994 08:49:37 GMT`, or `nil` when
    /// the text is not exactly one (wrong shape, a field out of range, a day past the month's
    /// end, or a day name that is not the date's).
    public static func secondsSince1970(_ text: String) -> Int64? {
        let b = Array(text.utf8)
        guard b.count == 29, b[3] == UInt8(ascii: ","), b[4] == UInt8(ascii: " "), b[7] == UInt8(ascii: " "),
              b[11] == UInt8(ascii: " "), b[16] == UInt8(ascii: " "), b[19] == UInt8(ascii: ":"),
              b[22] == UInt8(ascii: ":"), String(decoding: b[25...], as: UTF8.self) == " GMT",
              let weekday = weekdays.firstIndex(of: String(decoding: b[0..<3], as: UTF8.self)),
              let monthIndex = months.firstIndex(of: String(decoding: b[8..<11], as: UTF8.self)),
              let day = number(b[5..<7]), let year = number(b[12..<16]), let hour = number(b[17..<19]),
              let minute = number(b[20..<22]), let second = number(b[23..<25]),
              year >= 1, hour < 24, minute < 60, second < 60
        else { return nil }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        var lengths = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        if leap { lengths[1] = 29 }
        guard (1...lengths[monthIndex]).contains(day) else { return nil }
        let daysSince0001 = daysBeforeYear(year) + lengths[..<monthIndex].reduce(0, +) + day - 1
        // 0001-01-01 was a Monday.
        guard (daysSince0001 + 1) % 7 == weekday else { return nil }
        let days = daysSince0001 - daysBeforeYear(1970)
        return Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + second)
    }

    /// The values of every `Date` field in the head of `response` (any case of the name).
    public static func dateFields(in response: [UInt8]) -> [String] {
        headLines(response).compactMap { line in
            guard line.lowercased().hasPrefix("date:") else { return nil }
            return String(line.dropFirst(5)).trimmingSpaces
        }
    }

    /// `response` with the `Date` fields of its head removed, the rest byte for byte.
    public static func removingDateFields(_ response: [UInt8]) -> [UInt8] {
        let text = String(decoding: response, as: UTF8.self)
        guard let end = text.firstRange(of: "\r\n\r\n") else { return response }
        let lines = text[..<end.lowerBound].split(separator: "\r\n" as Character, omittingEmptySubsequences: false)
        let kept = lines.filter { !$0.lowercased().hasPrefix("date:") }
        return Array((kept.joined(separator: "\r\n") + text[end.lowerBound...]).utf8)
    }

    static func headLines(_ response: [UInt8]) -> [String] {
        let text = String(decoding: response, as: UTF8.self)
        let head = text.firstRange(of: "\r\n\r\n").map { text[..<$0.lowerBound] } ?? text[...]
        return head.split(separator: "\r\n" as Character, omittingEmptySubsequences: false).dropFirst().map(String.init)
    }

    static func daysBeforeYear(_ year: Int) -> Int {
        let y = year - 1
        return y * 365 + y / 4 - y / 100 + y / 400
    }

    static func number(_ digits: ArraySlice<UInt8>) -> Int? {
        var value = 0
        for d in digits {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(d) else { return nil }
            value = value * 10 + Int(d - UInt8(ascii: "0"))
        }
        return value
    }
}

extension String {
    fileprivate var trimmingSpaces: String {
        String(drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
    }
}
