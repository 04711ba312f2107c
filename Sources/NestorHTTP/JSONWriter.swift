import Foundation
import Hummingbird

/// Writes JSON straight into bytes. Responses are mostly long float arrays; `Float.description`
/// is the shortest text that reads back to the same float, so vectors are exact and compact.
/// A class, because nested `object { … }` blocks write to the same writer (a struct would need
/// overlapping mutable accesses); each one lives inside a single request handler.
final class JSONWriter {
    private(set) var bytes: [UInt8] = []
    private var needsComma = [false]

    init() { bytes.reserveCapacity(4096) }

    private func separate() {
        if needsComma[needsComma.count - 1] { bytes.append(UInt8(ascii: ",")) }
        needsComma[needsComma.count - 1] = true
    }

    func object(_ body: () -> Void) { container("{", "}", body) }
    func array(_ body: () -> Void) { container("[", "]", body) }

    private func container(_ open: Unicode.Scalar, _ close: Unicode.Scalar, _ body: () -> Void) {
        separate()
        bytes.append(UInt8(ascii: open))
        needsComma.append(false)
        body()
        needsComma.removeLast()
        bytes.append(UInt8(ascii: close))
    }

    /// A key; the next value written belongs to it.
    func key(_ k: String) {
        separate()
        appendString(k)
        bytes.append(UInt8(ascii: ":"))
        needsComma[needsComma.count - 1] = false
    }

    func string(_ s: String) { separate(); appendString(s) }
    func null() { separate(); bytes.append(contentsOf: "null".utf8) }
    func bool(_ b: Bool) { separate(); bytes.append(contentsOf: (b ? "true" : "false").utf8) }
    func int(_ i: Int) { separate(); bytes.append(contentsOf: String(i).utf8) }
    func float(_ f: Float) {
        separate()
        bytes.append(contentsOf: (f.isFinite ? f.description : "0").utf8)
    }
    func double(_ d: Double) {
        separate()
        bytes.append(contentsOf: (d.isFinite ? d.description : "0").utf8)
    }

    /// Inserts JSON text the server itself stored (a document's metadata object) as is.
    func raw(_ json: String) { separate(); bytes.append(contentsOf: json.utf8) }

    func field(_ k: String, _ v: String) { key(k); string(v) }
    func field(_ k: String, _ v: Int) { key(k); int(v) }

    func floats(_ v: [Float]) { array { for x in v { float(x) } } }
    func ints(_ v: [Int]) { array { for x in v { int(x) } } }

    private func appendString(_ s: String) {
        bytes.append(UInt8(ascii: "\""))
        for u in s.utf8 {
            switch u {
            case UInt8(ascii: "\""): bytes.append(contentsOf: [0x5C, 0x22])
            case UInt8(ascii: "\\"): bytes.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: bytes.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: bytes.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: bytes.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0..<0x20: bytes.append(contentsOf: String(format: "\\u%04x", u).utf8)
            default: bytes.append(u)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    func response(status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"],
                 body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
