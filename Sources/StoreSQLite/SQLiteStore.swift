import Foundation
import GRDB
import NestorCore
import NestorMigrations
import Synchronization

/// The embedded default store: one SQLite file in WAL mode through GRDB's `DatabasePool`
/// (concurrent readers, one writer). Every `write` is a single transaction.
public final class SQLiteStore: IndexStore {
    private let pool: DatabasePool
    public let path: String
    /// The open lock file while this store is claimed (see `claimExclusiveUse`), else -1.
    let exclusiveLock = Mutex<Int32>(-1)

    public init(path: String) throws {
        self.path = path
        let dir = URL(fileURLWithPath: path).deletingLastPathComponent()
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var config = Configuration()
        config.foreignKeysEnabled = true
        config.busyMode = .timeout(10)
        // Reads map the file instead of copying it page by page through read(2): a start-up
        // reads every vector, and on a virtual machine a syscall per 4 KB page dominated it.
        // SQLite caps the map at its compile-time limit (2 GB) and reads the rest as before.
        config.prepareDatabase { db in try db.execute(sql: "PRAGMA mmap_size = 68719476736") }
        do {
            pool = try DatabasePool(path: path, configuration: config)
        } catch {
            throw StoreError(.backend, "cannot open SQLite database \(path): \(error)")
        }
    }

    deinit { exclusiveLock.withLock { if $0 >= 0 { close($0) } } }

