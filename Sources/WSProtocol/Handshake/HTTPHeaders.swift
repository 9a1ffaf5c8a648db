// SPDX-License-Identifier: Apache-2.0

/// An ordered collection of HTTP header fields with case-insensitive names (RFC 9110 §5).
///
/// Keeps every field in the order it was added or received, duplicates included, and keeps the
/// spelling of each name; lookups ignore ASCII case. List-valued fields (RFC 9110 §5.6.1) can be
/// read as tokens with ``tokens(_:)``, whether they came as one line or several.
///
/// ```swift
/// var headers: HTTPHeaders = ["Host": "example.com", "Upgrade": "websocket"]
/// headers.add(name: "Sec-WebSocket-Protocol", value: "chat, superchat")
/// headers.tokens("sec-websocket-protocol")   // ["chat", "superchat"]
/// ```
public struct HTTPHeaders: Hashable, Sendable, RandomAccessCollection, ExpressibleByDictionaryLiteral,
                           CustomStringConvertible {
    /// One header field: a name as spelled and its value.
    public struct Field: Hashable, Sendable {
        /// The field name as written (look fields up with `headers[name]`, which ignores case).
        public var name: String
        /// The field value, without surrounding whitespace.
        public var value: String

        /// A field `name: value`, stored as given. Fields whose name is not a token or whose
        /// value is not a valid field value are skipped when a head is written.
        public init(name: String, value: String) { self.name = name; self.value = value }
    }

    private var fields: [Field]

    /// An empty collection.
    public init() { fields = [] }

    /// A collection with these fields, in this order.
    public init(_ fields: [(name: String, value: String)]) {
        self.fields = fields.map { Field(name: $0.name, value: $0.value) }
    }

    /// A collection with these fields, in the literal's order (duplicates kept).
    public init(dictionaryLiteral elements: (String, String)...) {
        fields = elements.map { Field(name: $0.0, value: $0.1) }
    }

    /// The position of the first field (0).
    public var startIndex: Int { fields.startIndex }
    /// The position after the last field (the number of fields).
    public var endIndex: Int { fields.endIndex }
    /// The field at `position`, in the order added or received.
    public subscript(position: Int) -> Field { fields[position] }

    /// Appends a field, keeping any existing field with the same name.
    public mutating func add(name: String, value: String) {
        fields.append(Field(name: name, value: value))
    }

    /// Appends every field of `other`, in order.
    public mutating func add(contentsOf other: HTTPHeaders) {
        fields.append(contentsOf: other.fields)
    }

    /// Removes every field named `name` (any case), then appends `name: value`.
    public mutating func replaceOrAdd(name: String, value: String) {
        remove(name: name)
        add(name: name, value: value)
    }

    /// Removes every field named `name` (any case).
    public mutating func remove(name: String) {
        fields.removeAll { HTTPSyntax.equalsIgnoringCase($0.name, name) }
    }

    /// The values of every field named `name` (any case), in order.
    public subscript(_ name: String) -> [String] {
        fields.compactMap { HTTPSyntax.equalsIgnoringCase($0.name, name) ? $0.value : nil }
    }

    /// The value of the first field named `name` (any case), if any.
    public func first(name: String) -> String? {
        fields.first { HTTPSyntax.equalsIgnoringCase($0.name, name) }?.value
    }

    /// Whether a field named `name` (any case) is present.
    public func contains(name: String) -> Bool {
        fields.contains { HTTPSyntax.equalsIgnoringCase($0.name, name) }
    }

    /// The elements of the comma-separated list formed by every field named `name`
    /// (RFC 9110 §5.6.1), in order, trimmed, empty elements skipped. Case is kept.
    public func tokens(_ name: String) -> [String] {
        HTTPSyntax.listElements(self[name])
    }

    /// Whether the list formed by the fields named `name` contains `token`, ignoring ASCII case
    /// (e.g. `Connection: keep-alive, Upgrade` contains `upgrade`, RFC 6455 §4.2.1).
    public func containsToken(_ token: String, in name: String) -> Bool {
        tokens(name).contains { HTTPSyntax.equalsIgnoringCase($0, token) }
    }

    /// Whether every name is a token and every value a valid field value (no CR, LF, NUL), so
    /// the fields can be written without injecting lines.
    public var isValidForWriting: Bool {
        fields.allSatisfy { HTTPSyntax.isToken($0.name) && HTTPSyntax.isFieldValue($0.value) }
    }

    /// The first field that cannot be written (see ``isValidForWriting``), if any.
    public var firstInvalidField: Field? {
        fields.first { !(HTTPSyntax.isToken($0.name) && HTTPSyntax.isFieldValue($0.value)) }
    }

    /// Appends `name: value\r\n` for each field to `out` (RFC 9112 §5). Fields that are not
    /// valid for writing are skipped, so a caller's value can never inject a header line.
    func write(into out: inout [UInt8]) {
        for f in fields where HTTPSyntax.isToken(f.name) && HTTPSyntax.isFieldValue(f.value) {
            HTTPSyntax.append(f.name, to: &out)
            out.append(UInt8(ascii: ":")); out.append(UInt8(ascii: " "))
            HTTPSyntax.append(f.value, to: &out)
            out.append(0x0D); out.append(0x0A)
        }
    }

    /// The fields in order as `[Name: value, …]`, for logs and test failures.
    public var description: String {
        "[" + fields.map { "\($0.name): \($0.value)" }.joined(separator: ", ") + "]"
    }
}
