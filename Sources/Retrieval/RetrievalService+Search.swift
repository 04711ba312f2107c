import Foundation
import NestorCore

extension RetrievalService {
    /// The options a request resolves to: its own values, checked, and the service's defaults
    /// for the rest (the only place they are decided).
    /// `depthFactor`: the collection's calibrated rerank depth per top_k hit, when it has one.
    /// With a rerank stage the first stage searches for the stage's depth from the top; the
    /// page is cut after the rerank.
    public nonisolated func resolve(_ r: SearchRequest, depthFactor: Int? = nil) throws -> SearchOptions {
        try plan(r, depthFactor: depthFactor).options
    }

    /// `resolve`, and the request's rerank stage resolved once alongside.
    nonisolated func plan(_ r: SearchRequest, depthFactor: Int?) throws -> (options: SearchOptions, stage: ResolvedRerank?) {
        let stage = try r.rerank.map { try resolve($0, topK: r.topK, offset: r.offset ?? 0, query: r.query) }
        var r = r
        if let stage {
            r.topK = stage.depth
            r.offset = 0
        }
        let topK = r.topK ?? settings.defaultTopK
        guard topK >= 1, topK <= settings.maxTopK else {
            throw RetrievalError(.invalid, "'top_k' must be between 1 and \(settings.maxTopK), got \(topK)", param: "top_k")
        }
        let offset = r.offset ?? 0
        guard offset >= 0 else { throw RetrievalError(.invalid, "'offset' must not be negative, got \(offset)", param: "offset") }
        guard offset + topK <= settings.maxTopK else {
            throw RetrievalError(.invalid, "'offset' + 'top_k' must be at most \(settings.maxTopK), got \(offset) + \(topK)", param: "offset")
        }
        // A page is the head of offset + top_k hits less its first offset, searched as deep as that head.
        let want = offset + topK
        // (A default past the limit is capped: a lexical search for 1,000 hits must not fail on it.)
        let depth = r.rerankDepth ?? min(10_000, max(100, (depthFactor ?? 10) * want))
        guard depth >= 0, depth <= 10_000 else { throw RetrievalError(.invalid, "'rerank_depth' must be between 0 and 10000, got \(depth)", param: "rerank_depth") }
        let ef = r.ef ?? max(depth, 64)
        guard ef >= 1, ef <= 10_000 else { throw RetrievalError(.invalid, "'ef' must be between 1 and 10000, got \(ef)", param: "ef") }
        let isText = if case .text = r.query { true } else { false }
        let mode = r.mode ?? (isText ? settings.defaultMode : .dense)
        let fusion: Fusion
        switch (r.fusionK, r.alpha) {
        case (nil, nil): fusion = .weighted(alpha: settings.defaultAlpha)
        case (let k?, nil):
            guard (1...10_000).contains(k) else { throw RetrievalError(.invalid, "'fusion_k' must be between 1 and 10000, got \(k)", param: "fusion_k") }
            fusion = .reciprocalRank(k: k)
        case (nil, let a?):
            guard a >= 0, a <= 1 else { throw RetrievalError(.invalid, "'alpha' must be between 0 and 1, got \(a)", param: "alpha") }
            fusion = .weighted(alpha: a)
        default: throw RetrievalError(.invalid, "give 'fusion_k' (reciprocal-rank fusion) or 'alpha' (weighted scores), not both", param: "alpha")
        }
        if mode != .hybrid, r.fusionK != nil || r.alpha != nil || r.lexicalWeighting != nil {
            throw RetrievalError(.invalid, "'fusion_k', 'alpha' and 'lexical_weighting' apply to mode hybrid only",
                                 param: r.alpha != nil ? "alpha" : r.fusionK != nil ? "fusion_k" : "lexical_weighting")
        }
        var text: String?
        if case .text(let t) = r.query { text = t }
        if mode == .lexical, text == nil {
            throw RetrievalError(.invalid, "mode lexical needs a text 'query', not a 'vector'", param: "mode")
        }
        // Below the crossover an exact scan answers, unless the request tunes the graph itself.
        let planned = r.rerankDepth == nil && r.ef == nil ? settings.exactSearchThreshold : 0
        let options = SearchOptions(topK: want, rerankDepth: depth, ef: ef, filter: r.filter, exact: r.exact, exactBelow: planned, mode: mode,
                                    fusion: fusion, lexicalWeighting: r.lexicalWeighting ?? settings.defaultLexicalWeighting,
                                    fusionDepth: max(100, 2 * want), text: text)
        return (options, stage)
    }

