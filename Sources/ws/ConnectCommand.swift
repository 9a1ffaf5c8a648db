// SPDX-License-Identifier: Apache-2.0
import Synchronization
import WSPosixIO
import WSProtocol
import WSTLS

/// `ws connect URL`: standard input lines become text messages; received messages are printed
/// one per line; end of input closes with 1000 and waits for the close handshake.
///
/// Exit status 0 when the connection ends with a clean close handshake, 1 otherwise (with a
/// one-line reason on standard error). With `--reconnect`, lost connections are made again as
/// ``ReconnectPolicy`` says (one line on standard error per loss and per reconnection).
struct ConnectCommand {
    var options: CommandLineOptions.Connect

    func run() async -> Int32 {
        var configuration = WebSocket.ClientConfiguration(subprotocols: options.subprotocols,
                                                          origin: options.origin,
                                                          compression: options.deflate ? .default : nil)
        for header in options.headers { configuration.headers.add(name: header.name, value: header.value) }
        if !options.trustRoots.isEmpty {
            configuration.tls.trustRoots = .systemAnd(options.trustRoots.map { .file($0) })
        }
        if options.insecure {
            configuration.tls.verifiesPeer = false
            Terminal.error("ws: warning: --insecure: the server's certificate is not verified")
        }
        switch options.proxy {
        case nil: configuration.proxy = .environment  // as curl: http_proxy, https_proxy, all_proxy, no_proxy
        case ""?: configuration.proxy = .none
        case let url?: if let proxy = try? WebSocket.Proxy(url: url) { configuration.proxy = .proxy(proxy) }  // validated
        }
        if let n = options.maxRedirects { configuration.redirects = .init(maxRedirects: n) }
        if let interval = options.pingInterval {
            configuration.connection.keepalive = .init(interval: interval, timeout: interval)
        }
        if options.verbose {
            // Every handshake's heads, each redirect hop and a refusal included.
            configuration.onHandshake = { trace in
                if let tls = trace.tls { Self.printTLS(tls) }
                Self.printHead("> ", trace.request.bytes)
                if let response = trace.response { Self.printHead("< ", response.bytes) }
            }
        }
        let input = Input()
        var sender: Task<Void, Never>? = nil
        defer { sender?.cancel() }

        var reconnector = Reconnector(policy: ReconnectPolicy())
        var generator = SystemRandomNumberGenerator()
        var everConnected = false
        while true {
            let ws: WebSocket
            do {
                ws = try await WebSocket.connect(to: options.url, configuration: configuration)
            } catch {
                guard options.reconnect, !input.ended,
                      case .reconnect(let delay) = reconnector.attemptFailed(error, using: &generator) else {
                    Terminal.error("ws: \(Self.describe(error))")
                    return 1
                }
                Terminal.error("ws: \(Self.describe(error)); reconnecting in \(Self.milliseconds(delay)) ms")
                try? await Task.sleep(for: delay)
                continue
            }
            reconnector.connected()
            let opened = ContinuousClock.now
            if everConnected { Terminal.error("ws: reconnected") }
            everConnected = true
            if let subprotocol = ws.subprotocol { Terminal.error("ws: subprotocol \(subprotocol)") }
            input.current = ws
            if input.ended { try? ws.close(code: .normalClosure) }
            if sender == nil {
                // Standard input → text messages on the current connection (from the first one
                // on); at its end, the close handshake (RFC 6455 §7.1.2).
                sender = Task {
                    let lines = BlockingLines.standardInput()
                    for await line in lines {
                        guard let ws = input.current else {
                            // Said once per disconnection, and only when a connection may come
                            // back (without --reconnect the tool is exiting).
                            if options.reconnect && input.noticeDroppedLine() {
                                Terminal.error("ws: not connected, lines are not sent until reconnected")
                            }
                            continue
                        }
                        try? await ws.send(options.binary ? .binary(line) : .text(String(decoding: line, as: UTF8.self)))
                    }
                    if let failure = lines.lineTooLong {
                        // Nothing after it is sent: the tool stops (exit 1) after a normal close.
                        Terminal.error("ws: standard input: a line is longer than \(failure.limit) bytes; not sent")
                        input.failInput()
                    }
                    input.endOfInput()
                    if let ws = input.current { try? ws.close(code: .normalClosure) }
                }
            }

            var ending = CloseInfo(code: .abnormalClosure)
            var outputGone = false
            for await event in ws {
                switch event {
                case .text, .binary:
                    if let message = event.message, !outputGone, !Terminal.message(message) {
                        // Standard output is gone (`ws connect URL | head -1`): nothing can be
                        // printed any more, so the connection closes instead of running on.
                        outputGone = true
                        try? ws.close(code: .goingAway)
                    }
                case .fragment, .ping, .pong:
                    continue
                case .closed(let info):
                    ending = info
                }
            }
            input.current = nil
            if outputGone {
                Terminal.error("ws: standard output closed")
                return 1
            }
            guard options.reconnect, !input.ended,
                  case .reconnect(let delay) = reconnector.connectionEnded(ending, openFor: opened.duration(to: .now),
                                                                           using: &generator) else {
                let status = Self.exitStatus(for: ending)
                return input.failed ? 1 : status
            }
            Terminal.error("ws: connection lost (\(ending)); reconnecting in \(Self.milliseconds(delay)) ms")
            try? await Task.sleep(for: delay)
        }
    }

