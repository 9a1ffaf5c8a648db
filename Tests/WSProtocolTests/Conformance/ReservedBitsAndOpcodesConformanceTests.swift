// SPDX-License-Identifier: Apache-2.0
import Testing
import WSProtocol

private typealias F = TestFrameEncoder

/// Autobahn|Testsuite sections 3 (reserved bits) and 4 (opcodes): with no extension negotiated,
/// any RSV bit or reserved opcode fails the connection with 1002 (RFC 6455 §5.2), after the
/// valid messages before it are delivered.
@Suite("Autobahn 3–4 Reserved bits and opcodes (RFC 6455 §5.2)")
struct ReservedBitsAndOpcodesConformanceTests {
    /// Every combination of RSV1–3.
    static let rsvCombinations: [UInt8] = [0x40, 0x20, 0x10, 0x60, 0x50, 0x30, 0x70]

    @Test("3.1–3.7: an RSV bit on a text, binary, ping or close frame fails with 1002, after the valid message before it",
          arguments: rsvCombinations)
    func reservedBits(rsv: UInt8) {
        let before = F.client(F.text, Array("Hello".utf8))
        let valid = Expect.messages([.text("Hello")])
        for opcode in [F.text, F.binary, F.ping, F.close] {
            let payload = opcode == F.close ? F.closePayload(1000) : Array("Hello".utf8)
            let bad = F.client(opcode, payload, rsv: rsv)
            // Whatever follows the bad frame is never read.
            let after = F.client(F.ping, Array("never answered".utf8))
            Conformance.check(.server, frames: [before, bad, after],
                              expected: Expect.failure(.reservedBitsSet(rsv), role: .server, after: valid))
        }
    }

    @Test("An RSV bit on a continuation frame fails with 1002, even if the first frame had none")
    func reservedBitsOnContinuation() {
        let frames = [F.client(F.text, Array("Hel".utf8), fin: false), F.client(F.continuation, Array("lo".utf8), rsv: 0x40)]
        Conformance.check(.server, frames: frames, expected: Expect.failure(.reservedBitsSet(0x40), role: .server))
    }

    @Test("3.x in the client role: RSV bits from a server fail with 1002", arguments: rsvCombinations)
    func reservedBitsToClient(rsv: UInt8) {
        Conformance.check(.client, frames: [F.server(F.text, Array("Hello".utf8)), F.server(F.binary, [1], rsv: rsv)],
                          deliveries: [.whole, .perFrame, .octets],
                          expected: Expect.failure(.reservedBitsSet(rsv), role: .client, after: Expect.messages([.text("Hello")])))
    }

    @Test("4.1.1–4.1.5: reserved data opcodes 3–7 fail with 1002, after the valid message before them",
          arguments: [0x3, 0x4, 0x5, 0x6, 0x7] as [UInt8])
    func reservedDataOpcodes(opcode: UInt8) {
        let frames = [F.client(F.text, Array("Hello".utf8)), F.client(opcode, Array("reserved".utf8)), F.client(F.ping, [])]
        Conformance.check(.server, frames: frames,
                          expected: Expect.failure(.reservedOpcode(opcode), role: .server, after: Expect.messages([.text("Hello")])))
    }

    @Test("4.2.1–4.2.5: reserved control opcodes B–F fail with 1002, with or without payload",
          arguments: [0xB, 0xC, 0xD, 0xE, 0xF] as [UInt8])
    func reservedControlOpcodes(opcode: UInt8) {
        for payload in [[], Array("reserved".utf8)] as [[UInt8]] {
            Conformance.check(.server, frames: [F.client(opcode, payload)],
                              expected: Expect.failure(.reservedOpcode(opcode), role: .server))
            Conformance.check(.client, frames: [F.server(opcode, payload)],
                              expected: Expect.failure(.reservedOpcode(opcode), role: .client))
        }
    }

    @Test("Nothing after the failure is read: bytes fed later produce no output")
    func nothingAfterFailure() {
        var testee = Testee(.server)
        testee.receive([F.client(0x3, [])], .whole)
        let failed = testee.outcome
        testee.receive([F.client(F.text, Array("late".utf8)), F.client(F.ping, [])], .whole)
        testee.receiveEndOfStream()
        #expect(failed == Expect.failure(.reservedOpcode(3), role: .server))
        #expect(testee.outcome == failed)
    }
}