    /// Embeds a text query with the model's query prompt (or takes a vector), searches, and
    /// fetches the winning chunks' text and metadata. Optionally keeps one hit per document.
    public nonisolated func search(_ request: SearchRequest) async throws -> SearchResult {
        let collection = request.collection
        let index = try await index(collection)
        let (options, stage) = try plan(request, depthFactor: index.state.read(\.depthFactor))
        let offset = request.offset ?? 0
        let t0 = Date()
        let vector: [Float]
        switch request.query {
        case .text(let text):
            guard !text.isEmpty else { throw RetrievalError(.invalid, "'query' must not be empty", param: "query") }
            if options.mode == .lexical {
                vector = []  // no dense side to embed for
            } else {
                let prompt = embedder.info.queryPromptName
                vector = try await embedder.embed([.text(text)], options: EmbedOptions(promptName: prompt, truncation: .end)).vectors[0]
            }
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
        if request.groupByDocument { o.topK = min(settings.maxTopK * 4, options.topK * 4); o.rerankDepth = max(o.rerankDepth, o.topK) }
        let outcome = index.search(vector, o)
        var hits = outcome.hits
        if request.groupByDocument {
            var seen = Set<String>()
            hits = hits.filter { seen.insert($0.documentId).inserted }
        }
        let t2 = Date()
        var byLabel = [UInt64: (chunk: ChunkRow, metadata: Metadata)]()
        let pageSize: Int
        var rerankerSeconds = 0.0
        if let stage, case .text(let text) = request.query {
            // The head goes to the cross-encoder with its text; the page is cut from its order.
            hits = Array(hits.prefix(stage.depth))
            for r in try await store.chunks(labels: hits.map(\.label), in: collection) { byLabel[r.chunk.label] = r }
            let t3 = Date()
            let ranked = try await rerank(text, hits.compactMap { h in byLabel[h.label].map { (h, $0.chunk.text) } })
            rerankerSeconds = Date().timeIntervalSince(t3)
            pageSize = stage.topN
            hits = ranked.dropFirst(offset).prefix(pageSize).map { var h = $0.hit; h.score = $0.score; return h }
        } else {
            pageSize = options.topK - offset
            hits = Array(hits.prefix(options.topK).dropFirst(offset))
            for r in try await store.chunks(labels: hits.map(\.label), in: collection) { byLabel[r.chunk.label] = r }
        }
        let include = request.include
        let out = hits.compactMap { h -> RetrievedChunk? in
            guard let r = byLabel[h.label] else { return nil }  // deleted between search and fetch
            return RetrievedChunk(documentId: h.documentId, chunkIndex: r.chunk.ordinal, score: h.score,
                                  denseRank: options.mode == .hybrid ? h.denseRank : nil, lexicalRank: options.mode == .hybrid ? h.lexicalRank : nil,
                                  text: include.contains(.text) ? r.chunk.text : nil,
                                  metadata: include.contains(.metadata) ? r.metadata : nil,
                                  vector: include.contains(.vector) ? r.chunk.vector : nil)
        }
        // A full page may have a successor; a short one is the last.
        // (After a rerank: while the next page still lies inside the reranked head.)
        let next: Int? = if let stage {
            out.count == pageSize && offset + 2 * pageSize <= stage.depth ? offset + pageSize : nil
        } else {
            out.count == pageSize && options.topK + pageSize <= settings.maxTopK ? offset + pageSize : nil
        }
        let scoreType = switch (options.mode, options.fusion) {
        case _ where stage != nil: "rerank"
        case (.dense, _): "cosine"
        case (.lexical, _): "bm25"
        case (.hybrid, .reciprocalRank): "rrf"
        case (.hybrid, .weighted): "weighted"
        }
        return SearchResult(collection: collection, hits: out, nextOffset: next, mode: options.mode, scoreType: scoreType, path: outcome.path,
                            candidates: outcome.candidates, embedSeconds: embedSeconds, coarseSeconds: outcome.coarseSeconds,
                            rerankSeconds: outcome.rerankSeconds, lexicalSeconds: outcome.lexicalSeconds, fusionSeconds: outcome.fusionSeconds,
                            fetchSeconds: Date().timeIntervalSince(t2) - rerankerSeconds, rerankerSeconds: rerankerSeconds)
    }
}
