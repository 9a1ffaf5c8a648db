// SPDX-License-Identifier: Apache-2.0
import WSProtocol

// Theory of operation
// -------------------
// Rule 1: a channel's phase is one value, `Lifecycle`, and every change of it happens in this
// file, in a `mutating` method named after the input that causes it (bytes read, end of stream,
// a timer, TCP up, the application's decision, the core finishing, the socket closing).
// Rule 2: each case owns what exists in that phase and nothing else: the socket (with the
// transport once started) in a `Link`, the stage being run, the handshake machine, the core's
// `Connection`. "Socket open" is "not `.closed`"; there is no flag beside the case. The enum is
// non-copyable because the `Link` owns the descriptor: entering `.closed` destroys the link and
// closes the socket, exactly once.
// Rule 3: the methods here touch no socket, no lock and no clock: they take the time and the
// buffers they fill (`OutboundBuffer`, the core's outputs) as arguments and return a
// `LifecycleStep` that tells the channel what else to do (perform outputs, ask the application,
// close). The channel (Channel*.swift) does the I/O around them.
// Rule 4: every switch names every case (no `default:`), so a new phase is a compile error
// wherever a decision is needed. Payloads are taken with `switch consume self` and put back,
// which moves them (no copy of the core, no copy-on-write of its buffers).
//
//   client: socket()                                   server: accept()
//        │                                                  │ (TCP is up)
//        ▼          TCP up                                  ▼
//   ┌────────────┐ ─────────┐                          ┌────────────┐
//   │ connecting │          │   stages configured      │ connecting │──tcpUp──┐
//   └────────────┘          ├─────────────────────────►┌─────────┐            │
//        │ timeout,         │                          │ staging │ (stage 1…n, leftover
//        │ refused          │ no stages                └─────────┘  bytes handed on)
//        ▼                  ▼                               │ last stage done
//     closed     transport start (TLS hello queued) ◄───────┘ (facts.source = reported peer)
//                           │
//             ┌─────────────┴──────────────┐
//             ▼ client                     ▼ server
//   ┌─────────────────┐          ┌─────────────────┐  upgrade   ┌──────────────────┐
//   │ clientHandshake │          │ serverHandshake │ ─────────► │ awaitingDecision │
//   └─────────────────┘          └─────────────────┘  request   └──────────────────┘
//        │ 101           refused     │ no handler  │ bad head,        │ accept │ reject, HTTP answer,
//        ▼               or bad      ▼             │ plain HTTP,      ▼        │ decision timeout (503)
//   ┌────────┐           response ┌────────┐       │ at the cap       open     ▼
//   │  open  │◄───────────────────│  open  │       └──────────────► ┌──────────────┐
//   └────────┘                    └────────┘                        │ httpResponse │ write, half-close,
//        │ the core finished (.closeTransport), server shutdown     └──────────────┘ linger for the peer
//        ▼                                                                │
//   ┌─────────┐ everything written, or the close timeout                  │ peer closed or
//   │ closing │ ───────────────────────────────────────► closed ◄─────────┘ linger over
//   └─────────┘
//
// Any live phase also goes to `closed` when the socket fails, when the connection attempt
// fails or times out, or when the application disconnects. `closed` is final.

/// The socket and, once started, the transport: what every live phase holds.
struct Link: ~Copyable {
    let socket: FileDescriptor
    /// The transport (TLS), from the end of the stages on; `nil` for plain TCP. Set once, by
    /// ``setTransport(_:)``; no observer on it: a `didSet` turned every call into it
    /// (`transport!.wrap(…)`) into a copy of the existential, a mutation of the copy (making its
    /// box unique) and a write back, several per message.
    var transport: (any Transport)?
    /// No transport: plain TCP. What every path checks instead of `transport == nil` (which
    /// copies the existential: a retain and a release through its value witnesses).
    private(set) var isPlain = true

    mutating func setTransport(_ transport: consuming any Transport) {
        self.transport = transport
        isPlain = false
    }

    init(socket: consuming FileDescriptor) {
        self.socket = socket
        self.transport = nil
    }
}

/// What a channel runs once TCP is up: its stages in order, then its transport, then its
/// opening handshake. A class: the phases before open share it by reference (the client's
/// options are a few hundred bytes; the open phase does not carry them).
final class ChannelSetup: Sendable {
    /// Pre-handshake steps (proxy tunnels, the PROXY protocol header), run in order.
    let stages: [any StreamStage]
    /// Makes the transport (TLS) that starts after the stages; `nil` for plain TCP.
    let transport: (@Sendable () -> any Transport)?
    /// The handshake to run last.
    let handshake: Handshake
    /// How long the stages may take in all (the handshake timeout).
    let stageTimeout: Duration
    /// When the stages and the handshake must be done at the latest, whatever their timeouts
    /// (a client's hop after a redirect: the hops share the first one's time); `nil` for none.
    let latest: Instant?

    init(stages: [any StreamStage] = [], transport: (@Sendable () -> any Transport)?, handshake: Handshake,
         stageTimeout: Duration, latest: Instant? = nil) {
        self.stages = stages
        self.transport = transport
        self.handshake = handshake
        self.stageTimeout = stageTimeout
        self.latest = latest
    }

    /// `now + timeout`, or ``latest`` if sooner.
    func deadline(now: Instant, timeout: Duration) -> Instant {
        let own = now + timeout
        guard let latest else { return own }
        return min(own, latest)
    }

    enum Handshake: Sendable {
        /// Send the request (RFC 6455 §4.1).
        case client(ClientHandshake.Options)
        /// Read the request head (RFC 6455 §4.2).
        case server(ServerHandshake.Options)
    }
}

/// The pre-handshake stages being run.
struct Staging {
    /// The stage that runs now.
    var stage: any StreamStage
    /// The index of the next stage in `setup.stages`.
    var next: Int
    var setup: ChannelSetup
    /// When the stages must be done (``ChannelSetup/stageTimeout`` after TCP came up).
    var deadline: Instant
}

