// SPDX-License-Identifier: Apache-2.0
import WSPosixIO
import WSTLS

/// What the user asked `ws` to do, parsed by hand from the arguments (the package has no
/// dependencies, so no ArgumentParser).
enum CommandLineOptions: Equatable {

    /// A whole number written in decimal digits only: `Int(_:)` also takes a sign ("+80").
    static func decimal(_ text: String) -> Int? {
        guard !text.isEmpty, text.utf8.count <= 18, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return Int(text)
    }

    /// `ws serve [--host H] [--port P] [--no-deflate] [--tls-cert FILE --tls-key FILE]
    /// [--trusted-proxy A/N]... [--forwarded] [--redis URL] [--drain S]
    /// [--allow-origin ORIGIN]... [--threads N] [--max-connections N] [--max-buffered SIZE]`
    case serve(Serve)
    /// `ws connect URL [-H 'Name: value']... [--subprotocol P]... [--origin O] [--no-deflate]
    /// [--cacert FILE]... [--insecure] [--proxy URL] [-v] [--max-redirects N] [--binary]
    /// [--ping-interval SECONDS] [--reconnect]`
    case connect(Connect)
    /// `ws autobahn-client --url ws://HOST:PORT --agent NAME`
    case autobahnClient(url: String, agent: String)
    /// `ws --help`, `ws help`, `ws COMMAND --help`
    case help

    struct Serve: Equatable {
        var host = "127.0.0.1"
        var port = 8080
        /// Accept permessage-deflate offers (`--no-deflate` turns it off).
        var deflate = true
        /// PEM certificate chain and key: serve over TLS (`wss://`, `https://`).
        var tlsCertificate: String?
        var tlsKey: String?
        /// TLS 1.3 session tickets per handshake (`--tls-session-tickets N`; default none).
        var tlsSessionTickets = 0
        /// Expect a PROXY protocol header from trusted proxies (refuse one from anyone else).
        var proxyProtocol = false
        /// Trusted proxies besides loopback (for the PROXY protocol and forwarding headers).
        var trustedProxies: [String] = []
        /// Apply `Forwarded` / `X-Forwarded-For` from trusted proxies to the peer address.
        var forwarded = false
        /// `redis://HOST:PORT[/N]`: fan /chat out over Redis pub/sub.
        var redis: String?
        /// Seconds between SIGTERM (healthz turns 503) and closing connections with 1001.
        var drainSeconds: Int = 0
        /// `--allow-origin` values, on top of the page's own origin and clients without `Origin`.
        var allowedOrigins: [String] = []
        /// Event-loop threads (`--threads N`); `nil`: one per CPU this process may use.
        var threads: Int?
        /// `--max-connections N`: connections at once; `nil` for the library's default (10,000).
        var maxConnections: Int?
        /// `--max-buffered SIZE`: new connections are refused while the connections' buffered
        /// bytes reach this; `nil` for no cap.
        var maxBufferedBytes: Int?
    }

    struct Connect: Equatable {
        var url: String
        /// PEM files of extra trust roots (`--cacert`).
        var trustRoots: [String] = []
        /// `--insecure`: no certificate verification (a warning is printed).
        var insecure = false
        var headers: [Header] = []
        var subprotocols: [String] = []
        var origin: String?
        /// Offer permessage-deflate (`--no-deflate` turns it off).
        var deflate = true
        /// `--reconnect`: connect again after a drop or a 1001/1012/1013 close (``ReconnectPolicy``).
        var reconnect = false
        /// `--proxy URL`: the proxy (validated); `""` for none; `nil`: from the environment.
        var proxy: String?
        /// `-v`: the TLS session and certificate, then each opening handshake's request and
        /// response heads (every redirect hop), on standard error.
        var verbose = false
        /// `--max-redirects N`; `nil` for the library's default (10).
        var maxRedirects: Int?
        /// `--binary`: each input line goes out as a binary message.
        var binary = false
        /// `--ping-interval SECONDS`: keepalive pings (pong timeout the same).
        var pingInterval: Duration?
    }

