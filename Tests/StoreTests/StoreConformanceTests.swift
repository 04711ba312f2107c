import Foundation
import HNSW
import NestorCore
import PostgresNIO
import StorePostgres
import StoreSQLite
import Testing

/// One suite for every `DocumentStore` backend: a real SQLite file, and a real PostgreSQL
/// server when `NESTOR_TEST_POSTGRES_URL` names one (scripts/test starts a private cluster).
/// Each test gets a fresh database.
enum Backend: String, CaseIterable, Sendable {
    case sqlite, postgres

    static let postgresURL = ProcessInfo.processInfo.environment["NESTOR_TEST_POSTGRES_URL"]

    static var available: [Backend] {
        if postgresURL == nil { print("PostgreSQL tests skipped: NESTOR_TEST_POSTGRES_URL is not set") }
        return postgresURL == nil ? [.sqlite] : allCases
    }

    func make() async throws -> (store: any DocumentStore, reopen: () throws -> any DocumentStore) {
        switch self {
        case .sqlite:
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("nestor-\(UUID().uuidString)/nestor.sqlite").path
            let store = try SQLiteStore(path: path)
            try await store.migrate()
            return (store, { try SQLiteStore(path: path) })
        case .postgres:
            let url = try await Self.freshPostgresDatabase()
            let store = try PostgresStore(url: url)
            try await store.migrate()
            return (store, { try PostgresStore(url: url) })
        }
    }

    /// CREATE DATABASE with a unique name on the test server; returns its URL.
    static func freshPostgresDatabase() async throws -> String {
        let base = try #require(postgresURL)
        let name = "nestor_test_\(UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: ""))"
        var u = try #require(URLComponents(string: base))
        let config = PostgresConnection.Configuration(host: u.host ?? "127.0.0.1", port: u.port ?? 5432, username: u.user ?? "postgres",
                                                      password: u.password, database: "postgres", tls: .disable)
        let logger = Logger(label: "test")
        let admin = try await PostgresConnection.connect(configuration: config, id: 0, logger: logger)
        try await admin.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: logger)
        try await admin.close()
        u.path = "/" + name
        return try #require(u.string)
    }
}

/// A small collection's contents: documents with chunk vectors, and the graph over them.
struct Scenario {
    static let dim = 8, coarse = 4
    var graph = HNSWGraph(dimension: coarse, m: 8, efConstruction: 50, seed: 5)  // as in the suite's spec
    var nextLabel: UInt64 = 1

