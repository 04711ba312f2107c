import HNSW
import VectorMath

/// A collection: its model and the parameters of its index.
public struct CollectionSpec: Sendable, Equatable {
    public var name: String
    public var model: String
    public var dimensions: Int
    /// Dimensions of the coarse (first-stage) vectors the graph is built over.
    public var coarseDimensions: Int
    public var metric: Metric
    public var m: Int
    public var efConstruction: Int
    public var seed: UInt64

    public init(name: String, model: String, dimensions: Int, coarseDimensions: Int, metric: Metric = .cosine,
                m: Int = 16, efConstruction: Int = 200, seed: UInt64 = 42) {
        self.name = name
        self.model = model
        self.dimensions = dimensions
        self.coarseDimensions = coarseDimensions
        self.metric = metric
        self.m = m
        self.efConstruction = efConstruction
        self.seed = seed
    }
}

/// A stored chunk: its graph label (`node`), place in its document, text, token span and
/// full-dimension vector.
public struct ChunkRow: Sendable, Equatable {
    public var node: UInt64
    public var documentId: String
    public var ordinal: Int
    public var text: String
    public var tokenStart: Int
    public var tokenEnd: Int
    public var vector: [Float]

    public init(node: UInt64, documentId: String, ordinal: Int, text: String, tokenStart: Int, tokenEnd: Int, vector: [Float]) {
        self.node = node
        self.documentId = documentId
        self.ordinal = ordinal
        self.text = text
        self.tokenStart = tokenStart
        self.tokenEnd = tokenEnd
        self.vector = vector
    }
}

public struct DocumentRow: Sendable, Equatable {
    public var id: String
    public var text: String
    /// The caller's metadata as a JSON object text.
    public var metadata: String
    public var chunks: [ChunkRow]

    public init(id: String, text: String, metadata: String = "{}", chunks: [ChunkRow] = []) {
        self.id = id
        self.text = text
        self.metadata = metadata
        self.chunks = chunks
    }
}

/// A graph node as stored: its record and the coarse vector the graph was built over.
public struct GraphRow: Sendable, Equatable {
    public var record: NodeRecord
    public var coarse: [Float]
    public init(record: NodeRecord, coarse: [Float]) {
        self.record = record
        self.coarse = coarse
    }
}

/// What a store keeps beside the node rows.
public struct GraphMeta: Sendable, Equatable {
    public var header: GraphHeader
    /// The next unused chunk label.
    public var nextLabel: UInt64
    /// `GraphChecksum.of` all node rows, to detect rows and meta that disagree.
    public var checksum: UInt64
    public init(header: GraphHeader, nextLabel: UInt64, checksum: UInt64) {
        self.header = header
        self.nextLabel = nextLabel
        self.checksum = checksum
    }
}

/// Everything one ingest batch changes, applied in one transaction: documents replaced or
/// added (with all their chunks), documents deleted, and the graph rows the batch touched.
public struct BatchWrite: Sendable {
    public var upserts: [DocumentRow]
    public var deletions: [String]
    public var graphRows: [GraphRow]
    public var meta: GraphMeta
    /// Replace every stored graph row (a rebuild) instead of updating the given ones.
    public var replacesGraph: Bool
    /// A new coarse rotation (`.some(nil)` = back to identity) stored with the rebuilt graph.
    public var rotation: [Float]??
    public init(upserts: [DocumentRow] = [], deletions: [String] = [], graphRows: [GraphRow] = [], meta: GraphMeta,
                replacesGraph: Bool = false, rotation: [Float]?? = nil) {
        self.upserts = upserts
        self.deletions = deletions
        self.graphRows = graphRows
        self.meta = meta
        self.replacesGraph = replacesGraph
        self.rotation = rotation
    }
}

/// Every chunk's label, document and full vector, column by column: one flat vector array
/// instead of a million small ones, so a start-up copies each vector once (into this array,
/// which the search state then adopts).
public struct ChunkVectors: Sendable {
    /// Floats per vector (0 until the first row).
    public private(set) var dimensions = 0
    public private(set) var nodes: [UInt64] = []
    public private(set) var documentIds: [String] = []
    /// Row i's vector at `i * dimensions`.
    public private(set) var vectors: [Float] = []

    private let expectedRows: Int

    public init(reservingCapacity rows: Int = 0) {
        expectedRows = rows
        nodes.reserveCapacity(rows)
        documentIds.reserveCapacity(rows)
    }

    public var count: Int { nodes.count }