    struct Header: Equatable {
        var name: String
        var value: String
    }

    /// A usage mistake: the message is printed with a pointer to `ws --help`, exit status 2.
    struct UsageError: Error, Equatable {
        var message: String
    }

    /// A byte count: decimal digits, optionally followed by K, M or G (2^10, 2^20, 2^30).
    static func byteCount(_ text: String) -> Int? {
        let shifts: [Character: Int] = ["K": 10, "k": 10, "M": 20, "m": 20, "G": 30, "g": 30]
        var digits = Substring(text), shift = 0
        if let last = digits.last, let s = shifts[last] { shift = s; digits = digits.dropLast() }
        guard let value = decimal(String(digits)), value <= Int.max >> shift else { return nil }
        return value << shift
    }

    static func parse(_ arguments: [String]) throws(UsageError) -> CommandLineOptions {
        guard let command = arguments.first else { return .help }
        var rest = ArraySlice(arguments.dropFirst())
        if rest.contains("--help") || rest.contains("-h") { return .help }
        switch command {
        case "help", "--help", "-h":
            return .help
        case "serve":
            var serve = Serve()
            while let option = rest.popFirst() {
                switch option {
                case "--host": serve.host = try value(of: option, in: &rest)
                case "--port": serve.port = try portNumber(try value(of: option, in: &rest))
                case "--no-deflate": serve.deflate = false
                case "--tls-cert": serve.tlsCertificate = try value(of: option, in: &rest)
                case "--tls-key": serve.tlsKey = try value(of: option, in: &rest)
                case "--tls-session-tickets":
                    serve.tlsSessionTickets = try count(of: option, in: &rest, TLSServerConfiguration.sessionTicketRange, "tickets")
                case "--proxy-protocol": serve.proxyProtocol = true
                case "--forwarded": serve.forwarded = true
                case "--trusted-proxy":
                    let text = try value(of: option, in: &rest)
                    guard IPAddressPrefix(text) != nil else {
                        throw UsageError(message: "--trusted-proxy: '\(text)' is not ADDRESS or ADDRESS/PREFIX (e.g. 10.0.0.0/8)")
                    }
                    serve.trustedProxies.append(text)
                case "--redis":
                    let text = try value(of: option, in: &rest)
                    do throws(RedisURL.ParseError) { _ = try RedisURL(text) } catch {
                        throw UsageError(message: "--redis: \(error.message)")
                    }
                    serve.redis = text
                case "--threads":
                    serve.threads = try count(of: option, in: &rest, 1...1024, "threads")
                case "--max-connections":
                    serve.maxConnections = try count(of: option, in: &rest, 1...10_000_000, "connections")
                case "--max-buffered":
                    let text = try value(of: option, in: &rest)
                    guard let bytes = Self.byteCount(text), (1...(1 << 40)).contains(bytes) else {
                        throw UsageError(message: "--max-buffered: '\(text)' is not a size (bytes, or a number with K, M or G; at most 1024G)")
                    }
                    serve.maxBufferedBytes = bytes
                case "--drain":
                    serve.drainSeconds = try count(of: option, in: &rest, 0...3600, "seconds")
                case "--allow-origin":
                    let origin = try value(of: option, in: &rest)
                    guard origin == "*" || (origin.contains("://") && !origin.contains(" ")) else {
                        throw UsageError(message: "--allow-origin: '\(origin)' is not an origin (scheme://host[:port], scheme://*.domain, or *)")
                    }
                    serve.allowedOrigins.append(origin)
                default: throw UsageError(message: "serve: unknown option '\(option)'")
                }
            }
            guard (serve.tlsCertificate == nil) == (serve.tlsKey == nil) else {
                throw UsageError(message: "serve: --tls-cert and --tls-key go together")
            }
            guard serve.tlsSessionTickets == 0 || serve.tlsCertificate != nil else {
                throw UsageError(message: "serve: --tls-session-tickets needs --tls-cert and --tls-key")
            }
            return .serve(serve)
        case "connect":
            var url: String?
            var options = Connect(url: "")
            while let option = rest.popFirst() {
                switch option {
                case "-H", "--header":
                    let text = try value(of: option, in: &rest)
                    guard let colon = text.firstIndex(of: ":"), colon != text.startIndex else {
                        throw UsageError(message: "connect: header '\(text)' is not 'Name: value'")
                    }
                    let name = String(text[..<colon])
                    let value = String(text[text.index(after: colon)...].drop { $0 == " " || $0 == "\t" })
                    options.headers.append(Header(name: name, value: value))
                case "--subprotocol": options.subprotocols.append(try value(of: option, in: &rest))
                case "--reconnect": options.reconnect = true
                case "--origin": options.origin = try value(of: option, in: &rest)
                case "--no-deflate": options.deflate = false
                case "--cacert": options.trustRoots.append(try value(of: option, in: &rest))
                case "--insecure", "-k": options.insecure = true
                case "--proxy":
                    let proxy = try value(of: option, in: &rest)
                    if !proxy.isEmpty {
                        do { _ = try WebSocket.Proxy(url: proxy) } catch { throw UsageError(message: "--proxy: \(Self.reason(error))") }
                    }
                    options.proxy = proxy
                case "-v", "--verbose": options.verbose = true
                case "--max-redirects":
                    let text = try value(of: option, in: &rest)
                    guard let n = Self.decimal(text), (0...100).contains(n) else {
                        throw UsageError(message: "--max-redirects: '\(text)' is not a number from 0 to 100")
                    }
                    options.maxRedirects = n
                case "--binary": options.binary = true
                case "--ping-interval":
                    let text = try value(of: option, in: &rest)
                    guard let seconds = Double(text), seconds.isFinite, seconds >= 0.01, seconds <= 86_400 else {
                        throw UsageError(message: "--ping-interval: '\(text)' is not a number of seconds from 0.01 to 86400")
                    }
                    options.pingInterval = .milliseconds(Int64((seconds * 1000).rounded()))
                default:
                    guard !option.hasPrefix("-"), url == nil else {
                        throw UsageError(message: "connect: unexpected argument '\(option)'")
                    }
                    url = option
                }
            }
            guard let url else { throw UsageError(message: "connect: missing URL") }
            options.url = url
            return .connect(options)
        case "autobahn-client":
            var url: String?, agent: String?
            while let option = rest.popFirst() {
                switch option {
                case "--url": url = try value(of: option, in: &rest)
                case "--agent": agent = try value(of: option, in: &rest)
                default: throw UsageError(message: "autobahn-client: unknown option '\(option)'")
                }
            }
            guard let url else { throw UsageError(message: "autobahn-client: missing --url") }
            guard isFuzzingServerURL(url) else {
                throw UsageError(message: "autobahn-client: --url '\(url)' is not a ws:// or wss:// URL without query or fragment")
            }
            let name = agent ?? "swift-websocket-sansio"
            guard (1...100).contains(name.count) else {
                throw UsageError(message: "autobahn-client: --agent must be 1-100 characters")
            }
            return .autobahnClient(url: url, agent: name)
        default:
            throw UsageError(message: "unknown command '\(command)'")
        }
    }

