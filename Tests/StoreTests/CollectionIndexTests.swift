import Foundation
import GRDB
import HNSW
import NestorCore
import Retrieval
import StoreSQLite
import Testing

@Suite struct CollectionIndexTests {
    static let spec = CollectionSpec(name: "c", model: "m", dimensions: 8, coarseDimensions: 8, m: 8, efConstruction: 40, seed: 3)

    static func inputs(_ ids: Range<Int>, chunks: Int = 2, salt: Int = 0) -> [CollectionIndex.Input] {
        ids.map { i in
            CollectionIndex.Input(id: "d\(i)", text: "doc \(i)", chunks: (0..<chunks).map { k in
                CollectionIndex.Chunk(text: "d\(i)#\(k)", tokenStart: k, tokenEnd: k + 1,
                                      vector: (0..<8).map { Float(sin(Double(i * 7 + k * 3 + salt * 11 + $0))) })
            })
        }
    }

    func freshStore(_ spec: CollectionSpec = Self.spec) async throws -> (SQLiteStore, String) {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("nestor-\(UUID().uuidString)/db.sqlite").path
        let store = try SQLiteStore(path: path)
        try await store.migrate()
        try await store.createCollection(spec)
        return (store, path)
    }

    @Test func batchesPersistAndReloadIdentically() async throws {
        let (store, path) = try await freshStore()
        let index = try await CollectionIndex(spec: Self.spec, store: store)
        let labels = try await index.apply(upserts: Self.inputs(0..<50)).labels
        #expect(labels.count == 50 && labels[0] == [1, 2])
        try await index.apply(upserts: Self.inputs(10..<20, chunks: 1), deletions: ["d30"])
        let q = Self.inputs(12..<13, chunks: 1)[0].chunks[0].vector
        let before = index.graph.search(q, k: 5, ef: 40).map(\.label)
        let reopened = try await CollectionIndex(spec: Self.spec, store: try SQLiteStore(path: path))
        #expect(reopened.loadedIntact)
        #expect(records(reopened.graph) == records(index.graph) && reopened.graph.header == index.graph.header)
        #expect(reopened.graph.search(q, k: 5, ef: 40).map(\.label) == before)
        // Replaced and deleted documents' chunks never come back.
        let live = { let g = index.graph; return Set((1..<200).filter { g.contains(UInt64($0)) }.map(UInt64.init)) }()
        #expect(!live.contains(labels[10][0]) && !live.contains(labels[30][1]))
        let expected = 100 - 20 + 10 - 2  // 50 docs × 2, d10–d19 replaced by 1 chunk each, d30 deleted
        #expect(live.count == expected)
    }

