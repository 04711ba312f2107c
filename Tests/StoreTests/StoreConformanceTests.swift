import Foundation
import HNSW
import NestorCore
import PostgresNIO
import StorePostgres
import StoreSQLite
import Testing

/// The store backends the suites run over: a real SQLite file, and a real PostgreSQL server
/// when `NESTOR_TEST_POSTGRES_URL` names one (scripts/test starts a private cluster). Each
/// test gets a fresh database. PostgreSQL suites are reported as skipped without a server.
enum Backend: String, CaseIterable, Sendable {
    case sqlite, postgres

    static let postgresURL = ProcessInfo.processInfo.environment["NESTOR_TEST_POSTGRES_URL"]
    static let hasPostgres = postgresURL != nil

    func make() async throws -> (store: any IndexStore, reopen: () async throws -> any IndexStore) {
        switch self {
        case .sqlite:
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("nestor-\(UUID().uuidString)/nestor.sqlite").path
            let store = try SQLiteStore(path: path)
            try await store.migrate()
            return (store, { try SQLiteStore(path: path) })
        case .postgres:
            let url = try await Self.freshPostgresDatabase()
            let store = try Self.runningPostgres(url)
            try await store.migrate()
            return (store, { try Self.runningPostgres(url) })
        }
    }

    /// A PostgreSQL store whose client runs for the rest of the test process. (In `serve` the
    /// store runs in the ServiceGroup; a test has no group, and its stores are few and short.)
    static func runningPostgres(_ url: String) throws -> PostgresStore {
        let store = try PostgresStore(url: url)
        Task { try? await store.run() }
        return store
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
    var hashes: [Int: UInt64] = [:]

    mutating func documents(_ ids: [String], chunksEach: Int = 3) -> [DocumentRow] {
        ids.map { id in
            let chunks = (0..<chunksEach).map { k -> ChunkRow in
                let v = (0..<Self.dim).map { Float(sin(Double(nextLabel) * 0.37 + Double($0))) }
                defer { nextLabel += 1 }
                graph.insert(Array(v.prefix(Self.coarse)), label: nextLabel)
                return ChunkRow(label: nextLabel, documentId: id, ordinal: k, text: "\(id) chunk \(k)", tokenStart: k * 10,
                                tokenEnd: k * 10 + 10, vector: v)
            }
            return DocumentRow(id: id, text: "text of \(id)", metadata: ["lang": .string("en"), "n": .number(Double(id.count))], chunks: chunks)
        }
    }

    mutating func batch(upserts: [DocumentRow] = [], deletions: [String] = [], removed: [UInt64] = []) -> BatchWrite {
        for l in removed { graph.remove(l) }
        let rows = graph.takeDirtyNodes().map { n in GraphRecordRow(node: Int(n), bytes: GraphCodec.encode(graph.record(n))) }
        for r in rows { hashes[r.node] = GraphCodec.hash(node: r.node, r.bytes) }
        let header = GraphCodec.encode(graph.header, checksum: hashes.values.reduce(0, &+))
        return BatchWrite(upserts: upserts, deletions: deletions, graph: GraphRecordChanges(header: header, rows: rows))
    }
}

/// The graph a store holds, decoded.
func restore(_ g: StoredGraphRecords) throws -> HNSWGraph {
    let (header, _) = try GraphCodec.decodeHeader(try #require(g.header))
    return try HNSWGraph(header: header, records: g.rows.map { try GraphCodec.decode($0.bytes, node: Int32($0.node)) })
}

func records(_ g: HNSWGraph) -> [NodeRecord] { (0..<Int32(g.nodeCount)).map { g.record($0) } }

/// The conformance checks, each over a given backend.
enum Conformance {
    static let spec = CollectionSpec(name: "docs", model: "tiny", dimensions: Scenario.dim, coarseDimensions: Scenario.coarse, m: 8,
                                     efConstruction: 50, seed: 5)

    static func collectionsLifecycle(_ backend: Backend) async throws {
        let (store, _) = try await backend.make()
        try await store.migrate()  // idempotent
        try await store.createCollection(spec)
        await #expect(throws: StoreError.self) { try await store.createCollection(spec) }
        #expect(try await store.collections() == [spec])
        #expect(try await store.collection(named: "docs") == spec)
        #expect(try await store.collection(named: "nope") == nil)
        #expect(try await store.deleteCollection(named: "docs").existed)
        #expect(try await !store.deleteCollection(named: "docs").existed)
        #expect(try await store.collections().isEmpty)
    }

    static func batchesRoundTripAndSurviveReopening(_ backend: Backend) async throws {
        let (store, reopen) = try await backend.make()
        try await store.createCollection(spec)
        var s = Scenario()
        let docs = s.documents(["a", "b", "c"])
        try await store.write(s.batch(upserts: docs), to: "docs")
        #expect(try await store.document("b", in: "docs") == docs[1])
        let hits = try await store.chunks(labels: [4, 9], in: "docs")
        #expect(hits.map(\.chunk) == [docs[1].chunks[0], docs[2].chunks[2]])
        #expect(hits[0].metadata == docs[1].metadata)

        // Replace b (new chunks), delete c.
        let oldB = docs[1].chunks.map(\.label), oldC = docs[2].chunks.map(\.label)
        let newB = s.documents(["b"], chunksEach: 2)
        try await store.write(s.batch(upserts: newB, deletions: ["c"], removed: oldB + oldC), to: "docs")
        #expect(try await store.document("b", in: "docs") == newB[0])
        #expect(try await store.document("c", in: "docs") == nil)
        #expect(try await store.chunks(labels: oldB + oldC, in: "docs").isEmpty)
        let vectors = try await store.chunkVectors(in: "docs")
        #expect(vectors.labels == (docs[0].chunks + newB[0].chunks).map(\.label))

        for candidate in [store, try await reopen()] {
            let g = try restore(try await candidate.graphRecords(of: "docs"))
            #expect(g.header == s.graph.header && records(g) == records(s.graph))
            let q: [Float] = [0.3, -0.1, 0.8, 0.2]
            #expect(g.search(q, k: 3, ef: 20).map(\.label) == s.graph.search(q, k: 3, ef: 20).map(\.label))
            #expect(try await candidate.document("a", in: "docs") == docs[0])
            #expect(try await candidate.documentMetadata(in: "docs").map(\.id) == ["a", "b"])
        }
    }

    static func aFailingBatchChangesNothing(_ backend: Backend) async throws {
        let (store, _) = try await backend.make()
        try await store.createCollection(spec)
        var s = Scenario()
        try await store.write(s.batch(upserts: s.documents(["a"])), to: "docs")
        let before = try await store.graphRecords(of: "docs")
        // Two documents claiming the same chunk label: the second insert violates the key.
        var bad = s.documents(["x", "y"], chunksEach: 1)
        bad[1].chunks[0].label = bad[0].chunks[0].label
        await #expect(throws: StoreError.self) { try await store.write(s.batch(upserts: bad), to: "docs") }
        #expect(try await store.document("x", in: "docs") == nil)
        let after = try await store.graphRecords(of: "docs")
        #expect(after.header == before.header && after.rows == before.rows)
        await #expect(throws: StoreError.self) { try await store.write(s.batch(), to: "missing") }
    }

    static func deletingACollectionRemovesEverything(_ backend: Backend) async throws {
        let (store, _) = try await backend.make()
        try await store.createCollection(spec)
        var s = Scenario()
        try await store.write(s.batch(upserts: s.documents(["a", "b"])), to: "docs")
        #expect(try await store.deleteCollection(named: "docs").existed)
        try await store.createCollection(spec)
        #expect(try await store.document("a", in: "docs") == nil)
        let g = try await store.graphRecords(of: "docs")
        #expect(g.rows.isEmpty && g.header == nil)
    }

    /// Metadata is stored as canonical JSON: the same fields are the same text on both
    /// backends, whatever order or spelling they arrived in.
    static func metadataRoundTripsExactly(_ backend: Backend) async throws {
        let (store, _) = try await backend.make()
        try await store.createCollection(spec)
        let fields: Metadata = ["z": .number(2024), "a": .array([.number(1.5), .string("é\"\n"), .null, .bool(true)]),
                                "nested": .object(["k": .number(-0.25)])]
        var s = Scenario()
        var docs = s.documents(["m"], chunksEach: 1)
        docs[0].metadata = fields
        try await store.write(s.batch(upserts: docs), to: "docs")
        #expect(try await store.document("m", in: "docs")?.metadata == fields)
        #expect(MetadataValue.jsonText(fields) == #"{"a":[1.5,"é\"\n",null,true],"nested":{"k":-0.25},"z":2024}"#)
    }

    /// A second process on the same store (modelled by a second store object, which holds its
    /// own file descriptor or session) is refused while the first holds its claim.
    static func exclusiveUseRefusesASecondClaimant(_ backend: Backend) async throws {
        let (store, reopen) = try await backend.make()
        try await store.claimExclusiveUse()
        try await store.claimExclusiveUse()  // idempotent for its holder
        let other = try await reopen()
        await #expect { try await other.claimExclusiveUse() } throws: { ($0 as? StoreError)?.code == .busy }
        #expect(try await other.collections().isEmpty)  // reading needs no claim
        await store.releaseExclusiveUse()
        try await other.claimExclusiveUse()
        await #expect { try await store.claimExclusiveUse() } throws: { ($0 as? StoreError)?.code == .busy }
        await other.releaseExclusiveUse()
    }
}

// The suites that talk to a server carry a generous time limit: a hang there is then reported
// against the test that hung rather than stalling the whole run silently.
@Suite(.timeLimit(.minutes(5))) struct SQLiteConformanceTests {
    @Test func collectionsLifecycle() async throws { try await Conformance.collectionsLifecycle(.sqlite) }
    @Test func batchesRoundTripAndSurviveReopening() async throws { try await Conformance.batchesRoundTripAndSurviveReopening(.sqlite) }
    @Test func aFailingBatchChangesNothing() async throws { try await Conformance.aFailingBatchChangesNothing(.sqlite) }
    @Test func deletingACollectionRemovesEverything() async throws { try await Conformance.deletingACollectionRemovesEverything(.sqlite) }
    @Test func metadataRoundTripsExactly() async throws { try await Conformance.metadataRoundTripsExactly(.sqlite) }
    @Test func exclusiveUseRefusesASecondClaimant() async throws { try await Conformance.exclusiveUseRefusesASecondClaimant(.sqlite) }
}

@Suite(.timeLimit(.minutes(5)), .enabled(if: Backend.hasPostgres, "NESTOR_TEST_POSTGRES_URL is not set"))
struct PostgresConformanceTests {
    @Test func collectionsLifecycle() async throws { try await Conformance.collectionsLifecycle(.postgres) }
    @Test func batchesRoundTripAndSurviveReopening() async throws { try await Conformance.batchesRoundTripAndSurviveReopening(.postgres) }
    @Test func aFailingBatchChangesNothing() async throws { try await Conformance.aFailingBatchChangesNothing(.postgres) }
    @Test func deletingACollectionRemovesEverything() async throws { try await Conformance.deletingACollectionRemovesEverything(.postgres) }
    @Test func metadataRoundTripsExactly() async throws { try await Conformance.metadataRoundTripsExactly(.postgres) }
    @Test func exclusiveUseRefusesASecondClaimant() async throws { try await Conformance.exclusiveUseRefusesASecondClaimant(.postgres) }

    /// Two instances starting together: the advisory lock serialises them, nothing races.
    @Test func concurrentMigrationsDoNotRace() async throws {
        let url = try await Backend.freshPostgresDatabase()
        let stores = try (0..<4).map { _ in try Backend.runningPostgres(url) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for s in stores { group.addTask { try await s.migrate() } }
            try await group.waitForAll()
        }
        try await stores[0].migrate()
        try await stores[0].createCollection(CollectionSpec(name: "x", model: "m", dimensions: 4, coarseDimensions: 4))
        #expect(try await stores[3].collections().map(\.name) == ["x"])
    }

    /// A table locked by another client makes a request fail after the statement timeout
    /// instead of hanging, as a `.busy` store error (503); migrations are exempt from it.
    @Test func lockedTableFailsAfterTheStatementTimeout() async throws {
        let url = try await Backend.freshPostgresDatabase()
        let store = try Backend.runningPostgres(url + "?statement_timeout=300ms")
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
        await #expect { _ = try await store.collections() } throws: { ($0 as? StoreError)?.code == .busy }
        #expect(ContinuousClock.now - start < .seconds(10))
        try await locker.query("ROLLBACK", logger: logger)
        try await locker.close()
        #expect(try await store.collections().map(\.name) == ["x"])
        #expect(throws: StoreError.self) { _ = try PostgresStore(url: url + "?statement_timeout=1;drop") }
    }
}
