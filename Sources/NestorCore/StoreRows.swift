import VectorMath

/// A stored chunk. `label` is the chunk's permanent number in its collection (the graph knows
/// it by the same label; where the graph keeps it — its node — is the graph's business).
public struct ChunkRow: Sendable, Equatable {
    public var label: UInt64
    public var documentId: String
    public var ordinal: Int
    public var text: String
    public var tokenStart: Int
    public var tokenEnd: Int
    public var vector: [Float]
    /// The chunk's lexical terms as the index encodes them (`Lexical.TermCodec`); opaque here.
    public var terms: [UInt8]

    public init(label: UInt64, documentId: String, ordinal: Int, text: String, tokenStart: Int, tokenEnd: Int, vector: [Float],
                terms: [UInt8] = []) {
        self.label = label
        self.documentId = documentId
        self.ordinal = ordinal
        self.text = text
        self.tokenStart = tokenStart
        self.tokenEnd = tokenEnd
        self.vector = vector
        self.terms = terms
    }
}

public struct DocumentRow: Sendable, Equatable {
    public var id: String
    public var text: String
    public var metadata: Metadata
    public var chunks: [ChunkRow]

    public init(id: String, text: String, metadata: Metadata = [:], chunks: [ChunkRow] = []) {
        self.id = id
        self.text = text
        self.metadata = metadata
        self.chunks = chunks
    }
}

/// A document as a listing shows it: without its chunks' text and vectors.
public struct DocumentSummary: Sendable, Equatable {
    public var id: String
    public var text: String
    public var metadata: Metadata
    public var chunks: Int
    public init(id: String, text: String, metadata: Metadata, chunks: Int) {
        self.id = id
        self.text = text
        self.metadata = metadata
        self.chunks = chunks
    }
}

/// One graph record as the index encoded it: opaque bytes at a node position.
public struct GraphRecordRow: Sendable, Equatable {
    public var node: Int
    public var bytes: [UInt8]
    public init(node: Int, bytes: [UInt8]) {
        self.node = node
        self.bytes = bytes
    }
}

/// A collection's stored graph: the index's header bytes (nil when none was ever written) and
/// its records.
public struct StoredGraphRecords: Sendable {
    public var header: [UInt8]?
    public var rows: [GraphRecordRow]
    public init(header: [UInt8]?, rows: [GraphRecordRow]) {
        self.header = header
        self.rows = rows
    }
}

/// The graph records one batch changed, with the new header.
public struct GraphRecordChanges: Sendable {
    public var header: [UInt8]
    public var rows: [GraphRecordRow]
    /// Replace every stored record (a rebuild) instead of updating the given ones.
    public var replacesAll: Bool
    public init(header: [UInt8], rows: [GraphRecordRow], replacesAll: Bool = false) {
        self.header = header
        self.rows = rows
        self.replacesAll = replacesAll
    }
}

/// Everything one batch changes, applied in one transaction: documents replaced or added (with
/// all their chunks), documents deleted, the graph records, new lexical terms, and a new coarse
/// rotation.
public struct BatchWrite: Sendable {
    public var upserts: [DocumentRow]
    public var deletions: [String]
    public var graph: GraphRecordChanges?
    /// Terms first used by this batch, with their ids (ids continue the stored table).
    public var newTerms: [(id: Int, term: String)]
    /// Term lists for chunks stored before the lexical index existed (a one-time upgrade).
    public var chunkTerms: [(label: UInt64, terms: [UInt8])]
    /// A new coarse rotation (`.some(nil)` = back to identity).
    public var rotation: [Float]??
    public init(upserts: [DocumentRow] = [], deletions: [String] = [], graph: GraphRecordChanges? = nil,
                newTerms: [(id: Int, term: String)] = [], chunkTerms: [(label: UInt64, terms: [UInt8])] = [], rotation: [Float]?? = nil) {
        self.upserts = upserts
        self.deletions = deletions
        self.graph = graph
        self.newTerms = newTerms
        self.chunkTerms = chunkTerms
        self.rotation = rotation
    }
}

/// Every chunk's label, document and full vector, column by column: one flat vector array
/// instead of a million small ones, so a start-up copies each vector once (into this array,
/// which the search state then adopts).
public struct ChunkVectors: Sendable {
    /// Floats per vector (0 until the first row).
    public private(set) var dimensions = 0
    public private(set) var labels: [UInt64] = []
    public private(set) var documentIds: [String] = []
    /// Row i's vector at `i * dimensions`.
    public private(set) var vectors: [Float] = []
    /// Row i's lexical terms at `termBytes[termStart[i]..<termStart[i + 1]]`; nil rows (stored
    /// before the lexical index) are listed in `missingTerms`.
    public private(set) var termBytes: [UInt8] = []
    public private(set) var termStart: [Int] = [0]
    public private(set) var missingTerms: [Int] = []

    private let expectedRows: Int

    public init(reservingCapacity rows: Int = 0) {
        expectedRows = rows
        labels.reserveCapacity(rows)
        documentIds.reserveCapacity(rows)
    }

    public var count: Int { labels.count }

    /// Appends a row whose vector is little-endian float32 bytes.
    public mutating func append(label: UInt64, documentId: String, vectorBytes bytes: UnsafeRawBufferPointer,
                                termBytes terms: UnsafeRawBufferPointer?) throws {
        if dimensions == 0 {
            dimensions = bytes.count / 4
            vectors.reserveCapacityInHugePages(max(expectedRows, 1) * dimensions)
        }
        guard bytes.count == dimensions * 4, dimensions > 0 else {
            throw StoreError(.corrupt, "chunk \(label) has a vector of \(bytes.count) bytes; others have \(dimensions * 4)")
        }
        if let terms { termBytes.append(contentsOf: terms) } else { missingTerms.append(labels.count) }
        termStart.append(termBytes.count)
        labels.append(label)
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
    public func terms(at i: Int) -> ArraySlice<UInt8> { termBytes[termStart[i]..<termStart[i + 1]] }
}
