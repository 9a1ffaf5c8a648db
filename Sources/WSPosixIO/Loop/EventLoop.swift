// SPDX-License-Identifier: Apache-2.0
import Synchronization
import WSProtocol

/// One event-loop thread: a poller (epoll/kqueue), a timer heap fed by the core's
/// `Connection.nextDeadline`, a wakeup channel for work submitted from other threads, and the
/// buffers every connection on this loop shares (the 256 KiB read buffer, the outputs array).
///
/// Connections are confined to one loop; there is no thread per connection.
///
/// A loop is also a `TaskExecutor`: tasks started with `Task(executorPreference: loop)` run on
/// the loop thread, next to their connection's I/O, so an event reaches its handler and the
/// reply reaches the socket without any thread switch. The server runs its handlers this way.
/// Such tasks must not block (a blocked handler stalls every connection of its loop).
public final class EventLoop: TaskExecutor, @unchecked Sendable {
    // Thread-safe state.
    private let poller: FileDescriptor
    private let wakerRead: FileDescriptor
    private let wakerWrite: FileDescriptor?
    private let wakerWriteRaw: Int32
    #if !canImport(Darwin)
    /// The timerfd the loop waits on for its earliest timer (Linux), and the instant it is
    /// armed for (loop thread only; `nil`: not armed). It is re-armed only for an earlier
    /// deadline: a deadline that moves later (keepalive, at every message) costs nothing, and
    /// the early expiry finds nothing due and arms for the next.
    private let timerFD: FileDescriptor
    @exclusivity(unchecked) private var armedDeadline: Instant?
    /// The timer descriptor fired in this round: the timers due run after it.
    @exclusivity(unchecked) private var timerFired = false
    #endif
    private let threadID = Atomic<UInt>(0)
    private struct Jobs {
        var queue: [@Sendable () -> Void] = []
        var tasks: [UnownedJob] = []
        var wakePending = false
    }
    private let jobs = Lock(Jobs())

    // Loop-confined state (touched only on the loop thread, never across a call that could
    // reenter the same property): exclusivity is not checked at run time, a thread-local
    // access set per access that showed in the per-message profile.
    @exclusivity(unchecked) private var handlers: [(any LoopHandler)?] = []
    /// The handlers that are channels, not retained: a readiness event for a connection is
    /// dispatched through this one, without a retain and a release of the channel per event
    /// (`handlers` owns it). A handler deregistered while a batch is dispatched (perhaps by its
    /// own call) stays alive in ``retiredInBatch`` until the batch ends.
    @exclusivity(unchecked) private var channels: [Unmanaged<Channel>?] = []
    @exclusivity(unchecked) private var retiredInBatch: [any LoopHandler] = []
    @exclusivity(unchecked) private var timers = TimerHeap()
    /// The read buffer shared by every connection on this loop (loop thread only).
    let readBuffer: UnsafeMutableRawBufferPointer
    /// A reusable outputs array for the core's `receive(_:now:into:)` (loop thread only).
    @exclusivity(unchecked) var outputs: [Connection.Output] = []
    /// The messages of the last in-place read, lying in ``readBuffer`` (loop thread only; read
    /// by the message handler before this loop reads again). Bounded by one read: at most one
    /// entry per 6 bytes (the smallest masked frame) of ``readBufferSize``, about 1.4 MB at
    /// worst; its capacity is kept, as `outputs`' is.
    @exclusivity(unchecked) var inPlace: [InPlaceMessage] = []
    /// The channel that lent messages of ``inPlace`` to its async consumer and may still hold
    /// some: spilled (copied into its events) before the loop reads again (loop thread only;
    /// `Channel+InPlace.swift`).
    @exclusivity(unchecked) var inPlaceOwner: Channel?
    /// The array whose bytes a consumer on this loop (`next(message:)` or the message handler)
    /// is borrowing right now (a large binary message in its own array): a send of exactly those bytes on
    /// this loop writes the array by reference instead of copying it (`Channel+InPlace.swift`).
    @exclusivity(unchecked) var lentArray: [UInt8]?
    /// The wakeups of the channel whose readiness is being handled (`Channel.handleReadiness`),
    /// emptied right after each use (loop thread only).
    @exclusivity(unchecked) var readinessWakeups = ChannelWakeups()
    /// A second record for the task side's calls on this thread (a send, a park in
    /// `next(message:)`: ``withSpareWakeups(onLoop:_:)``), and whether one of them is using it.
    @exclusivity(unchecked) private var spareWakeups = ChannelWakeups()
    @exclusivity(unchecked) private var spareWakeupsInUse = false
    /// The time read after the last poll (loop thread only): the coarse clock after a wait
    /// (``MonotonicClock/coarse(notBefore:)``; read once per round, which on a connection of
    /// its own is once per message), the precise one for timers and jobs from other threads.
    @exclusivity(unchecked) private(set) var now: Instant
    /// Task jobs enqueued from the loop thread itself (no wakeup needed), and the batch running.
    /// (Loop thread only, like the buffers above: unchecked, as a dynamic exclusivity check per
    /// access cost a thread-local lookup on every task a loop ran.)
    @exclusivity(unchecked) private var localTasks: [UnownedJob] = []
    @exclusivity(unchecked) private var runningTasks: [UnownedJob] = []
    /// The jobs and tasks other threads queued, taken in one swap with ``jobs``' arrays (loop
    /// thread only): copied out instead, each array's storage was shared when it was emptied,
    /// so emptying it allocated a new one: a malloc per wakeup from another thread (a Redis
    /// publish per chat message).
    @exclusivity(unchecked) private var runningJobs: [@Sendable () -> Void] = []
    @exclusivity(unchecked) private var runningRemoteTasks: [UnownedJob] = []
    /// The task job running on the loop thread, as an address (0 between jobs): the current
    /// task's identity on this thread without asking the runtime (``Channel/currentTask``).
    @exclusivity(unchecked) private(set) var runningJob: UInt = 0
    /// Descriptors deregistered while the current batch of readiness events is dispatched: any
    /// later event for them in the batch is stale, even if the number was reused meanwhile.
    @exclusivity(unchecked) private var staleInBatch: [Int32] = []
    @exclusivity(unchecked) private var dispatching = false
    /// The readiness events of the batch being dispatched (loop thread only): 1 when the loop
    /// serves one connection at a time, and latency counts more than system calls.
    @exclusivity(unchecked) private(set) var batchSize = 0

