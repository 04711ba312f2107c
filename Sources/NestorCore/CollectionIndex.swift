import Foundation
import HNSW
import Logging

/// One collection's live search state and its durable twin. Every change is applied to memory
/// and written to the store in one transaction; if the write fails, the state is reloaded from
/// the store, so memory never runs ahead of what is durable. Writes are serialised (one at a
/// time, in call order) even across the actor's suspension points; searches never wait for
/// the actor, only for the short exclusive section that swaps a batch in.
public actor CollectionIndex {
    public nonisolated let spec: CollectionSpec
    private let store: any DocumentStore
    private let logger: Logger
    public nonisolated let state: RWLocked<SearchState>
    private var nextLabel: UInt64
    /// Per-node row hashes, so the stored checksum can be updated from the changed rows only.
    private var rowHashes: [UInt64]
    private var checksum: UInt64
    /// False when the stored graph was missing or inconsistent and had to be rebuilt.
    public nonisolated let loadedIntact: Bool
    private nonisolated let visitedPool = VisitedPool()
    private var writing = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    /// A document to add or replace: its text, metadata and chunks (labels are assigned here).
    public struct Input: Sendable {
        public var id: String
        public var text: String
        public var metadata: String
        public var chunks: [(text: String, tokenStart: Int, tokenEnd: Int, vector: [Float])]
        public init(id: String, text: String, metadata: String = "{}",
                    chunks: [(text: String, tokenStart: Int, tokenEnd: Int, vector: [Float])]) {
            self.id = id
            self.text = text
            self.metadata = metadata
            self.chunks = chunks
        }
    }

    /// Loads the collection's graph, vectors and metadata in bulk and verifies the graph;
    /// rebuilds the graph from the stored chunk vectors when it is missing or does not verify.
    public init(spec: CollectionSpec, store: any DocumentStore, logger: Logger = Logger(label: "nestor.index")) async throws {
        self.spec = spec
        self.store = store
        self.logger = logger
        let projection = CoarseProjection(full: spec.dimensions, coarse: spec.coarseDimensions,
                                          rotation: try await store.rotation(of: spec.name))
        let stored = try await store.graph(of: spec.name)
        let chunks = try await store.chunkVectors(in: spec.name)
        var graph: HNSWGraph
        var next: UInt64 = 1
        var rebuilt = false
        do {
            guard let meta = stored.meta else { throw HNSWError("no stored graph") }
            guard meta.checksum == GraphChecksum.of(stored.rows.map(\.record)) else { throw HNSWError("checksum mismatch") }
            let rows = stored.rows.sorted { $0.record.node < $1.record.node }
            graph = try HNSWGraph(header: meta.header, records: rows.map(\.record), vectors: rows.flatMap(\.coarse))
            guard graph.count == chunks.count, chunks.allSatisfy({ graph.contains($0.node) }) else {
                throw HNSWError("graph has \(graph.count) live nodes for \(chunks.count) stored chunks")
            }
            next = meta.nextLabel
        } catch {
            // Rebuild from the chunk vectors, which are the truth; labels keep their values.
            graph = Self.build(spec, projection, chunks.map { ($0.node, $0.vector) })
            next = max(stored.meta?.nextLabel ?? 1, (chunks.last?.node ?? 0) + 1)
            rebuilt = stored.meta != nil || !stored.rows.isEmpty || !chunks.isEmpty
            if rebuilt {
                logger.warning("index of collection \(spec.name) was missing or inconsistent (\(error)); rebuilt it from \(chunks.count) stored vectors")
            }
        }
        var s = SearchState(graph: graph, projection: projection)
        for c in chunks { s.addChunk(c.node, document: c.documentId, vector: c.vector) }
        for d in try await store.documentMetadata(in: spec.name) { s.metadata[d.id] = MetadataValue.fields(ofJSON: d.metadata) }
        let (hashes, sum) = Self.hashes(of: &s.graph)
        rowHashes = hashes
        checksum = sum
        nextLabel = next
        if rebuilt {
            try await store.write(Self.replacement(s.graph, nextLabel: next, checksum: sum), to: spec.name)
        }
        state = RWLocked(s)
        loadedIntact = !rebuilt
    }

    private static func build(_ spec: CollectionSpec, _ projection: CoarseProjection, _ vectors: [(UInt64, [Float])]) -> HNSWGraph {
        var g = HNSWGraph(dimension: spec.coarseDimensions, metric: spec.metric, m: spec.m, efConstruction: spec.efConstruction, seed: spec.seed)
        for (label, v) in vectors { g.insert(projection(v), label: label) }
        return g
    }

    private static func hashes(of graph: inout HNSWGraph) -> ([UInt64], UInt64) {
        _ = graph.takeDirtyNodes()
        let h = (0..<Int32(graph.nodeCount)).map { GraphChecksum.hash(graph.record($0)) }
        return (h, h.reduce(0, &+))
    }

    private static func replacement(_ g: HNSWGraph, nextLabel: UInt64, checksum: UInt64, rotation: [Float]?? = nil) -> BatchWrite {
        let rows = (0..<Int32(g.nodeCount)).map { GraphRow(record: g.record($0), coarse: g.storedVector($0)) }
        return BatchWrite(graphRows: rows, meta: GraphMeta(header: g.header, nextLabel: nextLabel, checksum: checksum),
                          replacesGraph: true, rotation: rotation)
    }

    // MARK: reads

    /// The current coarse graph (a copy-on-write value: cheap, and stable while you hold it).
    public nonisolated var graph: HNSWGraph { state.read(\.graph) }

    public nonisolated func search(_ query: [Float], _ options: SearchOptions) -> SearchOutcome {
        let visited = visitedPool.take()
        defer { visitedPool.give(visited) }
        return state.read { $0.search(query, options, visited: visited) }
    }

    // MARK: writes

    /// Adds or replaces documents and deletes others, durably, in one transaction.
    /// Returns the chunk labels assigned to each input.
    @discardableResult
    public func apply(upserts: [Input], deletions: [String] = []) async throws -> [[UInt64]] {
        await lock()
        defer { unlock() }
        let replaced = state.read { s in (upserts.map(\.id) + deletions).flatMap { s.chunksOf[$0] ?? [] } }
        var rows = [DocumentRow]()
        var labels = [[UInt64]]()
        var label = nextLabel
        let projection = state.read(\.projection)
        let coarse = upserts.map { $0.chunks.map { projection($0.vector) } }
        let write: BatchWrite = state.write { s in
            for l in replaced { s.graph.remove(l) }
            for id in upserts.map(\.id) + deletions { s.removeDocument(id) }
            for (d, dc) in zip(upserts, coarse) {
                var chunks = [ChunkRow]()
                var assigned = [UInt64]()
                for (k, c) in d.chunks.enumerated() {
                    s.graph.insert(dc[k], label: label)
                    s.addChunk(label, document: d.id, vector: c.vector)
                    chunks.append(ChunkRow(node: label, documentId: d.id, ordinal: k, text: c.text,
                                           tokenStart: c.tokenStart, tokenEnd: c.tokenEnd, vector: c.vector))
                    assigned.append(label)
                    label += 1
                }
                s.metadata[d.id] = MetadataValue.fields(ofJSON: d.metadata)
                rows.append(DocumentRow(id: d.id, text: d.text, metadata: d.metadata, chunks: chunks))
                labels.append(assigned)
            }
            var sum = checksum
            var graphRows = [GraphRow]()
            for n in s.graph.takeDirtyNodes() {
                let r = s.graph.record(n)
                let h = GraphChecksum.hash(r)
                if Int(n) < rowHashes.count { sum = sum &- rowHashes[Int(n)] &+ h; rowHashes[Int(n)] = h } else { sum = sum &+ h; rowHashes.append(h) }
                graphRows.append(GraphRow(record: r, coarse: s.graph.storedVector(n)))
            }
            checksum = sum
            return BatchWrite(upserts: rows, deletions: deletions, graphRows: graphRows,
                              meta: GraphMeta(header: s.graph.header, nextLabel: label, checksum: sum))
        }
        do {
            try await store.write(write, to: spec.name)
            nextLabel = label
        } catch {
            try await reload()
            throw error
        }
        return labels
    }

    /// Every live chunk's full vector in label order (to fit a rotation).
    public nonisolated func vectors() -> [(label: UInt64, vector: [Float])] { state.read { $0.allVectors() } }

    /// Rebuilds the graph over a new coarse basis and stores both in one transaction; searches
    /// keep using the old graph until the new one is durable.
    public func rebuild(rotation: [Float]?) async throws {
        await lock()
        defer { unlock() }
        let projection = CoarseProjection(full: spec.dimensions, coarse: spec.coarseDimensions, rotation: rotation)
        var graph = Self.build(spec, projection, state.read { $0.allVectors() }.map { ($0.label, $0.vector) })
        let (hashes, sum) = Self.hashes(of: &graph)
        try await store.write(Self.replacement(graph, nextLabel: nextLabel, checksum: sum, rotation: .some(rotation)), to: spec.name)
        rowHashes = hashes
        checksum = sum
        state.write { s in
            s.graph = graph
            s.projection = projection
        }
        logger.info("rebuilt the index of collection \(spec.name) over \(graph.count) vectors (\(rotation == nil ? "identity" : "rotated") coarse basis)")
    }

    /// Re-reads everything from the store (after a failed write).
    private func reload() async throws {
        let fresh = try await CollectionIndex(spec: spec, store: store, logger: logger)
        let s = fresh.state.read { $0 }
        state.write { $0 = s }
        rowHashes = await fresh.hashes
        checksum = rowHashes.reduce(0, &+)
        nextLabel = await fresh.next
    }

    private var hashes: [UInt64] { rowHashes }
    private var next: UInt64 { nextLabel }

    private func lock() async {
        if !writing { writing = true; return }
        await withCheckedContinuation { waiting.append($0) }
    }

    private func unlock() {
        if waiting.isEmpty { writing = false } else { waiting.removeFirst().resume() }
    }
}

/// Scratch visited sets for concurrent searches, so no two share one.
final class VisitedPool: @unchecked Sendable {
    // @unchecked: `sets` is only touched under `lock`; a taken set belongs to one search.
    private var sets: [VisitedSet] = []
    private let lock = NSLock()
    func take() -> VisitedSet { lock.withLock { sets.popLast() } ?? VisitedSet() }
    func give(_ s: VisitedSet) { lock.withLock { sets.append(s) } }
}
