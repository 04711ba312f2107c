import Foundation
import NestorCore

extension RetrievalService {
    /// Embeds a text query with the model's query prompt (or takes a vector), searches, and
    /// fetches the winning chunks' text and metadata. Optionally keeps one hit per document.
    public nonisolated func search(_ query: SearchQuery, in collection: String, options: SearchOptions,
                                   groupByDocument: Bool = false, includeVectors: Bool = false) async throws -> SearchResult {
        let index = try await index(collection)
        guard options.topK >= 1, options.topK <= settings.maxTopK else {
            throw RetrievalError(.invalid, "'top_k' must be between 1 and \(settings.maxTopK), got \(options.topK)", param: "top_k")
        }
        guard options.rerankDepth >= 0, options.rerankDepth <= 10_000 else {
            throw RetrievalError(.invalid, "'rerank_depth' must be between 0 and 10000", param: "rerank_depth")
        }
        guard options.ef >= 1, options.ef <= 10_000 else { throw RetrievalError(.invalid, "'ef' must be between 1 and 10000", param: "ef") }
        let t0 = Date()
        let vector: [Float]
        switch query {
        case .text(let text):
            guard !text.isEmpty else { throw RetrievalError(.invalid, "'query' must not be empty", param: "query") }
            let prompt = embedder.info.queryPromptName
            vector = try await embedder.embed([.text(text)], options: EmbedOptions(promptName: prompt, truncation: .end)).vectors[0]
        case .vector(let v):
            guard v.count == index.spec.dimensions else {
                throw RetrievalError(.invalid, "'vector' has \(v.count) values; this collection's vectors have \(index.spec.dimensions)", param: "vector")
            }
            guard v.allSatisfy(\.isFinite), v.contains(where: { $0 != 0 }) else {
                throw RetrievalError(.invalid, "'vector' must hold finite numbers, not all zero", param: "vector")
            }
            vector = v
        }
        let embedSeconds = Date().timeIntervalSince(t0)
        var o = options
        if groupByDocument { o.topK = min(settings.maxTopK * 4, options.topK * 4); o.rerankDepth = max(o.rerankDepth, o.topK) }
        let outcome = index.search(vector, o)
        var hits = outcome.hits
        if groupByDocument {
            var seen = Set<String>()
            hits = hits.filter { seen.insert($0.documentId).inserted }
        }
        hits = Array(hits.prefix(options.topK))
        let t2 = Date()
        let rows = try await store.chunks(nodes: hits.map(\.label), in: collection)
        var byLabel = [UInt64: (chunk: ChunkRow, metadata: String)]()
        for r in rows { byLabel[r.chunk.node] = r }
        let out = hits.compactMap { h -> RetrievedChunk? in
            guard let r = byLabel[h.label] else { return nil }  // deleted between search and fetch
            return RetrievedChunk(documentId: h.documentId, chunkIndex: r.chunk.ordinal, score: h.score, text: r.chunk.text,
                                  metadata: r.metadata, vector: includeVectors ? r.chunk.vector : nil)
        }
        return SearchResult(hits: out, path: outcome.path, candidates: outcome.candidates, embedSeconds: embedSeconds,
                            coarseSeconds: outcome.coarseSeconds, rerankSeconds: outcome.rerankSeconds,
                            fetchSeconds: Date().timeIntervalSince(t2))
    }
}
