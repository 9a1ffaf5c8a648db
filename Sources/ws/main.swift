// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// A peer that goes away must not kill the tool with SIGPIPE; the write fails instead.
signal(SIGPIPE, SIG_IGN)

let options: CommandLineOptions
do {
    options = try CommandLineOptions.parse(Array(CommandLine.arguments.dropFirst()))
} catch {
    Terminal.error("ws: \(error.message)")
    Terminal.error("Try 'ws --help'.")
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
exit(status)
