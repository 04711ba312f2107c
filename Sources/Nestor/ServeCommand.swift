import ArgumentParser
import EmbeddingEngine
import EmbeddingModel
import Foundation
import Hummingbird
import Logging
import NestorCore
import NestorHTTP
import Replication
import Retrieval
import ServiceLifecycle
import StorePostgres
import TensorOps
import Tokenization

extension WeightPrecision: ExpressibleByArgument {}

/// `nestor serve`: the embeddings server. Every flag can also come from an environment
/// variable (NESTOR_MODEL, NESTOR_HOST, NESTOR_PORT, NESTOR_API_KEYS as a comma list, …).
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Run the HTTP server.")

    @Option(help: "Model folder or name under $NESTOR_MODELS (default: multilingual-e5-small).") var model: String?
    @Option(help: "Name clients use in `model` (repeat for aliases; default: the folder name).") var servedModelName: [String] = []
    @Option(help: "Reranker folder or name under $NESTOR_MODELS (a BERT / XLM-R cross-encoder or a Qwen3-Reranker), served at /v1/rerank and used by /search's `rerank` stage.") var rerankModel: String?
    @Option(help: "Address to listen on.") var host: String?
    @Option(help: "Port to listen on.") var port: Int?
    @Option(help: "Allow only these Matryoshka sizes, e.g. 64,128,256.") var matryoshkaDimensions: String?
    @Flag(help: "Allow any Matryoshka size up to the full one.") var matryoshkaAny = false
    @Option(help: "Most tokens in one engine batch (batches are packed: real tokens, no padding).") var maxBatchTokens: Int?
    @Option(help: "Cap on tokens per input (below the model's own limit).") var maxInputTokens: Int?
    @Option(help: TokenizerMode.help) var tokenizerMode: TokenizerMode?
    @Option(help: "Weights of the linear layers: fp32 (as loaded) or int8 (quantised per output channel at load time; activations per row at run time).") var quantize: WeightPrecision?
    @Option(help: "Require `Authorization: Bearer KEY` (repeatable).") var apiKey: [String] = []
    @Option(help: "Seconds before an idle connection (or one whose request head never completes) is closed (default 15).") var idleTimeout: Double?
    @Option(help: "Seconds a request body may take to arrive (default 60).") var bodyTimeout: Double?
    @Option(help: "Most open connections at once; more wait in the listen backlog (default: half the file-descriptor limit, at most 4096).") var maxConnections: Int?
    @Flag(help: "Refuse token-id input on the embeddings routes (for deployments that send text only).") var textInputOnly = false
    @Flag(help: "Embed inputs longer than the model's limit piece by piece and pool the pieces (token-weighted mean), instead of truncating them; requests may override it with enable_chunked_processing.") var enableChunkedProcessing = false
    @OptionGroup var storage: StoreOptions
    @Option(help: "With --database-url: the address other replicas forward writes to when this one is the writer (default http://HOST:PORT; env NESTOR_ADVERTISE_URL).") var advertiseURL: String?
    @Option(help: "With --database-url: seconds a silent replica is remembered; the change log is kept for it that long (default 300).") var replicaRetention: Double?
    @OptionGroup(title: "Remote embedding backend (instead of --model)") var remote: RemoteEmbeddingOptions

    func run() async throws {
        let env = ProcessInfo.processInfo.environment
        var policy: MatryoshkaPolicy? = nil
        if matryoshkaAny || env["NESTOR_MATRYOSHKA_ANY"] == "1" { policy = .any }
        if let list = matryoshkaDimensions ?? env["NESTOR_MATRYOSHKA_DIMENSIONS"] {
            let sizes = list.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !sizes.isEmpty, sizes.allSatisfy({ $0 > 0 }) else { throw ValidationError("--matryoshka-dimensions takes positive integers, e.g. 64,128") }
            policy = .only(sizes)
        }
        let names = servedModelName.isEmpty ? (env["NESTOR_SERVED_MODEL_NAME"].map { $0.split(separator: ",").map(String.init) } ?? []) : servedModelName
        var log = Logger(label: "nestor")
        log.logLevel = .info
        let embedder: any Embedder
        let weights: String
        if let url = remote.url ?? env["NESTOR_EMBEDDING_URL"] {
            guard model == nil else { throw ValidationError("give --model (the local engine) or --embedding-url (a remote one), not both") }
            log.info("connecting to the embedding upstream", metadata: ["url": "\(url)"])
            embedder = try await remote.connect(url: url, servedName: names.first, matryoshka: policy ?? .none,
                                                tokenizerMode: try TokenizerMode.resolve(tokenizerMode), env: env)
            weights = "remote"
        } else {
            let local = try loadLocalEmbedder(servedName: names.first, matryoshka: policy, env: env, log: log)
            embedder = local
            weights = local.model.precision.rawValue + " (\(local.model.precision == .int8 ? Int8Matrix.kernel : PackedMatrix.kernel))"
        }
        var reranker: (any Reranker)?
        if let name = rerankModel ?? env["NESTOR_RERANK_MODEL"] {
            let dir = try ModelLocator.folderOption(name)
            log.info("loading rerank model", metadata: ["folder": "\(dir.path)"])
            do {
                reranker = try LocalReranker.load(folder: dir, options: .init(tokenizerMode: try TokenizerMode.resolve(tokenizerMode)))
            } catch {
                throw CommandFailure("cannot load the rerank model in \(dir.path): \(error)")
            }
        }
        var config = ServerConfiguration()
        config.host = host ?? env["NESTOR_HOST"] ?? "127.0.0.1"
        config.port = port ?? env["NESTOR_PORT"].flatMap(Int.init) ?? 8080
        config.modelNames = names.isEmpty ? [embedder.info.name] : names
        config.apiKeys = apiKey.isEmpty ? (env["NESTOR_API_KEYS"]?.split(separator: ",").map(String.init) ?? []) : apiKey
        config.idleTimeout = idleTimeout ?? env["NESTOR_IDLE_TIMEOUT"].flatMap(Double.init) ?? config.idleTimeout
        config.bodyTimeout = bodyTimeout ?? env["NESTOR_BODY_TIMEOUT"].flatMap(Double.init) ?? config.bodyTimeout
        config.maxConnections = maxConnections ?? env["NESTOR_MAX_CONNECTIONS"].flatMap(Int.init) ?? Self.defaultConnectionCap()
        config.textInputOnly = textInputOnly || env["NESTOR_TEXT_INPUT_ONLY"] == "1"
        config.chunkedProcessing = enableChunkedProcessing || env["NESTOR_ENABLE_CHUNKED_PROCESSING"] == "1"
        guard config.idleTimeout > 0, config.bodyTimeout > 0, config.maxConnections >= 1 else {
            throw ValidationError("--idle-timeout and --body-timeout take positive seconds, --max-connections a positive count")
        }
        log.info("model ready", metadata: ["name": "\(config.modelNames[0])", "dimensions": "\(embedder.info.dimensions)",
                                           "weights": "\(weights)",
                                           "max_tokens": "\(embedder.info.maxInputTokens)"])
        let (store, where_) = try storage.open()
        log.info("opening \(where_)")
        // One group, started in order and shut down in reverse: the store's client (PostgreSQL)
        // first in and last out, so it outlives the server's last request and background work.
        var services: [any Service] = []
        var replication: Replicator?
        if let pg = store as? PostgresStore {
            services.append(pg)
            var settings = Replicator.Settings()
            settings.retention = replicaRetention ?? env["NESTOR_REPLICA_RETENTION"].flatMap(Double.init) ?? settings.retention
            guard settings.retention > 0 else { throw ValidationError("--replica-retention takes positive seconds") }
            let advertised = advertiseURL ?? env["NESTOR_ADVERTISE_URL"] ?? "http://\(config.host == "0.0.0.0" ? "127.0.0.1" : config.host):\(config.port)"
            replication = Replicator(store: pg, advertising: advertised, settings: settings, logger: log)
        }
        services.append(NestorServer(store: store, description: where_, embedder: embedder, reranker: reranker, config: config,
                                     replication: replication, logger: log))
        let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: log))
        try await group.run()
    }
}

