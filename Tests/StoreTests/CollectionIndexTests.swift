import Foundation
import GRDB
import HNSW
import NestorCore
import StoreSQLite
import Testing

@Suite struct CollectionIndexTests {
    static let spec = CollectionSpec(name: "c", model: "m", dimensions: 8, coarseDimensions: 8, m: 8, efConstruction: 40, seed: 3)

    static func inputs(_ ids: Range<Int>, chunks: Int = 2) -> [CollectionIndex.Input] {
        ids.map { i in
            CollectionIndex.Input(id: "d\(i)", text: "doc \(i)", chunks: (0..<chunks).map { k in
                (text: "d\(i)#\(k)", tokenStart: k, tokenEnd: k + 1, vector: (0..<8).map { Float(sin(Double(i * 7 + k * 3 + $0))) })
            })
        }
    }

    func freshStore() async throws -> (SQLiteStore, String) {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("nestor-\(UUID().uuidString)/db.sqlite").path
        let store = try SQLiteStore(path: path)
        try await store.migrate()
        try await store.createCollection(Self.spec)
        return (store, path)
    }

    @Test func batchesPersistAndReloadIdentically() async throws {
        let (store, path) = try await freshStore()
        let index = try await CollectionIndex(spec: Self.spec, store: store)
        let labels = try await index.apply(upserts: Self.inputs(0..<50))
        #expect(labels.count == 50 && labels[0] == [1, 2])
        try await index.apply(upserts: Self.inputs(10..<20, chunks: 1), deletions: ["d30"])
        let q = Self.inputs(12..<13, chunks: 1)[0].chunks[0].vector
        let before = index.graph.search(q, k: 5, ef: 40).map(\.label)
        let bytes = index.graph.serialized()
        let reopened = try await CollectionIndex(spec: Self.spec, store: try SQLiteStore(path: path))
        #expect(reopened.graph.serialized() == bytes)
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
                        let state = index.state.read { $0 }
                        #expect(state.chunkCount == 2 * state.documentCount)
                        #expect(state.chunkCount % 20 == 0)  // whole batches of 10 two-chunk documents
                        let hits = index.search(q, SearchOptions(topK: 5, rerankDepth: 0, ef: 32)).hits
                        #expect(hits.count <= 5)
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(index.state.read(\.chunkCount) == 600)
        #expect(index.graph.verify() == nil)
    }

    @Test func aDamagedGraphIsRebuiltFromTheVectors() async throws {
        let (store, path) = try await freshStore()
        let index = try await CollectionIndex(spec: Self.spec, store: store)
        try await index.apply(upserts: Self.inputs(0..<40))
        // Damage the stored graph behind the store's back.
        let db = try DatabaseQueue(path: path)
        try await db.write { try $0.execute(sql: "DELETE FROM graph_nodes WHERE node % 7 = 0") }
        let rebuilt = try await CollectionIndex(spec: Self.spec, store: try SQLiteStore(path: path))
        #expect(rebuilt.graph.count == 80)
        #expect(rebuilt.graph.verify() == nil)
        let q = Self.inputs(5..<6)[0].chunks[1].vector
        #expect(rebuilt.graph.search(q, k: 1, ef: 40).first?.label == 12)
        // The rebuild was written back: the next start loads it without rebuilding.
        let again = try await CollectionIndex(spec: Self.spec, store: try SQLiteStore(path: path))
        #expect(again.graph.serialized() == rebuilt.graph.serialized())
        // New labels continue after the old ones.
        let next = try await again.apply(upserts: Self.inputs(100..<101))
        #expect(next[0] == [81, 82])
    }
}
