// SPDX-License-Identifier: Apache-2.0
import WSPosixIO
import WSProtocol

/// The peers connected to `/chat`.
actor ChatRoom {
    private var members: [ObjectIdentifier: WebSocket] = [:]

    func join(_ ws: WebSocket) -> ObjectIdentifier {
        let id = ObjectIdentifier(ws)
        members[id] = ws
        return id
    }

    func leave(_ id: ObjectIdentifier) { members[id] = nil }

    /// Sends the message to every member, in join order of the snapshot; a member that is
    /// closing is skipped.
    func broadcast(_ message: Message) async {
        for ws in Array(members.values) {
            try? await ws.send(message)
        }
    }
}
