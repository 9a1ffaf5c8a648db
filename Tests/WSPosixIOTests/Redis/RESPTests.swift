// SPDX-License-Identifier: Apache-2.0
import Testing
@testable import WSPosixIO
import WSProtocol

/// Feeds `input` in pieces of `chunk` bytes and collects every value, or the error.
func respValues(_ input: [UInt8], chunk: Int, limits: RESPParser.Limits = .init()) -> Result<[RESPValue], RESPError> {
    var parser = RESPParser(limits: limits)
    var values: [RESPValue] = []
    var at = 0
    repeat {
        let piece = input[at..<min(at + chunk, input.count)]
        at += piece.count
        parser.append(piece)
        do throws(RESPError) {
            while let value = try parser.next() { values.append(value) }
        } catch {
            return .failure(error)
        }
    } while at < input.count
    return .success(values)
}

/// The same values (or error) whole and at every chunk size 1-16.
func respValuesAtEverySplit(_ text: String, limits: RESPParser.Limits = .init()) -> Result<[RESPValue], RESPError> {
    let input = Array(text.utf8)
    let whole = respValues(input, chunk: max(input.count, 1), limits: limits)
    for chunk in 1...16 { #expect(respValues(input, chunk: chunk, limits: limits) == whole, "chunk \(chunk)") }
    return whole
}

@Suite("RESP2 (the Redis serialization protocol)")
struct RESPTests {
    // The examples of the RESP specification (redis.io/docs/reference/protocol-spec).
    @Test("The specification's examples", arguments: [
        ("+OK\r\n", RESPValue.simpleString("OK")),
        ("-Error message\r\n", .error("Error message")),
        ("-ERR unknown command 'asdf'\r\n", .error("ERR unknown command 'asdf'")),
        ("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
         .error("WRONGTYPE Operation against a key holding the wrong kind of value")),
        (":0\r\n", .integer(0)),
        (":1000\r\n", .integer(1000)),
        (":-42\r\n", .integer(-42)),
        (":+7\r\n", .integer(7)),
        ("$5\r\nhello\r\n", .bulkString(Array("hello".utf8))),
        ("$0\r\n\r\n", .bulkString([])),
        ("$-1\r\n", .bulkString(nil)),
        ("*0\r\n", .array([])),
        ("*-1\r\n", .array(nil)),
        ("*2\r\n$5\r\nhello\r\n$5\r\nworld\r\n", .array([.bulkString(Array("hello".utf8)), .bulkString(Array("world".utf8))])),
        ("*3\r\n:1\r\n:2\r\n:3\r\n", .array([.integer(1), .integer(2), .integer(3)])),
        ("*5\r\n:1\r\n:2\r\n:3\r\n:4\r\n$5\r\nhello\r\n",
         .array([.integer(1), .integer(2), .integer(3), .integer(4), .bulkString(Array("hello".utf8))])),
        ("*2\r\n*3\r\n:1\r\n:2\r\n:3\r\n*2\r\n+Hello\r\n-World\r\n",
         .array([.array([.integer(1), .integer(2), .integer(3)]), .array([.simpleString("Hello"), .error("World")])])),
        ("*3\r\n$5\r\nhello\r\n$-1\r\n$5\r\nworld\r\n",
         .array([.bulkString(Array("hello".utf8)), .bulkString(nil), .bulkString(Array("world".utf8))])),
    ] as [(String, RESPValue)])
    func specificationExample(text: String, value: RESPValue) {
        #expect(respValuesAtEverySplit(text) == .success([value]))
    }

    @Test func binarySafeBulkAndPipelinedValues() {
        #expect(respValuesAtEverySplit("$4\r\n\r\n\r\n\r\n+PONG\r\n:1\r\n")
                == .success([.bulkString([13, 10, 13, 10]), .simpleString("PONG"), .integer(1)]))
    }

    @Test("Malformed input fails at every split", arguments: [
        ("!oops\r\n", RESPError.unknownType(0x21)),
        ("+OK\n", .malformedLine),
        ("+OK\rX", .malformedLine),
        (":12a\r\n", .invalidNumber),
        (":\r\n", .invalidNumber),
        (":99999999999999999999\r\n", .invalidNumber),
        (":9223372036854775808\r\n", .invalidNumber),
        ("$-2\r\n", .invalidNumber),
        ("$3\r\nabcd\r\n", .missingTerminator),
        ("*-5\r\n", .invalidNumber),
    ] as [(String, RESPError)])
    func malformed(text: String, error: RESPError) {
        #expect(respValuesAtEverySplit(text) == .failure(error))
    }

    @Test func limits() {
        let small = RESPParser.Limits(maxBulkLength: 4, maxArrayCount: 2, maxDepth: 2, maxLineLength: 8)
        #expect(respValuesAtEverySplit("$5\r\n", limits: small) == .failure(.bulkTooLong(5)))
        #expect(respValuesAtEverySplit("$4\r\nabcd\r\n", limits: small) == .success([.bulkString(Array("abcd".utf8))]))
        #expect(respValuesAtEverySplit("*3\r\n", limits: small) == .failure(.arrayTooLong(3)))
        #expect(respValuesAtEverySplit("*1\r\n*1\r\n*1\r\n:1\r\n", limits: small) == .failure(.tooDeep))
        #expect(respValuesAtEverySplit("*1\r\n*1\r\n*0\r\n", limits: small) == .success([.array([.array([.array([])])])]))
        #expect(respValuesAtEverySplit("+123456789", limits: small) == .failure(.malformedLine))
        #expect(respValuesAtEverySplit("+12345678\r\n", limits: small) == .success([.simpleString("12345678")]))
    }

    /// Each bulk string within its limit, but together over the value's: refused while still
    /// arriving, so the parser never buffers more than `maxValueLength` (plus one read).
    @Test func arrayOfLargeBulkStringsIsBoundedAsAWhole() {
        let limits = RESPParser.Limits(maxBulkLength: 8, maxArrayCount: 1024, maxValueLength: 40)
        let element = "$8\r\n01234567\r\n"  // 14 bytes
        #expect(respValuesAtEverySplit("*2\r\n" + element + element, limits: limits)
                == .success([.array(Array(repeating: .bulkString(Array("01234567".utf8)), count: 2))]))
        #expect(respValuesAtEverySplit("*3\r\n" + element + element + element, limits: limits) == .failure(.valueTooLong))
        // The default: a bulk string's limit plus 1 MiB. Without that bound, 1024 bulk strings
        // of 16 MiB each (16 GiB) would be buffered before the value is complete.
        var parser = RESPParser()
        #expect(parser.limits.maxValueLength == (16 << 20) + (1 << 20))
        parser.append(Array("*1024\r\n".utf8))
        let bulk = Array("$\(16 << 20)\r\n".utf8) + [UInt8](repeating: 0x61, count: 16 << 20) + [0x0D, 0x0A]
        var failure: RESPError?
        for _ in 0..<3 where failure == nil {
            parser.append(bulk)
            do throws(RESPError) { #expect(try parser.next() == nil) } catch { failure = error }
        }
        #expect(failure == .valueTooLong)
        #expect(parser.bufferedBytes == 0)
    }

    /// A value arriving in many reads is scanned on from where the last call stopped: each
    /// element is looked at about twice in all (scanned, then built), not again from the value's
    /// start at every read. (Parsed from its start at each call, an array of 1024 arrays of 1024
    /// integers streamed by a server held the event loop for seconds.)
    @Test func aValueArrivingInPiecesIsLookedAtOnce() throws {
        let inner = "*100\r\n" + String(repeating: ":1\r\n", count: 100)
        let input = Array(("*100\r\n" + String(repeating: inner, count: 100)).utf8)  // 10,101 elements
        var parser = RESPParser()
        var calls = 0
        var values: [RESPValue] = []
        for piece in stride(from: 0, to: input.count, by: 16) {
            parser.append(input[piece..<min(piece + 16, input.count)])
            calls += 1
            if let value = try parser.next() { values.append(value) }
        }
        let row = RESPValue.array(Array(repeating: .integer(1), count: 100))
        #expect(values == [.array(Array(repeating: row, count: 100))])
        #expect(parser.elementsExamined <= 2 * 10_101 + calls, "\(parser.elementsExamined) for \(calls) calls")
        #expect(parser.bufferedBytes == 0)
    }

    @Test func errorsAreSticky() {
        var parser = RESPParser()
        parser.append(Array("?".utf8))
        #expect(throws: RESPError.unknownType(0x3F)) { try parser.next() }
        parser.append(Array("+OK\r\n".utf8))
        #expect(throws: RESPError.unknownType(0x3F)) { try parser.next() }
    }

    @Test func commandsAreArraysOfBulkStrings() {
        #expect(RESPCommand.encode("PING") == Array("*1\r\n$4\r\nPING\r\n".utf8))
        #expect(RESPCommand.encode([Array("PUBLISH".utf8), Array("ws:chat".utf8), [0x74, 0x0D, 0x0A]])
                == Array("*3\r\n$7\r\nPUBLISH\r\n$7\r\nws:chat\r\n$3\r\nt\r\n\r\n".utf8))
    }
}

