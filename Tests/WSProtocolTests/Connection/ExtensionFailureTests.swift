// SPDX-License-Identifier: Apache-2.0
import Testing
import WSProtocol

/// An extension that fails to decode anything (a corrupt deflate stream, say).
struct FailingExtension: MessageExtension {
    var name: String { "x-fail" }
    var reservedBits: UInt8 { 0x20 }
    mutating func encode(_ payload: [UInt8], kind: Message.Kind) -> (payload: [UInt8], reservedBits: UInt8) { (payload, 0) }
    mutating func decode(_ payload: UnsafeRawBufferPointer, reservedBits: UInt8, isFinal: Bool,
                         into output: inout [UInt8], limit: Int) throws(ProtocolError) {
        throw .extensionFailure("corrupt")
    }
}

@Suite("Extensions: failures and inputs")
struct ExtensionFailureTests {
    @Test func aDecodeFailureFailsTheConnectionWith1002() {
        var server = Connection(role: .server, extensions: [FailingExtension()])
        let input = Wire.client(.binary, [1]) + Wire.client(.binary, [2], rsv: 0x20)
        #expect(server.receive(input, now: .zero)
                == Wire.failure(.extensionFailure("corrupt"), role: .server, before: [.message(.binary([1]))]))
    }

    @Test func anExtensionThatSetsNoBitsSendsPlainFrames() throws {
        var server = Connection(role: .server, extensions: [FailingExtension()])
        #expect(try server.send(.binary([1]), now: .zero) == [.write(Wire.server(.binary, [1]))])
    }

    @Test func nonContiguousInputIsAccepted() {
        var server = Connection(role: .server)
        let frame = Wire.client(.text, Array("lazy".utf8))
        #expect(server.receive(frame.lazy.map { $0 }, now: .zero) == [.deliver(.message(.text("lazy")))])
    }

    @Test func aCopyIsASnapshot() {
        var original = Connection(role: .server)
        let frame = Wire.client(.binary, [UInt8](repeating: 5, count: 300))
        _ = original.receive(frame.prefix(100), now: .zero)
        var copy = original
        #expect(original.receive(frame.dropFirst(100), now: .zero) == [.deliver(.message(.binary([UInt8](repeating: 5, count: 300))))])
        #expect(copy.receive(frame.dropFirst(100), now: .zero) == [.deliver(.message(.binary([UInt8](repeating: 5, count: 300))))])
    }
}
