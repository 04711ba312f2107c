/// A parsed JSON document. `tokenizer.json` files are large (17 MB for XLM-R), so this module
/// carries its own parser instead of going through Foundation's bridging.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)
}

/// Object members in file order, keys kept byte for byte. A `[String: …]` dictionary would
/// merge keys that are canonically equivalent (Swift `String` equality), and vocabularies hold
/// such pairs.
public struct JSONObject: Sendable, Equatable {
    public var entries: [(key: String, value: JSONValue)]

    public init(_ entries: [(key: String, value: JSONValue)] = []) { self.entries = entries }

    /// The last member with exactly this key (as JSON parsers conventionally keep the last).
    public subscript(key: String) -> JSONValue? {
        for e in entries.reversed() where e.key.utf8.elementsEqual(key.utf8) { return e.value }
        return nil
    }

    public static func == (a: JSONObject, b: JSONObject) -> Bool {
        a.entries.count == b.entries.count
            && zip(a.entries, b.entries).allSatisfy { $0.key.utf8.elementsEqual($1.key.utf8) && $0.value == $1.value }
    }
}

/// A JSON value together with where it sits in the file, so that every error can name its path.
public struct JSONNode: Sendable {
    public let value: JSONValue
    public let path: String

    public init(_ value: JSONValue, path: String = "") {
        self.value = value
        self.path = path
    }

    public subscript(key: String) -> JSONNode {
        let p = path.isEmpty ? key : "\(path).\(key)"
        if case .object(let o) = value, let v = o[key] { return JSONNode(v, path: p) }
        return JSONNode(.null, path: p)
    }

    public var isNull: Bool { if case .null = value { return true } else { return false } }
    public var exists: Bool { !isNull }

    func fail(_ code: TokenizerError.Code, _ message: String) -> TokenizerError {
        TokenizerError(code, path: path, message)
    }

    private func missingOr(_ expected: String) -> TokenizerError {
        isNull ? fail(.missingField, "missing \(expected)") : fail(.invalidValue, "expected \(expected)")
    }

    public func string() throws -> String {
        if case .string(let s) = value { return s }
        throw missingOr("a string")
    }

    public func double() throws -> Double {
        if case .number(let d) = value { return d }
        throw missingOr("a number")
    }

    public func int() throws -> Int {
        if case .number(let d) = value, d.rounded() == d, abs(d) < 9e15 { return Int(d) }
        throw missingOr("an integer")
    }

    public func bool() throws -> Bool {
        if case .bool(let b) = value { return b }
        throw missingOr("true or false")
    }

    public func array() throws -> [JSONNode] {
        if case .array(let a) = value {
            return a.enumerated().map { JSONNode($0.element, path: "\(path)[\($0.offset)]") }
        }
        throw missingOr("an array")
    }

    /// Key/value pairs in file order.
    public func object() throws -> [(key: String, value: JSONNode)] {
        if case .object(let o) = value {
            return o.entries.map { (key: $0.key, value: JSONNode($0.value, path: path.isEmpty ? $0.key : "\(path).\($0.key)")) }
        }
        throw missingOr("an object")
    }

    /// Optional accessors: nil when the field is absent or null; a wrong type still throws.
    public func stringIfPresent() throws -> String? { isNull ? nil : try string() }
    public func intIfPresent() throws -> Int? { isNull ? nil : try int() }
    public func doubleIfPresent() throws -> Double? { isNull ? nil : try double() }
    public func boolIfPresent() throws -> Bool? { isNull ? nil : try bool() }
    public func bool(default d: Bool) throws -> Bool { try boolIfPresent() ?? d }

    /// The `type` field used by every component of `tokenizer.json` to pick an implementation.
    public func typeName() throws -> String { try self["type"].string() }

    /// An error for an unknown `type` value.
    public func unknownType(_ name: String, component: String) -> TokenizerError {
        fail(.unknownType, "unknown \(component) type \"\(name)\"")
    }

    public func invalid(_ message: String) -> TokenizerError { fail(.invalidValue, message) }
}