@Suite("Redis session (pub/sub machine)")
struct RedisSessionTests {
    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test func publisherAuthenticatesSelectsPingsThenPublishes() {
        var session = RedisSession(role: .publisher, configuration: .init(username: "app", password: "s3cret", database: 2))
        #expect(session.publish([1], to: Self.bytes("c"), now: .zero) == nil)
        #expect(session.start(now: .zero) == [.write(RESPCommand.encode("AUTH", "app", "s3cret") + RESPCommand.encode("SELECT", "2")
                                                      + RESPCommand.encode("PING"))])
        #expect(session.receive(Self.bytes("+OK\r\n+OK\r\n+PO"), now: .zero) == [])
        #expect(session.isReady == false)
        #expect(session.receive(Self.bytes("NG\r\n"), now: .zero) == [.ready])
        #expect(session.publish(Self.bytes("hi"), to: Self.bytes("ws:chat"), now: .seconds(1))
                == [.write(RESPCommand.encode("PUBLISH", "ws:chat", "hi"))])
        #expect(session.pendingReplies == 1)
        #expect(session.receive(Self.bytes(":2\r\n"), now: .seconds(1)) == [])
        #expect(session.pendingReplies == 0)
    }

    @Test func subscriberReportsMessagesOfItsChannel() {
        var session = RedisSession(role: .subscriber(channel: Self.bytes("ws:chat")))
        #expect(session.start(now: .zero) == [.write(RESPCommand.encode("SUBSCRIBE", "ws:chat"))])
        #expect(session.receive(Self.bytes("*3\r\n$9\r\nsubscribe\r\n$7\r\nws:chat\r\n:1\r\n"), now: .zero) == [.ready])
        let message = "*3\r\n$7\r\nmessage\r\n$7\r\nws:chat\r\n$6\r\nthello\r\n"
        #expect(session.receive(Self.bytes(message + message), now: .zero)
                == Array(repeating: .message(channel: Self.bytes("ws:chat"), payload: Self.bytes("thello")), count: 2))
    }

    @Test func keepalivePingAndReplyTimeout() {
        let configuration = RedisSession.Configuration(pingInterval: .seconds(5), replyTimeout: .seconds(2))
        var session = RedisSession(role: .subscriber(channel: Self.bytes("c")), configuration: configuration)
        _ = session.start(now: .zero)
        #expect(session.nextDeadline == .seconds(2))
        _ = session.receive(Self.bytes("*3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:1\r\n"), now: .seconds(1))
        #expect(session.nextDeadline == .seconds(6))
        #expect(session.handleTimeout(now: .seconds(5)) == [])
        #expect(session.handleTimeout(now: .seconds(6)) == [.write(RESPCommand.encode("PING"))])
        #expect(session.nextDeadline == .seconds(8))
        // A subscribed connection answers PING with a push (RESP2).
        #expect(session.receive(Self.bytes("*2\r\n$4\r\npong\r\n$0\r\n\r\n"), now: .seconds(7)) == [])
        #expect(session.nextDeadline == .seconds(12))
        #expect(session.handleTimeout(now: .seconds(12)) == [.write(RESPCommand.encode("PING"))])
        #expect(session.handleTimeout(now: .seconds(14)) == [.failed(.timeout)])
        #expect(session.nextDeadline == nil)
        #expect(session.receive(Self.bytes("+PONG\r\n"), now: .seconds(15)) == [])
    }

    @Test func failures() {
        var auth = RedisSession(role: .publisher, configuration: .init(password: "wrong"))
        _ = auth.start(now: .zero)
        #expect(auth.receive(Self.bytes("-WRONGPASS invalid username-password pair\r\n"), now: .zero)
                == [.failed(.authenticationFailed("WRONGPASS invalid username-password pair"))])
        var select = RedisSession(role: .publisher, configuration: .init(database: 99))
        _ = select.start(now: .zero)
        #expect(select.receive(Self.bytes("-ERR DB index is out of range\r\n"), now: .zero)
                == [.failed(.serverError("ERR DB index is out of range"))])
        var garbage = RedisSession(role: .publisher)
        _ = garbage.start(now: .zero)
        #expect(garbage.receive(Self.bytes("HTTP/1.1 400\r\n"), now: .zero) == [.failed(.protocolError(.unknownType(0x48)))])
        var unexpected = RedisSession(role: .publisher)
        _ = unexpected.start(now: .zero)
        #expect(unexpected.receive(Self.bytes(":1\r\n"), now: .zero) == [.failed(.unexpectedReply)])
        var wrongChannel = RedisSession(role: .subscriber(channel: Self.bytes("a")))
        _ = wrongChannel.start(now: .zero)
        #expect(wrongChannel.receive(Self.bytes("*3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:1\r\n"), now: .zero) == [.failed(.unexpectedReply)])
        var closed = RedisSession(role: .publisher)
        _ = closed.start(now: .zero)
        #expect(closed.receiveEndOfStream(now: .zero) == [.failed(.closed)])
    }
}