/// The client's handshake machine, boxed: it is the largest machine (its options and entropy
/// source), and the enum is as large as its largest case. Mutated in place through the box.
final class ClientHandshaking: @unchecked Sendable {  // guarded by the channel's lock, like the rest
    var machine: ClientHandshake
    init(_ machine: ClientHandshake) { self.machine = machine }
}

/// The server's handshake machine, boxed like the client's: inline it made the enum, so every
/// channel's state, about 170 bytes larger for the whole life of the connection.
final class ServerHandshaking: @unchecked Sendable {  // guarded by the channel's lock, like the rest
    var machine: ServerHandshake
    init(_ machine: ServerHandshake) { self.machine = machine }
}

/// A request waiting for the application's decision.
struct AwaitingDecision {
    var handshake: ServerHandshaking
    /// When the client gets 503 instead (``WebSocketServer/Configuration/decisionTimeout``).
    var deadline: Instant
}

/// The channel's phase, owning what exists in it (see the diagram above).
///
/// Release builds and the compiler: Swift 6.3.1's optimizer crashes ("Found ownership error",
/// a leaked `load [take]` of an `Instant` in CopyPropagation or Mem2Reg) on some consuming
/// switches over this enum that bind a deadline payload. The transitions it crashed on are
/// marked `@_optimize(none)` (all off the per-message path: timers, handshake steps, ending);
/// ``nextDeadline()``, which runs after every read, borrows instead of consuming. Remove the
/// attributes once `swift build -c release` passes without them.
enum Lifecycle: ~Copyable {
    /// Client: the TCP connect is in progress until `deadline`. Server: just accepted.
    case connecting(Link, setup: ChannelSetup, deadline: Instant)
    /// The pre-handshake stages run, one at a time.
    case staging(Link, Staging)
    /// Client: the request is queued or written; the response head is awaited (RFC 6455 §4.1).
    case clientHandshake(Link, ClientHandshaking)
    /// Server: the request head is being read (RFC 6455 §4.2).
    case serverHandshake(Link, ServerHandshaking)
    /// Server: the application decides on the request; reading is off.
    case awaitingDecision(Link, AwaitingDecision)
    /// The WebSocket connection is open; the core knows whether a close handshake is under way.
    /// The core lives in a box (``OpenCore``) so that every step mutates it in place: as a
    /// payload of this enum it was copied and destroyed on each read and send (a copy of every
    /// stored property, with its retains), about a sixth of the driver's user CPU per message.
    case open(Link, OpenCore)
    /// The core is finished (or the server shuts down before open): what is queued is written,
    /// then the socket closes, at the latest at `deadline`.
    case closing(Link, deadline: Instant)
    /// A plain HTTP response (a refusal, an answer, a 503) is written, then the write side is
    /// shut down and the peer gets until `deadline` to close (so it reads the response, not a
    /// reset): an idle-write timeout while writing, a short linger after.
    case httpResponse(Link, deadline: Instant)
    /// The socket is closed. Final.
    case closed

    /// The name of the phase (for decisions that need no payload, and for tests).
    enum Phase: Hashable, Sendable {
        case connecting, staging, clientHandshake, serverHandshake, awaitingDecision, open, closing, httpResponse, closed
    }

    var phase: Phase {
        switch self {
        case .connecting: return .connecting
        case .staging: return .staging
        case .clientHandshake: return .clientHandshake
        case .serverHandshake: return .serverHandshake
        case .awaitingDecision: return .awaitingDecision
        case .open: return .open
        case .closing: return .closing
        case .httpResponse: return .httpResponse
        case .closed: return .closed
        }
    }

    /// The open phase (a tag check; ``phase`` switches over every case).
    var isOpen: Bool {
        switch self {
        case .open: return true
        default: return false
        }
    }

    /// Whether the socket is still open (any phase but `.closed`): a tag check, as ``isOpen``
    /// (through ``phase`` it cost a call and a switch over every case, three times a read).
    var isLive: Bool {
        switch self {
        case .closed: return false
        default: return true
        }
    }

    /// Plain HTTP responses: how long writing may stall, and how long to wait for the peer to
    /// close once the response is written.
    static let httpWriteIdleTimeout: Duration = .seconds(10)
    static let httpLinger: Duration = .seconds(2)

    /// The deadline of a response just queued: the idle-write timeout; over TLS the short
    /// linger (a response queued before the TLS handshake finished waits for it that long
    /// only; a handshake timeout before it finished closes at once: `handleTimeout`).
    static func responseDeadline(_ link: borrowing Link, now: Instant) -> Instant {
        now + (link.isPlain ? httpWriteIdleTimeout : httpLinger)
    }
}

/// What the channel does after an input to the ``Lifecycle``.
enum LifecycleStep: Equatable {
    /// Nothing beyond the usual (flush, interest, timer).
    case none
    /// Perform the core's outputs collected in the outputs array; the core now holds
    /// `assembling` bytes of a message being received (`Connection.bufferedIncomingBytes`).
    case outputs(assembling: Int)
    /// Client: the server accepted; the outputs array holds what the leftover bytes produced.
    case connected(HTTPResponseHead, request: HTTPRequestHead)
    /// Server: a valid upgrade request (still in ``Lifecycle/serverHandshake``): decide.
    case upgradeRequest(UpgradeRequest)
    /// Server: a plain HTTP request (still in ``Lifecycle/serverHandshake``): answer it.
    case notAnUpgrade(HTTPRequestHead)
    /// Server: the connection is open; the outputs array holds what the leftover bytes produced.
    case accepted
    /// An HTTP response was queued (``Lifecycle/httpResponse``): half-close after it.
    case responding
    /// The phase failed: close the socket, reporting this error.
    case failed(WebSocketError)
    /// Client: the opening handshake failed after `request` was sent (refused, invalid, timed
    /// out): close the socket, reporting this error; the request is kept for the application.
    case handshakeFailed(WebSocketError, request: HTTPRequestHead)
    /// Close the socket now.
    case close
}

