import HNSW
import Lexical
import Logging

/// A follower's side of a collection: its memory follows the writer's committed changes from
/// the change log, record for record, instead of rebuilding a graph of its own (which would
/// answer the same query differently on each replica).
extension CollectionIndex {
    /// A collection created after this replica loaded: empty, as the writer's was when the
    /// log recorded its creation (no store reads, which would see later changes).
    public init(emptyCollection spec: CollectionSpec, store: any IndexStore, replica: ReplicaState, logger: Logger = Logger(label: "nestor.index")) {
        let projection = CoarseProjection(full: spec.dimensions, coarse: spec.coarseDimensions, rotation: nil)
        let state = SearchState(graph: SearchState.graph(spec, projection, []), projection: projection,
                                bm25: BM25Parameters(k1: spec.bm25K1, b: spec.bm25B), analyzer: AnalyzerOptions(foldDiacritics: spec.foldDiacritics))
        self.init(spec: spec, store: store, replica: replica, logger: logger, state: state)
    }

    /// Applies one committed batch the way the writer published it. Throws when the batch does
    /// not fit this memory (the caller then loads the collection again from the tables).
    public func replay(_ b: BatchWrite) async throws {
        await lock()
        defer { unlock() }
        var hashes = rowHashes, sum = checksum
        var replacement: HNSWGraph?
        var update: (header: GraphHeader, records: [NodeRecord])?
        if let g = b.graph {
            let (header, stored) = try GraphCodec.decodeHeader(g.header)
            let records = try g.rows.map { try GraphCodec.decode($0.bytes, node: Int32($0.node)) }
            if g.replacesAll { hashes = []; sum = 0 }
            for row in g.rows {
                let h = GraphCodec.hash(node: row.node, row.bytes)
                if row.node < hashes.count {
                    sum = sum &- hashes[row.node] &+ h
                    hashes[row.node] = h
                } else {
                    guard row.node == hashes.count else { throw StoreError(.corrupt, "graph record \(row.node) arrived out of order") }
                    sum = sum &+ h
                    hashes.append(h)
                }
            }
            guard sum == stored, hashes.count == header.nodeCount else {
                throw StoreError(.corrupt, "the replayed graph of collection \(spec.name) disagrees with its header's checksum")
            }
            if g.replacesAll { replacement = try HNSWGraph(header: header, records: records) } else { update = (header, records) }
        }
        var maxLabel = nextLabel - 1
        try state.write { s in
            for t in b.newTerms.sorted(by: { $0.id < $1.id }) {
                guard Int(s.lexical.id(adding: t.term)) == t.id else {
                    throw StoreError(.corrupt, "lexical term \(t.id) of collection \(spec.name) arrived out of order")
                }
            }
            if let rotation = b.rotation {
                s.projection = CoarseProjection(full: spec.dimensions, coarse: spec.coarseDimensions, rotation: rotation)
            }
            if let replacement { s.graph = replacement }
            if let update { try s.graph.apply(header: update.header, records: update.records) }
            for id in b.deletions + b.upserts.map(\.id) { s.removeDocument(id) }
            let termCount = s.lexical.terms.count
            for d in b.upserts {
                for c in d.chunks {
                    guard let terms = TermCodec.decode(c.terms, termCount: termCount) else {
                        throw StoreError(.corrupt, "chunk \(c.label) of collection \(spec.name) has unreadable terms")
                    }
                    s.addChunk(c.label, document: d.id, vector: c.vector, terms: terms)
                    maxLabel = max(maxLabel, c.label)
                }
                s.metadata[d.id] = d.metadata
            }
            for c in b.chunkTerms {
                guard let terms = TermCodec.decode(c.terms, termCount: termCount) else {
                    throw StoreError(.corrupt, "chunk \(c.label) of collection \(spec.name) has unreadable terms")
                }
                s.lexical.remove(c.label)
                s.lexical.add(c.label, terms)
            }
        }
        rowHashes = hashes
        checksum = sum
        nextLabel = maxLabel + 1
    }

    /// Compares the graph in memory with `stored`, record by record: the number of nodes
    /// whose bytes differ (or that one side lacks), and whether the headers agree.
    public nonisolated func differences(from stored: StoredGraphRecords) -> (nodes: Int, differing: Int, headerAgrees: Bool) {
        let g = graph
        let byNode = Dictionary(stored.rows.map { ($0.node, $0.bytes) }, uniquingKeysWith: { a, _ in a })
        var differing = max(0, stored.rows.count - g.nodeCount)  // stored rows past the graph's end
        var sum: UInt64 = 0
        for n in 0..<g.nodeCount {
            let bytes = GraphCodec.encode(g.record(Int32(n)))
            sum = sum &+ GraphCodec.hash(node: n, bytes)
            if byNode[n] != bytes { differing += 1 }
        }
        return (g.nodeCount, differing, stored.header == GraphCodec.encode(g.header, checksum: sum))
    }
}
