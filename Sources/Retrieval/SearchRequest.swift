import NestorCore

/// One search request, as HTTP and the CLI decode it. Every field left nil takes the service's
/// default (`RetrievalService.resolve`), so the same request searches the same way through a
/// server and directly.
public struct SearchRequest: Sendable {
    public var collection: String
    public var query: SearchQuery
    public var topK: Int?
    /// Hits to skip (paging): the result is ranks offset + 1 … offset + top_k.
    public var offset: Int?
    /// nil = max(100, 10 · top_k); 0 = coarse scores only.
    public var rerankDepth: Int?
    /// nil = max(rerank depth, 64).
    public var ef: Int?
    public var filter: MetadataFilter?
    public var exact: Bool
    public var groupByDocument: Bool
    public var include: Set<SearchInclude>
    /// nil = the service's default mode.
    public var mode: SearchMode?
    /// How a hybrid search fuses (nil = the weighted combination with alpha 0.5); `fusionK`
    /// picks reciprocal-rank fusion with that constant, `alpha` the weighted combination's.
    public var fusionK: Int?
    public var alpha: Double?
    /// nil = the service's default (`.coverage`: a lexical hit counts as far as it covers the
    /// query's terms).
    public var lexicalWeighting: LexicalWeighting?
    /// Rescore the head of the ranking with the served cross-encoder (nil = no rerank stage).
    public var rerank: RerankStage?

    public init(collection: String, query: SearchQuery, topK: Int? = nil, offset: Int? = nil, rerankDepth: Int? = nil, ef: Int? = nil,
                filter: MetadataFilter? = nil, exact: Bool = false, groupByDocument: Bool = false,
                include: Set<SearchInclude> = [.text, .metadata], mode: SearchMode? = nil, fusionK: Int? = nil, alpha: Double? = nil,
                rerank: RerankStage? = nil, lexicalWeighting: LexicalWeighting? = nil) {
        self.collection = collection
        self.query = query
        self.topK = topK
        self.offset = offset
        self.rerankDepth = rerankDepth
        self.ef = ef
        self.filter = filter
        self.exact = exact
        self.groupByDocument = groupByDocument
        self.include = include
        self.mode = mode
        self.fusionK = fusionK
        self.alpha = alpha
        self.rerank = rerank
        self.lexicalWeighting = lexicalWeighting
    }
}

public enum SearchQuery: Sendable {
    case text(String)
    case vector([Float])
}

/// What a hit carries besides its id and score.
public enum SearchInclude: String, Sendable, CaseIterable {
    case text, metadata, vector
}

/// One result as returned to clients.
public struct RetrievedChunk: Sendable {
    /// The chunk's stable id: `{document_id}#{chunk_index}` (the index is after the last `#`).
    public var id: String { "\(documentId)#\(chunkIndex)" }
    public var documentId: String
    public var chunkIndex: Int
    public var score: Float
    /// 1-based places in the dense and lexical rankings (hybrid search), when it was in them.
    public var denseRank: Int?
    public var lexicalRank: Int?
    public var text: String?
    public var metadata: Metadata?
    public var vector: [Float]?
}

public struct SearchResult: Sendable {
    public var collection: String
    public var hits: [RetrievedChunk]
    /// Where the next page starts, or nil when this was the last one.
    public var nextOffset: Int?
    public var mode: SearchMode
    /// What `score` is: `cosine` (dense), `bm25` (lexical), `rrf` or `weighted` (hybrid), or
    /// `rerank` (the cross-encoder's relevance, after a rerank stage).
    public var scoreType: String
    public var path: SearchOutcome.Path
    public var candidates: Int
    public var embedSeconds: Double
    public var coarseSeconds: Double
    public var rerankSeconds: Double
    public var lexicalSeconds: Double
    public var fusionSeconds: Double
    public var fetchSeconds: Double
    /// The cross-encoder stage (0 without one).
    public var rerankerSeconds: Double = 0
}
