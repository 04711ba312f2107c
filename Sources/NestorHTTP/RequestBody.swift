import Foundation
import Hummingbird
import NIOCore

/// A parsed JSON request body with typed accessors whose errors name the field, so clients read
/// "'dimensions' must be an integer" rather than a decoder's internals.
struct JSONBody {
    let fields: [String: Any]

    static func read(_ request: Request, limit: Int, timeout: Double = 60) async throws -> JSONBody {
        let buffer: ByteBuffer
        do {
            // A body that trickles in is cut off: a slow sender cannot hold a request open forever.
            buffer = try await withThrowingTaskGroup(of: ByteBuffer.self) { group in
                group.addTask {
                    var r = request
                    return try await r.collectBody(upTo: limit)
                }
                group.addTask {
                    try await Task.sleep(for: .nanoseconds(Int64(timeout * 1e9)))
                    throw APIError(.requestTimeout, "the request body did not arrive within \(Int(timeout)) s")
                }
                defer { group.cancelAll() }
                return try await group.next()!  // safe: two tasks were added
            }
        } catch is NIOTooManyBytesError {
            throw APIError(.contentTooLarge, "the request body is larger than \(limit) bytes")
        } catch let e as APIError {
            throw e
        } catch {
            // The HTTP parser's complaint about the body's framing (a bad chunk size, a body cut
            // short): the client's fault, not the server's.
            throw APIError.badRequest("the request body could not be read: \(error)")
        }
        if let type = request.headers[.contentType], !isJSONMediaType(type) {
            throw APIError(.unsupportedMediaType, "the request body must be JSON (Content-Type: application/json), got \(type)")
        }
        let data = escapingByteOrderMarks(Data(buffer.readableBytesView))
        guard !data.isEmpty else { throw APIError.badRequest("the request body is empty; expected a JSON object") }
        guard let obj = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) else {
            throw APIError.badRequest("the request body is not valid JSON")
        }
        guard let fields = obj as? [String: Any] else { throw APIError.badRequest("the request body must be a JSON object") }
        return JSONBody(fields: fields)
    }

    /// Refuses fields outside `allowed` with a 400 naming the first (sorted), so a client learns
    /// that a setting it sent is not applied instead of getting a result that ignored it.
    /// `unsupported` gives a reason for fields that other servers know but this one does not do.
    func only(_ allowed: Set<String>, at path: String? = nil, unsupported: [String: String] = [:]) throws {
        let unknown = fields.keys.filter { !allowed.contains($0) }.sorted()
        guard let first = unknown.first else { return }
        let name = path.map { "\($0).\(first)" } ?? first
        if let why = unsupported[first] { throw APIError.badRequest("'\(name)' is not supported: \(why)", param: name) }
        let list = unknown.count > 1 ? " (also: \(unknown.dropFirst().joined(separator: ", ")))" : ""
        throw APIError.badRequest("unknown field '\(name)'\(list); this endpoint accepts \(allowed.sorted().joined(separator: ", "))", param: name)
    }

    /// A nested object field as a body of its own (nil when absent or null).
    func object(_ k: String) throws -> JSONBody? {
        guard has(k) else { return nil }
        guard let o = fields[k] as? [String: Any] else { throw APIError.badRequest("'\(k)' must be a JSON object", param: k) }
        return JSONBody(fields: o)
    }

    func has(_ k: String) -> Bool { fields[k] != nil && !(fields[k] is NSNull) }

    func string(_ k: String) throws -> String? {
        guard has(k) else { return nil }
        guard let s = fields[k] as? String else { throw APIError.badRequest("'\(k)' must be a string", param: k) }
        return s
    }

    /// `at` names the enclosing object in the error (`chunking.max_tokens`).
    func int(_ k: String, at path: String? = nil) throws -> Int? {
        guard has(k) else { return nil }
        guard let n = fields[k] as? NSNumber, !isBool(n), n.doubleValue == n.doubleValue.rounded(), abs(n.doubleValue) < 1e9 else {
            let name = path.map { "\($0).\(k)" } ?? k
            throw APIError.badRequest("'\(name)' must be an integer", param: name)
        }
        return n.intValue
    }

    func double(_ k: String) throws -> Double? {
        guard has(k) else { return nil }
        guard let n = fields[k] as? NSNumber, !isBool(n), n.doubleValue.isFinite else {
            throw APIError.badRequest("'\(k)' must be a number", param: k)
        }
        return n.doubleValue
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

/// `application/json`, or any `+json` type, with or without parameters (`; charset=utf-8`).
/// Foundation's JSON parser drops a raw U+FEFF (bytes EF BB BF) inside a string value, so a text
/// that starts with a byte-order mark would be embedded without it (and differ from what
/// sentence-transformers embeds). Every raw one is written as the escape `\ufeff` instead,
/// which the parser keeps; a leading one (a BOM before the document) is dropped, as RFC 8259
/// lets a parser do. In valid UTF-8 these bytes only ever encode U+FEFF, so nothing else changes.
func escapingByteOrderMarks(_ data: Data) -> Data {
    let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
    guard data.count >= 3, data.firstRange(of: bom) != nil else { return data }
    var out = Data()
    out.reserveCapacity(data.count + 16)
    var i = data.startIndex
    if data.starts(with: bom) { i += 3 }
    while i < data.endIndex {
        if data[i] == 0xEF, data.index(i, offsetBy: 2) < data.endIndex, data[i + 1] == 0xBB, data[i + 2] == 0xBF {
            out.append(contentsOf: Array("\\ufeff".utf8))
            i += 3
        } else {
            out.append(data[i])
            i += 1
        }
    }
    return out
}

func isJSONMediaType(_ header: String) -> Bool {
    let type = header.split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
    return type == "application/json" || (type.hasPrefix("application/") && type.hasSuffix("+json"))
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
