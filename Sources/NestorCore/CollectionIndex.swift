import Foundation
import HNSW
import Logging
import VectorMath

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
        // Two halves run at once on the two cores a start-up has: reading and verifying the
        // graph, and reading the chunk vectors and metadata into the search state. (SQLite's
        // WAL and PostgreSQL's pool both serve concurrent readers.)
        async let restored = Self.restoreGraph(spec, store)
        async let filled = Self.fillState(spec, projection, store)
        var s = try await filled
        var graph: HNSWGraph
        var next: UInt64
        var rebuilt = false
        var storedHashes: [UInt64]?
        switch try await restored {
        case .intact(let r) where r.graph.count == s.chunkCount && s.slotOf.keys.allSatisfy(r.graph.contains):
            (graph, storedHashes, next) = (r.graph, r.hashes, r.nextLabel)
        case let outcome:
            // Rebuild from the chunk vectors, which are the truth; labels keep their values.
            let (reason, storedNext): (String, UInt64?) = switch outcome {
            case .absent: ("no stored graph", nil)
            case .damaged(let why, let n): (why, n)
            case .intact(let r): ("graph has \(r.graph.count) live nodes for \(s.chunkCount) stored chunks", r.nextLabel)
            }
            let vectors = s.allVectors()
            graph = SearchState.graph(spec, projection, vectors.lazy.map { ($0.label, $0.vector) })
            next = max(storedNext ?? 1, (vectors.last?.label ?? 0) + 1)
            if case .absent = outcome { rebuilt = !vectors.isEmpty } else { rebuilt = true }
            if rebuilt {
                logger.warning("index of collection \(spec.name) was missing or inconsistent (\(reason)); rebuilt it from \(vectors.count) stored vectors")
            }
        }
        s.graph = graph
        // The stored rows' hashes are the graph's when it loaded intact; a rebuild hashes anew.
        let (hashes, sum) = storedHashes.map { ($0, $0.reduce(0, &+)) } ?? Self.hashes(of: &s.graph)
        rowHashes = hashes
        checksum = sum
        nextLabel = next
        if rebuilt {
            try await store.write(Self.replacement(s.graph, nextLabel: next, checksum: sum), to: spec.name)
        }
        state = RWLocked(s)
        loadedIntact = !rebuilt
    }

    /// What start-up found of the stored graph.
    private enum GraphLoad: Sendable {
        /// Rows that match their checksum and verify, with the rows' hashes.
        case intact(RestoredGraph)
        case damaged(String, nextLabel: UInt64?)
        case absent
    }

    private struct RestoredGraph: Sendable {
        var graph: HNSWGraph
        var hashes: [UInt64]
        var nextLabel: UInt64
    }

    /// The stored graph, verified (a failed read is thrown; damage is reported).
    private static func restoreGraph(_ spec: CollectionSpec, _ store: any DocumentStore) async throws -> GraphLoad {
        let stored = try await store.graph(of: spec.name)
        guard let meta = stored.meta else { return stored.rows.isEmpty ? .absent : .damaged("graph rows without their header", nextLabel: nil) }
        let rows = stored.rows.sorted { $0.record.node < $1.record.node }
        let hashes = rows.map { GraphChecksum.hash($0.record) }
        guard meta.checksum == hashes.reduce(0, &+) else { return .damaged("checksum mismatch", nextLabel: meta.nextLabel) }
        var coarse = [Float]()
        coarse.reserveCapacityInHugePages(rows.count * spec.coarseDimensions)
        for r in rows { coarse.append(contentsOf: r.coarse) }
        do {
            let graph = try HNSWGraph(header: meta.header, records: rows.map(\.record), vectors: coarse)
            return .intact(RestoredGraph(graph: graph, hashes: hashes, nextLabel: meta.nextLabel))
        } catch let e as HNSWError {
            return .damaged(e.message, nextLabel: meta.nextLabel)
        }
    }

    /// Every chunk's full vector and document, and every document's metadata, with no graph yet.
    private static func fillState(_ spec: CollectionSpec, _ projection: CoarseProjection, _ store: any DocumentStore) async throws -> SearchState {
        async let metadata = store.documentMetadata(in: spec.name)
        let chunks = try await store.chunkVectors(in: spec.name)
        var s = SearchState(graph: HNSWGraph(dimension: spec.coarseDimensions), projection: projection)
        let documents = try await metadata
        s.reserve(documents: documents.count)
        s.addChunks(chunks)
        for d in documents { s.metadata[d.id] = MetadataValue.fields(ofJSON: d.metadata) }
        return s
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
            let visited = VisitedSet()  // one per batch: a fresh set costs a pass over every node
            for l in replaced { s.graph.remove(l) }
            for id in upserts.map(\.id) + deletions { s.removeDocument(id) }
            for (d, dc) in zip(upserts, coarse) {
                var chunks = [ChunkRow]()
                var assigned = [UInt64]()
                for (k, c) in d.chunks.enumerated() {
                    s.graph.insert(dc[k], label: label, visited: visited)
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
        var graph = SearchState.graph(spec, projection, state.read { $0.allVectors() }.lazy.map { ($0.label, $0.vector) })
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
