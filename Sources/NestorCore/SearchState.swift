import HNSW
import VectorMath

/// What a search reads, behind one lock so a reader sees a graph, vectors and metadata that
/// agree: the coarse graph, the projection into it, every live chunk's full vector (for the
/// exact second stage) and each document's metadata (for filters).
public struct SearchState: Sendable {
    public internal(set) var graph: HNSWGraph
    public internal(set) var projection: CoarseProjection
    /// Full-dimension unit vectors, `dimensions` floats per slot.
    var vectors: [Float] = []
    var slotOf: [UInt64: Int] = [:]
    var freeSlots: [Int] = []
    var documentOf: [UInt64: String] = [:]
    var chunksOf: [String: [UInt64]] = [:]
    var metadata: [String: Metadata] = [:]
    let dimensions: Int

    init(graph: HNSWGraph, projection: CoarseProjection) {
        self.graph = graph
        self.projection = projection
        dimensions = projection.full
    }

    /// A state built in memory from chunk vectors, inserted in the order given: the rebuild
    /// after a lost graph, and the search path measured without a store in `Benchmarks/`.
    public init(spec: CollectionSpec, projection: CoarseProjection, chunks: [(label: UInt64, documentId: String, vector: [Float])]) {
        self.init(graph: Self.graph(spec, projection, chunks.lazy.map { ($0.label, $0.vector) }), projection: projection)
        for c in chunks { addChunk(c.label, document: c.documentId, vector: c.vector) }
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
    /// is (normalised in place) rather than copied row by row.
    mutating func addChunks(_ c: ChunkVectors) {
        guard vectors.isEmpty, freeSlots.isEmpty, c.dimensions == dimensions else {
            for i in 0..<c.count { addChunk(c.labels[i], document: c.documentIds[i], vector: c.vector(at: i)) }
            return
        }
        vectors = c.vectors
        let d = dimensions
        vectors.withUnsafeMutableBufferPointer { v in
            for i in 0..<c.count { VectorMath.normalize(v.baseAddress! + i * d, count: d) }  // safe: c.count rows of d floats
        }
        slotOf.reserveCapacity(c.count)
        documentOf.reserveCapacity(c.count)
        for (i, (label, document)) in zip(c.labels, c.documentIds).enumerated() {
            slotOf[label] = i
            documentOf[label] = document
            chunksOf[document, default: []].append(label)
        }
    }

    mutating func addChunk(_ label: UInt64, document: String, vector: [Float]) {
        let slot: Int
        if let free = freeSlots.popLast() {
            slot = free
            vectors.replaceSubrange(slot * dimensions..<(slot + 1) * dimensions, with: vector)
        } else {
            slot = vectors.count / dimensions
            vectors.append(contentsOf: vector)
        }
        slotOf[label] = slot
        let d = dimensions
        vectors.withUnsafeMutableBufferPointer { VectorMath.normalize($0.baseAddress! + slot * d, count: d) }  // safe: the slot was just filled
        documentOf[label] = document
        chunksOf[document, default: []].append(label)
    }

    mutating func removeDocument(_ id: String) {
        for label in chunksOf.removeValue(forKey: id) ?? [] {
            if let slot = slotOf.removeValue(forKey: label) { freeSlots.append(slot) }
            documentOf[label] = nil
        }
        metadata[id] = nil
    }

    /// Every live chunk's full vector in label order (for fitting a rotation or rebuilding).
    func allVectors() -> [(label: UInt64, vector: [Float])] {
        slotOf.keys.sorted().map { ($0, Array(vectors[slotOf[$0]! * dimensions..<(slotOf[$0]! + 1) * dimensions])) }  // safe: keys of slotOf
    }
}