    /// Appends a row whose vector is little-endian float32 bytes.
    public mutating func append(node: UInt64, documentId: String, vectorBytes bytes: UnsafeRawBufferPointer) throws {
        if dimensions == 0 {
            dimensions = bytes.count / 4
            vectors.reserveCapacityInHugePages(max(expectedRows, 1) * dimensions)
        }
        guard bytes.count == dimensions * 4, dimensions > 0 else {
            throw StoreError(.corrupt, "chunk \(node) has a vector of \(bytes.count) bytes; others have \(dimensions * 4)")
        }
        nodes.append(node)
        documentIds.append(documentId)
        if Int(bitPattern: bytes.baseAddress) % MemoryLayout<Float>.alignment == 0 {
            bytes.withMemoryRebound(to: Float.self) { vectors.append(contentsOf: $0) }
        } else {  // a blob inside a database page may sit at any address
            let start = vectors.count
            vectors.append(contentsOf: repeatElement(0, count: dimensions))
            vectors.withUnsafeMutableBytes { UnsafeMutableRawBufferPointer(rebasing: $0[(start * 4)...]).copyMemory(from: bytes) }
        }
    }

    public func vector(at i: Int) -> [Float] { Array(vectors[(i * dimensions)..<((i + 1) * dimensions)]) }
}

public struct StoredGraph: Sendable {
    public var meta: GraphMeta?
    public var rows: [GraphRow]
    public init(meta: GraphMeta?, rows: [GraphRow]) {
        self.meta = meta
        self.rows = rows
    }
}

/// Durable storage of collections, documents, chunks and their index. Two real backends:
/// SQLite (embedded default) and PostgreSQL; one conformance suite runs over both.
public protocol DocumentStore: Sendable {
    /// Applies pending schema migrations (idempotent).
    func migrate() async throws
    func createCollection(_ spec: CollectionSpec) async throws
    func collections() async throws -> [CollectionSpec]
    func collection(named name: String) async throws -> CollectionSpec?
    @discardableResult func deleteCollection(named name: String) async throws -> Bool
    func document(_ id: String, in collection: String) async throws -> DocumentRow?
    /// Chunk labels of these documents (to delete their graph nodes on replace or delete).
    func chunkNodes(ofDocuments ids: [String], in collection: String) async throws -> [UInt64]
    /// Chunks by label, with their documents' metadata, for results and exact re-scoring.
    func chunks(nodes: [UInt64], in collection: String) async throws -> [(chunk: ChunkRow, metadata: String)]
    /// Every chunk's label, document and full vector, in label order (the in-memory search
    /// state, and the truth a lost graph is rebuilt from).
    func chunkVectors(in collection: String) async throws -> ChunkVectors
    /// Every document's id and metadata JSON text (for filters).
    func documentMetadata(in collection: String) async throws -> [(id: String, metadata: String)]
    /// The collection's coarse rotation rows, or nil for the identity.
    func rotation(of collection: String) async throws -> [Float]?
    func write(_ batch: BatchWrite, to collection: String) async throws
    func graph(of collection: String) async throws -> StoredGraph
    /// Claims the store for this process until `releaseExclusiveUse` or the process ends. Each
    /// process keeps the graphs in memory and writes its changes back, so a second writer
    /// (another `serve`, or the CLI on the store directly) would make them diverge; the second
    /// one is refused with `.busy` instead. Readers of the rows alone need no claim.
    func claimExclusiveUse() async throws
    func releaseExclusiveUse() async
}

/// Store failures the service maps to HTTP errors.
public struct StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable { case notFound, alreadyExists, corrupt, backend, busy }
    public var code: Code
    public var message: String
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
    public var description: String { message }
}

/// An order-independent checksum of graph rows: the wrapping sum of each row's FNV-1a hash, so
/// a writer can update it from the rows it changes without reading the others.
public enum GraphChecksum {
    public static func hash(_ r: NodeRecord) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        func mix(_ b: UInt8) { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        for v in [UInt64(bitPattern: Int64(r.node)), r.label, UInt64(r.level), r.deleted ? 1 : 0] {
            for i in 0..<8 { mix(UInt8(truncatingIfNeeded: v >> (8 * i))) }
        }
        // The bytes of `encodedLinks`, produced on the fly (a load hashes every row).
        func mix32(_ v: UInt32) { for i in 0..<4 { mix(UInt8(truncatingIfNeeded: v >> (8 * i))) } }
        for list in r.links {
            mix32(UInt32(list.count))
            for x in list { mix32(x) }
        }
        return h
    }

    public static func of(_ records: some Sequence<NodeRecord>) -> UInt64 {
        records.reduce(0) { $0 &+ hash($1) }
    }
}
