// SPDX-License-Identifier: Apache-2.0
struct AutobahnClientCommand {
    var url: String
    var agent: String
    func run() async -> Int32 { Terminal.error("ws: autobahn-client not yet implemented"); return 1 }
}
