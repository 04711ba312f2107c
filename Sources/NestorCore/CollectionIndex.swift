import HNSW
import Logging

/// One collection's live index and its durable twin. Every change is applied to the graph and
/// written to the store in one transaction; if the write fails, the graph is reloaded from the
/// store, so memory never runs ahead of what is durable.
public actor CollectionIndex {
    public let spec: CollectionSpec
    private let store: any DocumentStore
    private let logger: Logger
    /// The graph readers search; guarded by its own readers–writer lock.
    public nonisolated let graph: ConcurrentIndex
    private var nextLabel: UInt64
    /// Per-node row hashes, so the stored checksum can be updated from the changed rows only.
    private var rowHashes: [UInt64]
    private var checksum: UInt64
    /// False when the stored graph was missing or inconsistent and had to be rebuilt.
    public nonisolated let loadedIntact: Bool
    /// Maps a full vector to the coarse vector the graph is built over.
    public nonisolated let project: @Sendable ([Float]) -> [Float]

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

    /// Loads the collection's graph in bulk and verifies it; rebuilds it from the stored chunk
    /// vectors when it is missing or does not verify.
    public init(spec: CollectionSpec, store: any DocumentStore, logger: Logger = Logger(label: "nestor.index"),
                project: (@Sendable ([Float]) -> [Float])? = nil) async throws {
        self.spec = spec
        self.store = store
        self.logger = logger
        let coarse = spec.coarseDimensions
        self.project = project ?? { Array($0.prefix(coarse)) }
        let stored = try await store.graph(of: spec.name)
        var graph: HNSWGraph
        var next: UInt64 = 1
        var rebuilt = false
        do {
            guard let meta = stored.meta else { throw HNSWError("no stored graph") }
            guard meta.checksum == GraphChecksum.of(stored.rows.map(\.record)) else { throw HNSWError("checksum mismatch") }
            let rows = stored.rows.sorted { $0.record.node < $1.record.node }
            graph = try HNSWGraph(header: meta.header, records: rows.map(\.record), vectors: rows.flatMap(\.coarse))
            next = meta.nextLabel
        } catch {
            // Rebuild from the chunk vectors, which are the truth; labels keep their values.
            graph = HNSWGraph(dimension: coarse, metric: spec.metric, m: spec.m, efConstruction: spec.efConstruction, seed: spec.seed)
            let chunks = try await store.chunkVectors(in: spec.name)
            for c in chunks { graph.insert(self.project(c.vector), label: c.node) }
            next = max(stored.meta?.nextLabel ?? 1, (chunks.last?.node ?? 0) + 1)
            rebuilt = stored.meta != nil || !stored.rows.isEmpty || !chunks.isEmpty
            if rebuilt {
                logger.warning("index of collection \(spec.name) was missing or inconsistent (\(error)); rebuilt it from \(chunks.count) stored vectors")
            }
        }
        _ = graph.takeDirtyNodes()
        let records = (0..<Int32(graph.nodeCount)).map { graph.record($0) }
        rowHashes = records.map(GraphChecksum.hash)
        checksum = rowHashes.reduce(0, &+)
        nextLabel = next
        if rebuilt {
            let rows = records.map { GraphRow(record: $0, coarse: graph.storedVector($0.node)) }
            try await store.write(BatchWrite(graphRows: rows, meta: GraphMeta(header: graph.header, nextLabel: next, checksum: checksum),
                                             replacesGraph: true), to: spec.name)
        }
        self.graph = ConcurrentIndex(graph)
        loadedIntact = !rebuilt
    }

    /// Adds or replaces documents and deletes others, durably, in one transaction.
    /// Returns the chunk labels assigned to each input.
    @discardableResult
    public func apply(upserts: [Input], deletions: [String] = []) async throws -> [[UInt64]] {
        let replaced = try await store.chunkNodes(ofDocuments: upserts.map(\.id) + deletions, in: spec.name)
        var rows = [DocumentRow]()
        var labels = [[UInt64]]()
        var label = nextLabel
        let write: BatchWrite = graph.write { g in
            for l in replaced { g.remove(l) }
            for d in upserts {
                var chunks = [ChunkRow]()
                var assigned = [UInt64]()
                for (k, c) in d.chunks.enumerated() {
                    g.insert(project(c.vector), label: label)
                    chunks.append(ChunkRow(node: label, documentId: d.id, ordinal: k, text: c.text,
                                           tokenStart: c.tokenStart, tokenEnd: c.tokenEnd, vector: c.vector))
                    assigned.append(label)
                    label += 1
                }
                rows.append(DocumentRow(id: d.id, text: d.text, metadata: d.metadata, chunks: chunks))
                labels.append(assigned)
            }
            let dirty = g.takeDirtyNodes()
            var sum = checksum
            var graphRows = [GraphRow]()
            for n in dirty {
                let r = g.record(n)
                let h = GraphChecksum.hash(r)
                if Int(n) < rowHashes.count { sum = sum &- rowHashes[Int(n)] &+ h; rowHashes[Int(n)] = h } else { sum = sum &+ h; rowHashes.append(h) }
                graphRows.append(GraphRow(record: r, coarse: g.storedVector(n)))
            }
            checksum = sum
            return BatchWrite(upserts: rows, deletions: deletions, graphRows: graphRows,
                              meta: GraphMeta(header: g.header, nextLabel: label, checksum: sum))
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

    /// Re-reads the graph from the store (after a failed write).
    private func reload() async throws {
        let fresh = try await CollectionIndex(spec: spec, store: store, logger: logger, project: project)
        let g = fresh.graph.read { $0 }
        graph.write { $0 = g }
        rowHashes = await fresh.hashes
        checksum = rowHashes.reduce(0, &+)
        nextLabel = await fresh.next
    }

    private var hashes: [UInt64] { rowHashes }
    private var next: UInt64 { nextLabel }
}
