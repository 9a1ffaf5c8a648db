// SPDX-License-Identifier: Apache-2.0
import Testing
import WSProtocol

/// `sendHeader(for:kind:extensions:now:into:)`: the header of a frame whose payload the driver writes itself.
@Suite("RFC 6455 §5.2 Header-only sending of a large server frame")
struct SendHeaderTests {
    static func connection(_ role: Role = .server, _ configure: (inout Connection.Configuration) -> Void = { _ in }) -> Connection {
        var config = Connection.Configuration()
        configure(&config)
        return Connection(role: role, configuration: config, entropy: FixedKeyGenerator())
    }

    static func header(_ c: inout Connection, _ payload: [UInt8], _ kind: Message.Kind,
                       into out: inout [UInt8]) throws(UsageError) -> Bool {
        let result = payload.withUnsafeBytes { raw -> Result<Bool, UsageError> in
            do throws(UsageError) { return .success(try c.sendHeader(for: raw, kind: kind, now: .zero, into: &out)) } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    @Test func headerPlusPayloadIsTheWholeFrame() throws {
        for (size, kind) in [(125, Message.Kind.binary), (126, .binary), (0xFFFF, .text), (0x10000, .binary), (1 << 20, .text)] {
            var c = Self.connection()
            let payload = [UInt8](repeating: 0x61, count: size)
            var out: [UInt8] = [9]
            #expect(try Self.header(&c, payload, kind, into: &out))
            #expect(out == [9] + Array(FrameWriter.frame(opcode: kind == .text ? .text : .binary, payload: payload).dropLast(size)))
        }
    }

    @Test func exactHeaderBytes() throws {
        var c = Self.connection()
        var out: [UInt8] = []
        #expect(try Self.header(&c, [UInt8](repeating: 1, count: 16 << 10), .binary, into: &out))
        #expect(out == [0x82, 126, 0x40, 0x00])
        out = []
        #expect(try Self.header(&c, [UInt8](repeating: 0x62, count: 0x10000), .text, into: &out))
        #expect(out == [0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0])
    }

    @Test func declinesWhenTheMessageNeedsTheWholeEncoding() throws {
        let payload = [UInt8](repeating: 1, count: 100)
        var client = Self.connection(.client)
        var out: [UInt8] = []
        #expect(try !Self.header(&client, payload, .binary, into: &out))  // a client masks (RFC 6455 §5.3)
        var fragmenting = Self.connection { $0.fragmentSize = 64 }
        #expect(try !Self.header(&fragmenting, payload, .binary, into: &out))  // split into frames (§5.4)
        var fits = Self.connection { $0.fragmentSize = 100 }
        #expect(try Self.header(&fits, payload, .binary, into: &out))
        #expect(out == [0x82, 100])
    }

    @Test func throwsAfterCloseAndForInvalidText() throws {
        var c = Self.connection()
        var out: [UInt8] = []
        #expect(throws: UsageError.invalidUTF8) { try Self.header(&c, [0xFF, 0xFE], .text, into: &out) }
        #expect(out.isEmpty)
        _ = try c.close(now: .zero)
        #expect(!c.canSend)
        #expect(throws: UsageError.sendAfterClose) { try Self.header(&c, [1, 2, 3], .binary, into: &out) }
        #expect(out.isEmpty)
    }
}