    static func milliseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }

    /// The connection standard input goes to, and whether input has ended.
    final class Input: Sendable {
        private let state = Mutex<(current: WebSocket?, ended: Bool, dropNoticed: Bool, failed: Bool)>((nil, false, false, false))
        var current: WebSocket? {
            get { state.withLock { $0.current } }
            set {
                state.withLock {
                    $0.current = newValue
                    if newValue != nil { $0.dropNoticed = false }
                }
            }
        }
        var ended: Bool { state.withLock { $0.ended } }
        func endOfInput() { state.withLock { $0.ended = true } }
        /// Whether the input could not be sent whole (a line over ``BlockingLines/maxLineLength``):
        /// the exit status is then 1.
        var failed: Bool { state.withLock { $0.failed } }
        func failInput() { state.withLock { $0.failed = true } }
        /// A line came while no connection is open: `true` for the first such line since the
        /// last connection opened (one line on standard error says lines are dropped), `false`
        /// for the others.
        func noticeDroppedLine() -> Bool {
            state.withLock { st in
                defer { st.dropNoticed = true }
                return !st.dropNoticed
            }
        }
    }

    static func exitStatus(for info: CloseInfo) -> Int32 {
        if case .handshakeCompleted(let peer, let initiatedLocally) = info.closeReason {
            if !initiatedLocally {
                let reason = peer.reason.isEmpty ? "" : " \(peer.reason)"
                Terminal.error("ws: closed by peer: \(peer.code.rawValue)\(reason)")
            }
            return 0
        }
        Terminal.error("ws: connection failed: \(info)")
        return 1
    }

    /// An HTTP head on standard error, each line escaped and prefixed (`> ` sent, `< ` received).
    /// `-v` over TLS: the session and the server's certificate, as `* ` lines (the TLS
    /// handshake comes before the heads).
    static func printTLS(_ tls: TLSSessionInfo) {
        Terminal.error("* TLS: \(tls.version), \(tls.cipher), ALPN \(tls.applicationProtocol ?? "none")")
        if let certificate = tls.peerCertificate {
            Terminal.error("* certificate: subject \(certificate.subject); issuer \(certificate.issuer)")
            let hex = certificate.sha256Fingerprint.map { b in
                let digits = Array("0123456789ABCDEF")
                return String([digits[Int(b >> 4)], digits[Int(b & 15)]])
            }
            Terminal.error("* certificate SHA-256: \(hex.joined(separator: ":"))")
        }
        if !tls.ignoredFailures.isEmpty {
            let names = tls.ignoredFailures.map(\.rawValue).sorted().joined(separator: ", ")
            Terminal.error("* verification failures ignored: \(names)")
        }
    }

    static func printHead(_ prefix: String, _ bytes: [UInt8]) {
        for line in headLines(prefix, bytes) { Terminal.error(line) }
    }

    /// The lines of a head as `-v` prints them, before ``Terminal/error(_:)`` escapes each one
    /// (once: escaped here too, a `\` in a header came out as `\\\\`).
    static func headLines(_ prefix: String, _ bytes: [UInt8]) -> [String] {
        let text = String(decoding: bytes, as: UTF8.self)
        return text.split(separator: "\r\n", omittingEmptySubsequences: true).map { prefix + $0 }
    }

    /// One line for a failed connect; a refused handshake gives the HTTP status and reason
    /// phrase (`handshake failed: 403 Forbidden`), a redirect not followed also its `Location`.
    /// Not escaped: ``Terminal/error(_:)`` escapes the line it prints.
    static func describe(_ error: WebSocketError) -> String {
        switch error {
        case .handshakeFailed(.refused(let status, let reason, _, _)):
            if let location = error.location { return "handshake failed: \(status) \(reason) (Location: \(location))" }
            return "handshake failed: \(status) \(reason)"
        case .handshakeFailed(let other):
            return "handshake failed: \(other.clientReasonText)"
        default:
            return "\(error)"
        }
    }
}
