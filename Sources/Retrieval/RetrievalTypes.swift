import NestorCore

/// Why a retrieval request failed, in terms the HTTP layer maps to a status code.
public struct RetrievalError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable { case invalid, notFound, conflict, tooLarge }
    public var code: Code
    public var message: String
    public var param: String?
    public init(_ code: Code, _ message: String, param: String? = nil) {
        self.code = code
        self.message = message
        self.param = param
    }
    public var description: String { message }
}

/// A collection as clients see it.
public struct CollectionInfo: Sendable, Equatable {
    public var spec: CollectionSpec
    public var documents: Int
    public var chunks: Int
    /// "pca" when the coarse stage runs in a fitted rotation, "prefix" when on raw leading dimensions.
    public var coarseBasis: String
    /// Set when the collection cannot be served (e.g. built with another model).
    public var unavailable: String?
}

public struct IngestDocument: Sendable, Equatable {
    public var id: String?
    public var text: String
    /// A JSON object text.
    public var metadata: String
    public init(id: String? = nil, text: String, metadata: String = "{}") {
        self.id = id
        self.text = text
        self.metadata = metadata
    }
}

public struct IngestedDocument: Sendable, Equatable {
    public var id: String
    public var chunks: Int
}

public struct IngestResult: Sendable {
    public var documents: [IngestedDocument]
    public var embedSeconds: Double
    public var writeSeconds: Double
}

public enum SearchQuery: Sendable {
    case text(String)
    case vector([Float])
}

/// One result as returned to clients.
public struct RetrievedChunk: Sendable {
    public var documentId: String
    public var chunkIndex: Int
    public var score: Float
    public var text: String
    public var metadata: String
    public var vector: [Float]?
}

public struct SearchResult: Sendable {
    public var hits: [RetrievedChunk]
    public var path: SearchOutcome.Path
    public var candidates: Int
    public var embedSeconds: Double
    public var coarseSeconds: Double
    public var rerankSeconds: Double
    public var fetchSeconds: Double
}

/// Service-wide defaults and limits.
public struct RetrievalSettings: Sendable {
    /// Coarse dimension when a collection does not give one (capped at the model's size).
    public var defaultCoarseDimensions = 128
    /// A rotation is fitted once a collection holds this many chunks (and at least 2× its dimension).
    public var rotationMinimumVectors = 1_000
    /// Vectors sampled to fit a rotation.
    public var rotationSample = 50_000
    public var maxDocumentsPerRequest = 2_048
    public var maxTopK = 1_000
    public init() {}
}
