// SPDX-License-Identifier: Apache-2.0
import Synchronization
import WSProtocol

/// The listening socket of a server: accepts on one loop and hands each connection to the next
/// loop of the group, round-robin.
final class Listener: LoopHandler, @unchecked Sendable {
    let loop: EventLoop
    private let socket: Lock<FileDescriptor?>
    private let context: ServerContext
    /// Loop bookkeeping (loop thread only).
    var timerSlot = 0
    private var paused = false  // loop thread only

    init(loop: EventLoop, socket: consuming FileDescriptor, context: ServerContext) {
        self.loop = loop
        self.socket = Lock(socket)
        self.context = context
    }

    /// Starts accepting (registers with the loop).
    func start() async throws(WebSocketError) {
        let result: Result<Void, WebSocketError> = await withCheckedContinuation { c in
            loop.execute { [self] in
                let r = socket.withLock { s -> Result<Void, WebSocketError> in
                    guard let fd = s?.raw else { return .failure(.closed) }
                    do throws(SystemError) {
                        try loop.register(self, fd: fd, read: true, write: false)
                        return .success(())
                    } catch {
                        return .failure(WebSocketError(error))
                    }
                }
                c.resume(returning: r)
            }
        }
        try result.get()
    }

    /// Stops accepting and closes the listening socket.
    func close() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            loop.execute { [self] in
                socket.withLock { s in
                    if let fd = s?.raw { loop.deregister(fd: fd) }
                    s = nil
                }
                loop.cancelTimer(self)  // an accept backoff, if any: nothing to retry now
                c.resume()
            }
        }
    }

    func handleReadiness(_ event: PollEvent) {
        guard let fd = socket.withLock({ $0?.raw }) else { return }
        for _ in 0..<64 {
            let accepted: Int32?
            do {
                accepted = try Sys.accept(fd)
            } catch {
                if error.kind == .outOfResources {
                    // Out of descriptors: stop accepting for a moment instead of spinning.
                    paused = true
                    loop.setInterest(fd: fd, read: false, write: false)
                    loop.schedule(self, at: loop.refreshNow() + .milliseconds(100))
                }
                return
            }
            guard let client = accepted else { return }
            hand(client)
        }
    }

    private func hand(_ client: Int32) {
        // The group's loops were all made when the listener took its own, so this cannot fail;
        // the listener's loop stands in if it ever did.
        let target = (try? context.configuration.group.next()) ?? loop
        let peer = Sys.peerAddress(client)
        let configuration = context.configuration
        var transport: (@Sendable () -> any Transport)? = nil
        if let made = context.makeTransport() { transport = { made } }  // TLS with the current certificates
        var stages = configuration.makeStages?(peer) ?? []
        // The PROXY protocol header comes first (before TLS), within the handshake deadline.
        if let proxy = configuration.proxyProtocol { stages.insert(proxy.stage(for: peer, deadline: nil), at: 0) }
        let setup = ChannelSetup(stages: stages, transport: transport,
                                 handshake: .server(context.handshakeOptions), stageTimeout: configuration.handshakeTimeout)
        let channel = Channel(loop: target, socket: FileDescriptor(client), role: .server, setup: setup,
                              deadline: loop.now + configuration.handshakeTimeout,
                              flow: configuration.flowControl, peer: peer, server: context)
        let admitted = context.admit(channel)
        // At the cap (or over the buffered-bytes cap): answer 503 and close (not counted).
        let refusal = admitted ? nil : HTTPResponse.serviceUnavailable
        if target === loop {
            channel.startServer(refusal: refusal)
        } else {
            target.execute { channel.startServer(refusal: refusal) }
        }
    }

    func handleTimer() {
        guard paused, let fd = socket.withLock({ $0?.raw }) else { return }
        paused = false
        loop.setInterest(fd: fd, read: true, write: false)
    }
}