    /// The text of an invalid argument, without the case name.
    private static func reason(_ error: WebSocketError) -> String {
        if case .invalidArgument(let why) = error { return why }
        return "\(error)"
    }

    private static func value(of option: String, in rest: inout ArraySlice<String>) throws(UsageError) -> String {
        guard let value = rest.popFirst() else { throw UsageError(message: "\(option) needs a value") }
        return value
    }

    /// The option's value as a whole number in `range`, or a usage error that names `unit`
    /// ("--threads: 'two' is not a number of threads (1-1024)").
    private static func count(of option: String, in rest: inout ArraySlice<String>, _ range: ClosedRange<Int>,
                              _ unit: String) throws(UsageError) -> Int {
        let text = try value(of: option, in: &rest)
        guard let count = decimal(text), range.contains(count) else {
            throw UsageError(message: "\(option): '\(text)' is not a number of \(unit) (\(range.lowerBound)-\(range.upperBound))")
        }
        return count
    }

    /// A `ws://` or `wss://` URL with a host and no query or fragment: the tool appends the
    /// fuzzing server's paths and queries to it.
    private static func isFuzzingServerURL(_ text: String) -> Bool {
        let lower = text.lowercased()
        guard let scheme = ["ws://", "wss://"].first(where: { lower.hasPrefix($0) }) else { return false }
        let rest = text.dropFirst(scheme.count)
        guard let first = rest.first, first != "/", first != ":" else { return false }
        return !text.contains("?") && !text.contains("#") && !text.contains(where: { $0.isWhitespace })
    }

