import Foundation
import Hummingbird
import Logging
import NestorCore
import Retrieval

/// The whole HTTP surface over an `Embedder`, for `nestor serve` and for in-process tests.
public func buildRouter(embedder: any Embedder, retrieval: RetrievalService? = nil, config: ServerConfiguration,
                        metrics: ServerMetrics = ServerMetrics()) -> Router<BasicRequestContext>
{
    var config = config
    if config.modelNames.isEmpty { config.modelNames = [embedder.info.name] }
    let router = Router(context: BasicRequestContext.self)
    router.add(middleware: ErrorAndMetricsMiddleware(metrics: metrics))
    router.add(middleware: APIKeyMiddleware(keys: Set(config.apiKeys)))

    let api = EmbeddingAPI(embedder: embedder, config: config, metrics: metrics)
    router.post("/v1/embeddings") { request, _ in try await api.openAIEmbeddings(request) }
    router.post("/v2/embed") { request, _ in try await api.cohereEmbed(request) }
    router.post("/v1/score") { request, _ in try await api.score(request) }
    router.post("/score") { request, _ in try await api.score(request) }
    if let retrieval { RetrievalAPI(service: retrieval, config: config).register(on: router) }
    let names = config.modelNames
    let info = embedder.info
    let created = Int(Date().timeIntervalSince1970)
    router.get("/v1/models") { _, _ in
        let w = JSONWriter()
        w.object {
            w.field("object", "list")
            w.key("data")
            w.array {
                for n in names {
                    w.object {
                        w.field("id", n)
                        w.field("object", "model")
                        w.field("created", created)
                        w.field("owned_by", "nestor")
                        w.field("root", names[0])
                        w.field("max_model_len", info.maxInputTokens)
                        w.field("dimensions", info.dimensions)
                    }
                }
            }
        }
        return w.response()
    }
    router.get("/health") { _, _ in
        let w = JSONWriter()
        w.object { w.field("status", "ok"); w.field("model", names[0]) }
        return w.response()
    }
    router.get("/metrics") { _, _ in
        Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                 body: ResponseBody(byteBuffer: ByteBuffer(string: metrics.exposition())))
    }
    router.get("/openapi.json") { _, _ in
        Response(status: .ok, headers: [.contentType: "application/json"],
                 body: ResponseBody(byteBuffer: ByteBuffer(string: OpenAPIDocument.json)))
    }
    return router
}

/// The application `nestor serve` runs; SIGTERM/SIGINT shut it down gracefully (requests in
/// flight finish, new connections are refused).
public func buildApplication(embedder: any Embedder, retrieval: RetrievalService? = nil, config: ServerConfiguration,
                             logger: Logger? = nil) -> some ApplicationProtocol
{
    let router = buildRouter(embedder: embedder, retrieval: retrieval, config: config)
    var log = logger ?? Logger(label: "nestor")
    if logger == nil { log.logLevel = .info }
    return Application(
        router: router,
        configuration: .init(address: .hostname(config.host, port: config.port), serverName: "nestor"),
        logger: log)
}
