import NestorCore

/// One ingest request, as HTTP and the CLI decode it. Defaults (chunk size, generated ids) and
/// the rules for ids and metadata are applied by the service, nowhere else.
public struct IngestRequest: Sendable, Equatable {
    public var collection: String
    public var documents: [IngestDocument]
    /// How to cut documents; nil fields take the model's defaults.
    public var chunking: ChunkingRequest?
    /// Create the collection with the defaults when it does not exist.
    public var createCollection: Bool
    public init(collection: String, documents: [IngestDocument], chunking: ChunkingRequest? = nil, createCollection: Bool = false) {
        self.collection = collection
        self.documents = documents
        self.chunking = chunking
        self.createCollection = createCollection
    }
}

public struct IngestDocument: Sendable, Equatable {
    /// nil = generate one.
    public var id: String?
    public var text: String
    public var metadata: Metadata
    public init(id: String? = nil, text: String, metadata: Metadata = [:]) {
        self.id = id
        self.text = text
        self.metadata = metadata
    }
}

public struct ChunkingRequest: Sendable, Equatable {
    /// nil = the model's input limit minus its passage prompt.
    public var maxTokens: Int?
    public var overlapTokens: Int?
    public init(maxTokens: Int? = nil, overlapTokens: Int? = nil) {
        self.maxTokens = maxTokens
        self.overlapTokens = overlapTokens
    }
}

public struct IngestedDocument: Sendable, Equatable {
    public var id: String
    public var chunks: Int
}

public struct IngestResult: Sendable {
    public var collection: String
    public var documents: [IngestedDocument]
    public var embedSeconds: Double
    public var writeSeconds: Double
    public var chunks: Int { documents.reduce(0) { $0 + $1.chunks } }
}

/// The rules every document id follows, so that each accepted id can be fetched and deleted
/// again: 1–512 UTF-8 bytes, no control characters (PostgreSQL's text cannot hold NUL; a URL
/// path cannot carry the others unescaped in every client).
public enum DocumentIdRule {
    public static func problem(_ id: String, maxBytes: Int) -> String? {
        guard !id.isEmpty, id.utf8.count <= maxBytes else { return "must be 1–\(maxBytes) bytes of UTF-8" }
        if id.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            return "must not contain control characters (U+0000–U+001F, U+007F–U+009F)"
        }
        return nil
    }
}
