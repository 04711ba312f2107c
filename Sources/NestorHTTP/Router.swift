import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NestorCore
import Retrieval

/// The whole HTTP surface over an `Embedder`, for `nestor serve` and for in-process tests.
public func buildRouter(embedder: any Embedder, reranker: (any Reranker)? = nil, retrieval: RetrievalService? = nil, config: ServerConfiguration,
                        metrics: ServerMetrics = ServerMetrics(), logger: Logger = Logger(label: "nestor.http")) -> Router<BasicRequestContext>
{
    var config = config
    if config.modelNames.isEmpty { config.modelNames = [embedder.info.name] }
    let base = Router(context: BasicRequestContext.self)
    let table = RouteTable()
    base.add(middleware: ErrorAndMetricsMiddleware(metrics: metrics, routes: table, logger: logger))
    base.add(middleware: APIKeyMiddleware(keys: Set(config.apiKeys)))
    base.add(middleware: ReplicationMiddleware(replica: retrieval?.replica ?? ReplicaState(), routes: table,
                                               forwarder: WriteForwarder(maxBodyBytes: config.maxIngestBodyBytes, timeout: config.forwardTimeout,
                                                                         via: "\(config.host):\(config.port)")))
    let router = RecordingRouter(router: base, table: table)

    let api = EmbeddingAPI(embedder: embedder, config: config, metrics: metrics)
    router.post("/v1/embeddings") { request, _ in try await api.openAIEmbeddings(request) }
    router.post("/v2/embed") { request, _ in try await api.cohereEmbed(request) }
    router.post("/v1/score") { request, _ in try await api.score(request) }
    router.post("/score") { request, _ in try await api.score(request) }
    router.post("/v1/embed") { request, _ in try await api.cohereEmbedV1(request) }
    router.post("/tokenize") { request, _ in try await api.tokenize(request) }
    RerankAPI(reranker: reranker, config: config, metrics: metrics).register(on: router)
    ConsoleAssets.register(on: router)
    if let retrieval {
        RetrievalAPI(service: retrieval, config: config).register(on: router)
        ReplicationAPI(service: retrieval).register(on: router)
    }
    let names = config.modelNames
    let info = embedder.info
    let created = Int(Date().timeIntervalSince1970)
    let rerankInfo = reranker?.info
    @Sendable func model(_ id: String, _ w: JSONWriter) {
        w.object {
            w.field("id", id)
            w.field("object", "model")
            w.field("created", created)
            w.field("owned_by", "nestor")
            if let r = rerankInfo, id == r.name, !names.contains(id) {
                // The reranker beside the embedding model: vLLM lists each served model alike.
                w.field("root", r.name)
                w.field("max_model_len", r.maxInputTokens)
                w.field("task", "rerank")
            } else {
                w.field("root", names[0])
                w.field("max_model_len", info.maxInputTokens)
                w.field("dimensions", info.dimensions)
                w.field("task", "embed")
            }
        }
    }
    let listed = names + (rerankInfo.map { names.contains($0.name) ? [] : [$0.name] } ?? [])
    router.get("/v1/models") { _, _ in
        let w = JSONWriter()
        w.object {
            w.field("object", "list")
            w.key("data")
            w.array { for n in listed { model(n, w) } }
        }
        return w.response()
    }
    router.get("/v1/models/:id") { _, context in
        let id = try pathParameter(context, "id")
        guard listed.contains(id) else {
            throw APIError(.notFound, "The model `\(id)` does not exist. Served: \(listed.joined(separator: ", "))", param: "model")
        }
        let w = JSONWriter()
        model(id, w)
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
    return base
}

/// The application `nestor serve` runs; SIGTERM/SIGINT shut it down gracefully (requests in
/// flight finish, new connections are refused).
public func buildApplication(embedder: any Embedder, reranker: (any Reranker)? = nil, retrieval: RetrievalService? = nil, config: ServerConfiguration,
                             logger: Logger? = nil) -> some ApplicationProtocol
{
    var log = logger ?? Logger(label: "nestor")
    if logger == nil { log.logLevel = .info }
    let router = buildRouter(embedder: embedder, reranker: reranker, retrieval: retrieval, config: config, logger: log)
    // An idle connection (no request, or a request head that never completes) is closed after
    // `idleTimeout`, and at most `maxConnections` are open at once: slow or idle clients cannot
    // hold every file descriptor.
    return Application(
        router: router,
        server: .http1(configuration: .init(idleTimeout: .nanoseconds(Int64(config.idleTimeout * 1e9)))),
        configuration: .init(address: .hostname(config.host, port: config.port), serverName: "nestor",
                             availableConnectionsDelegate: MaximumAvailableConnections(config.maxConnections, logger: log)),
        logger: log)
}
