import NestorCore

/// Service-wide defaults and limits. Every default a request may leave out is decided here (or
/// in the request types beside it), once, for the HTTP API and the CLI alike.
public struct RetrievalSettings: Sendable {
    /// Coarse dimension when a collection does not give one (capped at the model's size).
    public var defaultCoarseDimensions = 128
    public var defaultM = 16
    public var defaultEfConstruction = 200
    /// A rotation is fitted once a collection holds this many chunks (and at least 2× its dimension).
    public var rotationMinimumVectors = 1_000
    /// Vectors sampled to fit a rotation.
    public var rotationSample = 50_000
    public var maxDocumentsPerRequest = 2_048
    /// Chunks one ingest request may produce: bounds the engine time a single request can ask for.
    public var maxChunksPerRequest = 4_096
    public var maxTopK = 1_000
    public var defaultTopK = 10
    /// The mode of a text search that names none (see README, *Hybrid search*, for why); a
    /// search by vector has no text for the lexical side and is dense.
    public var defaultMode: SearchMode = .hybrid
    /// Collections of at most this many chunks are searched exactly (full scan): below the
    /// crossover measured with `IndexBenchmark crossover` a scan costs no more than the graph.
    public var exactSearchThreshold = 3_000
    /// The rerank depth is calibrated on a collection's own vectors once it is past the exact
    /// threshold, and again each time it has doubled; the target is this recall@10 of exact.
    public var calibrationTarget = 0.995
    /// Hybrid fusion without `fusion_k` or `alpha`: the weighted combination with this dense
    /// weight, lexical hits scaled by their coverage of the query (README, *Hybrid search*).
    public var defaultAlpha = 0.5
    /// How far a hybrid search trusts each lexical hit when the request does not say.
    public var defaultLexicalWeighting: LexicalWeighting = .coverage
    /// Document ids: 1 to this many UTF-8 bytes.
    public var maxIdBytes = 512
    /// A document's metadata as canonical JSON text, at most this many bytes.
    public var maxMetadataBytes = 65_536
    /// Metadata nesting depth (objects and arrays inside the top-level object).
    public var maxMetadataDepth = 16
    public init() {}
}
