import Foundation
import HNSW
import Lexical
import Logging
import VectorMath

/// One collection's live search state and its durable twin. Every change follows one order:
/// stage it in memory where searches cannot see it, commit it to the store in one transaction,
/// then publish it. A search never sees a chunk that is not durable, and a failed commit
/// leaves nothing visible (the state is reloaded from the store). Writes are serialised, one
/// at a time in call order, even across the actor's suspension points; a write holds the
/// search state's lock only for one graph insert at a time, and for the short publish.
public actor CollectionIndex {
    public nonisolated let spec: CollectionSpec
    let store: any IndexStore
    let logger: Logger
    /// Where committed positions are reported (the writer's own, so its responses and
    /// heartbeats say how far it is).
    let replica: ReplicaState
    public nonisolated let state: RWLocked<SearchState>
    var nextLabel: UInt64
    /// Per-node record hashes, so the stored checksum can be updated from the changed rows only.
    var rowHashes: [UInt64]
    var checksum: UInt64
    /// False when the stored graph was missing or inconsistent and had to be rebuilt.
    public nonisolated let loadedIntact: Bool
    private nonisolated let visitedPool = VisitedPool()
    private var writing = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    /// One chunk of a document to store: its text, token span, full vector and lexical terms
    /// (nil: analyse the text here with the collection's analyzer).
    public struct Chunk: Sendable {
        public var text: String
        public var tokenStart: Int
        public var tokenEnd: Int
        public var vector: [Float]
        public var terms: [String: Int]?
        public init(text: String, tokenStart: Int, tokenEnd: Int, vector: [Float], terms: [String: Int]? = nil) {
            self.text = text
            self.tokenStart = tokenStart
            self.tokenEnd = tokenEnd
            self.vector = vector
            self.terms = terms
        }
    }

    /// How this collection analyses text (queries must be analysed the same way).
    public nonisolated var analyzer: AnalyzerOptions { AnalyzerOptions(foldDiacritics: spec.foldDiacritics) }

    /// A document to add or replace: its text, metadata and chunks (labels are assigned here).
    public struct Input: Sendable {
        public var id: String
        public var text: String
        public var metadata: Metadata
        public var chunks: [Chunk]
        public init(id: String, text: String, metadata: Metadata = [:], chunks: [Chunk]) {
            self.id = id
            self.text = text
            self.metadata = metadata
            self.chunks = chunks
        }
    }

    /// Loads the collection's graph, vectors and metadata in bulk and verifies the graph;
    /// rebuilds the graph from the stored chunk vectors when it is missing, unreadable or does
    /// not agree with them (stored data is input: it is checked, never trusted to hold).
    /// `source` is where to read (a follower's snapshot view); `store` is where later reads and
    /// writes go.
    public init(spec: CollectionSpec, store: any IndexStore, loadingFrom source: (any IndexStore)? = nil, replica: ReplicaState = ReplicaState(),
                logger: Logger = Logger(label: "nestor.index")) async throws {
        self.spec = spec
        self.store = store
        self.logger = logger
        self.replica = replica
        // A follower never writes: a damaged graph is rebuilt in memory only, and the writer's
        // own repair reaches it through the log.
        let writable = replica.acceptsWrites
        let store = source ?? store
        var stored = try await store.rotation(of: spec.name)
        var problems = [String]()
        var rotationLost = false
        if let p = CoarseProjection.problem(full: spec.dimensions, coarse: spec.coarseDimensions, rotation: stored) {
            problems.append(p + " (back to the identity basis until the next fit)")
            stored = nil
            rotationLost = true
        }
        let projection = CoarseProjection(full: spec.dimensions, coarse: spec.coarseDimensions, rotation: stored)
        // Two halves run at once on the two cores a start-up has: reading and verifying the
        // graph, and reading the chunk vectors and metadata into the search state. (SQLite's
        // WAL and PostgreSQL's pool both serve concurrent readers.)
        async let restored = Self.restoreGraph(spec, store)
        async let filled = Self.fillState(spec, projection, store, writable ? replica : nil, logger)
        var s = try await filled
        let outcome = try await restored
        var next = (s.slotOf.keys.max() ?? 0) + 1
        var kept: RestoredGraph?
        switch outcome {
        case .intact(let r) where r.graph.count == s.chunkCount && s.slotOf.keys.allSatisfy(r.graph.contains):
            kept = r
            next = max(next, r.maxLabel + 1)
        case .intact(let r): problems.append("graph has \(r.graph.count) live nodes for \(s.chunkCount) stored chunks")
        case .damaged(let why): problems.append(why)
        case .absent: if s.chunkCount > 0 { problems.append("no stored graph") }
        }
        if let r = kept, !rotationLost {
            s.graph = r.graph
            rowHashes = r.hashes
            checksum = r.hashes.reduce(0, &+)
        } else {
            // Rebuild from the chunk vectors, which are the truth; labels keep their values.
            s.graph = SearchState.graph(spec, projection, s.allVectors().lazy.map { ($0.label, $0.vector) })
            let (changes, hashes, sum) = Self.replacement(&s.graph)
            rowHashes = hashes
            checksum = sum
            if !problems.isEmpty {
                logger.warning("index of collection \(spec.name) was rebuilt from \(s.chunkCount) stored vectors\(writable ? "" : " in memory"): \(problems.joined(separator: "; "))")
            }
            if writable, let position = try await store.write(BatchWrite(graph: changes, rotation: rotationLost ? .some(nil) : nil), to: spec.name) {
                replica.published(position)
            }
        }
        nextLabel = next
        state = RWLocked(s)
        loadedIntact = problems.isEmpty
    }

    /// An index over a state built elsewhere (an empty collection on a follower).
    init(spec: CollectionSpec, store: any IndexStore, replica: ReplicaState, logger: Logger, state s: SearchState) {
        self.spec = spec
        self.store = store
        self.logger = logger
        self.replica = replica
        state = RWLocked(s)
        nextLabel = 1
        rowHashes = []
        checksum = 0
        loadedIntact = true
    }

    /// What start-up found of the stored graph.
    private enum GraphLoad: Sendable {
        case intact(RestoredGraph)
        case damaged(String)
        case absent
    }

    private struct RestoredGraph: Sendable {
        var graph: HNSWGraph
        /// The stored rows' hashes, by node.
        var hashes: [UInt64]
        var maxLabel: UInt64
    }

    /// The stored graph, decoded and verified (a failed read is thrown; damage is reported).
    private static func restoreGraph(_ spec: CollectionSpec, _ store: any IndexStore) async throws -> GraphLoad {
        let stored = try await store.graphRecords(of: spec.name)
        guard let headerBytes = stored.header else { return stored.rows.isEmpty ? .absent : .damaged("graph rows without their header") }
        do {
            let (header, checksum) = try GraphCodec.decodeHeader(headerBytes)
            guard header.dimension == spec.coarseDimensions, header.m == spec.m, header.efConstruction == spec.efConstruction,
                  header.metric == .cosine else {
                return .damaged("the stored graph was built with other parameters than the collection's")
            }
            guard stored.rows.count == header.nodeCount else {
                return .damaged("\(stored.rows.count) graph rows for a header of \(header.nodeCount) nodes")
            }
            var hashes = [UInt64](repeating: 0, count: header.nodeCount)
            var records = [NodeRecord]()
            records.reserveCapacity(stored.rows.count)
            var maxLabel: UInt64 = 0
            for row in stored.rows {
                guard row.node >= 0, row.node < header.nodeCount else { return .damaged("graph row \(row.node) is out of range") }
                hashes[row.node] = GraphCodec.hash(node: row.node, row.bytes)
                let r = try GraphCodec.decode(row.bytes, node: Int32(row.node))
                maxLabel = max(maxLabel, r.label)
                records.append(r)
            }
            guard checksum == hashes.reduce(0, &+) else { return .damaged("checksum mismatch") }
            return .intact(RestoredGraph(graph: try HNSWGraph(header: header, records: records), hashes: hashes, maxLabel: maxLabel))
        } catch let e as HNSWError {
            return .damaged(e.message)
        }
    }

    /// Every chunk's full vector and document, and every document's metadata, with no graph yet.
    /// `replica` nil: read only (a follower).
    private static func fillState(_ spec: CollectionSpec, _ projection: CoarseProjection, _ store: any IndexStore, _ replica: ReplicaState?,
                                  _ logger: Logger) async throws -> SearchState {
        async let metadata = store.documentMetadata(in: spec.name)
        async let terms = store.lexicalTerms(in: spec.name)
        let chunks = try await store.chunkVectors(in: spec.name)
        guard chunks.count == 0 || chunks.dimensions == spec.dimensions else {
            throw StoreError(.corrupt, "collection \(spec.name) stores vectors of \(chunks.dimensions) values; it was created for \(spec.dimensions)")
        }
        var s = SearchState(graph: HNSWGraph(dimension: spec.coarseDimensions), projection: projection,
                            bm25: BM25Parameters(k1: spec.bm25K1, b: spec.bm25B), analyzer: AnalyzerOptions(foldDiacritics: spec.foldDiacritics),
                            terms: try await terms)
        let documents = try await metadata
        s.reserve(documents: documents.count)
        let unindexed = s.addChunks(chunks)
        for d in documents { s.metadata[d.id] = d.metadata }
        if !unindexed.isEmpty { try await indexLexically(unindexed, &s, spec, store, replica, logger) }
        return s
    }

    /// Chunks stored without terms (before the lexical index existed) or with unreadable ones:
    /// analysed from their text once and written back, with a log line.
    private static func indexLexically(_ labels: [UInt64], _ s: inout SearchState, _ spec: CollectionSpec, _ store: any IndexStore,
                                       _ replica: ReplicaState?, _ logger: Logger) async throws {
        let firstNew = s.lexical.terms.count
        var updates = [(label: UInt64, terms: [UInt8])]()
        for start in stride(from: 0, to: labels.count, by: 1_000) {
            let rows = try await store.chunks(labels: Array(labels[start..<min(labels.count, start + 1_000)]), in: spec.name)
            for r in rows {
                let list = s.lexical.termList(Analyzer.frequencies(r.chunk.text, options: s.analyzer))
                s.lexical.add(r.chunk.label, list)
                updates.append((r.chunk.label, TermCodec.encode(list)))
            }
        }
        let newTerms = (firstNew..<s.lexical.terms.count).map { (id: $0, term: s.lexical.terms[$0]) }
        // A follower keeps this in memory; the writer's own upgrade reaches it through the log.
        guard let replica else { return }
        if let position = try await store.write(BatchWrite(newTerms: newTerms, chunkTerms: updates), to: spec.name) { replica.published(position) }
        logger.info("indexed \(updates.count) chunks of collection \(spec.name) lexically (they were stored without terms)")
    }

    /// Every record of a freshly built graph, as one replacing write, with the rows' hashes.
    private static func replacement(_ g: inout HNSWGraph) -> (GraphRecordChanges, [UInt64], UInt64) {
        _ = g.takeDirtyNodes()
        var hashes = [UInt64]()
        hashes.reserveCapacity(g.nodeCount)
        let rows = (0..<Int32(g.nodeCount)).map { n -> GraphRecordRow in
            let bytes = GraphCodec.encode(g.record(n))
            hashes.append(GraphCodec.hash(node: Int(n), bytes))
            return GraphRecordRow(node: Int(n), bytes: bytes)
        }
        let sum = hashes.reduce(0, &+)
        return (GraphRecordChanges(header: GraphCodec.encode(g.header, checksum: sum), rows: rows, replacesAll: true), hashes, sum)
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

    /// What one `apply` did.
    public struct Applied: Sendable {
        /// The chunk labels assigned to each input, in order.
        public var labels: [[UInt64]]
        /// The ids among the deletions that existed (and are now gone).
        public var deleted: [String]
    }

    /// Adds or replaces documents and deletes others, durably, in one transaction; the change
    /// becomes visible to searches only after the commit.
    @discardableResult
    public func apply(upserts: [Input], deletions: [String] = []) async throws -> Applied {
        await lock()
        defer { unlock() }
        let (replaced, existing) = state.read { s in
            ((upserts.map(\.id) + deletions).flatMap { s.chunksOf[$0] ?? [] }, deletions.filter(s.contains(document:)))
        }
        let projection = state.read(\.projection)
        // Stage: each insert under its own short write lock, so searches run between them.
        let visited = VisitedSet()  // one per batch: a fresh set costs a pass over every node
        state.write { s in for l in replaced { s.graph.stageRemoval(l) } }
        var rows = [DocumentRow]()
        var labels = [[UInt64]]()
        var termLists = [UInt64: [BM25Index.TermFrequency]]()
        var label = nextLabel
        let analyzer = self.analyzer
        let firstNewTerm = state.read { $0.lexical.terms.count }
        for d in upserts {
            var chunks = [ChunkRow]()
            var assigned = [UInt64]()
            for (k, c) in d.chunks.enumerated() {
                let coarse = projection(c.vector)
                let frequencies = c.terms ?? Analyzer.frequencies(c.text, options: analyzer)
                // New terms get ids now; a term without postings matches nothing, so this is invisible.
                let list = state.write { s in
                    s.graph.stageInsert(coarse, label: label, visited: visited)
                    return s.lexical.termList(frequencies)
                }
                termLists[label] = list
                chunks.append(ChunkRow(label: label, documentId: d.id, ordinal: k, text: c.text, tokenStart: c.tokenStart,
                                       tokenEnd: c.tokenEnd, vector: c.vector, terms: TermCodec.encode(list)))
                assigned.append(label)
                label += 1
            }
            rows.append(DocumentRow(id: d.id, text: d.text, metadata: d.metadata, chunks: chunks))
            labels.append(assigned)
        }
        let newTerms = state.read { s in (firstNewTerm..<s.lexical.terms.count).map { (id: $0, term: s.lexical.terms[$0]) } }
        // The records of every node the batch touched, as they will be once published.
        var hashes = rowHashes
        var sum = checksum
        let changes: GraphRecordChanges = state.write { s in
            var out = [GraphRecordRow]()
            for n in s.graph.takeDirtyNodes() {
                let bytes = GraphCodec.encode(s.graph.record(n))
                let h = GraphCodec.hash(node: Int(n), bytes)
                if Int(n) < hashes.count { sum = sum &- hashes[Int(n)] &+ h; hashes[Int(n)] = h } else { sum = sum &+ h; hashes.append(h) }
                out.append(GraphRecordRow(node: Int(n), bytes: bytes))
            }
            return GraphRecordChanges(header: GraphCodec.encode(s.graph.header, checksum: sum), rows: out)
        }
        let position: LogPosition?
        do {
            position = try await store.write(BatchWrite(upserts: rows, deletions: deletions, graph: changes, newTerms: newTerms), to: spec.name)
        } catch {
            try await reload()
            throw error
        }
        // Publish: durable now, so searches may see it.
        state.write { s in
            s.graph.publish()
            for id in upserts.map(\.id) + deletions { s.removeDocument(id) }
            for d in rows {
                for c in d.chunks { s.addChunk(c.label, document: d.id, vector: c.vector, terms: termLists[c.label]) }
                s.metadata[d.id] = d.metadata
            }
        }
        nextLabel = label
        rowHashes = hashes
        checksum = sum
        if let position { replica.published(position) }
        return Applied(labels: labels, deleted: existing)
    }

    /// Calibrates the rerank depth on `sample` of the collection's own chunks: the smallest
    /// factor whose mean recall@k reaches `target`. Each sampled query holds the search lock
    /// on its own, so writes wait for at most one query, never for the whole calibration.
    @discardableResult
    public nonisolated func calibrateDepth(k: Int = 10, sample: Int = 64, factors: [Int] = [10, 20, 40, 80],
                                           target: Double = 0.995) -> (factor: Int, recall: [Double])? {
        let (labels, count) = state.read { s in (Array(s.slotOf.keys), s.chunkCount) }
        guard count > 4 * k * (factors.last ?? 10), !state.read(\.projection.isIdentity) else { return nil }
        var rng = SplitMixSeed(state: UInt64(count))
        let visited = VisitedSet()
        var sums = [Double](repeating: 0, count: factors.count)
        var measured = 0
        for _ in 0..<sample {
            let label = labels[Int(rng.next() % UInt64(labels.count))]
            guard let r = state.read({ $0.calibrationRecall(of: label, k: k, factors: factors, visited: visited) }) else { continue }
            for i in r.indices { sums[i] += r[i] }
            measured += 1
        }
        guard measured > 0 else { return nil }
        let mean = sums.map { $0 / Double(measured) }
        let factor = factors[factors.indices.first { mean[$0] >= target } ?? factors.count - 1]
        state.write { s in
            s.depthFactor = factor
            s.calibratedAt = count
        }
        logger.info("calibrated the rerank depth of collection \(spec.name): \(factor)·top_k over \(count) chunks (recall@\(k) by factor \(zip(factors, mean).map { "\($0):\(String(format: "%.3f", $1))" }.joined(separator: " ")))")
        return (factor, mean)
    }

    /// Every live chunk's full vector in label order (to fit a rotation).
    public nonisolated func vectors() -> [(label: UInt64, vector: [Float])] { state.read { $0.allVectors() } }

    /// Rebuilds the graph over a new coarse basis (dropping every deleted node) and stores both
    /// in one transaction; searches keep using the old graph until the new one is durable.
    public func rebuild(rotation: [Float]?) async throws {
        await lock()
        defer { unlock() }
        let projection = CoarseProjection(full: spec.dimensions, coarse: spec.coarseDimensions, rotation: rotation)
        var graph = SearchState.graph(spec, projection, state.read { $0.allVectors() }.lazy.map { ($0.label, $0.vector) })
        let (changes, hashes, sum) = Self.replacement(&graph)
        let position = try await store.write(BatchWrite(graph: changes, rotation: .some(rotation)), to: spec.name)
        rowHashes = hashes
        checksum = sum
        state.write { s in
            s.graph = graph
            s.projection = projection
        }
        if let position { replica.published(position) }
        logger.info("rebuilt the index of collection \(spec.name) over \(graph.count) vectors (\(rotation == nil ? "identity" : "rotated") coarse basis)")
    }

    /// Re-reads everything from the store (after a failed write).
    private func reload() async throws {
        let fresh = try await CollectionIndex(spec: spec, store: store, replica: replica, logger: logger)
        let s = fresh.state.read { $0 }
        state.write { $0 = s }
        rowHashes = await fresh.hashes
        checksum = rowHashes.reduce(0, &+)
        nextLabel = await fresh.next
    }

    private var hashes: [UInt64] { rowHashes }
    private var next: UInt64 { nextLabel }

    func lock() async {
        if !writing { writing = true; return }
        await withCheckedContinuation { waiting.append($0) }
    }

    func unlock() {
        if waiting.isEmpty { writing = false } else { waiting.removeFirst().resume() }
    }
}

/// A tiny deterministic generator for picking calibration samples.
struct SplitMixSeed {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
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
