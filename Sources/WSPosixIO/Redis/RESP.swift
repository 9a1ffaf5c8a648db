// SPDX-License-Identifier: Apache-2.0

/// A value of the Redis serialization protocol, version 2 (RESP2): what a Redis server sends.
public enum RESPValue: Hashable, Sendable {
    /// `+OK\r\n`
    case simpleString(String)
    /// `-ERR unknown command\r\n`
    case error(String)
    /// `:1000\r\n`
    case integer(Int64)
    /// `$5\r\nhello\r\n`; `nil` for the null bulk string `$-1\r\n`.
    case bulkString([UInt8]?)
    /// `*2\r\n...`; `nil` for the null array `*-1\r\n`.
    case array([RESPValue]?)

    /// The bytes of a bulk string, or the UTF-8 of a simple string.
    public var bytes: [UInt8]? {
        switch self {
        case .bulkString(let b): return b
        case .simpleString(let s): return Array(s.utf8)
        case .error, .integer, .array: return nil
        }
    }
}

/// Why RESP input was refused (the connection is then unusable: RESP has no resynchronisation).
public enum RESPError: Error, Hashable, Sendable {
    /// A type byte other than `+ - : $ *`.
    case unknownType(UInt8)
    /// A line without its CRLF within ``RESPParser/Limits/maxLineLength``, or a CR not followed by LF.
    case malformedLine
    /// An integer or length that is not a decimal number in range.
    case invalidNumber
    /// A bulk string over ``RESPParser/Limits/maxBulkLength``.
    case bulkTooLong(Int)
    /// An array over ``RESPParser/Limits/maxArrayCount`` elements.
    case arrayTooLong(Int)
    /// Arrays nested deeper than ``RESPParser/Limits/maxDepth``.
    case tooDeep
    /// A value over ``RESPParser/Limits/maxValueLength`` bytes, its nested values included
    /// (an array of many large bulk strings), complete or still arriving.
    case valueTooLong
    /// A bulk string whose payload is not followed by CRLF.
    case missingTerminator
}

/// Parses RESP2 values from a byte stream, incrementally and within limits: bytes in with
/// ``append(_:)``, complete values out with ``next()``. Any split of the input gives the same
/// values. An error is sticky.
public struct RESPParser: Sendable {
    /// Bounds on what a server may send.
    public struct Limits: Hashable, Sendable {
        /// The longest bulk string. Default 16 MiB.
        public var maxBulkLength: Int
        /// The most elements in one array. Default 1024.
        public var maxArrayCount: Int
        /// The deepest nesting of arrays. Default 8.
        public var maxDepth: Int
        /// The longest simple string, error or number line. Default 64 KiB.
        public var maxLineLength: Int
        /// The most bytes one value may take on the wire, nested values included: what the
        /// parser buffers while a value is incomplete. Default ``maxBulkLength`` plus 1 MiB
        /// (one largest bulk string with room for what is around it, as in a pub/sub message).
        public var maxValueLength: Int

        /// Limits with each value as given; defaults 16 MiB, 1024 elements, depth 8, 64 KiB,
        /// and values of at most `maxBulkLength` + 1 MiB.
        public init(maxBulkLength: Int = 16 << 20, maxArrayCount: Int = 1024, maxDepth: Int = 8, maxLineLength: Int = 64 << 10,
                    maxValueLength: Int? = nil) {
            self.maxBulkLength = maxBulkLength; self.maxArrayCount = maxArrayCount
            self.maxDepth = maxDepth; self.maxLineLength = maxLineLength
            let (sum, overflow) = maxBulkLength.addingReportingOverflow(1 << 20)
            self.maxValueLength = maxValueLength ?? (overflow ? .max : sum)
        }
    }

    /// The bounds this parser enforces; a value beyond them is a sticky ``RESPError``.
    public let limits: Limits
    private var buffer: [UInt8] = []
    private var start = 0
    private var failure: RESPError?
    /// How far the value at `start` has been scanned (bytes past `start`, at an element's
    /// first byte) and how many elements each array it is inside still awaits, innermost last:
    /// each call goes on from there, so a value arriving in many reads is looked at once, not
    /// again from its start at every read (quadratic: a server streaming a large nested array
    /// held the event loop for seconds).
    private var scanOffset = 0
    private var openArrays: [Int] = []
    /// Elements looked at so far (scanned or built), for tests.
    private(set) var elementsExamined = 0

    /// An empty parser with `limits` (default: 16 MiB bulk strings, 1024 elements, depth 8,
    /// 64 KiB lines).
    public init(limits: Limits = .init()) { self.limits = limits }

    /// Bytes not yet consumed by a complete value.
    public var bufferedBytes: Int { buffer.count - start }

