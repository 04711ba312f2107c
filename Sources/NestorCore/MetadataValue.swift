import Foundation

/// A document's metadata value, parsed once at ingest or load so filters compare typed values
/// instead of re-reading JSON text on every search.
public enum MetadataValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([MetadataValue])
    case object([String: MetadataValue])

    /// From a `JSONSerialization` value; nil for anything JSON cannot hold.
    public init?(json: Any) {
        switch json {
        case is NSNull: self = .null
        case let n as NSNumber:
            self = String(cString: n.objCType) == "c" ? .bool(n.boolValue) : .number(n.doubleValue)
        case let s as String: self = .string(s)
        case let a as [Any]:
            var out = [MetadataValue]()
            for x in a { guard let v = MetadataValue(json: x) else { return nil }; out.append(v) }
            self = .array(out)
        case let o as [String: Any]:
            var out = [String: MetadataValue]()
            for (k, x) in o { guard let v = MetadataValue(json: x) else { return nil }; out[k] = v }
            self = .object(out)
        default: return nil
        }
    }

    /// The fields of a stored metadata object text; empty when it is not a JSON object.
    public static func fields(ofJSON text: String) -> [String: MetadataValue] {
        if text == "{}" { return [:] }  // most documents: no parse (a load reads every one)
        guard let obj = try? JSONSerialization.jsonObject(with: Data(text.utf8)),
              case .object(let fields)? = MetadataValue(json: obj) else { return [:] }
        return fields
    }

    /// Looks up a dotted path (`author.name`) inside nested objects.
    public static func lookup(_ path: String, in fields: [String: MetadataValue]) -> MetadataValue? {
        if let direct = fields[path] { return direct }
        var current: MetadataValue = .object(fields)
        for part in path.split(separator: ".", omittingEmptySubsequences: false) {
            guard case .object(let o) = current, let next = o[String(part)] else { return nil }
            current = next
        }
        return current
    }
}
