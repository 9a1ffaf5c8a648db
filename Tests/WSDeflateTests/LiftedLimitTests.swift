// SPDX-License-Identifier: Apache-2.0
import Testing
@testable import WSDeflate
import WSProtocol

/// permessage-deflate with the message limit lifted (`.max`) or below zero: no overflow, the
/// exact bytes, and a clean 1009 where nothing is allowed.
@Suite("RFC 7692 with limits lifted to .max, or below zero")
struct DeflateLiftedLimitTests {
    static func configuration(message: Int, frame: Int = .max) -> Connection.Configuration {
        var config = Connection.Configuration()
        config.maxMessageSize = message
        config.maxFrameSize = frame
        return config
    }

    /// Both directions, with context takeover and without (the compressor is reset per message).
    static let parameterSets: [PerMessageDeflateParameters] = [
        .init(), .init(serverNoContextTakeover: true, clientNoContextTakeover: true),
    ]

    @Test("Messages pass exactly with maxMessageSize == .max", arguments: parameterSets)
    func maxLimitDeliversMessages(parameters: PerMessageDeflateParameters) throws {
        let text = String(repeating: "lifted limits ✓ ", count: 5000)
        let binary = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 7 >> 3) }
        var client = Connection(role: .client, configuration: Self.configuration(message: .max),
                                extensions: [PerMessageDeflate(parameters: parameters, role: .client)])
        var server = Connection(role: .server, configuration: Self.configuration(message: .max),
                                extensions: [PerMessageDeflate(parameters: parameters, role: .server)])
        for message in [Message.text(text), .binary(binary), .text(text)] {
            let wire = DeflatePair.written(try client.send(message, now: .zero))
            #expect(wire.count < 20_000, "compressed: \(wire.count) bytes")
            #expect(DeflatePair.events(server.receive(wire, now: .zero)) == [.message(message)])
            let back = DeflatePair.written(try server.send(message, now: .zero))
            #expect(DeflatePair.events(client.receive(back, now: .zero)) == [.message(message)])
        }
    }

    @Test("decode with limit .max inflates a whole 8 MiB bomb into the exact bytes")
    func decodeWithMaxLimit() throws {
        var sender = PerMessageDeflate(parameters: .init(), role: .server, options: .init(compressionLevel: 9))
        let plain = [UInt8](repeating: 0, count: 8 << 20)
        let payload = sender.encode(plain, kind: .binary).payload
        var receiver = PerMessageDeflate(parameters: .init(), role: .client)
        var output: [UInt8] = []
        let failure: ProtocolError? = payload.withUnsafeBytes { raw -> ProtocolError? in
            do throws(ProtocolError) {
                try receiver.decode(raw, reservedBits: 0x40, isFinal: true, into: &output, limit: .max); return nil
            } catch { return error }
        }
        #expect(failure == nil)
        #expect(output == plain)
    }

    @Test("A negative or zero message limit fails any compressed content with 1009",
          arguments: [Int.min, -1, 0])
    func negativeLimit(limit: Int) throws {
        var sender = PerMessageDeflate(parameters: .init(), role: .server)
        let payload = sender.encode(Array("x".utf8), kind: .text).payload
        var client = Connection(role: .client, configuration: Self.configuration(message: limit),
                                extensions: [PerMessageDeflate(parameters: .init(), role: .client)])
        let events = DeflatePair.events(client.receive(DecompressionLimitTests.frame(payload, first: 0xC1), now: .zero))
        #expect(events == [.closed(.protocolError(.messageTooLarge(limit: limit)))])

        var receiver = PerMessageDeflate(parameters: .init(), role: .client)
        var output: [UInt8] = []
        let failure: ProtocolError? = payload.withUnsafeBytes { raw -> ProtocolError? in
            do throws(ProtocolError) {
                try receiver.decode(raw, reservedBits: 0x40, isFinal: true, into: &output, limit: limit); return nil
            } catch { return error }
        }
        #expect(failure == .messageTooLarge(limit: limit))
        #expect(output == [])
    }
}