    /// GRDB's errors as `StoreError`s: a locked or busy database is `.busy` (the service answers
    /// 503), anything else `.backend`, with SQLite's own words for the log.
    static func mapped<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let e as StoreError {
            throw e
        } catch let e as DatabaseError {
            switch e.resultCode {
            case .SQLITE_BUSY, .SQLITE_LOCKED:
                throw StoreError(.busy, "the SQLite database is busy (another connection holds its lock): \(e.message ?? "\(e)")")
            case .SQLITE_CORRUPT, .SQLITE_NOTADB:
                throw StoreError(.corrupt, "the SQLite database is damaged: \(e.message ?? "\(e)")")
            default:
                throw StoreError(.backend, "SQLite: \(e.message ?? "\(e)")")
            }
        } catch {
            throw StoreError(.backend, "SQLite: \(error)")
        }
    }

    private func reading<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await Self.mapped { try await pool.read(body) }
    }

    private func writing<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await Self.mapped { try await pool.write(body) }
    }

    public func migrate() async throws {
        var migrator = DatabaseMigrator()
        for m in NestorMigrations.sqlite {
            migrator.registerMigration(m.id) { db in try db.execute(sql: m.sql) }
        }
        try await Self.mapped { try migrator.migrate(pool) }
    }

    public func createCollection(_ s: CollectionSpec) async throws -> LogPosition? {
        try await writing { db in
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM collections WHERE name = ?", arguments: [s.name]) == true {
                throw StoreError(.alreadyExists, "collection \(s.name) already exists")
            }
            try db.execute(sql: """
                INSERT INTO collections (name, model, dimensions, coarse_dimensions, metric, hnsw_m,
                                         hnsw_ef_construction, seed, created_at, bm25_k1, bm25_b, fold_diacritics)
                VALUES (?, ?, ?, ?, 'cosine', ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [s.name, s.model, s.dimensions, s.coarseDimensions, s.m,
                                 s.efConstruction, Int64(bitPattern: s.seed), Self.now(), s.bm25K1, s.bm25B, s.foldDiacritics])
        }
        return nil  // one process per file: no change log
    }

    public func collections() async throws -> [CollectionSpec] {
        try await reading { db in try Row.fetchAll(db, sql: "SELECT * FROM collections ORDER BY name").map(Self.spec) }
    }

    public func collection(named name: String) async throws -> CollectionSpec? {
        try await reading { db in
            try Row.fetchOne(db, sql: "SELECT * FROM collections WHERE name = ?", arguments: [name]).map(Self.spec)
        }
    }

    public func deleteCollection(named name: String) async throws -> (existed: Bool, position: LogPosition?) {
        try await writing { db in
            try db.execute(sql: "DELETE FROM chunks WHERE collection = ?", arguments: [name])
            try db.execute(sql: "DELETE FROM collections WHERE name = ?", arguments: [name])
            return (db.changesCount > 0, nil)
        }
    }

    public func document(_ id: String, in collection: String) async throws -> DocumentRow? {
        try await reading { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT text, metadata FROM documents WHERE collection = ? AND id = ?",
                                             arguments: [collection, id]) else { return nil }
            let chunks = try Row.fetchAll(db, sql: """
                SELECT * FROM chunks WHERE collection = ? AND document_id = ? ORDER BY ordinal
                """, arguments: [collection, id]).map(Self.chunk)
            return DocumentRow(id: id, text: row["text"], metadata: MetadataValue.fields(ofJSON: row["metadata"]), chunks: chunks)
        }
    }

    public func documents(in collection: String, after: String?, limit: Int) async throws -> [DocumentSummary] {
        try await reading { db in
            try Row.fetchAll(db, sql: """
                SELECT d.id, d.text, d.metadata,
                       (SELECT count(*) FROM chunks c WHERE c.collection = d.collection AND c.document_id = d.id)
                FROM documents d WHERE d.collection = ? AND d.id > ? ORDER BY d.id LIMIT ?
                """, arguments: [collection, after ?? "", limit])
                .map { DocumentSummary(id: $0[0], text: $0[1], metadata: MetadataValue.fields(ofJSON: $0[2]), chunks: $0[3]) }
        }
    }

    public func chunks(labels: [UInt64], in collection: String) async throws -> [(chunk: ChunkRow, metadata: Metadata)] {
        guard !labels.isEmpty else { return [] }
        return try await reading { db in
            var out = [(chunk: ChunkRow, metadata: Metadata)]()
            for l in labels {
                if let row = try Row.fetchOne(db, sql: """
                    SELECT c.*, d.metadata AS metadata FROM chunks c
                    JOIN documents d ON d.collection = c.collection AND d.id = c.document_id
                    WHERE c.collection = ? AND c.label = ?
                    """, arguments: [collection, Int64(bitPattern: l)]) {
                    out.append((Self.chunk(row), MetadataValue.fields(ofJSON: row["metadata"])))
                }
            }
            return out
        }
    }

    public func chunkVectors(in collection: String) async throws -> ChunkVectors {
        try await reading { db in
            let rows = try Int.fetchOne(db, sql: "SELECT count(*) FROM chunks WHERE collection = ?", arguments: [collection]) ?? 0
            var out = ChunkVectors(reservingCapacity: rows)
            let cursor = try Row.fetchCursor(db, sql: "SELECT label, document_id, vector, terms FROM chunks WHERE collection = ? ORDER BY label",
                                             arguments: [collection])
            // Columns by position and blobs without a copy: a start-up reads every row.
            while let row = try cursor.next() {
                let bytes = row.dataNoCopy(atIndex: 2) ?? Data()
                let terms = row.hasNull(atIndex: 3) ? nil : (row.dataNoCopy(atIndex: 3) ?? Data())
                try bytes.withUnsafeBytes { v in
                    if let terms {
                        try terms.withUnsafeBytes { try out.append(label: UInt64(bitPattern: row[0]), documentId: row[1], vectorBytes: v, termBytes: $0) }
                    } else {
                        try out.append(label: UInt64(bitPattern: row[0]), documentId: row[1], vectorBytes: v, termBytes: nil)
                    }
                }
            }
            return out
        }
    }

    public func documentMetadata(in collection: String) async throws -> [(id: String, metadata: Metadata)] {
        try await reading { db in
            try Row.fetchAll(db, sql: "SELECT id, metadata FROM documents WHERE collection = ? ORDER BY id", arguments: [collection])
                .map { ($0[0], MetadataValue.fields(ofJSON: $0[1])) }
        }
    }

    public func lexicalTerms(in collection: String) async throws -> [String] {
        try await reading { db in
            try String.fetchAll(db, sql: "SELECT term FROM lexical_terms WHERE collection = ? ORDER BY id", arguments: [collection])
        }
    }

    public func rotation(of collection: String) async throws -> [Float]? {
        try await reading { db in
            try Data.fetchOne(db, sql: "SELECT coarse_rotation FROM collections WHERE name = ?", arguments: [collection]).map(Self.floats)
        }
    }

    public func write(_ batch: BatchWrite, to collection: String) async throws -> LogPosition? {
        try await writing { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM collections WHERE name = ?", arguments: [collection]) == true else {
                throw StoreError(.notFound, "collection \(collection) does not exist")
            }
            let now = Self.now()
            for id in batch.deletions + batch.upserts.map(\.id) {
                try db.execute(sql: "DELETE FROM chunks WHERE collection = ? AND document_id = ?", arguments: [collection, id])
            }
            for id in batch.deletions {
                try db.execute(sql: "DELETE FROM documents WHERE collection = ? AND id = ?", arguments: [collection, id])
            }
            for d in batch.upserts {
                try db.execute(sql: """
                    INSERT INTO documents (collection, id, text, metadata, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
                    ON CONFLICT (collection, id) DO UPDATE SET text = excluded.text, metadata = excluded.metadata,
                                                               updated_at = excluded.updated_at
                    """, arguments: [collection, d.id, d.text, MetadataValue.jsonText(d.metadata), now, now])
                for c in d.chunks {
                    try db.execute(sql: """
                        INSERT INTO chunks (collection, label, document_id, ordinal, text, token_start, token_end, vector, terms)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """, arguments: [collection, Int64(bitPattern: c.label), d.id, c.ordinal, c.text, c.tokenStart,
                                         c.tokenEnd, Self.blob(c.vector), Data(c.terms)])
                }
            }
            for t in batch.newTerms {
                try db.execute(sql: "INSERT INTO lexical_terms (collection, id, term) VALUES (?, ?, ?)", arguments: [collection, t.id, t.term])
            }
            for c in batch.chunkTerms {
                try db.execute(sql: "UPDATE chunks SET terms = ? WHERE collection = ? AND label = ?",
                               arguments: [Data(c.terms), collection, Int64(bitPattern: c.label)])
            }
            if let rotation = batch.rotation {
                try db.execute(sql: "UPDATE collections SET coarse_rotation = ? WHERE name = ?",
                               arguments: [rotation.map(Self.blob), collection])
            }
            if let graph = batch.graph {
                if graph.replacesAll {
                    try db.execute(sql: "DELETE FROM graph_records WHERE collection = ?", arguments: [collection])
                }
                for r in graph.rows {
                    try db.execute(sql: """
                        INSERT INTO graph_records (collection, node, record) VALUES (?, ?, ?)
                        ON CONFLICT (collection, node) DO UPDATE SET record = excluded.record
                        """, arguments: [collection, r.node, Data(r.bytes)])
                }
                try db.execute(sql: """
                    INSERT INTO graph_headers (collection, header) VALUES (?, ?)
                    ON CONFLICT (collection) DO UPDATE SET header = excluded.header
                    """, arguments: [collection, Data(graph.header)])
            }
        }
        return nil
    }

    public func graphRecords(of collection: String) async throws -> StoredGraphRecords {
        try await reading { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM collections WHERE name = ?", arguments: [collection]) == true else {
                throw StoreError(.notFound, "collection \(collection) does not exist")
            }
            var rows = [GraphRecordRow]()
            let cursor = try Row.fetchCursor(db, sql: "SELECT node, record FROM graph_records WHERE collection = ? ORDER BY node",
                                             arguments: [collection])
            while let row = try cursor.next() {
                rows.append(GraphRecordRow(node: row[0], bytes: [UInt8](row.dataNoCopy(atIndex: 1) ?? Data())))
            }
            let header = try Data.fetchOne(db, sql: "SELECT header FROM graph_headers WHERE collection = ?", arguments: [collection])
            return StoredGraphRecords(header: header.map { [UInt8]($0) }, rows: rows)
        }
    }

    // MARK: encoding

    static func blob(_ v: [Float]) -> Data { v.withUnsafeBufferPointer { Data(buffer: $0) } }

    static func floats(_ d: Data) -> [Float] {
        [Float](unsafeUninitializedCapacity: d.count / 4) { buffer, count in
            count = d.copyBytes(to: buffer) / 4
        }
    }

    static func now() -> String { ISO8601DateFormatter().string(from: Date()) }

    static func spec(_ row: Row) -> CollectionSpec {
        CollectionSpec(name: row["name"], model: row["model"], dimensions: row["dimensions"],
                       coarseDimensions: row["coarse_dimensions"], m: row["hnsw_m"],
                       efConstruction: row["hnsw_ef_construction"], seed: UInt64(bitPattern: row["seed"]),
                       bm25K1: row["bm25_k1"], bm25B: row["bm25_b"], foldDiacritics: row["fold_diacritics"])
    }

    static func chunk(_ row: Row) -> ChunkRow {
        ChunkRow(label: UInt64(bitPattern: row["label"]), documentId: row["document_id"], ordinal: row["ordinal"],
                 text: row["text"], tokenStart: row["token_start"], tokenEnd: row["token_end"], vector: floats(row["vector"]),
                 terms: (row["terms"] as Data?).map { [UInt8]($0) } ?? [])
    }
}
