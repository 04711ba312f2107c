import Foundation
import GRDB
import HNSW
import NestorCore
import NestorMigrations
import Synchronization

/// The embedded default store: one SQLite file in WAL mode through GRDB's `DatabasePool`
/// (concurrent readers, one writer). Every `write` is a single transaction.
public final class SQLiteStore: DocumentStore {
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

    public func migrate() async throws {
        var migrator = DatabaseMigrator()
        for m in NestorMigrations.sqlite {
            migrator.registerMigration(m.id) { db in try db.execute(sql: m.sql) }
        }
        try migrator.migrate(pool)
    }

    public func createCollection(_ s: CollectionSpec) async throws {
        try await pool.write { db in
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM collections WHERE name = ?", arguments: [s.name]) == true {
                throw StoreError(.alreadyExists, "collection \(s.name) already exists")
            }
            try db.execute(sql: """
                INSERT INTO collections (name, model, dimensions, coarse_dimensions, metric, hnsw_m,
                                         hnsw_ef_construction, seed, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [s.name, s.model, s.dimensions, s.coarseDimensions, Self.metricName(s.metric), s.m,
                                 s.efConstruction, Int64(bitPattern: s.seed), Self.now()])
        }
    }

    public func collections() async throws -> [CollectionSpec] {
        try await pool.read { db in try Row.fetchAll(db, sql: "SELECT * FROM collections ORDER BY name").map(Self.spec) }
    }

    public func collection(named name: String) async throws -> CollectionSpec? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM collections WHERE name = ?", arguments: [name]).map(Self.spec)
        }
    }

    public func deleteCollection(named name: String) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM chunks WHERE collection = ?", arguments: [name])
            try db.execute(sql: "DELETE FROM collections WHERE name = ?", arguments: [name])
            return db.changesCount > 0
        }
    }

    public func document(_ id: String, in collection: String) async throws -> DocumentRow? {
        try await pool.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT text, metadata FROM documents WHERE collection = ? AND id = ?",
                                             arguments: [collection, id]) else { return nil }
            let chunks = try Row.fetchAll(db, sql: """
                SELECT * FROM chunks WHERE collection = ? AND document_id = ? ORDER BY ordinal
                """, arguments: [collection, id]).map(Self.chunk)
            return DocumentRow(id: id, text: row["text"], metadata: row["metadata"], chunks: chunks)
        }
    }

    public func chunkNodes(ofDocuments ids: [String], in collection: String) async throws -> [UInt64] {
        guard !ids.isEmpty else { return [] }
        return try await pool.read { db in
            var out = [UInt64]()
            for id in ids {
                out += try Int64.fetchAll(db, sql: "SELECT node FROM chunks WHERE collection = ? AND document_id = ?",
                                          arguments: [collection, id]).map { UInt64(bitPattern: $0) }
            }
            return out
        }
    }

    public func chunks(nodes: [UInt64], in collection: String) async throws -> [(chunk: ChunkRow, metadata: String)] {
        guard !nodes.isEmpty else { return [] }
        return try await pool.read { db in
            var out = [(chunk: ChunkRow, metadata: String)]()
            for n in nodes {
                if let row = try Row.fetchOne(db, sql: """
                    SELECT c.*, d.metadata AS metadata FROM chunks c
                    JOIN documents d ON d.collection = c.collection AND d.id = c.document_id
                    WHERE c.collection = ? AND c.node = ?
                    """, arguments: [collection, Int64(bitPattern: n)]) {
                    out.append((Self.chunk(row), row["metadata"]))
                }
            }
            return out
        }
    }

    public func chunkVectors(in collection: String) async throws -> ChunkVectors {
        try await pool.read { db in
            let rows = try Int.fetchOne(db, sql: "SELECT count(*) FROM chunks WHERE collection = ?", arguments: [collection]) ?? 0
            var out = ChunkVectors(reservingCapacity: rows)
            let cursor = try Row.fetchCursor(db, sql: "SELECT node, document_id, vector FROM chunks WHERE collection = ? ORDER BY node",
                                             arguments: [collection])
            // Columns by position and blobs without a copy: a start-up reads every row.
            while let row = try cursor.next() {
                let bytes = row.dataNoCopy(atIndex: 2) ?? Data()
                try bytes.withUnsafeBytes { try out.append(node: UInt64(bitPattern: row[0]), documentId: row[1], vectorBytes: $0) }
            }
            return out
        }
    }

    public func documentMetadata(in collection: String) async throws -> [(id: String, metadata: String)] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT id, metadata FROM documents WHERE collection = ? ORDER BY id", arguments: [collection])
                .map { ($0[0], $0[1]) }
        }
    }

    public func rotation(of collection: String) async throws -> [Float]? {
        try await pool.read { db in
            try Data.fetchOne(db, sql: "SELECT coarse_rotation FROM collections WHERE name = ?", arguments: [collection]).map(Self.floats)
        }
    }

    public func write(_ batch: BatchWrite, to collection: String) async throws {
        try await pool.write { db in
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
                    """, arguments: [collection, d.id, d.text, d.metadata, now, now])
                for c in d.chunks {
                    try db.execute(sql: """
                        INSERT INTO chunks (collection, node, document_id, ordinal, text, token_start, token_end, vector)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                        """, arguments: [collection, Int64(bitPattern: c.node), d.id, c.ordinal, c.text, c.tokenStart,
                                         c.tokenEnd, Self.blob(c.vector)])
                }
            }
            if batch.replacesGraph {
                try db.execute(sql: "DELETE FROM graph_nodes WHERE collection = ?", arguments: [collection])
            }
            if let rotation = batch.rotation {
                try db.execute(sql: "UPDATE collections SET coarse_rotation = ? WHERE name = ?",
                               arguments: [rotation.map(Self.blob), collection])
            }
            for g in batch.graphRows {
                let r = g.record
                try db.execute(sql: """
                    INSERT INTO graph_nodes (collection, node, label, level, deleted, coarse, links) VALUES (?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (collection, node) DO UPDATE SET label = excluded.label, level = excluded.level,
                        deleted = excluded.deleted, coarse = excluded.coarse, links = excluded.links
                    """, arguments: [collection, Int(r.node), Int64(bitPattern: r.label), r.level, r.deleted,
                                     Self.blob(g.coarse), Data(r.encodedLinks)])
            }
            let h = batch.meta.header
            try db.execute(sql: """
                INSERT INTO graph_meta (collection, entry_point, max_level, node_count, rng_state, next_label, checksum)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (collection) DO UPDATE SET entry_point = excluded.entry_point, max_level = excluded.max_level,
                    node_count = excluded.node_count, rng_state = excluded.rng_state, next_label = excluded.next_label,
                    checksum = excluded.checksum
                """, arguments: [collection, Int(h.entryPoint), h.maxLevel, h.nodeCount, Int64(bitPattern: h.rngState),
                                 Int64(bitPattern: batch.meta.nextLabel), Int64(bitPattern: batch.meta.checksum)])
        }
    }

    public func graph(of collection: String) async throws -> StoredGraph {
        try await pool.read { db in
            guard let spec = try Row.fetchOne(db, sql: "SELECT * FROM collections WHERE name = ?", arguments: [collection]).map(Self.spec) else {
                throw StoreError(.notFound, "collection \(collection) does not exist")
            }
            var rows = [GraphRow]()
            let cursor = try Row.fetchCursor(db, sql: """
                SELECT node, label, level, deleted, links, coarse FROM graph_nodes WHERE collection = ? ORDER BY node
                """, arguments: [collection])
            while let row = try cursor.next() {
                let level: Int = row[2]
                let links = try NodeRecord.decodeLinks([UInt8](row.dataNoCopy(atIndex: 4) ?? Data()), levels: level)
                let record = NodeRecord(node: Int32(row[0] as Int), label: UInt64(bitPattern: row[1]), level: level,
                                        deleted: row[3], links: links)
                rows.append(GraphRow(record: record, coarse: Self.floats(row.dataNoCopy(atIndex: 5) ?? Data())))
            }
            guard let m = try Row.fetchOne(db, sql: "SELECT * FROM graph_meta WHERE collection = ?", arguments: [collection]) else {
                return StoredGraph(meta: nil, rows: rows)
            }
            let header = GraphHeader(dimension: spec.coarseDimensions, metric: spec.metric, m: spec.m,
                                     efConstruction: spec.efConstruction, seed: spec.seed,
                                     rngState: UInt64(bitPattern: m["rng_state"]), entryPoint: Int32(m["entry_point"] as Int),
                                     maxLevel: m["max_level"], nodeCount: m["node_count"])
            return StoredGraph(meta: GraphMeta(header: header, nextLabel: UInt64(bitPattern: m["next_label"]),
                                               checksum: UInt64(bitPattern: m["checksum"])), rows: rows)
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

    static func metricName(_ m: Metric) -> String {
        switch m {
        case .cosine: "cosine"
        case .innerProduct: "inner_product"
        case .l2: "l2"
        }
    }

    static func spec(_ row: Row) -> CollectionSpec {
        let metric: Metric = switch row["metric"] as String {
        case "inner_product": .innerProduct
        case "l2": .l2
        default: .cosine
        }
        return CollectionSpec(name: row["name"], model: row["model"], dimensions: row["dimensions"],
                              coarseDimensions: row["coarse_dimensions"], metric: metric, m: row["hnsw_m"],
                              efConstruction: row["hnsw_ef_construction"], seed: UInt64(bitPattern: row["seed"]))
    }

    static func chunk(_ row: Row) -> ChunkRow {
        ChunkRow(node: UInt64(bitPattern: row["node"]), documentId: row["document_id"], ordinal: row["ordinal"],
                 text: row["text"], tokenStart: row["token_start"], tokenEnd: row["token_end"], vector: floats(row["vector"]))
    }
}
