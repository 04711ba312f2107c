import Foundation
import Hummingbird
import Logging

/// Turns every error into OpenAI's JSON shape and records each request in the metrics.
/// Unknown errors become a 500 whose message reveals nothing of the internals.
struct ErrorAndMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServerMetrics
    let routes: RouteTable
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = DispatchTime.now().uptimeNanoseconds
        let route = request.uri.path
        var response: Response
        do {
            response = try await next(request, context)
        } catch let e as APIError {
            response = try e.response(from: request, context: context)
        } catch let e as HTTPError where e.status == .notFound && e.body == nil {
            let allowed = routes.methods(for: route)
            if allowed.isEmpty {
                let shown = route.count > 200 ? String(route.prefix(200)) + "…" : route  // never echo a huge path back whole
                response = try APIError(.notFound, "no route for \(request.method) \(shown)").response(from: request, context: context)
            } else {
                let list = allowed.map(\.rawValue).joined(separator: ", ")
                var e = APIError(.methodNotAllowed, "\(route) does not take \(request.method); it takes \(list)")
                e.allow = list
                response = try e.response(from: request, context: context)
            }
        } catch let e as HTTPError {
            response = try APIError(e.status, e.body ?? e.status.reasonPhrase).response(from: request, context: context)
        } catch let e as HTTPResponseError {
            response = try APIError(e.status, e.status.reasonPhrase).response(from: request, context: context)
        } catch {
            // Nothing unexpected goes unlogged; the client hears nothing of the internals.
            logger.error("\(request.method) \(route) failed: \(String(reflecting: error))")
            response = try APIError(.internalServerError, "internal error").response(from: request, context: context)
        }
        if response.status.code >= 500 {
            logger.warning("\(request.method) \(route) answered \(response.status.code)")
        }
        metrics.recordRequest(route: Self.label(route), status: Int(response.status.code),
                              seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        return response
    }
}

extension ErrorAndMetricsMiddleware {
    /// A bounded set of route labels for the metrics (never raw paths with names in them).
    static func label(_ path: String) -> String {
        let known = ["/v1/embeddings", "/v2/embed", "/v1/embed", "/tokenize", "/v1/score", "/score", "/v1/models", "/health", "/metrics",
                     "/openapi.json", "/collections", "/ingest", "/search", "/"]
        if known.contains(path) { return path }
        if path.hasPrefix("/v1/models/") { return "/v1/models/{id}" }
        if path.hasPrefix("/console/") { return "/console/{file}" }
        if path.hasPrefix("/collections/") { return path.hasSuffix("/optimize") ? "/collections/{name}/optimize" : "/collections/{name}" }
        if path.hasPrefix("/documents/") { return path.split(separator: "/").count == 2 ? "/documents/{collection}" : "/documents/{collection}/{id}" }
        return "other"
    }
}

/// With API keys configured, requests must carry `Authorization: Bearer <key>`; `/health`
/// stays open for load balancers and orchestrators, and the console's static files too.
struct APIKeyMiddleware<Context: RequestContext>: RouterMiddleware {
    let keys: Set<String>

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // The console's own files carry no data; the page asks for the key before its API calls.
        let path = request.uri.path
        if keys.isEmpty || path == "/health" || path == "/" || path.hasPrefix("/console/") { return try await next(request, context) }
        // The scheme is case-insensitive (RFC 9110 §11.1); the key is compared exactly.
        let header = request.headers[.authorization] ?? ""
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer",
              keys.contains(parts[1].trimmingCharacters(in: .whitespaces)) else {
            throw APIError(.unauthorized, "missing or invalid API key; send Authorization: Bearer <key>")
        }
        return try await next(request, context)
    }
}