    /// Adds bytes read from the connection.
    public mutating func append(_ bytes: some Collection<UInt8>) {
        if start > 0 && start >= buffer.count / 2 {
            buffer.removeFirst(start)
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// The next complete value, or `nil` when more bytes are needed.
    /// - Throws: ``RESPError`` for input that is not RESP2 within the limits (and on every later call).
    public mutating func next() throws(RESPError) -> RESPValue? {
        if let failure { throw failure }
        var at = start
        do throws(RESPError) {
            // An incomplete value is buffered: bounded by maxValueLength, as a complete one is.
            guard let end = try scan() else {
                if buffer.count - start > limits.maxValueLength { throw .valueTooLong }
                return nil
            }
            if end - start > limits.maxValueLength { throw .valueTooLong }
            // Complete and checked by the scan: built in one pass.
            guard let value = try value(at: &at, depth: 0), at == end else { throw .malformedLine }
            start = at
            scanOffset = 0
            return value
        } catch {
            failure = error
            buffer = []
            start = 0
            scanOffset = 0
            openArrays = []
            throw error
        }
    }

    /// Goes on scanning the value at `start` (its framing and limits, building nothing) over
    /// the bytes buffered; its end once complete, `nil` when more bytes are needed.
    private mutating func scan() throws(RESPError) -> Int? {
        var at = start + scanOffset
        defer { scanOffset = at - start }
        while at < buffer.count {
            elementsExamined += 1
            let type = buffer[at]
            switch type {
            case 0x2B, 0x2D, 0x3A, 0x24, 0x2A: break
            default: throw .unknownType(type)
            }
            var after = at + 1
            guard let text = try line(at: &after) else { return nil }
            switch type {
            case 0x3A:
                _ = try Self.number(text)
            case 0x24:
                let n = try Self.number(text)
                if n != -1 {
                    guard n >= 0 else { throw .invalidNumber }
                    guard n <= limits.maxBulkLength else { throw .bulkTooLong(Int(clamping: n)) }
                    let length = Int(n)
                    guard buffer.count - after >= length + 2 else { return nil }
                    guard buffer[after + length] == 0x0D, buffer[after + length + 1] == 0x0A else { throw .missingTerminator }
                    after += length + 2
                }
            case 0x2A:
                let n = try Self.number(text)
                if n != -1 {
                    guard n >= 0 else { throw .invalidNumber }
                    guard n <= limits.maxArrayCount else { throw .arrayTooLong(Int(clamping: n)) }
                    guard openArrays.count < limits.maxDepth || n == 0 else { throw .tooDeep }
                    if n > 0 {
                        openArrays.append(Int(n))
                        at = after
                        continue
                    }
                }
            default:
                break
            }
            at = after
            // An element is complete: so is each array it was the last element of.
            while let last = openArrays.last {
                if last > 1 { openArrays[openArrays.count - 1] = last - 1; break }
                openArrays.removeLast()
            }
            if openArrays.isEmpty { return at }
        }
        return nil
    }

    private func line(at index: inout Int) throws(RESPError) -> ArraySlice<UInt8>? {
        var i = index
        let end = min(buffer.count, index + limits.maxLineLength + 1)
        while i < end {
            if buffer[i] == 0x0D {
                guard i + 1 < buffer.count else { return nil }
                guard buffer[i + 1] == 0x0A else { throw .malformedLine }
                let text = buffer[index..<i]
                index = i + 2
                return text
            }
            if buffer[i] == 0x0A { throw .malformedLine }
            i += 1
        }
        if end - index > limits.maxLineLength { throw .malformedLine }  // no CR where one must be
        return nil
    }

    private static func number(_ text: ArraySlice<UInt8>) throws(RESPError) -> Int64 {
        var digits = text
        var negative = false
        if let first = digits.first, first == 0x2D || first == 0x2B {
            negative = first == 0x2D
            digits = digits.dropFirst()
        }
        guard !digits.isEmpty, digits.count <= 19, digits.allSatisfy({ (0x30...0x39).contains($0) }) else { throw .invalidNumber }
        var value: Int64 = 0
        for d in digits {
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(Int64(d - 0x30))
            guard !o1, !o2 else { throw .invalidNumber }
            value = a
        }
        return negative ? -value : value
    }

    private mutating func value(at index: inout Int, depth: Int) throws(RESPError) -> RESPValue? {
        guard index < buffer.count else { return nil }
        elementsExamined += 1
        let type = buffer[index]
        var at = index + 1
        switch type {
        case 0x2B, 0x2D, 0x3A, 0x24, 0x2A: break
        default: throw .unknownType(type)
        }
        guard let text = try line(at: &at) else { return nil }
        switch type {
        case 0x2B:
            index = at
            return .simpleString(String(decoding: text, as: UTF8.self))
        case 0x2D:
            index = at
            return .error(String(decoding: text, as: UTF8.self))
        case 0x3A:
            let n = try Self.number(text)
            index = at
            return .integer(n)
        case 0x24:
            let n = try Self.number(text)
            if n == -1 { index = at; return .bulkString(nil) }
            guard n >= 0 else { throw .invalidNumber }
            guard n <= limits.maxBulkLength else { throw .bulkTooLong(Int(clamping: n)) }
            let length = Int(n)
            guard buffer.count - at >= length + 2 else { return nil }
            guard buffer[at + length] == 0x0D, buffer[at + length + 1] == 0x0A else { throw .missingTerminator }
            index = at + length + 2
            return .bulkString(Array(buffer[at..<at + length]))
        default:  // array
            let n = try Self.number(text)
            if n == -1 { index = at; return .array(nil) }
            guard n >= 0 else { throw .invalidNumber }
            guard n <= limits.maxArrayCount else { throw .arrayTooLong(Int(clamping: n)) }
            guard depth < limits.maxDepth || n == 0 else { throw .tooDeep }
            var elements: [RESPValue] = []
            elements.reserveCapacity(Int(n))
            for _ in 0..<n {
                guard let element = try value(at: &at, depth: depth + 1) else { return nil }
                elements.append(element)
            }
            index = at
            return .array(elements)
        }
    }
}

/// Writes Redis commands: an array of bulk strings, as clients send them.
public enum RESPCommand {
    /// `*N\r\n$len\r\narg\r\n...`
    public static func encode(_ arguments: [[UInt8]]) -> [UInt8] {
        var out = Array("*\(arguments.count)\r\n".utf8)
        for argument in arguments {
            out += Array("$\(argument.count)\r\n".utf8)
            out += argument
            out += [0x0D, 0x0A]
        }
        return out
    }

    /// The same, from strings (UTF-8).
    public static func encode(_ arguments: String...) -> [UInt8] { encode(arguments.map { Array($0.utf8) }) }
}
