import Foundation
import Hummingbird

/// The search console: three static files compiled into the binary and served at `/` and
/// `/console/…` with a strict Content-Security-Policy (scripts, styles and connections to this
/// server only; no inline script, no framing) and caching headers. With `NESTOR_CONSOLE_DIR`
/// set, the files are read from that folder on each request instead (for working on them
/// without rebuilding).
enum ConsoleAssets {
    static let policy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        + "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

    struct Asset: Sendable {
        let bytes: [UInt8]
        let type: String
        /// A short content hash, the ETag.
        let tag: String
    }

    static let compiled: [String: Asset] = [
        "index.html": asset(PackageResources.index_html, "text/html; charset=utf-8"),
        "console.css": asset(PackageResources.console_css, "text/css; charset=utf-8"),
        "console.js": asset(PackageResources.console_js, "text/javascript; charset=utf-8"),
    ]

    static func asset(_ bytes: [UInt8], _ type: String) -> Asset {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        return Asset(bytes: bytes, type: type, tag: "\"" + String(h, radix: 16) + "\"")
    }

    static func current(_ name: String) -> Asset? {
        guard let dir = ProcessInfo.processInfo.environment["NESTOR_CONSOLE_DIR"] else { return compiled[name] }
        guard let data = FileManager.default.contents(atPath: (dir as NSString).appendingPathComponent(name)) else { return nil }
        return asset([UInt8](data), compiled[name]?.type ?? "application/octet-stream")
    }

    static func register(on router: RecordingRouter) {
        router.get("/") { request, _ in try serve("index.html", request) }
        router.get("/console/:file") { request, context in try serve(try context.parameters.require("file"), request) }
    }

    static func serve(_ name: String, _ request: Request) throws -> Response {
        guard name != "index.html" || request.uri.path == "/", let a = current(name) else {
            throw APIError(.notFound, "no console file \(name)")
        }
        var headers: HTTPFields = [
            .contentType: a.type,
            .eTag: a.tag,
            // The page revalidates (a new binary may bring a new console); the ETag makes that a 304.
            .cacheControl: "no-cache",
            .contentSecurityPolicy: policy,
            .xContentTypeOptions: "nosniff",
            HTTPFields.Element.Name("Referrer-Policy")!: "no-referrer",
        ]
        if request.headers[.ifNoneMatch] == a.tag {
            headers[.contentType] = nil
            return Response(status: .notModified, headers: headers)
        }
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: a.bytes)))
    }
}
