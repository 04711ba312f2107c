import ArgumentParser
import EmbeddingEngine
import Foundation
import Logging
import NestorCore
import Retrieval

/// Where `nestor ingest` and `nestor search` send their work: a running server, or (with
/// `--direct`) the store itself, with the model loaded in this process.
struct TargetOptions: ParsableArguments {
    @OptionGroup var server: ServerOptions
    @Flag(help: "Work on the store directly instead of a server: loads the model here and claims the store, so it is refused while a server uses the same store.")
    var direct = false
    @Option(help: "With --direct: model folder or name under $NESTOR_MODELS (default: multilingual-e5-small); the collection must have been built with it.")
    var model: String?
    @Option(help: "With --direct: the model name the collection was created under, if the server ran with --served-model-name.")
    var servedModelName: String?
    @OptionGroup var storage: StoreOptions

    /// Runs `body` against the target and gives a claimed store back however `body` ends, so a
    /// server can start on it right after.
    func with<T>(_ body: (RetrievalTarget) async throws -> T) async throws -> T {
        let target = try await open()
        do {
            let result = try await body(target)
            await target.close()
            return result
        } catch {
            await target.close()
            throw error
        }
    }

    private func open() async throws -> RetrievalTarget {
        guard direct else { return .server(try server.client()) }
        let env = ProcessInfo.processInfo.environment
        let folder = try ModelLocator.folderOption(model)
        var log = Logger(label: "nestor")
        log.logLevel = .warning
        let embedder = try LocalEmbedder(folder: folder, options: .init(servedName: servedModelName ?? env["NESTOR_SERVED_MODEL_NAME"]?.split(separator: ",").first.map(String.init)))
        let (store, where_) = try storage.open()
        do {
            try await store.migrate()
            try await store.claimExclusiveUse()
        } catch let e as StoreError where e.code == .busy {
            throw CommandFailure("\(e.message); leave out --direct to go through that server (--url), or stop it first")
        } catch let e as StoreError {
            throw CommandFailure("cannot use \(where_): \(e.message)")
        }
        return .direct(try await RetrievalService(store: store, embedder: embedder, logger: log), store)
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

enum RetrievalTarget {
    case server(ServerClient)
    case direct(RetrievalService, any DocumentStore)

    /// Creates the collection with default settings; false when it already exists.
    func createCollectionIfMissing(_ name: String) async throws -> Bool {
        switch self {
        case .server(let client):
            return (try? await client.post("/collections", ["name": name])) != nil
        case .direct(let service, _):
            do {
                _ = try await service.createCollection(name: name, coarseDimensions: nil, m: nil, efConstruction: nil)
                return true
            } catch let e as RetrievalError where e.code == .conflict {
                return false
            }
        }
    }

    /// Ingests one batch of `{id?, text, metadata?}` objects; returns the chunks written.
    func ingest(_ documents: [[String: Any]], into collection: String) async throws -> Int {
        switch self {
        case .server(let client):
            return (try await client.post("/ingest", ["collection": collection, "documents": documents])["chunks"] as? Int) ?? 0
        case .direct(let service, _):
            let batch = try documents.map { d -> IngestDocument in
                let metadata = try d["metadata"].map { m -> String in
                    guard m is [String: Any] else { throw CommandFailure("metadata of \(d["id"] ?? "a document") must be a JSON object") }
                    return String(decoding: try JSONSerialization.data(withJSONObject: m, options: [.sortedKeys]), as: UTF8.self)
                } ?? "{}"
                return IngestDocument(id: d["id"].map { "\($0)" }, text: (d["text"] as? String) ?? "", metadata: metadata)
            }
            return try await service.ingest(batch, into: collection).documents.reduce(0) { $0 + $1.chunks }
        }
    }

    /// The hits as the server's `/search` returns them.
    func search(_ query: String, in collection: String, topK: Int, filter: Any?) async throws -> [String: Any] {
        switch self {
        case .server(let client):
            var body: [String: Any] = ["collection": collection, "query": query, "top_k": topK]
            body["filter"] = filter
            return try await client.post("/search", body)
        case .direct(let service, _):
            var options = SearchOptions(topK: topK)
            if let filter {
                guard let value = MetadataValue(json: filter) else { throw ValidationError("--filter is not a JSON object") }
                options.filter = try MetadataFilter(value)
            }
            let result = try await service.search(.text(query), in: collection, options: options)
            let hits: [[String: Any]] = result.hits.map { h in
                ["document_id": h.documentId, "chunk_index": h.chunkIndex, "score": Double(h.score), "text": h.text,
                 "metadata": (try? JSONSerialization.jsonObject(with: Data(h.metadata.utf8))) ?? [:]]
            }
            return ["hits": hits]
        }
    }

    fileprivate func close() async {
        if case .direct(_, let store) = self { await store.releaseExclusiveUse() }
    }
}