extension ServeCommand {
    /// The local engine on `--model` with the engine flags.
    func loadLocalEmbedder(servedName: String?, matryoshka: MatryoshkaPolicy?, env: [String: String], log: Logger) throws -> LocalEmbedder {
        let folder = try ModelLocator.folderOption(model)
        log.info("loading model", metadata: ["folder": "\(folder.path)"])
        let precision = try quantize ?? env["NESTOR_QUANTIZE"].map { v in
            guard let p = WeightPrecision(rawValue: v) else { throw ValidationError("NESTOR_QUANTIZE must be fp32 or int8, got \(v)") }
            return p
        } ?? .float32
        return try LocalEmbedder(folder: folder, options: .init(
            servedName: servedName, matryoshka: matryoshka,
            maxInputTokens: maxInputTokens ?? env["NESTOR_MAX_INPUT_TOKENS"].flatMap(Int.init),
            maxBatchTokens: maxBatchTokens ?? env["NESTOR_MAX_BATCH_TOKENS"].flatMap(Int.init) ?? 16_384,
            tokenizerMode: try TokenizerMode.resolve(tokenizerMode), precision: precision))
    }

    /// Half the soft file-descriptor limit (the rest is for the store, the model files and
    /// logs), between 64 and 4,096: a cap an idle-connection flood reaches only slowly, and one
    /// the process can always honour.
    static func defaultConnectionCap() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 512 }
        return max(64, min(4_096, Int(limit.rlim_cur) / 2))
    }
}

/// The server as a service: migrations and the store claim before it listens; on shutdown the
/// requests in flight finish, then background work, then the claim is released. On
/// PostgreSQL the process joins the store's replicas instead of claiming it alone: the
/// writer if no one leads, else a follower that applies the writer's log beside serving.
struct NestorServer: Service {
    let store: any IndexStore
    let description: String
    let embedder: any Embedder
    let reranker: (any Reranker)?
    let config: ServerConfiguration
    let replication: Replicator?
    let logger: Logger

    func run() async throws {
        do {
            try await store.migrate()
            if replication == nil { try await store.claimExclusiveUse() }
        } catch {
            throw CommandFailure("cannot prepare \(description): \(error)")
        }
        guard let replication else {
            let retrieval = try await RetrievalService(store: store, embedder: embedder, reranker: reranker, logger: logger)
            let app = buildApplication(embedder: embedder, reranker: reranker, retrieval: retrieval, config: config, logger: logger)
            try await app.run()
            await retrieval.settle()
            await store.releaseExclusiveUse()
            return
        }
        let retrieval = try await replication.join { source, replica in
            try await RetrievalService(store: store, embedder: embedder, reranker: reranker, replica: replica, loadingFrom: source, logger: logger)
        }
        let app = buildApplication(embedder: embedder, reranker: reranker, retrieval: retrieval, config: config, logger: logger)
        // The server and the replica's work side by side; whichever ends first (a shutdown, or
        // a writer that lost its lock) ends the other.
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.run() }
            group.addTask { try await replication.run(retrieval) }
            try await group.next()
            group.cancelAll()
        }
        await retrieval.settle()
        await store.releaseExclusiveUse()
    }
}
