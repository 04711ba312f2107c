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

    public init(topK: Int = 10, rerankDepth: Int = 100, ef: Int = 100, filter: MetadataFilter? = nil, exact: Bool = false,
                exactFilterLimit: Int = 2_000) {
        self.topK = topK
        self.rerankDepth = rerankDepth
        self.ef = ef
        self.filter = filter
        self.exact = exact
        self.exactFilterLimit = exactFilterLimit
    }
}

/// One ranked chunk: its label, document, exact (or coarse) cosine similarity.
public struct SearchHit: Sendable, Equatable {
    public var label: UInt64
    public var documentId: String
    public var score: Float
}

/// Which path answered and how long each stage took, for the response's timings.
public struct SearchOutcome: Sendable {
    public enum Path: String, Sendable { case twoStage = "two_stage", graph, exact, filteredExact = "filtered_exact" }
    public var hits: [SearchHit]
    public var path: Path
    public var candidates: Int
    public var coarseSeconds: Double
    public var rerankSeconds: Double
}
