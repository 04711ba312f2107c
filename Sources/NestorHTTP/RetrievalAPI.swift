import Foundation
import Hummingbird
import NestorCore
import Retrieval

/// `/collections`, `/ingest`, `/search` and `/documents`: the search service over HTTP.
struct RetrievalAPI: Sendable {
    let service: RetrievalService
    let config: ServerConfiguration

    func register(on router: Router<BasicRequestContext>) {
        router.post("/collections") { request, _ in try await mapped { try await createCollection(request) } }
        router.get("/collections") { _, _ in
            let all = await service.collections()
            let w = JSONWriter()
            w.object { w.key("collections"); w.array { for c in all { write(c, w) } } }
            return w.response()
        }
        router.get("/collections/:name") { _, context in
            try await mapped {
                let c = try await service.collection(try context.parameters.require("name"))
                let w = JSONWriter()
                write(c, w)
                return w.response()
            }
        }
        router.delete("/collections/:name") { _, context in
            try await mapped {
                let name = try context.parameters.require("name")
                try await service.deleteCollection(name)
                let w = JSONWriter()
                w.object { w.field("name", name); w.key("deleted"); w.bool(true) }
                return w.response()
            }
        }
        router.post("/collections/:name/optimize") { _, context in
            try await mapped {
                let c = try await service.optimize(try context.parameters.require("name"))
                let w = JSONWriter()
                write(c, w)
                return w.response()
            }
        }
        router.post("/ingest") { request, _ in try await mapped { try await ingest(request) } }
        router.post("/search") { request, _ in try await mapped { try await search(request) } }
        router.get("/documents/:collection/:id") { _, context in
            try await mapped {
                let collection = try context.parameters.require("collection"), id = try context.parameters.require("id")
                guard let d = try await service.document(id, in: collection) else {
                    throw APIError(.notFound, "document \(id) is not in collection \(collection)")
                }
                let w = JSONWriter()
                w.object {
                    w.field("id", d.id)
                    w.field("collection", collection)
                    w.field("text", d.text)
                    w.key("metadata"); w.raw(d.metadata)
                    w.key("chunks")
                    w.array {
                        for c in d.chunks {
                            w.object {
                                w.field("index", c.ordinal); w.field("text", c.text)
                                w.field("token_start", c.tokenStart); w.field("token_end", c.tokenEnd)
                            }
                        }
                    }
                }
                return w.response()
            }
        }
        router.delete("/documents/:collection/:id") { _, context in
            try await mapped {
                let collection = try context.parameters.require("collection"), id = try context.parameters.require("id")
                guard try await service.deleteDocument(id, in: collection) else {
                    throw APIError(.notFound, "document \(id) is not in collection \(collection)")
                }
                let w = JSONWriter()
                w.object { w.field("id", id); w.field("collection", collection); w.key("deleted"); w.bool(true) }
                return w.response()
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
            }
            throw APIError(status, e.message, param: e.param)
        } catch let e as EmbeddingError {
            throw APIError(e)
        } catch let e as MetadataFilter.ParseError {
            throw APIError.badRequest(e.description, param: "filter")
        } catch let e as StoreError {
            throw APIError(e.code == .notFound ? .notFound : .serviceUnavailable,
                           e.code == .notFound ? e.message : "the database is unavailable: \(e.message)")
        }
    }

    private func write(_ c: CollectionInfo, _ w: JSONWriter) {
        w.object {
            w.field("name", c.spec.name)
            w.field("model", c.spec.model)
            w.field("dimensions", c.spec.dimensions)
            w.field("coarse_dimensions", c.spec.coarseDimensions)
            w.field("coarse_basis", c.coarseBasis)
            w.field("metric", "cosine")
            w.field("m", c.spec.m)
            w.field("ef_construction", c.spec.efConstruction)
            w.field("documents", c.documents)
            w.field("chunks", c.chunks)
            if let u = c.unavailable { w.field("unavailable", u) }
        }
    }

    private func createCollection(_ request: Request) async throws -> Response {
        let body = try await JSONBody.read(request, limit: config.maxBodyBytes)
        guard let name = try body.string("name") else { throw APIError.badRequest("'name' is required", param: "name") }
        let c = try await service.createCollection(name: name, coarseDimensions: try body.int("coarse_dimensions"),
                                                   m: try body.int("m"), efConstruction: try body.int("ef_construction"))
        let w = JSONWriter()
        write(c, w)
        return w.response(status: .created)
    }

