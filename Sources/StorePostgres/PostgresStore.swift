import Foundation
import Logging
import NestorCore
import NestorMigrations
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// The server-backed store: PostgreSQL through postgres-nio's pooled `PostgresClient`. Every
/// `write` is one transaction; migrations run under a transaction-scoped advisory lock, so two
/// instances starting at once cannot race. The client's connection pool lives in `run()`, as a
/// service: `serve` runs it in its `ServiceGroup` (first in, last out, so the store outlives the
/// server's requests), tools through `whileRunning`.
public final class PostgresStore: IndexStore, Service {
    private let client: PostgresClient
    let logger: Logger
    /// Where `claimExclusiveUse` and the replication sessions connect (a pooled connection
    /// could be recycled, dropping a session lock or a LISTEN).
    let sessionConfiguration: PostgresConnection.Configuration
    /// The session holding the writer's advisory lock while this process leads.
    let exclusiveSession = Mutex<PostgresConnection?>(nil)
    /// The epoch this process was elected in, while it leads: every logged write checks it, so
    /// a writer that has been replaced (its lock session lost) can no longer commit.
    let leaderEpoch = Mutex<Int64?>(nil)
    /// A snapshot view's one connection (inside a repeatable-read transaction): its reads see
    /// the database as of one log position. Nil for the store itself.
    private let pinned: PostgresConnection?

    /// A statement running longer than this is cancelled by the server, so a stuck query (a
    /// lock held by another client, a runaway scan) fails a request instead of hanging it.
    /// Migrations are exempt: they may wait for another instance's migration lock.
    public static let defaultStatementTimeout = "60s"

    /// `postgres://user:password@host:port/database` (or `postgresql://`); the query parameter
    /// `statement_timeout` (PostgreSQL's syntax: `30s`, `5min`, `0` for none) overrides the default.
    public convenience init(url: String, logger: Logger = Logger(label: "nestor.postgres")) throws {
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
        self.init(client: PostgresClient(configuration: config), logger: logger,
                  session: PostgresConnection.Configuration(host: host, port: port, username: user, password: u.password,
                                                            database: name, tls: .disable),
                  pinned: nil)
    }

    private init(client: PostgresClient, logger: Logger, session: PostgresConnection.Configuration, pinned: PostgresConnection?) {
        self.client = client
        self.logger = logger
        sessionConfiguration = session
        self.pinned = pinned
    }

