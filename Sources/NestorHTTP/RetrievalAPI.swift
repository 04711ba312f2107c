import Foundation
import Hummingbird
import NestorCore
import Retrieval

/// `/collections`, `/ingest`, `/search` and `/documents`: the search service over HTTP. This
/// layer only decodes bodies into the service's request types (`RetrievalRequests.swift`) and
/// encodes its results (`RetrievalJSON`); defaults and rules are the service's.
struct RetrievalAPI: Sendable {
    let service: RetrievalService
    let config: ServerConfiguration

    func register(on router: RecordingRouter) {
        router.post("/collections", writes: true) { request, _ in
            try await mapped {
                let body = try await JSONBody.read(request, limit: config.maxBodyBytes, timeout: config.bodyTimeout)
                let (c, created) = try await service.createCollection(try Self.collectionRequest(body))
                return RetrievalJSON.writer { RetrievalJSON.write(c, $0) }.response(status: created ? .created : .ok)
            }
        }
        router.get("/collections") { _, _ in
            let all = await service.collections()
            return RetrievalJSON.writer { w in w.object { w.key("collections"); w.array { for c in all { RetrievalJSON.write(c, w) } } } }.response()
        }
        router.get("/collections/:name") { _, context in
            try await mapped {
                let c = try await service.collection(try pathParameter(context, "name"))
                return RetrievalJSON.writer { RetrievalJSON.write(c, $0) }.response()
            }
        }
        router.delete("/collections/:name") { _, context in
            try await mapped {
                let name = try pathParameter(context, "name")
                try await service.deleteCollection(name)
                return RetrievalJSON.writer { w in w.object { w.field("name", name); w.key("deleted"); w.bool(true) } }.response()
            }
        }
        router.post("/collections/:name/optimize", writes: true) { _, context in
            try await mapped {
                let c = try await service.optimize(try pathParameter(context, "name"))
                return RetrievalJSON.writer { RetrievalJSON.write(c, $0) }.response()
            }
        }
        router.post("/ingest", writes: true) { request, _ in
            try await mapped {
                let body = try await JSONBody.read(request, limit: config.maxIngestBodyBytes, timeout: config.bodyTimeout)
                let result = try await service.ingest(try Self.ingestRequest(body))
                return RetrievalJSON.writer { RetrievalJSON.write(result, $0) }.response()
            }
        }
        router.post("/search") { request, _ in
            try await mapped {
                let body = try await JSONBody.read(request, limit: config.maxBodyBytes, timeout: config.bodyTimeout)
                let r = try await service.search(try Self.searchRequest(body))
                return RetrievalJSON.writer { RetrievalJSON.write(r, $0) }.response()
            }
        }
        router.get("/documents/:collection") { request, context in
            try await mapped {
                let collection = try pathParameter(context, "collection")
                let query = request.uri.queryParameters
                if let bad = query.first(where: { !["limit", "cursor"].contains(String($0.key)) }) {
                    throw APIError.badRequest("unknown query parameter '\(bad.key)'; this route takes limit and cursor", param: String(bad.key))
                }
                var limit: Int?
                if let l = query["limit"] {
                    guard let n = Int(l) else { throw APIError.badRequest("'limit' must be an integer", param: "limit") }
                    limit = n
                }
                let page = try await service.documents(in: collection, limit: limit, cursor: query["cursor"].map(String.init))
                return RetrievalJSON.writer { RetrievalJSON.write(page, collection: collection, $0) }.response()
            }
        }
        router.get("/documents/:collection/:id") { _, context in
            try await mapped {
                let collection = try pathParameter(context, "collection"), id = try pathParameter(context, "id")
                guard let d = try await service.document(id, in: collection) else {
                    throw APIError(.notFound, "document \(id) is not in collection \(collection)", param: "id")
                }
                return RetrievalJSON.writer { RetrievalJSON.write(d, collection: collection, $0) }.response()
            }
        }
        router.delete("/documents/:collection/:id") { _, context in
            try await mapped {
                let collection = try pathParameter(context, "collection"), id = try pathParameter(context, "id")
                guard try await service.deleteDocument(id, in: collection) else {
                    throw APIError(.notFound, "document \(id) is not in collection \(collection)", param: "id")
                }
                return RetrievalJSON.writer { w in
                    w.object { w.field("id", id); w.field("collection", collection); w.key("deleted"); w.bool(true) }
                }.response()
            }
        }
    }

    /// Service errors to OpenAI-shaped HTTP errors.
    private func mapped(_ body: () async throws -> Response) async throws -> Response {
        do {
            return try await body()
        } catch let e as RetrievalError {
            let status: HTTPResponse.Status = switch e.code {
            case .invalid: .badRequest
            case .notFound: .notFound
            case .conflict: .conflict
            case .tooLarge: .contentTooLarge
            case .unavailable: .serviceUnavailable
            }
            throw APIError(status, e.message, param: e.param)
        } catch let e as EmbeddingError {
            throw APIError(e)
        } catch let e as MetadataFilter.ParseError {
            throw APIError.badRequest(e.description, param: "filter")
        } catch let e as StoreError {
            switch e.code {
            case .notFound: throw APIError(.notFound, e.message)
            case .alreadyExists: throw APIError(.conflict, e.message)
            case .busy: throw APIError(.serviceUnavailable, "the database is busy; retry shortly (\(e.message))")
            case .fenced: throw APIError(.serviceUnavailable, "\(e.message); retry: the write goes to the new writer")
            case .corrupt, .backend: throw APIError(.serviceUnavailable, "the database is unavailable: \(e.message)")
            }
        }
    }
}
