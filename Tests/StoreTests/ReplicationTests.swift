import Foundation
import Logging
import NestorCore
import PostgresNIO
import Retrieval
import StorePostgres
import Testing

/// The change log under the replicas, on a real PostgreSQL: positions in commit order with no
/// gaps, entries that decode to what was written, a replaced writer fenced off, a trimmed log
/// reported as such, and a follower whose memory, fed only by the log, equals the stored
/// records and answers like the writer (through a PCA fit and a rebuild too).
@Suite(.serialized, .enabled(if: Backend.hasPostgres, "NESTOR_TEST_POSTGRES_URL is not set"))
struct ReplicationTests {
    static func service(_ store: PostgresStore, _ replica: ReplicaState, source: (any IndexStore)? = nil) async throws -> RetrievalService {
        var settings = RetrievalSettings()
        settings.rotationMinimumVectors = 40
        return try await RetrievalService(store: store, embedder: RetrievalServiceTests.embedder, settings: settings, replica: replica,
                                          loadingFrom: source)
    }

    /// Applies everything the log holds after the follower's position.
    static func catchUp(_ follower: RetrievalService, _ store: PostgresStore) async throws {
        while let entries = try await store.changes(after: follower.replica.position, limit: 16), !entries.isEmpty {
            for e in entries { try await follower.replay(e) }
        }
    }

    static func hits(_ s: RetrievalService, _ q: String) async throws -> [String] {
        try await s.search(SearchRequest(collection: "c", query: .text(q), topK: 10)).hits.map { "\($0.id) \($0.score)" }
    }

    @Test func aFollowerFedByTheLogEqualsTheWriter() async throws {
        let url = try await Backend.freshPostgresDatabase()
        let (a, b) = (try Backend.runningPostgres(url), try Backend.runningPostgres(url))
        try await a.migrate()
        let election = try #require(try await a.lead(advertising: "http://writer", wait: false))
        #expect(try await b.lead(advertising: "http://other", wait: false) == nil)  // one writer at a time
        let writerState = ReplicaState(role: .writer, position: election.position)
        let writer = try await Self.service(a, writerState)
        _ = try await writer.createCollection(CollectionRequest(name: "c", coarseDimensions: 8, m: 8, efConstruction: 64))
        _ = try await writer.ingest(IngestRequest(collection: "c", documents: RetrievalServiceTests.documents(20)))

        // The follower loads a snapshot, then lives on the log alone.
        let followerState = ReplicaState(role: .follower)
        let (follower, position) = try await b.withSnapshot { snap in try await Self.service(b, followerState, source: snap) }
        followerState.reset(to: position)
        #expect(position == writerState.position)
        _ = try await writer.ingest(IngestRequest(collection: "c", documents: RetrievalServiceTests.documents(60, offset: 20)))  // past 64 (2 × 32 dimensions): a PCA fit
        await writer.settle()
        _ = try await writer.ingest(IngestRequest(collection: "c", documents: RetrievalServiceTests.documents(10, offset: 5)))  // replacements
        #expect(try await writer.deleteDocument("d3", in: "c"))
        _ = try await writer.createCollection(CollectionRequest(name: "gone", coarseDimensions: 8))
        try await writer.deleteCollection("gone")
        try await Self.catchUp(follower, b)

        #expect(followerState.position == writerState.position)
        #expect(try await a.logHead().position == writerState.position)
        for g in try await follower.verifyGraphs() {
            #expect(g.differing == 0 && g.headerAgrees, "collection \(g.collection): \(g.differing) of \(g.nodes) records differ")
        }
        #expect(try await follower.collections().map(\.spec.name) == ["c"])
        let (w, f) = (try await writer.collection("c"), try await follower.collection("c"))
        #expect(w.documents == f.documents && w.chunks == f.chunks && w.terms == f.terms)
        #expect(w.coarseBasis == "pca" && f.coarseBasis == "pca")
        for q in ["river engine", "copper lantern 7", "orbit"] {
            #expect(try await Self.hits(writer, q) == Self.hits(follower, q))
        }
        // A follower refuses writes itself (HTTP forwards them before they get here).
        await #expect(throws: RetrievalError.self) { _ = try await follower.ingest(IngestRequest(collection: "c", documents: RetrievalServiceTests.documents(1))) }
    }