    /// Runs `body` over a read-only view of the database as of one log position, and returns
    /// that position: a follower loads its memory this way, then applies the log from there.
    /// (Reads through the pool would each see a different moment while the writer commits.)
    public func withSnapshot<T: Sendable>(_ body: (PostgresStore) async throws -> T) async throws -> (value: T, position: LogPosition) {
        let conn: PostgresConnection
        do {
            conn = try await PostgresConnection.connect(configuration: sessionConfiguration, id: 2, logger: logger)
        } catch {
            throw Self.storeError(error)
        }
        do {
            try await conn.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: logger)
            var position: LogPosition = 0
            // The first statement fixes the snapshot: the head read here is the position it shows.
            for try await seq in try await conn.query("SELECT seq FROM nestor_log_head WHERE id = 1", logger: logger).decode(Int64.self) {
                position = seq
            }
            let value = try await body(PostgresStore(client: client, logger: logger, session: sessionConfiguration, pinned: conn))
            try await conn.query("COMMIT", logger: logger)
            try? await conn.close()
            return (value, position)
        } catch {
            try? await conn.close()
            throw Self.storeError(error)
        }
    }

    /// Runs the connection pool until the task is cancelled or a graceful shutdown reaches it;
    /// closes the exclusive-use session on the way out.
    public func run() async throws {
        await withGracefulShutdownHandler {
            await client.run()
        } onGracefulShutdown: {}
        await releaseExclusiveUse()
    }

    /// Runs the store for the duration of `body` (tools and tests; `serve` uses its ServiceGroup).
    public func whileRunning<T: Sendable>(_ body: @Sendable (PostgresStore) async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { await self.client.run(); return nil }
            defer { group.cancelAll() }
            let result = try await body(self)
            await releaseExclusiveUse()
            return result
        }
    }

    /// A transaction whose own errors (a `StoreError` thrown inside) reach the caller unwrapped.
    func transaction<T>(_ body: (PostgresConnection) async throws -> sending T) async throws -> sending T {
        guard pinned == nil else { throw StoreError(.backend, "a snapshot view of the database is read-only") }
        do {
            return try await client.withTransaction(logger: logger, body)
        } catch let e as PostgresTransactionError {
            if let inner = e.closureError as? StoreError { throw inner }
            throw Self.storeError(e.closureError ?? e.commitError ?? e.beginError ?? e)
        }
    }

    /// A query outside a transaction (or inside a snapshot view's), its errors as `StoreError`s.
    func query(_ q: PostgresQuery) async throws -> PostgresRowSequence {
        do {
            if let pinned { return try await pinned.query(q, logger: logger) }
            return try await client.query(q, logger: logger)
        } catch {
            throw Self.storeError(error)
        }
    }

    /// postgres-nio's errors as `StoreError`s: lock and statement timeouts, serialisation
    /// failures and lost connections are `.busy` (the service answers 503 and a retry may work),
    /// the rest `.backend`. The message carries the server's SQLSTATE and text, never the query's
    /// bound values (`PSQLError`'s description redacts them).
    static func storeError(_ error: any Error) -> StoreError {
        if let e = error as? StoreError { return e }
        if let e = error as? PSQLError {
            let state = e.serverInfo?[.sqlState] ?? ""
            let text = e.serverInfo?[.message] ?? "\(e.code)"
            // 57014 query_canceled (statement_timeout), 55P03 lock_not_available, 40001/40P01 serialisation/deadlock.
            if ["57014", "55P03", "40001", "40P01"].contains(state) || e.code == .connectionError || e.code == .serverClosedConnection {
                return StoreError(.busy, "PostgreSQL is busy or unreachable (\(state.isEmpty ? "\(e.code)" : state)): \(text)")
            }
            return StoreError(.backend, "PostgreSQL \(state): \(text)")
        }
        return StoreError(.backend, "PostgreSQL: \(error)")
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

    public func createCollection(_ s: CollectionSpec) async throws -> LogPosition? {
        try await transaction { conn in
            let rows = try await conn.query("""
                INSERT INTO collections (name, model, dimensions, coarse_dimensions, metric, hnsw_m, hnsw_ef_construction, seed,
                                         bm25_k1, bm25_b, fold_diacritics)
                VALUES (\(s.name), \(s.model), \(s.dimensions), \(s.coarseDimensions), 'cosine', \(s.m),
                        \(s.efConstruction), \(Int64(bitPattern: s.seed)), \(s.bm25K1), \(s.bm25B), \(s.foldDiacritics))
                ON CONFLICT (name) DO NOTHING RETURNING name
                """, logger: logger)
            var inserted = false
            for try await _ in rows.decode(String.self) { inserted = true }
            if !inserted { throw StoreError(.alreadyExists, "collection \(s.name) already exists") }
            return try await appendLog(conn, collection: s.name, .created(s))
        }
    }

    public func collections() async throws -> [CollectionSpec] {
        try await specs(query("""
            SELECT name, model, dimensions, coarse_dimensions, metric, hnsw_m, hnsw_ef_construction, seed, bm25_k1, bm25_b, fold_diacritics
            FROM collections ORDER BY name
            """))
    }

    public func collection(named name: String) async throws -> CollectionSpec? {
        try await specs(query("""
            SELECT name, model, dimensions, coarse_dimensions, metric, hnsw_m, hnsw_ef_construction, seed, bm25_k1, bm25_b, fold_diacritics
            FROM collections WHERE name = \(name)
            """)).first
    }

    private func specs(_ rows: PostgresRowSequence) async throws -> [CollectionSpec] {
        var out = [CollectionSpec]()
        for try await (name, model, dim, coarse, _, m, efc, seed, k1, b, fold) in rows.decode((String, String, Int, Int, String, Int, Int, Int64, Double, Double, Bool).self) {
            out.append(CollectionSpec(name: name, model: model, dimensions: dim, coarseDimensions: coarse,
                                      m: m, efConstruction: efc, seed: UInt64(bitPattern: seed), bm25K1: k1, bm25B: b, foldDiacritics: fold))
        }
        return out
    }

    public func deleteCollection(named name: String) async throws -> (existed: Bool, position: LogPosition?) {
        try await transaction { conn in
            try await conn.query("DELETE FROM chunks WHERE collection = \(name)", logger: logger)
            var deleted = false
            for try await _ in try await conn.query("DELETE FROM collections WHERE name = \(name) RETURNING name", logger: logger).decode(String.self) {
                deleted = true
            }
            return (deleted, deleted ? try await appendLog(conn, collection: name, .dropped(name)) : nil)
        }
    }

    public func document(_ id: String, in collection: String) async throws -> DocumentRow? {
        var doc: DocumentRow?
        for try await (text, metadata) in try await query(
            "SELECT text, metadata FROM documents WHERE collection = \(collection) AND id = \(id)"
        ).decode((String, String).self) {
            doc = DocumentRow(id: id, text: text, metadata: MetadataValue.fields(ofJSON: metadata))
        }
        guard var d = doc else { return nil }
        d.chunks = try await chunkRows(query("""
            SELECT label, document_id, ordinal, text, token_start, token_end, vector, terms FROM chunks
            WHERE collection = \(collection) AND document_id = \(id) ORDER BY ordinal
            """))
        return d
    }

    private func chunkRows(_ rows: PostgresRowSequence) async throws -> [ChunkRow] {
        var out = [ChunkRow]()
        for try await (label, doc, ordinal, text, start, end, vector, terms) in rows.decode((Int64, String, Int, String, Int, Int, Data, Data?).self) {
            out.append(ChunkRow(label: UInt64(bitPattern: label), documentId: doc, ordinal: ordinal, text: text,
                                tokenStart: start, tokenEnd: end, vector: Self.floats(vector), terms: terms.map { [UInt8]($0) } ?? []))
        }
        return out
    }

    public func documents(in collection: String, after: String?, limit: Int) async throws -> [DocumentSummary] {
        var out = [DocumentSummary]()
        // COLLATE "C": byte order, as SQLite compares, whatever the database's locale.
        for try await (id, text, metadata, chunks) in try await query("""
            SELECT d.id, d.text, d.metadata,
                   (SELECT count(*) FROM chunks c WHERE c.collection = d.collection AND c.document_id = d.id)
            FROM documents d WHERE d.collection = \(collection) AND d.id COLLATE "C" > \(after ?? "")
            ORDER BY d.id COLLATE "C" LIMIT \(limit)
            """).decode((String, String, String, Int64).self) {
            out.append(DocumentSummary(id: id, text: text, metadata: MetadataValue.fields(ofJSON: metadata), chunks: Int(chunks)))
        }
        return out
    }

    public func chunks(labels: [UInt64], in collection: String) async throws -> [(chunk: ChunkRow, metadata: Metadata)] {
        guard !labels.isEmpty else { return [] }
        var found = [UInt64: (chunk: ChunkRow, metadata: Metadata)]()
        let rows = try await query("""
            SELECT c.label, c.document_id, c.ordinal, c.text, c.token_start, c.token_end, c.vector, c.terms, d.metadata
            FROM chunks c JOIN documents d ON d.collection = c.collection AND d.id = c.document_id
            WHERE c.collection = \(collection) AND c.label = ANY(\(labels.map { Int64(bitPattern: $0) }))
            """)
        for try await (label, doc, ordinal, text, start, end, vector, terms, metadata) in rows.decode((Int64, String, Int, String, Int, Int, Data, Data?, String).self) {
            let c = ChunkRow(label: UInt64(bitPattern: label), documentId: doc, ordinal: ordinal, text: text, tokenStart: start,
                             tokenEnd: end, vector: Self.floats(vector), terms: terms.map { [UInt8]($0) } ?? [])
            found[c.label] = (c, MetadataValue.fields(ofJSON: metadata))
        }
        return labels.compactMap { found[$0] }
    }

    public func chunkVectors(in collection: String) async throws -> ChunkVectors {
        var rows = 0
        for try await n in try await query("SELECT count(*) FROM chunks WHERE collection = \(collection)").decode(Int64.self) { rows = Int(n) }
        var out = ChunkVectors(reservingCapacity: rows)  // one allocation for all vectors, as in SQLite
        for try await (label, doc, vector, terms) in try await query(
            "SELECT label, document_id, vector, terms FROM chunks WHERE collection = \(collection) ORDER BY label"
        ).decode((Int64, String, Data, Data?).self) {
            try vector.withUnsafeBytes { v in
                if let terms {
                    try terms.withUnsafeBytes { try out.append(label: UInt64(bitPattern: label), documentId: doc, vectorBytes: v, termBytes: $0) }
                } else {
                    try out.append(label: UInt64(bitPattern: label), documentId: doc, vectorBytes: v, termBytes: nil)
                }
            }
        }
        return out
    }

    public func documentMetadata(in collection: String) async throws -> [(id: String, metadata: Metadata)] {
        var out = [(id: String, metadata: Metadata)]()
        for try await (id, metadata) in try await query(
            "SELECT id, metadata FROM documents WHERE collection = \(collection) ORDER BY id"
        ).decode((String, String).self) { out.append((id, MetadataValue.fields(ofJSON: metadata))) }
        return out
    }

    public func lexicalTerms(in collection: String) async throws -> [String] {
        var out = [String]()
        for try await t in try await query("SELECT term FROM lexical_terms WHERE collection = \(collection) ORDER BY id").decode(String.self) {
            out.append(t)
        }
        return out
    }

    public func rotation(of collection: String) async throws -> [Float]? {
        var out: [Float]?
        for try await r in try await query("SELECT coarse_rotation FROM collections WHERE name = \(collection)").decode(Data?.self) {
            out = r.map(Self.floats)
        }
        return out
    }

    public func write(_ batch: BatchWrite, to collection: String) async throws -> LogPosition? {
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
                let metadata = MetadataValue.jsonText(d.metadata)
                try await conn.query("""
                    INSERT INTO documents (collection, id, text, metadata) VALUES (\(collection), \(d.id), \(d.text), \(metadata))
                    ON CONFLICT (collection, id) DO UPDATE SET text = excluded.text, metadata = excluded.metadata, updated_at = now()
                    """, logger: logger)
                for c in d.chunks {
                    try await conn.query("""
                        INSERT INTO chunks (collection, label, document_id, ordinal, text, token_start, token_end, vector, terms)
                        VALUES (\(collection), \(Int64(bitPattern: c.label)), \(d.id), \(c.ordinal), \(c.text), \(c.tokenStart),
                                \(c.tokenEnd), \(Self.blob(c.vector)), \(Data(c.terms)))
                        """, logger: logger)
                }
            }
            for t in batch.newTerms {
                try await conn.query("INSERT INTO lexical_terms (collection, id, term) VALUES (\(collection), \(t.id), \(t.term))", logger: logger)
            }
            for c in batch.chunkTerms {
                try await conn.query("UPDATE chunks SET terms = \(Data(c.terms)) WHERE collection = \(collection) AND label = \(Int64(bitPattern: c.label))",
                                     logger: logger)
            }
            if let rotation = batch.rotation {
                try await conn.query("UPDATE collections SET coarse_rotation = \(rotation.map(Self.blob)) WHERE name = \(collection)",
                                     logger: logger)
            }
            if let graph = batch.graph {
                if graph.replacesAll {
                    try await conn.query("DELETE FROM graph_records WHERE collection = \(collection)", logger: logger)
                }
                for r in graph.rows {
                    try await conn.query("""
                        INSERT INTO graph_records (collection, node, record) VALUES (\(collection), \(r.node), \(Data(r.bytes)))
                        ON CONFLICT (collection, node) DO UPDATE SET record = excluded.record
                        """, logger: logger)
                }
                try await conn.query("""
                    INSERT INTO graph_headers (collection, header) VALUES (\(collection), \(Data(graph.header)))
                    ON CONFLICT (collection) DO UPDATE SET header = excluded.header
                    """, logger: logger)
            }
            return try await appendLog(conn, collection: collection, .batch(collection: collection, batch))
        }
    }

    public func graphRecords(of collection: String) async throws -> StoredGraphRecords {
        guard try await self.collection(named: collection) != nil else {
            throw StoreError(.notFound, "collection \(collection) does not exist")
        }
        var rows = [GraphRecordRow]()
        for try await (node, record) in try await query(
            "SELECT node, record FROM graph_records WHERE collection = \(collection) ORDER BY node"
        ).decode((Int, Data).self) { rows.append(GraphRecordRow(node: node, bytes: [UInt8](record))) }
        var header: [UInt8]?
        for try await h in try await query("SELECT header FROM graph_headers WHERE collection = \(collection)").decode(Data.self) {
            header = [UInt8](h)
        }
        return StoredGraphRecords(header: header, rows: rows)
    }

    // MARK: encoding

    static func blob(_ v: [Float]) -> Data { v.withUnsafeBufferPointer { Data(buffer: $0) } }

    static func floats(_ d: Data) -> [Float] {
        d.withUnsafeBytes { raw in (0..<(d.count / 4)).map { raw.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) } }
    }
}
