import Foundation
import Hummingbird

/// Turns every error into OpenAI's JSON shape and records each request in the metrics.
/// Unknown errors become a 500 whose message reveals nothing of the internals.
struct ErrorAndMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = DispatchTime.now().uptimeNanoseconds
        let route = request.uri.path
        var response: Response
        do {
            response = try await next(request, context)
        } catch let e as APIError {
            response = try e.response(from: request, context: context)
        } catch let e as HTTPError {
            let message = e.body ?? (e.status == .notFound ? "no route for \(request.method) \(route)" : e.status.reasonPhrase)
            response = try APIError(e.status, message).response(from: request, context: context)
        } catch let e as HTTPResponseError {
            response = try APIError(e.status, e.status.reasonPhrase).response(from: request, context: context)
        } catch {
            response = try APIError(.internalServerError, "internal error").response(from: request, context: context)
        }
        metrics.recordRequest(route: Self.label(route), status: Int(response.status.code),
                              seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        return response
    }
}

extension ErrorAndMetricsMiddleware {
    /// A bounded set of route labels for the metrics (never raw paths with names in them).
    static func label(_ path: String) -> String {
        let known = ["/v1/embeddings", "/v2/embed", "/v1/score", "/score", "/v1/models", "/health", "/metrics", "/openapi.json",
                     "/collections", "/ingest", "/search"]
        if known.contains(path) { return path }
        if path.hasPrefix("/collections/") { return path.hasSuffix("/optimize") ? "/collections/{name}/optimize" : "/collections/{name}" }
        if path.hasPrefix("/documents/") { return "/documents/{collection}/{id}" }
        return "other"
    }
}

/// With API keys configured, requests must carry `Authorization: Bearer <key>`; `/health`
/// stays open for load balancers and orchestrators.
struct APIKeyMiddleware<Context: RequestContext>: RouterMiddleware {
    let keys: Set<String>

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if keys.isEmpty || request.uri.path == "/health" { return try await next(request, context) }
        let header = request.headers[.authorization] ?? ""
        guard header.hasPrefix("Bearer "), keys.contains(String(header.dropFirst("Bearer ".count))) else {
            throw APIError(.unauthorized, "missing or invalid API key; send Authorization: Bearer <key>")
        }
        return try await next(request, context)
    }
}
