import Foundation
import HNSW
import Logging
import NestorCore
import NestorMigrations
import PostgresNIO
import Synchronization

/// The server-backed store: PostgreSQL through postgres-nio's pooled `PostgresClient`. Every
/// `write` is one transaction; migrations run under a transaction-scoped advisory lock, so two
/// instances starting at once cannot race.
public final class PostgresStore: DocumentStore {
    private let client: PostgresClient
    private let runner: Task<Void, Never>
    let logger: Logger
    /// Where `claimExclusiveUse` opens its own session (a pooled one could be recycled).
    let sessionConfiguration: PostgresConnection.Configuration
    /// The session holding the exclusive-use advisory lock while claimed.
    let exclusiveSession = Mutex<PostgresConnection?>(nil)

    /// A statement running longer than this is cancelled by the server, so a stuck query (a
    /// lock held by another client, a runaway scan) fails a request instead of hanging it.
    /// Migrations are exempt: they may wait for another instance's migration lock.
    public static let defaultStatementTimeout = "60s"

    /// `postgres://user:password@host:port/database` (or `postgresql://`); the query parameter
    /// `statement_timeout` (PostgreSQL's syntax: `30s`, `5min`, `0` for none) overrides the default.
    public init(url: String, logger: Logger = Logger(label: "nestor.postgres")) throws {
        guard let u = URLComponents(string: url), ["postgres", "postgresql"].contains(u.scheme ?? ""), let host = u.host else {
            throw StoreError(.backend, "not a postgres:// URL: \(url)")
        }
        let database = u.path.hasPrefix("/") ? String(u.path.dropFirst()) : u.path
        let timeout = u.queryItems?.first { $0.name == "statement_timeout" }?.value ?? Self.defaultStatementTimeout
        guard timeout.allSatisfy({ $0.isLetter || $0.isNumber }), !timeout.isEmpty else {
            throw StoreError(.backend, "statement_timeout must look like 30s, 5min or 0, not \(timeout)")
        }
        let (port, user, name) = (u.port ?? 5432, u.user ?? "postgres", database.isEmpty ? nil : database)
        var config = PostgresClient.Configuration(host: host, port: port, username: user, password: u.password, database: name, tls: .disable)
        config.options.additionalStartupParameters = [("statement_timeout", timeout)]
        sessionConfiguration = PostgresConnection.Configuration(host: host, port: port, username: user, password: u.password,
                                                                database: name, tls: .disable)
        let client = PostgresClient(configuration: config)
        self.client = client
        self.logger = logger
        runner = Task { await client.run() }
    }

    deinit {
        runner.cancel()
        if let session = exclusiveSession.withLock({ $0 }) { Task { try? await session.close() } }
    }

    /// A transaction whose own errors (a `StoreError` thrown inside) reach the caller unwrapped.
    private func transaction<T>(_ body: (PostgresConnection) async throws -> sending T) async throws -> sending T {
        do {
            return try await client.withTransaction(logger: logger, body)
        } catch let e as PostgresTransactionError {
            if let inner = e.closureError as? StoreError { throw inner }
            throw e.closureError ?? e.commitError ?? e.beginError ?? e
        }
    }

    /// How long `migrate` (the first contact at start-up) waits for the server.
    public static let connectTimeout: Duration = .seconds(20)

