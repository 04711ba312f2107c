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
    var metadata: [String: [String: MetadataValue]] = [:]
    let dimensions: Int

    init(graph: HNSWGraph, projection: CoarseProjection) {
        self.graph = graph
        self.projection = projection
        dimensions = projection.full
    }

    public var documentCount: Int { chunksOf.count }
    public var chunkCount: Int { slotOf.count }
    public func contains(document id: String) -> Bool { chunksOf[id] != nil }

    mutating func addChunk(_ label: UInt64, document: String, vector: [Float]) {
        let unit = VectorMath.normalized(vector)
        if let slot = freeSlots.popLast() {
            vectors.replaceSubrange(slot * dimensions..<(slot + 1) * dimensions, with: unit)
            slotOf[label] = slot
        } else {
            slotOf[label] = vectors.count / dimensions
            vectors.append(contentsOf: unit)
        }
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

    /// Exact cosine similarity of a unit query with a chunk's full vector.
    func exactScore(_ q: UnsafePointer<Float>, _ label: UInt64) -> Float? {
        guard let slot = slotOf[label] else { return nil }
        return vectors.withUnsafeBufferPointer { VectorMath.dot(q, $0.baseAddress! + slot * dimensions, count: dimensions) }  // safe: slot exists, so vectors is non-empty
    }

    /// The full vector of a chunk (unit length).
    public func vector(of label: UInt64) -> [Float]? {
        guard let slot = slotOf[label] else { return nil }
        return Array(vectors[slot * dimensions..<(slot + 1) * dimensions])
    }

    /// Every live chunk's full vector in label order (for fitting a rotation or rebuilding).
    func allVectors() -> [(label: UInt64, vector: [Float])] {
        slotOf.keys.sorted().map { ($0, Array(vectors[slotOf[$0]! * dimensions..<(slotOf[$0]! + 1) * dimensions])) }  // safe: keys of slotOf
    }
}