// MARK: - Inputs

extension Lifecycle {
    /// TCP is up (client: the connect completed; server: right after accept): runs the first
    /// stage, or starts the transport and the handshake.
    @_optimize(none) mutating func tcpUp(now: Instant, _ out: inout OutboundBuffer, _ reportedPeer: inout SocketAddress?) -> LifecycleStep {
        var step = LifecycleStep.none
        switch consume self {
        case .connecting(let link, let setup, let deadline):
            _ = deadline  // the connect deadline ends here
            self = Self.begin(link, setup, stageIndex: 0, now: now, &step, &out, &reportedPeer)
        case .staging(let link, let s): self = .staging(link, s)
        case .clientHandshake(let link, let h): self = .clientHandshake(link, h)
        case .serverHandshake(let link, let h): self = .serverHandshake(link, h)
        case .awaitingDecision(let link, let a): self = .awaitingDecision(link, a)
        case .open(let link, let c): self = .open(link, c)
        case .closing(let link, let d): self = .closing(link, deadline: d)
        case .httpResponse(let link, let d): self = .httpResponse(link, deadline: d)
        case .closed: self = .closed
        }
        return step
    }

    /// Starts stage `stageIndex` or, past the last one, the transport and the handshake.
    /// Returns the new phase; a failure is reported in `step`.
    private static func begin(_ link: consuming Link, _ setup: ChannelSetup, stageIndex: Int, now: Instant,
                              deadline: Instant? = nil, _ step: inout LifecycleStep,
                              _ out: inout OutboundBuffer, _ reportedPeer: inout SocketAddress?) -> Lifecycle {
        if stageIndex < setup.stages.count {
            var stage = setup.stages[stageIndex]
            out.append(stage.start(now: now))
            return .staging(link, Staging(stage: stage, next: stageIndex + 1, setup: setup,
                                          deadline: deadline ?? setup.deadline(now: now, timeout: setup.stageTimeout)))
        } else {
            var link = link
            if let make = setup.transport {
                var transport = make()
                do throws(WebSocketError) {
                    let hello = try transport.start()
                    out.startWrapping()
                    out.insertWire(hello)
                    link.setTransport(transport)
                } catch {
                    step = .failed(error)
                    return .closing(link, deadline: now)
                }
            }
            switch setup.handshake {
            case .client(var options):
                do {
                    // The handshake timeout starts now, after the connect and the stages (and
                    // ends by the setup's `latest`). Masking keys come from a ChaCha20 keystream
                    // keyed once by the kernel.
                    if let latest = setup.latest {
                        let left = latest > now ? Duration.nanoseconds(Int64(clamping: latest.nanoseconds - now.nanoseconds)) : .zero
                        options.timeout = min(options.timeout, left)
                    }
                    let handshake = try ClientHandshake(options: options, now: now, entropy: ChaChaRandomNumberGenerator())
                    out.append(handshake.requestBytes)
                    return .clientHandshake(link, ClientHandshaking(handshake))
                } catch {
                    step = .failed(.handshakeFailed(error))
                    return .closing(link, deadline: now)
                }
            case .server(let options):
                return .serverHandshake(link, ServerHandshaking(ServerHandshake(options: options, now: now)))
            }
        }
    }

    /// Bytes read from the socket: to the stage, through the transport, to the handshake or the core.
    mutating func receive(_ wire: UnsafeRawBufferPointer, now: Instant, _ out: inout OutboundBuffer,
                          _ outputs: inout [Connection.Output], _ reportedPeer: inout SocketAddress?) -> LifecycleStep {
        // The hot path: plain TCP goes straight to the core (borrowed, unretained: nothing moves).
        switch self {
        case .open(let link, _) where link.isPlain:
            return openCore!._withUnsafeGuaranteedRef { core in
                core.connection.receive(wire, now: now, into: &outputs)
                return .outputs(assembling: core.connection.bufferedIncomingBytes)
            }
        default:
            break
        }
        switch consume self {
        case .open(var link, let core):
            // The plaintext goes to the core piece by piece as the transport decrypts it (no
            // array per read); the transport's own records are queued after.
            do throws(WebSocketError) {
                try link.transport!.unwrap(wire) { core.connection.receive($0, now: now, into: &outputs) }
            } catch {
                self = .open(link, core)
                return .failed(error)
            }
            out.insertWire(link.transport!.takeOutput())
            let assembling = core.connection.bufferedIncomingBytes
            self = .open(link, core)
            return .outputs(assembling: assembling)
        case .staging(let link, var staging):
            let step = staging.stage.receive(wire, now: now)
            var result = LifecycleStep.none
            var leftover: [UInt8] = []
            self = Self.stageStep(step, link, staging, now: now, &result, &leftover, &out, &reportedPeer)
            guard result == .none, !leftover.isEmpty else { return result }
            // The bytes read past the stage's end go to whatever runs next.
            return leftover.withUnsafeBytes { receive($0, now: now, &out, &outputs, &reportedPeer) }
        case .clientHandshake(var link, let handshake):
            let step: ClientHandshake.Step
            if link.isPlain {
                step = handshake.machine.receive(wire, now: now)
            } else {
                switch Self.unwrap(wire, &link, &out) {
                case .success(let plain): step = handshake.machine.receive(plain, now: now)
                case .failure(let error):
                    self = .clientHandshake(link, handshake)
                    return .failed(error)
                }
            }
            var result = LifecycleStep.none
            self = Self.clientStep(step, link, handshake, now: now, &result, &outputs)
            return result
        case .serverHandshake(var link, let handshake):
            let step: ServerHandshake.Step
            // For the 4xx answer to a bad head (RFC 9110 §6.6.1): a cached read, once per read.
            let date = WallClock.httpDate()
            if link.isPlain {
                step = handshake.machine.receive(wire, now: now, date: date)
            } else {
                switch Self.unwrap(wire, &link, &out) {
                case .success(let plain): step = handshake.machine.receive(plain, now: now, date: date)
                case .failure(let error):
                    self = .serverHandshake(link, handshake)
                    return .failed(error)
                }
            }
            var result = LifecycleStep.none
            self = Self.serverStep(step, link, handshake, now: now, &result, &out)
            return result
        case .connecting(let link, let setup, let deadline):
            self = .connecting(link, setup: setup, deadline: deadline)
        case .awaitingDecision(let link, let a):
            self = .awaitingDecision(link, a)  // reading is off; nothing arrives here
        case .closing(let link, let d):
            self = .closing(link, deadline: d)  // the core is finished: what the peer sends is dropped
        case .httpResponse(let link, let d):
            self = .httpResponse(link, deadline: d)  // a response is on its way out; input is ignored
        case .closed:
            self = .closed
        }
        return .none
    }

