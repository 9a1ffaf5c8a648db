// SPDX-License-Identifier: Apache-2.0
import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// A peer that goes away must not kill the tool with SIGPIPE; the write fails instead.
signal(SIGPIPE, SIG_IGN)

// The concurrency runtime runs on libdispatch, whose event loop needs descriptors of its own
// (epoll, eventfd, timerfd) and traps when it cannot make them, whenever that first happens:
// with too few free, say so now; otherwise make it set up now (a timer armed far ahead, kept),
// so that descriptors running out later (a connection flood) cannot take the runtime down.
if !Descriptors.haveFree(8) {
    Terminal.error("ws: out of resources")
    exit(1)
}
let dispatchWarmUp = DispatchSource.makeTimerSource()
dispatchWarmUp.schedule(deadline: .now() + .seconds(365 * 86_400))
dispatchWarmUp.setEventHandler {}
dispatchWarmUp.resume()
// And the main queue's wake-up handle (an eventfd): made the first time something is queued on
// the main queue, or else when the main thread leaves for `dispatch_main` (the async top-level
// code), in its thread-exit cleanup, where a failure traps (seen with descriptors running out
// while the tool started: `TufaoParityTests` OUT_OF_RESOURCES under load, 5 in 500 runs).
DispatchQueue.main.async {}

let options: CommandLineOptions
do {
    options = try CommandLineOptions.parse(Array(CommandLine.arguments.dropFirst()))
} catch {
    // One line, as every error of the tool (the usage is one command away).
    Terminal.error("ws: \(error.message) (try 'ws --help')")
    exit(2)
}

let status: Int32
switch options {
case .help:
    Terminal.trustedText(CommandLineOptions.helpText + "\n")
    status = 0
case .serve(let serve):
    status = await ServeCommand(options: serve).run()
case .connect(let connect):
    status = await ConnectCommand(options: connect).run()
case .autobahnClient(let url, let agent):
    status = await AutobahnClientCommand(url: url, agent: agent).run()
}
Terminal.flush()
exit(status)

/// Whether the process can still open `count` descriptors (probed with `dup`, closed again).
enum Descriptors {
    static func haveFree(_ count: Int) -> Bool {
        var probes: [Int32] = []
        defer { for fd in probes { close(fd) } }
        for _ in 0..<count {
            let fd = dup(2)
            guard fd >= 0 else { return errno != EMFILE && errno != ENFILE }
            probes.append(fd)
        }
        return true
    }
}
