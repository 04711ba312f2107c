import Foundation
import GRDB
import Lexical
import NestorCore
import StoreSQLite
import Testing

/// The lexical side of a collection: written with its chunks, loaded without re-analysis,
/// updated by upserts and deletes, and ranking the same chunks the same way on both backends.
enum LexicalChecks {
    static let spec = CollectionSpec(name: "lex", model: "m", dimensions: 8, coarseDimensions: 8, m: 8, efConstruction: 40, seed: 3)
    static let texts = [
        "To copy a file, use cp SOURCE DEST; cp --reflink makes a lightweight copy.",
        "apt-get install libc6-dev installs the GNU C library headers.",
        "Bread needs flour, water, salt and time.",
        "ファイルをコピーするには cp コマンドを使います。",
        "Kopieren Sie die Datei mit cp, dem Kopierbefehl.",
        "The error E: Unable to locate package means the package lists are stale; run apt-get update.",
        "rsync copies files between hosts and keeps permissions.",
        "Version 1.2.3 fixes the copy bug in libfoo.",
    ]
    static let queries = ["cp copy", "libc6-dev", "E: Unable to locate package", "コピー", "1.2.3", "flour salt", "rsync hosts", "nothing matches zzz"]

    static func inputs(salt: Int = 0) -> [CollectionIndex.Input] {
        texts.enumerated().map { i, t in
            CollectionIndex.Input(id: "t\(i)", text: t, chunks: [
                CollectionIndex.Chunk(text: t, tokenStart: 0, tokenEnd: 10, vector: (0..<8).map { Float(sin(Double(i * 5 + salt + $0))) }),
            ])
        }
    }

    static func ranking(_ index: CollectionIndex) -> [[String]] {
        queries.map { q in index.search([], SearchOptions(topK: 5, mode: .lexical, text: q)).hits.map { "\($0.documentId)@\($0.score)" } }
    }

    /// Hybrid rankings (RRF and weighted) for every query with a fixed query vector: what both
    /// backends must agree on, ranks included.
    static func hybridRanking(_ index: CollectionIndex) -> [[String]] {
        let v = (0..<8).map { Float(cos(Double($0))) }
        return queries.flatMap { q in
            [Fusion.reciprocalRank(k: 60), .weighted(alpha: 0.5)].map { f in
                index.search(v, SearchOptions(topK: 5, mode: .hybrid, fusion: f, text: q)).hits
                    .map { "\($0.documentId)@\($0.score)/\($0.denseRank ?? 0)/\($0.lexicalRank ?? 0)" }
            }
        }
    }

    static func run(_ backend: Backend) async throws -> [[String]] {
        let (store, reopen) = try await backend.make()
        try await store.createCollection(spec)
        let index = try await CollectionIndex(spec: spec, store: store)
        try await index.apply(upserts: inputs())
        let first = ranking(index)
        #expect(first[0].first?.hasPrefix("t0@") == true)
        #expect(first[1].first?.hasPrefix("t1@") == true)
        #expect(first[2].first?.hasPrefix("t5@") == true)
        #expect(first[3].first?.hasPrefix("t3@") == true)
        #expect(first[4].first?.hasPrefix("t7@") == true)
        #expect(first[7].isEmpty)
        // Loaded from the stored term lists, the index ranks identically.
        let reopened = try await CollectionIndex(spec: spec, store: try await reopen())
        #expect(ranking(reopened) == first && reopened.loadedIntact)
        // Upserts and deletes update it; so does a reload.
        try await reopened.apply(upserts: [CollectionIndex.Input(id: "t2", text: "Sourdough bread", chunks: [
            CollectionIndex.Chunk(text: "Sourdough bread", tokenStart: 0, tokenEnd: 2, vector: [1, 0, 0, 0, 0, 0, 0, 0]),
        ])], deletions: ["t1"])
        let after = ranking(reopened)
        #expect(after[1].isEmpty && after[5].isEmpty)
        #expect(reopened.search([], SearchOptions(topK: 3, mode: .lexical, text: "sourdough")).hits.map(\.documentId) == ["t2"])
        let again = try await CollectionIndex(spec: spec, store: try await reopen())
        #expect(ranking(again) == after)
        // Filters apply to the lexical side as to the dense one.
        let filter = try MetadataFilter(.object(["missing": .object(["$exists": .bool(true)])]))
        #expect(again.search([], SearchOptions(topK: 5, filter: filter, mode: .lexical, text: "cp copy")).hits.isEmpty)
        // Hybrid: every hit was found by at least one side, and the ranking survives a reload.
        let hybrid = hybridRanking(again)
        #expect(hybrid.allSatisfy { !$0.isEmpty })
        #expect(hybridRanking(try await CollectionIndex(spec: spec, store: try await reopen())) == hybrid)
        return first + hybrid
    }
}

@Suite struct LexicalIndexTests {
    @Test func sqlite() async throws { _ = try await LexicalChecks.run(.sqlite) }

    /// The same query ranks the same chunks with the same scores on SQLite and PostgreSQL.
    @Test(.enabled(if: Backend.hasPostgres, "NESTOR_TEST_POSTGRES_URL is not set"))
    func postgresRanksLikeSQLite() async throws {
        let a = try await LexicalChecks.run(.sqlite)
        let b = try await LexicalChecks.run(.postgres)
        #expect(a == b)
    }

    /// Chunks stored before the lexical index existed (no terms) are analysed once on start and
    /// written back; a damaged term list takes the same path.
    @Test func chunksWithoutTermsAreIndexedOnStart() async throws {
        let spec = LexicalChecks.spec
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("nestor-\(UUID().uuidString)/db.sqlite").path
        let store = try SQLiteStore(path: path)
        try await store.migrate()
        try await store.createCollection(spec)
        let index = try await CollectionIndex(spec: spec, store: store)
        try await index.apply(upserts: LexicalChecks.inputs())
        let expected = LexicalChecks.ranking(index)
        let db = try DatabaseQueue(path: path)
        try await db.write { db in
            try db.execute(sql: "UPDATE chunks SET terms = NULL WHERE label % 2 = 0")
            try db.execute(sql: "UPDATE chunks SET terms = x'0102' WHERE label = 3")
            try db.execute(sql: "DELETE FROM lexical_terms WHERE id > 1000")
        }
        let upgraded = try await CollectionIndex(spec: spec, store: try SQLiteStore(path: path))
        #expect(Set(LexicalChecks.ranking(upgraded).map { $0.map { $0.split(separator: "@")[0] } })
                == Set(expected.map { $0.map { $0.split(separator: "@")[0] } }))
        let missing = try await db.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM chunks WHERE terms IS NULL OR length(terms) % 6 != 0") }
        #expect(missing == 0)
    }
}
