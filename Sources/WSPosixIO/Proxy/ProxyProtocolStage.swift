// SPDX-License-Identifier: Apache-2.0
import WSProtocol

/// The server's first ``StreamStage`` when the PROXY protocol is on: reads the header a trusted
/// load balancer puts in front of the client's bytes, or makes sure an untrusted peer sends none.
///
/// - ``Mode/require``: the peer is a trusted proxy; the connection must start with a valid
///   header (v1 or v2). The stage ends with the header's addresses as
///   ``StreamStageFacts/source`` and ``StreamStageFacts/destination`` (none for v1 `UNKNOWN`
///   and v2 `LOCAL`: the socket's own endpoints stand) and hands on the bytes after it.
/// - ``Mode/refuse``: the peer is not trusted; a connection that starts like a PROXY header
///   (`PROXY ` or the v2 signature) fails with ``ProxyHeaderError/untrustedSource``, anything
///   else is handed on untouched (it holds back at most the 12 bytes needed to tell).
///
/// Either way the stage gives up at `deadline` (``WebSocketError/Timeout/handshake``): the
/// server passes the end of its handshake timeout, so the header and the request head share it.
struct ProxyProtocolStage: StreamStage {
    enum Mode: Hashable, Sendable {
        case require(ProxyHeaderParser.Limits)
        case refuse
    }

    private let mode: Mode
    private var parser: ProxyHeaderParser
    private var held: [UInt8] = []
    private let deadline: Instant?
    private var finished = false

    init(mode: Mode, deadline: Instant?) {
        self.mode = mode
        self.deadline = deadline
        if case .require(let limits) = mode {
            parser = ProxyHeaderParser(limits: limits)
        } else {
            parser = ProxyHeaderParser()
        }
    }

    mutating func start(now: Instant) -> [UInt8] { [] }

    var nextDeadline: Instant? { finished ? nil : deadline }

    mutating func receive(_ bytes: UnsafeRawBufferPointer, now: Instant) -> StreamStageStep {
        guard !finished else { return .failed(.closed) }
        switch mode {
        case .require:
            do throws(ProxyHeaderError) {
                guard let (header, leftover) = try parser.parse(bytes) else { return .needMoreData(write: []) }
                finished = true
                return .done(write: [], leftover: leftover,
                             facts: StreamStageFacts(source: header.source, destination: header.destination))
            } catch {
                finished = true
                return .failed(.proxyProtocol(error))
            }
        case .refuse:
            held.append(contentsOf: bytes)
            let v1 = held.starts(with: ProxyHeader.v1Prefix.prefix(held.count))
            let v2 = held.starts(with: ProxyHeader.v2Signature.prefix(held.count))
            if (v1 && held.count >= ProxyHeader.v1Prefix.count) || (v2 && held.count >= ProxyHeader.v2Signature.count) {
                finished = true
                return .failed(.proxyProtocol(.untrustedSource))
            }
            if v1 || v2 { return .needMoreData(write: []) }
            finished = true
            defer { held = [] }
            return .done(write: [], leftover: held, facts: StreamStageFacts())
        }
    }

    mutating func receiveEndOfStream(now: Instant) -> StreamStageStep {
        guard !finished else { return .failed(.closed) }
        finished = true
        switch mode {
        case .require:
            do throws(ProxyHeaderError) {
                try parser.finish()
                return .failed(.remoteHostClosed)  // unreachable: a finished parser ended the stage
            } catch {
                return .failed(.proxyProtocol(error))
            }
        case .refuse:
            return .failed(.remoteHostClosed)
        }
    }

    mutating func handleTimeout(now: Instant) -> StreamStageStep {
        guard !finished, let deadline, now >= deadline else { return .needMoreData(write: []) }
        finished = true
        return .failed(.timeout(.handshake))
    }
}