    /// The peer closed its side (or reading failed).
    @_optimize(none) mutating func receiveEndOfStream(now: Instant, pending: Int, _ out: inout OutboundBuffer,
                                     _ outputs: inout [Connection.Output], _ reportedPeer: inout SocketAddress?) -> LifecycleStep {
        switch consume self {
        case .open(let link, let core):
            outputs.append(contentsOf: core.connection.receiveEndOfStream(now: now))
            self = .open(link, core)
            return .outputs(assembling: 0)
        case .staging(let link, var staging):
            let step = staging.stage.receiveEndOfStream(now: now)
            var result = LifecycleStep.none
            var leftover: [UInt8] = []
            self = Self.stageStep(step, link, staging, now: now, &result, &leftover, &out, &reportedPeer)
            if case .failed = result { return result }
            return .failed(.remoteHostClosed)
        case .clientHandshake(let link, let handshake):
            let step = handshake.machine.receiveEndOfStream(now: now)
            var result = LifecycleStep.none
            self = Self.clientStep(step, link, handshake, now: now, &result, &outputs)
            // A refusal whose body ran to the end of the stream (no Content-Length, or the
            // server closing after it) is still that refusal: its status, headers (a redirect's
            // Location) and body, and the request for `onHandshake`.
            switch result {
            case .failed, .handshakeFailed: return result
            default: return .failed(.remoteHostClosed)
            }
        case .httpResponse(let link, let deadline):
            // A half-closed peer still gets the whole response, then the socket closes.
            self = .closing(link, deadline: deadline)
            return pending > 0 ? .none : .close
        case .closing(let link, let deadline):
            self = .closing(link, deadline: deadline)
            return pending > 0 ? .none : .close
        case .connecting(let link, let setup, let deadline):
            self = .connecting(link, setup: setup, deadline: deadline)
            return .close
        case .serverHandshake(let link, let h):
            self = .serverHandshake(link, h)
            return .close
        case .awaitingDecision(let link, let a):
            self = .awaitingDecision(link, a)
            return .failed(.remoteHostClosed)
        case .closed:
            self = .closed
            return .none
        }
    }

    /// A timer fired at `now`: whatever deadline of the phase has passed takes effect.
    @_optimize(none) mutating func handleTimeout(now: Instant, _ out: inout OutboundBuffer, _ outputs: inout [Connection.Output],
                                _ reportedPeer: inout SocketAddress?) -> LifecycleStep {
        switch consume self {
        case .connecting(let link, let setup, let deadline):
            self = .connecting(link, setup: setup, deadline: deadline)
            return now >= deadline ? .failed(.timeout(.connect)) : .none
        case .staging(let link, var staging):
            if let d = staging.stage.nextDeadline, now >= d {
                let step = staging.stage.handleTimeout(now: now)
                var result = LifecycleStep.none
                var leftover: [UInt8] = []
                self = Self.stageStep(step, link, staging, now: now, &result, &leftover, &out, &reportedPeer)
                guard result == .none, !leftover.isEmpty else { return result }
                return leftover.withUnsafeBytes { receive($0, now: now, &out, &outputs, &reportedPeer) }
            }
            let deadline = staging.deadline
            self = .staging(link, staging)
            return now >= deadline ? .failed(.timeout(.handshake)) : .none
        case .clientHandshake(let link, let handshake):
            guard let step = handshake.machine.handleTimeout(now: now) else {
                self = .clientHandshake(link, handshake)
                return .none
            }
            var result = LifecycleStep.none
            self = Self.clientStep(step, link, handshake, now: now, &result, &outputs)
            return result
        case .serverHandshake(let link, let handshake):
            guard let step = handshake.machine.handleTimeout(now: now, date: WallClock.httpDate()) else {
                self = .serverHandshake(link, handshake)
                return .none
            }
            if case .invalid = step, let tls = link.transport as? TLSTransport, tls.session == nil {
                // The TLS handshake itself did not finish in time: the 408 could never be
                // encrypted, so nothing is left to say and no linger to wait out.
                self = .closing(link, deadline: now)
                return .failed(.timeout(.handshake))
            }
            var result = LifecycleStep.none
            self = Self.serverStep(step, link, handshake, now: now, &result, &out)
            return result
        case .awaitingDecision(let link, let awaiting):
            guard now >= awaiting.deadline else {
                self = .awaitingDecision(link, awaiting)
                return .none
            }
            // The application did not decide in time: 503, then close (a late decision is ignored).
            let response = HTTPResponse(status: 503, headers: ["Retry-After": "1"],
                                        text: "Service Unavailable: no decision in time\n")
            out.append(response.bytes(date: WallClock.httpDate()))
            let deadline = Self.responseDeadline(link, now: now)
            self = .httpResponse(link, deadline: deadline)
            return .responding
        case .open(let link, let core):
            if let d = core.connection.nextDeadline, now >= d {
                outputs.append(contentsOf: core.connection.handleTimeout(now: now))
                let assembling = core.connection.bufferedIncomingBytes
                self = .open(link, core)
                return .outputs(assembling: assembling)
            }
            self = .open(link, core)
            return .none
        case .closing(let link, let deadline):
            // The peer stopped reading while we wait to flush before closing.
            self = .closing(link, deadline: deadline)
            return now >= deadline ? .close : .none
        case .httpResponse(let link, let deadline):
            self = .httpResponse(link, deadline: deadline)
            return now >= deadline ? .close : .none
        case .closed:
            self = .closed
            return .none
        }
    }

