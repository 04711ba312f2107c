/// A metadata filter in the MongoDB-style syntax vector stores share (Chroma, Qdrant's JSON,
/// Pinecone): `{"lang": "de"}`, `{"year": {"$gte": 2020}}`, `{"tag": {"$in": ["a", "b"]}}`,
/// `{"$and": [...]}`, `{"$or": [...]}`. Several keys in one object must all hold.
/// A field holding an array matches when any element does, as in those stores.
public indirect enum MetadataFilter: Sendable, Equatable {
    case all([MetadataFilter])
    case any([MetadataFilter])
    case field(String, Condition)

    public enum Condition: Sendable, Equatable {
        case eq(MetadataValue), ne(MetadataValue)
        case oneOf([MetadataValue]), noneOf([MetadataValue])
        case gt(MetadataValue), gte(MetadataValue), lt(MetadataValue), lte(MetadataValue)
        case exists(Bool)
    }

    /// A filter the caller wrote wrong, with the path to the fault.
    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public var description: String
    }

    public init(_ value: MetadataValue) throws {
        guard case .object(let o) = value else { throw ParseError(description: "'filter' must be a JSON object") }
        self = try Self.parseObject(o, path: "filter")
    }

    private static func parseObject(_ o: [String: MetadataValue], path: String) throws -> MetadataFilter {
        var parts = [MetadataFilter]()
        for key in o.keys.sorted() {
            let v = o[key]!  // safe: key comes from o.keys
            switch key {
            case "$and", "$or":
                guard case .array(let items) = v, !items.isEmpty else {
                    throw ParseError(description: "\(path).\(key) must be a non-empty array of filters")
                }
                let subs = try items.enumerated().map { i, item -> MetadataFilter in
                    guard case .object(let so) = item else { throw ParseError(description: "\(path).\(key)[\(i)] must be an object") }
                    return try parseObject(so, path: "\(path).\(key)[\(i)]")
                }
                parts.append(key == "$and" ? .all(subs) : .any(subs))
            case _ where key.hasPrefix("$"):
                throw ParseError(description: "unknown operator \(key) at \(path); use $and, $or, or a field name")
            default:
                parts.append(contentsOf: try conditions(v, field: key, path: "\(path).\(key)"))
            }
        }
        return parts.count == 1 ? parts[0] : .all(parts)
    }

    private static func conditions(_ v: MetadataValue, field: String, path: String) throws -> [MetadataFilter] {
        guard case .object(let ops) = v, ops.keys.contains(where: { $0.hasPrefix("$") }) else {
            return [.field(field, .eq(v))]
        }
        // Decided on all keys, never on the first one a dictionary happens to yield.
        if let plain = ops.keys.sorted().first(where: { !$0.hasPrefix("$") }) {
            throw ParseError(description: "\(path) mixes operators with the plain key \"\(plain)\"; use only $-operators, or no operator to match an object exactly")
        }
        return try ops.keys.sorted().map { op in
            let arg = ops[op]!  // safe: op comes from ops.keys
            func list() throws -> [MetadataValue] {
                guard case .array(let a) = arg else { throw ParseError(description: "\(path).\(op) must be an array") }
                return a
            }
            func scalar() throws -> MetadataValue {
                switch arg {
                case .number, .string: return arg
                default: throw ParseError(description: "\(path).\(op) must compare with a number or a string")
                }
            }
            switch op {
            case "$eq": return .field(field, .eq(arg))
            case "$ne": return .field(field, .ne(arg))
            case "$in": return .field(field, .oneOf(try list()))
            case "$nin": return .field(field, .noneOf(try list()))
            case "$gt": return .field(field, .gt(try scalar()))
            case "$gte": return .field(field, .gte(try scalar()))
            case "$lt": return .field(field, .lt(try scalar()))
            case "$lte": return .field(field, .lte(try scalar()))
            case "$exists":
                guard case .bool(let b) = arg else { throw ParseError(description: "\(path).$exists must be true or false") }
                return .field(field, .exists(b))
            default:
                throw ParseError(description: "unknown operator \(op) at \(path); use $eq $ne $in $nin $gt $gte $lt $lte $exists")
            }
        }
    }

    public func matches(_ fields: [String: MetadataValue]) -> Bool {
        switch self {
        case .all(let fs): return fs.allSatisfy { $0.matches(fields) }
        case .any(let fs): return fs.contains { $0.matches(fields) }
        case .field(let name, let condition):
            let value = MetadataValue.lookup(name, in: fields)
            if case .exists(let want) = condition { return (value != nil) == want }
            guard let value else {
                // A missing field is "not equal" to anything and in no list.
                switch condition {
                case .ne, .noneOf: return true
                default: return false
                }
            }
            if case .array(let elements) = value {
                switch condition {
                case .ne(let x): return !elements.contains(x) && value != x
                case .noneOf(let xs): return !elements.contains { xs.contains($0) }
                case .eq(let x) where value == x: return true
                default: return elements.contains { Self.test($0, condition) }
                }
            }
            return Self.test(value, condition)
        }
    }

    private static func test(_ v: MetadataValue, _ c: Condition) -> Bool {
        switch c {
        case .eq(let x): return v == x
        case .ne(let x): return v != x
        case .oneOf(let xs): return xs.contains(v)
        case .noneOf(let xs): return !xs.contains(v)
        case .gt(let x): return compare(v, x).map { $0 > 0 } ?? false
        case .gte(let x): return compare(v, x).map { $0 >= 0 } ?? false
        case .lt(let x): return compare(v, x).map { $0 < 0 } ?? false
        case .lte(let x): return compare(v, x).map { $0 <= 0 } ?? false
        case .exists: return true
        }
    }

    /// Numbers compare with numbers, strings with strings (by Unicode scalars, so ISO dates
    /// order correctly); anything else does not compare.
    private static func compare(_ a: MetadataValue, _ b: MetadataValue) -> Int? {
        switch (a, b) {
        case (.number(let x), .number(let y)): return x < y ? -1 : (x > y ? 1 : 0)
        case (.string(let x), .string(let y)):
            return x.unicodeScalars.lexicographicallyPrecedes(y.unicodeScalars) ? -1 : (x == y ? 0 : 1)
        default: return nil
        }
    }
}
