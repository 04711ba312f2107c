import Foundation
import NestorCore

/// `/search`'s optional last stage: the first `depth` hits of the dense, lexical or hybrid
/// ranking are scored again by the served cross-encoder against the query text, and the best
/// `top_n` of them come back, ordered by that score. A cross-encoder reads query and chunk
/// together, so it corrects what a single vector per side cannot (negations, which entity a
/// question asks about), at the cost of one forward pass per candidate: hence a bounded depth.
public struct RerankStage: Sendable, Equatable {
    /// Hits returned after the rerank (nil = the request's `top_k`).
    public var topN: Int?
    /// First-stage hits the cross-encoder scores (nil = max(20, 2 · top_n, offset + top_n)).
    /// Pages of one ranking agree with each other when the request gives it.
    public var depth: Int?
    public init(topN: Int? = nil, depth: Int? = nil) {
        self.topN = topN
        self.depth = depth
    }
}

/// A rerank stage with every default decided.
struct ResolvedRerank: Sendable, Equatable {
    var topN: Int
    var depth: Int
}

extension RetrievalService {
    /// The most first-stage hits one search may send to the cross-encoder: each is a forward
    /// pass over query + chunk, so this bounds the engine time a single request can ask for.
    static let maxRerankDepth = 1_000

    /// Checks the stage and fills its defaults; `offset` pages through the reranked head.
    nonisolated func resolve(_ stage: RerankStage, topK: Int?, offset: Int, query: SearchQuery) throws -> ResolvedRerank {
        guard reranker != nil else {
            throw RetrievalError(.invalid, "this server has no rerank model; start it with --rerank-model NAME_OR_DIR, or leave out 'rerank'",
                                 param: "rerank")
        }
        guard case .text = query else { throw RetrievalError(.invalid, "'rerank' needs a text 'query', not a 'vector'", param: "rerank") }
        if let k = topK, let n = stage.topN, k != n {
            throw RetrievalError(.invalid, "give the page size once: 'top_k' (\(k)) and 'rerank.top_n' (\(n)) differ", param: "rerank.top_n")
        }
        let topN = stage.topN ?? topK ?? settings.defaultTopK
        guard topN >= 1, topN <= settings.maxTopK else {
            throw RetrievalError(.invalid, "'rerank.top_n' must be between 1 and \(settings.maxTopK), got \(topN)", param: "rerank.top_n")
        }
        let depth = stage.depth ?? min(Self.maxRerankDepth, max(20, 2 * topN, offset + topN))
        guard depth >= offset + topN, depth <= Self.maxRerankDepth else {
            throw RetrievalError(.invalid, "'rerank.depth' must be between offset + top_n (\(offset + topN)) and \(Self.maxRerankDepth), got \(depth)",
                                 param: "rerank.depth")
        }
        return ResolvedRerank(topN: topN, depth: depth)
    }

    /// Scores `hits` (first-stage order, with their rows) against the query and returns them
    /// best first; equal scores keep the first stage's order.
    nonisolated func rerank(_ query: String, _ hits: [(hit: SearchHit, text: String)]) async throws -> [(hit: SearchHit, score: Float)] {
        guard let reranker, !hits.isEmpty else { return hits.map { ($0.hit, $0.hit.score) } }
        // Engine errors (overloaded, …) reach HTTP as they do from the embedder.
        let out = try await reranker.score(query: query, documents: hits.map(\.text), options: RerankOptions())
        return out.ranking.map { (hits[$0].hit, out.scores[$0]) }
    }
}