    public func migrate() async throws {
        // The pool retries a server that does not answer forever; at start-up, fail instead.
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.applyMigrations() }
            group.addTask {
                try await Task.sleep(for: Self.connectTimeout)
                throw StoreError(.backend, "PostgreSQL did not answer within \(Self.connectTimeout)")
            }
            try await group.next()
            group.cancelAll()
        }
    }

    private func applyMigrations() async throws {
        try await transaction { conn in
            try await conn.query("SET LOCAL statement_timeout = 0", logger: logger)
            // A fixed key: every Nestor instance takes the same lock while migrating.
            try await conn.query("SELECT pg_advisory_xact_lock(7402385)", logger: logger)
            try await conn.query("CREATE TABLE IF NOT EXISTS nestor_migrations (id TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())", logger: logger)
            var applied = Set<String>()
            for try await id in try await conn.query("SELECT id FROM nestor_migrations", logger: logger).decode(String.self) { applied.insert(id) }
            for m in NestorMigrations.postgres where !applied.contains(m.id) {
                for statement in Self.statements(m.sql) {
                    try await conn.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await conn.query("INSERT INTO nestor_migrations (id) VALUES (\(m.id))", logger: logger)
            }
        }
    }

    /// The statements of a migration file (none of ours has a `;` inside a literal).
    static func statements(_ sql: String) -> [String] {
        sql.split(separator: "\n").filter { !$0.trimmingCharacters(in: .whitespaces).hasPrefix("--") }.joined(separator: "\n")
            .split(separator: ";").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }
    }

    public func createCollection(_ s: CollectionSpec) async throws {
        let rows = try await client.query("""
            INSERT INTO collections (name, model, dimensions, coarse_dimensions, metric, hnsw_m, hnsw_ef_construction, seed)
            VALUES (\(s.name), \(s.model), \(s.dimensions), \(s.coarseDimensions), \(Self.metricName(s.metric)), \(s.m),
                    \(s.efConstruction), \(Int64(bitPattern: s.seed)))
            ON CONFLICT (name) DO NOTHING RETURNING name
            """, logger: logger)
        var inserted = false
        for try await _ in rows.decode(String.self) { inserted = true }
        if !inserted { throw StoreError(.alreadyExists, "collection \(s.name) already exists") }
    }

    public func collections() async throws -> [CollectionSpec] {
        try await specs(client.query("""
            SELECT name, model, dimensions, coarse_dimensions, metric, hnsw_m, hnsw_ef_construction, seed
            FROM collections ORDER BY name
            """, logger: logger))
    }

    public func collection(named name: String) async throws -> CollectionSpec? {
        try await specs(client.query("""
            SELECT name, model, dimensions, coarse_dimensions, metric, hnsw_m, hnsw_ef_construction, seed
            FROM collections WHERE name = \(name)
            """, logger: logger)).first
    }

    private func specs(_ rows: PostgresRowSequence) async throws -> [CollectionSpec] {
        var out = [CollectionSpec]()
        for try await (name, model, dim, coarse, metric, m, efc, seed) in rows.decode((String, String, Int, Int, String, Int, Int, Int64).self) {
            out.append(CollectionSpec(name: name, model: model, dimensions: dim, coarseDimensions: coarse,
                                      metric: Self.metric(metric), m: m, efConstruction: efc, seed: UInt64(bitPattern: seed)))
        }
        return out
    }

    public func deleteCollection(named name: String) async throws -> Bool {
        try await transaction { conn in
            try await conn.query("DELETE FROM chunks WHERE collection = \(name)", logger: logger)
            var deleted = false
            for try await _ in try await conn.query("DELETE FROM collections WHERE name = \(name) RETURNING name", logger: logger).decode(String.self) {
                deleted = true
            }
            return deleted
        }
    }

    public func document(_ id: String, in collection: String) async throws -> DocumentRow? {
        var doc: DocumentRow?
        for try await (text, metadata) in try await client.query(
            "SELECT text, metadata FROM documents WHERE collection = \(collection) AND id = \(id)", logger: logger
        ).decode((String, String).self) {
            doc = DocumentRow(id: id, text: text, metadata: metadata)
        }
        guard var d = doc else { return nil }
        d.chunks = try await chunkRows(client.query("""
            SELECT node, document_id, ordinal, text, token_start, token_end, vector FROM chunks
            WHERE collection = \(collection) AND document_id = \(id) ORDER BY ordinal
            """, logger: logger))
        return d
    }

    private func chunkRows(_ rows: PostgresRowSequence) async throws -> [ChunkRow] {
        var out = [ChunkRow]()
        for try await (node, doc, ordinal, text, start, end, vector) in rows.decode((Int64, String, Int, String, Int, Int, Data).self) {
            out.append(ChunkRow(node: UInt64(bitPattern: node), documentId: doc, ordinal: ordinal, text: text,
                                tokenStart: start, tokenEnd: end, vector: Self.floats(vector)))
        }
        return out
    }

    public func chunkNodes(ofDocuments ids: [String], in collection: String) async throws -> [UInt64] {
        guard !ids.isEmpty else { return [] }
        var out = [UInt64]()
        for try await n in try await client.query(
            "SELECT node FROM chunks WHERE collection = \(collection) AND document_id = ANY(\(ids))", logger: logger
        ).decode(Int64.self) { out.append(UInt64(bitPattern: n)) }
        return out
    }

    public func chunks(nodes: [UInt64], in collection: String) async throws -> [(chunk: ChunkRow, metadata: String)] {
        guard !nodes.isEmpty else { return [] }
        var found = [UInt64: (chunk: ChunkRow, metadata: String)]()
        let rows = try await client.query("""
            SELECT c.node, c.document_id, c.ordinal, c.text, c.token_start, c.token_end, c.vector, d.metadata
            FROM chunks c JOIN documents d ON d.collection = c.collection AND d.id = c.document_id
            WHERE c.collection = \(collection) AND c.node = ANY(\(nodes.map { Int64(bitPattern: $0) }))
            """, logger: logger)
        for try await (node, doc, ordinal, text, start, end, vector, metadata) in rows.decode((Int64, String, Int, String, Int, Int, Data, String).self) {
            let c = ChunkRow(node: UInt64(bitPattern: node), documentId: doc, ordinal: ordinal, text: text, tokenStart: start,
                             tokenEnd: end, vector: Self.floats(vector))
            found[c.node] = (c, metadata)
        }
        return nodes.compactMap { found[$0] }
    }

    public func chunkVectors(in collection: String) async throws -> ChunkVectors {
        var rows = 0
        for try await n in try await client.query("SELECT count(*) FROM chunks WHERE collection = \(collection)", logger: logger)
            .decode(Int64.self) { rows = Int(n) }
        var out = ChunkVectors(reservingCapacity: rows)  // one allocation for all vectors, as in SQLite
        for try await (node, doc, vector) in try await client.query(
            "SELECT node, document_id, vector FROM chunks WHERE collection = \(collection) ORDER BY node", logger: logger
        ).decode((Int64, String, Data).self) {
            try vector.withUnsafeBytes { try out.append(node: UInt64(bitPattern: node), documentId: doc, vectorBytes: $0) }
        }
        return out
    }

    public func documentMetadata(in collection: String) async throws -> [(id: String, metadata: String)] {
        var out = [(id: String, metadata: String)]()
        for try await (id, metadata) in try await client.query(
            "SELECT id, metadata FROM documents WHERE collection = \(collection) ORDER BY id", logger: logger
        ).decode((String, String).self) { out.append((id, metadata)) }
        return out
    }

    public func rotation(of collection: String) async throws -> [Float]? {
        var out: [Float]?
        for try await r in try await client.query(
            "SELECT coarse_rotation FROM collections WHERE name = \(collection)", logger: logger
        ).decode(Data?.self) { out = r.map(Self.floats) }
        return out
    }

    public func write(_ batch: BatchWrite, to collection: String) async throws {
        try await transaction { conn in
            var exists = false
            for try await _ in try await conn.query("SELECT name FROM collections WHERE name = \(collection) FOR UPDATE", logger: logger).decode(String.self) {
                exists = true
            }
            guard exists else { throw StoreError(.notFound, "collection \(collection) does not exist") }
            let touched = batch.deletions + batch.upserts.map(\.id)
            if !touched.isEmpty {
                try await conn.query("DELETE FROM chunks WHERE collection = \(collection) AND document_id = ANY(\(touched))", logger: logger)
            }
            if !batch.deletions.isEmpty {
                try await conn.query("DELETE FROM documents WHERE collection = \(collection) AND id = ANY(\(batch.deletions))", logger: logger)
            }
            for d in batch.upserts {
                try await conn.query("""
                    INSERT INTO documents (collection, id, text, metadata) VALUES (\(collection), \(d.id), \(d.text), \(d.metadata))
                    ON CONFLICT (collection, id) DO UPDATE SET text = excluded.text, metadata = excluded.metadata, updated_at = now()
                    """, logger: logger)
                for c in d.chunks {
                    try await conn.query("""
                        INSERT INTO chunks (collection, node, document_id, ordinal, text, token_start, token_end, vector)
                        VALUES (\(collection), \(Int64(bitPattern: c.node)), \(d.id), \(c.ordinal), \(c.text), \(c.tokenStart),
                                \(c.tokenEnd), \(Self.blob(c.vector)))
                        """, logger: logger)
                }
            }
            if batch.replacesGraph {
                try await conn.query("DELETE FROM graph_nodes WHERE collection = \(collection)", logger: logger)
            }
            if let rotation = batch.rotation {
                try await conn.query("UPDATE collections SET coarse_rotation = \(rotation.map(Self.blob)) WHERE name = \(collection)",
                                     logger: logger)
            }
            for g in batch.graphRows {
                let r = g.record
                try await conn.query("""
                    INSERT INTO graph_nodes (collection, node, label, level, deleted, coarse, links)
                    VALUES (\(collection), \(Int(r.node)), \(Int64(bitPattern: r.label)), \(r.level), \(r.deleted),
                            \(Self.blob(g.coarse)), \(Data(r.encodedLinks)))
                    ON CONFLICT (collection, node) DO UPDATE SET label = excluded.label, level = excluded.level,
                        deleted = excluded.deleted, coarse = excluded.coarse, links = excluded.links
                    """, logger: logger)
            }
            let h = batch.meta.header
            try await conn.query("""
                INSERT INTO graph_meta (collection, entry_point, max_level, node_count, rng_state, next_label, checksum)
                VALUES (\(collection), \(Int(h.entryPoint)), \(h.maxLevel), \(h.nodeCount), \(Int64(bitPattern: h.rngState)),
                        \(Int64(bitPattern: batch.meta.nextLabel)), \(Int64(bitPattern: batch.meta.checksum)))
                ON CONFLICT (collection) DO UPDATE SET entry_point = excluded.entry_point, max_level = excluded.max_level,
                    node_count = excluded.node_count, rng_state = excluded.rng_state, next_label = excluded.next_label,
                    checksum = excluded.checksum
                """, logger: logger)
        }
    }

    public func graph(of collection: String) async throws -> StoredGraph {
        guard let spec = try await self.collection(named: collection) else {
            throw StoreError(.notFound, "collection \(collection) does not exist")
        }
        var rows = [GraphRow]()
        for try await (node, label, level, deleted, coarse, links) in try await client.query(
            "SELECT node, label, level, deleted, coarse, links FROM graph_nodes WHERE collection = \(collection) ORDER BY node",
            logger: logger
        ).decode((Int, Int64, Int, Bool, Data, Data).self) {
            let record = NodeRecord(node: Int32(node), label: UInt64(bitPattern: label), level: level, deleted: deleted,
                                    links: try NodeRecord.decodeLinks([UInt8](links), levels: level))
            rows.append(GraphRow(record: record, coarse: Self.floats(coarse)))
        }
        var meta: GraphMeta?
        for try await (entry, maxLevel, count, rng, next, checksum) in try await client.query(
            "SELECT entry_point, max_level, node_count, rng_state, next_label, checksum FROM graph_meta WHERE collection = \(collection)",
            logger: logger
        ).decode((Int, Int, Int, Int64, Int64, Int64).self) {
            let header = GraphHeader(dimension: spec.coarseDimensions, metric: spec.metric, m: spec.m, efConstruction: spec.efConstruction,
                                     seed: spec.seed, rngState: UInt64(bitPattern: rng), entryPoint: Int32(entry), maxLevel: maxLevel,
                                     nodeCount: count)
            meta = GraphMeta(header: header, nextLabel: UInt64(bitPattern: next), checksum: UInt64(bitPattern: checksum))
        }
        return StoredGraph(meta: meta, rows: rows)
    }

    // MARK: encoding

    static func blob(_ v: [Float]) -> Data { v.withUnsafeBufferPointer { Data(buffer: $0) } }

    static func floats(_ d: Data) -> [Float] {
        d.withUnsafeBytes { raw in (0..<(d.count / 4)).map { raw.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) } }
    }

    static func metricName(_ m: Metric) -> String {
        switch m {
        case .cosine: "cosine"
        case .innerProduct: "inner_product"
        case .l2: "l2"
        }
    }

    static func metric(_ s: String) -> Metric {
        switch s {
        case "inner_product": .innerProduct
        case "l2": .l2
        default: .cosine
        }
    }
}
