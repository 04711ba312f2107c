/// Which rankings answer a search.
public enum SearchMode: String, Sendable, CaseIterable {
    /// Nearest neighbours of the query's embedding.
    case dense
    /// BM25 over the chunks' analysed text.
    case lexical
    /// Both, over the same filter, fused.
    case hybrid
}

/// How a hybrid search merges its two rankings.
public enum Fusion: Sendable, Equatable {
    /// Reciprocal-rank fusion: Σ 1 / (k + rank) over the rankings a chunk appears in.
    case reciprocalRank(k: Int)
    /// alpha · dense + (1 − alpha) · lexical, each score normalised to 0…1 over its candidates
    /// (dense by min–max, BM25 by its maximum); a chunk missing from a ranking scores 0 there.
    case weighted(alpha: Double)
}

/// How much a hybrid search trusts each lexical hit.
public enum LexicalWeighting: String, Sendable, Equatable {
    /// The lexical contribution of a hit is scaled by its coverage: the idf-weighted share of
    /// the query's terms it contains (`BM25Index.search`). A cross-lingual query that shares
    /// one stray word with a text then barely moves the dense ranking, while a query naming an
    /// identifier the text holds keeps its full lexical weight.
    case coverage
    /// Plain fusion: every lexical hit counts fully.
    case none
}

/// How one search runs; the service fills the defaults.
public struct SearchOptions: Sendable, Equatable {
    public var topK: Int
    /// Candidates the coarse graph returns for exact re-scoring; 0 = coarse scores only.
    public var rerankDepth: Int
    public var ef: Int
    public var filter: MetadataFilter?
    /// Score every (matching) chunk exactly instead of using the graph.
    public var exact: Bool
    /// Filters matching at most this many chunks are answered by exact search over them.
    public var exactFilterLimit: Int
    /// Collections of at most this many chunks are searched exactly: below the measured
    /// crossover a full scan costs no more than the graph and never misses.
    public var exactBelow: Int
    public var mode: SearchMode
    public var fusion: Fusion
    /// How far a hybrid search trusts each lexical hit (see `LexicalWeighting`).
    public var lexicalWeighting: LexicalWeighting
    /// Candidates each ranking brings to a hybrid fusion.
    public var fusionDepth: Int
    /// The query text the lexical side analyses (nil for a vector-only query: no lexical side).
    public var text: String?

    public init(topK: Int = 10, rerankDepth: Int = 100, ef: Int = 100, filter: MetadataFilter? = nil, exact: Bool = false,
                exactFilterLimit: Int = 2_000, exactBelow: Int = 0, mode: SearchMode = .dense, fusion: Fusion = .weighted(alpha: 0.5),
                lexicalWeighting: LexicalWeighting = .coverage,
                fusionDepth: Int = 100, text: String? = nil) {
        self.topK = topK
        self.rerankDepth = rerankDepth
        self.ef = ef
        self.filter = filter
        self.exact = exact
        self.exactFilterLimit = exactFilterLimit
        self.exactBelow = exactBelow
        self.mode = mode
        self.fusion = fusion
        self.lexicalWeighting = lexicalWeighting
        self.fusionDepth = fusionDepth
        self.text = text
    }
}

/// One ranked chunk: its label, document, score, and where it stood in each ranking.
public struct SearchHit: Sendable, Equatable {
    public var label: UInt64
    public var documentId: String
    /// Cosine similarity (dense), BM25 (lexical) or the fused score (hybrid).
    public var score: Float
    /// 1-based ranks in the dense and lexical rankings, when the chunk was in them.
    public var denseRank: Int?
    public var lexicalRank: Int?
    /// For a lexical hit: the idf-weighted share of the query's terms the chunk contains.
    public var lexicalCoverage: Float?

    public init(label: UInt64, documentId: String, score: Float, denseRank: Int? = nil, lexicalRank: Int? = nil) {
        self.label = label
        self.documentId = documentId
        self.score = score
        self.denseRank = denseRank
        self.lexicalRank = lexicalRank
    }
}

/// Which path answered and how long each stage took, for the response's timings.
public struct SearchOutcome: Sendable {
    public enum Path: String, Sendable { case twoStage = "two_stage", graph, exact, filteredExact = "filtered_exact", none }
    public var hits: [SearchHit]
    /// How the dense side ran (`none` for a lexical-only search).
    public var path: Path
    public var candidates: Int
    public var coarseSeconds: Double
    public var rerankSeconds: Double
    public var lexicalSeconds: Double = 0
    public var fusionSeconds: Double = 0
}
