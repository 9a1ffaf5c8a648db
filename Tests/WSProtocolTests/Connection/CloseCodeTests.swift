// SPDX-License-Identifier: Apache-2.0
import Testing
import WSProtocol

@Suite("RFC 6455 §7.4 Status codes")
struct CloseCodeTests {
    @Test("Codes valid on the wire", arguments: [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999] as [UInt16])
    func validOnWire(code: UInt16) { #expect(CloseCode(code).isValidOnWire) }

    @Test("Codes never valid on the wire", arguments: [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535] as [UInt16])
    func invalidOnWire(code: UInt16) { #expect(!CloseCode(code).isValidOnWire) }
}