    mutating func documents(_ ids: [String], chunksEach: Int = 3) -> [DocumentRow] {
        ids.map { id in
            let chunks = (0..<chunksEach).map { k -> ChunkRow in
                let v = (0..<Self.dim).map { Float(sin(Double(nextLabel) * 0.37 + Double($0))) }
                defer { nextLabel += 1 }
                graph.insert(Array(v.prefix(Self.coarse)), label: nextLabel)
                return ChunkRow(node: nextLabel, documentId: id, ordinal: k, text: "\(id) chunk \(k)", tokenStart: k * 10,
                                tokenEnd: k * 10 + 10, vector: v)
            }
            return DocumentRow(id: id, text: "text of \(id)", metadata: #"{"lang":"en","n":\#(id.count)}"#, chunks: chunks)
        }
    }

    mutating func batch(upserts: [DocumentRow] = [], deletions: [String] = [], removedNodes: [UInt64] = []) -> BatchWrite {
        for n in removedNodes { graph.remove(n) }
        let dirty = graph.takeDirtyNodes()
        let rows = dirty.map { n in GraphRow(record: graph.record(n), coarse: coarseVector(n)) }
        let all = (0..<Int32(graph.nodeCount)).map { graph.record($0) }
        return BatchWrite(upserts: upserts, deletions: deletions, graphRows: rows,
                          meta: GraphMeta(header: graph.header, nextLabel: nextLabel, checksum: GraphChecksum.of(all)))
    }

    func coarseVector(_ node: Int32) -> [Float] { graph.storedVector(node) }
}

func restore(_ g: StoredGraph) throws -> HNSWGraph {
    let meta = try #require(g.meta)
    let vectors = g.rows.sorted { $0.record.node < $1.record.node }.flatMap(\.coarse)
    return try HNSWGraph(header: meta.header, records: g.rows.map(\.record), vectors: vectors)
}

// The suites that talk to a server carry a generous time limit: a hang there is then reported
// against the test that hung rather than stalling the whole run silently.
@Suite(.timeLimit(.minutes(5))) struct StoreConformanceTests {
    let spec = CollectionSpec(name: "docs", model: "tiny", dimensions: Scenario.dim, coarseDimensions: Scenario.coarse, m: 8,
                              efConstruction: 50, seed: 5)

    @Test(arguments: Backend.available)
    func collectionsLifecycle(backend: Backend) async throws {
        let (store, _) = try await backend.make()
        try await store.migrate()  // idempotent
        try await store.createCollection(spec)
        await #expect(throws: StoreError.self) { try await store.createCollection(spec) }
        #expect(try await store.collections() == [spec])
        #expect(try await store.collection(named: "docs") == spec)
        #expect(try await store.collection(named: "nope") == nil)
        #expect(try await store.deleteCollection(named: "docs"))
        #expect(try await !store.deleteCollection(named: "docs"))
        #expect(try await store.collections().isEmpty)
    }

    @Test(arguments: Backend.available)
    func batchesRoundTripAndSurviveReopening(backend: Backend) async throws {
        let (store, reopen) = try await backend.make()
        try await store.createCollection(spec)
        var s = Scenario()
        let docs = s.documents(["a", "b", "c"])
        try await store.write(s.batch(upserts: docs), to: "docs")
        #expect(try await store.document("b", in: "docs") == docs[1])
        #expect(try await store.chunkNodes(ofDocuments: ["a", "c"], in: "docs").sorted() == [1, 2, 3, 7, 8, 9])
        let hits = try await store.chunks(nodes: [4, 9], in: "docs")
        #expect(hits.map(\.chunk) == [docs[1].chunks[0], docs[2].chunks[2]])
        #expect(hits[0].metadata == docs[1].metadata)

        // Replace b (new chunks), delete c.
        let oldB = try await store.chunkNodes(ofDocuments: ["b"], in: "docs")
        let oldC = try await store.chunkNodes(ofDocuments: ["c"], in: "docs")
        let newB = s.documents(["b"], chunksEach: 2)
        try await store.write(s.batch(upserts: newB, deletions: ["c"], removedNodes: oldB + oldC), to: "docs")
        #expect(try await store.document("b", in: "docs") == newB[0])
        #expect(try await store.document("c", in: "docs") == nil)
        #expect(try await store.chunks(nodes: oldB + oldC, in: "docs").isEmpty)

        for candidate in [store, try reopen()] {
            let stored = try await candidate.graph(of: "docs")
            #expect(stored.meta?.nextLabel == s.nextLabel)
            #expect(stored.meta?.checksum == GraphChecksum.of(stored.rows.map(\.record)))
            let g = try restore(stored)
            let (x, y) = (g.serialized(), s.graph.serialized())
            #expect(x == y, "first difference at byte \(zip(x, y).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? -1) of \(x.count)/\(y.count)")
            let q: [Float] = [0.3, -0.1, 0.8, 0.2]
            #expect(g.search(q, k: 3, ef: 20).map(\.label) == s.graph.search(q, k: 3, ef: 20).map(\.label))
            #expect(try await candidate.document("a", in: "docs") == docs[0])
        }
    }

    @Test(arguments: Backend.available)
    func aFailingBatchChangesNothing(backend: Backend) async throws {
        let (store, _) = try await backend.make()
        try await store.createCollection(spec)
        var s = Scenario()
        try await store.write(s.batch(upserts: s.documents(["a"])), to: "docs")
        let before = try await store.graph(of: "docs")
        // Two documents claiming the same chunk label: the second insert violates the key.
        var bad = s.documents(["x", "y"], chunksEach: 1)
        bad[1].chunks[0].node = bad[0].chunks[0].node
        await #expect(throws: (any Error).self) { try await store.write(s.batch(upserts: bad), to: "docs") }
        #expect(try await store.document("x", in: "docs") == nil)
        let after = try await store.graph(of: "docs")
        #expect(after.meta == before.meta && after.rows == before.rows)
        await #expect(throws: StoreError.self) { try await store.write(s.batch(), to: "missing") }
    }

    @Test(arguments: Backend.available)
    func deletingACollectionRemovesEverything(backend: Backend) async throws {
        let (store, _) = try await backend.make()
        try await store.createCollection(spec)
        var s = Scenario()
        try await store.write(s.batch(upserts: s.documents(["a", "b"])), to: "docs")
        #expect(try await store.deleteCollection(named: "docs"))
        try await store.createCollection(spec)
        #expect(try await store.document("a", in: "docs") == nil)
        #expect(try await store.graph(of: "docs").rows.isEmpty)
    }

    /// A second process on the same store (modelled by a second store object, which holds its
    /// own file descriptor or session) is refused while the first holds its claim.
    @Test(arguments: Backend.available)
    func exclusiveUseRefusesASecondClaimant(backend: Backend) async throws {
        let (store, reopen) = try await backend.make()
        try await store.claimExclusiveUse()
        try await store.claimExclusiveUse()  // idempotent for its holder
        let other = try reopen()
        await #expect { try await other.claimExclusiveUse() } throws: { ($0 as? StoreError)?.code == .busy }
        #expect(try await other.collections().isEmpty)  // reading needs no claim
        await store.releaseExclusiveUse()
        try await other.claimExclusiveUse()
        await #expect { try await store.claimExclusiveUse() } throws: { ($0 as? StoreError)?.code == .busy }
        await other.releaseExclusiveUse()
    }
}

@Suite(.timeLimit(.minutes(5))) struct PostgresMigrationTests {
    /// Two instances starting together: the advisory lock serialises them, nothing races.
    @Test func concurrentMigrationsDoNotRace() async throws {
        guard Backend.postgresURL != nil else { return }
        let url = try await Backend.freshPostgresDatabase()
        let stores = try (0..<4).map { _ in try PostgresStore(url: url) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for s in stores { group.addTask { try await s.migrate() } }
            try await group.waitForAll()
        }
        try await stores[0].migrate()
        try await stores[0].createCollection(CollectionSpec(name: "x", model: "m", dimensions: 4, coarseDimensions: 4))
        #expect(try await stores[3].collections().map(\.name) == ["x"])
    }
}

@Suite(.timeLimit(.minutes(5))) struct PostgresTimeoutTests {
    /// A table locked by another client makes a request fail after the statement timeout
    /// instead of hanging; migrations are exempt from it.
    @Test func lockedTableFailsAfterTheStatementTimeout() async throws {
        guard Backend.postgresURL != nil else { return }
        let url = try await Backend.freshPostgresDatabase()
        let store = try PostgresStore(url: url + "?statement_timeout=300ms")
        try await store.migrate()
        try await store.createCollection(CollectionSpec(name: "x", model: "m", dimensions: 4, coarseDimensions: 4))
        // The lock holder is one plain connection driven step by step: no pool, no tasks to
        // cancel, so the test cannot hang on its own machinery whatever the timing.
        let u = try #require(URLComponents(string: url))
        let config = PostgresConnection.Configuration(host: u.host ?? "127.0.0.1", port: u.port ?? 5432, username: u.user ?? "postgres",
                                                      password: u.password, database: String(u.path.dropFirst()), tls: .disable)
        let logger = Logger(label: "test")
        let locker = try await PostgresConnection.connect(configuration: config, id: 1, logger: logger)
        try await locker.query("BEGIN", logger: logger)
        try await locker.query("LOCK TABLE collections IN ACCESS EXCLUSIVE MODE", logger: logger)
        let start = ContinuousClock.now
        await #expect(throws: (any Error).self) { _ = try await store.collections() }
        #expect(ContinuousClock.now - start < .seconds(10))
        try await locker.query("ROLLBACK", logger: logger)
        try await locker.close()
        #expect(try await store.collections().map(\.name) == ["x"])
        #expect(throws: StoreError.self) { _ = try PostgresStore(url: url + "?statement_timeout=1;drop") }
    }
}