    /// Size of the shared read buffer: large enough that a 64 KiB message with its header arrives
    /// in one read, so its payload is unmasked in one pass straight from the buffer (measured:
    /// with 64 KiB every such frame took two reads and a two-pass unmask).
    static let readBufferSize = 256 * 1024

    /// Creates the loop's descriptors (poller, wakeup channel) and starts its thread. Throws
    /// when the system refuses a descriptor (e.g. `.outOfResources` at `RLIMIT_NOFILE`); what
    /// was created by then is closed again.
    init() throws(SystemError) {
        poller = FileDescriptor(try Sys.pollerCreate())
        let w = try Sys.wakerCreate()
        wakerRead = FileDescriptor(w.read)
        wakerWrite = w.read == w.write ? nil : FileDescriptor(w.write)
        wakerWriteRaw = w.write
        try Sys.pollerSet(poller.raw, fd: w.read, read: true, write: false, isNew: true)
        #if !canImport(Darwin)
        timerFD = FileDescriptor(try Sys.timerCreate())
        try Sys.pollerSet(poller.raw, fd: timerFD.raw, read: true, write: false, isNew: true)
        #endif
        readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.readBufferSize, alignment: 4096)
        outputs.reserveCapacity(64)
        now = MonotonicClock.now()
        Sys.spawnThread { [self] in run() }
    }

    /// Whether the caller runs on this loop's thread.
    public var inEventLoop: Bool { threadID.load(ordering: .acquiring) == Sys.currentThread() }

    /// Runs `job` on the loop thread, soon (after the current iteration's events).
    public func execute(_ job: @escaping @Sendable () -> Void) {
        let mustWake = jobs.withLock { j -> Bool in
            j.queue.append(job)
            if j.wakePending { return false }
            j.wakePending = true
            return true
        }
        if mustWake { Sys.wakerSignal(wakerWriteRaw) }
    }

    /// Runs a task's job on the loop thread (`TaskExecutor`).
    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        if inEventLoop {
            localTasks.append(job)
            return
        }
        let mustWake = jobs.withLock { j -> Bool in
            j.tasks.append(job)
            if j.wakePending { return false }
            j.wakePending = true
            return true
        }
        if mustWake { Sys.wakerSignal(wakerWriteRaw) }
    }

    // MARK: registration (loop thread, except setInterest)

    /// Registers `handler` as the owner of `fd` with the given interest.
    func register(_ handler: any LoopHandler, fd: Int32, read: Bool, write: Bool) throws(SystemError) {
        let i = Int(fd)
        if i >= handlers.count {
            let more = i + 1 - handlers.count + 64
            handlers.append(contentsOf: repeatElement(nil, count: more))
            channels.append(contentsOf: repeatElement(nil, count: more))
        }
        try Sys.pollerSet(poller.raw, fd: fd, read: read, write: write, isNew: true)
        handlers[i] = handler
        channels[i] = (handler as? Channel).map { Unmanaged.passUnretained($0) }
    }

    /// How many descriptors are registered (loop thread only): how a test sees that a
    /// connection left nothing behind.
    var registeredCount: Int { handlers.count { $0 != nil } }

    /// Changes the interest of a registered descriptor. Safe from any thread (epoll_ctl is), as
    /// long as the caller holds the lock that guards the descriptor's lifetime.
    func setInterest(fd: Int32, read: Bool, write: Bool) {
        try? Sys.pollerSet(poller.raw, fd: fd, read: read, write: write, isNew: false)
    }

    /// Removes `fd` from the poller; call before closing it.
    func deregister(fd: Int32) {
        Sys.pollerRemove(poller.raw, fd: fd)
        if Int(fd) < handlers.count {
            if dispatching, let handler = handlers[Int(fd)] { retiredInBatch.append(handler) }
            handlers[Int(fd)] = nil
            channels[Int(fd)] = nil
        }
        if dispatching { staleInBatch.append(fd) }
    }

    /// Asks for ``LoopHandler/handleTimer()`` at `deadline` (replacing a later request). Loop thread.
    func schedule(_ handler: any LoopHandler, at deadline: Instant) {
        timers.schedule(deadline, handler)
    }

    /// Sets a channel's timer (as ``schedule(_:at:)``), with nothing to do when it is already
    /// set for `deadline` or earlier: the usual case, each message moving the keepalive
    /// deadline later.
    func schedule(_ channel: Channel, at deadline: Instant) {
        if timers.isSet(slot: channel.timerSlot, atOrBefore: deadline) { return }
        timers.schedule(deadline, channel)
    }

    /// Removes `handler`'s timer and the loop's reference to it: a handler that is done (a
    /// closed connection) is freed now, not when its last deadline would have come. Loop thread.
    func cancelTimer(_ handler: any LoopHandler) {
        timers.cancel(handler)
    }

    /// Refreshes ``now`` from the clock (loop thread).
    func refreshNow() -> Instant {
        now = MonotonicClock.now()
        return now
    }

    // MARK: the loop

    private func run() {
        threadID.store(Sys.currentThread(), ordering: .releasing)
        let scratch = Sys.PollScratch()
        // Made once: asked for per round, it cost a protocol-witness lookup and a call (about 14
        // instructions per message on `ws serve`).
        let executor = asUnownedTaskExecutor()
        while true {
            var timeout: Int32 = -1
            if !localTasks.isEmpty {
                timeout = 0
            } else if let next = timers.earliest {
                #if canImport(Darwin)
                let current = MonotonicClock.now()
                if next <= current {
                    timeout = 0
                } else {
                    let ms = (next.nanoseconds - current.nanoseconds + 999_999) / 1_000_000
                    timeout = Int32(min(ms, 60_000))
                }
                #else
                if armedDeadline.map({ next < $0 }) ?? true {
                    Sys.timerArm(timerFD.raw, atNanoseconds: next.nanoseconds)
                    armedDeadline = next
                }
                #endif
            }
            let count: Int
            do {
                count = try Sys.pollerWait(poller.raw, scratch: scratch, timeoutMilliseconds: timeout)
            } catch {
                fatalError("event loop poll failed: \(error)")
            }
            now = MonotonicClock.coarse(notBefore: now)
            dispatching = true
            batchSize = count
            for i in 0..<count {
                let event = Sys.pollEvent(scratch, i)
                if event.fd == wakerRead.raw {
                    Sys.wakerDrain(wakerRead.raw)
                    runJobs(executor)
                } else if isTimer(event.fd) {
                    // Expired: the timers due run after this batch (`fireTimers`).
                    timerExpired()
                } else if Int(event.fd) < handlers.count, handlers[Int(event.fd)] != nil,
                          staleInBatch.isEmpty || !staleInBatch.contains(event.fd) {
                    if let channel = channels[Int(event.fd)] {
                        channel._withUnsafeGuaranteedRef { $0.handleReadiness(event) }
                    } else {
                        handlers[Int(event.fd)]!.handleReadiness(event)
                    }
                    // A task this read woke (a connection's handler awaiting its next event)
                    // runs now, while the message it gets is still in the cache, instead of
                    // after the whole batch has been read (50 connections x 64 KiB is more
                    // than the caches hold).
                    if !localTasks.isEmpty { runLocalTasks(executor) }
                    // Messages lent in place and not taken by those tasks are copied out
                    // before the next read reuses the buffer.
                    if let owner = inPlaceOwner {
                        inPlaceOwner = nil
                        owner.spillInPlace()
                    }
                }
            }
            dispatching = false
            if !staleInBatch.isEmpty { staleInBatch.removeAll(keepingCapacity: true) }
            if !retiredInBatch.isEmpty { retiredInBatch.removeAll(keepingCapacity: true) }
            #if canImport(Darwin)
            fireTimers()
            #else
            // Only when the timer descriptor fired: a timer set for a time already past is armed
            // before the next wait and fires at once. (Every round read the clock again here,
            // once per message on a connection of its own.)
            if timerFired {
                timerFired = false
                fireTimers()
            }
            #endif
            if !localTasks.isEmpty { runLocalTasks(executor) }  // (the call cost ~45 instructions a round)
        }
    }

    /// Runs `body` with an empty wakeups record, which it fills and wakes (`Channel.sendNow`,
    /// `Channel.parkInPlace`): on the loop thread (`onLoop`) the loop's spare one, emptied after
    /// (a record made and destroyed per call cost about 50 instructions: its references released
    /// through the value witness); elsewhere, or nested in another call's use of the spare (an
    /// event handler its wakeups run, sending), one of its own.
    @inline(__always)
    func withSpareWakeups<R>(onLoop: Bool, _ body: (inout ChannelWakeups) -> R) -> R {
        if onLoop && !spareWakeupsInUse {
            spareWakeupsInUse = true
            let result = body(&spareWakeups)
            spareWakeups.reset()
            spareWakeupsInUse = false
            return result
        }
        var w = ChannelWakeups()
        return body(&w)
    }

    /// Runs the task jobs enqueued on this thread; a few rounds, so tasks that keep yielding
    /// cannot keep the loop from polling.
    private func runLocalTasks(_ executor: UnownedTaskExecutor) {
        // (Leaving once the queue is empty: `for … where` tested it in every one of the rounds.)
        for _ in 0..<4 {
            if localTasks.isEmpty { break }
            swap(&localTasks, &runningTasks)
            // By index, not `for job in`: iterating retained and released the array's storage
            // around every batch (the jobs it runs might, as far as the compiler knows, replace
            // it); a job is a plain pointer, read before it runs.
            var i = 0
            while i < runningTasks.count {
                let job = runningTasks[i]
                i += 1
                run(job, on: executor)
            }
            runningTasks.clearKeepingCapacity()
        }
    }

    private func runJobs(_ executor: UnownedTaskExecutor) {
        jobs.withLock { j in
            j.wakePending = false
            swap(&j.queue, &runningJobs)
            swap(&j.tasks, &runningRemoteTasks)
        }
        now = MonotonicClock.now()
        // By index: a job may queue more (into `jobs`, which holds the other arrays now).
        var i = 0
        while i < runningJobs.count {
            let job = runningJobs[i]
            i += 1
            job()
        }
        runningJobs.removeAll(keepingCapacity: true)
        i = 0
        while i < runningRemoteTasks.count {
            let task = runningRemoteTasks[i]
            i += 1
            run(task, on: executor)
        }
        runningRemoteTasks.removeAll(keepingCapacity: true)
    }

    @inline(__always) private func run(_ job: UnownedJob, on executor: UnownedTaskExecutor) {
        runningJob = unsafeBitCast(job, to: UInt.self)
        job.runSynchronously(on: executor)
        runningJob = 0
    }

    @inline(__always) private func isTimer(_ fd: Int32) -> Bool {
        #if canImport(Darwin)
        return false
        #else
        return fd == timerFD.raw
        #endif
    }

    private func timerExpired() {
        #if !canImport(Darwin)
        Sys.timerDrain(timerFD.raw)
        armedDeadline = nil
        timerFired = true
        #endif
    }

    private func fireTimers() {
        now = MonotonicClock.now()
        while let handler = timers.popDue(now: now) {
            handler.handleTimer()
        }
    }
}

extension Array {
    /// Empties the array and keeps its storage, element by element from the end: for the one to
    /// three outputs of a typical read this is a few instructions, where
    /// `removeAll(keepingCapacity: true)` went through the general `replaceSubrange`
    /// (about a sixteenth of the loop thread's user CPU per 32 B echo).
    @inlinable @inline(__always) mutating func clearKeepingCapacity() {
        while !isEmpty { removeLast() }
    }
}
