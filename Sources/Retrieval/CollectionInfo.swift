import NestorCore

/// A collection as clients see it.
public struct CollectionInfo: Sendable, Equatable {
    public var spec: CollectionSpec
    public var documents: Int
    public var chunks: Int
    /// "pca" when the coarse stage runs in a fitted rotation, "prefix" when on raw leading dimensions.
    public var coarseBasis: String
    /// Graph node slots, and how many of them are deleted ones waiting for reuse.
    /// Distinct lexical terms.
    public var terms: Int
    public var graphNodes: Int
    public var deletedNodes: Int
    /// Set when the collection cannot be served (e.g. built with another model).
    public var unavailable: String?

    public init(spec: CollectionSpec, documents: Int, chunks: Int, coarseBasis: String, terms: Int = 0, graphNodes: Int = 0, deletedNodes: Int = 0,
                unavailable: String? = nil) {
        self.terms = terms
        self.spec = spec
        self.documents = documents
        self.chunks = chunks
        self.coarseBasis = coarseBasis
        self.graphNodes = graphNodes
        self.deletedNodes = deletedNodes
        self.unavailable = unavailable
    }
}

/// What `POST /collections` asks for; nil fields take the service's defaults.
public struct CollectionRequest: Sendable, Equatable {
    public var name: String
    public var coarseDimensions: Int?
    public var m: Int?
    public var efConstruction: Int?
    public var bm25K1: Double?
    public var bm25B: Double?
    public var foldDiacritics: Bool?
    public init(name: String, coarseDimensions: Int? = nil, m: Int? = nil, efConstruction: Int? = nil, bm25K1: Double? = nil,
                bm25B: Double? = nil, foldDiacritics: Bool? = nil) {
        self.name = name
        self.coarseDimensions = coarseDimensions
        self.m = m
        self.efConstruction = efConstruction
        self.bm25K1 = bm25K1
        self.bm25B = bm25B
        self.foldDiacritics = foldDiacritics
    }
}
