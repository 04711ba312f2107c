/// Durable storage of collections, documents and chunks. Two real backends: SQLite (embedded
/// default) and PostgreSQL; one conformance suite runs over both. A store persists rows and
/// knows nothing of the index: the graph reaches it as opaque records (`GraphRecordStore`).
public protocol DocumentStore: Sendable {
    /// Applies pending schema migrations (idempotent).
    func migrate() async throws
    /// The write methods return the change's position in the store's change log (nil where the
    /// store keeps none), so a writer can say which position a response reflects.
    @discardableResult func createCollection(_ spec: CollectionSpec) async throws -> LogPosition?
    func collections() async throws -> [CollectionSpec]
    func collection(named name: String) async throws -> CollectionSpec?
    @discardableResult func deleteCollection(named name: String) async throws -> (existed: Bool, position: LogPosition?)
    func document(_ id: String, in collection: String) async throws -> DocumentRow?
    /// Up to `limit` documents with ids after `after` (byte order of their UTF-8, the same on
    /// every backend), for listing a collection page by page.
    func documents(in collection: String, after: String?, limit: Int) async throws -> [DocumentSummary]
    /// Chunks by label, with their documents' metadata, for results.
    func chunks(labels: [UInt64], in collection: String) async throws -> [(chunk: ChunkRow, metadata: Metadata)]
    /// Every chunk's label, document and full vector, in label order (the in-memory search
    /// state, and the truth a lost graph is rebuilt from).
    func chunkVectors(in collection: String) async throws -> ChunkVectors
    /// Every document's id and metadata (for filters).
    func documentMetadata(in collection: String) async throws -> [(id: String, metadata: Metadata)]
    /// The collection's lexical term table, by id (term i at index i).
    func lexicalTerms(in collection: String) async throws -> [String]
    /// The collection's coarse rotation rows, or nil for the identity.
    func rotation(of collection: String) async throws -> [Float]?
    /// Applies one batch — documents, chunks, graph records, rotation — in one transaction.
    @discardableResult func write(_ batch: BatchWrite, to collection: String) async throws -> LogPosition?
    /// Claims the store for this process until `releaseExclusiveUse` or the process ends. Each
    /// process keeps the graphs in memory and writes its changes back, so a second writer
    /// (another `serve`, or the CLI on the store directly) would make them diverge; the second
    /// one is refused with `.busy` instead. Readers of the rows alone need no claim.
    func claimExclusiveUse() async throws
    func releaseExclusiveUse() async
}

/// The index's records, row by row, as opaque versioned bytes (the codec is the index's).
/// Written through `DocumentStore.write`, in the same transaction as the chunks they index.
public protocol GraphRecordStore: Sendable {
    func graphRecords(of collection: String) async throws -> StoredGraphRecords
}

/// What a collection's index needs: its documents and its graph records, in one database.
public typealias IndexStore = DocumentStore & GraphRecordStore

/// Store failures the service maps to HTTP errors.
public struct StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `fenced`: this process was the writer and another replica has taken over.
    public enum Code: String, Sendable { case notFound, alreadyExists, corrupt, backend, busy, fenced }
    public var code: Code
    public var message: String
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
    public var description: String { message }
}
