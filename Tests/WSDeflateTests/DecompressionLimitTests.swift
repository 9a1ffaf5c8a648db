// SPDX-License-Identifier: Apache-2.0
import Testing
@testable import WSDeflate
import WSProtocol

/// Inflating is bounded by the connection's limit (zip bombs), and corrupt data fails the
/// connection (RFC 7692 §8).
@Suite("RFC 7692 §8 Decompression limits and corrupt data")
struct DecompressionLimitTests {
    /// 100 MiB of zeros, compressed once (about 100 KB).
    static let bomb: [UInt8] = {
        var ext = PerMessageDeflate(parameters: .init(), role: .server, options: .init(compressionLevel: 9))
        return ext.encode([UInt8](repeating: 0, count: 100 << 20), kind: .binary).payload
    }()

    /// An unmasked server frame: FIN, RSV1 (unless `rsv` says otherwise), binary.
    static func frame(_ payload: [UInt8], first: UInt8 = 0xC2) -> [UInt8] {
        var header: [UInt8] = [first]
        if payload.count < 126 {
            header.append(UInt8(payload.count))
        } else if payload.count <= 0xFFFF {
            header += [126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        } else {
            header.append(127)
            for shift in stride(from: 56, through: 0, by: -8) { header.append(UInt8((payload.count >> shift) & 0xFF)) }
        }
        return header + payload
    }

    @Test func zipBombFailsWith1009AfterAtMostTheLimit() throws {
        #expect(Self.bomb.count < 200_000)
        var config = Connection.Configuration()
        config.maxMessageSize = 1 << 20
        let ext = PerMessageDeflate(parameters: .init(), role: .client)
        var client = Connection(role: .client, configuration: config, extensions: [ext])
        let events = DeflatePair.events(client.receive(Self.frame(Self.bomb), now: .zero))
        #expect(events == [.closed(.protocolError(.messageTooLarge(limit: 1 << 20)))])
        #expect(DeflatePair.closeCode(events) == .messageTooBig)
        // One byte past the limit is all it took to know.
        #expect(ext.decompressor.totalInflated == (1 << 20) + 1)
    }

    @Test func decodeNeverAppendsMoreThanTheLimit() throws {
        var ext = PerMessageDeflate(parameters: .init(), role: .client)
        var output: [UInt8] = [1, 2, 3]  // earlier frames' bytes stay
        let limit = 100_000
        let failure: ProtocolError? = Self.bomb.withUnsafeBytes { raw -> ProtocolError? in
            do throws(ProtocolError) { try ext.decode(raw, reservedBits: 0x40, isFinal: true, into: &output, limit: limit); return nil }
            catch { return error }
        }
        #expect(failure == .messageTooLarge(limit: limit))
        #expect(output.count == 3 + limit)
        #expect(ext.decompressor.totalInflated == limit + 1)
    }

    @Test func exactlyTheLimitIsAccepted() throws {
        var sender = PerMessageDeflate(parameters: .init(), role: .server)
        let payload = sender.encode([UInt8](repeating: 7, count: 65_536 * 3), kind: .binary).payload
        var config = Connection.Configuration()
        config.maxMessageSize = 65_536 * 3
        var client = Connection(role: .client, configuration: config,
                                extensions: [PerMessageDeflate(parameters: .init(), role: .client)])
        let events = DeflatePair.events(client.receive(Self.frame(payload), now: .zero))
        #expect(events == [.message(.binary([UInt8](repeating: 7, count: 65_536 * 3)))])
    }

    @Test func limitCountsAcrossFrames() throws {
        // Three frames of one message, each inflating to 400 bytes, against a 1000-byte limit:
        // the first two pass, the third crosses the limit (the decoded size counts, RFC 7692 §8).
        var sender = PerMessageDeflate(parameters: .init(serverNoContextTakeover: true), role: .server)
        let piece = [UInt8](repeating: 0x41, count: 400)
        let whole = sender.encode(piece + piece + piece, kind: .binary).payload
        var config = Connection.Configuration()
        config.maxMessageSize = 1000
        for limit in [1000, 1200] {
            config.maxMessageSize = limit
            var client = Connection(role: .client, configuration: config,
                                    extensions: [PerMessageDeflate(parameters: .init(), role: .client)])
            // Split the compressed bytes over three frames: RSV1 on the first only.
            let cut1 = whole.count / 3, cut2 = 2 * whole.count / 3
            let frames = Self.frame(Array(whole[..<cut1]), first: 0x42) + Self.frame(Array(whole[cut1..<cut2]), first: 0x00)
                + Self.frame(Array(whole[cut2...]), first: 0x80)
            let events = DeflatePair.events(client.receive(frames, now: .zero))
            if limit == 1000 {
                #expect(events == [.closed(.protocolError(.messageTooLarge(limit: 1000)))])
            } else {
                #expect(events == [.message(.binary(piece + piece + piece))])
            }
        }
    }

    @Test func everySplitPointGivesTheSameMessages() {
        // RFC 7692 §7.2.3.1's two fragments, then §7.2.3.2's second "Hello", fed in every chunk size.
        let wire: [UInt8] = [0x41, 0x03, 0xF2, 0x48, 0xCD, 0x80, 0x04, 0xC9, 0xC9, 0x07, 0x00,
                             0xC1, 0x05, 0xF2, 0x00, 0x11, 0x00, 0x00]
        for size in 1...wire.count {
            var client = Connection(role: .client, extensions: [PerMessageDeflate(parameters: .init(), role: .client)])
            var events: [Event] = []
            var start = 0
            while start < wire.count {
                let end = min(start + size, wire.count)
                events += DeflatePair.events(client.receive(wire[start..<end], now: .zero))
                start = end
            }
            #expect(events == [.message(.text("Hello")), .message(.text("Hello"))], "chunk size \(size)")
        }
    }

    @Test("Corrupt data fails the connection with 1002", arguments: [
        [0xFF, 0xFF, 0xFF],                    // BTYPE 11 is reserved
        [0x00, 0x05, 0x00, 0x00, 0x00, 0x41],  // stored block: LEN and NLEN disagree
        [0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00, 0xFF, 0xFF, 0xFF],
    ] as [[UInt8]])
    func corruptDataFails(payload: [UInt8]) throws {
        var client = Connection(role: .client, extensions: [PerMessageDeflate(parameters: .init(), role: .client)])
        let outputs = client.receive(Self.frame(payload), now: .zero)
        let events = DeflatePair.events(outputs)
        #expect(events.count == 1)
        guard case .closed(.protocolError(.extensionFailure(let detail))) = events.first else {
            Issue.record("expected an extension failure, got \(events)"); return
        }
        #expect(detail.hasPrefix("permessage-deflate: "))
        #expect(DeflatePair.closeCode(events) == .protocolError)
    }

    @Test func corruptTextFailsWith1007AfterInflating() throws {
        // Valid deflate data whose content is not UTF-8: the core checks the inflated text (RFC 6455 §8.1).
        var sender = PerMessageDeflate(parameters: .init(), role: .server)
        let payload = sender.encode([0xC3, 0x28], kind: .text).payload
        var client = Connection(role: .client, extensions: [PerMessageDeflate(parameters: .init(), role: .client)])
        let events = DeflatePair.events(client.receive(Self.frame(payload, first: 0xC1), now: .zero))
        #expect(events == [.closed(.protocolError(.invalidUTF8))])
    }

    @Test func rsv2IsStillRejected() throws {
        var client = Connection(role: .client, extensions: [PerMessageDeflate(parameters: .init(), role: .client)])
        let events = DeflatePair.events(client.receive(Self.frame([0x00], first: 0xA2), now: .zero))
        #expect(events == [.closed(.protocolError(.reservedBitsSet(0x20)))])
    }
}
