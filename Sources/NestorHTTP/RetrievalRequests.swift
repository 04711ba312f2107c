import Foundation
import NestorCore
import Retrieval

/// JSON bodies to the service's request types: shapes and types only (and unknown fields
/// refused); every default and every rule about values is the service's.
extension RetrievalAPI {
    static func collectionRequest(_ body: JSONBody) throws -> CollectionRequest {
        try body.only(["name", "coarse_dimensions", "m", "ef_construction", "bm25_k1", "bm25_b", "fold_diacritics"])
        guard let name = try body.string("name") else { throw APIError.badRequest("'name' is required", param: "name") }
        return CollectionRequest(name: name, coarseDimensions: try body.int("coarse_dimensions"), m: try body.int("m"),
                                 efConstruction: try body.int("ef_construction"), bm25K1: try body.double("bm25_k1"),
                                 bm25B: try body.double("bm25_b"), foldDiacritics: try body.bool("fold_diacritics"))
    }

    static func ingestRequest(_ body: JSONBody) throws -> IngestRequest {
        try body.only(["collection", "documents", "chunking", "create_collection"])
        guard let collection = try body.string("collection") else { throw APIError.badRequest("'collection' is required", param: "collection") }
        guard let raw = body.fields["documents"] as? [Any] else {
            throw APIError.badRequest("'documents' must be an array of {id?, text, metadata?}", param: "documents")
        }
        let documents = try raw.enumerated().map { i, item -> IngestDocument in
            guard let d = item as? [String: Any] else { throw APIError.badRequest("documents[\(i)] must be an object", param: "documents[\(i)]") }
            let doc = JSONBody(fields: d)
            try doc.only(["id", "text", "metadata"], at: "documents[\(i)]")
            guard let text = d["text"] as? String else {
                throw APIError.badRequest("documents[\(i)].text must be a string", param: "documents[\(i)].text")
            }
            var id: String?
            if doc.has("id") {
                if let s = d["id"] as? String { id = s } else if let n = d["id"] as? NSNumber, !isBool(n), n.doubleValue == n.doubleValue.rounded(),
                                                                abs(n.doubleValue) < 1e15 {
                    id = String(n.int64Value)  // integer ids, as Chroma and LangChain clients send them, become their decimal text
                } else {
                    throw APIError.badRequest("documents[\(i)].id must be a string", param: "documents[\(i)].id")
                }
            }
            var metadata: Metadata = [:]
            if doc.has("metadata") {
                guard let m = d["metadata"] as? [String: Any], case .object(let fields)? = MetadataValue(json: m) else {
                    throw APIError.badRequest("documents[\(i)].metadata must be a JSON object", param: "documents[\(i)].metadata")
                }
                metadata = fields
            }
            return IngestDocument(id: id, text: text, metadata: metadata)
        }
        var chunking: ChunkingRequest?
        if let c = try body.object("chunking") {
            try c.only(["max_tokens", "overlap_tokens"], at: "chunking")
            chunking = ChunkingRequest(maxTokens: try c.int("max_tokens", at: "chunking"), overlapTokens: try c.int("overlap_tokens", at: "chunking"))
        }
        return IngestRequest(collection: collection, documents: documents, chunking: chunking,
                             createCollection: try body.bool("create_collection") ?? false)
    }

    static func searchRequest(_ body: JSONBody) throws -> SearchRequest {
        try body.only(["collection", "query", "vector", "top_k", "offset", "rerank_depth", "ef", "filter", "exact", "group_by_document", "include",
                       "mode", "fusion_k", "alpha", "rerank", "lexical_weighting"])
        var mode: SearchMode?
        if let m = try body.string("mode") {
            guard let parsed = SearchMode(rawValue: m) else {
                throw APIError.badRequest("'mode' must be dense, lexical or hybrid, got \"\(m)\"", param: "mode")
            }
            mode = parsed
        }
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
        var filter: MetadataFilter?
        if body.has("filter") {
            guard let f = body.fields["filter"].flatMap(MetadataValue.init(json:)) else {
                throw APIError.badRequest("'filter' must be a JSON object", param: "filter")
            }
            filter = try MetadataFilter(f)
        }
        var include: Set<SearchInclude> = [.text, .metadata]
        if let list = try body.strings("include") {
            include = []
            for name in list {
                guard let i = SearchInclude(rawValue: name) else {
                    throw APIError.badRequest("'include' may list text, metadata and vector; got \"\(name)\"", param: "include")
                }
                include.insert(i)
            }
        }
        var weighting: LexicalWeighting?
        if let w = try body.string("lexical_weighting") {
            guard let parsed = LexicalWeighting(rawValue: w) else {
                throw APIError.badRequest("'lexical_weighting' must be coverage or none, got \"\(w)\"", param: "lexical_weighting")
            }
            weighting = parsed
        }
        var rerank: RerankStage?
        if body.has("rerank") {
            guard let r = try body.object("rerank") else { throw APIError.badRequest("'rerank' must be an object {top_n?, depth?}", param: "rerank") }
            try r.only(["top_n", "depth"], at: "rerank")
            rerank = RerankStage(topN: try r.int("top_n", at: "rerank"), depth: try r.int("depth", at: "rerank"))
        }
        return SearchRequest(collection: collection, query: query, topK: try body.int("top_k"), offset: try body.int("offset"),
                             rerankDepth: try body.int("rerank_depth"),
                             ef: try body.int("ef"), filter: filter, exact: try body.bool("exact") ?? false,
                             groupByDocument: try body.bool("group_by_document") ?? false, include: include, mode: mode,
                             fusionK: try body.int("fusion_k"), alpha: try body.double("alpha"), rerank: rerank,
                             lexicalWeighting: weighting)
    }

    private static func floats(_ a: [Any]) -> [Float]? {
        var out = [Float]()
        out.reserveCapacity(a.count)
        for x in a {
            guard let n = x as? NSNumber, !isBool(n) else { return nil }
            out.append(n.floatValue)
        }
        return out
    }
}
