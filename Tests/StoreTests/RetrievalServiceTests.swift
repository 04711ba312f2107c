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
            return IngestDocument(id: "d\(i)", text: text + " \(i).", metadata: ["group": .number(Double(i % 4)), "even": .bool(i % 2 == 0)])
        }
    }

    @Test func ingestSearchUpsertDeleteAndRestartOnSQLite() async throws { try await ingestSearchUpsertDeleteAndRestart(.sqlite) }

    @Test(.enabled(if: Backend.hasPostgres, "NESTOR_TEST_POSTGRES_URL is not set"))
    func ingestSearchUpsertDeleteAndRestartOnPostgres() async throws { try await ingestSearchUpsertDeleteAndRestart(.postgres) }

    func search(_ service: RetrievalService, _ q: String, topK: Int? = nil, depth: Int? = nil, ef: Int? = nil,
                filter: MetadataFilter? = nil, exact: Bool = false) async throws -> SearchResult {
        try await service.search(SearchRequest(collection: "c", query: .text(q), topK: topK, rerankDepth: depth, ef: ef, filter: filter, exact: exact))
    }

    func ingestSearchUpsertDeleteAndRestart(_ backend: Backend) async throws {
        let (store, reopen) = try await backend.make()
        var settings = RetrievalSettings()
        settings.rotationMinimumVectors = 40
        let service = try await RetrievalService(store: store, embedder: Self.embedder, settings: settings)
        _ = try await service.createCollection(CollectionRequest(name: "c", coarseDimensions: 8, m: 8, efConstruction: 64))
        let first = try await service.ingest(IngestRequest(collection: "c", documents: Self.documents(80)))
        #expect(first.documents.count == 80 && first.documents.allSatisfy { $0.chunks == 1 })
        // Crossing the minimum fits a PCA basis in the background and rebuilds the graph over it.
        await service.settle()
        #expect(try await service.collection("c").coarseBasis == "pca")

        // Every document finds itself first by its own text, two-stage and exact alike.
        for d in Self.documents(80).prefix(20) {
            let two = try await search(service, d.text, topK: 3, depth: 30, ef: 30)
            let exact = try await search(service, d.text, topK: 3, exact: true)
            #expect(two.hits.first?.documentId == d.id && two.path == .twoStage)
            #expect(exact.hits.map(\.documentId) == two.hits.map(\.documentId))
        }
        // Filters are exact: every hit matches, and broad filters agree with exact search.
        let filter = try MetadataFilter(.object(["group": .object(["$in": .array([.number(1), .number(2)])])]))
        let filtered = try await search(service, "river engine", topK: 10, filter: filter)
        let exactFiltered = try await search(service, "river engine", topK: 10, filter: filter, exact: true)
        #expect(!filtered.hits.isEmpty && filtered.hits.allSatisfy { [1, 2].contains(Int($0.documentId.dropFirst())! % 4) })
        #expect(filtered.hits.map(\.documentId) == exactFiltered.hits.map(\.documentId))

        // Upsert replaces, delete removes; both visible to the next search.
        _ = try await service.ingest(IngestRequest(collection: "c", documents: [IngestDocument(id: "d3", text: "completely new words about astronomy")]))
        let replaced = try await search(service, "completely new words about astronomy", topK: 1)
        #expect(replaced.hits.first?.documentId == "d3" && replaced.hits.first?.text == "completely new words about astronomy")
        #expect(try await service.deleteDocument("d5", in: "c"))
        #expect(try await !service.deleteDocument("d5", in: "c"))
        let old = Self.documents(80)[5].text
        #expect(try await search(service, old, topK: 60, exact: true).hits.allSatisfy { $0.documentId != "d5" })

        // A restart on the same database answers identically.
        let queries = ["river mountain", "violin harbour pepper", "astronomy", "signal marble 12."]
        var before = [[String]]()
        for q in queries { before.append(try await search(service, q, topK: 5).hits.map(\.documentId)) }
        let restarted = try await RetrievalService(store: try await reopen(), embedder: Self.embedder, settings: settings)
        let info = try await restarted.collection("c")
        #expect(info.documents == 79 && info.chunks == 79 && info.coarseBasis == "pca")
        for (q, b) in zip(queries, before) {
            #expect(try await search(restarted, q, topK: 5).hits.map(\.documentId) == b)
        }
    }

    @Test func aCollectionFromAnotherModelIsRefusedWithTheReason() async throws {
        let (store, _) = try await Backend.sqlite.make()
        try await store.createCollection(CollectionSpec(name: "old", model: "other-model", dimensions: 768, coarseDimensions: 128))
        let service = try await RetrievalService(store: store, embedder: Self.embedder)
        #expect(try await service.collection("old").unavailable?.contains("other-model") == true)
        await #expect(throws: RetrievalError.self) { _ = try await service.search(SearchRequest(collection: "old", query: .text("x"))) }
    }

    @Test func longDocumentsAreChunkedWithinTheModelLimit() async throws {
        let (store, _) = try await Backend.sqlite.make()
        let service = try await RetrievalService(store: store, embedder: Self.embedder)
        _ = try await service.createCollection(CollectionRequest(name: "long"))
        let paragraph = (0..<40).map { "sentence number \($0) talks about rivers." }.joined(separator: " ")
        let text = Array(repeating: paragraph, count: 3).joined(separator: "\n\n")
        let r = try await service.ingest(IngestRequest(collection: "long", documents: [IngestDocument(id: "big", text: text)],
                                                       chunking: ChunkingRequest(maxTokens: 40, overlapTokens: 5)))
        #expect(r.documents[0].chunks > 10)
        let stored = try #require(try await service.document("big", in: "long"))
        #expect(stored.chunks.allSatisfy { $0.tokenEnd - $0.tokenStart <= 40 })
        await #expect(throws: RetrievalError.self) {
            _ = try await service.ingest(IngestRequest(collection: "long", documents: [IngestDocument(text: "x")],
                                                       chunking: ChunkingRequest(maxTokens: 100_000)))
        }
    }

    /// One request may ask for only so much engine time: past the chunk limit it is refused
    /// before anything is embedded, with the limit in the message.
    @Test func requestLimitsAreEnforced() async throws {
        let (store, _) = try await Backend.sqlite.make()
        var settings = RetrievalSettings()
        settings.maxChunksPerRequest = 10
        let service = try await RetrievalService(store: store, embedder: Self.embedder, settings: settings)
        _ = try await service.createCollection(CollectionRequest(name: "c"))
        let long = (0..<200).map { "word\($0)" }.joined(separator: " ")
        await #expect { _ = try await service.ingest(IngestRequest(collection: "c", documents: [IngestDocument(id: "x", text: long)],
                                                                   chunking: ChunkingRequest(maxTokens: 8))) }
            throws: { ($0 as? RetrievalError)?.code == .tooLarge && "\($0)".contains("10 chunks") }
        let deep = (0..<20).reduce(MetadataValue.number(1)) { v, _ in .object(["k": v]) }
        await #expect { _ = try await service.ingest(IngestRequest(collection: "c", documents: [IngestDocument(id: "y", text: "a", metadata: ["d": deep])])) }
            throws: { ($0 as? RetrievalError)?.param == "documents[0].metadata" }
        for bad in ["", String(repeating: "x", count: 513), "nul\u{0}", "tab\tid"] {
            await #expect(throws: RetrievalError.self) {
                _ = try await service.ingest(IngestRequest(collection: "c", documents: [IngestDocument(id: bad, text: "a")]))
            }
        }
        #expect(try await service.collection("c").documents == 0)
        // Defaults are the service's: a request that gives only top_k gets the same depth and ef everywhere.
        let o = try service.resolve(SearchRequest(collection: "c", query: .text("q"), topK: 20))
        #expect(o.topK == 20 && o.rerankDepth == 200 && o.ef == 200)
    }
}