    /// The in-place read (a server with a ``WebSocketServer/MessageHandler``): open on plain
    /// TCP, whole single-frame messages stay in `wire`, unmasked there, and are reported in
    /// `messages` (see `Connection.receive(inPlace:now:into:messages:maxInPlace:)`). `nil` in any other
    /// phase or over a transport, whose plaintext is not the read buffer; the caller then
    /// reads with ``receive(_:now:_:_:_:)``.
    mutating func receiveInPlace(_ wire: UnsafeMutableRawBufferPointer, now: Instant,
                                 _ outputs: inout [Connection.Output], _ messages: inout [InPlaceMessage]) -> LifecycleStep? {
        // A borrowing switch: nothing moves (the core is a class, changed through its reference).
        switch self {
        case .open(let link, _) where link.isPlain:
            // Large payloads as arrays: they are written by reference when sent on (see
            // `Channel.payloadSegmentThreshold`), and the array's copy is the unmask's one pass.
            return openCore!._withUnsafeGuaranteedRef { core in
                core.connection.receive(inPlace: wire, now: now, into: &outputs, messages: &messages,
                                        maxInPlace: Channel.payloadSegmentThreshold - 1)
                return .outputs(assembling: core.connection.bufferedIncomingBytes)
            }
        default:
            return nil
        }
    }

    /// The open phase's core, not retained: for a call made while `self` holds it, without the
    /// retain and release that binding it from the case cost on every read and send.
    var openCore: Unmanaged<OpenCore>? {
        switch self {
        case .open(_, let core): return Unmanaged.passUnretained(core)
        default: return nil
        }
    }

    /// The earliest deadline of the phase (its own, or its machine's).
    mutating func nextDeadline() -> Instant? {
        // A borrowing switch: nothing moves (see ``Lifecycle`` on the compiler's crash).
        switch self {
        case .connecting(_, _, let deadline): return deadline
        case .staging(_, let staging):
            return staging.stage.nextDeadline.map { min($0, staging.deadline) } ?? staging.deadline
        case .clientHandshake(_, let handshake): return handshake.machine.nextDeadline
        case .serverHandshake(_, let handshake): return handshake.machine.nextDeadline
        case .awaitingDecision(_, let awaiting): return awaiting.deadline
        case .open(_, let core): return core.connection.nextDeadline
        case .closing(_, let deadline): return deadline
        case .httpResponse(_, let deadline): return deadline
        case .closed: return nil
        }
    }
}

// MARK: - Steps of the machines the phases own

extension Lifecycle {
    /// Passes wire bytes through the transport; its own records (handshake, alerts) are queued.
    private static func unwrap(_ wire: UnsafeRawBufferPointer, _ link: inout Link,
                               _ out: inout OutboundBuffer) -> Result<[UInt8], WebSocketError> {
        var plain: [UInt8] = []
        do throws(WebSocketError) {
            try link.transport!.unwrap(wire, into: &plain)
        } catch {
            return .failure(error)
        }
        out.insertWire(link.transport!.takeOutput())
        return .success(plain)
    }

    /// A stage's answer: keep feeding it, start what comes next (handing back in `leftover` the
    /// bytes read past the stage's end), or fail.
    private static func stageStep(_ step: StreamStageStep, _ link: consuming Link, _ staging: Staging, now: Instant,
                                  _ result: inout LifecycleStep, _ leftover: inout [UInt8], _ out: inout OutboundBuffer,
                                  _ reportedPeer: inout SocketAddress?) -> Lifecycle {
        switch step {
        case .needMoreData(let write):
            out.append(write)
            return .staging(link, staging)
        case .done(let write, let rest, let facts):
            out.append(write)
            if let source = facts.source { reportedPeer = source }
            leftover = rest
            return begin(link, staging.setup, stageIndex: staging.next, now: now, deadline: staging.deadline,
                         &result, &out, &reportedPeer)
        case .failed(let error):
            result = .failed(error)
            return .closing(link, deadline: now)
        }
    }

    private static func clientStep(_ step: ClientHandshake.Step, _ link: consuming Link, _ handshake: ClientHandshaking,
                                   now: Instant, _ result: inout LifecycleStep,
                                   _ outputs: inout [Connection.Output]) -> Lifecycle {
        switch step {
        case .needMoreData:
            return .clientHandshake(link, handshake)
        case .connected(var connection, let leftover, let response):
            if !leftover.isEmpty { outputs.append(contentsOf: connection.receive(leftover, now: now)) }
            result = .connected(response, request: handshake.machine.request)
            return .open(link, OpenCore(connection))
        case .failed(let error):
            result = .handshakeFailed(error == .timedOut ? .timeout(.handshake) : .handshakeFailed(error),
                                      request: handshake.machine.request)
            return .closing(link, deadline: now)
        }
    }

