// SPDX-License-Identifier: Apache-2.0
import WSProtocol

/// An object registered with an ``EventLoop``: the owner of a descriptor, or something with a timer.
/// All methods are called on the loop's thread.
protocol LoopHandler: AnyObject {
    /// The descriptor became ready.
    func handleReadiness(_ event: PollEvent)
    /// The timer set with ``EventLoop/schedule(_:at:)`` fired (at or after its deadline).
    func handleTimer()
    /// Where the loop's timer heap holds this handler's timer: its index plus one, 0 for none
    /// (loop bookkeeping, ``TimerHeap``; loop thread only). Start at 0.
    var timerSlot: Int { get set }
}
