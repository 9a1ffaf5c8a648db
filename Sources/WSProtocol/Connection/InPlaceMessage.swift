// SPDX-License-Identifier: Apache-2.0

/// A data message left where it arrived: in the buffer given to
/// ``Connection/receive(inPlace:now:into:messages:maxInPlace:)``, unmasked there, its text already checked
/// as UTF-8. Nothing was allocated or copied for it; the bytes are the caller's to read until it
/// reuses the buffer.
public struct InPlaceMessage: Hashable, Sendable {
    /// Text or binary.
    public var kind: Message.Kind
    /// Where the payload lies in the buffer given to the call.
    public var range: Range<Int>
    /// The message comes before `outputs[outputIndex]`, an index into the caller's `outputs`
    /// array as the call left it (after every output before that index; the array's count when
    /// it comes after them all). Outputs and in-place messages together keep the order in which
    /// the frames arrived.
    public var outputIndex: Int

    /// A message of `kind` at `range`, delivered before output `outputIndex`.
    public init(kind: Message.Kind, range: Range<Int>, outputIndex: Int) {
        self.kind = kind
        self.range = range
        self.outputIndex = outputIndex
    }
}
