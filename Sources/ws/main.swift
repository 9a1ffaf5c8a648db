// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// Block SIGINT/SIGTERM before any thread starts: `ws serve` receives them with sigwait and
// shuts down gracefully (close 1001 to every peer).
SignalWaiter.blockTermination()
signal(SIGPIPE, SIG_IGN)

let options: CommandLineOptions
do {
    options = try CommandLineOptions.parse(Array(CommandLine.arguments.dropFirst()))
} catch {
    Terminal.error("ws: \(error.message)\nTry 'ws --help'.")
    exit(2)
}

let status: Int32
switch options {
case .help:
    Terminal.line(CommandLineOptions.helpText)
    status = 0
case .serve(let host, let port):
    status = await ServeCommand(host: host, port: port).run()
case .connect(let connect):
    status = await ConnectCommand(options: connect).run()
case .autobahnClient(let url, let agent):
    status = await AutobahnClientCommand(url: url, agent: agent).run()
}
exit(status)
