// SPDX-License-Identifier: Apache-2.0
public import WSProtocol

// Answers before the close (the driver's half; the core's is `Connection.eventsAnswered(now:)`).
//
// When messages and a protocol violation, or the peer's close frame, arrive in one read, the
// core delivers the messages and holds our close frame back (`Configuration.answerTimeout`).
// The driver tells it when the application has had its chance to answer them:
// - an event handler on the loop thread: once the handler has run for the whole batch;
// - the async API: when the consumer comes back for the next event and none is left (it has
//   handled, and answered, everything delivered before);
// - nobody consuming (the handle was dropped): at once.
// Whatever the application sent meanwhile is already in the outbound buffer, so it precedes the
// close frame on the wire. If none of these happens, the core's answer timeout sends the close.

extension Channel {
    /// The application has handled every event delivered so far: tells the core (so a later
    /// close is not held for them), lets it send the close it holds, if any, and writes that
    /// after what the application queued. Any thread, under the lock.
    func eventsAnswered(_ st: inout ChannelState, _ w: inout ChannelWakeups) {
        guard let core = st.lifecycle.openCore,
              !core._withUnsafeGuaranteedRef({ $0.connection.eventsAnsweredIfNothingHeld() }) else { return }
        // A close is held (only while open: the answering state is the open phase's).
        let now = MonotonicClock.now()
        let outputs = core._withUnsafeGuaranteedRef { $0.connection.eventsAnswered(now: now) }
        perform(outputs, &st, &w)
        if !st.wantsWrite && !st.deliveringInline { flush(&st, &w, now: MonotonicClock.now()) }
        w.needsLoop = true  // closing and timers are settled on the loop
    }
}

extension Connection.Configuration {
    /// The core's configuration as WSPosixIO uses it unless told otherwise: the core's defaults,
    /// with answers before the close on (`Connection.Configuration.answerTimeout`
    /// 10 s): an echo of a message that arrived together with a protocol violation or the
    /// peer's close frame goes out before our close frame. The default of
    /// ``WebSocket/ClientConfiguration/connection`` and ``WebSocketServer/Configuration/connection``.
    ///
    /// It also bounds every wait on the peer, as a socket server needs (a peer that vanishes must
    /// not hold a slot forever): keepalive on, a ping after 20 s without a byte from the peer and
    /// failure with 1011 when its pong is not back within 20 s (as python-websockets'
    /// `ping_interval` / `ping_timeout`); a started message that receives no byte for 30 s fails
    /// with 1008 (`Connection.Configuration.messageTimeout`). Set `keepalive` or
    /// `messageTimeout` to `nil` to turn them off; `Connection.Configuration.idleTimeout`
    /// stays off.
    public static var socketDefault: Connection.Configuration {
        var configuration = Connection.Configuration()
        configuration.answerTimeout = .seconds(10)
        configuration.keepalive = .init(interval: .seconds(20), timeout: .seconds(20))
        configuration.messageTimeout = .seconds(30)
        return configuration
    }
}