    private static func serverStep(_ step: ServerHandshake.Step, _ link: consuming Link, _ handshake: ServerHandshaking,
                                   now: Instant, _ result: inout LifecycleStep,
                                   _ out: inout OutboundBuffer) -> Lifecycle {
        switch step {
        case .needMoreData:
            return .serverHandshake(link, handshake)
        case .upgradeRequest(let request):
            result = .upgradeRequest(request)
            return .serverHandshake(link, handshake)
        case .notAnUpgrade(let head):
            result = .notAnUpgrade(head)
            return .serverHandshake(link, handshake)
        case .invalid(_, let response):
            out.append(response)
            result = .responding
            let deadline = responseDeadline(link, now: now)
            return .httpResponse(link, deadline: deadline)
        }
    }
}

// MARK: - The application's decisions and the driver's own transitions

extension Lifecycle {
    /// Server: the application decides on the request read in `.serverHandshake` until `deadline`.
    @_optimize(none) mutating func awaitDecision(until deadline: Instant) {
        switch consume self {
        case .serverHandshake(let link, let handshake):
            self = .awaitingDecision(link, AwaitingDecision(handshake: handshake, deadline: deadline))
        case .connecting(let link, let setup, let d): self = .connecting(link, setup: setup, deadline: d)
        case .staging(let link, let s): self = .staging(link, s)
        case .clientHandshake(let link, let h): self = .clientHandshake(link, h)
        case .awaitingDecision(let link, let a): self = .awaitingDecision(link, a)
        case .open(let link, let c): self = .open(link, c)
        case .closing(let link, let d): self = .closing(link, deadline: d)
        case .httpResponse(let link, let d): self = .httpResponse(link, deadline: d)
        case .closed: self = .closed
        }
    }

    /// Server: accepts the upgrade request (from `.serverHandshake` or `.awaitingDecision`):
    /// queues the 101 response and opens; the bytes that followed the request go to the core.
    /// A choice the handshake cannot write becomes a 500 response.
    mutating func accept(_ request: UpgradeRequest, subprotocol: String?, extensions: [any ExtensionNegotiator],
                         headers: HTTPHeaders, configuration: Connection.Configuration, now: Instant,
                         _ out: inout OutboundBuffer, _ outputs: inout [Connection.Output]) -> LifecycleStep {
        switch consume self {
        case .serverHandshake(let link, let handshake):
            var result = LifecycleStep.none
            self = Self.open(link, &handshake.machine, request, subprotocol, extensions, headers, configuration, now, &result, &out, &outputs)
            return result
        case .awaitingDecision(let link, let awaiting):
            var result = LifecycleStep.none
            self = Self.open(link, &awaiting.handshake.machine, request, subprotocol, extensions, headers, configuration, now, &result, &out, &outputs)
            return result
        case .connecting(let link, let setup, let d): self = .connecting(link, setup: setup, deadline: d)
        case .staging(let link, let s): self = .staging(link, s)
        case .clientHandshake(let link, let h): self = .clientHandshake(link, h)
        case .open(let link, let c): self = .open(link, c)
        case .closing(let link, let d): self = .closing(link, deadline: d)
        case .httpResponse(let link, let d): self = .httpResponse(link, deadline: d)
        case .closed: self = .closed
        }
        return .none
    }

    private static func open(_ link: consuming Link, _ handshake: inout ServerHandshake, _ request: UpgradeRequest,
                             _ subprotocol: String?, _ extensions: [any ExtensionNegotiator], _ headers: HTTPHeaders,
                             _ configuration: Connection.Configuration, _ now: Instant, _ result: inout LifecycleStep,
                             _ out: inout OutboundBuffer, _ outputs: inout [Connection.Output]) -> Lifecycle {
        do {
            var (response, connection, leftover) = try handshake.accept(
                request, subprotocol: subprotocol, extensions: extensions, headers: headers,
                configuration: configuration, now: now, date: WallClock.httpDate())
            out.append(response)
            if !leftover.isEmpty { outputs.append(contentsOf: connection.receive(leftover, now: now)) }
            result = .accepted
            return .open(link, OpenCore(connection))
        } catch {
            // The application asked for something the handshake cannot write.
            out.append(HTTPResponse(status: 500, text: "Internal Server Error: \(error.reasonText)").bytes(date: WallClock.httpDate()))
            result = .responding
            let deadline = responseDeadline(link, now: now)
            return .httpResponse(link, deadline: deadline)
        }
    }

    /// Server: refuses the request with the application's response (through the handshake,
    /// which adds what the RFC asks of a refusal).
    @_optimize(none) mutating func reject(_ response: HTTPResponse, now: Instant, _ out: inout OutboundBuffer) -> LifecycleStep {
        switch consume self {
        case .serverHandshake(let link, let handshake):
            out.append(Self.refusal(response, &handshake.machine))
            let deadline = Self.responseDeadline(link, now: now)
            self = .httpResponse(link, deadline: deadline)
            return .responding
        case .awaitingDecision(let link, let awaiting):
            out.append(Self.refusal(response, &awaiting.handshake.machine))
            let deadline = Self.responseDeadline(link, now: now)
            self = .httpResponse(link, deadline: deadline)
            return .responding
        case .connecting(let link, let setup, let d): self = .connecting(link, setup: setup, deadline: d)
        case .staging(let link, let s): self = .staging(link, s)
        case .clientHandshake(let link, let h): self = .clientHandshake(link, h)
        case .open(let link, let c): self = .open(link, c)
        case .closing(let link, let d): self = .closing(link, deadline: d)
        case .httpResponse(let link, let d): self = .httpResponse(link, deadline: d)
        case .closed: self = .closed
        }
        return .none
    }

    /// The bytes refusing the request with `response`, dated; a response the handshake cannot
    /// end with (an interim 1xx status) becomes a 500, as a choice `accept` cannot write does.
    private static func refusal(_ response: HTTPResponse, _ handshake: inout ServerHandshake) -> [UInt8] {
        let date = WallClock.httpDate()
        do throws(HandshakeError) {
            return try handshake.reject(status: response.status, reason: response.reason, headers: response.headers,
                                        body: response.body, date: date)
        } catch {
            return HTTPResponse(status: 500, text: "Internal Server Error: \(error.reasonText)").bytes(date: date)
        }
    }

