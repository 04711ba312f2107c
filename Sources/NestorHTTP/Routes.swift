import Foundation
import Hummingbird
import Synchronization

/// The routes the server registers, kept beside the router so that a request for a known path
/// with a method it does not take is answered 405 with `Allow` (Hummingbird's router answers
/// every miss with 404). Filled while the router is built, read-only afterwards.
final class RouteTable: Sendable {
    private let routes = Mutex<[(segments: [Substring], method: HTTPRequest.Method, writes: Bool)]>([])

    /// `writes`: the route changes the store (a follower forwards it to the writer).
    func add(_ path: String, _ method: HTTPRequest.Method, writes: Bool = false) {
        routes.withLock { $0.append((path.split(separator: "/"), method, writes)) }
    }

    /// Whether `method path` is a route registered as a write.
    func isWrite(_ method: HTTPRequest.Method, _ path: String) -> Bool {
        let parts = path.split(separator: "/")
        return routes.withLock { all in
            all.contains { r in
                r.writes && r.method == method && r.segments.count == parts.count
                    && zip(r.segments, parts).allSatisfy { $0.hasPrefix(":") || $0 == $1 }
            }
        }
    }

    /// The methods registered for paths that match `path` (`:name` matches any one segment).
    func methods(for path: String) -> [HTTPRequest.Method] {
        let parts = path.split(separator: "/")
        return routes.withLock { all in
            all.filter { r in
                r.segments.count == parts.count && zip(r.segments, parts).allSatisfy { $0.hasPrefix(":") || $0 == $1 }
            }.map(\.method)
        }
    }
}

/// A router that records what it registers in a `RouteTable`.
struct RecordingRouter {
    let router: Router<BasicRequestContext>
    let table: RouteTable

    func on(_ method: HTTPRequest.Method, _ path: String, writes: Bool = false,
            _ handler: @escaping @Sendable (Request, BasicRequestContext) async throws -> Response) {
        table.add(path, method, writes: writes)
        router.on(RouterPath(path), method: method, use: handler)
    }

    func get(_ path: String, _ handler: @escaping @Sendable (Request, BasicRequestContext) async throws -> Response) { on(.get, path, handler) }
    func post(_ path: String, writes: Bool = false, _ handler: @escaping @Sendable (Request, BasicRequestContext) async throws -> Response) {
        on(.post, path, writes: writes, handler)
    }
    func delete(_ path: String, _ handler: @escaping @Sendable (Request, BasicRequestContext) async throws -> Response) {
        on(.delete, path, writes: true, handler)  // every DELETE route removes stored data
    }
}

/// A path parameter, percent-decoded: ids may hold spaces, `/`, `%` or any Unicode, and a
/// client sends them escaped (`quote(id, safe="")`).
func pathParameter(_ context: BasicRequestContext, _ name: String) throws -> String {
    let raw = try context.parameters.require(name)
    guard raw.contains("%") else { return raw }
    guard let decoded = raw.removingPercentEncoding else {
        throw APIError.badRequest("the path segment for '\(name)' has malformed percent-encoding", param: name)
    }
    return decoded
}
