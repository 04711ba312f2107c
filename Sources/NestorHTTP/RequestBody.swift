import Foundation
import Hummingbird
import NIOCore

/// A parsed JSON request body with typed accessors whose errors name the field, so clients read
/// "'dimensions' must be an integer" rather than a decoder's internals.
struct JSONBody {
    let fields: [String: Any]

    static func read(_ request: Request, limit: Int) async throws -> JSONBody {
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw APIError(.contentTooLarge, "the request body is larger than \(limit) bytes")
        }
        if let type = request.headers[.contentType], !type.lowercased().contains("json") {
            throw APIError(.unsupportedMediaType, "the request body must be JSON (Content-Type: application/json), got \(type)")
        }
        let data = Data(buffer.readableBytesView)
        guard !data.isEmpty else { throw APIError.badRequest("the request body is empty; expected a JSON object") }
        guard let obj = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) else {
            throw APIError.badRequest("the request body is not valid JSON")
        }
        guard let fields = obj as? [String: Any] else { throw APIError.badRequest("the request body must be a JSON object") }
        return JSONBody(fields: fields)
    }

    func has(_ k: String) -> Bool { fields[k] != nil && !(fields[k] is NSNull) }

    func string(_ k: String) throws -> String? {
        guard has(k) else { return nil }
        guard let s = fields[k] as? String else { throw APIError.badRequest("'\(k)' must be a string", param: k) }
        return s
    }

    func int(_ k: String) throws -> Int? {
        guard has(k) else { return nil }
        guard let n = fields[k] as? NSNumber, !isBool(n), n.doubleValue == n.doubleValue.rounded(), abs(n.doubleValue) < 1e9 else {
            throw APIError.badRequest("'\(k)' must be an integer", param: k)
        }
        return n.intValue
    }

    func bool(_ k: String) throws -> Bool? {
        guard has(k) else { return nil }
        guard let n = fields[k] as? NSNumber, isBool(n) else { throw APIError.badRequest("'\(k)' must be true or false", param: k) }
        return n.boolValue
    }

    func strings(_ k: String) throws -> [String]? {
        guard has(k) else { return nil }
        guard let a = fields[k] as? [Any], let s = a as? [String] else {
            throw APIError.badRequest("'\(k)' must be an array of strings", param: k)
        }
        return s
    }
}

/// JSONSerialization gives booleans as NSNumber (and `is Bool` holds for 0 and 1 too); the
/// Objective-C type code "c" marks a real boolean.
func isBool(_ n: NSNumber) -> Bool { String(cString: n.objCType) == "c" }

/// Integer token ids from a JSON array element, or nil when it is not a whole number.
func tokenIds(_ a: [Any]) -> [Int]? {
    var out = [Int]()
    out.reserveCapacity(a.count)
    for x in a {
        guard let n = x as? NSNumber, !isBool(n), n.doubleValue == n.doubleValue.rounded(), abs(n.doubleValue) < 1e12 else { return nil }
        out.append(n.intValue)
    }
    return out
}