    @Test func positionsAreContiguousAndEntriesDecode() async throws {
        let url = try await Backend.freshPostgresDatabase()
        let store = try Backend.runningPostgres(url)
        try await store.migrate()
        let spec = CollectionSpec(name: "x", model: "m", dimensions: 4, coarseDimensions: 2, m: 4, efConstruction: 8, seed: 9,
                                  bm25K1: 1.5, bm25B: 0.5, foldDiacritics: true)
        // Concurrent writers to two collections still get positions in commit order, gap-free.
        let p0 = try #require(try await store.createCollection(spec))
        var other = spec
        other.name = "y"
        _ = try await store.createCollection(other)
        let doc = DocumentRow(id: "é", text: "t", metadata: ["k": .string("v")],
                              chunks: [ChunkRow(label: 1, documentId: "é", ordinal: 0, text: "t", tokenStart: 0, tokenEnd: 1, vector: [1, 2, 3, 4.5], terms: [7, 8])])
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<10 {
                group.addTask {
                    var d = doc
                    d.id = "d\(i)"
                    d.chunks[0].documentId = d.id
                    d.chunks[0].label = UInt64(10 + i)
                    _ = try await store.write(BatchWrite(upserts: [d], newTerms: [(id: i, term: "w\(i)")], rotation: i == 0 ? .some([0.5, 0.25]) : nil),
                                              to: i % 2 == 0 ? "x" : "y")
                }
            }
            try await group.waitForAll()
        }
        let entries = try #require(try await store.changes(after: 0, limit: 100))
        #expect(entries.map(\.position) == Array(1...(p0 + 11)))
        guard case .created(let s) = entries[0].change else { Issue.record("first entry is not the creation"); return }
        #expect(s == spec)
        var seen = Set<String>()
        for e in entries.dropFirst(2) {
            guard case .batch(_, let b) = e.change, let d = b.upserts.first else { Issue.record("entry \(e.position) is not a batch"); continue }
            seen.insert(d.id)
            #expect(d.metadata == doc.metadata && d.chunks[0].vector == doc.chunks[0].vector && d.chunks[0].terms == [7, 8])
            if d.id == "d0" { #expect(b.rotation == .some([0.5, 0.25])) } else { #expect(b.rotation == nil) }
        }
        #expect(seen.count == 10)
        #expect(try await store.changes(after: p0 + 11, limit: 10)?.isEmpty == true)
        // Trimmed below a replica's position: the entries after it stay, an older position is told.
        try await store.heartbeat(replica: "r", url: nil, role: "follower", position: 5)
        #expect(try await store.trimLog(retention: 60) == 5)
        #expect(try await store.changes(after: 5, limit: 100)?.first?.position == 6)
        #expect(try await store.changes(after: 2, limit: 100) == nil)
    }

    @Test func aReplacedWriterIsFencedOff() async throws {
        let url = try await Backend.freshPostgresDatabase()
        let (a, b) = (try Backend.runningPostgres(url), try Backend.runningPostgres(url))
        try await a.migrate()
        let first = try #require(try await a.lead(advertising: "http://a", wait: false))
        _ = try await a.createCollection(CollectionSpec(name: "x", model: "m", dimensions: 4, coarseDimensions: 4))
        // A's lock session dies while A lives on (a network cut): B is elected, A may not write.
        let u = try #require(URLComponents(string: url))
        let logger = Logger(label: "test")
        let killer = try await PostgresConnection.connect(
            configuration: .init(host: u.host ?? "127.0.0.1", port: u.port ?? 5432, username: u.user ?? "postgres", password: u.password,
                                 database: String(u.path.dropFirst()), tls: .disable), id: 9, logger: logger)
        for try await _ in try await killer.query("""
            SELECT pg_terminate_backend(pid)::text FROM pg_locks WHERE locktype = 'advisory' AND objid = 7402386 AND granted
            """, logger: logger) {}
        try await killer.close()
        await a.leadershipLost()
        let second = try #require(try await b.lead(advertising: "http://b", wait: true))
        #expect(second.epoch == first.epoch + 1)
        #expect(try await b.logHead().writerURL == "http://b")
        await #expect { _ = try await a.write(BatchWrite(deletions: ["nothing"]), to: "x") } throws: { ($0 as? StoreError)?.code == .fenced }
        #expect(try await b.write(BatchWrite(deletions: ["nothing"]), to: "x") == second.position + 1)
    }
}