    /// Server: answers with a plain HTTP response (an answer to a plain request, a 503) from any
    /// phase before open, dated by the wall clock (RFC 9110 §6.6.1); `headOnly` for a HEAD
    /// request. Returns `.none` when the connection is past that (open or ending).
    @_optimize(none) mutating func respond(_ response: HTTPResponse, headOnly: Bool = false, now: Instant,
                                           _ out: inout OutboundBuffer) -> LifecycleStep {
        let date = WallClock.httpDate()
        let bytes = headOnly ? response.headBytes(date: date) : response.bytes(date: date)
        switch consume self {
        case .connecting(let link, let setup, let droppedDeadline):
            _ = droppedDeadline
            var step = LifecycleStep.none
            self = Self.turnAway(link, setup, bytes, now: now, &out, &step)
            return step
        case .staging(let link, let staging):
            var step = LifecycleStep.none
            self = Self.turnAway(link, staging.setup, bytes, now: now, &out, &step)
            return step
        case .clientHandshake(let link, let dropped):
            _ = dropped
            out.append(bytes)
            let deadline = Self.responseDeadline(link, now: now)
            self = .httpResponse(link, deadline: deadline)
            return .responding
        case .serverHandshake(let link, let dropped):
            _ = dropped
            out.append(bytes)
            let deadline = Self.responseDeadline(link, now: now)
            self = .httpResponse(link, deadline: deadline)
            return .responding
        case .awaitingDecision(let link, let dropped):
            _ = dropped
            out.append(bytes)
            let deadline = Self.responseDeadline(link, now: now)
            self = .httpResponse(link, deadline: deadline)
            return .responding
        case .open(let link, let c): self = .open(link, c)
        case .closing(let link, let d): self = .closing(link, deadline: d)
        case .httpResponse(let link, let d): self = .httpResponse(link, deadline: d)
        case .closed: self = .closed
        }
        return .none
    }

    /// A response before the transport started (a 503 at the connection cap, at shutdown):
    /// in the clear, as it is, without a transport; with one (TLS) the peer could not read it,
    /// so it gets the transport's refusal (``Transport/refuse()``: a fatal alert) or, when
    /// that is empty, the socket closes at once.
    private static func turnAway(_ link: consuming Link, _ setup: ChannelSetup, _ response: [UInt8], now: Instant,
                                 _ out: inout OutboundBuffer, _ step: inout LifecycleStep) -> Lifecycle {
        if let make = setup.transport {
            var transport = make()
            let refusal = transport.refuse()
            guard !refusal.isEmpty else {
                step = .close
                return .closing(link, deadline: now)
            }
            out.append(refusal)
        } else {
            out.append(response)
        }
        step = .responding
        let deadline = responseDeadline(link, now: now)
        return .httpResponse(link, deadline: deadline)
    }

    /// The response is written and the write side shut down: the peer has `linger` (by
    /// default ``httpLinger``) to close.
    @_optimize(none) mutating func responseWritten(now: Instant, linger: Duration = Self.httpLinger) {
        switch consume self {
        case .httpResponse(let link, let dropped): _ = dropped; self = .httpResponse(link, deadline: now + linger)
        case .connecting(let link, let setup, let d): self = .connecting(link, setup: setup, deadline: d)
        case .staging(let link, let s): self = .staging(link, s)
        case .clientHandshake(let link, let h): self = .clientHandshake(link, h)
        case .serverHandshake(let link, let h): self = .serverHandshake(link, h)
        case .awaitingDecision(let link, let a): self = .awaitingDecision(link, a)
        case .open(let link, let c): self = .open(link, c)
        case .closing(let link, let d): self = .closing(link, deadline: d)
        case .closed: self = .closed
        }
    }

    /// Part of an HTTP response was written: the idle-write deadline starts again.
    @_optimize(none) mutating func responseProgressed(now: Instant) {
        switch consume self {
        case .httpResponse(let link, let dropped): _ = dropped; self = .httpResponse(link, deadline: now + Self.httpWriteIdleTimeout)
        case .connecting(let link, let setup, let d): self = .connecting(link, setup: setup, deadline: d)
        case .staging(let link, let s): self = .staging(link, s)
        case .clientHandshake(let link, let h): self = .clientHandshake(link, h)
        case .serverHandshake(let link, let h): self = .serverHandshake(link, h)
        case .awaitingDecision(let link, let a): self = .awaitingDecision(link, a)
        case .open(let link, let c): self = .open(link, c)
        case .closing(let link, let d): self = .closing(link, deadline: d)
        case .closed: self = .closed
        }
    }

    /// Nothing more is read or sent: write what is queued, then close (the core finished, or
    /// the server shuts down before the connection opened). The core's close timeout bounds
    /// the wait for an open connection, ``httpLinger`` for the others.
    @_optimize(none) mutating func finish(now: Instant) {
        switch consume self {
        case .open(let link, let core):
            self = .closing(link, deadline: now + core.connection.configuration.closeTimeout)
        case .connecting(let link, let dropped, let droppedDeadline): _ = dropped; _ = droppedDeadline; self = .closing(link, deadline: now + Self.httpLinger)
        case .staging(let link, let dropped): _ = dropped; self = .closing(link, deadline: now + Self.httpLinger)
        case .clientHandshake(let link, let dropped): _ = dropped; self = .closing(link, deadline: now + Self.httpLinger)
        case .serverHandshake(let link, let dropped): _ = dropped; self = .closing(link, deadline: now + Self.httpLinger)
        case .awaitingDecision(let link, let dropped): _ = dropped; self = .closing(link, deadline: now + Self.httpLinger)
        case .httpResponse(let link, let dropped): _ = dropped; self = .closing(link, deadline: now + Self.httpLinger)
        case .closing(let link, let d):
            self = .closing(link, deadline: d)
        case .closed:
            self = .closed
        }
    }