    private static func portNumber(_ text: String) throws(UsageError) -> Int {
        guard let port = Self.decimal(text), (0...65535).contains(port) else {
            throw UsageError(message: "--port: '\(text)' is not a port number (0-65535)")
        }
        return port
    }

    /// The text of `ws --help`.
    static let helpText = """
    ws — a WebSocket client, server and test tool (RFC 6455)

    USAGE
      ws serve [--host 127.0.0.1] [--port 8080] [--no-deflate]
               [--tls-cert FILE --tls-key FILE [--tls-session-tickets N]]
               [--proxy-protocol] [--trusted-proxy ADDRESS/PREFIX]... [--forwarded]
               [--redis redis://HOST:PORT[/N]]
               [--drain SECONDS]
               [--allow-origin ORIGIN]... [--threads N]
               [--max-connections N] [--max-buffered SIZE]
          Serve a demo page on http://HOST:PORT/ and WebSocket endpoints:
            /echo    sends every message back (same type, same bytes)
            /chat    sends every message to every connected peer
            /report  prints every text message it receives on standard output, as one line
          /selftest is a page that tests the browser's WebSocket against /echo and /chat and
          reports "SELFTEST PASS" or "SELFTEST FAIL: ..." to /report.
          /healthz answers 200 "ok", or 503 "draining" once a shutdown has begun.
          The first line of output is "listening on ws://HOST:PORT" (with --port 0, the port
          the system chose). Ctrl-C or SIGTERM closes every connection with 1001 and exits;
          with --drain SECONDS, /healthz says "draining" (503) for that long first, and new
          upgrades get 503 (so a load balancer stops routing here), while open connections
          keep working; a second Ctrl-C or SIGTERM ends the draining at once.
          --threads N runs N event-loop threads (default: one per CPU this process may use,
          after its CPU affinity and cgroup CPU quota).
          --max-connections N (default 10,000) refuses connections beyond N at once with 503
          (over TLS, which could not read that, with a fatal TLS alert); --max-buffered SIZE
          (bytes, or with K, M or G) refuses new ones the same way while the bytes buffered
          across connections reach SIZE (default: no cap; each connection is bounded by its
          own limits either way).
          permessage-deflate offers are accepted (windows of at most 2^12 bytes, zlib
          memLevel 5); --no-deflate declines them.
          With --tls-cert (PEM certificate chain, leaf first) and --tls-key (PEM private key)
          everything is served over TLS: the page on https://, the endpoints on wss://, and
          the first line is "listening on wss://HOST:PORT". SIGHUP reloads both files (new
          connections get the new certificate; on error the old one stays and one line is
          printed on standard error). No session tickets are sent (every client runs a full
          handshake) unless --tls-session-tickets N (0-16) asks for N per handshake.
          Behind a load balancer:
            --proxy-protocol    every connection from a trusted proxy must start with a PROXY
                                protocol header (v1 or v2, as HAProxy's send-proxy[-v2]
                                writes); the log then shows the real client. A connection
                                from any other peer that starts with one is closed.
            --trusted-proxy A/N trust this address or network too (repeatable); loopback is
                                always trusted.
            --forwarded         take the client from Forwarded / X-Forwarded-For when the
                                direct peer is a trusted proxy (nginx).
            --redis URL         send /chat messages through Redis pub/sub (channel "ws:chat"),
                                so members on every instance hear each other; reconnects with
                                backoff, and while Redis is down /chat stays local.
          WebSocket requests are accepted from the server's own page (Origin
          http(s)://HOST:PORT, with HOST the --host, localhost, 127.0.0.1 or [::1]) and from
          clients that send no Origin; others get 403. --allow-origin adds an origin
          (https://example.com), all subdomains (https://*.example.com), or any (*).
          Each connection's opening and end are logged on standard error. Both outputs are
          written by a thread of their own, so output nobody reads never stops the server:
          beyond 1 MiB unread, log lines are dropped and counted ("ws: N line(s) dropped"),
          and /report stops reading its connections until its lines can be written.

      ws connect URL [-H 'Name: value']... [--subprotocol P]... [--origin O] [--no-deflate]
                 [--cacert FILE]... [--insecure] [--proxy URL] [-v] [--max-redirects N] [--binary]
                 [--ping-interval SECONDS] [--reconnect]
          Connect to URL (ws:// or wss://), send each line of standard input as a text message, and
          print each message received on its own line; binary messages are printed as
          "[binary N bytes] 01 02 03". At the end of input, close with 1000, print what still
          arrives, and exit 0 once the close handshake is done (a line over 16 MiB is not sent:
          it ends the input likewise, with one line on standard error, and exit 1). When standard output closes
          (ws connect URL | head -1), close with 1001 and exit 1. On failure print one line
          "ws: <reason>" on standard error and exit 1 (a refused handshake prints the HTTP
          status, e.g. "ws: handshake failed: 403 Forbidden"). permessage-deflate is offered
          unless --no-deflate is given. wss:// verifies the server against the system trust
          store and the host name; --cacert adds the PEM certificates in FILE as trust roots;
          --insecure (-k) skips verification and prints a warning on standard error. A TLS
          failure prints OpenSSL's reason, e.g. "ws: TLS certificate verification failed:
          certificate has expired".
          With --reconnect, a connection that drops (no close handshake) or that the server
          closes with 1001, 1012 or 1013 is made again after a delay (exponential backoff
          from 0.25 s, doubling, jittered, capped at 30 s, back to 0.25 s only after a
          connection that stayed open 10 s; at most 10 failed attempts in a row, retried
          only when refused, reset, timed out or answered 502/503/504); each
          loss prints "ws: connection lost (...); reconnecting in N ms" and each new
          connection "ws: reconnected". Lines typed while disconnected are not sent (one
          line on standard error says so, once per disconnection).
            --proxy URL          tunnel through a proxy: http://[user:pass@]host:port (CONNECT),
                                 socks5h:// (the proxy resolves names), socks5://, socks4a://;
                                 '' for none. Without it, http_proxy (ws://), https_proxy
                                 (wss://), all_proxy and no_proxy are read as curl does.
            -v                   print each opening handshake's request ("> ") and response
                                 ("< ") heads on standard error (every redirect hop, a
                                 refusal too), after the TLS session and certificate ("* ").
            --max-redirects N    follow at most N redirects (301/302/303/307/308); default 10.
            --binary             send each line as a binary message instead of text.
            --ping-interval S    send a ping after S seconds of silence; fail (exit 1) when
                                 its pong does not come within S seconds.

      ws autobahn-client --url ws://HOST:PORT --agent NAME
          Be the client testee of an Autobahn|Testsuite-style fuzzing server: read the case
          count from /getCaseCount, run each case on /runCase?case=N&agent=NAME echoing every
          message back unchanged, then call /updateReports?agent=NAME. URL is ws:// or
          wss:// without query or fragment; NAME is 1-100 characters. A case count that is
          not a whole number from 0 to 100000 is a bad answer (exit 1). permessage-deflate
          is offered on every case (Autobahn sections 12 and 13 need it).

      ws --help
          Show this text.

    OUTPUT
      Text from peers (messages, close reasons, paths) is printed escaped, one line each:
      \\ \\n \\r \\t, \\xHH for other control characters (ESC is \\x1B), \\u{XXXX} for C1
      controls, bidi controls and line separators.

    EXIT STATUS
      0 success, 1 failure (connection, handshake, protocol), 2 usage error.

    """
}
