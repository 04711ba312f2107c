import EmbeddingEngine
import Foundation
import NestorCore
import Retrieval
import Testing

/// The search service end to end on the real engine (tiny BERT fixture) and each real store:
/// ingest, upsert, delete, filters, the two-stage path with a fitted rotation, and a restart.
@Suite(.serialized) struct RetrievalServiceTests {
    static let embedder: LocalEmbedder = {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("EmbeddingModelTests/Fixtures/tiny-bert")
        return try! LocalEmbedder(folder: folder, options: .init(servedName: "tiny"))  // safe: committed fixture
    }()

    static func documents(_ n: Int, offset: Int = 0) -> [IngestDocument] {
        let words = ["river", "mountain", "engine", "violin", "harbour", "pepper", "orbit", "garden", "signal", "marble", "copper", "lantern"]
        return (offset..<(offset + n)).map { i in
            let text = (0..<6).map { words[(i * 7 + $0 * ($0 + i % 5 + 1)) % words.count] }.joined(separator: " ")
            return IngestDocument(id: "d\(i)", text: text + " \(i).", metadata: #"{"group": \#(i % 4), "even": \#(i % 2 == 0)}"#)
        }
    }

    @Test(arguments: Backend.available)
    func ingestSearchUpsertDeleteAndRestart(backend: Backend) async throws {
        let (store, reopen) = try await backend.make()
        var settings = RetrievalSettings()
        settings.rotationMinimumVectors = 40
        let service = try await RetrievalService(store: store, embedder: Self.embedder, settings: settings)
        _ = try await service.createCollection(name: "c", coarseDimensions: 8, m: 8, efConstruction: 64)
        let first = try await service.ingest(Self.documents(80), into: "c")
        #expect(first.documents.count == 80 && first.documents.allSatisfy { $0.chunks == 1 })
        // Crossing the minimum fitted a PCA basis and rebuilt the graph over it.
        #expect(try await service.collection("c").coarseBasis == "pca")

        // Every document finds itself first by its own text, two-stage and exact alike.
        for d in Self.documents(80).prefix(20) {
            let two = try await service.search(.text(d.text), in: "c", options: SearchOptions(topK: 3, rerankDepth: 30, ef: 30))
            let exact = try await service.search(.text(d.text), in: "c", options: SearchOptions(topK: 3, exact: true))
            #expect(two.hits.first?.documentId == d.id && two.path == .twoStage)
            #expect(exact.hits.map(\.documentId) == two.hits.map(\.documentId))
        }
        // Filters are exact: every hit matches, and broad filters agree with exact search.
        let filter = try MetadataFilter(.object(["group": .object(["$in": .array([.number(1), .number(2)])])]))
        let filtered = try await service.search(.text("river engine"), in: "c", options: SearchOptions(topK: 10, filter: filter, exactFilterLimit: 0))
        let exactFiltered = try await service.search(.text("river engine"), in: "c", options: SearchOptions(topK: 10, filter: filter, exact: true))
        #expect(!filtered.hits.isEmpty && filtered.hits.allSatisfy { [1, 2].contains(Int($0.documentId.dropFirst())! % 4) })
        #expect(filtered.hits.map(\.documentId) == exactFiltered.hits.map(\.documentId))

        // Upsert replaces, delete removes; both visible to the next search.
        _ = try await service.ingest([IngestDocument(id: "d3", text: "completely new words about astronomy")], into: "c")
        let replaced = try await service.search(.text("completely new words about astronomy"), in: "c", options: SearchOptions(topK: 1))
        #expect(replaced.hits.first?.documentId == "d3" && replaced.hits.first?.text == "completely new words about astronomy")
        #expect(try await service.deleteDocument("d5", in: "c"))
        #expect(try await !service.deleteDocument("d5", in: "c"))
        let old = Self.documents(80)[5].text
        #expect(try await service.search(.text(old), in: "c", options: SearchOptions(topK: 60, exact: true)).hits.allSatisfy { $0.documentId != "d5" })

        // A restart on the same database answers identically.
        let queries = ["river mountain", "violin harbour pepper", "astronomy", "signal marble 12."]
        var before = [[String]]()
        for q in queries { before.append(try await service.search(.text(q), in: "c", options: SearchOptions(topK: 5)).hits.map(\.documentId)) }
        let restarted = try await RetrievalService(store: try reopen(), embedder: Self.embedder, settings: settings)
        let info = try await restarted.collection("c")
        #expect(info.documents == 79 && info.chunks == 79 && info.coarseBasis == "pca")
        for (q, b) in zip(queries, before) {
            #expect(try await restarted.search(.text(q), in: "c", options: SearchOptions(topK: 5)).hits.map(\.documentId) == b)
        }
    }

    @Test func aCollectionFromAnotherModelIsRefusedWithTheReason() async throws {
        let (store, _) = try await Backend.sqlite.make()
        try await store.createCollection(CollectionSpec(name: "old", model: "other-model", dimensions: 768, coarseDimensions: 128))
        let service = try await RetrievalService(store: store, embedder: Self.embedder)
        #expect(try await service.collection("old").unavailable?.contains("other-model") == true)
        await #expect(throws: RetrievalError.self) { _ = try await service.search(.text("x"), in: "old", options: SearchOptions()) }
    }

    @Test func longDocumentsAreChunkedWithinTheModelLimit() async throws {
        let (store, _) = try await Backend.sqlite.make()
        let service = try await RetrievalService(store: store, embedder: Self.embedder)
        _ = try await service.createCollection(name: "long", coarseDimensions: nil, m: nil, efConstruction: nil)
        let paragraph = (0..<40).map { "sentence number \($0) talks about rivers." }.joined(separator: " ")
        let text = Array(repeating: paragraph, count: 3).joined(separator: "\n\n")
        let r = try await service.ingest([IngestDocument(id: "big", text: text)], into: "long",
                                         chunking: ChunkingOptions(maxTokens: 40, overlapTokens: 5))
        #expect(r.documents[0].chunks > 10)
        let stored = try #require(try await service.document("big", in: "long"))
        #expect(stored.chunks.allSatisfy { $0.tokenEnd - $0.tokenStart <= 40 })
        await #expect(throws: RetrievalError.self) {
            _ = try await service.ingest([IngestDocument(text: "x")], into: "long", chunking: ChunkingOptions(maxTokens: 100_000))
        }
    }
}