@Suite("Redis URLs and backoff")
struct RedisURLAndBackoffTests {
    @Test func urls() throws {
        #expect(try RedisURL("redis://127.0.0.1:6380/3") == RedisURL(host: "127.0.0.1", port: 6380, database: 3))
        #expect(try RedisURL("redis://localhost") == RedisURL(host: "localhost"))
        #expect(try RedisURL("redis://:pw@[::1]:7000/") == RedisURL(host: "::1", port: 7000, password: "pw"))
        #expect(try RedisURL("redis://user:p@ss@h:1") == RedisURL(host: "h", port: 1, username: "user", password: "p@ss"))
        #expect(try RedisURL("redis://:pw@[::1]:7000/1").description == "redis://[::1]:7000/1")
        for bad in ["http://h", "redis://", "redis://h:0", "redis://h:70000", "redis://h/x", "redis://h/-1", "redis://[::1", "redis://h:+1"] {
            #expect(throws: RedisURL.ParseError.self, "\(bad)") { try RedisURL(bad) }
        }
    }

    /// Yields a fixed value: 0 gives the full delay, UInt64.max nearly the jittered minimum.
    struct FixedGenerator: RandomNumberGenerator {
        var value: UInt64
        mutating func next() -> UInt64 { value }
    }

    @Test func exponentialWithCapAndJitter() {
        let backoff = Backoff(initial: .milliseconds(100), multiplier: 2, maximum: .seconds(1), jitter: 0.5)
        var none = FixedGenerator(value: 0)
        #expect((0..<6).map { backoff.delay(attempt: $0, using: &none) }
                == [.milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800), .seconds(1), .seconds(1)])
        #expect(backoff.delay(attempt: 1_000_000, using: &none) == .seconds(1))
        var most = FixedGenerator(value: .max)
        let shortest = backoff.delay(attempt: 3, using: &most)
        #expect(shortest >= .milliseconds(400) && shortest < .milliseconds(401))
        var half = FixedGenerator(value: 1 << 63)
        #expect(backoff.delay(attempt: 0, using: &half) == .milliseconds(75))
        let clamped = Backoff(initial: .seconds(1), multiplier: 0.5, maximum: .seconds(3), jitter: 7)
        #expect(clamped.multiplier == 1 && clamped.jitter == 1)
    }

    /// Extreme values give a delay, never a trap in the conversion to `Int64` nanoseconds: a cap
    /// of `Int64.max` nanoseconds (2⁶³ as a `Double`), `0 × ∞`, a NaN or infinite jitter.
    @Test func extremeValuesSaturateInsteadOfTrapping() {
        var none = FixedGenerator(value: 0)
        let forever = Duration.seconds(Int64.max)
        let huge = Backoff(initial: forever, maximum: forever, jitter: 0)
        #expect(huge.delay(attempt: 0, using: &none) == .nanoseconds(Int64.max))
        #expect(huge.delay(attempt: 5, using: &none) == .nanoseconds(Int64.max))
        let growing = Backoff(initial: .seconds(1), multiplier: 1e300, maximum: forever, jitter: 0)
        #expect(growing.delay(attempt: 3, using: &none) == .nanoseconds(Int64.max))
        let zeroTimesInfinity = Backoff(initial: .zero, multiplier: .infinity, maximum: .seconds(1), jitter: 0)
        #expect(zeroTimesInfinity.delay(attempt: 1, using: &none) == .zero)
        let notANumber = Backoff(initial: .seconds(1), maximum: .seconds(1), jitter: .nan)
        #expect(notANumber.jitter == 0)
        var half = FixedGenerator(value: 1 << 63)
        #expect(notANumber.delay(attempt: 0, using: &half) == .seconds(1))
        var infinite = Backoff(initial: .seconds(1), maximum: .seconds(1))
        infinite.jitter = .infinity
        #expect(infinite.delay(attempt: 0, using: &half) == .seconds(1))
    }
}
