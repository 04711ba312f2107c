import HNSW
import Lexical
import VectorMath

/// What a search reads, behind one lock so a reader sees a graph, vectors, lexical postings and
/// metadata that agree: the coarse graph, the projection into it, every live chunk's full
/// vector (for the exact second stage), the BM25 index over the chunks' terms, and each
/// document's metadata (for filters).
public struct SearchState: Sendable {
    public internal(set) var graph: HNSWGraph
    public internal(set) var projection: CoarseProjection
    /// Full-dimension unit vectors, `dimensions` floats per slot.
    var vectors: [Float] = []
    var slotOf: [UInt64: Int] = [:]
    var freeSlots: [Int] = []
    /// The label in each vector slot (`freeSlot` where none), so a full scan walks the vectors
    /// in memory order without a dictionary lookup per chunk.
    var slotLabels: [UInt64] = []
    static let freeSlot = UInt64.max
    var documentOf: [UInt64: String] = [:]
    var chunksOf: [String: [UInt64]] = [:]
    var metadata: [String: Metadata] = [:]
    public internal(set) var lexical: BM25Index
    /// The rerank depth factor (depth = factor · top_k) calibrated on this collection's own
    /// vectors, and the chunk count it was measured at; nil until calibrated.
    public internal(set) var depthFactor: Int?
    public internal(set) var calibratedAt = 0
    public let analyzer: AnalyzerOptions
    let dimensions: Int

    init(graph: HNSWGraph, projection: CoarseProjection, bm25: BM25Parameters = BM25Parameters(), analyzer: AnalyzerOptions = AnalyzerOptions(),
         terms: [String] = []) {
        self.graph = graph
        self.projection = projection
        self.lexical = BM25Index(parameters: bm25, terms: terms)
        self.analyzer = analyzer
        dimensions = projection.full
    }

    /// A state built in memory from chunk vectors, inserted in the order given: the rebuild
    /// after a lost graph, and the search path measured without a store in `Benchmarks/`.
    public init(spec: CollectionSpec, projection: CoarseProjection, chunks: [(label: UInt64, documentId: String, vector: [Float])]) {
        self.init(graph: Self.graph(spec, projection, chunks.lazy.map { ($0.label, $0.vector) }), projection: projection)
        for c in chunks { addChunk(c.label, document: c.documentId, vector: c.vector, terms: nil) }
    }

    /// A coarse graph over the projections of `vectors`, inserted in order.
    static func graph(_ spec: CollectionSpec, _ projection: CoarseProjection, _ vectors: some Sequence<(UInt64, [Float])>) -> HNSWGraph {
        var g = HNSWGraph(dimension: spec.coarseDimensions, metric: .cosine, m: spec.m, efConstruction: spec.efConstruction, seed: spec.seed)
        let visited = VisitedSet()
        for (label, v) in vectors { g.insert(projection(v), label: label, visited: visited) }
        return g
    }

    public var documentCount: Int { chunksOf.count }
    public var chunkCount: Int { slotOf.count }
    public func contains(document id: String) -> Bool { chunksOf[id] != nil }

    /// Room for a bulk load, so the tables grow once instead of by doubling.
    mutating func reserve(documents: Int) {
        chunksOf.reserveCapacity(documents)
        metadata.reserveCapacity(documents)
    }

    /// Adds a bulk read of chunks. Into an empty state the flat vector array is adopted as it
    /// is (normalised in place) rather than copied row by row. Returns the labels whose stored
    /// terms were missing or unreadable (to be analysed again from their text).
    mutating func addChunks(_ c: ChunkVectors) -> [UInt64] {
        var unindexed = Set(c.missingTerms)
        let termCount = lexical.terms.count
        var labels = [UInt64](), lists = [[BM25Index.TermFrequency]]()
        labels.reserveCapacity(c.count)
        lists.reserveCapacity(c.count)
        for i in 0..<c.count where !unindexed.contains(i) {
            guard let list = TermCodec.decode(c.terms(at: i), termCount: termCount) else { unindexed.insert(i); continue }
            labels.append(c.labels[i])
            lists.append(list)
        }
        lexical.addAll(labels, lists)
        let missing = unindexed.sorted().map { c.labels[$0] }
        guard vectors.isEmpty, freeSlots.isEmpty, c.dimensions == dimensions else {
            for i in 0..<c.count { addChunk(c.labels[i], document: c.documentIds[i], vector: c.vector(at: i), terms: nil) }
            return missing
        }
        vectors = c.vectors
        let d = dimensions
        vectors.withUnsafeMutableBufferPointer { v in
            for i in 0..<c.count { VectorMath.normalize(v.baseAddress! + i * d, count: d) }  // safe: c.count rows of d floats
        }
        slotOf.reserveCapacity(c.count)
        slotLabels.reserveCapacity(c.count)
        documentOf.reserveCapacity(c.count)
        for (i, (label, document)) in zip(c.labels, c.documentIds).enumerated() {
            slotOf[label] = i
            slotLabels.append(label)
            documentOf[label] = document
            chunksOf[document, default: []].append(label)
        }
        return missing
    }

    /// Adds one chunk; `terms` nil leaves the lexical index as it is (a bulk load fills it apart).
    mutating func addChunk(_ label: UInt64, document: String, vector: [Float], terms: [BM25Index.TermFrequency]?) {
        if let terms { lexical.add(label, terms) }
        let slot: Int
        if let free = freeSlots.popLast() {
            slot = free
            vectors.replaceSubrange(slot * dimensions..<(slot + 1) * dimensions, with: vector)
        } else {
            slot = vectors.count / dimensions
            vectors.append(contentsOf: vector)
        }
        slotOf[label] = slot
        if slot < slotLabels.count { slotLabels[slot] = label } else { slotLabels.append(label) }
        let d = dimensions
        vectors.withUnsafeMutableBufferPointer { VectorMath.normalize($0.baseAddress! + slot * d, count: d) }  // safe: the slot was just filled
        documentOf[label] = document
        chunksOf[document, default: []].append(label)
    }

    mutating func removeDocument(_ id: String) {
        for label in chunksOf.removeValue(forKey: id) ?? [] {
            if let slot = slotOf.removeValue(forKey: label) {
                freeSlots.append(slot)
                slotLabels[slot] = Self.freeSlot
            }
            documentOf[label] = nil
            lexical.remove(label)
        }
        metadata[id] = nil
    }

    /// Every live chunk's full vector in label order (for fitting a rotation or rebuilding).
    func allVectors() -> [(label: UInt64, vector: [Float])] {
        slotOf.keys.sorted().map { ($0, Array(vectors[slotOf[$0]! * dimensions..<(slotOf[$0]! + 1) * dimensions])) }  // safe: keys of slotOf
    }
}
