import Foundation

/// A document's metadata: a JSON object's fields.
public typealias Metadata = [String: MetadataValue]

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
    public static func fields(ofJSON text: String) -> Metadata {
        if text == "{}" { return [:] }  // most documents: no parse (a load reads every one)
        guard let obj = try? JSONSerialization.jsonObject(with: Data(text.utf8)),
              case .object(let fields)? = MetadataValue(json: obj) else { return [:] }
        return fields
    }

    /// The canonical JSON text of metadata fields: keys sorted by their UTF-8 bytes, integral
    /// numbers without a fraction, no insignificant space. Every path that stores or returns
    /// metadata writes it this way, so the same metadata is the same text everywhere.
    public static func jsonText(_ fields: Metadata) -> String {
        var out = ""
        write(.object(fields), to: &out)
        return out
    }

    public var jsonText: String {
        var out = ""
        Self.write(self, to: &out)
        return out
    }

    private static func write(_ v: MetadataValue, to out: inout String) {
        switch v {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .number(let x):
            if x == x.rounded(), abs(x) < 9_007_199_254_740_992 { out += String(Int64(x)) } else { out += "\(x)" }
        case .string(let s): writeString(s, to: &out)
        case .array(let a):
            out += "["
            for (i, x) in a.enumerated() {
                if i > 0 { out += "," }
                write(x, to: &out)
            }
            out += "]"
        case .object(let o):
            out += "{"
            for (i, k) in o.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }).enumerated() {
                if i > 0 { out += "," }
                writeString(k, to: &out)
                out += ":"
                write(o[k]!, to: &out)  // safe: k comes from o.keys
            }
            out += "}"
        }
    }

    private static func writeString(_ s: String, to out: inout String) {
        out += "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where u.value < 0x20: out += "\\u" + String(repeating: "0", count: 4 - String(u.value, radix: 16).count) + String(u.value, radix: 16)
            default: out.unicodeScalars.append(u)
            }
        }
        out += "\""
    }

    /// Nesting depth (a scalar is 0).
    public var depth: Int {
        switch self {
        case .array(let a): 1 + (a.map(\.depth).max() ?? 0)
        case .object(let o): 1 + (o.values.map(\.depth).max() ?? 0)
        default: 0
        }
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