    /// Searches run while batches are written: every search sees a whole batch or none of it
    /// (a document's chunks appear together), and the graph verifies afterwards.
    @Test func concurrentSearchesWhileWriting() async throws {
        let (store, _) = try await freshStore()
        let index = try await CollectionIndex(spec: Self.spec, store: store)
        let q = Self.inputs(3..<4)[0].chunks[0].vector
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for start in stride(from: 0, to: 300, by: 10) { try await index.apply(upserts: Self.inputs(start..<start + 10)) }
            }
            for _ in 0..<4 {
                group.addTask {
                    for _ in 0..<300 {
                        let (chunks, documents) = index.state.read { ($0.chunkCount, $0.documentCount) }
                        #expect(chunks == 2 * documents)
                        #expect(chunks % 20 == 0)  // whole batches of 10 two-chunk documents
                        let hits = index.search(q, SearchOptions(topK: 5, rerankDepth: 0, ef: 32)).hits
                        #expect(hits.count == min(5, chunks))
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(index.state.read(\.chunkCount) == 600)
        #expect(index.graph.verify() == nil)
    }

    /// The planner's full scan equals brute force over the graph, also after deletes leave
    /// free slots behind.
    @Test func fullScanEqualsBruteForce() async throws {
        let (store, _) = try await freshStore()
        let index = try await CollectionIndex(spec: Self.spec, store: store)
        try await index.apply(upserts: Self.inputs(0..<60))
        try await index.apply(upserts: Self.inputs(60..<70), deletions: (0..<60).filter { $0 % 4 == 0 }.map { "d\($0)" })
        for q in Self.inputs(0..<20, salt: 7).map({ $0.chunks[0].vector }) {
            let scan = index.search(q, SearchOptions(topK: 10, exactBelow: 1_000_000)).hits
            let brute = index.graph.bruteForce(q, k: 10)
            #expect(scan.map(\.label) == brute.map(\.label))
            #expect(zip(scan, brute).allSatisfy { abs($0.score - (1 - $1.distance)) < 1e-5 })
        }
    }

    /// Commit, then publish: while a batch's transaction waits for the database (here another
    /// connection holds SQLite's write lock), searches see none of it; once it commits, all of it.
    @Test func nothingIsVisibleBeforeItsCommit() async throws {
        let (store, path) = try await freshStore()
        let index = try await CollectionIndex(spec: Self.spec, store: store)
        try await index.apply(upserts: Self.inputs(0..<10))
        let blocker = try DatabaseQueue(path: path)
        let locked = AsyncStream<Void>.makeStream()
        let release = AsyncStream<Void>.makeStream()
        let holder = Task {
            try await blocker.write { db in
                locked.continuation.yield()
                // Held until the test has looked; the writer below waits on SQLite's busy timeout.
                let semaphore = DispatchSemaphore(value: 0)
                Task { for await _ in release.stream { break }; semaphore.signal() }
                semaphore.wait()
                try db.execute(sql: "SELECT 1")
            }
        }
        for await _ in locked.stream { break }
        let writer = Task { try await index.apply(upserts: Self.inputs(10..<20), deletions: ["d0"]) }
        try await Task.sleep(for: .milliseconds(600))
        let q = Self.inputs(15..<16)[0].chunks[0].vector
        #expect(index.state.read { ($0.documentCount, $0.chunkCount, $0.contains(document: "d0")) } == (10, 20, true))
        #expect(index.search(q, SearchOptions(topK: 20, rerankDepth: 0, ef: 64)).hits.allSatisfy { $0.label <= 20 })
        #expect(index.search(q, SearchOptions(topK: 40, exact: true)).hits.count == 20)
        release.continuation.yield()
        try await holder.value
        try await writer.value
        #expect(index.state.read { ($0.documentCount, $0.chunkCount, $0.contains(document: "d0")) } == (19, 38, false))
        #expect(index.search(q, SearchOptions(topK: 1, rerankDepth: 0, ef: 64)).hits.first.map { $0.label > 20 } == true)
    }

    /// A commit that fails leaves nothing behind in memory either: the state is what the
    /// store holds, and later batches work.
    @Test func aFailedCommitPublishesNothing() async throws {
        let (store, _) = try await freshStore()
        let failing = FailingStore(store)
        let index = try await CollectionIndex(spec: Self.spec, store: failing)
        try await index.apply(upserts: Self.inputs(0..<10))
        failing.failNext()
        await #expect(throws: StoreError.self) { try await index.apply(upserts: Self.inputs(10..<20), deletions: ["d1"]) }
        #expect(index.state.read { ($0.documentCount, $0.contains(document: "d1"), $0.contains(document: "d12")) } == (10, true, false))
        #expect(index.graph.verify() == nil && index.graph.count == 20)
        try await index.apply(upserts: Self.inputs(10..<20))
        #expect(index.state.read(\.documentCount) == 20)
    }

    /// Upserting the same documents round after round reuses the deleted nodes' slots: the
    /// graph, its stored rows and the search stay the same size instead of growing each round.
    @Test func repeatedUpsertsKeepTheGraphBounded() async throws {
        let (store, path) = try await freshStore()
        let index = try await CollectionIndex(spec: Self.spec, store: store)
        for round in 0..<50 { try await index.apply(upserts: Self.inputs(0..<50, salt: round)) }
        let g = index.graph
        #expect(g.count == 100 && g.nodeCount <= 200, "graph nodes \(g.nodeCount) for 100 live chunks")
        #expect(g.verify() == nil)
        let rows = try await DatabaseQueue(path: path).read { try Int.fetchOne($0, sql: "SELECT count(*) FROM graph_records") }
        #expect(rows == g.nodeCount)
        // Still finds what it holds.
        for d in Self.inputs(0..<50, salt: 49).prefix(10) {
            #expect(index.search(d.chunks[0].vector, SearchOptions(topK: 1, rerankDepth: 0, ef: 40)).hits.first?.documentId == d.id)
        }
        let reopened = try await CollectionIndex(spec: Self.spec, store: try SQLiteStore(path: path))
        #expect(reopened.loadedIntact && records(reopened.graph) == records(g))
    }

    @Test func aDamagedGraphIsRebuiltFromTheVectors() async throws {
        let (store, path) = try await freshStore()
        let index = try await CollectionIndex(spec: Self.spec, store: store)
        try await index.apply(upserts: Self.inputs(0..<40))
        // Damage the stored graph behind the store's back.
        let db = try DatabaseQueue(path: path)
        try await db.write { try $0.execute(sql: "DELETE FROM graph_records WHERE node % 7 = 0") }
        let rebuilt = try await CollectionIndex(spec: Self.spec, store: try SQLiteStore(path: path))
        #expect(!rebuilt.loadedIntact)
        #expect(rebuilt.graph.count == 80)
        #expect(rebuilt.graph.verify() == nil)
        let q = Self.inputs(5..<6)[0].chunks[1].vector
        #expect(rebuilt.graph.search(q, k: 1, ef: 40).first?.label == 12)
        // The rebuild was written back: the next start loads it without rebuilding.
        let again = try await CollectionIndex(spec: Self.spec, store: try SQLiteStore(path: path))
        #expect(again.loadedIntact && records(again.graph) == records(rebuilt.graph))
        // New labels continue after the old ones.
        let next = try await again.apply(upserts: Self.inputs(100..<101)).labels
        #expect(next[0] == [81, 82])
    }

    /// Stored data is input: a corrupt rotation, a garbled record or header is logged and the
    /// graph rebuilt, and implausible parameters make the collection unavailable — start-up
    /// never stops on a precondition.
    @Test func corruptStoredDataTakesTheRebuildPath() async throws {
        let spec = CollectionSpec(name: "c", model: "m", dimensions: 8, coarseDimensions: 4, m: 8, efConstruction: 40, seed: 3)
        let (store, path) = try await freshStore(spec)
        let index = try await CollectionIndex(spec: spec, store: store)
        try await index.apply(upserts: Self.inputs(0..<30))
        let db = try DatabaseQueue(path: path)
        for damage in ["UPDATE collections SET coarse_rotation = x'00112233'",
                       "UPDATE graph_records SET record = x'01020304' WHERE node = 3",
                       "UPDATE graph_headers SET header = x'4e474831'",
                       "UPDATE collections SET coarse_rotation = zeroblob(128) || x'0000c07f' || zeroblob(4)"] {
            try await db.write { try $0.execute(sql: damage) }
            let loaded = try await CollectionIndex(spec: spec, store: try SQLiteStore(path: path))
            #expect(!loaded.loadedIntact, "\(damage)")
            #expect(loaded.graph.count == 60 && loaded.graph.verify() == nil)
            #expect(loaded.state.read(\.projection.rotation) == nil)
        }
        try await db.write { try $0.execute(sql: "UPDATE collections SET hnsw_m = 0") }
        let service = try await RetrievalService(store: try SQLiteStore(path: path), embedder: TinyEmbedder())
        #expect(try await service.collection("c").unavailable?.contains("m 0") == true)
    }
}

/// A real store whose next write can be made to fail, to test what a failed commit leaves.
final class FailingStore: IndexStore, @unchecked Sendable {
    // @unchecked: `fail` is only touched under `lock`; the wrapped store is Sendable.
    let base: SQLiteStore
    private var fail = false
    private let lock = NSLock()
    init(_ base: SQLiteStore) { self.base = base }
    func failNext() { lock.withLock { fail = true } }

    func write(_ batch: BatchWrite, to collection: String) async throws -> LogPosition? {
        if lock.withLock({ defer { fail = false }; return fail }) { throw StoreError(.busy, "injected failure") }
        return try await base.write(batch, to: collection)
    }
    func migrate() async throws { try await base.migrate() }
    func createCollection(_ spec: CollectionSpec) async throws -> LogPosition? { try await base.createCollection(spec) }
    func collections() async throws -> [CollectionSpec] { try await base.collections() }
    func collection(named name: String) async throws -> CollectionSpec? { try await base.collection(named: name) }
    func deleteCollection(named name: String) async throws -> (existed: Bool, position: LogPosition?) { try await base.deleteCollection(named: name) }
    func document(_ id: String, in collection: String) async throws -> DocumentRow? { try await base.document(id, in: collection) }
    func documents(in collection: String, after: String?, limit: Int) async throws -> [DocumentSummary] {
        try await base.documents(in: collection, after: after, limit: limit)
    }
    func chunks(labels: [UInt64], in collection: String) async throws -> [(chunk: ChunkRow, metadata: Metadata)] {
        try await base.chunks(labels: labels, in: collection)
    }
    func chunkVectors(in collection: String) async throws -> ChunkVectors { try await base.chunkVectors(in: collection) }
    func documentMetadata(in collection: String) async throws -> [(id: String, metadata: Metadata)] { try await base.documentMetadata(in: collection) }
    func rotation(of collection: String) async throws -> [Float]? { try await base.rotation(of: collection) }
    func lexicalTerms(in collection: String) async throws -> [String] { try await base.lexicalTerms(in: collection) }
    func graphRecords(of collection: String) async throws -> StoredGraphRecords { try await base.graphRecords(of: collection) }
    func claimExclusiveUse() async throws { try await base.claimExclusiveUse() }
    func releaseExclusiveUse() async { await base.releaseExclusiveUse() }
}

/// An embedder for collections of model "m" (8 dimensions) that only needs to be named.
struct TinyEmbedder: Embedder {
    var info: EmbedderInfo { EmbedderInfo(name: "m", dimensions: 8, maxInputTokens: 32, matryoshka: .none) }
    func embed(_ inputs: [EmbeddingInput], options: EmbedOptions) async throws -> EmbeddingOutput {
        EmbeddingOutput(vectors: inputs.map { _ in [Float](repeating: 0.5, count: 8) }, tokenCounts: inputs.map { _ in 1 })
    }
    func tokenSpans(_ text: String) throws -> [Range<Int>] { [] }
    func overheadTokens(promptName: String?) throws -> Int { 0 }
    func tokenize(_ text: String, promptName: String?, addSpecialTokens: Bool) throws -> Tokenized { Tokenized(ids: [], pieces: []) }
}