    private func ingest(_ request: Request) async throws -> Response {
        let body = try await JSONBody.read(request, limit: config.maxIngestBodyBytes)
        guard let collection = try body.string("collection") else { throw APIError.badRequest("'collection' is required", param: "collection") }
        guard let raw = body.fields["documents"] as? [Any] else {
            throw APIError.badRequest("'documents' must be an array of {id?, text, metadata?}", param: "documents")
        }
        let documents = try raw.enumerated().map { i, item -> IngestDocument in
            guard let d = item as? [String: Any] else { throw APIError.badRequest("documents[\(i)] must be an object", param: "documents[\(i)]") }
            let doc = JSONBody(fields: d)
            guard let text = try doc.string("text") else {
                throw APIError.badRequest("documents[\(i)].text must be a string", param: "documents[\(i)].text")
            }
            var id = try? doc.string("id")
            if id == nil, let n = d["id"] as? NSNumber, !isBool(n) { id = n.stringValue }
            if doc.has("id") && id == nil { throw APIError.badRequest("documents[\(i)].id must be a string", param: "documents[\(i)].id") }
            var metadata = "{}"
            if doc.has("metadata") {
                guard let m = d["metadata"] as? [String: Any] else {
                    throw APIError.badRequest("documents[\(i)].metadata must be a JSON object", param: "documents[\(i)].metadata")
                }
                metadata = String(decoding: try JSONSerialization.data(withJSONObject: m, options: [.sortedKeys, .withoutEscapingSlashes]), as: UTF8.self)
            }
            return IngestDocument(id: id, text: text, metadata: metadata)
        }
        var chunking: ChunkingOptions?
        if body.has("chunking") {
            guard let c = body.fields["chunking"] as? [String: Any] else { throw APIError.badRequest("'chunking' must be an object", param: "chunking") }
            let cb = JSONBody(fields: c)
            guard let maxTokens = try cb.int("max_tokens") else {
                throw APIError.badRequest("'chunking.max_tokens' is required when 'chunking' is given", param: "chunking.max_tokens")
            }
            chunking = ChunkingOptions(maxTokens: maxTokens, overlapTokens: try cb.int("overlap_tokens") ?? 0)
        }
        let result = try await service.ingest(documents, into: collection, chunking: chunking)
        let w = JSONWriter()
        w.object {
            w.field("collection", collection)
            w.key("documents")
            w.array { for d in result.documents { w.object { w.field("id", d.id); w.field("chunks", d.chunks) } } }
            w.field("chunks", result.documents.reduce(0) { $0 + $1.chunks })
            w.key("timings")
            w.object { w.key("embed_ms"); w.double(result.embedSeconds * 1000); w.key("write_ms"); w.double(result.writeSeconds * 1000) }
        }
        return w.response()
    }

    private func search(_ request: Request) async throws -> Response {
        let body = try await JSONBody.read(request, limit: config.maxBodyBytes)
        guard let collection = try body.string("collection") else { throw APIError.badRequest("'collection' is required", param: "collection") }
        let query: SearchQuery
        switch (body.has("query"), body.has("vector")) {
        case (true, false): query = .text(try body.string("query") ?? "")
        case (false, true):
            guard let a = body.fields["vector"] as? [Any], let v = floats(a) else {
                throw APIError.badRequest("'vector' must be an array of numbers", param: "vector")
            }
            query = .vector(v)
        default: throw APIError.badRequest("give exactly one of 'query' (text) or 'vector'", param: "query")
        }
        var o = SearchOptions()
        o.topK = try body.int("top_k") ?? 10
        o.rerankDepth = try body.int("rerank_depth") ?? max(100, 10 * o.topK)
        o.ef = try body.int("ef") ?? max(o.rerankDepth, 64)
        o.exact = try body.bool("exact") ?? false
        if body.has("filter") {
            guard let f = body.fields["filter"].flatMap(MetadataValue.init(json:)) else {
                throw APIError.badRequest("'filter' must be a JSON object", param: "filter")
            }
            o.filter = try MetadataFilter(f)
        }
        let include = try body.strings("include") ?? ["text", "metadata"]
        if let bad = include.first(where: { !["text", "metadata", "vector"].contains($0) }) {
            throw APIError.badRequest("'include' may list text, metadata and vector; got \"\(bad)\"", param: "include")
        }
        let r = try await service.search(query, in: collection, options: o, groupByDocument: try body.bool("group_by_document") ?? false,
                                         includeVectors: include.contains("vector"))
        let w = JSONWriter()
        w.object {
            w.field("collection", collection)
            w.key("hits")
            w.array {
                for h in r.hits {
                    w.object {
                        w.field("document_id", h.documentId)
                        w.field("chunk_index", h.chunkIndex)
                        w.key("score"); w.float(h.score)
                        if include.contains("text") { w.field("text", h.text) }
                        if include.contains("metadata") { w.key("metadata"); w.raw(h.metadata) }
                        if let v = h.vector { w.key("vector"); w.floats(v) }
                    }
                }
            }
            w.field("path", r.path.rawValue)
            w.field("candidates", r.candidates)
            w.key("timings")
            w.object {
                w.key("embed_ms"); w.double(r.embedSeconds * 1000)
                w.key("coarse_ms"); w.double(r.coarseSeconds * 1000)
                w.key("rerank_ms"); w.double(r.rerankSeconds * 1000)
                w.key("fetch_ms"); w.double(r.fetchSeconds * 1000)
            }
        }
        return w.response()
    }

    private func floats(_ a: [Any]) -> [Float]? {
        var out = [Float]()
        out.reserveCapacity(a.count)
        for x in a {
            guard let n = x as? NSNumber, !isBool(n) else { return nil }
            out.append(n.floatValue)
        }
        return out
    }
}
