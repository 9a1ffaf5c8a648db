// SPDX-License-Identifier: Apache-2.0
import Testing
import WSPosixIO
import WSProtocol

@Suite struct PosixPlaceholderTests {
    @Test func bindingDrivesTheCore() { #expect(WSPosixIO.coreRole == .client) }
}
