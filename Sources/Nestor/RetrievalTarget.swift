import ArgumentParser
import EmbeddingEngine
import Foundation
import Logging
import NestorCore
import NestorHTTP
import Retrieval
import Tokenization

/// Where `nestor ingest` and `nestor search` send their work: a running server, or (with
/// `--direct`) the store itself, with the model loaded in this process. Both take the same
/// typed requests; the server path sends them as the HTTP API's JSON, so defaults are applied
/// in one place (the service) either way.
struct TargetOptions: ParsableArguments {
    @OptionGroup var server: ServerOptions
    @Flag(help: "Work on the store directly instead of a server: loads the model here and claims the store, so it is refused while a server uses the same store.")
    var direct = false
    @Option(help: "With --direct: model folder or name under $NESTOR_MODELS (default: multilingual-e5-small); the collection must have been built with it.")
    var model: String?
    @Option(help: "With --direct: the model name the collection was created under, if the server ran with --served-model-name.")
    var servedModelName: String?
    @Option(help: TokenizerMode.help) var tokenizerMode: TokenizerMode?
    @OptionGroup var storage: StoreOptions

    /// Runs `body` against the target; a claimed store is given back however `body` ends, so a
    /// server can start on it right after.
    func with<T: Sendable>(_ body: @Sendable (RetrievalTarget) async throws -> T) async throws -> T {
        guard direct else { return try await body(.server(try server.client())) }
        let env = ProcessInfo.processInfo.environment
        let folder = try ModelLocator.folderOption(model)
        var logger = Logger(label: "nestor")
        logger.logLevel = .warning
        let log = logger
        let embedder = try LocalEmbedder(folder: folder, options: .init(
            servedName: servedModelName ?? env["NESTOR_SERVED_MODEL_NAME"]?.split(separator: ",").first.map(String.init),
            tokenizerMode: try TokenizerMode.resolve(tokenizerMode)))
        return try await storage.withStore { store, where_ in
            do {
                try await store.migrate()
                try await store.claimExclusiveUse()
            } catch let e as StoreError where e.code == .busy {
                throw CommandFailure("\(e.message); leave out --direct to go through that server (--url), or stop it first")
            } catch let e as StoreError {
                throw CommandFailure("cannot use \(where_): \(e.message)")
            }
            do {
                let service = try await RetrievalService(store: store, embedder: embedder, logger: log)
                let result = try await body(.direct(service))
                await service.settle()
                await store.releaseExclusiveUse()
                return result
            } catch {
                await store.releaseExclusiveUse()
                throw error
            }
        }
    }
}

extension ModelLocator {
    /// The folder a `--model` option (or NESTOR_MODEL, or the default model) names, as a usage error when absent.
    static func folderOption(_ option: String?) throws -> URL {
        do {
            return try resolve(option ?? ProcessInfo.processInfo.environment["NESTOR_MODEL"])
        } catch {
            throw ValidationError("\(error)")
        }
    }
}

enum RetrievalTarget: Sendable {
    case server(ServerClient)
    case direct(RetrievalService)

    /// Creates the collection with default settings; false when it already exists.
    func createCollectionIfMissing(_ name: String) async throws -> Bool {
        switch self {
        case .server(let client):
            return (try? await client.post("/collections", ["name": name])) != nil
        case .direct(let service):
            do {
                _ = try await service.createCollection(CollectionRequest(name: name))
                return true
            } catch let e as RetrievalError where e.code == .conflict {
                return false
            }
        }
    }

    /// Ingests one batch; returns the chunks written.
    func ingest(_ request: IngestRequest) async throws -> Int {
        switch self {
        case .server(let client):
            let documents: [[String: Any]] = request.documents.map { d in
                var o: [String: Any] = ["text": d.text]
                if let id = d.id { o["id"] = id }
                if !d.metadata.isEmpty { o["metadata"] = try? JSONSerialization.jsonObject(with: Data(MetadataValue.jsonText(d.metadata).utf8)) }
                return o
            }
            return (try await client.post("/ingest", ["collection": request.collection, "documents": documents])["chunks"] as? Int) ?? 0
        case .direct(let service):
            return try await service.ingest(request).chunks
        }
    }

    /// The response as the server's `/search` returns it, as JSON text (the direct path encodes
    /// its result with the same encoder the server uses).
    func search(_ request: SearchRequest, filterText: String?) async throws -> String {
        switch self {
        case .server(let client):
            guard case .text(let query) = request.query else { throw ValidationError("the CLI searches with text") }
            var body: [String: Any] = ["collection": request.collection, "query": query]
            if let k = request.topK { body["top_k"] = k }
            body["filter"] = filterText.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) }
            let response = try await client.post("/search", body)
            return String(decoding: try JSONSerialization.data(withJSONObject: response), as: UTF8.self)
        case .direct(let service):
            return RetrievalJSON.text(try await service.search(request))
        }
    }
}