    /// Closes the socket (the caller deregistered it first). An open core that is not finished
    /// yet learns that the transport ended (`.closed` with 1006 or the reason it had).
    @_optimize(none) mutating func close(now: Instant, _ outputs: inout [Connection.Output]) {
        switch consume self {
        case .open(let link, let core):
            if !core.connection.isClosed { outputs.append(contentsOf: core.connection.receiveEndOfStream(now: now)) }
            _ = consume link  // closes the descriptor
        // In the other phases the link (and its descriptor) goes with the consumed value.
        case .connecting: break
        case .staging: break
        case .clientHandshake: break
        case .serverHandshake: break
        case .awaitingDecision: break
        case .closing: break
        case .httpResponse: break
        case .closed: break
        }
        self = .closed
    }

    /// Runs `body` on the open connection (with the outbound buffer it appends to); `nil` in
    /// any other phase.
    mutating func withConnection<R, E: Error>(_ out: inout OutboundBuffer,
                                              _ body: (inout Connection, inout OutboundBuffer) throws(E) -> R) throws(E) -> R? {
        // Through the unretained core (``openCore``): every send and every answered batch
        // comes here.
        guard let core = openCore else { return nil }
        let result: Result<R, E> = core._withUnsafeGuaranteedRef { core in
            do throws(E) { return .success(try body(&core.connection, &out)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// Passes the plaintext at the end of `out` through the transport. Returns the transport's
    /// error, if any.
    mutating func wrapPlaintext(_ out: inout OutboundBuffer, upTo limit: Int = .max) -> WebSocketError? {
        withLink { (link: inout Link) -> WebSocketError? in
            guard !link.isPlain else { return nil }
            do throws(WebSocketError) {
                try out.wrapPlaintext(upTo: limit) { (plain, wire) throws(WebSocketError) in try link.transport!.wrap(plain, into: &wire) }
                return nil
            } catch {
                return error
            }
        } ?? nil
    }

    /// A clean end over a transport: the plaintext still queued is wrapped, then the
    /// transport's closing bytes (TLS close_notify) go last. Returns the transport's error, if any.
    mutating func closeTransport(_ out: inout OutboundBuffer) -> WebSocketError? {
        withLink { (link: inout Link) -> WebSocketError? in
            guard !link.isPlain else { return nil }
            do throws(WebSocketError) {
                try out.wrapPlaintext { (plain, wire) throws(WebSocketError) in try link.transport!.wrap(plain, into: &wire) }
            } catch {
                return error
            }
            out.insertWire(link.transport!.close())
            return nil
        } ?? nil
    }

    /// The transport's last words after it failed (a TLS alert telling the peer why): what its
    /// output holds now; empty without a transport.
    mutating func transportAlert() -> [UInt8] {
        withLink { (link: inout Link) -> [UInt8] in link.transport?.takeOutput() ?? [] } ?? []
    }

    /// Tells the transport the socket's stream ended; returns the error when that end is not
    /// clean (TLS without close_notify).
    mutating func transportEndOfStream() -> WebSocketError? {
        withLink { (link: inout Link) -> WebSocketError? in
            do throws(WebSocketError) {
                try link.transport?.receiveEndOfStream()
                return nil
            } catch {
                return error
            }
        } ?? nil
    }

    /// Client: a refusal's head arrived and its body runs to the end of the stream.
    var isCollectingRefusalBody: Bool {
        switch self {
        case .clientHandshake(_, let handshake): return handshake.machine.isCollectingRefusalBody
        default: return false
        }
    }

    /// Whether the transport saw the peer end its stream (a TLS close_notify) before the socket did.
    mutating func transportReceivedEndOfStream() -> Bool {
        withLink { (link: inout Link) -> Bool in link.transport?.hasReceivedEndOfStream ?? false } ?? false
    }

    /// Reads something of the transport (TLS session facts); `nil` without one or once closed.
    mutating func inspectTransport<R>(_ body: (any Transport) -> R?) -> R? {
        withLink { (link: inout Link) -> R? in link.transport.flatMap(body) } ?? nil
    }

    private mutating func withLink<R>(_ body: (inout Link) -> R) -> R? {
        switch consume self {
        case .connecting(var link, let setup, let d):
            let r = body(&link); self = .connecting(link, setup: setup, deadline: d); return r
        case .staging(var link, let s):
            let r = body(&link); self = .staging(link, s); return r
        case .clientHandshake(var link, let h):
            let r = body(&link); self = .clientHandshake(link, h); return r
        case .serverHandshake(var link, let h):
            let r = body(&link); self = .serverHandshake(link, h); return r
        case .awaitingDecision(var link, let a):
            let r = body(&link); self = .awaitingDecision(link, a); return r
        case .open(var link, let c):
            let r = body(&link); self = .open(link, c); return r
        case .closing(var link, let d):
            let r = body(&link); self = .closing(link, deadline: d); return r
        case .httpResponse(var link, let d):
            let r = body(&link); self = .httpResponse(link, deadline: d); return r
        case .closed:
            self = .closed; return nil
        }
    }
}

/// The open phase's core, boxed: one owner (the channel's ``Lifecycle``, under the channel's
/// lock), mutated in place. Not shared, so the core keeps its value semantics in practice.
/// `@unchecked Sendable`: like the rest of the channel's state it is only touched under the
/// channel's lock, which is what makes that state `Sendable`.
final class OpenCore: @unchecked Sendable {
    /// Unchecked exclusivity: every access is a short one under the channel's lock, and the
    /// dynamic check (a thread-local access set) cost more per message than the copy it replaced.
    @exclusivity(unchecked) var connection: Connection
    init(_ connection: Connection) { self.connection = connection }
}
